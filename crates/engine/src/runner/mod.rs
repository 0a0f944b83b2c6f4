//! The engine: drives each target of a plan through launch (if managed), probe, the cold
//! load(s), the warm phase and the load profile ([`measure`]) — or the IDE-autocomplete
//! workload ([`autocomplete`]), the multi-turn sessions workload ([`sessions`]), the
//! long-context ladder ([`ladder`]) or the team mix of several at once ([`team`]) — each
//! phase through the one phase runner ([`phase`]) and the one load driver
//! ([`crate::load::driver`]), with telemetry sampled throughout and attributed to each phase
//! ([`watch`]), publishing [`Event`]s, and assembles the [`Report`].
//!
//! A target that cannot be measured is reported as `failed` with its error and the run moves on
//! to the next, after trying its fallbacks; a failed request is recorded as a failure and the
//! phase continues.

mod attempt;
mod autocomplete;
mod capacity;
mod capacity_journal;
pub(crate) use capacity_journal::resume_mismatch;
mod ctx;
mod error;
mod ladder;
mod measure;
mod phase;
mod sessions;
mod team;
mod watch;

use crate::backend::{Client, GenParams};
use crate::events::{Event, Observer};
use crate::plan::{Plan, TargetSpec};
use crate::prompts::{Prompt, PromptTags};
use crate::report::team::{ClassMix, TeamReport};
use crate::report::{
    Attempt, AttemptStatus, GpuDevice, GpuReport, Load, MemoryReport, ModelInfo, Phases, Report,
    RunSettingsReport, SCHEMA_VERSION, TargetReport, TargetStatus, WorkloadReport,
};
use crate::server::{LOG_TAIL_LINES, log_tail};
use crate::telemetry::gpu::{self, GpuSource};
use crate::telemetry::sampler::Telemetry;
use crate::telemetry::{now_unix_s, window};
use ctx::{Abort, Ctx, stop_grace};
pub use error::TargetError;
use measure::measure;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The run could not continue (not a target failure: those are reported, not returned).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An observer (the journal) could not record an event.
    #[error("cannot record results: {0}")]
    Io(#[from] std::io::Error),
    /// What the run needs is missing (no Python for the quality graders, …).
    #[error("{0}")]
    Setup(String),
}

/// Lines at the end of a failed server's log searched for out-of-memory messages.
const OOM_SCAN_LINES: usize = 200;

/// How long the idle GPU baseline is read before the first phase.
const BASELINE: Duration = Duration::from_secs(1);

/// Run every target of `plan` and return the report. Records are published as
/// [`Event::RequestFinished`] the moment each request ends. GPUs are read through NVML when
/// the machine has it.
pub async fn run(
    plan: &Plan,
    prompts: &[Prompt],
    out_dir: &Path,
    observer: &mut dyn Observer,
    cancel: &CancellationToken,
) -> Result<Report, RunError> {
    run_with_gpu(plan, prompts, out_dir, observer, cancel, gpu::open()).await
}

