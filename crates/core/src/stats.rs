//! Descriptive statistics over samples: one sort, every quantile from it.
//!
//! Quantiles use linear interpolation between closest ranks (numpy's default, "type 7"):
//! for sorted `x[0..n]` and quantile `q`, `h = (n − 1)·q`, result
//! `x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋])`. `stddev` is the sample standard deviation
//! (divisor `n − 1`; 0 for a single sample).
//!
//! High-volume distributions (one sample per token, e.g. ITL) go into a [`HdrSummary`]
//! instead: constant memory, exact count/mean/stddev/min/max, and quantiles from an HDR
//! histogram with 3 significant digits (relative error ≤ 0.1 %).

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Summary of one distribution. With no samples, `n = 0` and every other field is `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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

/// Constant-memory summary of seconds-valued samples (microsecond resolution).
#[derive(Debug, Clone)]
pub struct HdrSummary {
    hist: Histogram<u64>,
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

/// Relative precision of [`HdrSummary`] quantiles.
pub const HDR_RELATIVE_PRECISION: f64 = 1e-3;

impl Default for HdrSummary {
    fn default() -> Self {
        HdrSummary {
            // 3 significant digits, auto-resizing range: memory depends on the value range,
            // never on the sample count.
            hist: Histogram::new(3).expect("3 significant digits is a valid precision"),
            n: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl HdrSummary {
    /// Add one sample in seconds (non-finite and negative samples are ignored).
    pub fn record(&mut self, seconds: f64) {
        if !seconds.is_finite() || seconds < 0.0 {
            return;
        }
        let micros = (seconds * 1e6).round() as u64;
        if self.hist.record(micros).is_err() {
            return;
        }
        // Welford: exact mean and variance without keeping samples.
        self.n += 1;
        let d = seconds - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (seconds - self.mean);
        self.min = self.min.min(seconds);
        self.max = self.max.max(seconds);
    }

    /// Add every sample of `other` (per-step or per-worker histograms into one): counts and
    /// buckets add exactly; mean and variance combine by Chan et al.'s parallel formula.
    pub fn merge(&mut self, other: &HdrSummary) {
        if other.n == 0 {
            return;
        }
        if self.hist.add(&other.hist).is_err() {
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let d = other.mean - self.mean;
        self.mean += d * nb / n;
        self.m2 += other.m2 + d * d * na * nb / n;
        self.n += other.n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The summary; quantiles are the midpoints of their histogram buckets.
    pub fn summary(&self) -> Summary {
        if self.n == 0 {
            return Summary::default();
        }
        let q = |q: f64| {
            let v = self.hist.value_at_quantile(q);
            (self.hist.median_equivalent(v) as f64 / 1e6).clamp(self.min, self.max)
        };
        let var = if self.n > 1 {
            self.m2 / (self.n - 1) as f64
        } else {
            0.0
        };
        Summary {
            n: self.n as usize,
            mean: Some(self.mean),
            stddev: Some(var.sqrt()),
            min: Some(self.min),
            p50: Some(q(0.50)),
            p90: Some(q(0.90)),
            p95: Some(q(0.95)),
            p99: Some(q(0.99)),
            max: Some(self.max),
        }
    }
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

    #[test]
    fn hdr_quantiles_agree_with_exact_within_stated_precision() {
        // 200k ITL-like samples: 5–60 ms with a long tail, from a fixed LCG.
        let mut x: u64 = 42;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let samples: Vec<f64> = (0..200_000)
            .map(|_| {
                let u = next();
                0.005 + 0.055 * u * u + if next() < 0.01 { 0.5 * next() } else { 0.0 }
            })
            .collect();
        let exact = Summary::of(samples.iter().copied());
        let mut h = HdrSummary::default();
        samples.iter().for_each(|&s| h.record(s));
        let approx = h.summary();
        assert_eq!(approx.n, exact.n);
        for (a, e) in [
            (approx.p50, exact.p50),
            (approx.p90, exact.p90),
            (approx.p95, exact.p95),
            (approx.p99, exact.p99),
        ] {
            let (a, e) = (a.unwrap(), e.unwrap());
            // Bucket precision plus the microsecond rounding of each sample.
            let tol = e * HDR_RELATIVE_PRECISION + 1e-6;
            assert!((a - e).abs() <= tol, "hdr {a} vs exact {e} (tol {tol})");
        }
        close(approx.mean, exact.mean.unwrap());
        assert!((approx.stddev.unwrap() - exact.stddev.unwrap()).abs() < 1e-9);
        assert_eq!(approx.min, exact.min);
        assert_eq!(approx.max, exact.max);
    }
}
