//! A run's directory: what `servebench run` writes, in order. [`RunDir::create`] claims an
//! empty directory, writes `run.json` (the report as known before anything runs, marked
//! interrupted, so a killed run's journal can be turned into a report) and opens the journals;
//! [`RunDir::finish`] writes `report.json`, marks `run.json` finished, compares the targets on
//! their journalled requests and writes `report.md`. The binary only parses, prints and exits.

use crate::events::Observer;
use crate::journal::{Journal, QualityJournal};
use crate::plan::Plan;
use crate::report::compare::{Comparison, Entry, compare};
use crate::report::document::Exporter;
use crate::report::i18n::Lang;
use crate::report::markdown::Markdown;
use crate::report::{Report, json, report_doc};
use std::path::{Path, PathBuf};

/// Why a run's directory cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    /// The directory holds a previous run's files: a second run appending to its journal
    /// would pool both runs' requests in a rebuild or a significance test.
    #[error(
        "output directory {0} is not empty (a previous run's files are there): pass a new --out directory or remove it"
    )]
    Used(PathBuf),
    /// `--resume DIR` where DIR holds no interrupted run of this plan.
    #[error("cannot resume {dir}: {why}")]
    NotResumable {
        /// The directory.
        dir: PathBuf,
        /// Why, and what to do.
        why: String,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunDirError + '_ {
    move |source| RunDirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A run's directory, claimed.
#[derive(Debug)]
pub struct RunDir {
    /// The directory.
    pub path: PathBuf,
    /// `run.json` as written at the start.
    skeleton: Report,
}

/// What a finished run left in its directory.
#[derive(Debug)]
pub struct Written {
    /// `report.json`.
    pub json: PathBuf,
    /// `report.md`.
    pub md: PathBuf,
    /// `requests.jsonl`.
    pub journal: PathBuf,
    /// The run's targets compared on their journalled requests.
    pub comparison: Comparison,
}

impl RunDir {
    /// Claim `out` for a run of `plan` with `prompts` prompts: refuse a used directory, create
    /// it, write `run.json` and open the journals. Returns the directory and the observers that
    /// journal to it (`requests.jsonl`, `quality.jsonl`).
    pub fn create(
        out: &Path,
        plan: &Plan,
        prompts: usize,
    ) -> Result<(RunDir, Vec<Box<dyn Observer + Send>>), RunDirError> {
        if std::fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_some()) {
            return Err(RunDirError::Used(out.to_path_buf()));
        }
        std::fs::create_dir_all(out).map_err(io(out))?;
        let skeleton = crate::runner::skeleton(plan, prompts);
        let run_json = out.join("run.json");
        std::fs::write(&run_json, json::to_string(&skeleton)).map_err(io(&run_json))?;
        let journal = out.join("requests.jsonl");
        let observers: Vec<Box<dyn Observer + Send>> = vec![
            Box::new(Journal::open(&journal).map_err(io(&journal))?),
            Box::new(QualityJournal::new(&out.join("quality.jsonl"))),
        ];
        Ok((
            RunDir {
                path: out.to_path_buf(),
                skeleton,
            },
            observers,
        ))
    }

    /// Take `out` back for the run of `plan` that was interrupted there (`capacity --resume`):
    /// its `run.json` must describe the same plan and its report, if any, an interrupted run.
    /// The journals are appended to; `run.json` is left as it was until the run finishes.
    pub fn resume(
        out: &Path,
        plan: &Plan,
        prompts: usize,
    ) -> Result<(RunDir, Vec<Box<dyn Observer + Send>>), RunDirError> {
        let refuse = |why: String| RunDirError::NotResumable {
            dir: out.to_path_buf(),
            why,
        };
        let run_json = out.join("run.json");
        let text = std::fs::read_to_string(&run_json).map_err(|e| {
            refuse(format!(
                "no run there ({}: {e}): give the directory of the interrupted search",
                run_json.display()
            ))
        })?;
        let before: Report = serde_json::from_str(&text)
            .map_err(|e| refuse(format!("{} does not parse: {e}", run_json.display())))?;
        let skeleton = crate::runner::skeleton(plan, prompts);
        let names = |r: &Report| {
            r.targets
                .iter()
                .map(|t| (t.name.clone(), t.url.clone(), t.model.clone()))
                .collect::<Vec<_>>()
        };
        if serde_json::to_value(&before.settings).ok()
            != serde_json::to_value(&skeleton.settings).ok()
            || names(&before) != names(&skeleton)
        {
            return Err(refuse(
                "it was run with another plan (settings or targets differ): resume with the plan it ran".into(),
            ));
        }
        if let Some(why) = plan
            .settings
            .team()
            .and_then(|team| crate::runner::resume_mismatch(out, team))
        {
            return Err(refuse(why));
        }
        if let Ok(done) = std::fs::read_to_string(out.join("report.json"))
            && let Ok(done) = serde_json::from_str::<Report>(&done)
            && !done.interrupted
        {
            return Err(refuse(
                "its run finished (report.json is not marked interrupted): nothing to resume"
                    .into(),
            ));
        }
        let journal = out.join("requests.jsonl");
        let observers: Vec<Box<dyn Observer + Send>> = vec![
            Box::new(Journal::open(&journal).map_err(io(&journal))?),
            Box::new(QualityJournal::new(&out.join("quality.jsonl"))),
        ];
        Ok((
            RunDir {
                path: out.to_path_buf(),
                skeleton,
            },
            observers,
        ))
    }

    /// Mark this run as repeat `r` of a `--repeat` set (its `run.json` says so at once).
    pub fn mark_repeat(&mut self, r: crate::report::repeats::RepeatOf) -> Result<(), RunDirError> {
        self.skeleton.repeat = Some(r);
        let run_json = self.path.join("run.json");
        std::fs::write(&run_json, json::to_string(&self.skeleton)).map_err(io(&run_json))
    }

    /// Write what the finished `report` leaves: `report.json`, `run.json` marked as the run
    /// ended, and `report.md` with the comparison of its targets on their journalled requests.
    pub fn finish(mut self, report: &Report) -> Result<Written, RunDirError> {
        let json_path = self.path.join("report.json");
        let md_path = self.path.join("report.md");
        let journal = self.path.join("requests.jsonl");
        std::fs::write(&json_path, json::to_string(report)).map_err(io(&json_path))?;
        // run.json said "interrupted" while the run had not finished; now it has.
        self.skeleton.interrupted = report.interrupted;
        let run_json = self.path.join("run.json");
        std::fs::write(&run_json, json::to_string(&self.skeleton)).map_err(io(&run_json))?;
        // The targets compared on their journalled requests (significance needs the samples).
        let records = crate::journal::read(&journal)
            .map(|(r, _)| r)
            .unwrap_or_default();
        let source = json_path.display().to_string();
        let entries: Vec<Entry> = report
            .targets
            .iter()
            .filter_map(|t| crate::runs::entry(&t.name, &source, report, &t.name, Some(&records)))
            .collect();
        let comparison = compare(&entries);
        let date: String = report.created_at.chars().take(10).collect();
        let doc = report_doc::document(report, Some(&comparison), &entries, Lang::En, &date);
        std::fs::write(&md_path, Markdown.export(&doc)).map_err(io(&md_path))?;
        Ok(Written {
            json: json_path,
            md: md_path,
            journal,
            comparison,
        })
    }
}
