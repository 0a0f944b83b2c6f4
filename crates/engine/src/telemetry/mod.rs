//! Resource telemetry sampled alongside a run and attributed to its phases: GPU devices through
//! NVML ([`gpu`]), the CPU's energy counters ([`rapl`]), the server's process tree
//! ([`process`]) and the server's own Prometheus `/metrics` ([`prometheus`]). [`sampler`] runs the sampling in the background; [`window`]
//! turns the samples of one phase into report statistics (pure).
//!
//! Telemetry never aborts a run: a source that cannot be read is reported as missing, with the
//! reason.

pub mod gpu;
pub mod process;
pub mod prometheus;
pub mod rapl;
pub mod sampler;
pub mod window;

/// One reading of one GPU.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceSample {
    /// NVML device index.
    pub index: u32,
    /// Device memory in use (all processes), bytes.
    pub mem_used_bytes: Option<u64>,
    /// Device memory, bytes.
    pub mem_total_bytes: Option<u64>,
    /// Share of the last sample period a kernel ran, %.
    pub gpu_util_pct: Option<f64>,
    /// Share of the last sample period device memory was read or written, %.
    pub mem_util_pct: Option<f64>,
    /// Board power draw, W.
    pub power_w: Option<f64>,
    /// GPU temperature, °C.
    pub temperature_c: Option<f64>,
    /// SM clock, MHz.
    pub sm_clock_mhz: Option<f64>,
    /// Device memory held by the watched server's processes, bytes; `None` when NVML does
    /// not list them (or no server is watched).
    pub process_mem_bytes: Option<u64>,
    /// NVML's total-energy counter, mJ since the driver loaded; `None` before Volta.
    pub energy_mj: Option<u64>,
}

/// One reading of the watched server's process tree.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessSample {
    /// CPU time of the tree over the last interval / wall time, % of one core (can exceed
    /// 100 on several cores); `None` on the first reading.
    pub cpu_pct: Option<f64>,
    /// Resident memory of the tree, bytes.
    pub rss_bytes: u64,
    /// Processes in the tree.
    pub processes: usize,
}

/// Everything read at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// Unix time of the reading, s.
    pub t_unix_s: f64,
    /// One entry per GPU (empty without NVML).
    pub gpu: Vec<DeviceSample>,
    /// The watched server's process tree, when one is watched and alive.
    pub process: Option<ProcessSample>,
    /// The CPU packages' RAPL counters, µJ, one per zone (empty without RAPL).
    pub rapl_uj: Vec<Option<u64>>,
}

/// Current Unix time, s.
pub fn now_unix_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// One scrape of the server's `/metrics`, reduced to the known serving metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    /// Unix time of the scrape, s.
    pub t_unix_s: f64,
    /// Known metric → value ([`prometheus::KNOWN`]).
    pub values: std::collections::BTreeMap<&'static str, f64>,
}
