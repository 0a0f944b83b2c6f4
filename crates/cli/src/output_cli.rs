//! `servebench compare` and `servebench report`: read finished runs and render them.

use anyhow::Context;
use clap::Args;
use servebench_engine::report::compare::compare;
use servebench_engine::report::document::Document;
use servebench_engine::report::format::Format;
use servebench_engine::report::i18n::Lang;
use servebench_engine::report::markdown::Markdown;
use servebench_engine::report::{compare_doc, csv_out, json, repeats, report_doc};
use servebench_engine::runs::{self, Run};
use std::path::PathBuf;

/// `servebench compare` arguments.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Runs to compare: run directories or report.json files, in any mix — one run with
    /// several targets is enough, and a killed run (no report.json) is rebuilt from its
    /// journal; the first target is the baseline.
    #[arg(required = true, num_args = 1..)]
    pub reports: Vec<PathBuf>,
    /// md, json or html.
    #[arg(long, default_value = "md", value_parser = compare_format)]
    pub format: Format,
    /// en or ko.
    #[arg(long, default_value = "en", value_parser = |s: &str| s.parse::<Lang>())]
    pub lang: Lang,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `servebench report` arguments.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run directory (or its report.json).
    pub run: PathBuf,
    /// md, html, csv or json.
    #[arg(long, default_value = "md", value_parser = |s: &str| s.parse::<Format>())]
    pub format: Format,
    /// en or ko.
    #[arg(long, default_value = "en", value_parser = |s: &str| s.parse::<Lang>())]
    pub lang: Lang,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Recompute every statistic from the journals, requests.jsonl and quality.jsonl (done
    /// anyway when report.json is missing).
    #[arg(long)]
    pub from_journal: bool,
}

/// Why rendering failed: bad input (exit 2) or a failure to write (exit 1).
pub enum Failure {
    /// Invalid input.
    Input(anyhow::Error),
    /// Could not write.
    Output(anyhow::Error),
}

fn date(runs: &[Run]) -> String {
    runs.first()
        .map(|r| r.report.created_at.chars().take(10).collect())
        .unwrap_or_default()
}

/// A comparison is a document or JSON: one row per request is `report`'s.
fn compare_format(s: &str) -> Result<Format, String> {
    match s.parse::<Format>()? {
        Format::Csv => Err("csv is one row per request: use servebench report --format csv".into()),
        f => Ok(f),
    }
}

/// `doc` in the markup format `f` (Markdown for a format that is not markup: never asked).
fn export(f: Format, doc: &Document) -> String {
    f.markup().unwrap_or(&Markdown).export(doc)
}

fn emit(text: &str, out: Option<&PathBuf>) -> Result<(), Failure> {
    match out {
        Some(p) => std::fs::write(p, text)
            .with_context(|| format!("cannot write {}", p.display()))
            .map_err(Failure::Output),
        None => crate::stdout::print(text).map_err(Failure::Output),
    }
}

fn load(paths: &[PathBuf]) -> Result<Vec<Run>, Failure> {
    let mut runs = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for p in paths {
        // A directory without report.json is a killed run: rebuilt from its journal.
        let killed = p.is_dir() && !p.join("report.json").is_file() && p.join("run.json").is_file();
        let run = if killed {
            eprintln!(
                "servebench: {}: no report.json (the run was killed?): rebuilt from its journal and run.json",
                p.display()
            );
            runs::load_rebuilt(p)
        } else {
            runs::load(p)
        }
        .map_err(|e| Failure::Input(e.into()))?;
        if run.skipped > 0 {
            eprintln!(
                "servebench: warning: {} torn line(s) skipped in the journal beside {}",
                run.skipped,
                run.path.display()
            );
        }
        let canon = std::fs::canonicalize(&run.path).unwrap_or(run.path.clone());
        if !seen.insert(canon) {
            // Counting it twice would double every target (and name the copy in caveats).
            eprintln!(
                "servebench: warning: {} is given twice: it is compared once",
                run.path.display()
            );
            continue;
        }
        runs.push(run);
    }
    Ok(runs)
}

