//! Energy over a window (a phase or a capacity step), from counters where the hardware keeps
//! them: NVML's total-energy counter per GPU (millijoules since the driver loaded) and the
//! RAPL package counters under `/sys/class/powercap` for the CPU (microjoules, wrapping at
//! `max_energy_range_uj`). Each is the difference of its first and last reading in the
//! window. Only where a GPU has no counter is its energy integrated from sampled power
//! (power × time, trapezoids) — labelled as such. Where nothing can be read the energy is
//! "not measured" with the reason; it is never estimated from a nameplate.

use serde::{Deserialize, Serialize};

/// How a GPU's energy was obtained.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GpuEnergyMethod {
    /// NVML's total-energy counter, read at the window's start and end.
    NvmlCounter,
    /// Sampled board power integrated over time: a fallback, less exact than a counter
    /// (power between samples is interpolated).
    PowerTimesTime,
}

/// Energy used over one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Energy {
    /// Seconds between the first and last reading used.
    pub span_s: f64,
    /// Every GPU together, J (`None`: no GPU read).
    pub gpu_j: Option<f64>,
    /// How the GPU energy was obtained.
    pub gpu_method: Option<GpuEnergyMethod>,
    /// The CPU packages (RAPL), J (`None`: not readable).
    pub cpu_j: Option<f64>,
    /// GPU + CPU, J: what was measured (`None`: nothing).
    pub total_j: Option<f64>,
    /// Why a part is missing ("RAPL: /sys/class/powercap not present"); `None` when GPU
    /// and CPU were both measured.
    pub not_measured: Option<String>,
    /// `total_j` per output token of the window, J.
    #[serde(default)]
    pub per_output_token_j: Option<f64>,
    /// kWh per million output tokens.
    #[serde(default)]
    pub kwh_per_mtok: Option<f64>,
}

impl Energy {
    /// With the per-token figures of a window that produced `output_tokens`.
    pub fn with_tokens(mut self, output_tokens: f64) -> Energy {
        self.per_output_token_j = self.per_token_j(output_tokens);
        self.kwh_per_mtok = self.kwh_per_mtok(output_tokens);
        self
    }

    /// J per output token, given the window's output tokens.
    pub fn per_token_j(&self, output_tokens: f64) -> Option<f64> {
        (output_tokens > 0.0).then_some(self.total_j? / output_tokens)
    }

    /// kWh per million output tokens.
    pub fn kwh_per_mtok(&self, output_tokens: f64) -> Option<f64> {
        self.per_token_j(output_tokens).map(|j| j * 1e6 / 3.6e6)
    }

    /// J per developer-hour at `developers` for the window's span.
    pub fn per_developer_hour_j(&self, developers: u32) -> Option<f64> {
        (developers > 0 && self.span_s > 0.0)
            .then_some(self.total_j? / (f64::from(developers) * self.span_s / 3600.0))
    }

    /// This window followed by `o` (a step and its extensions): every part summed where both
    /// measured it, otherwise not measured.
    pub fn plus(&self, o: &Energy) -> Energy {
        let add = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a + b);
        Energy {
            span_s: self.span_s + o.span_s,
            gpu_j: add(self.gpu_j, o.gpu_j),
            gpu_method: self.gpu_method.max(o.gpu_method),
            cpu_j: add(self.cpu_j, o.cpu_j),
            total_j: add(self.total_j, o.total_j),
            not_measured: self.not_measured.clone().or_else(|| o.not_measured.clone()),
            per_output_token_j: None,
            kwh_per_mtok: None,
        }
    }

    /// Consecutive windows as one (a step's extensions, a size's repeats); `None` when any
    /// window had no readings, or there were none.
    pub fn total(windows: impl IntoIterator<Item = Option<Energy>>) -> Option<Energy> {
        windows
            .into_iter()
            .reduce(|a, b| a.zip(b).map(|(a, b)| a.plus(&b)))
            .flatten()
    }

    /// What was measured, in words: `5,210 J (GPU counter 4,800 J + CPU RAPL 410 J) over
    /// 30.0 s`.
    pub fn describe(&self) -> String {
        let Some(total) = self.total_j else {
            return format!(
                "not measured: {}",
                self.not_measured.as_deref().unwrap_or("no energy source")
            );
        };
        let mut parts = Vec::new();
        if let Some(g) = self.gpu_j {
            let how = match self.gpu_method {
                Some(GpuEnergyMethod::PowerTimesTime) => "GPU power × time (fallback)",
                _ => "GPU counter",
            };
            parts.push(format!("{how} {g:.0} J"));
        }
        if let Some(c) = self.cpu_j {
            parts.push(format!("CPU RAPL {c:.0} J"));
        }
        format!(
            "{total:.0} J ({}) over {:.1} s",
            parts.join(" + "),
            self.span_s
        )
    }
}

/// The energy a wrapping counter advanced from `start` to `end` (`range`: where it wraps).
pub fn counter_delta(start: u64, end: u64, range: Option<u64>) -> Option<u64> {
    if end >= start {
        Some(end - start)
    } else {
        range.map(|r| r - start + end)
    }
}

/// Trapezoid integral of (t, watts) readings, J.
pub fn integrate_power(readings: &[(f64, f64)]) -> Option<f64> {
    if readings.len() < 2 {
        return None;
    }
    Some(
        readings
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
            .sum(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_that_wrapped_is_read_through_the_wrap() {
        assert_eq!(counter_delta(100, 350, None), Some(250));
        assert_eq!(counter_delta(900, 100, Some(1000)), Some(200));
        assert_eq!(counter_delta(900, 100, None), None);
    }

    #[test]
    fn power_is_integrated_by_trapezoids() {
        let j = integrate_power(&[(0.0, 100.0), (1.0, 200.0), (3.0, 200.0)]).unwrap();
        assert!((j - (150.0 + 400.0)).abs() < 1e-9);
        assert_eq!(integrate_power(&[(0.0, 1.0)]), None);
    }

    #[test]
    fn per_token_per_mtok_and_per_developer_hour() {
        let e = Energy {
            span_s: 36.0,
            gpu_j: Some(3600.0),
            gpu_method: Some(GpuEnergyMethod::NvmlCounter),
            cpu_j: None,
            total_j: Some(3600.0),
            not_measured: Some("RAPL: not present".into()),
            per_output_token_j: None,
            kwh_per_mtok: None,
        };
        assert_eq!(e.per_token_j(1800.0), Some(2.0));
        // 2 J a token = 2e6 J a million = 0.5556 kWh.
        assert!((e.kwh_per_mtok(1800.0).unwrap() - 2e6 / 3.6e6).abs() < 1e-12);
        // 10 developers for 36 s = 0.1 developer-hours.
        assert!((e.per_developer_hour_j(10).unwrap() - 36_000.0).abs() < 1e-9);
        assert!(
            e.describe()
                .starts_with("3600 J (GPU counter 3600 J) over 36.0 s")
        );
    }
}
