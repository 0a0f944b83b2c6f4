//! Reading finished runs back (`compare`, `report`): `report.json` with its schema version
//! checked, the `requests.jsonl` beside it for per-request samples, and both journals
//! (`requests.jsonl`, `quality.jsonl`) for rebuilding a report with [`crate::report::build`].

use crate::quality_record::TaskResult;
use crate::record::RequestRecord;
use crate::report::build::Facts;
use crate::report::compare::{self, Entry};
use crate::report::repeats::{REPEATS_FILE, REPEATS_SCHEMA_VERSION, RepeatsReport};
use crate::report::{OLDEST_SCHEMA_VERSION, Report, SCHEMA_VERSION};
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
    /// A report with no targets: nothing to report or compare.
    #[error(
        "{path} has no targets (the run measured nothing): give a report of a run with at least one target"
    )]
    NoTargets {
        /// Path.
        path: String,
    },
    /// Written by an incompatible servebench.
    #[error(
        "{path} has report schema_version {found} (written by servebench {writer}); this servebench reads versions {oldest} to {expected}: use a matching servebench to read it"
    )]
    Version {
        /// Path.
        path: String,
        /// Version in the file.
        found: u64,
        /// The newest version understood here.
        expected: u32,
        /// The oldest version understood here (read and upgraded).
        oldest: u32,
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
    /// Its graded quality answers, when `quality.jsonl` is beside it.
    pub quality: Vec<TaskResult>,
    /// Torn journal lines skipped.
    pub skipped: usize,
    /// A repeated run (`--repeat`): every repeat, in order (this run is the first of them),
    /// and the set's directory; empty for a run of its own.
    pub repeats: Vec<Run>,
    /// The set's directory, for a repeated run.
    pub set: Option<PathBuf>,
}

/// Fill in what a report written by an earlier servebench lacks: each target's server traits
/// (recorded since the dialects stopped being judged by name) are its dialect's, and a
/// version-1 report's English `warnings` become `text` findings.
fn upgrade(v: &mut serde_json::Value) {
    let version = v.get("schema_version").and_then(serde_json::Value::as_u64);
    // 1 → 2 → 3, each step on what the one before left.
    if version == Some(1) {
        findings_of_warnings(v);
    }
    if matches!(version, Some(1 | 2)) {
        workload_of_phases(v);
        v["schema_version"] = SCHEMA_VERSION.into();
    }
    // The workload, from the phases a report written before it was recorded holds.
    if let Some(settings) = v.get("settings").filter(|s| s.get("workload").is_none()) {
        // (Moved into each target's `workload` above.)
        let kinds: Vec<&str> = v["targets"]
            .as_array()
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| t["workload"]["kind"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let has = |k: &str| kinds.contains(&k);
        let kind = if settings.get("performance") == Some(&serde_json::Value::Bool(false)) {
            "quality"
        } else if has("team") {
            "team"
        } else if has("autocomplete") {
            "autocomplete"
        } else if has("sessions") || has("sessions_sweep") {
            "sessions"
        } else if has("context") {
            "context"
        } else {
            "chat"
        };
        v["settings"]["workload"] = kind.into();
    }
    let Some(targets) = v.get_mut("targets").and_then(|t| t.as_array_mut()) else {
        return;
    };
    for t in targets {
        let Some(t) = t.as_object_mut() else { continue };
        if t.contains_key("server_traits") {
            continue;
        }
        let api = t
            .get("api")
            .and_then(|a| serde_json::from_value::<crate::spec::Api>(a.clone()).ok());
        if let Some(api) = api {
            let traits = crate::backend::dialect(api).capabilities().traits;
            if let Ok(traits) = serde_json::to_value(traits) {
                t.insert("server_traits".into(), traits);
            }
        }
    }
}

/// Version 2 → 3: a target's `phases.{autocomplete, sessions, sessions_sweep, ladder, team}`
/// become its one tagged `workload`.
fn workload_of_phases(v: &mut serde_json::Value) {
    use serde_json::{Value, json};
    let Some(targets) = v.get_mut("targets").and_then(Value::as_array_mut) else {
        return;
    };
    for t in targets {
        let Some(phases) = t.get_mut("phases").and_then(Value::as_object_mut) else {
            continue;
        };
        let mut take = |k: &str| phases.remove(k).filter(|x| !x.is_null());
        let tagged = |kind: &str, x: Value| Some(json!({"kind": kind, "report": x}));
        let (a, s, sweep, l, team) = (
            take("autocomplete"),
            take("sessions"),
            take("sessions_sweep").filter(|x| x.as_array().is_some_and(|a| !a.is_empty())),
            take("ladder"),
            take("team"),
        );
        let workload = match (a, s, sweep, l, team) {
            (Some(x), ..) => tagged("autocomplete", x),
            (_, Some(x), ..) => tagged("sessions", x),
            (_, _, Some(x), ..) => tagged("sessions_sweep", x),
            (.., Some(x), _) => tagged("context", x),
            (.., Some(x)) => tagged("team", x),
            _ => None,
        };
        if let Some(w) = workload {
            t["workload"] = w;
        }
    }
}

/// Version 1 → 2: every `warnings: [sentence, …]` in a target's phases becomes
/// `findings: [{"code": "text", "values": {"text": sentence}}, …]`.
fn findings_of_warnings(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            if let Some(serde_json::Value::Array(ws)) = o.remove("warnings") {
                let findings: Vec<serde_json::Value> = ws
                    .into_iter()
                    .filter_map(|w| {
                        let text = w.as_str()?.to_string();
                        Some(serde_json::json!({"code": "text", "values": {"text": text}}))
                    })
                    .collect();
                o.insert("findings".into(), findings.into());
            }
            o.values_mut().for_each(findings_of_warnings);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(findings_of_warnings),
        _ => {}
    }
}

