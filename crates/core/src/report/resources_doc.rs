//! The resource parts of a report's document: the GPU paragraph, per-target attempts and cold
//! loads, the memory explanation and the per-phase resource table.

use super::document::{Document, Table};
use super::energy::GpuEnergyMethod;
use super::model::{AttemptStatus, TargetReport};
use super::phase::PhaseReport;
use super::resources::GpuReport;
use super::table::fmt;
use crate::server_metrics::{self, Role};

const GIB: f64 = (1u64 << 30) as f64;
const MIB: f64 = (1u64 << 20) as f64;

/// One paragraph on what GPU telemetry there is.
pub fn gpu_paragraph(d: &mut Document, g: &GpuReport) {
    if !g.available {
        d.para(format!(
            "GPU: not read — {}. GPU columns are empty; the server process columns show CPU and memory.",
            g.reason.as_deref().unwrap_or("unknown reason")
        ));
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
    d.para(format!(
        "GPU: {}, read {} times a second{idle}. GPU utilisation is the share of time a kernel ran, not how well the GPU is used.",
        names.join(", "),
        g.sample_hz
    ));
}

/// Attempts, cold-load samples and the memory explanation of one target.
pub fn target_lines(d: &mut Document, t: &TargetReport) {
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
            d.item(format!(
                "Attempt `{}` {why}: {}",
                a.model,
                a.error.as_deref().unwrap_or("no error recorded")
            ));
        }
        if let Some(last) = t.attempts.last().filter(|a| a.status == AttemptStatus::Ok)
            && t.attempts.len() > 1
        {
            d.item(format!(
                "**Measured with the fallback `{}`**: `{}` {}.",
                last.model,
                t.attempts[0].model,
                match t.attempts[0].status {
                    AttemptStatus::Oom => "ran out of memory",
                    _ => "could not be run",
                }
            ));
        }
    }
    if t.load.samples.len() > 1 {
        let secs: Vec<String> = t
            .load
            .samples
            .iter()
            .map(|s| format!("{:.2}", s.seconds))
            .collect();
        d.item(format!(
            "Cold loads: {} ({} s; the load time is their median)",
            t.load.samples.len(),
            secs.join(", ")
        ));
    }
    if !t.memory.notes.is_empty() {
        d.item(format!("Memory: {}", t.memory.notes.join(" ")));
    }
    if !t.model_info.sources.is_empty() {
        d.item(format!(
            "Model facts from: {}",
            t.model_info.sources.join(", ")
        ));
    }
}

/// One column of the resource table: header and cell (`None`: not measured in that phase).
type Column = (&'static str, fn(&PhaseReport) -> Option<String>);

fn gpu_sum(
    p: &PhaseReport,
    f: fn(&super::resources::GpuDeviceStats) -> Option<f64>,
) -> Option<f64> {
    p.gpu
        .as_ref()
        .and_then(|g| g.devices.iter().map(f).sum::<Option<f64>>())
}

fn pair(a: Option<f64>, b: Option<f64>, d: usize) -> Option<String> {
    (a.is_some() || b.is_some()).then(|| format!("{} / {}", fmt(a, d), fmt(b, d)))
}

/// The largest reading over the phase of any gauge that plays `role`.
fn gauge_max(p: &PhaseReport, role: Role) -> Option<f64> {
    let m = p.server_metrics.as_ref()?;
    server_metrics::all(&m.gauges, role)
        .filter_map(|g| g.max)
        .reduce(f64::max)
}

const COLUMNS: &[Column] = &[
    ("GPU mem used (GiB, mean / max)", |p| {
        pair(
            gpu_sum(p, |d| d.mem_used_bytes.mean).map(|b| b / GIB),
            gpu_sum(p, |d| d.mem_used_bytes.max).map(|b| b / GIB),
            2,
        )
    }),
    ("GPU mem (%, max)", |p| {
        let g = p.gpu.as_ref()?;
        let v = g
            .devices
            .iter()
            .filter_map(|d| d.mem_used_pct.max)
            .reduce(f64::max);
        v.map(|v| fmt(Some(v), 1))
    }),
    ("GPU util (%, mean / max)", |p| {
        pair(
            gpu_sum(p, |d| d.gpu_util_pct.mean),
            gpu_sum(p, |d| d.gpu_util_pct.max),
            0,
        )
    }),
    ("Power (W, mean)", |p| {
        gpu_sum(p, |d| d.power_w.mean).map(|v| fmt(Some(v), 0))
    }),
    ("Server GPU mem (GiB, max)", |p| {
        gpu_sum(p, |d| d.server_mem_bytes.max).map(|b| fmt(Some(b / GIB), 2))
    }),
    ("Server CPU (%, mean / max)", |p| {
        let s = p.server_process.as_ref()?;
        pair(s.cpu_pct.mean, s.cpu_pct.max, 0)
    }),
    ("Server RSS (MiB, max)", |p| {
        let s = p.server_process.as_ref()?;
        s.rss_bytes.max.map(|b| fmt(Some(b / MIB), 0))
    }),
    ("KV cache (% of pool, max)", |p| {
        gauge_max(p, Role::KvUsage).map(|f| fmt(Some(f * 100.0), 1))
    }),
    ("Running / waiting (max)", |p| {
        pair(gauge_max(p, Role::Running), gauge_max(p, Role::Waiting), 0)
    }),
    ("Energy (J)", |p| {
        let e = p.energy.as_ref()?;
        let how = match (e.gpu_method, e.cpu_j.is_some()) {
            (Some(GpuEnergyMethod::PowerTimesTime), _) => " (GPU power × time)",
            (Some(_), true) => " (GPU + CPU)",
            (Some(_), false) => " (GPU)",
            (None, _) => " (CPU)",
        };
        Some(format!("{}{how}", fmt(e.total_j, 0))).filter(|_| e.total_j.is_some())
    }),
    ("J / output token", |p| {
        p.energy
            .as_ref()?
            .per_output_token_j
            .map(|j| fmt(Some(j), 3))
    }),
    ("kWh / Mtok", |p| {
        p.energy.as_ref()?.kwh_per_mtok.map(|k| fmt(Some(k), 3))
    }),
];

/// Per-phase resource table, with only the columns some phase measured; nothing when no phase
/// has resource readings.
pub fn phase_table(d: &mut Document, phases: &[(String, &PhaseReport)]) {
    let cols: Vec<&Column> = COLUMNS
        .iter()
        .filter(|(_, f)| phases.iter().any(|(_, p)| f(p).is_some()))
        .collect();
    if cols.is_empty() {
        return;
    }
    let mut head = vec!["Phase".to_string()];
    head.extend(cols.iter().map(|(h, _)| h.to_string()));
    let mut t = Table::new(head);
    for (name, p) in phases {
        let mut cells = vec![name.clone()];
        cells.extend(cols.iter().map(|(_, f)| f(p).unwrap_or_else(|| "—".into())));
        t.row(cells);
    }
    d.table(t);
}

/// What energy could not be read, once (the phases share their sources).
pub fn energy_note(d: &mut Document, phases: &[(String, &PhaseReport)]) {
    let Some(e) = phases
        .iter()
        .find_map(|(_, p)| p.energy.as_ref().filter(|e| e.not_measured.is_some()))
    else {
        return;
    };
    let why = e.not_measured.as_deref().unwrap_or_default();
    d.para(if e.total_j.is_none() {
        format!("Energy not measured: {why}.")
    } else {
        format!("Energy leaves out: {why}.")
    });
}
