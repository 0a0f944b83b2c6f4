//! `servebench gpu`: what GPU telemetry this machine offers, with a few live readings.

use servebench_engine::telemetry::gpu;
use std::process::ExitCode;
use std::time::Duration;

/// Print the devices and `samples` readings `interval` seconds apart.
pub fn run(args: &crate::args::GpuArgs) -> ExitCode {
    if !(args.interval > 0.0 && args.interval <= 60.0) {
        eprintln!(
            "servebench: --interval {} out of range: use (0, 60] seconds",
            args.interval
        );
        return ExitCode::from(2);
    }
    let mut source = match gpu::open() {
        Ok(s) => s,
        Err(reason) => {
            eprintln!("servebench: no GPU telemetry: {reason}");
            return ExitCode::from(1);
        }
    };
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    for d in source.devices() {
        let line = format!(
            "GPU {}: {} ({} GiB){}",
            d.index,
            d.name,
            d.mem_total_bytes
                .map_or("?".into(), |b| format!("{:.1}", gib(b))),
            d.uuid
                .as_deref()
                .map_or(String::new(), |u| format!(", {u}"))
        );
        if let Err(e) = crate::stdout::print(&line) {
            eprintln!("servebench: {e:#}");
            return ExitCode::from(1);
        }
    }
    let opt = |v: Option<f64>, unit: &str| v.map_or("—".into(), |v| format!("{v:.0}{unit}"));
    for k in 0..args.samples {
        if k > 0 {
            std::thread::sleep(Duration::from_secs_f64(args.interval));
        }
        for s in source.sample(&[]) {
            let line = format!(
                "[{k}] GPU {}: mem {} / {} GiB, util {} (mem {}), {}, {}, SM {}\n",
                s.index,
                s.mem_used_bytes
                    .map_or("—".into(), |b| format!("{:.2}", gib(b))),
                s.mem_total_bytes
                    .map_or("—".into(), |b| format!("{:.1}", gib(b))),
                opt(s.gpu_util_pct, " %"),
                opt(s.mem_util_pct, " %"),
                opt(s.power_w, " W"),
                opt(s.temperature_c, " °C"),
                opt(s.sm_clock_mhz, " MHz"),
            );
            if let Err(e) = crate::stdout::print(&line) {
                eprintln!("servebench: {e:#}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}