/// Read `path`: a `report.json`, a run directory holding one, or a repeated run's directory
/// (its `repeats.json`, or the file itself) — then every repeat is read.
pub fn load(path: &Path) -> Result<Run, RunsError> {
    let set = if path.is_dir() && !path.join("report.json").is_file() {
        Some(path.join(REPEATS_FILE)).filter(|f| f.is_file())
    } else {
        (path.file_name().is_some_and(|n| n == REPEATS_FILE)).then(|| path.to_path_buf())
    };
    match set {
        Some(file) => load_set(&file),
        None => load_one(path),
    }
}

/// Read a repeated run from its `repeats.json`: each repeat it lists, the first standing for
/// the set (its settings and targets), all of them in [`Run::repeats`].
fn load_set(file: &Path) -> Result<Run, RunsError> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| RunsError::Io {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let set: RepeatsReport = serde_json::from_str(&text).map_err(|e| RunsError::NotAReport {
        path: shown.clone(),
        detail: format!("not a repeats summary: {e}"),
    })?;
    if set.schema_version > REPEATS_SCHEMA_VERSION {
        return Err(RunsError::Version {
            path: shown,
            found: u64::from(set.schema_version),
            expected: REPEATS_SCHEMA_VERSION,
            oldest: 1,
            writer: "a newer servebench".into(),
        });
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let repeats = set
        .runs
        .iter()
        .map(|r| load_one(&dir.join(&r.dir)))
        .collect::<Result<Vec<Run>, RunsError>>()?;
    let Some(first) = repeats.first() else {
        return Err(RunsError::NotAReport {
            path: shown,
            detail: "no repeat finished".into(),
        });
    };
    Ok(Run {
        set: Some(dir.to_path_buf()),
        skipped: repeats.iter().map(|r| r.skipped).sum(),
        repeats: repeats.clone(),
        ..first.clone()
    })
}

fn load_one(path: &Path) -> Result<Run, RunsError> {
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
    if !(u64::from(OLDEST_SCHEMA_VERSION)..=u64::from(SCHEMA_VERSION)).contains(&found) {
        return Err(RunsError::Version {
            path: shown,
            found,
            expected: SCHEMA_VERSION,
            oldest: OLDEST_SCHEMA_VERSION,
            writer: v
                .get("servebench_version")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("?")
                .into(),
        });
    }
    let mut v = v;
    upgrade(&mut v);
    let report: Report = serde_json::from_value(v).map_err(|e| RunsError::NotAReport {
        path: shown.clone(),
        detail: e.to_string(),
    })?;
    if report.targets.is_empty() {
        return Err(RunsError::NoTargets { path: shown });
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let (records, skipped) = match crate::journal::read(&dir.join("requests.jsonl")) {
        Ok((r, s)) => (Some(r), s),
        Err(_) => (None, 0),
    };
    let (quality, torn) =
        crate::journal::read_lines(&dir.join("quality.jsonl")).unwrap_or_default();
    Ok(Run {
        path: file,
        report,
        records,
        quality,
        skipped: skipped + torn,
        repeats: Vec::new(),
        set: None,
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
            .set
            .as_deref()
            .or_else(|| r.path.parent())
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
            let mut e = entry_of(r, &t.name, &label).expect("the run's own target");
            if !r.repeats.is_empty() {
                e.source = r.set.as_deref().unwrap_or(&r.path).display().to_string();
                e = e.with_runs(
                    r.repeats
                        .iter()
                        .filter_map(|x| entry_of(x, &t.name, &label))
                        .collect(),
                );
            }
            out.push(e);
        }
    }
    out
}

/// The entry of target `name` of run `r` (its own samples, no repeats).
fn entry_of<'a>(r: &'a Run, name: &str, label: &str) -> Option<Entry<'a>> {
    let source = r.path.display().to_string();
    entry(label, &source, &r.report, name, r.records.as_deref())
}

