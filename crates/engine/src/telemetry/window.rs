//! Turn the samples that fall inside one phase into the report's per-phase statistics (pure).

use super::gpu::DeviceInfo;
use super::prometheus::{Kind, kind};
use super::{Sample, Scrape};
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
