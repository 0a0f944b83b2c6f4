//! The quality part of the report: HumanEval-style pass@k and the per-scenario scores on 0–5
//! (`total_score = (0.5·A + (0.2·C + 0.15·Q + 0.15·L)·A/5) / weights present`: accuracy A,
//! consistency C, code quality Q, clarity L — the last three count in proportion to accuracy).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A target's coding quality.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QualityReport {
    /// `builtin`, `humaneval` or the dataset file.
    pub dataset: String,
    /// Tasks asked.
    pub tasks: usize,
    /// Samples per task (`--samples`).
    pub samples: u32,
    /// Sampling temperature of the answers.
    pub temperature: f64,
    /// Generation limit per answer.
    pub max_tokens: u32,
    /// Share of code tasks whose answer passes its tests, with the unbiased estimator over
    /// the samples; `null` without code tasks.
    pub pass_at_1: Option<f64>,
    /// pass@k for each k ≤ samples among 1, 5, 10, 100 and `samples` itself.
    pub pass_at_k: BTreeMap<String, f64>,
    /// Scores per scenario.
    pub scenarios: BTreeMap<String, ScenarioScore>,
    /// Mean of the scenarios' `total_score`.
    pub average_total_score: Option<f64>,
    /// Answers the grader could not grade (its own failure, not the model's).
    pub errors: u64,
    /// The sandbox layers in force when code ran.
    pub sandbox: Option<String>,
}

/// One scenario's scores, each 0–5.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScenarioScore {
    /// Tasks in the scenario.
    pub tasks: usize,
    /// Answers graded (samples and consistency reruns).
    pub answers: usize,
    /// Scored answers (not reruns) that passed (code: tests; text: any credit).
    pub passed: usize,
    /// Scored answers that failed.
    pub failed: usize,
    /// Answers the grader could not grade; excluded from every score.
    pub errors: usize,
    /// The weighted total, 0–5.
    pub total_score: Option<f64>,
    /// 5 × mean share achieved (tests passed, defects found, checklist met).
    pub accuracy: Option<f64>,
    /// 5 × mean agreement between a task's answers (samples, or a rerun at the same settings).
    pub consistency: Option<f64>,
    /// Mean code quality of code answers (compiles, lint, size); `null` for text scenarios.
    pub code_quality: Option<f64>,
    /// Mean clarity (structure asked for, explanation present and bounded).
    pub clarity: Option<f64>,
    /// A judge model's scores, shown beside the objective ones and never mixed into them.
    pub judge: Option<JudgeScore>,
}

/// What a judge model said about a scenario's answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JudgeScore {
    /// Judge model.
    pub model: String,
    /// SHA-256 of the rubric prompt.
    pub rubric_sha256: String,
    /// Answers judged.
    pub judged: usize,
    /// Judge outputs without a parsable `[[score]]`.
    pub parse_failures: usize,
    /// `parse_failures / judged`.
    pub parse_failure_rate: Option<f64>,
    /// Mean parsed score, 0–5.
    pub mean_score: Option<f64>,
}