/// Target `name` of `report` as a comparison entry labelled `label`, its per-request samples
/// from `records` (none without a journal); `None` when the report has no such target.
pub fn entry<'a>(
    label: &str,
    source: &str,
    report: &'a Report,
    name: &str,
    records: Option<&[RequestRecord]>,
) -> Option<Entry<'a>> {
    let t = report.targets.iter().find(|x| x.name == name)?;
    Some(Entry {
        label: label.to_string(),
        source: source.to_string(),
        target: t,
        settings: &report.settings,
        gpu: &report.gpu,
        samples: records
            .map(|recs| compare::samples(t, recs))
            .unwrap_or_default(),
        runs: Vec::new(),
    })
}

/// Recompute every statistic of `skeleton` (the run's `report.json`, or the `run.json`
/// written at its start) from its journals, with [`crate::report::build`] — the function
/// `servebench run` ends with. What the journals do not hold (telemetry, load times, model
/// facts, a load step's schedule) is taken from the skeleton as facts.
pub fn rebuild(skeleton: &Report, records: &[RequestRecord], quality: &[TaskResult]) -> Report {
    crate::report::build::build(records, quality, &Facts::of(skeleton))
}

/// A run's report rebuilt from its journal: on the given report file, else on the
/// directory's `report.json` when present, else on the `run.json` written when the run
/// started (a run that was killed).
pub fn load_rebuilt(path: &Path) -> Result<Run, RunsError> {
    let dir = if path.is_file() {
        path.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        path.to_path_buf()
    };
    let base = if path.is_file() {
        load(path)?
    } else if dir.join("report.json").is_file() {
        load(&dir.join("report.json"))?
    } else {
        load(&dir.join("run.json"))?
    };
    let records = base.records.clone().ok_or_else(|| RunsError::Io {
        path: dir.join("requests.jsonl").display().to_string(),
        message: "no journal to rebuild from".into(),
    })?;
    Ok(Run {
        report: rebuild(&base.report, &records, &base.quality),
        ..base
    })
}

#[cfg(test)]
mod tests {
    use super::upgrade;

    #[test]
    fn a_version_1_reports_sentences_become_text_findings() {
        let mut v = serde_json::json!({"schema_version": 1, "targets": [{"api": "openai",
            "phases": {"sessions": {"warnings": ["cache thrashing"]}, "sweep": [{"warnings": []}]}}]});
        upgrade(&mut v);
        assert_eq!(v["schema_version"], super::SCHEMA_VERSION);
        assert_eq!(
            v["settings"],
            serde_json::Value::Null,
            "no settings, none made up"
        );
        assert_eq!(v["targets"][0]["workload"]["kind"], "sessions");
        let s = &v["targets"][0]["workload"]["report"];
        assert_eq!(s.get("warnings"), None);
        assert_eq!(s["findings"][0]["code"], "text");
        assert_eq!(s["findings"][0]["values"]["text"], "cache thrashing");
        assert_eq!(
            v["targets"][0]["phases"]["sweep"][0]["findings"],
            serde_json::json!([])
        );
    }

    #[test]
    fn a_version_2_reports_workload_phases_become_its_tagged_workload() {
        let mut v = serde_json::json!({"schema_version": 2, "targets": [
            {"api": "openai", "phases": {"cold": null, "sessions": null,
                "sessions_sweep": [{"load": "sessions:2"}], "ladder": null}},
            {"api": "openai", "phases": {"team": {"duration_s": 3.0}, "sessions_sweep": []}}]});
        upgrade(&mut v);
        assert_eq!(v["schema_version"], super::SCHEMA_VERSION);
        let t = &v["targets"];
        assert_eq!(t[0]["workload"]["kind"], "sessions_sweep");
        assert_eq!(t[0]["workload"]["report"][0]["load"], "sessions:2");
        assert_eq!(t[0]["phases"].get("sessions_sweep"), None);
        assert_eq!(t[1]["workload"]["kind"], "team");
        assert_eq!(t[1]["workload"]["report"]["duration_s"], 3.0);
    }

    #[test]
    fn a_report_without_a_workload_gets_the_one_its_phases_show() {
        let mut v = serde_json::json!({"schema_version": 2, "settings": {"performance": true},
            "targets": [{"api": "openai", "phases": {"sessions": null, "sessions_sweep": [{}]}}]});
        upgrade(&mut v);
        assert_eq!(v["settings"]["workload"], "sessions");
        let mut v = serde_json::json!({"settings": {"performance": true}, "targets": []});
        upgrade(&mut v);
        assert_eq!(v["settings"]["workload"], "chat");
    }

    #[test]
    fn a_report_without_server_traits_gets_its_dialects() {
        let mut v = serde_json::json!({"targets": [
            {"api": "ollama"},
            {"api": "llamacpp", "server_traits": {"states_cached_tokens": false,
                "truncates_silently": false, "reports_models_context": false, "fim": "none"}},
        ]});
        upgrade(&mut v);
        let ollama = &v["targets"][0]["server_traits"];
        assert_eq!(ollama["states_cached_tokens"], false);
        assert_eq!(ollama["truncates_silently"], true);
        assert_eq!(ollama["fim"], "suffix");
        // What a report states is kept.
        assert_eq!(v["targets"][1]["server_traits"]["fim"], "none");
    }
}
