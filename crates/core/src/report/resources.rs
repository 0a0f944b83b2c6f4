//! Resource parts of the report: GPU telemetry, the server's process tree, the server's own
//! metrics, and the explanation of where a model's memory went.
//!
//! [`explain_memory`] is pure: it turns what was measured into numbers and sentences, saying
//! plainly when a "memory %" is a reservation rather than a need.

use crate::stats::Summary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// GPU telemetry for the whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GpuReport {
    /// True when NVML could be read.
    pub available: bool,
    /// Why there is no GPU telemetry ("libnvidia-ml not found", "no NVIDIA device"); `null`
    /// when available.
    pub reason: Option<String>,
    /// Samples per second asked for (`--sample-hz`).
    pub sample_hz: f64,
    /// The devices.
    pub devices: Vec<GpuDevice>,
    /// Idle readings taken before the first phase of the run; `null` without a GPU.
    pub baseline: Option<GpuPhase>,
    /// GPU readings over the run (at most 600, evenly thinned), for charts.
    #[serde(default)]
    pub timeline: Vec<TimelinePoint>,
}

/// One reading of the run's timeline, averaged over the devices.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimelinePoint {
    /// Seconds since the run started.
    pub t_s: f64,
    /// GPU utilisation, %.
    pub gpu_util_pct: Option<f64>,
    /// Device memory used, %.
    pub mem_used_pct: Option<f64>,
}

/// Most timeline points kept.
pub const TIMELINE_POINTS: usize = 600;

/// A GPU's fixed facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GpuDevice {
    /// NVML index.
    pub index: u32,
    /// Product name.
    pub name: String,
    /// Device UUID.
    pub uuid: Option<String>,
    /// Device memory, bytes.
    pub mem_total_bytes: Option<u64>,
}

/// GPU readings over one phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GpuPhase {
    /// Readings in the phase.
    pub samples: usize,
    /// Per device.
    pub devices: Vec<GpuDeviceStats>,
}

/// One device's readings over a phase, as distributions (mean, p50, max, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GpuDeviceStats {
    /// NVML index.
    pub index: u32,
    /// Device memory in use by all processes, bytes.
    pub mem_used_bytes: Summary,
    /// The same as % of the device's memory.
    pub mem_used_pct: Summary,
    /// GPU utilisation: share of time a kernel ran, % (not a measure of how well the GPU is
    /// used: one tiny kernel at a time reads 100 %).
    pub gpu_util_pct: Summary,
    /// Memory-controller utilisation, %.
    pub mem_util_pct: Summary,
    /// Board power, W.
    pub power_w: Summary,
    /// Temperature, °C.
    pub temperature_c: Summary,
    /// SM clock, MHz.
    pub sm_clock_mhz: Summary,
    /// Device memory held by the server's own processes, bytes (when NVML lists them).
    pub server_mem_bytes: Summary,
}

/// The server's process tree over one phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProcessPhase {
    /// Root pid watched (the managed server, or `--server-pid`).
    pub pid: u32,
    /// Readings in the phase.
    pub samples: usize,
    /// CPU time / wall time of the whole tree, % of one core (400 = four cores busy).
    pub cpu_pct: Summary,
    /// Resident memory of the whole tree, bytes.
    pub rss_bytes: Summary,
}

/// The server's own metrics over one phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServerMetricsPhase {
    /// `/metrics` scrapes in the phase (1 Hz, plus one at each end).
    pub scrapes: usize,
    /// Levels as distributions, by the server's metric name (`vllm:kv_cache_usage_perc` is a
    /// 0–1 fraction despite its name).
    pub gauges: BTreeMap<String, Summary>,
    /// Running totals: their change over the phase.
    pub counters: BTreeMap<String, CounterChange>,
    /// Ollama `/api/ps` at the phase's start and end; `null` for other servers.
    pub ollama_ps: Option<OllamaPs>,
}

/// A counter's change over a phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CounterChange {
    /// Value at the first scrape.
    pub start: f64,
    /// Value at the last scrape.
    pub end: f64,
    /// `end − start`.
    pub delta: f64,
    /// `delta` / time between the two scrapes; `null` when they coincide.
    pub per_s: Option<f64>,
}

