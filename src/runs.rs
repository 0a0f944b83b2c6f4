//! Reading finished runs back (`compare`, `report`): `report.json` with its schema version
//! checked, and the `requests.jsonl` beside it for per-request samples.

use crate::record::RequestRecord;
use crate::report::compare::{self, Entry};
use crate::report::{Report, SCHEMA_VERSION};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a run cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RunsError {
    /// Missing or unreadable.
    #[error("cannot read {path}: {message}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        message: String,
    },
    /// Not a servebench report.
    #[error(
        "{path} is not a servebench report ({detail}): give a report.json written by servebench run, or its directory"
    )]
    NotAReport {
        /// Path.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// Written by an incompatible servebench.
    #[error(
        "{path} has report schema_version {found} (written by servebench {writer}); this servebench reads version {expected}: use a matching servebench to read it"
    )]
    Version {
        /// Path.
        path: String,
        /// Version in the file.
        found: u64,
        /// Version understood here.
        expected: u32,
        /// servebench_version in the file.
        writer: String,
    },
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct Run {
    /// The report.json read.
    pub path: PathBuf,
    /// The report.
    pub report: Report,
    /// Its journal, when `requests.jsonl` is beside it.
    pub records: Option<Vec<RequestRecord>>,
    /// Torn journal lines skipped.
    pub skipped: usize,
}

/// Read `path` (a `report.json` or a run directory holding one).
pub fn load(path: &Path) -> Result<Run, RunsError> {
    let file = if path.is_dir() {
        path.join("report.json")
    } else {
        path.to_path_buf()
    };
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(&file).map_err(|e| RunsError::Io {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| RunsError::NotAReport {
        path: shown.clone(),
        detail: format!("not JSON: {e}"),
    })?;
    let Some(found) = v.get("schema_version").and_then(serde_json::Value::as_u64) else {
        return Err(RunsError::NotAReport {
            path: shown,
            detail: "no schema_version".into(),
        });
    };
    if found != u64::from(SCHEMA_VERSION) {
        return Err(RunsError::Version {
            path: shown,
            found,
            expected: SCHEMA_VERSION,
            writer: v
                .get("servebench_version")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("?")
                .into(),
        });
    }
    let report: Report = serde_json::from_value(v).map_err(|e| RunsError::NotAReport {
        path: shown.clone(),
        detail: e.to_string(),
    })?;
    let journal = file
        .parent()
        .unwrap_or(Path::new("."))
        .join("requests.jsonl");
    let (records, skipped) = match crate::journal::read(&journal) {
        Ok((r, s)) => (Some(r), s),
        Err(_) => (None, 0),
    };
    Ok(Run {
        path: file,
        report,
        records,
        skipped,
    })
}

/// One comparison entry per target of every run, in order; labels made unique with the
/// run's directory name when two targets share a name.
pub fn entries(runs: &[Run]) -> Vec<Entry<'_>> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for r in runs {
        for t in &r.report.targets {
            *count.entry(t.name.as_str()).or_default() += 1;
        }
    }
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for r in runs {
        let dir = r
            .path
            .parent()
            .and_then(Path::file_name)
            .map_or("run".into(), |d| d.to_string_lossy().into_owned());
        for t in &r.report.targets {
            let mut label = if count[t.name.as_str()] > 1 {
                format!("{} ({dir})", t.name)
            } else {
                t.name.clone()
            };
            let n = used.entry(label.clone()).or_default();
            *n += 1;
            if *n > 1 {
                label = format!("{label} #{n}");
            }
            out.push(Entry {
                label,
                source: r.path.display().to_string(),
                target: t,
                settings: &r.report.settings,
                gpu: &r.report.gpu,
                samples: r
                    .records
                    .as_deref()
                    .map(|recs| compare::samples(t, recs))
                    .unwrap_or_default(),
            });
        }
    }
    out
}
