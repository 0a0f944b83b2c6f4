//! A target's capacity search as the report holds it: the team model and objectives it ran
//! under, every step, the capacity with its interval, which class broke first, and the
//! interference measured at the capacity found.

use super::capacity::{CapacityStep, Check, ClassSlos, Developer, Estimate};
use super::capacity_quality::QualityAtCapacity;
use super::energy::Energy;
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
    /// Throughput, energy and cost at the capacity found (`None`: a capacity of 0).
    #[serde(default)]
    pub at_capacity: Option<AtCapacity>,
    /// Why the search stopped early: `repeats` steps at the size it wanted next had no class it
    /// could judge (too few answered requests); `None` when it ran its course. With no judged
    /// step at all the capacity is undecided, and `describe` says so.
    #[serde(default)]
    pub undecided: Option<String>,
    /// The quality tasks asked beside a team of the capacity's size, against the same tasks
    /// alone (when the plan has a quality dataset; `quality_note` says why not otherwise).
    #[serde(default)]
    pub quality: Option<QualityAtCapacity>,
    /// Why quality at the capacity was not measured (no capacity, the budget, …).
    #[serde(default)]
    pub quality_note: Option<String>,
}

/// Hours in an average month (8,760 / 12): a developer-month of a server running all the time.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// What serving the capacity found costs: throughput and energy over the mix steps at that
/// size, and with the target's `cost_per_hour` the price per token and per developer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AtCapacity {
    /// The team size (the capacity).
    pub developers: u32,
    /// Output tokens per second, every class together (mean over the size's mix steps).
    pub output_tok_s: Option<f64>,
    /// Energy over those steps, J.
    pub energy_j: Option<f64>,
    /// J per developer-hour.
    pub energy_per_developer_hour_j: Option<f64>,
    /// kWh per million output tokens.
    pub kwh_per_mtok: Option<f64>,
    /// Why energy was not (fully) measured.
    pub energy_not_measured: Option<String>,
    /// The target's price per hour of the server (the plan's `cost_per_hour`), $.
    pub cost_per_hour: Option<f64>,
    /// $ per million output tokens at this load.
    pub usd_per_mtok: Option<f64>,
    /// $ per developer-month: the server all month shared by the capacity's developers.
    pub usd_per_developer_month: Option<f64>,
}

impl AtCapacity {
    /// From the mix steps at `developers`; `None` for a capacity of 0 or no step there.
    pub fn of(steps: &[CapacityStep], developers: u32, cost_per_hour: Option<f64>) -> Option<Self> {
        let at: Vec<&CapacityStep> = steps
            .iter()
            .filter(|s| s.developers == developers)
            .collect();
        if developers == 0 || at.is_empty() {
            return None;
        }
        let tok: Vec<f64> = at.iter().filter_map(|s| s.output_tok_s).collect();
        let output_tok_s = (!tok.is_empty()).then(|| tok.iter().sum::<f64>() / tok.len() as f64);
        let energy = Energy::total(at.iter().map(|s| s.energy.clone()));
        let tokens: f64 = at
            .iter()
            .map(|s| s.output_tok_s.unwrap_or(0.0) * s.duration_s)
            .sum();
        let e = energy.as_ref();
        Some(AtCapacity {
            developers,
            output_tok_s,
            energy_j: e.and_then(|e| e.total_j),
            energy_per_developer_hour_j: e.and_then(|e| e.per_developer_hour_j(developers)),
            kwh_per_mtok: e.and_then(|e| e.kwh_per_mtok(tokens)),
            energy_not_measured: match e {
                Some(e) => e.not_measured.clone(),
                None => Some("no telemetry readings in the steps".into()),
            },
            cost_per_hour,
            usd_per_mtok: cost_per_hour
                .zip(output_tok_s)
                .filter(|(_, t)| *t > 0.0)
                .map(|(c, t)| c / (t * 3600.0) * 1e6),
            usd_per_developer_month: cost_per_hour
                .map(|c| c * HOURS_PER_MONTH / f64::from(developers)),
        })
    }

