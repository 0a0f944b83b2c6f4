//! Comparing targets (pure): per-metric rows with the difference, which side is better and
//! whether the runs can tell them apart ([`super::significance`]), caveats generated from the
//! data, and a recommendation per use. The first target is the baseline (`a`).

use super::finding::Finding;
use super::i18n::{Code, Message};
use super::metric::{COMPARED, Direction, MetricId, Samples, is_tie, quality_scenario_key};
use super::model::{AttemptStatus, RunSettingsReport, TargetReport, TargetStatus};
use super::phase::instability;
use super::quality::TaskOutcome;
use super::quality_stats::{self, PairedTest};
use super::resources::GpuReport;
use super::significance::{self, Stat};
use crate::metrics::RequestMetrics;
use crate::record::RequestRecord;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
    /// Per-request samples by metric id (from `requests.jsonl`), when available.
    pub samples: BTreeMap<String, Vec<f64>>,
}

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
    /// per-task outcomes or the two share no task; `null` for performance rows.
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

/// Whether two targets serve the same model: the same name, or the same family and size in
/// their model facts (parameter counts within 5 %, or the same stated size).
pub fn same_model(a: &TargetReport, b: &TargetReport) -> bool {
    let (ma, mb) = (&a.model_info, &b.model_info);
    let size = match (ma.parameter_count, mb.parameter_count) {
        (Some(x), Some(y)) => (x as f64 - y as f64).abs() <= 0.05 * x.max(y) as f64,
        _ => ma.parameter_size.is_some() && ma.parameter_size == mb.parameter_size,
    };
    a.model.eq_ignore_ascii_case(&b.model)
        || (ma.family.is_some() && ma.family == mb.family && size)
}

/// The same-model view of two entries; `None` unless both serve the same model and answered
/// common tasks.
fn same_model_pair(a: &Entry, b: &Entry) -> Option<SameModel> {
    let (qa, qb) = (a.target.quality.as_ref()?, b.target.quality.as_ref()?);
    // Greedy answers are comparable only when asked the same way.
    let asked = |q: &super::quality::QualityReport| {
        (q.dataset.clone(), q.prompt_style.clone(), q.max_tokens)
    };
    if !same_model(a.target, b.target)
        || qa.temperature != 0.0
        || qb.temperature != 0.0
        || asked(qa) != asked(qb)
    {
        return None;
    }
    let pairs = task_pairs(a, b, |_| true)?;
    let mut by: BTreeMap<&str, Vec<(&TaskOutcome, &TaskOutcome)>> = BTreeMap::new();
    for (x, y) in &pairs {
        by.entry(x.scenario.as_str()).or_default().push((x, y));
    }
    let scenarios: Vec<SameScenario> = by
        .into_iter()
        .map(|(s, ps)| {
            let mut firsts: Vec<f64> = ps
                .iter()
                .filter_map(|(x, y)| super::score::first_difference(&x.answer, &y.answer))
                .map(|p| p as f64)
                .collect();
            firsts.sort_by(f64::total_cmp);
            let identical = ps.len() - firsts.len();
            SameScenario {
                scenario: s.into(),
                tasks: ps.len(),
                identical,
                share_identical: identical as f64 / ps.len() as f64,
                first_divergence_median: (!firsts.is_empty())
                    .then(|| crate::stats::quantile_sorted(&firsts, 0.5)),
            }
        })
        .collect();
    let identical: usize = scenarios.iter().map(|s| s.identical).sum();
    let share = identical as f64 / pairs.len() as f64;
    let paired = paired_pass(a, b).filter(|t| t.table.is_some());
    let pct = format!("{:.0}", share * 100.0);
    let (oa, ob) = paired
        .as_ref()
        .and_then(|t| t.table)
        .map_or((0, 0), |t| (t.only_a, t.only_b));
    let significant = paired.as_ref().is_some_and(|t| t.significant);
    let code = if significant {
        Code::SameQuality
    } else if share >= ALIKE {
        Code::SameAlike
    } else if paired.is_none() {
        Code::SameUntested
    } else {
        Code::SameText
    };
    let finding = Message::new(code)
        .with("a", &a.label)
        .with("b", &b.label)
        .with("pct", pct)
        .with("oa", oa.to_string())
        .with("ob", ob.to_string())
        .with(
            "p",
            paired
                .as_ref()
                .map_or("—".into(), |t| format!("{:.3}", t.p_value)),
        );
    Some(SameModel {
        a: a.label.clone(),
        b: b.label.clone(),
        scenarios,
        paired,
        finding,
    })
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

/// Per-task outcomes of both entries for the tasks both answered (matched by scenario and
/// task id), filtered by `keep`.
fn task_pairs<'e>(
    a: &'e Entry,
    b: &'e Entry,
    keep: impl Fn(&TaskOutcome) -> bool,
) -> Option<Vec<(&'e TaskOutcome, &'e TaskOutcome)>> {
    let (qa, qb) = (a.target.quality.as_ref()?, b.target.quality.as_ref()?);
    let other: BTreeMap<(&str, &str), &TaskOutcome> = qb
        .per_task
        .iter()
        .filter(|t| keep(t) && t.answers > 0)
        .map(|t| ((t.scenario.as_str(), t.task_id.as_str()), t))
        .collect();
    let pairs: Vec<_> = qa
        .per_task
        .iter()
        .filter(|t| keep(t) && t.answers > 0)
        .filter_map(|t| Some((t, *other.get(&(t.scenario.as_str(), t.task_id.as_str()))?)))
        .collect();
    (!pairs.is_empty()).then_some(pairs)
}

