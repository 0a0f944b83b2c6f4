//! The metric registry: every report-level metric is one [`MetricId`] and one row of
//! [`REGISTRY`] — its id, unit, better direction, the statistic a significance test compares,
//! display precision, how to read it from a target's report and where its per-request samples
//! come from. Comparison rows, the run report's headline table, the HTML charts and the
//! language catalogues (labels, by `MetricId`) all read it; nothing else spells a metric id.
//!
//! Adding a metric is: one variant, one [`MetricDef`] row, and its label in each catalogue of
//! `i18n.rs` (the compiler asks for them); then list it in [`HEADLINE`] and/or [`COMPARED`].

use super::model::TargetReport;
use super::phase::PhaseReport;
use super::resources::GpuDeviceStats;
use super::significance::Stat;
use crate::metrics::RequestMetrics;
use crate::record::Phase;

/// Relative difference under which two values are called a tie (the one tie band).
pub const TIE_RELATIVE: f64 = 0.02;

/// Which direction of a metric is better (the one "better" enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Smaller (latency, load time, memory).
    Lower,
    /// Larger (throughput, quality).
    Higher,
    /// Neither (GPU utilisation: busy is not good).
    Neither,
}

impl Direction {
    /// How the run report's table says it (`lower is better`); `None` for [`Direction::Neither`].
    pub fn phrase(self) -> Option<&'static str> {
        match self {
            Direction::Lower => Some("lower is better"),
            Direction::Higher => Some("higher is better"),
            Direction::Neither => None,
        }
    }
}

/// True when `a` and `b` are within [`TIE_RELATIVE`] of the larger magnitude (or both 0).
pub fn is_tie(a: f64, b: f64) -> bool {
    let scale = a.abs().max(b.abs());
    scale == 0.0 || (a - b).abs() / scale < TIE_RELATIVE
}

/// A report-level metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricId {
    /// Model load time (median of the cold starts).
    LoadS,
    /// Cold time to first token, mean.
    ColdTtftS,
    /// Cold end-to-end latency, mean.
    ColdE2eS,
    /// Cold output tokens per second of each request (e2e), mean.
    ColdTokS,
    /// Cold GPU memory used, % of the device, mean over devices.
    ColdGpuMemPct,
    /// Cold GPU utilisation, %, mean over devices.
    ColdGpuUtilPct,
    /// Warm end-to-end latency, mean.
    WarmE2eS,
    /// Warm output tokens per second of each request (e2e), mean.
    WarmTokS,
    /// Warm GPU memory used, % of the device, mean over devices.
    WarmGpuMemPct,
    /// Warm GPU utilisation, %, mean over devices.
    WarmGpuUtilPct,
    /// Warm time to first token, median.
    WarmTtftS,
    /// Warm time per output token, median.
    WarmTpotS,
    /// Warm decode rate (tokens after the first / their time), mean.
    WarmDecodeTokS,
    /// Warm phase output throughput (all output tokens / phase wall time).
    WarmOutputTokS,
    /// Output throughput where the sweep saturated.
    SaturationTokS,
    /// Mean quality score over scenarios, 0–5.
    QualityAverage,
}

/// Where a metric's per-request samples come from (for significance tests).
#[derive(Debug, Clone, Copy)]
pub enum Samples {
    /// None: the metric is one number per run.
    None,
    /// Each successful request of `phase`, read from its metrics.
    Requests(Phase, fn(&RequestMetrics) -> Option<f64>),
    /// Each cold start's load time.
    Loads,
}

/// One registry row.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    /// The metric.
    pub id: MetricId,
    /// Its stable id in JSON (`warm_ttft_s`).
    pub key: &'static str,
    /// Unit.
    pub unit: &'static str,
    /// Better direction.
    pub direction: Direction,
    /// The statistic its value is and a significance test compares.
    pub stat: Stat,
    /// Decimal places when shown.
    pub digits: usize,
    /// The value for a target, if measured.
    pub value: fn(&TargetReport) -> Option<f64>,
    /// Its per-request samples.
    pub samples: Samples,
}

fn cold(t: &TargetReport) -> Option<&PhaseReport> {
    t.phases.cold.as_ref()
}

fn warm(t: &TargetReport) -> Option<&PhaseReport> {
    t.phases.warm.as_ref()
}