    /// `$0.90 per developer-month, $1.23 per million output tokens, 41 kJ per developer-hour`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.usd_per_developer_month {
            parts.push(format!("${c:.2} per developer-month"));
        }
        if let Some(c) = self.usd_per_mtok {
            parts.push(format!("${c:.2} per million output tokens"));
        }
        if let Some(t) = self.output_tok_s {
            parts.push(format!("{t:.1} output tok/s"));
        }
        match self.energy_per_developer_hour_j {
            Some(j) => parts.push(format!("{:.1} kJ per developer-hour", j / 1000.0)),
            None => parts.push(format!(
                "energy not measured ({})",
                self.energy_not_measured.as_deref().unwrap_or("no source")
            )),
        }
        if let Some(k) = self.kwh_per_mtok {
            parts.push(format!("{k:.3} kWh per million output tokens"));
        }
        format!("at {} developers: {}", self.developers, parts.join(", "))
    }
}

impl CapacityReport {
    /// Score quality at the capacity from the run's quality report, priced at the capacity's
    /// cost per token.
    pub fn score_quality(&mut self, q: &super::quality::QualityReport) {
        let per_mtok = self.at_capacity.as_ref().and_then(|a| a.usd_per_mtok);
        if let Some(at) = &mut self.quality {
            at.score(q, per_mtok);
        }
    }

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
        if let Some(why) = &self.undecided
            && self.steps.iter().all(|s| s.margin.is_none())
        {
            return format!("undecided: {why}");
        }
        let e = &self.capacity;
        let interval = match e.high {
            Some(h) if h == e.low => format!("{h}"),
            Some(h) => format!("{}–{h}", e.low),
            None => format!("≥ {}", e.low),
        };
        format!("{} developers (95 % interval {interval})", e.developers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::energy::GpuEnergyMethod;

    fn step(n: u32, tok_s: f64, joules: f64) -> CapacityStep {
        CapacityStep {
            developers: n,
            repeat: 0,
            duration_s: 30.0,
            extensions: 0,
            classes: vec![],
            met: true,
            margin: Some(0.5),
            output_tok_s: Some(tok_s),
            energy: Some(Energy {
                span_s: 30.0,
                gpu_j: Some(joules),
                gpu_method: Some(GpuEnergyMethod::NvmlCounter),
                cpu_j: None,
                total_j: Some(joules),
                not_measured: None,
                per_output_token_j: None,
                kwh_per_mtok: None,
            }),
        }
    }

    #[test]
    fn cost_and_energy_at_the_capacity_follow_from_its_steps() {
        let steps = [
            step(4, 100.0, 9000.0),
            step(8, 200.0, 12_000.0),
            step(8, 100.0, 6000.0),
        ];
        let a = AtCapacity::of(&steps, 8, Some(2.0)).unwrap();
        assert_eq!(a.output_tok_s, Some(150.0));
        assert_eq!(a.energy_j, Some(18_000.0));
        // 8 developers × 60 s = 2/15 developer-hours.
        assert!((a.energy_per_developer_hour_j.unwrap() - 18_000.0 * 15.0 / 2.0).abs() < 1e-6);
        // 9,000 tokens for 18 kJ: 2 J a token = 2e6 J a million tokens = 0.5556 kWh.
        assert!((a.kwh_per_mtok.unwrap() - 2e6 / 3.6e6).abs() < 1e-9);
        // $2 an hour at 150 tok/s: 540,000 tokens an hour → $3.70 per million.
        assert!((a.usd_per_mtok.unwrap() - 2.0 / 0.54).abs() < 1e-9);
        assert!((a.usd_per_developer_month.unwrap() - 2.0 * 730.0 / 8.0).abs() < 1e-9);
        assert!(
            a.describe()
                .starts_with("at 8 developers: $182.50 per developer-month")
        );
        assert!(AtCapacity::of(&steps, 0, Some(2.0)).is_none());
        let no_cost = AtCapacity::of(&steps, 4, None).unwrap();
        assert_eq!(no_cost.usd_per_developer_month, None);
    }
}
