//! Markdown for the resource parts of a report: the GPU line, per-target attempts and cold
//! loads, the memory explanation and the per-phase resource table.

use super::model::{AttemptStatus, PhaseReport, TargetReport};
use super::resources::GpuReport;
use super::table::fmt;
use std::fmt::Write;

const GIB: f64 = (1u64 << 30) as f64;
const MIB: f64 = (1u64 << 20) as f64;

/// One paragraph on what GPU telemetry there is.
pub fn gpu_paragraph(o: &mut String, g: &GpuReport) {
    if !g.available {
        let _ = writeln!(
            o,
            "\nGPU: not read — {}. GPU columns are empty; the server process columns show CPU and memory.",
            g.reason.as_deref().unwrap_or("unknown reason")
        );
        return;
    }
    let names: Vec<String> = g
        .devices
        .iter()
        .map(|d| {
            format!(
                "{} ({} GiB)",
                d.name,
                fmt(d.mem_total_bytes.map(|b| b as f64 / GIB), 0)
            )
        })
        .collect();
    let idle = g.baseline.as_ref().map_or(String::new(), |b| {
        let used: Option<f64> = b.devices.iter().map(|d| d.mem_used_bytes.mean).sum();
        let power: Option<f64> = b.devices.iter().map(|d| d.power_w.mean).sum();
        format!(
            "; idle before the first phase: {} GiB used, {} W",
            fmt(used.map(|u| u / GIB), 2),
            fmt(power, 0)
        )
    });
    let _ = writeln!(
        o,
        "\nGPU: {}, read {} times a second{idle}. GPU utilisation is the share of time a kernel ran, not how well the GPU is used.",
        names.join(", "),
        g.sample_hz
    );
}

/// Attempts, cold-load samples and the memory explanation of one target.
pub fn target_lines(o: &mut String, t: &TargetReport) {
    let failed: Vec<_> = t
        .attempts
        .iter()
        .filter(|a| a.status != AttemptStatus::Ok)
        .collect();
    if !failed.is_empty() {
        for a in &failed {
            let why = match a.status {
                AttemptStatus::Oom => "ran out of memory",
                _ => "failed",
            };
            let _ = writeln!(
                o,
                "- Attempt `{}` {why}: {}",
                a.model,
                a.error.as_deref().unwrap_or("no error recorded")
            );
        }
        if let Some(last) = t.attempts.last().filter(|a| a.status == AttemptStatus::Ok)
            && t.attempts.len() > 1
        {
            let _ = writeln!(
                o,
                "- **Measured with the fallback `{}`**: `{}` {}.",
                last.model,
                t.attempts[0].model,
                match t.attempts[0].status {
                    AttemptStatus::Oom => "ran out of memory",
                    _ => "could not be run",
                }
            );
        }
    }
    if t.load.samples.len() > 1 {
        let secs: Vec<String> = t
            .load
            .samples
            .iter()
            .map(|s| format!("{:.2}", s.seconds))
            .collect();
        let _ = writeln!(
            o,
            "- Cold loads: {} ({} s; the load time is their median)",
            t.load.samples.len(),
            secs.join(", ")
        );
    }
    if !t.memory.notes.is_empty() {
        let _ = writeln!(o, "- Memory: {}", t.memory.notes.join(" "));
    }
    if !t.model_info.sources.is_empty() {
        let _ = writeln!(o, "- Model facts from: {}", t.model_info.sources.join(", "));
    }
}

/// Per-phase resource table; nothing when no phase has resource readings.
pub fn phase_table(o: &mut String, phases: &[(String, &PhaseReport)]) {
    let any = phases
        .iter()
        .any(|(_, p)| p.gpu.is_some() || p.server_process.is_some() || p.server_metrics.is_some());
    if !any {
        return;
    }
    let _ = writeln!(
        o,
        "\n| Phase | GPU mem used (GiB, mean / max) | GPU mem (%, max) | GPU util (%, mean / max) | Power (W, mean) | Server CPU (%, mean / max) | Server RSS (MiB, max) | KV cache (% of pool, max) | Running / waiting (max) |"
    );
    let _ = writeln!(o, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (name, p) in phases {
        let sum = |f: &dyn Fn(&super::resources::GpuDeviceStats) -> Option<f64>| {
            p.gpu
                .as_ref()
                .and_then(|g| g.devices.iter().map(f).sum::<Option<f64>>())
        };
        let pair =
            |a: Option<f64>, b: Option<f64>, d: usize| format!("{} / {}", fmt(a, d), fmt(b, d));
        let gpu_mem = pair(
            sum(&|d| d.mem_used_bytes.mean).map(|b| b / GIB),
            sum(&|d| d.mem_used_bytes.max).map(|b| b / GIB),
            2,
        );
        let gpu_pct = fmt(
            p.gpu.as_ref().and_then(|g| {
                g.devices
                    .iter()
                    .filter_map(|d| d.mem_used_pct.max)
                    .reduce(f64::max)
            }),
            1,
        );
        let util = pair(
            sum(&|d| d.gpu_util_pct.mean),
            sum(&|d| d.gpu_util_pct.max),
            0,
        );
        let power = fmt(sum(&|d| d.power_w.mean), 0);
        let proc = p.server_process.as_ref();
        let cpu = pair(
            proc.and_then(|s| s.cpu_pct.mean),
            proc.and_then(|s| s.cpu_pct.max),
            0,
        );
        let rss = fmt(proc.and_then(|s| s.rss_bytes.max).map(|b| b / MIB), 0);
        let m = p.server_metrics.as_ref();
        let gauge_max = |names: &[&str]| {
            m.and_then(|m| {
                names
                    .iter()
                    .filter_map(|n| m.gauges.get(*n)?.max)
                    .reduce(f64::max)
            })
        };
        let kv = fmt(
            gauge_max(&[
                "vllm:kv_cache_usage_perc",
                "vllm:gpu_cache_usage_perc",
                "llamacpp:kv_cache_usage_ratio",
                "sglang:token_usage",
            ])
            .map(|f| f * 100.0),
            1,
        );
        let queue = pair(
            gauge_max(&[
                "vllm:num_requests_running",
                "llamacpp:requests_processing",
                "sglang:num_running_reqs",
                "tgi_batch_current_size",
            ]),
            gauge_max(&[
                "vllm:num_requests_waiting",
                "llamacpp:requests_deferred",
                "sglang:num_queue_reqs",
                "tgi_queue_size",
            ]),
            0,
        );
        let _ = writeln!(
            o,
            "| {name} | {gpu_mem} | {gpu_pct} | {util} | {power} | {cpu} | {rss} | {kv} | {queue} |"
        );
    }
}
