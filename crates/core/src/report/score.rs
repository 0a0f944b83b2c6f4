//! Aggregating graded answers into scores (pure): pass@k with the unbiased estimator of Chen
//! et al. (2021), `1 − C(n−c, k) / C(n, k)`, and the scenario scores with the README's formula.

use super::{QualityReport, ScenarioScore};
use crate::quality_record::{TaskResult, Verdict};
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
        accuracy,
        consistency,
        code_quality,
        clarity,
        judge: None,
    }
}

/// pass@1 and pass@k over the code tasks among `results` (reruns excluded).
pub fn pass_rates(results: &[TaskResult], samples: u32) -> (Option<f64>, BTreeMap<String, f64>) {
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
    let map = ks
        .into_iter()
        .filter_map(|k| Some((k.to_string(), at(k)?)))
        .collect();
    (at(1), map)
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

/// The whole quality report from every result.
pub fn report(
    dataset: String,
    tasks: usize,
    samples: u32,
    temperature: f64,
    max_tokens: u32,
    results: &[TaskResult],
    sandbox: Option<String>,
) -> QualityReport {
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
    let (pass_at_1, pass_at_k) = pass_rates(results, samples);
    QualityReport {
        dataset,
        tasks,
        samples,
        temperature,
        max_tokens,
        pass_at_1,
        pass_at_k,
        average_total_score: mean(scenarios.values().filter_map(|s| s.total_score)),
        errors: results
            .iter()
            .filter(|r| r.graded.verdict == Verdict::Error)
            .count() as u64,
        scenarios,
        sandbox,
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
}
