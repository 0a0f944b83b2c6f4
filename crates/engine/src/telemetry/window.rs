//! Turn the samples that fall inside one phase into the report's per-phase statistics (pure).

use super::gpu::DeviceInfo;
use super::prometheus::{Kind, kind};
use super::{Sample, Scrape};
use crate::report::energy::{Energy, GpuEnergyMethod, counter_delta, integrate_power};
use crate::report::{CounterChange, GpuDeviceStats, GpuPhase, ProcessPhase, ServerMetricsPhase};
use crate::stats::Summary;
use std::collections::BTreeMap;

/// GPU statistics per device; `None` when no device was read.
pub fn gpu_phase(samples: &[Sample], devices: &[DeviceInfo]) -> Option<GpuPhase> {
    if devices.is_empty() {
        return None;
    }
    let readings: Vec<_> = samples.iter().filter(|s| !s.gpu.is_empty()).collect();
    let devices = devices
        .iter()
        .map(|info| {
            let of = |f: &dyn Fn(&super::DeviceSample) -> Option<f64>| {
                Summary::of(
                    readings
                        .iter()
                        .flat_map(|s| s.gpu.iter().filter(|d| d.index == info.index))
                        .filter_map(f),
                )
            };
            GpuDeviceStats {
                index: info.index,
                mem_used_bytes: of(&|d| d.mem_used_bytes.map(|b| b as f64)),
                mem_used_pct: of(&|d| match (d.mem_used_bytes, d.mem_total_bytes) {
                    (Some(u), Some(t)) if t > 0 => Some(u as f64 / t as f64 * 100.0),
                    _ => None,
                }),
                gpu_util_pct: of(&|d| d.gpu_util_pct),
                mem_util_pct: of(&|d| d.mem_util_pct),
                power_w: of(&|d| d.power_w),
                temperature_c: of(&|d| d.temperature_c),
                sm_clock_mhz: of(&|d| d.sm_clock_mhz),
                server_mem_bytes: of(&|d| d.process_mem_bytes.map(|b| b as f64)),
            }
        })
        .collect();
    Some(GpuPhase {
        samples: readings.len(),
        devices,
    })
}

/// Energy over the window's readings: each GPU's NVML counter (first and last reading), else
/// its sampled power integrated (labelled); the CPU packages' RAPL counters. `None` with
/// fewer than two readings.
pub fn energy(
    samples: &[Sample],
    devices: &[DeviceInfo],
    rapl: Result<&[Option<u64>], &str>,
) -> Option<Energy> {
    let (first, last) = (samples.first()?, samples.last()?);
    if samples.len() < 2 {
        return None;
    }
    let mut missing = Vec::new();
    let (gpu_j, gpu_method) = if devices.is_empty() {
        missing.push("GPU: none read".to_string());
        (None, None)
    } else {
        let counter = |d: &DeviceInfo| {
            let at = |s: &Sample| {
                s.gpu
                    .iter()
                    .find(|x| x.index == d.index)
                    .and_then(|x| x.energy_mj)
            };
            let a = samples.iter().find_map(at)?;
            let b = samples.iter().rev().find_map(at)?;
            counter_delta(a, b, None).map(|mj| mj as f64 / 1000.0)
        };
        let power = |d: &DeviceInfo| {
            let r: Vec<(f64, f64)> = samples
                .iter()
                .filter_map(|s| {
                    let w = s.gpu.iter().find(|x| x.index == d.index)?.power_w?;
                    Some((s.t_unix_s, w))
                })
                .collect();
            integrate_power(&r)
        };
        if let Some(j) = devices.iter().map(counter).sum::<Option<f64>>() {
            (Some(j), Some(GpuEnergyMethod::NvmlCounter))
        } else if let Some(j) = devices.iter().map(power).sum::<Option<f64>>() {
            (Some(j), Some(GpuEnergyMethod::PowerTimesTime))
        } else {
            missing.push("GPU: no energy counter and no power readings".to_string());
            (None, None)
        }
    };
    let cpu_j = match rapl {
        Err(why) => {
            missing.push(why.to_string());
            None
        }
        Ok(ranges) => {
            // Consecutive readings, each step read through a wrap: a window longer than a
            // counter's whole range (minutes at full power) still adds up.
            let zone = |z: usize, range: Option<u64>| {
                let r: Vec<u64> = samples
                    .iter()
                    .map(|s| s.rapl_uj.get(z).copied().flatten())
                    .collect::<Option<_>>()?;
                r.windows(2)
                    .map(|w| counter_delta(w[0], w[1], range))
                    .sum::<Option<u64>>()
            };
            let delta = ranges
                .iter()
                .enumerate()
                .map(|(z, range)| zone(z, *range))
                .sum::<Option<u64>>();
            if delta.is_none() {
                missing.push("RAPL: a counter could not be read at every reading".into());
            }
            delta.map(|uj| uj as f64 / 1e6)
        }
    };
    let total_j = match (gpu_j, cpu_j) {
        (None, None) => None,
        (g, c) => Some(g.unwrap_or(0.0) + c.unwrap_or(0.0)),
    };
    Some(Energy {
        span_s: last.t_unix_s - first.t_unix_s,
        gpu_j,
        gpu_method,
        cpu_j,
        total_j,
        not_measured: (!missing.is_empty()).then(|| missing.join("; ")),
        per_output_token_j: None,
        kwh_per_mtok: None,
    })
}

