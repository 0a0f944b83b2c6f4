//! Can two runs be told apart? Per-request samples of a metric from each run go through a
//! Mann–Whitney U test (two-sided, normal approximation with tie correction) and a percentile
//! bootstrap of the difference in the statistic the row shows (mean or median; 2,000
//! resamples, fixed seed). A difference is significant when p < 0.05 **and** the 95 % interval
//! excludes 0. Fewer than [`MIN_SAMPLES`] samples on a side: not tested, and said so. The
//! comparison also requires the difference to exceed the 2 % tie band before calling it
//! significant (see `compare::row`).

use crate::stats::quantile_sorted;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

/// Fewest samples per side for a test.
pub const MIN_SAMPLES: usize = 5;
/// Bootstrap resamples.
pub const RESAMPLES: usize = 2000;
/// Significance level.
pub const ALPHA: f64 = 0.05;

/// Which statistic a row compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Arithmetic mean.
    Mean,
    /// Median.
    Median,
    /// A percentile, 1–99 (`Quantile(95)`: the 95th).
    Quantile(u8),
}

impl Stat {
    /// The statistic of `v` (any order).
    pub fn of(self, v: &[f64]) -> f64 {
        match self {
            Stat::Mean => v.iter().sum::<f64>() / v.len() as f64,
            Stat::Median | Stat::Quantile(_) => {
                let q = match self {
                    Stat::Quantile(p) => f64::from(p) / 100.0,
                    _ => 0.5,
                };
                let mut s = v.to_vec();
                s.sort_by(f64::total_cmp);
                quantile_sorted(&s, q)
            }
        }
    }
}

/// The outcome of comparing two sets of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Test {
    /// Samples on each side.
    pub n_a: usize,
    /// Samples on each side.
    pub n_b: usize,
    /// Mann–Whitney U two-sided p-value; `null` when not tested.
    pub p_value: Option<f64>,
    /// 95 % bootstrap interval of `stat(b) − stat(a)`; `null` when not tested.
    pub ci95: Option<[f64; 2]>,
    /// p < 0.05 and the interval excludes 0.
    pub significant: bool,
}

/// Mann–Whitney U two-sided p-value (normal approximation, tie-corrected, continuity-corrected).
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let mut all: Vec<(f64, usize)> = a
        .iter()
        .map(|x| (*x, 0))
        .chain(b.iter().map(|x| (*x, 1)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let mut ranks = vec![0.0; n];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        ranks[i..=j].iter_mut().for_each(|x| *x = r);
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let r1: f64 = all
        .iter()
        .zip(&ranks)
        .filter(|((_, g), _)| *g == 0)
        .map(|(_, r)| r)
        .sum();
    let u1 = r1 - n1 * (n1 + 1.0) / 2.0;
    let mu = n1 * n2 / 2.0;
    let nn = n1 + n2;
    let var = n1 * n2 / 12.0 * ((nn + 1.0) - tie_term / (nn * (nn - 1.0)));
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((u1 - mu).abs() - 0.5).max(0.0) / var.sqrt();
    let normal = Normal::standard();
    (2.0 * (1.0 - normal.cdf(z))).clamp(0.0, 1.0)
}

/// Percentile bootstrap 95 % interval of `stat(b) − stat(a)`.
pub fn bootstrap_ci(a: &[f64], b: &[f64], stat: Stat, seed: u64) -> [f64; 2] {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let resample = |v: &[f64], rng: &mut rand::rngs::StdRng| -> Vec<f64> {
        (0..v.len())
            .map(|_| v[rng.random_range(0..v.len())])
            .collect()
    };
    let mut diffs: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let (ra, rb) = (resample(a, &mut rng), resample(b, &mut rng));
            stat.of(&rb) - stat.of(&ra)
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    [
        quantile_sorted(&diffs, 0.025),
        quantile_sorted(&diffs, 0.975),
    ]
}

/// Compare two sample sets on `stat`.
pub fn test(a: &[f64], b: &[f64], stat: Stat) -> Test {
    let a: Vec<f64> = a.iter().copied().filter(|x| x.is_finite()).collect();
    let b: Vec<f64> = b.iter().copied().filter(|x| x.is_finite()).collect();
    if a.len() < MIN_SAMPLES || b.len() < MIN_SAMPLES {
        return Test {
            n_a: a.len(),
            n_b: b.len(),
            p_value: None,
            ci95: None,
            significant: false,
        };
    }
    let p = mann_whitney_p(&a, &b);
    let ci = bootstrap_ci(&a, &b, stat, 0x5e_4e_be_4c);
    Test {
        n_a: a.len(),
        n_b: b.len(),
        p_value: Some(p),
        ci95: Some(ci),
        significant: p < ALPHA && (ci[0] > 0.0 || ci[1] < 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mann_whitney_matches_scipy() {
        // U = 0, μ = 12.5, σ² = 25/12·11; z = (12.5 − 0.5)/σ; p = erfc(z/√2) = 0.0121858,
        // computed independently (Python's math.erfc), as scipy's asymptotic method does.
        let p = mann_whitney_p(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]);
        assert!((p - 0.012_185_780_355).abs() < 1e-9, "{p}");
        // With ties: [1,2,2,3,3] vs [2,3,4,4,5]: U = 4, tie term Σ(t³−t) = 24+24+6 = 54.
        let p = mann_whitney_p(&[1.0, 2.0, 2.0, 3.0, 3.0], &[2.0, 3.0, 4.0, 4.0, 5.0]);
        assert!((p - 0.085_673_439_55).abs() < 1e-9, "{p}");
        // Identical samples: nothing to tell apart.
        let same = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!(mann_whitney_p(&same, &same) > 0.9);
    }

    #[test]
    fn clear_differences_are_significant_and_noise_is_not() {
        let a: Vec<f64> = (0..20).map(|i| 0.100 + 0.001 * f64::from(i % 5)).collect();
        let b: Vec<f64> = (0..20).map(|i| 0.200 + 0.001 * f64::from(i % 5)).collect();
        let t = test(&a, &b, Stat::Mean);
        assert!(t.significant, "{t:?}");
        let ci = t.ci95.unwrap();
        assert!(ci[0] > 0.09 && ci[1] < 0.11, "{ci:?}");
        let b2: Vec<f64> = (0..20)
            .map(|i| 0.100 + 0.001 * f64::from((i + 2) % 5))
            .collect();
        assert!(!test(&a, &b2, Stat::Median).significant);
        let few = test(&a[..3], &b[..3], Stat::Mean);
        assert!(!few.significant && few.p_value.is_none());
    }
}