/// [`run`] with a given GPU source (or the reason there is none) instead of NVML.
pub async fn run_with_gpu(
    plan: &Plan,
    prompts: &[Prompt],
    out_dir: &Path,
    observer: &mut dyn Observer,
    cancel: &CancellationToken,
    gpu: Result<Box<dyn GpuSource>, String>,
) -> Result<Report, RunError> {
    let s = &plan.settings;
    let run_start = now_unix_s();
    // Checked once, before anything runs: a missing interpreter is one clear error.
    let infill = s.autocomplete().and_then(|a| a.infill.as_ref());
    let grading = s
        .quality
        .as_ref()
        .map(|q| &q.settings)
        .or(infill.map(|i| &i.eval));
    let grader = match grading {
        Some(q) => Some(
            crate::eval::grader(q)
                .await
                .map_err(|e| RunError::Setup(e.to_string()))?,
        ),
        None => None,
    };
    let (source, reason) = match gpu {
        Ok(g) => (Some(g), None),
        Err(r) => (None, Some(r)),
    };
    // `SERVEBENCH_POWERCAP` points at another powercap tree (a test's fake one).
    let powercap = std::env::var_os("SERVEBENCH_POWERCAP").map_or_else(
        || crate::telemetry::rapl::POWERCAP.into(),
        std::path::PathBuf::from,
    );
    let rapl = crate::telemetry::rapl::Rapl::open(&powercap);
    let telemetry = Telemetry::start(source, rapl, s.sample_hz);
    let gpu_report = gpu_report(&telemetry, reason, s.sample_hz).await;
    let ctx = Ctx {
        plan,
        prompts: with_output_lengths(prompts, s).into(),
        out_dir,
        cancel,
        params: gen_params(s),
        telemetry: &telemetry,
        gpu_baseline: gpu_report.baseline.as_ref(),
        grader: grader.as_ref(),
        tags: s.unique_prompts.then(|| PromptTags::new(rand::random())),
        attempt: 0,
    };
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut targets = Vec::new();
    for spec in &plan.targets {
        if cancel.is_cancelled() {
            let mut t = blank_report(spec);
            fail(&mut t, "not run: the run was interrupted".into());
            targets.push(t);
            continue;
        }
        observer.on_event(&Event::TargetStarted { target: &spec.name })?;
        // Boxed: a target's measurement holds every workload's state, too large to sit in the
        // caller's future on a test thread's stack.
        let t = Box::pin(run_target(spec, &ctx, observer)).await?;
        observer.on_event(&Event::TargetFinished(&t))?;
        targets.push(t);
    }
    let mut gpu_out = gpu_report.clone();
    gpu_out.timeline = timeline(&telemetry, run_start);
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        servebench_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at,
        interrupted: cancel.is_cancelled(),
        gpu: gpu_out,
        settings: settings_report(s, ctx.prompts.len()),
        targets,
        repeat: None,
    })
}

/// The run's GPU devices, with idle readings taken before anything runs (`BASELINE`).
async fn gpu_report(telemetry: &Telemetry, reason: Option<String>, sample_hz: f64) -> GpuReport {
    let baseline = if telemetry.devices().is_empty() {
        None
    } else {
        let from = now_unix_s();
        tokio::time::sleep(BASELINE).await;
        telemetry.sample_now();
        window::gpu_phase(&telemetry.between(from, now_unix_s()), telemetry.devices())
    };
    GpuReport {
        available: reason.is_none(),
        reason,
        sample_hz,
        devices: telemetry
            .devices()
            .iter()
            .map(|d| GpuDevice {
                index: d.index,
                name: d.name.clone(),
                uuid: d.uuid.clone(),
                mem_total_bytes: d.mem_total_bytes,
            })
            .collect(),
        baseline,
        timeline: Vec::new(),
    }
}

/// The prompts, each with an exact output length drawn (seeded) when the plan asks for one.
fn with_output_lengths(prompts: &[Prompt], s: &crate::plan::RunSettings) -> Vec<Prompt> {
    let mut prompts = prompts.to_vec();
    if let Some(out) = s.output_tokens {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(s.seed);
        prompts
            .iter_mut()
            .for_each(|p| p.output_tokens = Some(out.sample(&mut rng)));
    }
    prompts
}

/// Sampling and limits every request of the run is sent with.
fn gen_params(s: &crate::plan::RunSettings) -> GenParams {
    GenParams {
        max_tokens: s.max_tokens,
        temperature: s.temperature,
        seed: s.seed,
        endpoint: s.endpoint,
        timeout: Duration::from_secs_f64(s.timeout_s),
        ttft_timeout: s.ttft_timeout_s.map(Duration::from_secs_f64),
        retries: s.retries,
        stop: &[],
    }
}

