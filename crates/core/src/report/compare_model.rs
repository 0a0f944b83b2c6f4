//! The comparison as data: the compared entries ([`Entry`]), the rows, pairs, caveats,
//! recommendations and same-model views ([`Comparison`]), and how an entry's metric is read
//! and which of two values is better. A leaf of the comparison: its jobs (rows in
//! [`super::compare`], [`super::compare_same`], [`super::compare_caveats`],
//! [`super::compare_recommend`]) all use it.

use super::finding::Finding;
use super::i18n::Message;
use super::metric::{Direction, MetricId, is_tie};
use super::model::{RunSettingsReport, TargetReport};
use super::quality_stats::PairedTest;
use super::resources::GpuReport;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The comparison row of pass@1 (code tasks), tested by McNemar's exact test by task.
pub const PASS_AT_1_KEY: &str = "quality_pass_at_1";

/// Version of the comparison JSON.
/// 2: caveats and recommendation reasons are typed messages (a code and its values) and the
/// JSON carries no language; 1 held them as prose in the language asked for.
pub const COMPARE_SCHEMA_VERSION: u32 = 2;

/// One target as compared, with its per-request samples.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// Label (unique among the entries).
    pub label: String,
    /// Where it came from (the report file).
    pub source: String,
    /// The target.
    pub target: &'a TargetReport,
    /// Its run's settings.
    pub settings: &'a RunSettingsReport,
    /// Its run's GPU report.
    pub gpu: &'a GpuReport,
    /// Per-request samples by metric id (from `requests.jsonl`), when available; every
    /// repeat's, pooled, for a repeated run.
    pub samples: BTreeMap<String, Vec<f64>>,
    /// A repeated run's repeats, each an entry of its own (empty for a run of its own): with
    /// two or more on both sides, rows are tested over runs ([`super::run_level::welch`]).
    pub runs: Vec<Entry<'a>>,
}

impl Entry<'_> {
    /// Each repeat's `read` of a repeated entry, in run order: `None` for a repeat whose
    /// target failed or has no finite value (a missing run, never averaged in).
    pub fn run_values(&self, read: impl Fn(&Entry) -> Option<f64>) -> Vec<Option<f64>> {
        self.runs
            .iter()
            .map(|r| {
                (r.target.status != super::model::TargetStatus::Failed)
                    .then(|| read(r))
                    .flatten()
                    .filter(|v| v.is_finite())
            })
            .collect()
    }

    /// Whether this entry stands for two repeats or more.
    pub fn repeated(&self) -> bool {
        self.runs.len() >= 2
    }

    /// Welch's t over runs of `read`, this entry against `other`, when both were repeated (and
    /// their runs vary: see [`super::run_level::welch`]); `None` otherwise — the caller then
    /// uses the metric's own test.
    pub fn run_test(
        &self,
        other: &Entry,
        read: impl Fn(&Entry) -> Option<f64>,
    ) -> Option<super::run_level::Welch> {
        if !(self.repeated() && other.repeated()) {
            return None;
        }
        let values =
            |e: &Entry| -> Vec<f64> { e.run_values(&read).into_iter().flatten().collect() };
        super::run_level::welch(&values(self), &values(other))
    }

    /// `read` of this entry: for a repeated one, the mean over the repeats that have a value
    /// (what its rows show); else its own.
    pub fn value_of(&self, read: impl Fn(&Entry) -> Option<f64>) -> Option<f64> {
        if !self.repeated() {
            return read(self);
        }
        let v: Vec<f64> = self.run_values(read).into_iter().flatten().collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    }
}

impl<'a> Entry<'a> {
    /// This entry standing for a repeated run: `runs` are its repeats (one entry each), and
    /// its samples become every repeat's, pooled.
    pub fn with_runs(mut self, runs: Vec<Entry<'a>>) -> Entry<'a> {
        self.samples = BTreeMap::new();
        for run in &runs {
            for (k, v) in &run.samples {
                self.samples.entry(k.clone()).or_default().extend(v);
            }
        }
        self.runs = runs;
        self
    }
}

/// One metric compared between two targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Row {
    /// Metric id (`warm_ttft_s`, `quality_average`).
    pub metric: String,
    /// Unit.
    pub unit: String,
    /// Baseline's value.
    pub a: Option<f64>,
    /// Other's value.
    pub b: Option<f64>,
    /// `b − a`.
    pub delta: Option<f64>,
    /// `delta / |a|` × 100.
    pub delta_pct: Option<f64>,
    /// `a`, `b` or `tie`; `null` when a value is missing or the metric has no better side.
    pub better: Option<String>,
    /// Whether the per-request samples tell the two apart; `null` when there are none.
    pub significant: Option<bool>,
    /// Mann–Whitney U p-value.
    pub p_value: Option<f64>,
    /// 95 % bootstrap interval of the difference.
    pub ci95: Option<[f64; 2]>,
    /// Samples behind `a`.
    pub n_a: Option<usize>,
    /// Samples behind `b`.
    pub n_b: Option<usize>,
    /// How a quality row was tested: `mcnemar-exact` or `paired-bootstrap+sign` (paired by
    /// task; `n_a` = `n_b` = the tasks both answered), or `untestable` when a side has no
    /// per-task outcomes or the two share no task; `welch-t-runs` for any row of two repeated
    /// runs (`a`, `b` the means over runs, `n_a`, `n_b` the runs with a value, `ci95` the
    /// interval of the difference of the means); `null` for per-request performance rows.
    #[serde(default)]
    pub test: Option<String>,
}