/// Run `servebench compare`.
pub fn compare_cmd(a: &CompareArgs) -> Result<(), Failure> {
    let runs = load(&a.reports)?;
    let entries = runs::entries(&runs);
    if entries.len() < 2 {
        return Err(Failure::Input(anyhow::anyhow!(
            "{}: one target, nothing to compare it with: give a run with two or more targets, or two runs",
            a.reports[0].display()
        )));
    }
    let cmp = compare(&entries);
    let text = match a.format {
        Format::Json => serde_json::to_string_pretty(&cmp).expect("serialises") + "\n",
        f => export(
            f,
            &compare_doc::document(&cmp, &entries, a.lang, &date(&runs)),
        ),
    };
    emit(&text, a.out.as_ref())
}

/// Run `servebench report`.
pub fn report_cmd(a: &ReportArgs) -> Result<(), Failure> {
    let dir = if a.run.is_file() {
        a.run.parent().map(PathBuf::from).unwrap_or_default()
    } else {
        a.run.clone()
    };
    // A repeated run's directory: its summary over the repeats (each repeat is a run of its
    // own: `servebench report DIR/repeat-K`).
    let set = dir.join(repeats::REPEATS_FILE);
    if !dir.join("report.json").is_file() && set.is_file() {
        let text = std::fs::read_to_string(&set).map_err(|e| Failure::Input(e.into()))?;
        let summary: repeats::RepeatsReport = serde_json::from_str(&text).map_err(|e| {
            Failure::Input(anyhow::anyhow!(
                "{}: not a repeats summary: {e}",
                set.display()
            ))
        })?;
        let text = match a.format {
            Format::Json => text,
            Format::Csv => {
                return Err(Failure::Input(anyhow::anyhow!(
                    "{}: a repeated run: CSV is one row per request of one run: give {}",
                    dir.display(),
                    dir.join("repeat-1").display()
                )));
            }
            f => export(f, &repeats::document(&summary)),
        };
        return emit(&text, a.out.as_ref());
    }
    if a.run.is_dir() && !dir.join("report.json").is_file() && !dir.join("run.json").is_file() {
        return Err(Failure::Input(anyhow::anyhow!(
            "{} is not a servebench run (no report.json or run.json): give a directory written by servebench run, or its report.json",
            dir.display()
        )));
    }
    // A directory without report.json is a killed run: rebuild it. A file is read as given.
    let killed = !a.run.is_file() && !dir.join("report.json").is_file();
    let runs = if a.from_journal || killed {
        if killed {
            eprintln!(
                "servebench: {}: no report.json (the run was killed?): rebuilt from requests.jsonl and run.json; telemetry and load times were not journalled",
                dir.display()
            );
        }
        vec![runs::load_rebuilt(&a.run).map_err(|e| Failure::Input(e.into()))?]
    } else {
        load(std::slice::from_ref(&a.run))?
    };
    let run = &runs[0];
    let entries = runs::entries(&runs);
    let cmp = compare(&entries);
    let text = match a.format {
        Format::Json => json::to_string(&run.report),
        Format::Csv => {
            let Some(recs) = &run.records else {
                return Err(Failure::Input(anyhow::anyhow!(
                    "{}: no requests.jsonl beside the report: CSV is one row per journalled request",
                    run.path.display()
                )));
            };
            csv_out::render(recs)
        }
        f => export(
            f,
            &report_doc::document(&run.report, Some(&cmp), &entries, a.lang, &date(&runs)),
        ),
    };
    emit(&text, a.out.as_ref())
}

/// Exit code and message for a failure.
pub fn exit(f: Failure) -> std::process::ExitCode {
    match f {
        Failure::Input(e) => {
            eprintln!("servebench: {e:#}");
            std::process::ExitCode::from(2)
        }
        Failure::Output(e) => {
            eprintln!("servebench: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