/// The paired test of per-task totals (0–5; per-task accuracy for reports written before
/// tasks carried their total) over the tasks `keep` selects.
fn paired_scores(a: &Entry, b: &Entry, keep: impl Fn(&TaskOutcome) -> bool) -> Option<PairedTest> {
    let pairs = task_pairs(a, b, keep)?;
    let totals: Option<Vec<(f64, f64)>> = pairs
        .iter()
        .map(|(x, y)| Some((x.total?, y.total?)))
        .collect();
    let values = totals.unwrap_or_else(|| pairs.iter().map(|(x, y)| (x.score, y.score)).collect());
    Some(quality_stats::paired_scores(&values))
}

/// pass@1 paired by task: McNemar on one answer per task, else the paired test of per-task
/// pass rates.
fn paired_pass(a: &Entry, b: &Entry) -> Option<PairedTest> {
    let pairs = task_pairs(a, b, |t| t.code)?;
    if pairs.iter().all(|(x, y)| x.answers == 1 && y.answers == 1) {
        return Some(quality_stats::mcnemar(
            &pairs
                .iter()
                .map(|(x, y)| (x.passed == 1, y.passed == 1))
                .collect::<Vec<_>>(),
        ));
    }
    let rate = |t: &TaskOutcome| t.passed as f64 / t.answers as f64;
    Some(quality_stats::paired_scores(
        &pairs
            .iter()
            .map(|(x, y)| (rate(x), rate(y)))
            .collect::<Vec<_>>(),
    ))
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

/// The value of metric `id` for one entry.
pub fn metric_value(e: &Entry, id: MetricId) -> Option<f64> {
    (id.def().value)(e.target)
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

fn row(def: &Def, a: &Entry, b: &Entry) -> Row {
    let (va, vb) = ((def.value)(a), (def.value)(b));
    let delta = va.zip(vb).map(|(x, y)| y - x);
    // What tells the two apart: per-task pairs for quality rows, per-request samples for the
    // rest — (significant before the tie band, p, interval, n_a, n_b) and the quality test.
    type Told = (bool, Option<f64>, Option<[f64; 2]>, usize, usize);
    let (told, test): (Option<Told>, Option<String>) = match &def.paired {
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
    let sessions = p.sessions.iter().chain(&p.sessions_sweep);
    let team = p.team.iter().flat_map(|t| {
        let a = t.autocomplete.iter().flat_map(|a| &a.findings);
        let s = t.chat.iter().chain(&t.agent).flat_map(|s| &s.findings);
        a.chain(s)
    });
    for f in steps
        .chain(sessions.flat_map(|s| &s.findings))
        .chain(p.ladder.iter().flat_map(|l| &l.findings))
        .chain(p.autocomplete.iter().flat_map(|a| &a.findings))
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
        recommendations: if entries.len() < 2 {
            Vec::new()
        } else {
            recommendations(entries)
        },
        pairs,
    }
}

fn caveats(entries: &[Entry]) -> Vec<Message> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for e in entries {
        if !seen.insert((e.source.clone(), e.target.name.clone())) {
            out.push(Message::new(Code::CavSame).with("x", &e.label));
        }
    }
    let Some(base) = entries.first() else {
        return out;
    };
    for e in entries {
        let x = e.label.as_str();
        if e.target.status == TargetStatus::Failed {
            out.push(
                Message::new(Code::CavFailed)
                    .with("x", x)
                    .with("error", e.target.error.as_deref().unwrap_or("?")),
            );
        }
        if let Some(q) = e.target.quality.as_ref().filter(|q| q.errors > 0) {
            out.push(
                Message::new(Code::CavGraderErrors)
                    .with("x", x)
                    .with("errors", q.errors.to_string())
                    .with("scored", q.code_tasks_scored.to_string())
                    .with("tasks", q.code_tasks.to_string()),
            );
        }
        if e.target.model_info.quantization.is_none() && e.target.status == TargetStatus::Ok {
            out.push(Message::new(Code::CavQuantUnknown).with("x", x));
        }
        if let Some(f) = e.target.memory.preallocated_fraction {
            out.push(
                Message::new(Code::CavPrealloc)
                    .with("x", x)
                    .with("pct", format!("{:.0}", f * 100.0)),
            );
        }
        if e.target.phases.sweep.is_empty()
            && e.target.phases.load.is_none()
            && e.settings.performance
        {
            out.push(Message::new(Code::CavSingleStream).with("x", x));
        }
        if !e.target.cold_verified && e.target.phases.cold.is_some() {
            out.push(Message::new(Code::CavCold).with("x", x));
        }
        if let Some((spread, cv)) = e.target.phases.warm.as_ref().and_then(instability) {
            out.push(
                Message::new(Code::CavUnstable)
                    .with("x", x)
                    .with("spread", format!("{spread:.0}"))
                    .with("cv", format!("{cv:.1}")),
            );
        }
        if let Some((cpu, threads)) = super::model::cpu_starved(e.target) {
            out.push(
                Message::new(Code::CavCpuStarved)
                    .with("x", x)
                    .with("cpu", format!("{cpu:.0}"))
                    .with("threads", threads.to_string()),
            );
        }
        if let Some((mean, phase)) = contradiction(base, e) {
            out.push(
                Message::new(Code::CavContradiction)
                    .with("mean", mean)
                    .with("phase", phase),
            );
        }
        if e.settings.unique_prompts {
            for (phase, hits, of) in super::model::cache_hits(e.target) {
                // Cold and warm are words of the catalogue; a load profile is its own name.
                let m = Message::new(Code::CavPromptCache).with("x", x);
                let m = match phase.as_str() {
                    "cold" => m.word("phase", Code::PhaseCold),
                    "warm" => m.word("phase", Code::PhaseWarm),
                    _ => m.with("phase", phase),
                };
                out.push(m.with("n", hits.to_string()).with("of", of.to_string()));
            }
        }
        let failed: Vec<&str> = e
            .target
            .attempts
            .iter()
            .filter(|a| a.status != AttemptStatus::Ok)
            .map(|a| a.model.as_str())
            .collect();
        if !failed.is_empty() && e.target.status == TargetStatus::Ok {
            out.push(
                Message::new(Code::CavFallback)
                    .with("x", x)
                    .with("tried", failed.join(", "))
                    .with("model", &e.target.model),
            );
        }
        if !e.gpu.available && e.settings.performance {
            out.push(
                Message::new(Code::CavNoGpu)
                    .with("x", x)
                    .with("reason", e.gpu.reason.as_deref().unwrap_or("?")),
            );
        }
    }
    for e in entries.iter().skip(1) {
        let (qa, qb) = (
            &base.target.model_info.quantization,
            &e.target.model_info.quantization,
        );
        if let (Some(a), Some(b)) = (qa, qb)
            && !a.eq_ignore_ascii_case(b)
        {
            out.push(
                Message::new(Code::CavQuant)
                    .with("a", format!("{} ({a})", base.label))
                    .with("b", format!("{} ({b})", e.label)),
            );
        }
        if base.target.model != e.target.model {
            out.push(
                Message::new(Code::CavModels)
                    .with("a", &base.target.model)
                    .with("b", &e.target.model),
            );
        }
        let (sa, sb) = (base.settings, e.settings);
        let mut diffs = Vec::new();
        if sa.prompts != sb.prompts {
            diffs.push("prompts");
        }
        if sa.max_tokens != sb.max_tokens {
            diffs.push("max_tokens");
        }
        if sa.temperature != sb.temperature {
            diffs.push("temperature");
        }
        if sa.warm != sb.warm {
            diffs.push("warm");
        }
        if !diffs.is_empty() {
            out.push(Message::new(Code::CavWorkload).with("what", diffs.join(", ")));
        }
    }
    out.dedup();
    out
}

/// When the per-request mean (warm TPS) and the phase throughput name different better sides
/// of `a` and `b` (each beyond the tie band): (the mean's winner, the phase's winner).
fn contradiction<'e>(a: &'e Entry, b: &'e Entry) -> Option<(&'e str, &'e str)> {
    let (am, bm) = (
        metric_value(a, MetricId::WarmTokS)?,
        metric_value(b, MetricId::WarmTokS)?,
    );
    let (ap, bp) = (
        metric_value(a, MetricId::WarmOutputTokS)?,
        metric_value(b, MetricId::WarmOutputTokS)?,
    );
    if is_tie(am, bm) || is_tie(ap, bp) || (am > bm) == (ap > bp) {
        return None;
    }
    let winner = |first: bool| {
        if first {
            a.label.as_str()
        } else {
            b.label.as_str()
        }
    };
    Some((winner(am > bm), winner(ap > bp)))
}

