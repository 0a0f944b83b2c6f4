//! GPU readings through NVML (`nvml-wrapper`, which loads `libnvidia-ml.so` at run time, so the
//! binary runs unchanged where there is none). Everything above this module sees a
//! [`GpuSource`], so the rest of telemetry is tested with a fake device.

use super::DeviceSample;
use nvml_wrapper::Nvml;
use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;

/// What does not change while a device is sampled.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    /// NVML index.
    pub index: u32,
    /// Product name ("NVIDIA H100 80GB HBM3").
    pub name: String,
    /// Device UUID.
    pub uuid: Option<String>,
    /// Device memory, bytes.
    pub mem_total_bytes: Option<u64>,
}

/// A set of GPUs that can be read.
pub trait GpuSource: Send {
    /// The devices, in index order.
    fn devices(&self) -> &[DeviceInfo];
    /// Read every device now; `server_pids` selects whose device memory counts as the
    /// server's. A field that cannot be read is `None`; this never fails as a whole.
    fn sample(&mut self, server_pids: &[u32]) -> Vec<DeviceSample>;
}

/// The NVIDIA Management Library.
pub struct NvmlSource {
    nvml: Nvml,
    devices: Vec<DeviceInfo>,
}

/// Open NVML and list its devices, or say in words why there are none.
pub fn open() -> Result<Box<dyn GpuSource>, String> {
    NvmlSource::open().map(|s| Box::new(s) as Box<dyn GpuSource>)
}

/// The one-line reason for an NVML failure, as the report states it.
pub fn reason(e: &NvmlError) -> String {
    match e {
        NvmlError::LibloadingError(_) | NvmlError::LibraryNotFound => {
            "libnvidia-ml not found (no NVIDIA driver on this machine)".into()
        }
        NvmlError::DriverNotLoaded => "no NVIDIA device (the NVIDIA driver is not loaded)".into(),
        NvmlError::NoPermission => {
            "NVML refused access: run as a user allowed to read the GPU".into()
        }
        other => format!("NVML unavailable: {other}"),
    }
}

impl NvmlSource {
    /// Initialise NVML and read the static facts of each device.
    pub fn open() -> Result<NvmlSource, String> {
        let nvml = Nvml::init().map_err(|e| reason(&e))?;
        let count = nvml.device_count().map_err(|e| reason(&e))?;
        if count == 0 {
            return Err("no NVIDIA device".into());
        }
        let mut devices = Vec::new();
        for index in 0..count {
            let d = nvml.device_by_index(index).map_err(|e| reason(&e))?;
            devices.push(DeviceInfo {
                index,
                name: d.name().unwrap_or_else(|_| format!("GPU {index}")),
                uuid: d.uuid().ok(),
                mem_total_bytes: d.memory_info().ok().map(|m| m.total),
            });
        }
        Ok(NvmlSource { nvml, devices })
    }
}

impl GpuSource for NvmlSource {
    fn devices(&self) -> &[DeviceInfo] {
        &self.devices
    }

    fn sample(&mut self, server_pids: &[u32]) -> Vec<DeviceSample> {
        self.devices
            .iter()
            .filter_map(|info| {
                let d = self.nvml.device_by_index(info.index).ok()?;
                let mem = d.memory_info().ok();
                let util = d.utilization_rates().ok();
                let process_mem_bytes = (!server_pids.is_empty()).then(|| {
                    let mut procs = d.running_compute_processes().unwrap_or_default();
                    procs.extend(d.running_graphics_processes().unwrap_or_default());
                    let mut seen = std::collections::HashSet::new();
                    procs
                        .iter()
                        .filter(|p| server_pids.contains(&p.pid) && seen.insert(p.pid))
                        .map(|p| match p.used_gpu_memory {
                            UsedGpuMemory::Used(b) => Some(b),
                            UsedGpuMemory::Unavailable => None,
                        })
                        .sum::<Option<u64>>()
                });
                Some(DeviceSample {
                    index: info.index,
                    mem_used_bytes: mem.as_ref().map(|m| m.used),
                    mem_total_bytes: mem.as_ref().map(|m| m.total),
                    gpu_util_pct: util.as_ref().map(|u| f64::from(u.gpu)),
                    mem_util_pct: util.as_ref().map(|u| f64::from(u.memory)),
                    power_w: d.power_usage().ok().map(|mw| f64::from(mw) / 1000.0),
                    temperature_c: d.temperature(TemperatureSensor::Gpu).ok().map(f64::from),
                    sm_clock_mhz: d.clock_info(Clock::SM).ok().map(f64::from),
                    process_mem_bytes: process_mem_bytes.flatten(),
                    energy_mj: d.total_energy_consumption().ok(),
                })
            })
            .collect()
    }
}
