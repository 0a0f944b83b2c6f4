//! The quality journal's record (`quality.jsonl`): one graded answer per line, with its grade and
//! the judge's verdict when one was asked. The graders fill it; the report and the journal
//! reader read it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One graded answer, as journalled in `quality.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskResult {
    /// Target.
    pub target: String,
    /// Scenario.
    pub scenario: String,
    /// Task id.
    pub task_id: String,
    /// Sample index.
    pub sample: u32,
    /// True for the consistency rerun (not scored for accuracy).
    pub rerun: bool,
    /// Whether the task is graded by running code.
    pub code: bool,
    /// The model's whole answer.
    pub answer: String,
    /// How the request ended (`ok`, `http_500`, …).
    pub request: String,
    /// Request send → last token, s.
    pub e2e_s: Option<f64>,
    /// The grade.
    #[serde(flatten)]
    pub graded: Graded,
    /// The judge's verdict, when a judge was asked.
    pub judge: Option<JudgeResult>,
    /// The load profile this answer was produced under (`--quality-load`); absent for the
    /// sequential answers every score is computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub under_load: Option<String>,
}

/// A judge's verdict on one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JudgeResult {
    /// Parsed `[[score]]`, 0–5; `null` when the output had none.
    pub score: Option<f64>,
    /// The judge's whole output.
    pub raw: String,
    /// SHA-256 of the rubric.
    pub rubric_sha256: String,
}

/// How an answer fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It did what was asked (tests passed; for text tasks: any credit).
    Pass,
    /// It did not.
    Fail,
    /// The grader itself failed: not the model's fault, counted separately.
    Error,
}

/// One graded answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Graded {
    /// Verdict.
    pub verdict: Verdict,
    /// Why it failed (or errored): "empty answer", "timeout after 10 s", "AssertionError …".
    pub reason: Option<String>,
    /// Share of the task achieved, 0–1: tests passed (0 or 1), defects found, checklist met.
    pub accuracy: f64,
    /// 0–5; `null` for answers that are not code.
    pub code_quality: Option<f64>,
    /// 0–5: the structure asked for, an explanation present and bounded.
    pub clarity: f64,
    /// What the answer achieved, compared across samples for consistency.
    pub signature: BTreeSet<String>,
    /// Code taken from the answer (code tasks).
    pub extracted_code: Option<String>,
    /// How it was found (`fence:entry point`, `indented body`, `parseable run`, `none`).
    pub extraction: Option<String>,
    /// Lint of the extracted code.
    pub lint: Option<Lint>,
    /// Seconds spent grading.
    pub grade_s: f64,
}

impl Graded {
    /// The grader itself failed (not the model's fault): verdict `error` with `reason`.
    pub fn error(reason: String) -> Graded {
        Graded {
            signature: BTreeSet::from(["error".to_string()]),
            ..Graded::text(Verdict::Error, Some(reason), 0.0, 0.0)
        }
    }

    /// A grade for an answer that is not code (no lint, no extracted code).
    pub fn text(verdict: Verdict, reason: Option<String>, accuracy: f64, clarity: f64) -> Graded {
        Graded {
            verdict,
            reason,
            accuracy,
            code_quality: None,
            clarity,
            signature: BTreeSet::new(),
            extracted_code: None,
            extraction: None,
            lint: None,
            grade_s: 0.0,
        }
    }
}

/// `grade.py`'s lint of the extracted code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Lint {
    /// Whether the code parses.
    pub compiles: bool,
    /// Unused imports and variables (`import os`, `variable x`).
    #[serde(default)]
    pub unused: Vec<String>,
    /// Bare `except:` clauses.
    #[serde(default)]
    pub bare_except: u64,
    /// Lines of code, without blanks and comments.
    #[serde(default)]
    pub lines: u64,
}
