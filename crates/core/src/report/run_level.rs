//! Run-level statistics: a metric's values over whole runs (the repeats of one plan) — their
//! mean, 95 % Student-t interval and coefficient of variation — and Welch's t-test of two sets
//! of runs, the test `compare` and `gate` use when both sides were repeated.
//!
//! Why run-level: requests of one run share the server's state (its caches, its clocks, the
//! machine's other load), so a per-request test treats them as more independent than they
//! are and calls run-to-run noise significant; whole runs are the independent units.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// One metric's per-run values and what they say together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunLevel {
    /// Each run's value, in run order (runs without one left out: see `missing`).
    pub values: Vec<f64>,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation; `null` for one run.
    pub sd: Option<f64>,
    /// 95 % Student-t interval of the mean (n − 1 degrees of freedom); `null` for one run.
    pub ci95: Option<[f64; 2]>,
    /// Coefficient of variation, sd / |mean|; `null` for one run or a mean of 0.
    pub cv: Option<f64>,
}

impl RunLevel {
    /// The run level of `values`; `None` when there is none.
    pub fn of(values: &[f64]) -> Option<RunLevel> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = (n >= 2).then(|| {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        });
        let ci95 = sd.map(|sd| {
            let t = t_quantile(0.975, (n - 1) as f64);
            let half = t * sd / (n as f64).sqrt();
            [mean - half, mean + half]
        });
        Some(RunLevel {
            values: values.to_vec(),
            mean,
            sd,
            ci95,
            cv: sd.filter(|_| mean != 0.0).map(|sd| sd / mean.abs()),
        })
    }
}

/// The `p` quantile of Student's t with `df` degrees of freedom.
fn t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(p))
}

/// Welch's t-test of two sets of run-level values: the difference of their means
/// (`mean(b) − mean(a)`), its 95 % interval and the two-sided p-value, with
/// Welch–Satterthwaite degrees of freedom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// Runs of the first side.
    pub n_a: usize,
    /// Runs of the second side.
    pub n_b: usize,
    /// `mean(b) − mean(a)`.
    pub difference: f64,
    /// Its 95 % interval.
    pub ci95: [f64; 2],
    /// Two-sided p-value.
    pub p_value: f64,
}

impl Welch {
    /// Significant at 5 %: p < 0.05 (the interval then excludes 0 too).
    pub fn significant(&self) -> bool {
        self.p_value < super::significance::ALPHA
    }
}

/// Welch's test of `a` against `b`; `None` unless each side has two runs or more, and when
/// neither side varies but their means differ (runs of a whole-number metric — 10, 10, 10
/// developers against 9, 9, 9 — say nothing of the spread a test needs; the caller falls back
/// to the metric's own test).
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    let (la, lb) = (RunLevel::of(a)?, RunLevel::of(b)?);
    let (sa, sb) = (la.sd?, lb.sd?);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (va, vb) = (sa * sa / na, sb * sb / nb);
    let difference = lb.mean - la.mean;
    let se = (va + vb).sqrt();
    let (p_value, half) = if se == 0.0 {
        if difference != 0.0 {
            return None;
        }
        (1.0, 0.0)
    } else {
        let df = (va + vb).powi(2) / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
        let t = StudentsT::new(0.0, 1.0, df).ok()?;
        (
            2.0 * (1.0 - t.cdf((difference / se).abs())),
            t.inverse_cdf(0.975) * se,
        )
    };
    Some(Welch {
        n_a: a.len(),
        n_b: b.len(),
        difference,
        ci95: [difference - half, difference + half],
        p_value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_and_cv_are_the_textbook_ones() {
        // Values 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.302653; half width 4.302653 / √3.
        let l = RunLevel::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(l.mean, 2.0);
        assert!((l.sd.unwrap() - 1.0).abs() < 1e-12);
        let half = 4.302_652_73 / 3f64.sqrt();
        let [lo, hi] = l.ci95.unwrap();
        assert!(
            (lo - (2.0 - half)).abs() < 1e-6 && (hi - (2.0 + half)).abs() < 1e-6,
            "{lo} {hi}"
        );
        assert!((l.cv.unwrap() - 0.5).abs() < 1e-12);
        // One run: a mean and nothing else.
        let one = RunLevel::of(&[5.0]).unwrap();
        assert_eq!((one.sd, one.ci95, one.cv), (None, None, None));
        assert!(RunLevel::of(&[]).is_none());
    }

    #[test]
    fn welch_matches_a_worked_example_and_needs_two_runs_a_side() {
        // a = 1, 2, 3 (var 1), b = 4, 6, 8 (var 4): se = √(1/3 + 4/3) = 1.290994,
        // t = 4 / se = 3.098387, df = (5/3)² / ((1/3)²/2 + (4/3)²/2) = 2.941176;
        // p = 2 (1 − F(t)) = 0.054787 (Simpson's rule over the t density, 200,000 steps).
        let w = welch(&[1.0, 2.0, 3.0], &[4.0, 6.0, 8.0]).unwrap();
        assert_eq!(w.difference, 4.0);
        assert!((w.p_value - 0.054_787).abs() < 5e-5, "{}", w.p_value);
        assert!(!w.significant());
        assert!(w.ci95[0] < 0.0 && w.ci95[1] > 4.0);
        // Far apart and tight: significant, interval around the difference.
        let w = welch(&[1.0, 1.1, 0.9, 1.0], &[1.3, 1.4, 1.2, 1.3]).unwrap();
        assert!(w.significant() && w.ci95[0] > 0.0, "{w:?}");
        assert!(welch(&[1.0], &[2.0, 3.0]).is_none());
        // No spread: equal means are not different; unequal ones cannot be tested here.
        assert_eq!(welch(&[2.0, 2.0], &[2.0, 2.0]).unwrap().p_value, 1.0);
        assert!(welch(&[10.0, 10.0, 10.0], &[9.0, 9.0, 9.0]).is_none());
    }
}
