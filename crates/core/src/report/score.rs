//! Aggregating graded answers into scores (pure): pass@k with the unbiased estimator of Chen
//! et al. (2021), `1 − C(n−c, k) / C(n, k)`, and the scenario scores with the README's formula,
//! each with its 95 % interval ([`super::quality_stats`]); each task's outcome for paired
//! comparisons; and answer drift between two asks of the same tasks.

use super::quality::{Drift, LoadedQuality, TaskOutcome};
use super::quality_stats::{self, Interval};
use super::{QualityReport, ScenarioScore};
use crate::quality_record::{TaskResult, Verdict};
use rand::{RngExt, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};

/// Weights of accuracy, consistency, code quality and clarity in `total_score`.
pub const WEIGHTS: [f64; 4] = [0.5, 0.2, 0.15, 0.15];

/// The unbiased pass@k for one task: `n` samples, `c` correct. Computed as the product
/// `1 − Π_{i=n−c+1..n} (1 − k/i)`, which avoids huge binomials.
pub fn pass_at_k(n: u64, c: u64, k: u64) -> f64 {
    if n < k || k == 0 {
        return f64::NAN;
    }
    if n - c < k {
        return 1.0;
    }
    1.0 - ((n - c + 1)..=n)
        .map(|i| 1.0 - k as f64 / i as f64)
        .product::<f64>()
}

/// `total_score` from the components a scenario has:
/// `(0.5·A + (0.2·C + 0.15·Q + 0.15·L) · A/5) / (sum of the weights present)`. Consistency,
/// code quality and clarity count in proportion to accuracy: a consistent, clean, clear wrong
/// answer is still wrong (0), and full accuracy leaves the plain weighted mean.
pub fn total(parts: [Option<f64>; 4]) -> Option<f64> {
    let a = parts[0]?;
    let (mut rest, mut w) = (0.0, WEIGHTS[0]);
    for (p, wi) in parts[1..].iter().zip(&WEIGHTS[1..]) {
        if let Some(v) = p {
            rest += v * wi;
            w += wi;
        }
    }
    Some((WEIGHTS[0] * a + rest * a / 5.0) / w)
}

fn mean(v: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (s, n) = v
        .into_iter()
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| s / n as f64)
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        1.0
    } else {
        a.intersection(b).count() as f64 / union as f64
    }
}

/// One task's components: accuracy, agreement (0–5), code quality, clarity.
type Parts = (Option<f64>, Option<f64>, Option<f64>, Option<f64>);

/// The scenario total and accuracy from per-task components (mean over the tasks).
fn total_of(parts: &[&Parts]) -> (Option<f64>, Option<f64>) {
    let m = |f: fn(&Parts) -> Option<f64>| mean(parts.iter().filter_map(|p| f(p)));
    let accuracy = m(|p| p.0);
    (
        total([accuracy, m(|p| p.1), m(|p| p.2), m(|p| p.3)]),
        accuracy,
    )
}

/// One task's components from all its answers (samples and rerun; grader errors left out).
fn task_parts(rs: &[&TaskResult]) -> Parts {
    let ok = |r: &&&TaskResult| r.graded.verdict != Verdict::Error;
    let scored: Vec<&&TaskResult> = rs.iter().filter(|r| !r.rerun).filter(ok).collect();
    let sigs: Vec<&BTreeSet<String>> = rs.iter().filter(ok).map(|r| &r.graded.signature).collect();
    let agree = mean(
        sigs.iter()
            .enumerate()
            .flat_map(|(i, a)| sigs[i + 1..].iter().map(move |b| jaccard(a, b))),
    );
    (
        mean(scored.iter().map(|r| 5.0 * r.graded.accuracy)),
        agree.map(|a| 5.0 * a),
        mean(scored.iter().filter_map(|r| r.graded.code_quality)),
        mean(scored.iter().map(|r| r.graded.clarity)),
    )
}