/// The labels of targets whose warm measurements are unstable or contradict another's.
fn shaky<'a>(entries: &'a [Entry<'a>]) -> Vec<&'a str> {
    let mut out: Vec<&str> = entries
        .iter()
        .filter(|e| {
            e.target
                .phases
                .warm
                .as_ref()
                .and_then(instability)
                .is_some()
                || super::model::cpu_starved(e.target).is_some()
        })
        .map(|e| e.label.as_str())
        .collect();
    if let Some(base) = entries.first() {
        for e in &entries[1..] {
            if contradiction(base, e).is_some() {
                out.extend([base.label.as_str(), e.label.as_str()]);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn recommendations(entries: &[Entry]) -> Vec<Recommendation> {
    let mut out = performance_recommendations(entries);
    // A recommendation on speed that rests on an unstable or contradicted measurement says so.
    let shaky = shaky(entries);
    if !shaky.is_empty() {
        for r in out.iter_mut().filter(|r| r.choice.is_some()) {
            r.reason
                .push(Message::new(Code::WhyUnstable).with("x", shaky.join(", ")));
        }
    }
    out.extend(quality_recommendation(entries));
    out
}

fn performance_recommendations(entries: &[Entry]) -> Vec<Recommendation> {
    let pick = |vals: Vec<Option<f64>>, lower: bool| -> Option<(usize, f64)> {
        let have: Vec<(usize, f64)> = vals
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
            .collect();
        if have.len() < 2 {
            return None;
        }
        have.into_iter().min_by(|x, y| {
            let o = x.1.total_cmp(&y.1);
            if lower { o } else { o.reverse() }
        })
    };
    let mut out = Vec::new();
    // Interactive: lowest warm TTFT p50, tested against the runner-up.
    let ttft: Vec<Option<f64>> = entries
        .iter()
        .map(|e| metric_value(e, MetricId::WarmTtftS))
        .collect();
    out.push(match pick(ttft.clone(), true) {
        None => Recommendation {
            scenario: "interactive".into(),
            choice: None,
            reason: vec![Message::new(Code::WhyMissing).word("what", Code::WhatTtft)],
        },
        Some((i, v)) => {
            let mut reason = vec![
                Message::new(Code::WhyInteractive)
                    .with("x", &entries[i].label)
                    .with("v", format!("{v:.3}")),
            ];
            let runner_up = ttft
                .iter()
                .enumerate()
                .filter(|(j, x)| *j != i && x.is_some())
                .min_by(|a, b| a.1.unwrap_or(f64::MAX).total_cmp(&b.1.unwrap_or(f64::MAX)))
                .map(|(j, _)| j);
            if let Some(j) = runner_up {
                let t = match (
                    entries[i].samples.get(MetricId::WarmTtftS.key()),
                    entries[j].samples.get(MetricId::WarmTtftS.key()),
                ) {
                    (Some(a), Some(b)) => significance::test(b, a, Stat::Median).significant,
                    _ => false,
                };
                if !t {
                    reason.push(Message::new(Code::WhyNotSignificant).with("x", &entries[i].label));
                }
            }
            Recommendation {
                scenario: "interactive".into(),
                choice: Some(entries[i].label.clone()),
                reason,
            }
        }
    });
    // Throughput: saturation when every target was swept, else warm phase output.
    let sat: Vec<Option<f64>> = entries
        .iter()
        .map(|e| e.target.saturation.as_ref().map(|s| s.output_tok_s))
        .collect();
    let (vals, what) = if sat.iter().all(Option::is_some) {
        (sat, Code::WhatSaturation)
    } else {
        (
            entries
                .iter()
                .map(|e| e.target.phases.warm.as_ref().and_then(|p| p.output_tok_s))
                .collect(),
            Code::WhatSingleStream,
        )
    };
    out.push(match pick(vals, false) {
        None => Recommendation {
            scenario: "throughput".into(),
            choice: None,
            reason: vec![Message::new(Code::WhyMissing).word("what", what)],
        },
        Some((i, v)) => Recommendation {
            scenario: "throughput".into(),
            choice: Some(entries[i].label.clone()),
            reason: vec![
                Message::new(Code::WhyThroughput)
                    .with("x", &entries[i].label)
                    .word("what", what)
                    .with("v", format!("{v:.1}")),
            ],
        },
    });
    // Memory: least GPU memory the server held (or device memory in use while warm), else
    // the least device memory % while warm.
    let mem: Vec<Option<f64>> = entries
        .iter()
        .map(|e| {
            e.target
                .memory
                .reserved_bytes
                .map(|b| b as f64)
                .or_else(|| {
                    let g = e.target.phases.warm.as_ref()?.gpu.as_ref()?;
                    g.devices.iter().map(|d| d.mem_used_bytes.mean).sum()
                })
        })
        .collect();
    let pct: Vec<Option<f64>> = entries
        .iter()
        .map(|e| metric_value(e, MetricId::WarmGpuMemPct))
        .collect();
    out.push(match (pick(mem, true), pick(pct, true)) {
        (Some((i, v)), _) => Recommendation {
            scenario: "memory".into(),
            choice: Some(entries[i].label.clone()),
            reason: vec![
                Message::new(Code::WhyMemory)
                    .with("x", &entries[i].label)
                    .with("v", format!("{:.2}", v / (1u64 << 30) as f64)),
            ],
        },
        (None, Some((i, v))) => Recommendation {
            scenario: "memory".into(),
            choice: Some(entries[i].label.clone()),
            reason: vec![
                Message::new(Code::WhyMemoryPct)
                    .with("x", &entries[i].label)
                    .with("v", format!("{v:.1}")),
            ],
        },
        (None, None) => Recommendation {
            scenario: "memory".into(),
            choice: None,
            reason: vec![Message::new(Code::WhyMissing).word("what", Code::WhatGpuMem)],
        },
    });
    out
}

/// Quality: the highest average score.
fn quality_recommendation(entries: &[Entry]) -> Option<Recommendation> {
    let q: Vec<Option<f64>> = entries
        .iter()
        .map(|e| e.target.quality.as_ref()?.average_total_score)
        .collect();
    let have: Vec<(usize, f64)> = q
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let best = (have.len() >= 2)
        .then(|| have.into_iter().max_by(|x, y| x.1.total_cmp(&y.1)))
        .flatten();
    Some(match best {
        None => Recommendation {
            scenario: "quality".into(),
            choice: None,
            reason: vec![Message::new(Code::WhyMissing).word("what", Code::WhatQuality)],
        },
        Some((i, v)) => {
            let mut reason = vec![
                Message::new(Code::WhyQuality)
                    .with("x", &entries[i].label)
                    .with("v", format!("{v:.2}")),
            ];
            // Ahead by a margin the tasks do not confirm, or cannot test.
            let tests: Vec<Option<PairedTest>> = entries
                .iter()
                .enumerate()
                .filter(|(j, e)| *j != i && e.target.quality.is_some())
                .map(|(_, e)| paired_scores(&entries[i], e, |_| true))
                .collect();
            if tests.iter().any(Option::is_none) {
                reason.push(Message::new(Code::WhyUntestable).with("x", &entries[i].label));
            } else if tests.iter().flatten().any(|t| !t.significant) {
                reason.push(Message::new(Code::WhyNotSignificant).with("x", &entries[i].label));
            }
            Recommendation {
                scenario: "quality".into(),
                choice: Some(entries[i].label.clone()),
                reason,
            }
        }
    })
}
