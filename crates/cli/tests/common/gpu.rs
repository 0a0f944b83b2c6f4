//! A fake GPU whose readings follow a mock's in-flight streams.

use super::mock::Shared;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Fake GPU memory.
pub const FAKE_TOTAL: u64 = 16 << 30;
/// Fake GPU memory used while idle.
pub const FAKE_IDLE: u64 = 1 << 30;
/// Fake GPU memory per running stream.
pub const FAKE_PER_STREAM: u64 = 512 << 20;

/// The fake GPU's total-energy counter runs at this many watts, busy or idle: a phase's
/// energy is this × its span.
pub const FAKE_COUNTER_W: f64 = 250.0;

/// A GPU whose readings follow a mock's in-flight streams: 100 % busy and `FAKE_PER_STREAM`
/// more memory per stream, idle otherwise; the server's processes hold what is above idle.
/// Its NVML energy counter (when `counter`) advances at [`FAKE_COUNTER_W`] from `born`.
pub struct FakeGpu {
    pub mock: Arc<Shared>,
    pub info: Vec<servebench_engine::telemetry::gpu::DeviceInfo>,
    pub counter: bool,
    pub born: std::time::Instant,
}

impl servebench_engine::telemetry::gpu::GpuSource for FakeGpu {
    fn devices(&self) -> &[servebench_engine::telemetry::gpu::DeviceInfo] {
        &self.info
    }
    fn sample(&mut self, pids: &[u32]) -> Vec<servebench_engine::telemetry::DeviceSample> {
        let running = self.mock.running.load(Ordering::SeqCst) as u64;
        vec![servebench_engine::telemetry::DeviceSample {
            index: 0,
            mem_used_bytes: Some(FAKE_IDLE + running * FAKE_PER_STREAM),
            mem_total_bytes: Some(FAKE_TOTAL),
            gpu_util_pct: Some(if running > 0 { 100.0 } else { 0.0 }),
            mem_util_pct: Some(0.0),
            power_w: Some(if running > 0 { 300.0 } else { 60.0 }),
            temperature_c: Some(40.0),
            sm_clock_mhz: Some(1980.0),
            process_mem_bytes: (!pids.is_empty()).then_some(running * FAKE_PER_STREAM),
            // A counter that starts well above 0, as a driver's does.
            energy_mj: self.counter.then(|| {
                5_000_000 + (self.born.elapsed().as_secs_f64() * FAKE_COUNTER_W * 1000.0) as u64
            }),
        }]
    }
}
