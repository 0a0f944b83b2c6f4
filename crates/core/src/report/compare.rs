//! Comparing targets (pure): per-metric rows with the difference, which side is better and
//! whether the runs can tell them apart ([`super::significance`]), then the caveats
//! ([`super::compare_caveats`]), the recommendations ([`super::compare_recommend`]) and the
//! same-model views ([`super::compare_same`]) over the types of [`super::compare_model`].
//! The first target is the baseline (`a`).

use super::finding::Finding;
use super::metric::{COMPARED, Direction, MetricId, Samples, is_tie, quality_scenario_key};
use super::model::TargetReport;
use super::quality_stats::PairedTest;
use super::significance::{self, Stat};
use crate::metrics::RequestMetrics;
use crate::record::RequestRecord;
use std::collections::{BTreeMap, BTreeSet};

use super::compare_caveats::caveats;
pub use super::compare_model::*;
use super::compare_recommend::recommendations;
pub use super::compare_same::same_model;
use super::compare_same::{paired_pass, paired_scores, same_model_pair};

/// Per-request samples of the metrics that have them (see [`Samples`]), by metric id, for
/// `target`'s successful records.
pub fn samples(target: &TargetReport, records: &[RequestRecord]) -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mine: Vec<(&RequestRecord, RequestMetrics)> = records
        .iter()
        .filter(|r| r.target == target.name && r.outcome.is_ok())
        .map(|r| (r, RequestMetrics::of(r)))
        .collect();
    for d in super::metric::REGISTRY {
        let v: Vec<f64> = match d.samples {
            Samples::None => continue,
            Samples::Loads => target.load.samples.iter().map(|s| s.seconds).collect(),
            Samples::Requests(phase, read) => mine
                .iter()
                .filter(|(r, _)| r.phase == phase)
                .filter_map(|(_, m)| read(m))
                .collect(),
        };
        if !v.is_empty() {
            out.insert(d.key.to_string(), v);
        }
    }
    out
}

/// Reads a metric's value from an entry.
type Getter = Box<dyn Fn(&Entry) -> Option<f64>>;

/// Pairs a quality row's per-task outcomes of two entries and tests them.
type Paired = Box<dyn Fn(&Entry, &Entry) -> Option<PairedTest>>;

/// A comparison row's metric: a registry entry, or one scenario's quality score.
struct Def {
    id: String,
    unit: &'static str,
    dir: Direction,
    stat: Stat,
    value: Getter,
    /// Quality rows: the paired test by task.
    paired: Option<Paired>,
}

impl Def {
    fn of(m: MetricId) -> Def {
        let d = m.def();
        let read = d.value;
        Def {
            id: d.key.to_string(),
            unit: d.unit,
            dir: d.direction,
            stat: d.stat,
            value: Box::new(move |e| read(e.target)),
            paired: (m == MetricId::QualityAverage)
                .then(|| Box::new(|a: &Entry, b: &Entry| paired_scores(a, b, |_| true)) as Paired),
        }
    }
}

/// The comparison's rows: [`COMPARED`] in order, each quality scenario any entry has just
/// before the average.
fn defs(entries: &[Entry]) -> Vec<Def> {
    let mut d: Vec<Def> = Vec::new();
    let scenarios: BTreeSet<String> = entries
        .iter()
        .filter_map(|e| e.target.quality.as_ref())
        .flat_map(|q| q.scenarios.keys().cloned())
        .collect();
    let pass = entries.iter().any(|e| {
        e.target
            .quality
            .as_ref()
            .is_some_and(|q| q.pass_at_1.is_some())
    });
    for &m in COMPARED {
        if m == MetricId::QualityAverage {
            let avg = m.def();
            for s in &scenarios {
                let (key, scen) = (s.clone(), s.clone());
                d.push(Def {
                    id: quality_scenario_key(s),
                    unit: avg.unit,
                    dir: avg.direction,
                    stat: avg.stat,
                    value: Box::new(move |e| {
                        e.target.quality.as_ref()?.scenarios.get(&key)?.total_score
                    }),
                    paired: Some(Box::new(move |a, b| {
                        paired_scores(a, b, |t| t.scenario == scen)
                    })),
                });
            }
            if pass {
                d.push(Def {
                    id: PASS_AT_1_KEY.into(),
                    unit: "",
                    dir: Direction::Higher,
                    stat: Stat::Mean,
                    value: Box::new(|e| e.target.quality.as_ref()?.pass_at_1),
                    paired: Some(Box::new(paired_pass)),
                });
            }
        }
        d.push(Def::of(m));
    }
    d
}

/// The test of rows whose entries were both repeated.
pub const RUN_LEVEL_TEST: &str = "welch-t-runs";