fn settings_report(s: &crate::plan::RunSettings, prompts: usize) -> RunSettingsReport {
    RunSettingsReport {
        warm: s.warm,
        max_tokens: s.max_tokens,
        temperature: s.temperature,
        seed: s.seed,
        endpoint: s.endpoint,
        prompts: s.prompt_source(),
        prompt_count: if s.input_tokens.is_some() {
            crate::plan::SYNTHETIC_PROMPTS
        } else {
            prompts
        },
        timeout_s: s.timeout_s,
        profile: s.profile.to_string(),
        requests: s.requests,
        duration_s: s.duration_s,
        warmup: s.warmup,
        slo: s.slo,
        cold: s.cold,
        performance: s.performance(),
        workload: s.workload.kind(),
        unique_prompts: s.unique_prompts,
    }
}

/// The report as known before anything runs (settings and targets, no measurements), marked
/// interrupted: written as `run.json` at the start, so a killed run's journal can be turned
/// into a report (`servebench report RUN_DIR`).
pub fn skeleton(plan: &Plan, prompts: usize) -> Report {
    Report {
        schema_version: SCHEMA_VERSION,
        servebench_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        interrupted: true,
        gpu: GpuReport {
            reason: Some("not known: the run did not finish".into()),
            sample_hz: plan.settings.sample_hz,
            ..Default::default()
        },
        settings: settings_report(&plan.settings, prompts),
        targets: plan
            .targets
            .iter()
            .map(|spec| TargetReport {
                // The quality settings, so a killed run's graded answers can be scored.
                quality: plan
                    .settings
                    .quality
                    .as_ref()
                    .map(|q| q.settings.report_settings(q.tasks.len(), None)),
                // The mix, so a killed run's team records can be reported per class.
                workload: plan.settings.team().map(|t| {
                    WorkloadReport::Team(TeamReport {
                        mix: crate::spec::Class::ALL
                            .into_iter()
                            .filter(|c| t.mix.count(*c) > 0)
                            .map(|class| ClassMix {
                                class,
                                count: t.mix.count(class),
                            })
                            .collect(),
                        duration_s: t.duration_s,
                        ..TeamReport::default()
                    })
                }),
                ..blank_report(spec)
            })
            .collect(),
        repeat: None,
    }
}

fn blank_report(spec: &TargetSpec) -> TargetReport {
    TargetReport {
        name: spec.name.clone(),
        api: spec.api,
        server_traits: crate::backend::dialect(spec.api).capabilities().traits,
        url: spec.url.clone(),
        model: spec.model.clone(),
        status: TargetStatus::Ok,
        error: None,
        managed: spec.launch.is_some(),
        server_threads: spec.launch.as_deref().and_then(launch_threads),
        server_version: None,
        model_check: None,
        model_info: ModelInfo::default(),
        load: Load::default(),
        cold_verified: false,
        phases: Phases::default(),
        workload: None,
        saturation: None,
        sweep_stop_reason: None,
        prompt_calibration: None,
        memory: MemoryReport::default(),
        attempts: Vec::new(),
        quality: None,
    }
}

/// The thread count a launch command states: `--threads N`, `--threads=N`, `-t N`.
fn launch_threads(cmd: &[String]) -> Option<u32> {
    cmd.iter().enumerate().find_map(|(i, a)| {
        let v = match a.as_str() {
            "--threads" | "-t" => cmd.get(i + 1)?.as_str(),
            a => a.strip_prefix("--threads=")?,
        };
        v.parse().ok()
    })
}

fn fail(t: &mut TargetReport, error: String) {
    t.status = TargetStatus::Failed;
    t.error = Some(error);
}

