//! Deciding which target is better on a metric across several targets, and formatting a
//! value; the metrics themselves are defined once in [`super::metric`].

use super::metric::{Direction, MetricId, is_tie};
use super::model::TargetReport;

/// Which target is better on a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Fewer than two targets have a value.
    NotComparable,
    /// Best and runner-up within [`super::metric::TIE_RELATIVE`].
    Tie,
    /// Index of the best target.
    Best(usize),
}

/// Decide a metric across targets.
pub fn verdict(id: MetricId, targets: &[TargetReport]) -> Verdict {
    let vals: Vec<Option<f64>> = targets.iter().map(|t| (id.def().value)(t)).collect();
    verdict_of(&vals, id.def().direction)
}

/// Decide between values (one per target, `None` where missing); no side wins on a metric
/// whose direction is [`Direction::Neither`].
pub fn verdict_of(vals: &[Option<f64>], better: Direction) -> Verdict {
    let mut vals: Vec<(usize, f64)> = vals
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    if vals.len() < 2 || better == Direction::Neither {
        return Verdict::NotComparable;
    }
    vals.sort_by(|a, b| match better {
        Direction::Higher => b.1.total_cmp(&a.1),
        _ => a.1.total_cmp(&b.1),
    });
    if is_tie(vals[0].1, vals[1].1) {
        Verdict::Tie
    } else {
        Verdict::Best(vals[0].0)
    }
}

/// Format a value with the row's precision, or an em dash when missing.
pub fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |v| format!("{v:.digits$}"))
}