/// 95 % bootstrap intervals of the total and the accuracy, tasks resampled.
fn scenario_intervals(parts: &[Parts]) -> (Option<Interval>, Option<Interval>) {
    // A task with no graded answer (its only answer an error) has nothing to resample.
    let parts: Vec<Parts> = parts.iter().filter(|p| p.0.is_some()).copied().collect();
    if parts.len() < 2 {
        return (None, None);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(quality_stats::SEED);
    let n = parts.len();
    let (mut totals, mut accs) = (Vec::new(), Vec::new());
    for _ in 0..quality_stats::RESAMPLES {
        let pick: Vec<&Parts> = (0..n).map(|_| &parts[rng.random_range(0..n)]).collect();
        let (t, a) = total_of(&pick);
        totals.extend(t);
        accs.extend(a);
    }
    let interval = |mut v: Vec<f64>| {
        (v.len() == quality_stats::RESAMPLES).then(|| {
            v.sort_by(f64::total_cmp);
            Interval {
                low: crate::stats::quantile_sorted(&v, 0.025),
                high: crate::stats::quantile_sorted(&v, 0.975),
                method: "bootstrap".into(),
            }
        })
    };
    (interval(totals), interval(accs))
}

/// Score one scenario's results (every sample and rerun of its tasks).
pub fn scenario(results: &[&TaskResult]) -> ScenarioScore {
    let mut by_task: BTreeMap<&str, Vec<&TaskResult>> = BTreeMap::new();
    for r in results {
        by_task.entry(r.task_id.as_str()).or_default().push(r);
    }
    let ok = |r: &&&TaskResult| r.graded.verdict != Verdict::Error;
    let scored: Vec<&&TaskResult> = results.iter().filter(|r| !r.rerun).filter(ok).collect();
    let agreement = by_task.values().filter_map(|rs| {
        let sigs: Vec<&BTreeSet<String>> =
            rs.iter().filter(ok).map(|r| &r.graded.signature).collect();
        let pairs: Vec<f64> = sigs
            .iter()
            .enumerate()
            .flat_map(|(i, a)| sigs[i + 1..].iter().map(move |b| jaccard(a, b)))
            .collect();
        mean(pairs)
    });
    let parts: Vec<Parts> = by_task.values().map(|rs| task_parts(rs)).collect();
    let (total_score_ci, accuracy_ci) = scenario_intervals(&parts);
    let accuracy = mean(scored.iter().map(|r| 5.0 * r.graded.accuracy));
    let consistency = mean(agreement).map(|a| 5.0 * a);
    let code_quality = mean(scored.iter().filter_map(|r| r.graded.code_quality));
    let clarity = mean(scored.iter().map(|r| r.graded.clarity));
    ScenarioScore {
        tasks: by_task.len(),
        answers: results.len(),
        passed: scored
            .iter()
            .filter(|r| r.graded.verdict == Verdict::Pass)
            .count(),
        failed: scored
            .iter()
            .filter(|r| r.graded.verdict == Verdict::Fail)
            .count(),
        errors: results
            .iter()
            .filter(|r| r.graded.verdict == Verdict::Error)
            .count(),
        total_score: total([accuracy, consistency, code_quality, clarity]),
        total_score_ci,
        accuracy,
        accuracy_ci,
        consistency,
        code_quality,
        clarity,
        judge: None,
    }
}

/// pass@1 and pass@k over the code tasks among `results` (reruns excluded).
pub fn pass_rates(results: &[TaskResult], samples: u32) -> (Option<f64>, BTreeMap<String, f64>) {
    let r = pass_rates_with_intervals(results, samples);
    (r.0, r.1)
}

/// pass@k with 95 % intervals: Wilson for pass@1 with one sample per task (a proportion of
/// tasks), else a bootstrap of the per-task estimates over tasks.
type PassRates = (
    Option<f64>,
    BTreeMap<String, f64>,
    Option<Interval>,
    BTreeMap<String, Interval>,
);

/// [`pass_rates`] with the interval of each.
pub fn pass_rates_with_intervals(results: &[TaskResult], samples: u32) -> PassRates {
    let mut per_task: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for r in results
        .iter()
        .filter(|r| r.code && !r.rerun && r.graded.verdict != Verdict::Error)
    {
        let e = per_task.entry(r.task_id.as_str()).or_default();
        e.0 += 1;
        e.1 += u64::from(r.graded.verdict == Verdict::Pass);
    }
    let mut ks: BTreeSet<u64> = [1, 5, 10, 100]
        .into_iter()
        .filter(|k| *k <= u64::from(samples))
        .collect();
    ks.insert(u64::from(samples.max(1)));
    let at = |k: u64| {
        mean(
            per_task
                .values()
                .map(|(n, c)| pass_at_k(*n, *c, k))
                .filter(|x| x.is_finite()),
        )
    };
    let ci = |k: u64| {
        if per_task.values().all(|(n, _)| *n == 1) && k == 1 {
            let passed = per_task.values().map(|(_, c)| c).sum();
            return quality_stats::wilson(passed, per_task.len() as u64);
        }
        let v: Vec<f64> = per_task
            .values()
            .map(|(n, c)| pass_at_k(*n, *c, k))
            .filter(|x| x.is_finite())
            .collect();
        quality_stats::bootstrap_mean(&v)
    };
    let map = ks
        .iter()
        .filter_map(|&k| Some((k.to_string(), at(k)?)))
        .collect();
    let cis = ks
        .iter()
        .filter_map(|&k| Some((k.to_string(), ci(k)?)))
        .collect();
    (at(1), map, ci(1), cis)
}

/// Each task's outcome from its scored answers (no reruns, no answers under load; the rerun
/// counts only in the task's total, through consistency).
pub fn outcomes(results: &[TaskResult]) -> Vec<TaskOutcome> {
    let mut all: BTreeMap<(&str, &str), Vec<&TaskResult>> = BTreeMap::new();
    for r in results {
        all.entry((r.scenario.as_str(), r.task_id.as_str()))
            .or_default()
            .push(r);
    }
    all.into_iter()
        .filter_map(|(key, every)| {
            let rs: Vec<&TaskResult> = every
                .iter()
                .filter(|r| !r.rerun && r.graded.verdict != Verdict::Error)
                .copied()
                .collect();
            (!rs.is_empty()).then(|| (key, total(<[Option<f64>; 4]>::from(task_parts(&every))), rs))
        })
        .map(|((scenario, task_id), task_total, rs)| TaskOutcome {
            scenario: scenario.into(),
            task_id: task_id.into(),
            code: rs[0].code,
            total: task_total,
            answers: rs.len(),
            passed: rs
                .iter()
                .filter(|r| r.graded.verdict == Verdict::Pass)
                .count(),
            score: mean(rs.iter().map(|r| 5.0 * r.graded.accuracy)).unwrap_or(0.0),
            answer: rs
                .iter()
                .min_by_key(|r| r.sample)
                .map(|r| r.answer.clone())
                .unwrap_or_default(),
        })
        .collect()
}

/// Character position where two texts first differ (`None` when equal).
pub fn first_difference(a: &str, b: &str) -> Option<usize> {
    if a == b {
        return None;
    }
    Some(a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count())
}

/// Drift between first answers `a` and other answers `b` of the same tasks (each side: one
/// answer per task; only tasks graded on both sides count).
pub fn drift(a: &[&TaskResult], b: &[&TaskResult]) -> Drift {
    let key = |r: &&TaskResult| (r.scenario.clone(), r.task_id.clone());
    let other: BTreeMap<_, &TaskResult> = b
        .iter()
        .filter(|r| r.graded.verdict != Verdict::Error)
        .map(|r| (key(r), *r))
        .collect();
    let pairs: Vec<(&TaskResult, &TaskResult)> = a
        .iter()
        .filter(|r| r.graded.verdict != Verdict::Error)
        .filter_map(|r| Some((*r, *other.get(&key(r))?)))
        .collect();
    let mut firsts: Vec<f64> = pairs
        .iter()
        .filter_map(|(x, y)| first_difference(&x.answer, &y.answer))
        .map(|p| p as f64)
        .collect();
    firsts.sort_by(f64::total_cmp);
    let code: Vec<(bool, bool)> = pairs
        .iter()
        .filter(|(x, _)| x.code)
        .map(|(x, y)| {
            (
                x.graded.verdict == Verdict::Pass,
                y.graded.verdict == Verdict::Pass,
            )
        })
        .collect();
    let n = code.len() as f64;
    let share = |f: fn(&(bool, bool)) -> bool| code.iter().filter(|p| f(p)).count() as f64 / n;
    Drift {
        compared: pairs.len(),
        differing: firsts.len(),
        share: (!pairs.is_empty()).then(|| firsts.len() as f64 / pairs.len() as f64),
        first_difference_median: (!firsts.is_empty())
            .then(|| crate::stats::quantile_sorted(&firsts, 0.5)),
        verdict_changes: code.iter().filter(|(x, y)| x != y).count(),
        pass_at_1_other: (!code.is_empty()).then(|| share(|p| p.1)),
        pass_at_1_bounds: (!code.is_empty())
            .then(|| [share(|p| p.0 && p.1), share(|p| p.0 || p.1)]),
    }
}

/// Quality under `profile`: the answers produced under load against the sequential ones.
fn under_load(results: &[TaskResult], profile: &str) -> LoadedQuality {
    let first = |r: &&TaskResult| !r.rerun && r.sample == 0;
    let seq: Vec<&TaskResult> = results
        .iter()
        .filter(|r| r.under_load.is_none())
        .filter(first)
        .collect();
    let loaded: Vec<&TaskResult> = results
        .iter()
        .filter(|r| r.under_load.as_deref() == Some(profile))
        .filter(first)
        .collect();
    let graded = |r: &&&TaskResult| r.code && r.graded.verdict != Verdict::Error;
    let pass = |r: &TaskResult| r.graded.verdict == Verdict::Pass;
    let passed = loaded.iter().filter(graded).filter(|r| pass(r)).count() as u64;
    let n = loaded.iter().filter(graded).count() as u64;
    let by_task: BTreeMap<_, &TaskResult> = loaded
        .iter()
        .filter(graded)
        .map(|r| ((&r.scenario, &r.task_id), *r))
        .collect();
    let pairs: Vec<(bool, bool)> = seq
        .iter()
        .filter(graded)
        .filter_map(|r| Some((pass(r), pass(by_task.get(&(&r.scenario, &r.task_id))?))))
        .collect();
    LoadedQuality {
        profile: profile.into(),
        answers: loaded.len(),
        pass_at_1: (n > 0).then(|| passed as f64 / n as f64),
        pass_at_1_ci: quality_stats::wilson(passed, n),
        paired: (!pairs.is_empty()).then(|| quality_stats::mcnemar(&pairs)),
        drift: drift(&seq, &loaded),
    }
}

/// Put results in report order: scenario, task, scored answers before reruns, sample.
pub fn sort(results: &mut [TaskResult]) {
    results.sort_by(|a, b| {
        (&a.scenario, &a.task_id, a.rerun, a.sample).cmp(&(
            &b.scenario,
            &b.task_id,
            b.rerun,
            b.sample,
        ))
    });
}

/// The whole quality report from every result, on top of `settings` (its dataset, task
/// count, samples, temperature, max_tokens, prompt style and sandbox; every score is
/// recomputed). Answers produced under load (`under_load`) count only in `under_load`.
pub fn report(settings: &QualityReport, all: &[TaskResult]) -> QualityReport {
    let sequential: Vec<TaskResult> = all
        .iter()
        .filter(|r| r.under_load.is_none())
        .cloned()
        .collect();
    let results = &sequential[..];
    let samples = settings.samples;
    let mut names: Vec<&str> = results.iter().map(|r| r.scenario.as_str()).collect();
    names.dedup();
    let names: BTreeSet<&str> = names.into_iter().collect();
    let scenarios: BTreeMap<String, ScenarioScore> = names
        .iter()
        .map(|s| {
            let rs: Vec<&TaskResult> = results.iter().filter(|r| r.scenario == *s).collect();
            (s.to_string(), scenario(&rs))
        })
        .collect();
    let (pass_at_1, pass_at_k, pass_at_1_ci, pass_at_k_ci) =
        pass_rates_with_intervals(results, samples);
    let firsts: Vec<&TaskResult> = results.iter().filter(|r| !r.rerun).collect();
    let reruns: Vec<&TaskResult> = results.iter().filter(|r| r.rerun).collect();
    let profile = all.iter().find_map(|r| r.under_load.clone());
    QualityReport {
        pass_at_1,
        pass_at_1_ci,
        pass_at_k,
        pass_at_k_ci,
        average_total_score: mean(scenarios.values().filter_map(|s| s.total_score)),
        errors: results
            .iter()
            .filter(|r| r.graded.verdict == Verdict::Error)
            .count() as u64,
        code_tasks: results
            .iter()
            .filter(|r| r.code)
            .map(|r| r.task_id.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        code_tasks_scored: results
            .iter()
            .filter(|r| r.code && !r.rerun && r.graded.verdict != Verdict::Error)
            .map(|r| r.task_id.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        scenarios,
        per_task: outcomes(results),
        answers_graded: all.len(),
        drift: (!reruns.is_empty()).then(|| drift(&firsts, &reruns)),
        under_load: profile.map(|p| under_load(all, &p)),
        ..settings.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// C(n, k) computed directly, to check the product form.
    fn binom(n: u64, k: u64) -> f64 {
        if k > n {
            return 0.0;
        }
        (0..k).map(|i| (n - i) as f64 / (i + 1) as f64).product()
    }

    #[test]
    fn pass_at_k_matches_the_binomial_definition() {
        for (n, c, k) in [
            (5, 2, 1),
            (5, 2, 3),
            (10, 3, 5),
            (20, 0, 5),
            (20, 20, 5),
            (7, 1, 7),
        ] {
            let direct = 1.0 - binom(n - c, k) / binom(n, k);
            assert!((pass_at_k(n, c, k) - direct).abs() < 1e-12, "{n} {c} {k}");
        }
        assert!((pass_at_k(5, 2, 1) - 0.4).abs() < 1e-12);
        assert!(pass_at_k(2, 1, 5).is_nan());
    }

    #[test]
    fn total_renormalises_missing_components() {
        assert_eq!(
            total([Some(5.0), Some(5.0), Some(5.0), Some(5.0)]),
            Some(5.0)
        );
        let t = total([Some(4.0), Some(5.0), None, Some(2.0)]).unwrap();
        assert!((t - (0.5 * 4.0 + (0.2 * 5.0 + 0.15 * 2.0) * 0.8) / 0.85).abs() < 1e-12);
        assert_eq!(total([None, Some(5.0), None, None]), None);
        // Wrong but fluent is still wrong.
        assert_eq!(
            total([Some(0.0), Some(5.0), Some(5.0), Some(5.0)]),
            Some(0.0)
        );
    }

    /// A graded code answer to task `t` (`HumanEval/t`).
    fn answer(t: usize, text: &str, pass: bool, rerun: bool, load: Option<&str>) -> TaskResult {
        let mut g = crate::quality_record::Graded::text(
            if pass { Verdict::Pass } else { Verdict::Fail },
            None,
            if pass { 1.0 } else { 0.0 },
            4.0,
        );
        g.signature
            .insert(if pass { "pass" } else { "fail" }.into());
        g.code_quality = Some(5.0);
        TaskResult {
            target: "t".into(),
            scenario: "humaneval".into(),
            task_id: format!("HumanEval/{t}"),
            sample: 0,
            rerun,
            code: true,
            answer: text.into(),
            request: "ok".into(),
            e2e_s: Some(1.0),
            graded: g,
            judge: None,
            under_load: load.map(String::from),
        }
    }

    fn settings() -> QualityReport {
        QualityReport {
            dataset: "humaneval".into(),
            tasks: 20,
            samples: 1,
            prompt_style: "servebench".into(),
            ..Default::default()
        }
    }

    #[test]
    fn every_score_carries_its_interval_and_each_task_its_outcome() {
        // 20 tasks, 12 pass; the rerun repeats every answer.
        let mut rs: Vec<TaskResult> = (0..20)
            .map(|t| answer(t, &format!("a{t}"), t < 12, false, None))
            .collect();
        rs.extend((0..20).map(|t| answer(t, &format!("a{t}"), t < 12, true, None)));
        let q = report(&settings(), &rs);
        assert_eq!(q.pass_at_1, Some(0.6));
        assert_eq!(q.pass_at_1_ci, quality_stats::wilson(12, 20));
        assert_eq!(q.pass_at_k_ci.get("1"), q.pass_at_1_ci.as_ref());
        let sc = &q.scenarios["humaneval"];
        let (t, ci) = (sc.total_score.unwrap(), sc.total_score_ci.as_ref().unwrap());
        assert!(
            ci.low < t && t < ci.high && ci.method == "bootstrap",
            "{t} {ci:?}"
        );
        let a = sc.accuracy_ci.as_ref().unwrap();
        assert!(a.low < 3.0 && 3.0 < a.high, "{a:?}");
        assert_eq!(q.per_task.len(), 20);
        assert_eq!(q.per_task.iter().map(|t| t.passed).sum::<usize>(), 12);
        // Identical re-asks: no drift.
        let d = q.drift.unwrap();
        assert_eq!((d.compared, d.differing, d.verdict_changes), (20, 0, 0));
        assert_eq!(d.pass_at_1_bounds, Some([0.6, 0.6]));
    }

    #[test]
    fn drift_counts_changed_answers_and_verdicts_and_bounds_pass_at_1() {
        let mut rs: Vec<TaskResult> = (0..20)
            .map(|t| answer(t, "def f(): return 1", t < 12, false, None))
            .collect();
        // Re-asks: tasks 0–3 answer differently from character 16; 0 and 1 now fail, 15 now
        // passes (with the same text: a verdict change is what the grader saw).
        rs.extend((0..20).map(|t| {
            let text = if t < 4 {
                "def f(): return 2"
            } else {
                "def f(): return 1"
            };
            answer(t, text, (t < 12 && t > 1) || t == 15, true, None)
        }));
        let d = report(&settings(), &rs).drift.unwrap();
        assert_eq!((d.compared, d.differing), (20, 4));
        assert_eq!(d.share, Some(0.2));
        assert_eq!(d.first_difference_median, Some(16.0));
        assert_eq!(d.verdict_changes, 3);
        assert_eq!(d.pass_at_1_other, Some(11.0 / 20.0));
        // Worst case: only tasks passing both times (10); best: passing either time (13).
        assert_eq!(d.pass_at_1_bounds, Some([0.5, 0.65]));
    }

    #[test]
    fn answers_under_load_are_scored_apart_and_paired_with_the_sequential_ones() {
        let mut rs: Vec<TaskResult> = (0..20)
            .map(|t| answer(t, "x", t < 12, false, None))
            .collect();
        // Under concurrency:4: tasks 0–5 answer differently and fail.
        rs.extend((0..20).map(|t| {
            answer(
                t,
                if t < 6 { "y" } else { "x" },
                (6..12).contains(&t),
                false,
                Some("concurrency:4"),
            )
        }));
        let q = report(&settings(), &rs);
        assert_eq!(
            q.pass_at_1,
            Some(0.6),
            "answers under load leaked into pass@1"
        );
        assert_eq!(q.scenarios["humaneval"].answers, 20);
        let l = q.under_load.unwrap();
        assert_eq!((l.profile.as_str(), l.answers), ("concurrency:4", 20));
        assert_eq!(l.pass_at_1, Some(0.3));
        let p = l.paired.unwrap();
        let t = p.table.unwrap();
        assert_eq!((t.both, t.only_a, t.only_b, t.neither), (6, 6, 0, 8));
        assert!(
            (p.p_value - 2.0 / 64.0).abs() < 1e-12 && p.significant,
            "{p:?}"
        );
        assert_eq!((l.drift.differing, l.drift.verdict_changes), (6, 6));
    }

    #[test]
    fn pass_at_k_with_several_samples_keeps_the_unbiased_estimator_and_its_bootstrap_interval() {
        // 20 tasks, 3 samples each: task t passes t % 4 of them (0, 1, 2, 3 of 3).
        let rs: Vec<TaskResult> = (0..20)
            .flat_map(|t| {
                (0..3u32).map(move |i| {
                    let mut r = answer(t, "x", (i as usize) < t % 4, false, None);
                    r.sample = i;
                    r
                })
            })
            .collect();
        let q = report(
            &QualityReport {
                samples: 3,
                ..settings()
            },
            &rs,
        );
        // pass@1 = mean c/n = (0 + 1/3 + 2/3 + 1) / 4; pass@3 = share with any pass = 3/4.
        assert!((q.pass_at_1.unwrap() - 0.5).abs() < 1e-12);
        assert!((q.pass_at_k["3"] - 0.75).abs() < 1e-12);
        for k in ["1", "3"] {
            let ci = &q.pass_at_k_ci[k];
            assert_eq!(
                ci.method, "bootstrap",
                "several samples: not a plain proportion"
            );
            assert!(
                ci.low < q.pass_at_k[k] && q.pass_at_k[k] < ci.high,
                "pass@{k}: {ci:?}"
            );
        }
        assert_eq!(q.pass_at_1_ci.as_ref(), q.pass_at_k_ci.get("1"));
        assert!(q.drift.is_none(), "no reruns with several samples");
    }
}
