//! Descriptive statistics over samples: one sort, every quantile from it.
//!
//! Quantiles use linear interpolation between closest ranks (numpy's default, "type 7"):
//! for sorted `x[0..n]` and quantile `q`, `h = (n − 1)·q`, result
//! `x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋])`. `stddev` is the sample standard deviation
//! (divisor `n − 1`; 0 for a single sample).

use serde::{Deserialize, Serialize};

/// Summary of one distribution. With no samples, `n = 0` and every other field is `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// Sample standard deviation (n − 1).
    pub stddev: Option<f64>,
    /// Smallest sample.
    pub min: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Largest sample.
    pub max: Option<f64>,
}

impl Summary {
    /// Summarise `samples`; non-finite values are ignored (they can only come from a bug or a
    /// zero-length interval, and would poison every statistic).
    pub fn of(samples: impl IntoIterator<Item = f64>) -> Summary {
        let mut v: Vec<f64> = samples.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Summary::default();
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Summary {
            n,
            mean: Some(mean),
            stddev: Some(var.sqrt()),
            min: Some(v[0]),
            p50: Some(quantile_sorted(&v, 0.50)),
            p90: Some(quantile_sorted(&v, 0.90)),
            p95: Some(quantile_sorted(&v, 0.95)),
            p99: Some(quantile_sorted(&v, 0.99)),
            max: Some(v[n - 1]),
        }
    }
}

/// Quantile `q` in `[0, 1]` of an already sorted, non-empty slice (linear interpolation).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) {
        let a = a.unwrap();
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn matches_numpy_linear_quantiles() {
        // Reference values computed independently in Python (type-7 formula, statistics.stdev).
        let x = [7.0, 1.0, 3.0, 10.0, 4.0, 2.0, 8.0, 5.0, 9.0, 6.0];
        let s = Summary::of(x);
        assert_eq!(s.n, 10);
        close(s.mean, 5.5);
        close(s.p50, 5.5);
        close(s.p90, 9.1);
        close(s.p95, 9.55);
        close(s.p99, 9.91);
        close(s.stddev, 3.0276503540974917);
        close(s.min, 1.0);
        close(s.max, 10.0);
    }

    #[test]
    fn empty_and_single() {
        let e = Summary::of([]);
        assert_eq!(e.n, 0);
        assert!(e.mean.is_none() && e.p99.is_none());
        let one = Summary::of([2.5]);
        close(one.p99, 2.5);
        close(one.stddev, 0.0);
    }

    #[test]
    fn non_finite_samples_are_ignored() {
        let s = Summary::of([1.0, f64::NAN, 3.0, f64::INFINITY]);
        assert_eq!(s.n, 2);
        close(s.mean, 2.0);
    }
}
