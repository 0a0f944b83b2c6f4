//! The comparison's answers under load as data (a leaf of the comparison, as
//! [`super::compare_model`] is): each target's capacity, the team-size bands, and the
//! load-by-load rows with their crossover. [`super::compare_load`] computes them.

use super::i18n::Message;
use serde::{Deserialize, Serialize};

/// One target's capacity as compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CapacityOf {
    /// Label.
    pub name: String,
    /// Developers served at the team's objectives.
    pub developers: u32,
    /// 95 % interval, low end.
    pub low: u32,
    /// 95 % interval, high end (`None`: open-ended, nothing larger failed).
    pub high: Option<u32>,
    /// Which class broke first, on which metric, value and limit (`None`: nothing broke).
    pub broke_first: Option<[String; 4]>,
}

impl CapacityOf {
    /// The interval in words: `12–16`, `4`, `≥ 8`.
    pub fn interval(&self) -> String {
        match self.high {
            Some(h) if h == self.low => h.to_string(),
            Some(h) => format!("{}–{h}", self.low),
            None => format!("≥ {}", self.low),
        }
    }
}

/// A range of team sizes and the targets that serve every size in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SizeBand {
    /// Smallest team size of the band.
    pub from: u32,
    /// Largest (`None`: every larger size — served by none of the targets).
    pub to: Option<u32>,
    /// The targets whose capacity covers the band, best first (empty past every capacity).
    pub serve: Vec<String>,
}

/// The capacities of the compared targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CapacityComparison {
    /// Every target that ran the search, most developers first.
    pub targets: Vec<CapacityOf>,
    /// The leader against the runner-up: significant when their intervals do not overlap.
    pub verdict: Option<Message>,
    /// Which targets serve which team sizes.
    pub bands: Vec<SizeBand>,
}

/// One load both runs measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadRow {
    /// Closed-loop streams (`None`: a rate step).
    pub concurrency: Option<u32>,
    /// Open-loop rate, req/s (`None`: a concurrency step).
    pub rate: Option<f64>,
    /// Baseline's output throughput, tok/s.
    pub a_tok_s: Option<f64>,
    /// The other's.
    pub b_tok_s: Option<f64>,
    /// Baseline's TTFT p90, s.
    pub a_ttft_p90_s: Option<f64>,
    /// The other's.
    pub b_ttft_p90_s: Option<f64>,
    /// Ahead on throughput: a label, or `None` for a tie (within the comparison's 2 % tie band)
    /// or a missing value.
    pub ahead: Option<String>,
}

/// Baseline against one other target, load by load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadComparison {
    /// Baseline label.
    pub a: String,
    /// Other label.
    pub b: String,
    /// The loads both measured, lightest first.
    pub rows: Vec<LoadRow>,
    /// Where the lead on throughput changes hands (or that it never does).
    pub crossover: Option<Message>,
}

/// A load in words, language-free: `8` streams or `2.5` req/s, rendered by the document.
pub fn load_of(r: &LoadRow) -> (bool, String) {
    match (r.concurrency, r.rate) {
        (Some(c), _) => (true, c.to_string()),
        (None, Some(x)) => (false, format!("{x}")),
        _ => (true, "?".into()),
    }
}
