//! Repeats of a whole plan (`servebench run --repeat N`): `repeats.json` and its document —
//! per target and metric, the runs' values with their mean, 95 % Student-t interval and
//! coefficient of variation ([`super::run_level`]), beside the per-request samples pooled
//! over every run.

use super::compare_model::PASS_AT_1_KEY;
use super::document::{Document, Table};
use super::metric::{REGISTRY, Samples};
pub use super::model::RepeatOf;
use super::model::{Report, TargetStatus};
use super::run_level::RunLevel;
use super::significance::Stat;
use crate::record::RequestRecord;
use serde::{Deserialize, Serialize};

/// Version of `repeats.json`.
pub const REPEATS_SCHEMA_VERSION: u32 = 1;

/// The file a repeated run's directory holds instead of `report.json`.
pub const REPEATS_FILE: &str = "repeats.json";

/// Per-request samples of every run, pooled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Pooled {
    /// Samples (successful requests of the metric's phase, every run).
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Pooled {
    fn of(v: &[f64]) -> Option<Pooled> {
        (!v.is_empty()).then(|| Pooled {
            n: v.len(),
            mean: Stat::Mean.of(v),
            p50: Stat::Median.of(v),
            p90: Stat::Quantile(90).of(v),
            p99: Stat::Quantile(99).of(v),
        })
    }
}

/// One metric of one target over the repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RepeatMetric {
    /// Registry id (or `quality_pass_at_1`).
    pub metric: String,
    /// Unit.
    pub unit: String,
    /// The runs' values and their mean, interval and spread.
    pub run_level: RunLevel,
    /// Runs in which the target has no value for it (failed, or not measured).
    pub missing: usize,
    /// The per-request distribution over every run, for metrics with per-request samples.
    pub pooled: Option<Pooled>,
}

/// One target over the repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RepeatTarget {
    /// Its name.
    pub name: String,
    /// Repeats in which it failed.
    pub failed_runs: Vec<u32>,
    /// Every metric some run measured.
    pub metrics: Vec<RepeatMetric>,
}

/// One repeat as the summary names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RepeatRun {
    /// From 1.
    pub index: u32,
    /// Its directory, relative to the set's (`repeat-1`).
    pub dir: String,
    /// When it started.
    pub created_at: String,
}

/// `repeats.json`: the whole set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RepeatsReport {
    /// [`REPEATS_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The set's id ([`RepeatOf::group`]).
    pub group: String,
    /// Repeats planned (`--repeat`).
    pub planned: u32,
    /// The repeats that ran to the end, in order: the numbers are theirs.
    pub runs: Vec<RepeatRun>,
    /// Directories of repeats stopped before they finished (Ctrl-C): left out, their numbers
    /// partial.
    pub interrupted: Vec<String>,
    /// Per target (in plan order), per metric.
    pub targets: Vec<RepeatTarget>,
}

/// One finished repeat: its directory name, report and journal.
#[derive(Debug, Clone, Copy)]
pub struct RepeatInput<'a> {
    /// Directory name (`repeat-1`).
    pub dir: &'a str,
    /// Its report.
    pub report: &'a Report,
    /// Its request records.
    pub records: &'a [RequestRecord],
}