/// Process-tree statistics; `None` when no reading of the tree fell in the phase.
pub fn process_phase(samples: &[Sample], pid: u32) -> Option<ProcessPhase> {
    let readings: Vec<_> = samples.iter().filter_map(|s| s.process).collect();
    if readings.is_empty() {
        return None;
    }
    Some(ProcessPhase {
        pid,
        samples: readings.len(),
        cpu_pct: Summary::of(readings.iter().filter_map(|p| p.cpu_pct)),
        rss_bytes: Summary::of(readings.iter().map(|p| p.rss_bytes as f64)),
    })
}

/// Server-metric statistics; `None` without scrapes.
pub fn metrics_phase(scrapes: &[Scrape]) -> Option<ServerMetricsPhase> {
    let (first, last) = (scrapes.first()?, scrapes.last()?);
    let mut gauges: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for s in scrapes {
        for (name, v) in &s.values {
            if kind(name) == Some(Kind::Gauge) {
                gauges.entry((*name).to_string()).or_default().push(*v);
            }
        }
    }
    let span = last.t_unix_s - first.t_unix_s;
    let counters = last
        .values
        .iter()
        .filter(|(name, _)| kind(name) == Some(Kind::Counter))
        .filter_map(|(name, end)| {
            let start = *first.values.get(name)?;
            // A counter that went down means the server restarted: no honest delta.
            let delta = (*end >= start).then_some(end - start)?;
            Some((
                (*name).to_string(),
                CounterChange {
                    start,
                    end: *end,
                    delta,
                    per_s: (span > 0.0).then(|| delta / span),
                },
            ))
        })
        .collect();
    Some(ServerMetricsPhase {
        scrapes: scrapes.len(),
        gauges: gauges
            .into_iter()
            .map(|(k, v)| (k, Summary::of(v)))
            .collect(),
        counters,
        ollama_ps: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{DeviceSample, ProcessSample};

    fn dev(index: u32, used: u64, util: f64) -> DeviceSample {
        DeviceSample {
            index,
            mem_used_bytes: Some(used),
            mem_total_bytes: Some(1000),
            gpu_util_pct: Some(util),
            power_w: Some(100.0 + util),
            ..Default::default()
        }
    }

    #[test]
    fn per_device_distributions() {
        let infos = [0, 1].map(|index| DeviceInfo {
            index,
            name: "fake".into(),
            uuid: None,
            mem_total_bytes: Some(1000),
        });
        let samples: Vec<Sample> = (0..4)
            .map(|i| Sample {
                t_unix_s: i as f64,
                gpu: vec![dev(0, 100 * (i + 1), 10.0 * i as f64), dev(1, 500, 0.0)],
                process: Some(ProcessSample {
                    cpu_pct: (i > 0).then_some(50.0),
                    rss_bytes: 1 << 20,
                    processes: 2,
                }),
                rapl_uj: vec![],
            })
            .collect();
        let g = gpu_phase(&samples, &infos).unwrap();
        assert_eq!(g.samples, 4);
        let d0 = &g.devices[0];
        assert_eq!(d0.mem_used_bytes.max, Some(400.0));
        assert_eq!(d0.mem_used_pct.mean, Some(25.0));
        assert_eq!(d0.gpu_util_pct.p50, Some(15.0));
        assert_eq!(d0.server_mem_bytes.n, 0);
        assert_eq!(g.devices[1].mem_used_pct.max, Some(50.0));
        let p = process_phase(&samples, 9).unwrap();
        assert_eq!((p.samples, p.cpu_pct.n), (4, 3));
        assert!(gpu_phase(&samples, &[]).is_none());
    }

    #[test]
    fn energy_from_counters_with_a_labelled_power_fallback_and_rapl_through_a_wrap() {
        let infos = [0, 1].map(|index| DeviceInfo {
            index,
            name: "fake".into(),
            uuid: None,
            mem_total_bytes: None,
        });
        // Two GPUs whose counters advance 100 J and 50 J a second; RAPL at 20 W wrapping at
        // 50 J (so it wraps between readings 2 and 3).
        let at = |i: u64, counters: bool| Sample {
            t_unix_s: i as f64,
            gpu: [(0, 100_000), (1, 50_000)]
                .map(|(index, mj_per_s)| DeviceSample {
                    index,
                    power_w: Some(80.0),
                    energy_mj: counters.then_some(7_000_000 + mj_per_s * i),
                    ..Default::default()
                })
                .to_vec(),
            process: None,
            rapl_uj: vec![Some((10_000_000 + 20_000_000 * i) % 50_000_000)],
        };
        let samples: Vec<Sample> = (0..4).map(|i| at(i, true)).collect();
        let ranges = [Some(50_000_000)];
        let e = energy(&samples, &infos, Ok(&ranges)).unwrap();
        assert_eq!(e.span_s, 3.0);
        assert_eq!(e.gpu_j, Some(450.0));
        assert_eq!(e.gpu_method, Some(GpuEnergyMethod::NvmlCounter));
        assert_eq!(e.cpu_j, Some(60.0));
        assert_eq!(e.total_j, Some(510.0));
        assert_eq!(e.not_measured, None);
        // No counter: 2 GPUs × 80 W × 3 s, labelled; no RAPL: the reason.
        let samples: Vec<Sample> = (0..4).map(|i| at(i, false)).collect();
        let e = energy(&samples, &infos, Err("RAPL: no package zone")).unwrap();
        assert_eq!(e.gpu_j, Some(480.0));
        assert_eq!(e.gpu_method, Some(GpuEnergyMethod::PowerTimesTime));
        assert!(
            e.describe().contains("GPU power × time (fallback)"),
            "{}",
            e.describe()
        );
        assert_eq!(e.not_measured.as_deref(), Some("RAPL: no package zone"));
        // Nothing at all: not measured, with both reasons; one reading: no window.
        let e = energy(&samples, &[], Err("RAPL: no package zone")).unwrap();
        assert_eq!(e.total_j, None);
        assert!(
            e.describe()
                .starts_with("not measured: GPU: none read; RAPL")
        );
        assert!(energy(&samples[..1], &infos, Ok(&ranges)).is_none());
    }

    #[test]
    fn counters_become_deltas_and_gauges_distributions() {
        let scrape = |t: f64, tokens: f64, running: f64| Scrape {
            t_unix_s: t,
            values: [
                ("llamacpp:tokens_predicted_total", tokens),
                ("llamacpp:requests_processing", running),
            ]
            .into_iter()
            .collect(),
        };
        let m = metrics_phase(&[scrape(10.0, 100.0, 1.0), scrape(12.0, 180.0, 3.0)]).unwrap();
        let c = &m.counters["llamacpp:tokens_predicted_total"];
        assert_eq!((c.delta, c.per_s), (80.0, Some(40.0)));
        assert_eq!(m.gauges["llamacpp:requests_processing"].mean, Some(2.0));
        let reset = metrics_phase(&[scrape(10.0, 100.0, 1.0), scrape(12.0, 5.0, 3.0)]).unwrap();
        assert!(reset.counters.is_empty());
        assert!(metrics_phase(&[]).is_none());
    }
}
