//! A target's capacity search as the report holds it: the team model and objectives it ran
//! under, every step, the capacity with its interval, which class broke first, and the
//! interference measured at the capacity found.

use super::capacity::{CapacityStep, Check, ClassSlos, Developer, Estimate};
use super::interference::Interference;
use serde::{Deserialize, Serialize};

/// A target's capacity search: the team model and objectives it used, every step, and the
/// capacity with its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CapacityReport {
    /// What one developer generates (an assumption, stated).
    pub developer: Developer,
    /// Each class's objectives.
    pub slo: ClassSlos,
    /// Measured seconds per step (after the warm-up).
    pub step_s: f64,
    /// Seconds each step ran before it was measured.
    pub warmup_s: f64,
    /// Measurements of each boundary size.
    pub repeats: u32,
    /// The capacity and its interval.
    pub capacity: Estimate,
    /// At the smallest measured size above the capacity, the check furthest from its
    /// objective: which class broke first, on which metric (`None`: nothing broke).
    pub broke_first: Option<Check>,
    /// Every step, in the order measured.
    pub steps: Vec<CapacityStep>,
    /// The search stopped because its time budget ran out (the interval is what it bought).
    pub budget_exhausted: bool,
    /// The search ended early: Ctrl-C, or the server failed.
    pub interrupted: bool,
    /// The whole search's time, s.
    pub search_s: f64,
    /// At the capacity found, each class alone against the same class in the mix (empty when
    /// not measured; `interference_note` says why).
    #[serde(default)]
    pub interference: Vec<Interference>,
    /// Why interference was not measured (one class only, a capacity of 0, the budget, …).
    #[serde(default)]
    pub interference_note: Option<String>,
}

impl CapacityReport {
    /// The check that broke at the smallest measured size above `capacity` (its worst
    /// measurement there).
    pub fn broke_first(steps: &[CapacityStep], capacity: u32) -> Option<Check> {
        let above = steps
            .iter()
            .filter(|s| s.developers > capacity && !s.met)
            .map(|s| s.developers)
            .min()?;
        steps
            .iter()
            .filter(|s| s.developers == above)
            .filter_map(CapacityStep::worst)
            .max_by(|a, b| a.ratio.total_cmp(&b.ratio))
            .cloned()
    }

    /// The capacity in words: `14 developers (95 % interval 12–16)`.
    pub fn describe(&self) -> String {
        let e = &self.capacity;
        let interval = match e.high {
            Some(h) if h == e.low => format!("{h}"),
            Some(h) => format!("{}–{h}", e.low),
            None => format!("≥ {}", e.low),
        };
        format!("{} developers (95 % interval {interval})", e.developers)
    }
}
