//! Uncertainty of quality numbers (pure): Wilson intervals for pass rates, percentile
//! bootstraps over tasks for means of per-task values (0–5 scores, pass@k with several
//! samples), and the paired tests `compare` uses when two targets answered the same tasks —
//! an exact McNemar test on per-task pass/fail and a paired bootstrap with a sign test on
//! per-task scores.

use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, DiscreteCDF};

/// z for a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;
/// Bootstrap resamples (as the performance rows use).
pub const RESAMPLES: usize = 2000;
/// The bootstrap's fixed seed, so a report rebuilt from its journal has the same intervals.
pub const SEED: u64 = 0x5eb0_7a11;

/// A 95 % interval and how it was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// `wilson` (a proportion of tasks) or `bootstrap` (2,000 resamples of the tasks).
    pub method: String,
}

/// The Wilson score interval of `passed` successes in `n` trials; `None` when `n` is 0.
pub fn wilson(passed: u64, n: u64) -> Option<Interval> {
    if n == 0 {
        return None;
    }
    let (n, p) = (n as f64, passed as f64 / n as f64);
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(Interval {
        low: if passed == 0 {
            0.0
        } else {
            (centre - half).max(0.0)
        },
        high: if p == 1.0 {
            1.0
        } else {
            (centre + half).min(1.0)
        },
        method: "wilson".into(),
    })
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn percentile_interval(mut stats: Vec<f64>) -> [f64; 2] {
    stats.sort_by(f64::total_cmp);
    let at = |q: f64| crate::stats::quantile_sorted(&stats, q);
    [at(0.025), at(0.975)]
}

/// A percentile bootstrap interval of the mean of per-task `values` (tasks resampled with
/// replacement); `None` with fewer than two tasks.
pub fn bootstrap_mean(values: &[f64]) -> Option<Interval> {
    if values.len() < 2 {
        return None;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    let n = values.len();
    let stats = (0..RESAMPLES)
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    let [low, high] = percentile_interval(stats);
    Some(Interval {
        low,
        high,
        method: "bootstrap".into(),
    })
}

/// A paired comparison of two targets over the tasks both answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PairedTest {
    /// Tasks both targets answered (graded, not errors).
    pub tasks: usize,
    /// `mcnemar-exact` (pass/fail per task) or `paired-bootstrap+sign` (0–5 per task).
    pub method: String,
    /// Two-sided p-value (McNemar's exact binomial test; the sign test for scores).
    pub p_value: f64,
    /// 95 % interval of the mean per-task difference `b − a` (a share of tasks for
    /// pass/fail); `null` with fewer than two tasks.
    pub ci95: Option<[f64; 2]>,
    /// p < 0.05 and, where there is an interval, it excludes 0.
    pub significant: bool,
    /// Pass/fail tasks only: both passed, only the first, only the second, neither.
    pub table: Option<PairTable>,
}

/// The paired pass/fail table.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct PairTable {
    /// Both targets passed.
    pub both: usize,
    /// Only the first target passed.
    pub only_a: usize,
    /// Only the second target passed.
    pub only_b: usize,
    /// Neither passed.
    pub neither: usize,
}

/// Two-sided exact binomial test of `k` successes in `n` trials at p = ½ (the McNemar exact
/// test on the discordant pairs, and the sign test); 1 when `n` is 0.
pub fn binomial_two_sided(k: u64, n: u64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let b = Binomial::new(0.5, n).expect("p = 0.5 is a probability");
    let low = k.min(n - k);
    (2.0 * b.cdf(low)).min(1.0)
}

fn paired_interval(diffs: &[f64]) -> Option<[f64; 2]> {
    bootstrap_mean(diffs).map(|i| [i.low, i.high])
}

/// McNemar's exact test on per-task pass/fail pairs `(a passed, b passed)`.
pub fn mcnemar(pairs: &[(bool, bool)]) -> PairedTest {
    let mut t = PairTable::default();
    for &(a, b) in pairs {
        match (a, b) {
            (true, true) => t.both += 1,
            (true, false) => t.only_a += 1,
            (false, true) => t.only_b += 1,
            (false, false) => t.neither += 1,
        }
    }
    let p_value = binomial_two_sided(t.only_b as u64, (t.only_a + t.only_b) as u64);
    let diffs: Vec<f64> = pairs
        .iter()
        .map(|&(a, b)| f64::from(u8::from(b)) - f64::from(u8::from(a)))
        .collect();
    let ci95 = paired_interval(&diffs);
    PairedTest {
        tasks: pairs.len(),
        method: "mcnemar-exact".into(),
        p_value,
        significant: p_value < super::significance::ALPHA
            && ci95.is_none_or(|[l, h]| l > 0.0 || h < 0.0),
        ci95,
        table: Some(t),
    }
}