/// Measure a target: its plan entry, then each fallback in turn while attempts fail (and the
/// run goes on). The report is the last attempt's, with every attempt listed.
async fn run_target(
    spec: &TargetSpec,
    ctx: &Ctx<'_>,
    obs: &mut dyn Observer,
) -> Result<TargetReport, RunError> {
    let mut attempts = Vec::new();
    let mut k = 0;
    loop {
        let Some(cand) = spec.attempt(k) else {
            unreachable!("attempt 0 is the target itself")
        };
        let (mut t, attempt) = match api_key(spec, &cand) {
            Ok(key) => run_attempt(spec, &cand, k, key.as_deref(), ctx, obs).await?,
            Err(message) => {
                let mut t = blank_report(&cand);
                fail(&mut t, message);
                return Ok(t);
            }
        };
        let error = attempt.error.clone();
        let oom = attempt.status == AttemptStatus::Oom;
        attempts.push(attempt);
        if let Some(e) = &error {
            if !ctx.cancel.is_cancelled()
                && let Some(next) = spec.attempt(k + 1)
            {
                let why = if oom { "ran out of memory" } else { "failed" };
                obs.on_event(&Event::Note {
                    target: &spec.name,
                    message: format!("{} {why} ({e}); trying fallback {}", cand.model, next.model),
                })?;
                k += 1;
                continue;
            }
            fail(&mut t, format!("{}: {e}", spec.name));
        }
        t.attempts = attempts;
        return Ok(t);
    }
}

/// The API key of an attempt, from the variable it names; `Err` is the target's failure
/// when that variable is unset.
fn api_key(spec: &TargetSpec, cand: &TargetSpec) -> Result<Option<String>, String> {
    let Some(var) = &cand.api_key_env else {
        return Ok(None);
    };
    match std::env::var(var) {
        Ok(k) if !k.is_empty() => Ok(Some(k)),
        _ => Err(format!(
            "{}: environment variable {var} (api_key_env) is not set: export the API key in it",
            spec.name
        )),
    }
}

/// One attempt (`k`: 0 for the plan's own model, then fallbacks): measure it, stop its server,
/// and say how it ended (out of memory is found in its error or its server's log).
async fn run_attempt(
    spec: &TargetSpec,
    cand: &TargetSpec,
    k: usize,
    key: Option<&str>,
    ctx: &Ctx<'_>,
    obs: &mut dyn Observer,
) -> Result<(TargetReport, Attempt), RunError> {
    let client = Client::with_key(cand.api, &cand.url, &cand.model, key)
        .with_extra_body(cand.extra_body.clone());
    if let Some(var) = cand.api_key_env.as_deref().filter(|_| key.is_some()) {
        obs.on_event(&Event::Note {
            target: &spec.name,
            message: format!("requests carry Authorization: Bearer [redacted] (the key in ${var})"),
        })?;
    }
    let mut t = blank_report(cand);
    let mut server = None;
    let log_name = match k {
        0 => format!("server-{}.log", spec.name),
        k => format!("server-{}-fallback{k}.log", spec.name),
    };
    let ctx = &Ctx {
        attempt: k as u32,
        prompts: ctx.prompts.clone(),
        tags: ctx.tags.clone(),
        ..*ctx
    };
    let result = measure(cand, &client, ctx, obs, &mut t, &mut server, &log_name).await;
    if let Some(s) = server {
        obs.on_event(&Event::Note {
            target: &spec.name,
            message: "stopping server".into(),
        })?;
        s.stop(stop_grace(cand)).await;
    }
    ctx.telemetry.watch(None);
    let (failure, interrupted_early) = match result {
        Ok(()) => (None, false),
        // Interrupted before any measurement: no cold request and no graded answer.
        Err(Abort::Cancelled) => (
            None,
            t.phases.cold.is_none()
                && t.quality
                    .as_ref()
                    .is_none_or(|q| q.scenarios.values().all(|s| s.passed + s.failed == 0)),
        ),
        Err(Abort::Target(e)) => (Some(e), false),
        Err(Abort::Io(e)) => return Err(RunError::Io(e)),
    };
    // The log of a failed managed server, read once it has stopped (its last words included).
    let log_tail = match (&failure, &cand.launch) {
        (Some(_), Some(_)) => log_tail(&ctx.out_dir.join(&log_name), OOM_SCAN_LINES),
        _ => Vec::new(),
    };
    let failure = failure.map(|e| e.classify(&log_tail));
    let status = match &failure {
        None if interrupted_early => AttemptStatus::Failed,
        None => AttemptStatus::Ok,
        Some(e) if e.is_oom() => AttemptStatus::Oom,
        Some(_) => AttemptStatus::Failed,
    };
    let oom = failure.as_ref().and_then(TargetError::oom_signature);
    let error = match failure {
        Some(e) => Some(e.to_string()),
        None if interrupted_early => Some("interrupted before anything was measured".into()),
        None => None,
    };
    let attempt = Attempt {
        model: cand.model.clone(),
        url: cand.url.clone(),
        status,
        error,
        log_tail: if status == AttemptStatus::Ok {
            Vec::new()
        } else {
            kept_tail(&log_tail, oom)
        },
    };
    Ok((t, attempt))
}

