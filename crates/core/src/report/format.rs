//! The output formats and what writes each: a markup format (Markdown, HTML) is one exporter
//! over one [`Document`](super::document::Document); JSON serialises the model; CSV is one
//! row per journalled request ([`super::csv_out`]).

use super::document::Exporter;
use super::html::Html;
use super::markdown::Markdown;
use std::fmt;
use std::str::FromStr;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown.
    Md,
    /// Self-contained HTML with charts.
    Html,
    /// The model as JSON.
    Json,
    /// One row per journalled request.
    Csv,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 4] = [Format::Md, Format::Json, Format::Html, Format::Csv];

    /// The name in flags.
    pub fn name(self) -> &'static str {
        match self {
            Format::Md => "md",
            Format::Html => "html",
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }

    /// The exporter of a markup format; `None` for JSON and CSV, which are not documents.
    pub fn markup(self) -> Option<&'static dyn Exporter> {
        match self {
            Format::Md => Some(&Markdown),
            Format::Html => Some(&Html),
            Format::Json | Format::Csv => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown format `{s}`: use md, json, html or csv"))
    }
}