/// Baseline against one other target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Pair {
    /// Baseline label.
    pub a: String,
    /// Other label.
    pub b: String,
    /// One row per metric.
    pub rows: Vec<Row>,
}

/// A recommendation for one use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Recommendation {
    /// `interactive`, `throughput`, `memory` or `quality`.
    pub scenario: String,
    /// The target to use, or `null` when the data cannot say.
    pub choice: Option<String>,
    /// Why, as messages put in words when rendered.
    pub reason: Vec<Message>,
}

/// A compared target's identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Compared {
    /// Label.
    pub name: String,
    /// Model.
    pub model: String,
    /// Quantisation, when stated.
    pub quantization: Option<String>,
    /// Report it came from.
    pub source: String,
    /// Whether its cold request is known to have followed a fresh model load; cold values of
    /// a target without it are marked.
    #[serde(default)]
    pub cold_verified: bool,
    /// What its workloads found (load steps, sessions, ladder, autocomplete, team classes), as
    /// typed findings put in words when rendered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Comparison {
    /// [`COMPARE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The targets, baseline first.
    pub targets: Vec<Compared>,
    /// Baseline vs the second target (the two-report case).
    pub rows: Vec<Row>,
    /// Baseline vs each other target.
    pub pairs: Vec<Pair>,
    /// What needs care, as messages put in words when rendered.
    pub caveats: Vec<Message>,
    /// One per use; empty for a single target.
    pub recommendations: Vec<Recommendation>,
    /// Pairs of targets serving the same model (family and size) whose answers can be set
    /// side by side: is a quality gap the model's bits or nothing at all?
    #[serde(default)]
    pub same_model: Vec<SameModel>,
    /// The developers each target serves at the team's objectives, when the reports ran the
    /// capacity search: the comparison leads with it.
    #[serde(default)]
    pub capacity: Option<super::compare_load_model::CapacityComparison>,
    /// Baseline against each other target at every load both measured (sweeps and load
    /// steps), with the crossover.
    #[serde(default)]
    pub loads: Vec<super::compare_load_model::LoadComparison>,
}

/// Two targets serving the same model, answer by answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SameModel {
    /// First target.
    pub a: String,
    /// Second target.
    pub b: String,
    /// Per scenario: how many answers are identical, and where they part.
    pub scenarios: Vec<SameScenario>,
    /// Code tasks' paired pass/fail test (McNemar exact), when both answered code tasks.
    pub paired: Option<PairedTest>,
    /// What the data support, in words when rendered.
    pub finding: Message,
    /// What differs between the two though the model is the same — its quantisation, the
    /// server — as stated by each (nothing where both state the same or one says nothing).
    #[serde(default)]
    pub differs: Vec<Message>,
}

/// One scenario of [`SameModel`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SameScenario {
    /// Scenario.
    pub scenario: String,
    /// Tasks both answered.
    pub tasks: usize,
    /// Of which the first answers are identical.
    pub identical: usize,
    /// `identical / tasks`.
    pub share_identical: f64,
    /// Median character position of the first difference over the differing answers.
    pub first_divergence_median: Option<f64>,
}

/// Share of identical answers at or above which two targets "answer alike".
pub const ALIKE: f64 = 0.95;

/// The value of metric `id` for one entry (the mean over its repeats for a repeated run).
pub fn metric_value(e: &Entry, id: MetricId) -> Option<f64> {
    e.value_of(|x| (id.def().value)(x.target))
}

/// Which of two values is better (`a`, `b` or `tie` within the one tie band); `None` for a
/// metric with no better side.
pub fn better(a: f64, b: f64, dir: Direction) -> Option<&'static str> {
    if dir == Direction::Neither {
        return None;
    }
    if is_tie(a, b) {
        return Some("tie");
    }
    Some(match (dir, b < a) {
        (Direction::Lower, true) | (Direction::Higher, false) => "b",
        _ => "a",
    })
}
