//! A finished run as the store keeps it, read from its directory (`report.json`,
//! `requests.jsonl`, `quality.jsonl`): the report, every per-request and per-answer record,
//! each target's headline metrics by registry id, and its labels — the ones given with
//! `--label` and the ones the run itself says (servebench version, command, hardware).

use crate::quality_record::TaskResult;
use crate::record::RequestRecord;
use crate::report::Report;
use crate::report::metric::{REGISTRY, quality_scenario_key};
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::Path;

/// A run ready to be stored.
#[derive(Debug, Clone)]
pub struct StoredRun {
    /// `<directory name>-<8 hex of the report's SHA-256>`: the same run imported twice is the
    /// same id.
    pub id: String,
    /// `run`, `eval` or `capacity`.
    pub command: String,
    /// The report, as written.
    pub report: Report,
    /// The report as stored: upgraded to this servebench's schema when it was older.
    pub report_json: String,
    /// Where it was read from.
    pub source_dir: String,
    /// Labels: given, and the run's own (`servebench_version`, `command`, `cpu`, `gpu`,
    /// `git_commit` when known).
    pub labels: BTreeMap<String, String>,
    /// `(target, metric id, value)` for every registry metric a target measured.
    pub metrics: Vec<(String, String, f64)>,
    /// Every request record, in journal order.
    pub requests: Vec<RequestRecord>,
    /// Every graded answer, in journal order.
    pub answers: Vec<TaskResult>,
}

/// Why a run directory cannot be stored.
#[derive(Debug, thiserror::Error)]
pub enum RunReadError {
    /// No `report.json` (a run still going, killed before its report, or not a run).
    #[error(
        "{0}: no report.json: not a finished run (a killed run: `servebench report {0} --from-journal` writes it)"
    )]
    NoReport(String),
    /// A file that does not read or parse.
    #[error("{path}: {why}")]
    Bad {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

impl StoredRun {
    /// Read the finished run in `dir`, with `labels` given by the user (which win over the
    /// run's own of the same name).
    pub fn from_dir(dir: &Path, labels: &[(String, String)]) -> Result<StoredRun, RunReadError> {
        let report_path = dir.join("report.json");
        let shown = dir.display().to_string();
        if !report_path.is_file() {
            return Err(RunReadError::NoReport(shown));
        }
        // Read as every command reads a report: its schema checked, an older one upgraded.
        let run = crate::runs::load(&report_path).map_err(|e| RunReadError::Bad {
            path: report_path.display().to_string(),
            why: e.to_string(),
        })?;
        let original = std::fs::read_to_string(&report_path).map_err(|e| RunReadError::Bad {
            path: report_path.display().to_string(),
            why: e.to_string(),
        })?;
        let report = run.report;
        let report_json = serde_json::to_string(&report).expect("a report serialises");
        let requests: Vec<RequestRecord> = run.records.unwrap_or_default();
        let answers: Vec<TaskResult> = run.quality;
        let mut name = dir
            .file_name()
            .map_or_else(|| "run".to_string(), |n| n.to_string_lossy().into_owned());
        // A repeat is named with its set (`nightly-repeat-2-…`): every set has a `repeat-2`.
        if report.repeat.is_some()
            && let Some(set) = std::path::absolute(dir).ok().and_then(|d| {
                d.parent()?
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
        {
            name = format!("{set}-{name}");
        }
        let hash: String = sha2::Sha256::digest(original.as_bytes())[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let command = command_of(&report).to_string();
        let mut all = own_labels(&report, &command);
        all.extend(labels.iter().cloned());
        Ok(StoredRun {
            id: format!("{name}-{hash}"),
            command,
            metrics: metrics_of(&report),
            report,
            report_json,
            source_dir: shown,
            labels: all,
            requests,
            answers,
        })
    }
}

/// `eval` for a quality-only run, `capacity` for a capacity search, `run` otherwise.
pub fn command_of(r: &Report) -> &'static str {
    if !r.settings.performance {
        "eval"
    } else if r
        .targets
        .iter()
        .any(|t| matches!(t.workload, Some(crate::report::WorkloadReport::Capacity(_))))
    {
        "capacity"
    } else {
        "run"
    }
}

/// What the run says of itself: servebench's version, the command, the GPUs it read.
fn own_labels(r: &Report, command: &str) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert("servebench_version".into(), r.servebench_version.clone());
    l.insert("command".into(), command.into());
    let gpus: Vec<&str> = r.gpu.devices.iter().map(|d| d.name.as_str()).collect();
    l.insert(
        "gpu".into(),
        if gpus.is_empty() {
            "none".into()
        } else {
            gpus.join(", ")
        },
    );
    l
}

/// Every registry metric each target measured, and its quality per scenario.
fn metrics_of(r: &Report) -> Vec<(String, String, f64)> {
    let mut out = Vec::new();
    for t in &r.targets {
        for def in REGISTRY {
            if let Some(v) = (def.value)(t).filter(|v| v.is_finite()) {
                out.push((t.name.clone(), def.key.to_string(), v));
            }
        }
        if let Some(q) = &t.quality {
            for (name, s) in &q.scenarios {
                if let Some(v) = s.total_score.filter(|v| v.is_finite()) {
                    out.push((t.name.clone(), quality_scenario_key(name), v));
                }
            }
        }
    }
    out
}

/// Labels of the machine a run is recorded on, as it finishes: the CPU model, and the git
/// commit when servebench ran inside a repository (`history import` cannot know them).
pub fn host_labels() -> Vec<(String, String)> {
    let mut l = Vec::new();
    if let Ok(info) = std::fs::read_to_string("/proc/cpuinfo")
        && let Some(model) = info
            .lines()
            .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
            .map(|(_, m)| m.trim().to_string())
    {
        l.push(("cpu".to_string(), model));
    }
    if let Ok(o) = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        && o.status.success()
    {
        let commit = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if !commit.is_empty() {
            l.push(("git_commit".to_string(), commit));
        }
    }
    l
}
