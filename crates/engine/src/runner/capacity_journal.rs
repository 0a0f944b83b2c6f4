//! The capacity search's step journal: `capacity.jsonl` in the run's directory, one line per
//! judged step with the team model, objectives and step length it was measured under, so an
//! interrupted search resumes (`servebench capacity --resume DIR`) and a resume under another
//! plan is refused.

use crate::plan::Team;
use crate::record::Phase;
use crate::report::capacity::CapacityStep;

/// `capacity.jsonl` in the run's directory: each finished step of each target's search, one
/// JSON line as it is judged, so an interrupted search can be resumed (`--resume DIR`).
pub(super) struct StepJournal {
    pub(super) path: std::path::PathBuf,
    requests: std::path::PathBuf,
}

/// One line of [`StepJournal`]: the step, and the team model and objectives it was measured
/// and judged under (a resume under others would mix two searches).
#[derive(serde::Serialize, serde::Deserialize)]
struct StepLine {
    target: String,
    /// The step's number in the journal of requests.
    k: u32,
    developer: crate::report::capacity::Developer,
    slo: crate::report::capacity::ClassSlos,
    step_s: f64,
    warmup_s: f64,
    step: CapacityStep,
}

impl StepLine {
    fn same_search(&self, team: &Team) -> bool {
        self.developer == team.developer
            && self.slo == team.slo
            && self.step_s == team.search.step_s
            && self.warmup_s == team.search.warmup_s
    }
}

/// Why the search kept in `dir` cannot be resumed under `team` (`None`: it can, or there is
/// none).
pub(crate) fn resume_mismatch(dir: &std::path::Path, team: &Team) -> Option<String> {
    let j = StepJournal::at(dir);
    let lines: Vec<StepLine> = crate::journal::read_lines(&j.path).ok()?.0;
    lines.iter().find(|l| !l.same_search(team)).map(|l| {
        format!(
            "its steps ({}, step {}) were measured under another team model, objectives or step length than this plan's: resume with the plan it ran",
            j.path.display(),
            l.k
        )
    })
}

impl StepJournal {
    pub(super) fn at(dir: &std::path::Path) -> StepJournal {
        StepJournal {
            path: dir.join("capacity.jsonl"),
            requests: dir.join("requests.jsonl"),
        }
    }

    /// `target`'s finished steps, and the next step number: past every step number its
    /// requests already carry (an interrupted step's requests stay journalled under theirs).
    pub(super) fn resume(&self, target: &str) -> (Vec<CapacityStep>, u32) {
        let lines: Vec<StepLine> = crate::journal::read_lines(&self.path)
            .map(|(l, _)| l)
            .unwrap_or_default();
        let journalled = crate::journal::read(&self.requests)
            .map(|(r, _)| r)
            .unwrap_or_default()
            .iter()
            .filter(|r| r.target == target && r.phase == Phase::Team)
            .filter_map(|r| r.step)
            .max();
        let mine: Vec<StepLine> = lines.into_iter().filter(|l| l.target == target).collect();
        let next = mine
            .iter()
            .map(|l| l.k)
            .chain(journalled)
            .max()
            .map_or(0, |k| k + 1);
        (mine.into_iter().map(|l| l.step).collect(), next)
    }

    /// Add a finished step (one write of one line, flushed and synced).
    pub(super) fn append(
        &self,
        target: &str,
        team: &Team,
        k: u32,
        step: &CapacityStep,
    ) -> std::io::Result<()> {
        use std::io::Write;
        let mut line = serde_json::to_vec(&StepLine {
            target: target.to_string(),
            k,
            developer: team.developer,
            slo: team.slo,
            step_s: team.search.step_s,
            warmup_s: team.search.warmup_s,
            step: step.clone(),
        })
        .map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(&line)?;
        f.sync_data()
    }
}