fn row(def: &Def, a: &Entry, b: &Entry) -> Row {
    // A repeated entry's value is its mean over runs; two repeated entries are tested over
    // runs (Welch's t), else — or when Welch cannot say — as single runs are.
    let (va, vb) = (a.value_of(&def.value), b.value_of(&def.value));
    let run_test = a.run_test(b, &def.value);
    let delta = va.zip(vb).map(|(x, y)| y - x);
    // What tells the two apart: Welch's t over the runs when both were repeated; else
    // per-task pairs for quality rows, per-request samples for the rest — (significant
    // before the tie band, p, interval, n_a, n_b) and the test when it is not per-request.
    type Told = (bool, Option<f64>, Option<[f64; 2]>, usize, usize);
    let (told, test): (Option<Told>, Option<String>) = match &def.paired {
        _ if run_test.is_some() => (
            run_test.map(|w| (w.significant(), Some(w.p_value), Some(w.ci95), w.n_a, w.n_b)),
            Some(RUN_LEVEL_TEST.into()),
        ),
        Some(paired) => {
            let t = va.and(vb).and_then(|_| paired(a, b));
            let told = t
                .as_ref()
                .map(|t| (t.significant, Some(t.p_value), t.ci95, t.tasks, t.tasks));
            (told, Some(t.map_or("untestable".into(), |t| t.method)))
        }
        None => {
            let t = match (a.samples.get(&def.id), b.samples.get(&def.id)) {
                (Some(sa), Some(sb)) if va.is_some() && vb.is_some() => {
                    Some(significance::test(sa, sb, def.stat))
                }
                _ => None,
            };
            (
                t.map(|t| (t.significant, t.p_value, t.ci95, t.n_a, t.n_b)),
                None,
            )
        }
    };
    Row {
        metric: def.id.clone(),
        unit: def.unit.into(),
        a: va,
        b: vb,
        delta,
        delta_pct: va
            .zip(delta)
            .and_then(|(x, d)| (x != 0.0).then(|| d / x.abs() * 100.0)),
        better: va
            .zip(vb)
            .and_then(|(x, y)| better(x, y, def.dir))
            .map(str::to_string),
        // Statistically distinguishable and beyond the 2 % tie band: a 0.7 ms difference
        // between two runs of the same server can be "significant" and still mean nothing.
        significant: told.map(|t| t.0 && va.zip(vb).is_some_and(|(x, y)| !is_tie(x, y))),
        p_value: told.and_then(|t| t.1),
        ci95: told.and_then(|t| t.2),
        n_a: told.map(|t| t.3),
        n_b: told.map(|t| t.4),
        test,
    }
}

/// Every finding of `t`'s workloads, each once.
pub fn findings_of(t: &TargetReport) -> Vec<Finding> {
    let p = &t.phases;
    let mut all = Vec::new();
    let steps = p.load.iter().chain(&p.sweep).flat_map(|s| &s.findings);
    let sessions = t.sessions().into_iter().chain(t.sessions_sweep());
    let team = t.team().into_iter().flat_map(|t| {
        let a = t.autocomplete.iter().flat_map(|a| &a.findings);
        let s = t.chat.iter().chain(&t.agent).flat_map(|s| &s.findings);
        a.chain(s)
    });
    for f in steps
        .chain(sessions.flat_map(|s| &s.findings))
        .chain(t.ladder().into_iter().flat_map(|l| &l.findings))
        .chain(t.autocomplete().into_iter().flat_map(|a| &a.findings))
        .chain(team)
    {
        super::finding::push_once(&mut all, f.clone());
    }
    all
}

/// Compare `entries` (baseline first). Words are chosen when the comparison is rendered.
pub fn compare(entries: &[Entry]) -> Comparison {
    let defs = defs(entries);
    let pairs: Vec<Pair> = entries
        .iter()
        .skip(1)
        .map(|b| Pair {
            a: entries[0].label.clone(),
            b: b.label.clone(),
            rows: defs.iter().map(|d| row(d, &entries[0], b)).collect(),
        })
        .collect();
    Comparison {
        schema_version: COMPARE_SCHEMA_VERSION,
        targets: entries
            .iter()
            .map(|e| Compared {
                name: e.label.clone(),
                model: e.target.model.clone(),
                quantization: e.target.model_info.quantization.clone(),
                source: e.source.clone(),
                cold_verified: e.target.cold_verified,
                findings: findings_of(e.target),
            })
            .collect(),
        rows: pairs.first().map(|p| p.rows.clone()).unwrap_or_default(),
        same_model: entries
            .iter()
            .enumerate()
            .flat_map(|(i, a)| {
                entries[i + 1..]
                    .iter()
                    .filter_map(move |b| same_model_pair(a, b))
            })
            .collect(),
        caveats: caveats(entries),
        capacity: super::compare_load::capacity(entries),
        loads: super::compare_load::loads(entries),
        recommendations: if entries.len() < 2 {
            Vec::new()
        } else {
            recommendations(entries)
        },
        pairs,
    }
}