/// A paired bootstrap of the mean per-task difference `b − a` with a sign test, over per-task
/// score pairs `(a, b)`.
pub fn paired_scores(pairs: &[(f64, f64)]) -> PairedTest {
    let diffs: Vec<f64> = pairs.iter().map(|(a, b)| b - a).collect();
    let up = diffs.iter().filter(|d| **d > 0.0).count() as u64;
    let down = diffs.iter().filter(|d| **d < 0.0).count() as u64;
    let p_value = binomial_two_sided(up, up + down);
    let ci95 = paired_interval(&diffs);
    PairedTest {
        tasks: pairs.len(),
        method: "paired-bootstrap+sign".into(),
        p_value,
        significant: p_value < super::significance::ALPHA
            && ci95.is_none_or(|[l, h]| l > 0.0 || h < 0.0),
        ci95,
        table: None,
    }
}

/// The mean of `values`, or `None` when empty.
pub fn mean_of(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| mean(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook_values() {
        // 95/164 (the seed's HumanEval baseline): [0.503, 0.652].
        let i = wilson(95, 164).unwrap();
        assert!(
            (i.low - 0.503).abs() < 5e-4 && (i.high - 0.652).abs() < 5e-4,
            "{i:?}"
        );
        // 0 of 10: [0, 0.278]; 10 of 10: [0.722, 1].
        let i = wilson(0, 10).unwrap();
        assert!(i.low == 0.0 && (i.high - 0.2775).abs() < 5e-4, "{i:?}");
        let i = wilson(10, 10).unwrap();
        assert!((i.low - 0.7225).abs() < 5e-4 && i.high == 1.0, "{i:?}");
        assert!(wilson(0, 0).is_none());
    }

    #[test]
    fn the_exact_binomial_test_matches_hand_computed_tails() {
        // 0 of 6 discordant pairs: 2 · (1/2)^6 = 0.03125.
        assert!((binomial_two_sided(0, 6) - 0.03125).abs() < 1e-12);
        assert!((binomial_two_sided(6, 6) - 0.03125).abs() < 1e-12);
        // 1 of 5: 2 · (1 + 5) / 32 = 0.375.
        assert!((binomial_two_sided(1, 5) - 0.375).abs() < 1e-12);
        assert_eq!(binomial_two_sided(3, 6), 1.0);
        assert_eq!(binomial_two_sided(0, 0), 1.0);
    }

    #[test]
    fn mcnemar_counts_the_table_and_tests_only_the_discordant_tasks() {
        // 40 tasks both pass, 50 neither, 10 only b: significant (p = 2 · 2^-10).
        let mut pairs = vec![(true, true); 40];
        pairs.extend(vec![(false, false); 50]);
        pairs.extend(vec![(false, true); 10]);
        let t = mcnemar(&pairs);
        assert_eq!(
            t.table,
            Some(PairTable {
                both: 40,
                only_a: 0,
                only_b: 10,
                neither: 50
            })
        );
        assert!((t.p_value - 2.0 / 1024.0).abs() < 1e-12);
        assert!(t.significant, "{t:?}");
        let [l, h] = t.ci95.unwrap();
        assert!(l > 0.0 && h <= 0.2 && l < 0.1, "{t:?}");
        // 5 only a, 5 only b: nothing to see, however many tasks agree.
        let mut even = vec![(true, false); 5];
        even.extend(vec![(false, true); 5]);
        even.extend(vec![(true, true); 90]);
        let t = mcnemar(&even);
        assert_eq!(t.p_value, 1.0);
        assert!(!t.significant);
    }

    #[test]
    fn the_paired_score_test_sees_a_consistent_shift_and_not_noise() {
        let shifted: Vec<(f64, f64)> = (0..20)
            .map(|i| (i as f64 / 5.0, i as f64 / 5.0 + 0.5))
            .collect();
        let t = paired_scores(&shifted);
        assert!(t.significant && t.p_value < 1e-5, "{t:?}");
        let [l, h] = t.ci95.unwrap();
        assert!((l - 0.5).abs() < 1e-9 && (h - 0.5).abs() < 1e-9, "{t:?}");
        let noise: Vec<(f64, f64)> = (0..20)
            .map(|i| (2.0, if i % 2 == 0 { 2.5 } else { 1.5 }))
            .collect();
        let t = paired_scores(&noise);
        assert!(!t.significant && t.p_value > 0.5, "{t:?}");
    }

    #[test]
    fn the_bootstrap_interval_brackets_the_mean_and_is_reproducible() {
        let v: Vec<f64> = (0..50).map(|i| f64::from(i % 6)).collect();
        let a = bootstrap_mean(&v).unwrap();
        let m = mean(&v);
        assert!(a.low < m && m < a.high && a.method == "bootstrap", "{a:?}");
        assert_eq!(bootstrap_mean(&v), Some(a));
        assert!(bootstrap_mean(&[1.0]).is_none());
    }
}