fn gpu_mean(p: Option<&PhaseReport>, f: fn(&GpuDeviceStats) -> Option<f64>) -> Option<f64> {
    let g = p?.gpu.as_ref()?;
    let v: Vec<f64> = g.devices.iter().filter_map(f).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

use Direction::{Higher, Lower, Neither};
use MetricId::*;
use Stat::{Mean, Median};

/// Every metric, in [`MetricId`] order.
#[rustfmt::skip]
pub const REGISTRY: &[MetricDef] = &[
    MetricDef { id: LoadS, key: "load_s", unit: "s", direction: Lower, stat: Median, digits: 2,
        value: |t| t.load.seconds,
        samples: Samples::Loads },
    MetricDef { id: ColdTtftS, key: "cold_ttft_s", unit: "s", direction: Lower, stat: Mean, digits: 3,
        value: |t| cold(t)?.ttft_s.mean,
        samples: Samples::Requests(Phase::Cold, |m| m.ttft_s) },
    MetricDef { id: ColdE2eS, key: "cold_e2e_s", unit: "s", direction: Lower, stat: Mean, digits: 3,
        value: |t| cold(t)?.e2e_s.mean,
        samples: Samples::Requests(Phase::Cold, |m| m.e2e_s) },
    MetricDef { id: ColdTokS, key: "cold_tok_s", unit: "tok/s", direction: Higher, stat: Mean, digits: 1,
        value: |t| cold(t)?.e2e_tok_s.mean,
        samples: Samples::Requests(Phase::Cold, |m| m.e2e_tok_s) },
    MetricDef { id: ColdGpuMemPct, key: "cold_gpu_mem_pct", unit: "%", direction: Lower, stat: Mean, digits: 1,
        value: |t| gpu_mean(cold(t), |g| g.mem_used_pct.mean),
        samples: Samples::None },
    MetricDef { id: ColdGpuUtilPct, key: "cold_gpu_util_pct", unit: "%", direction: Neither, stat: Mean, digits: 1,
        value: |t| gpu_mean(cold(t), |g| g.gpu_util_pct.mean),
        samples: Samples::None },
    MetricDef { id: WarmE2eS, key: "warm_e2e_s", unit: "s", direction: Lower, stat: Mean, digits: 3,
        value: |t| warm(t)?.e2e_s.mean,
        samples: Samples::Requests(Phase::Warm, |m| m.e2e_s) },
    MetricDef { id: WarmTokS, key: "warm_tok_s", unit: "tok/s", direction: Higher, stat: Mean, digits: 1,
        value: |t| warm(t)?.e2e_tok_s.mean,
        samples: Samples::Requests(Phase::Warm, |m| m.e2e_tok_s) },
    MetricDef { id: WarmGpuMemPct, key: "warm_gpu_mem_pct", unit: "%", direction: Lower, stat: Mean, digits: 1,
        value: |t| gpu_mean(warm(t), |g| g.mem_used_pct.mean),
        samples: Samples::None },
    MetricDef { id: WarmGpuUtilPct, key: "warm_gpu_util_pct", unit: "%", direction: Neither, stat: Mean, digits: 1,
        value: |t| gpu_mean(warm(t), |g| g.gpu_util_pct.mean),
        samples: Samples::None },
    MetricDef { id: WarmTtftS, key: "warm_ttft_s", unit: "s", direction: Lower, stat: Median, digits: 3,
        value: |t| warm(t)?.ttft_s.p50,
        samples: Samples::Requests(Phase::Warm, |m| m.ttft_s) },
    MetricDef { id: WarmTpotS, key: "warm_tpot_s", unit: "s", direction: Lower, stat: Median, digits: 4,
        value: |t| warm(t)?.tpot_s.p50,
        samples: Samples::Requests(Phase::Warm, |m| m.tpot_s) },
    MetricDef { id: WarmDecodeTokS, key: "warm_decode_tok_s", unit: "tok/s", direction: Higher, stat: Mean, digits: 1,
        value: |t| warm(t)?.decode_tok_s.mean,
        samples: Samples::Requests(Phase::Warm, |m| m.decode_tok_s) },
    MetricDef { id: WarmOutputTokS, key: "warm_output_tok_s", unit: "tok/s", direction: Higher, stat: Mean, digits: 1,
        value: |t| warm(t)?.output_tok_s,
        samples: Samples::None },
    MetricDef { id: SaturationTokS, key: "saturation_tok_s", unit: "tok/s", direction: Higher, stat: Mean, digits: 1,
        value: |t| Some(t.saturation.as_ref()?.output_tok_s),
        samples: Samples::None },
    MetricDef { id: QualityAverage, key: "quality_average", unit: "0-5", direction: Higher, stat: Mean, digits: 2,
        value: |t| t.quality.as_ref()?.average_total_score,
        samples: Samples::None },
];

/// The run report's headline table, in display order.
#[rustfmt::skip]
pub const HEADLINE: &[MetricId] = &[
    LoadS, ColdTtftS, ColdE2eS, ColdTokS, WarmE2eS, WarmTokS, WarmTtftS, WarmTpotS,
    WarmDecodeTokS, WarmOutputTokS,
];

/// The comparison's rows, in order; the per-scenario quality rows go before
/// [`MetricId::QualityAverage`].
#[rustfmt::skip]
pub const COMPARED: &[MetricId] = &[
    LoadS, ColdE2eS, ColdTokS, ColdGpuMemPct, ColdGpuUtilPct, WarmE2eS, WarmTokS, WarmGpuMemPct,
    WarmGpuUtilPct, WarmTtftS, WarmTpotS, WarmDecodeTokS, SaturationTokS, QualityAverage,
];

/// The HTML report's bar charts.
#[rustfmt::skip]
pub const CHARTED: &[MetricId] = &[
    LoadS, ColdTokS, WarmE2eS, WarmTokS, WarmTtftS, WarmGpuMemPct, WarmGpuUtilPct,
];

impl MetricId {
    /// Its registry row.
    pub fn def(self) -> &'static MetricDef {
        &REGISTRY[self as usize]
    }

    /// Its stable id in JSON.
    pub fn key(self) -> &'static str {
        self.def().key
    }

    /// The metric with JSON id `key`.
    pub fn from_key(key: &str) -> Option<MetricId> {
        REGISTRY.iter().find(|d| d.key == key).map(|d| d.id)
    }
}

/// The JSON id of one scenario's quality score (`quality_debugging`).
pub fn quality_scenario_key(scenario: &str) -> String {
    format!("quality_{scenario}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_in_id_order_with_unique_keys() {
        let mut keys = std::collections::BTreeSet::new();
        for (i, d) in REGISTRY.iter().enumerate() {
            assert_eq!(d.id as usize, i, "{} out of order", d.key);
            assert!(keys.insert(d.key), "{} twice", d.key);
            assert_eq!(MetricId::from_key(d.key), Some(d.id));
        }
    }

    #[test]
    fn one_tie_band() {
        assert!(is_tie(100.0, 101.9) && is_tie(0.0, 0.0));
        assert!(!is_tie(100.0, 102.1));
    }
}
