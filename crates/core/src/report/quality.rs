//! The quality part of the report: HumanEval-style pass@k and the per-scenario scores on 0–5
//! (`total_score = (0.5·A + (0.2·C + 0.15·Q + 0.15·L)·A/5) / weights present`: accuracy A,
//! consistency C, code quality Q, clarity L — the last three count in proportion to accuracy).

use super::quality_stats::{Interval, PairedTest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn servebench_style() -> String {
    "servebench".into()
}

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
    /// How HumanEval-format tasks were asked: `servebench` or `qwen` (the Qwen2.5-Coder
    /// report's EvalPlus prompt).
    #[serde(default = "servebench_style")]
    pub prompt_style: String,
    /// The load profile the tasks were asked again under (`--quality-load`), if any.
    #[serde(default)]
    pub quality_load: Option<String>,
    /// Answers the run set out to grade: tasks × answers per task (samples, or 2 with the
    /// consistency rerun), plus one per task under load.
    #[serde(default)]
    pub answers_planned: usize,
    /// Answers graded (every line of `quality.jsonl`); fewer than planned when the run was
    /// interrupted.
    #[serde(default)]
    pub answers_graded: usize,
    /// Share of code tasks whose answer passes its tests, with the unbiased estimator over
    /// the samples; `null` without code tasks.
    pub pass_at_1: Option<f64>,
    /// 95 % interval of `pass_at_1`: Wilson with one sample per task, else a bootstrap over
    /// tasks.
    #[serde(default)]
    pub pass_at_1_ci: Option<Interval>,
    /// pass@k for each k ≤ samples among 1, 5, 10, 100 and `samples` itself.
    pub pass_at_k: BTreeMap<String, f64>,
    /// 95 % interval of each `pass_at_k` (as `pass_at_1_ci`).
    #[serde(default)]
    pub pass_at_k_ci: BTreeMap<String, Interval>,
    /// Scores per scenario.
    pub scenarios: BTreeMap<String, ScenarioScore>,
    /// Mean of the scenarios' `total_score`.
    pub average_total_score: Option<f64>,
    /// Answers the grader could not grade (its own failure, not the model's).
    pub errors: u64,
    /// Code tasks asked (tasks graded by running their tests).
    #[serde(default)]
    pub code_tasks: usize,
    /// Code tasks with at least one graded answer: the tasks `pass_at_1` is over. Fewer than
    /// `code_tasks` only when the grader failed (`errors`) on every answer of a task.
    #[serde(default)]
    pub code_tasks_scored: usize,
    /// The sandbox layers in force when code ran.
    pub sandbox: Option<String>,
    /// Each task's sequential outcome, for paired comparisons (`compare`).
    #[serde(default)]
    pub per_task: Vec<TaskOutcome>,
    /// Greedy re-asks (one sample per task, each asked twice): how often the second answer
    /// differs from the first.
    #[serde(default)]
    pub drift: Option<Drift>,
    /// Answers produced while the server was under load (`--quality-load`), against the
    /// sequential ones.
    #[serde(default)]
    pub under_load: Option<LoadedQuality>,
}

/// One task's sequential outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskOutcome {
    /// Scenario.
    pub scenario: String,
    /// Task id.
    pub task_id: String,
    /// A code task (graded by tests).
    pub code: bool,
    /// Scored answers (samples; reruns and grader errors excluded).
    pub answers: usize,
    /// Of which passed.
    pub passed: usize,
    /// Mean accuracy of the scored answers, 0–5.
    pub score: f64,
    /// The task's total score, 0–5 (its accuracy, consistency, code quality and clarity
    /// weighted as the scenario's are): what the scenario rows' paired tests compare.
    #[serde(default)]
    pub total: Option<f64>,
    /// The first scored answer, as the model wrote it.
    pub answer: String,
}

/// How answers to the same tasks differ between two asks at the same settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Drift {
    /// Tasks with both answers graded.
    pub compared: usize,
    /// Of which the answer text differs.
    pub differing: usize,
    /// `differing / compared`.
    pub share: Option<f64>,
    /// Median character position of the first difference, over the differing answers.
    pub first_difference_median: Option<f64>,
    /// Code tasks whose verdict (pass/fail) differs between the two answers.
    pub verdict_changes: usize,
    /// pass@1 of the other answers (the re-asks, or the answers under load).
    pub pass_at_1_other: Option<f64>,
    /// pass@1 if every task whose verdict changed had gone the worse way, and the better way:
    /// how far drift alone moves the headline number.
    pub pass_at_1_bounds: Option<[f64; 2]>,
}

/// Quality under load: the tasks asked again while the server was under a load profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadedQuality {
    /// The load profile (`concurrency:8`).
    pub profile: String,
    /// Answers graded under load.
    pub answers: usize,
    /// pass@1 of the answers under load.
    pub pass_at_1: Option<f64>,
    /// Its 95 % interval.
    pub pass_at_1_ci: Option<Interval>,
    /// Paired test against the sequential answers, task by task (McNemar on code tasks).
    pub paired: Option<PairedTest>,
    /// Answer drift against the sequential answers.
    pub drift: Drift,
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
    /// 95 % bootstrap interval of `total_score` (tasks resampled).
    #[serde(default)]
    pub total_score_ci: Option<Interval>,
    /// 5 × mean share achieved (tests passed, defects found, checklist met).
    pub accuracy: Option<f64>,
    /// 95 % bootstrap interval of `accuracy` (tasks resampled).
    #[serde(default)]
    pub accuracy_ci: Option<Interval>,
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
