//! The headline metrics every human-facing exporter shows, defined once: id, label, unit,
//! which direction is better, and how to read the value from a target's report.

use super::model::{PhaseReport, TargetReport};
use crate::stats::Summary;

/// Which direction of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Smaller is better (latency, load time).
    Lower,
    /// Larger is better (throughput).
    Higher,
}

/// One headline metric.
pub struct MetricRow {
    /// Stable id (matches the comparison JSON of later versions).
    pub id: &'static str,
    /// Human label.
    pub label: &'static str,
    /// Unit shown in the label.
    pub unit: &'static str,
    /// Better direction.
    pub better: Better,
    /// Decimal places when shown.
    pub digits: usize,
    /// Value for a target, if measured.
    pub get: fn(&TargetReport) -> Option<f64>,
}

fn cold(t: &TargetReport) -> Option<&PhaseReport> {
    t.phases.cold.as_ref()
}
fn warm(t: &TargetReport) -> Option<&PhaseReport> {
    t.phases.warm.as_ref()
}
fn mean(s: &Summary) -> Option<f64> {
    s.mean
}

/// The seed comparison's rows plus TTFT/TPOT, in display order.
pub const ROWS: &[MetricRow] = &[
    MetricRow {
        id: "load_s",
        label: "Load time",
        unit: "s",
        better: Better::Lower,
        digits: 2,
        get: |t| t.load.seconds,
    },
    MetricRow {
        id: "cold_ttft_s",
        label: "Cold TTFT",
        unit: "s",
        better: Better::Lower,
        digits: 3,
        get: |t| mean(&cold(t)?.ttft_s),
    },
    MetricRow {
        id: "cold_e2e_s",
        label: "Cold response time (E2E)",
        unit: "s",
        better: Better::Lower,
        digits: 3,
        get: |t| mean(&cold(t)?.e2e_s),
    },
    MetricRow {
        id: "cold_tok_s",
        label: "Cold TPS (e2e)",
        unit: "tok/s",
        better: Better::Higher,
        digits: 1,
        get: |t| mean(&cold(t)?.e2e_tok_s),
    },
    MetricRow {
        id: "warm_e2e_s",
        label: "Warm response time (E2E, mean)",
        unit: "s",
        better: Better::Lower,
        digits: 3,
        get: |t| mean(&warm(t)?.e2e_s),
    },
    MetricRow {
        id: "warm_tok_s",
        label: "Warm TPS (e2e, mean)",
        unit: "tok/s",
        better: Better::Higher,
        digits: 1,
        get: |t| mean(&warm(t)?.e2e_tok_s),
    },
    MetricRow {
        id: "warm_ttft_s",
        label: "Warm TTFT p50",
        unit: "s",
        better: Better::Lower,
        digits: 3,
        get: |t| warm(t)?.ttft_s.p50,
    },
    MetricRow {
        id: "warm_tpot_s",
        label: "Warm TPOT p50",
        unit: "s",
        better: Better::Lower,
        digits: 4,
        get: |t| warm(t)?.tpot_s.p50,
    },
    MetricRow {
        id: "warm_decode_tok_s",
        label: "Warm decode rate (mean)",
        unit: "tok/s",
        better: Better::Higher,
        digits: 1,
        get: |t| mean(&warm(t)?.decode_tok_s),
    },
    MetricRow {
        id: "warm_output_tok_s",
        label: "Warm throughput (phase output)",
        unit: "tok/s",
        better: Better::Higher,
        digits: 1,
        get: |t| warm(t)?.output_tok_s,
    },
];

/// Relative difference under which two values are called a tie.
pub const TIE_RELATIVE: f64 = 0.02;

/// Which target is better on a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Fewer than two targets have a value.
    NotComparable,
    /// Best and runner-up within [`TIE_RELATIVE`].
    Tie,
    /// Index of the best target.
    Best(usize),
}

/// Decide a row across targets.
pub fn verdict(row: &MetricRow, targets: &[TargetReport]) -> Verdict {
    let vals: Vec<Option<f64>> = targets.iter().map(|t| (row.get)(t)).collect();
    verdict_of(&vals, row.better)
}

/// Decide between values (one per target, `None` where missing).
pub fn verdict_of(vals: &[Option<f64>], better: Better) -> Verdict {
    let mut vals: Vec<(usize, f64)> = vals
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    if vals.len() < 2 {
        return Verdict::NotComparable;
    }
    vals.sort_by(|a, b| match better {
        Better::Lower => a.1.total_cmp(&b.1),
        Better::Higher => b.1.total_cmp(&a.1),
    });
    let (best, second) = (vals[0].1, vals[1].1);
    let scale = best.abs().max(second.abs());
    if scale == 0.0 || (best - second).abs() / scale < TIE_RELATIVE {
        Verdict::Tie
    } else {
        Verdict::Best(vals[0].0)
    }
}

/// Format a value with the row's precision, or an em dash when missing.
pub fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |v| format!("{v:.digits$}"))
}