/// The last [`LOG_TAIL_LINES`] lines of a failed server's log; for an out-of-memory failure,
/// the line that says so first when it came earlier (vLLM's engine core states the cause, then
/// the API server prints a 20-line traceback of its own).
fn kept_tail(log_tail: &[String], oom: Option<&str>) -> Vec<String> {
    let start = log_tail.len().saturating_sub(LOG_TAIL_LINES);
    let mut kept = log_tail[start..].to_vec();
    let cause = oom.and_then(|sig| {
        log_tail[..start]
            .iter()
            .rev()
            .find(|l| l.to_lowercase().contains(sig))
    });
    if let Some(line) = cause {
        kept.insert(0, line.clone());
        kept.insert(1, "…".into());
    }
    kept
}

/// The run's GPU readings, averaged over devices and thinned to at most
/// [`crate::report::TIMELINE_POINTS`].
fn timeline(tel: &Telemetry, start: f64) -> Vec<crate::report::TimelinePoint> {
    let readings: Vec<_> = tel
        .between(start, now_unix_s())
        .into_iter()
        .filter(|s| !s.gpu.is_empty())
        .collect();
    let stride = readings
        .len()
        .div_ceil(crate::report::TIMELINE_POINTS)
        .max(1);
    let avg = |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    readings
        .iter()
        .step_by(stride)
        .map(|s| crate::report::TimelinePoint {
            t_s: s.t_unix_s - start,
            gpu_util_pct: avg(s.gpu.iter().filter_map(|d| d.gpu_util_pct).collect()),
            mem_used_pct: avg(s
                .gpu
                .iter()
                .filter_map(|d| Some(d.mem_used_bytes? as f64 / d.mem_total_bytes? as f64 * 100.0))
                .collect()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{LOG_TAIL_LINES, kept_tail, launch_threads};

    #[test]
    fn an_oom_tail_keeps_the_line_that_names_the_cause() {
        // vLLM: the engine core's ValueError, then the API server's traceback.
        let mut log = vec![
            "(EngineCore pid=1) ValueError: Available memory on node 0 (17.6/23.5 GiB) on kv cache allocation is less than requested memory for kv (64.00 GiB).".to_string(),
        ];
        log.extend((0..30).map(|i| format!("  File \"x.py\", line {i}")));
        let kept = kept_tail(&log, Some("less than requested memory for kv"));
        assert_eq!(kept.len(), LOG_TAIL_LINES + 2);
        assert!(kept[0].contains("64.00 GiB"), "{kept:?}");
        assert_eq!(kept[1], "…");
        assert_eq!(kept.last().unwrap(), &log[30]);
        // Not an OOM, or the cause already in the tail: the tail as it is.
        assert_eq!(kept_tail(&log, None), log[11..].to_vec());
        assert_eq!(kept_tail(&log[..5], Some("kv")), log[..5].to_vec());
    }

    #[test]
    fn the_thread_count_is_read_from_the_launch_command() {
        let cmd = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            launch_threads(&cmd("llama-server -m x.gguf --threads 2")),
            Some(2)
        );
        assert_eq!(launch_threads(&cmd("llama-server -t 4 -m x.gguf")), Some(4));
        assert_eq!(launch_threads(&cmd("llama-server --threads=8")), Some(8));
        assert_eq!(launch_threads(&cmd("vllm serve m")), None);
    }
}