/// Ollama's account of the loaded model at a phase's start and end.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OllamaPs {
    /// At the start; `null` when the model was not loaded.
    pub start: Option<PsSize>,
    /// At the end.
    pub end: Option<PsSize>,
}

/// `/api/ps` sizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PsSize {
    /// Memory the loaded model occupies (weights + KV cache + graph), bytes.
    pub size_bytes: u64,
    /// Part of it in GPU memory, bytes.
    pub size_vram_bytes: u64,
}

/// Where a target's memory went, in numbers and words.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MemoryReport {
    /// Size of the model weights, bytes.
    pub weights_bytes: Option<u64>,
    /// Where `weights_bytes` comes from (`gguf file`, `safetensors files`, `server`).
    pub weights_source: Option<String>,
    /// GPU memory the server held (largest reading), bytes.
    pub reserved_bytes: Option<u64>,
    /// `reserved_bytes` as % of the device memory.
    pub reserved_pct: Option<f64>,
    /// How `reserved_bytes` was measured.
    pub reserved_source: Option<String>,
    /// Share of GPU memory the server pre-allocates by configuration (vLLM's
    /// `gpu_memory_utilization`).
    pub preallocated_fraction: Option<f64>,
    /// Largest KV-cache usage seen, 0–1 of the KV pool.
    pub kv_cache_usage_max: Option<f64>,
    /// Tokens the KV pool holds (vLLM: blocks × block size).
    pub kv_cache_tokens: Option<u64>,
    /// Largest resident (CPU) memory of the server's process tree, bytes.
    pub server_rss_max_bytes: Option<u64>,
    /// The explanation, one sentence each.
    pub notes: Vec<String>,
}

/// What [`explain_memory`] works from.
#[derive(Debug, Clone, Default)]
pub struct MemoryFacts {
    /// Weights size and its source.
    pub weights: Option<(u64, String)>,
    /// Largest GPU memory held by the server's processes (NVML), bytes.
    pub server_mem_max: Option<u64>,
    /// Largest device memory in use during the target minus the idle baseline, bytes.
    pub device_mem_above_baseline: Option<u64>,
    /// Device memory, bytes.
    pub device_total: Option<u64>,
    /// Ollama's `size_vram` while loaded.
    pub ollama_vram: Option<u64>,
    /// vLLM's `gpu_memory_utilization`.
    pub preallocated_fraction: Option<f64>,
    /// Largest KV-cache usage, 0–1.
    pub kv_cache_usage_max: Option<f64>,
    /// KV pool size in tokens.
    pub kv_cache_tokens: Option<u64>,
    /// KV pool size in bytes, as the server states it (vLLM's `kv_cache_memory_bytes`).
    pub kv_cache_bytes: Option<u64>,
    /// Largest resident memory of the server's process tree.
    pub rss_max: Option<u64>,
    /// Whether a GPU was read at all.
    pub gpu_available: bool,
}

/// Bytes for people: GiB from 1 GiB up, MiB below.
pub fn human_bytes(b: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    let b = b as f64;
    if b >= GIB {
        format!("{:.2} GiB", b / GIB)
    } else {
        format!("{:.0} MiB", b / (1u64 << 20) as f64)
    }
}