/// Summarise the finished repeats of set `group` (`planned` of them were asked for;
/// `interrupted` names those stopped before they finished, left out).
pub fn summarize(
    group: &str,
    planned: u32,
    runs: &[RepeatInput],
    interrupted: Vec<String>,
) -> RepeatsReport {
    let mut names: Vec<&str> = Vec::new();
    for r in runs {
        for t in &r.report.targets {
            if !names.contains(&t.name.as_str()) {
                names.push(&t.name);
            }
        }
    }
    let index =
        |k: usize, r: &RepeatInput| r.report.repeat.as_ref().map_or(k as u32 + 1, |o| o.index);
    let targets = names
        .iter()
        .map(|name| {
            let found: Vec<Option<&super::TargetReport>> = runs
                .iter()
                .map(|r| r.report.targets.iter().find(|t| t.name == *name))
                .collect();
            let failed = |t: &Option<&super::TargetReport>| {
                t.is_none_or(|t| t.status == TargetStatus::Failed)
            };
            let failed_runs = runs
                .iter()
                .enumerate()
                .zip(&found)
                .filter(|(_, t)| failed(t))
                .map(|((k, r), _)| index(k, r))
                .collect();
            // A failed repeat has no values: what it measured before failing is not averaged
            // in (it is counted under `missing`).
            let per_run: Vec<Option<&super::TargetReport>> = found
                .iter()
                .map(|t| if failed(t) { None } else { *t })
                .collect();
            let samples: Vec<_> = runs
                .iter()
                .zip(&per_run)
                .map(|(r, t)| {
                    t.map(|t| super::compare::samples(t, r.records))
                        .unwrap_or_default()
                })
                .collect();
            let mut metrics = Vec::new();
            let mut push =
                |metric: &str, unit: &str, values: Vec<Option<f64>>, pooled: Option<Pooled>| {
                    let got: Vec<f64> = values
                        .iter()
                        .flatten()
                        .copied()
                        .filter(|v| v.is_finite())
                        .collect();
                    if let Some(run_level) = RunLevel::of(&got) {
                        metrics.push(RepeatMetric {
                            metric: metric.to_string(),
                            unit: unit.to_string(),
                            missing: values.len() - got.len(),
                            run_level,
                            pooled,
                        });
                    }
                };
            for d in REGISTRY {
                let values = per_run
                    .iter()
                    .map(|t| t.and_then(|t| (d.value)(t)))
                    .collect();
                let pooled = match d.samples {
                    Samples::Requests(..) => Pooled::of(
                        &samples
                            .iter()
                            .filter_map(|s| s.get(d.key))
                            .flatten()
                            .copied()
                            .collect::<Vec<f64>>(),
                    ),
                    _ => None,
                };
                push(d.key, d.unit, values, pooled);
            }
            let pass = per_run
                .iter()
                .map(|t| t.and_then(|t| t.quality.as_ref()?.pass_at_1))
                .collect();
            push(PASS_AT_1_KEY, "", pass, None);
            RepeatTarget {
                name: name.to_string(),
                failed_runs,
                metrics,
            }
        })
        .collect();
    RepeatsReport {
        schema_version: REPEATS_SCHEMA_VERSION,
        group: group.to_string(),
        planned,
        runs: runs
            .iter()
            .enumerate()
            .map(|(k, r)| RepeatRun {
                index: index(k, r),
                dir: r.dir.to_string(),
                created_at: r.report.created_at.clone(),
            })
            .collect(),
        interrupted,
        targets,
    }
}

/// The summary as a document: the runs, then per target a table of every metric — the mean
/// over runs, its 95 % interval, the spread between runs (CV) and the pooled per-request
/// percentiles.
pub fn document(r: &RepeatsReport) -> Document {
    let mut d = Document::new(&format!("Repeats: {} runs of one plan", r.runs.len()), "en");
    d.para(format!(
        "{} of {} planned repeats ran (set {}): each repeat ran the whole plan, managed servers started afresh as for a cold load. Per metric: the mean of the runs' values with a 95 % Student-t interval (n − 1 degrees of freedom) and the coefficient of variation between runs, beside the per-request samples pooled over every run. `compare` and `gate` test repeated runs at this level (Welch's t over runs).",
        r.runs.len(),
        r.planned,
        r.group
    ));
    if r.runs.len() < r.planned as usize {
        d.callout(format!(
            "The set is incomplete (interrupted): the numbers are over the {} repeats that finished.{}",
            r.runs.len(),
            if r.interrupted.is_empty() {
                String::new()
            } else {
                format!(" Left out, stopped before it finished: {}.", r.interrupted.join(", "))
            }
        ));
    }
    let f = |v: f64| format!("{v:.4}");
    for t in &r.targets {
        d.heading(2, &t.name);
        if !t.failed_runs.is_empty() {
            d.callout(format!(
                "Failed in repeat(s) {}: those runs have no values (what they measured before failing is not averaged in), counted under Missing.",
                t.failed_runs
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let mut table = Table::new(
            [
                "Metric",
                "Unit",
                "Runs",
                "Missing",
                "Mean",
                "95 % interval",
                "CV",
                "Pooled n",
                "Pooled p50",
                "Pooled p90",
                "Pooled p99",
            ]
            .map(String::from)
            .to_vec(),
        );
        for m in &t.metrics {
            let l = &m.run_level;
            let p = m.pooled.as_ref();
            table.row(vec![
                m.metric.clone(),
                m.unit.clone(),
                l.values.len().to_string(),
                m.missing.to_string(),
                f(l.mean),
                l.ci95
                    .map_or("—".into(), |[lo, hi]| format!("{} … {}", f(lo), f(hi))),
                l.cv.map_or("—".into(), |cv| format!("{:.1} %", cv * 100.0)),
                p.map_or("—".into(), |p| p.n.to_string()),
                p.map_or("—".into(), |p| f(p.p50)),
                p.map_or("—".into(), |p| f(p.p90)),
                p.map_or("—".into(), |p| f(p.p99)),
            ]);
        }
        d.table(table);
    }
    d
}