/// Explain where the memory went.
pub fn explain_memory(f: &MemoryFacts) -> MemoryReport {
    let (reserved_bytes, reserved_source) =
        match (f.server_mem_max, f.ollama_vram, f.device_mem_above_baseline) {
            (Some(b), _, _) => (Some(b), Some("NVML memory of the server's processes")),
            (None, Some(b), _) => (Some(b), Some("Ollama /api/ps size_vram")),
            (None, None, Some(b)) => (Some(b), Some("device memory above the idle baseline")),
            _ => (None, None),
        };
    let reserved_pct = match (reserved_bytes, f.device_total) {
        (Some(r), Some(t)) if t > 0 => Some(r as f64 / t as f64 * 100.0),
        _ => None,
    };
    let mut notes = Vec::new();
    if let Some((w, src)) = &f.weights {
        notes.push(format!("The weights take {} ({src}).", human_bytes(*w)));
    }
    if let (Some(r), Some(src)) = (reserved_bytes, reserved_source) {
        notes.push(format!(
            "The server held {} of GPU memory{} ({src}).",
            human_bytes(r),
            reserved_pct.map_or(String::new(), |p| format!(", {p:.0} % of the device"))
        ));
    }
    if let Some(frac) = f.preallocated_fraction {
        notes.push(format!(
            "The server pre-allocates {:.0} % of GPU memory at start (gpu_memory_utilization = {frac}) for weights and KV cache: its memory % is a reservation set by configuration, not what the model needs.",
            frac * 100.0
        ));
    }
    if let Some(kv) = f.kv_cache_bytes {
        notes.push(if f.gpu_available {
            format!(
                "Its KV cache pool is {} (as the server states it).",
                human_bytes(kv)
            )
        } else {
            format!(
                "Its KV cache pool is {} as the server states it; no GPU was read, so on a CPU build of vLLM that is host memory (VLLM_CPU_KVCACHE_SPACE), reserved at start.",
                human_bytes(kv)
            )
        });
    }
    if let Some(u) = f.kv_cache_usage_max {
        let tokens = f
            .kv_cache_tokens
            .map_or(String::new(), |t| format!(" of a {t}-token pool"));
        notes.push(format!(
            "At most {:.1} % of the KV cache{tokens} was in use: that, plus the weights, is what the workload needed.",
            u * 100.0
        ));
    }
    if let (Some((w, _)), Some(r)) = (&f.weights, reserved_bytes)
        && r > *w
        && f.preallocated_fraction.is_none()
    {
        notes.push(format!(
            "{} beyond the weights went to KV cache, activations and the runtime.",
            human_bytes(r - w)
        ));
    }
    if let Some(rss) = f.rss_max {
        notes.push(format!(
            "The server's processes held up to {} of CPU memory (resident).",
            human_bytes(rss)
        ));
    }
    if !f.gpu_available && f.ollama_vram.is_none() {
        notes.push("No GPU was read: there are no GPU memory figures.".into());
    }
    MemoryReport {
        weights_bytes: f.weights.as_ref().map(|w| w.0),
        weights_source: f.weights.as_ref().map(|w| w.1.clone()),
        reserved_bytes,
        reserved_pct,
        reserved_source: reserved_source.map(str::to_string),
        preallocated_fraction: f.preallocated_fraction,
        kv_cache_usage_max: f.kv_cache_usage_max,
        kv_cache_tokens: f.kv_cache_tokens,
        server_rss_max_bytes: f.rss_max,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_without_a_gpu_is_not_said_to_preallocate_gpu_memory() {
        // vLLM's CPU build: the facts the engine gathers (no pre-allocation without a GPU).
        let m = explain_memory(&MemoryFacts {
            kv_cache_bytes: Some(2 << 30),
            gpu_available: false,
            ..Default::default()
        });
        let text = m.notes.join(" ");
        assert!(!text.contains("pre-allocates"), "{text}");
        assert!(
            text.contains("KV cache pool is 2.00 GiB") && text.contains("host memory"),
            "{text}"
        );
    }

    #[test]
    fn a_preallocating_server_is_called_a_reservation() {
        let m = explain_memory(&MemoryFacts {
            weights: Some((16 << 30, "safetensors files".into())),
            server_mem_max: Some(72 << 30),
            device_total: Some(80 << 30),
            preallocated_fraction: Some(0.9),
            kv_cache_usage_max: Some(0.42),
            kv_cache_tokens: Some(466_016),
            gpu_available: true,
            ..Default::default()
        });
        assert_eq!(m.reserved_pct, Some(90.0));
        let text = m.notes.join(" ");
        assert!(text.contains("reservation"), "{text}");
        assert!(text.contains("42.0 %"), "{text}");
        assert!(text.contains("466016-token"), "{text}");
    }

    #[test]
    fn without_a_gpu_only_the_weights_are_stated() {
        let m = explain_memory(&MemoryFacts {
            weights: Some((100 << 20, "gguf file".into())),
            ..Default::default()
        });
        assert_eq!(m.reserved_bytes, None);
        assert!(m.notes.iter().any(|n| n.contains("No GPU was read")));
    }
}
