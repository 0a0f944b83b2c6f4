//! The engine: drives each target of a plan through launch (if managed), probe, the cold phase
//! and the warm phase, publishing [`Event`]s, and assembles the [`Report`].
//!
//! A target that cannot be measured is reported as `failed` with its error and the run moves on
//! to the next; a failed request is recorded as a failure and the phase continues.

use crate::backend::{Client, GenParams, ollama};
use crate::events::{Event, Observer};
use crate::load::driver::{self, Schedule, Shared, Step};
use crate::load::profile::Profile;
use crate::load::synthetic;
use crate::plan::{Api, Plan, TargetSpec};
use crate::prompts::Prompt;
use crate::record::{Outcome, Phase, RequestRecord};
use crate::report::{
    Load, LoadSource, LoadStep, ModelInfo, PhaseStats, Phases, Report, RunSettingsReport,
    SCHEMA_VERSION, TargetReport, TargetStatus, saturation,
};
use crate::server::{ManagedServer, port_in_use};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long Ollama may take to drop a model after `keep_alive: 0`.
const UNLOAD_WAIT: Duration = Duration::from_secs(60);
/// SIGTERM → SIGKILL grace for managed servers.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Default spawn → ready limit for managed servers.
const READY_TIMEOUT_S: f64 = 300.0;

/// The run could not continue (not a target failure: those are reported, not returned).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An observer (the journal) could not record an event.
    #[error("cannot record results: {0}")]
    Io(#[from] std::io::Error),
}

enum Abort {
    Target(String),
    Io(std::io::Error),
    Cancelled,
}

impl From<std::io::Error> for Abort {
    fn from(e: std::io::Error) -> Self {
        Abort::Io(e)
    }
}

/// Sweep steps when none are given: 1, 2, 4, … 1024, until saturation or an SLO break.
const DEFAULT_SWEEP_MAX: u32 = 1024;
/// A default sweep stops when fewer than this share of requests meet the SLO.
const SLO_BREAK_PASS_RATE: f64 = 0.9;
/// The client fell behind an open-loop schedule when its largest send lag exceeds this share of
/// the scheduled span (sending took more than 10 % longer than the schedule).
const BEHIND_SCHEDULE: f64 = 0.10;

struct Ctx<'a> {
    plan: &'a Plan,
    prompts: Arc<[Prompt]>,
    out_dir: &'a Path,
    cancel: &'a CancellationToken,
    params: GenParams,
}

/// Run every target of `plan` and return the report. Records are published as
/// [`Event::RequestFinished`] the moment each request ends.
pub async fn run(
    plan: &Plan,
    prompts: &[Prompt],
    out_dir: &Path,
    observer: &mut dyn Observer,
    cancel: &CancellationToken,
) -> Result<Report, RunError> {
    let s = &plan.settings;
    let mut prompts = prompts.to_vec();
    if let Some(out) = s.output_tokens {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(s.seed);
        prompts
            .iter_mut()
            .for_each(|p| p.output_tokens = Some(out.sample(&mut rng)));
    }
    let ctx = Ctx {
        plan,
        prompts: prompts.into(),
        out_dir,
        cancel,
        params: GenParams {
            max_tokens: s.max_tokens,
            temperature: s.temperature,
            seed: s.seed,
            endpoint: s.endpoint,
            timeout: Duration::from_secs_f64(s.timeout_s),
        },
    };
    let created_at = chrono::Utc::now().to_rfc3339();
    let mut targets = Vec::new();
    for spec in &plan.targets {
        if cancel.is_cancelled() {
            let mut t = blank_report(spec);
            fail(&mut t, "not run: the run was interrupted".into());
            targets.push(t);
            continue;
        }
        observer.on_event(&Event::TargetStarted { target: &spec.name })?;
        let t = run_target(spec, &ctx, observer).await?;
        observer.on_event(&Event::TargetFinished(&t))?;
        targets.push(t);
    }
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        servebench_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at,
        interrupted: cancel.is_cancelled(),
        settings: RunSettingsReport {
            warm: s.warm,
            max_tokens: s.max_tokens,
            temperature: s.temperature,
            seed: s.seed,
            endpoint: s.endpoint,
            prompts: s.prompt_source(),
            prompt_count: if s.input_tokens.is_some() {
                crate::plan::SYNTHETIC_PROMPTS
            } else {
                ctx.prompts.len()
            },
            timeout_s: s.timeout_s,
            profile: s.profile.to_string(),
            requests: s.requests,
            duration_s: s.duration_s,
            warmup: s.warmup,
            slo: s.slo,
        },
        targets,
    })
}

fn blank_report(spec: &TargetSpec) -> TargetReport {
    TargetReport {
        name: spec.name.clone(),
        api: spec.api,
        url: spec.url.clone(),
        model: spec.model.clone(),
        status: TargetStatus::Ok,
        error: None,
        managed: spec.launch.is_some(),
        server_version: None,
        model_info: ModelInfo::default(),
        load: Load::default(),
        cold_verified: false,
        phases: Phases::default(),
        saturation: None,
        sweep_stop_reason: None,
        prompt_calibration: None,
    }
}

fn fail(t: &mut TargetReport, error: String) {
    t.status = TargetStatus::Failed;
    t.error = Some(error);
}

async fn run_target(
    spec: &TargetSpec,
    ctx: &Ctx<'_>,
    obs: &mut dyn Observer,
) -> Result<TargetReport, RunError> {
    let client = Client::new(spec.api, &spec.url, &spec.model);
    let mut t = blank_report(spec);
    let mut server = None;
    let result = measure(spec, &client, ctx, obs, &mut t, &mut server).await;
    if let Some(s) = server {
        obs.on_event(&Event::Note {
            target: &spec.name,
            message: "stopping server".into(),
        })?;
        s.stop(STOP_GRACE).await;
    }
    match result {
        Ok(()) => {}
        Err(Abort::Cancelled) if t.phases.cold.is_none() => fail(
            &mut t,
            format!("{}: interrupted before anything was measured", spec.name),
        ),
        Err(Abort::Cancelled) => {}
        Err(Abort::Target(e)) => fail(&mut t, format!("{}: {e}", spec.name)),
        Err(Abort::Io(e)) => return Err(RunError::Io(e)),
    }
    Ok(t)
}

async fn measure(
    spec: &TargetSpec,
    client: &Client,
    ctx: &Ctx<'_>,
    obs: &mut dyn Observer,
    t: &mut TargetReport,
    server: &mut Option<ManagedServer>,
) -> Result<(), Abort> {
    let name = spec.name.as_str();
    let note = |message: String| Event::Note {
        target: name,
        message,
    };
    let mut launch_s = None;
    if let Some(cmd) = &spec.launch {
        let url = url::Url::parse(&spec.url).map_err(|e| Abort::Target(e.to_string()))?;
        let (host, port) = (
            url.host_str().unwrap_or("localhost"),
            url.port_or_known_default().unwrap_or(80),
        );
        if port_in_use(host, port) {
            return Err(Abort::Target(format!(
                "{host}:{port} is already in use before launch: stop what listens there or change the port"
            )));
        }
        obs.on_event(&note(format!("launching {}", cmd.join(" "))))?;
        let log = ctx.out_dir.join(format!("server-{name}.log"));
        let s = server
            .insert(ManagedServer::spawn(cmd, &log).map_err(|e| Abort::Target(e.to_string()))?);
        let timeout = Duration::from_secs_f64(spec.ready_timeout_s.unwrap_or(READY_TIMEOUT_S));
        let ready = tokio::select! {
            r = s.wait_ready(timeout, || async { client.probe().await.is_ok() }) => r,
            _ = ctx.cancel.cancelled() => return Err(Abort::Cancelled),
        };
        let d = ready.map_err(|e| Abort::Target(e.to_string()))?;
        launch_s = Some(d.as_secs_f64());
        obs.on_event(&note(format!("ready after {:.2} s", d.as_secs_f64())))?;
    }
    t.load.launch_s = launch_s;
    t.server_version = client
        .probe()
        .await
        .map_err(|e| Abort::Target(e.to_string()))?;
    t.model_info = client
        .model_info()
        .await
        .map_err(|e| Abort::Target(e.to_string()))?;

    // Synthetic prompts are sized in this server's own tokens.
    let s = &ctx.plan.settings;
    let prompts = match s.input_tokens {
        Some(input) => {
            let cal = client
                .calibrate()
                .await
                .map_err(|e| Abort::Target(e.to_string()))?;
            obs.on_event(&note(format!(
                "synthetic prompts: {:.3} words per token (measured with {})",
                cal.words_per_token, cal.method
            )))?;
            let p = synthetic::prompts(
                crate::plan::SYNTHETIC_PROMPTS,
                input,
                s.output_tokens,
                cal.words_per_token,
                s.seed,
            );
            t.prompt_calibration = Some(cal);
            p.into()
        }
        None => ctx.prompts.clone(),
    };
    let ctx = &Ctx { prompts, ..*ctx };

    // Cold: make sure the next request pays for the load, or say that it may not have.
    let unloaded = if spec.api == Api::Ollama {
        obs.on_event(&note("unloading the model for a cold start".into()))?;
        ollama::unload(client, UNLOAD_WAIT)
            .await
            .map_err(|e| Abort::Target(e.to_string()))?
    } else {
        false
    };
    let sequential = |phase, requests, prompt_offset| Step {
        schedule: Schedule::Closed(1),
        requests: Some(requests),
        duration: None,
        phase,
        step: None,
        prompt_offset,
    };
    let cold = run_step(sequential(Phase::Cold, 1, 0), client, ctx, obs, name).await?;
    if let Some(first) = &cold.first {
        match first.outcome {
            Outcome::Http(404) => {
                return Err(Abort::Target(client.model_not_found().await.to_string()));
            }
            Outcome::Connect => {
                return Err(Abort::Target(format!(
                    "nothing is listening at {} ({}): start the server or fix the url",
                    client.base(),
                    first.error.as_deref().unwrap_or("connection failed")
                )));
            }
            _ => {}
        }
    }
    let server_load = cold
        .first
        .as_ref()
        .and_then(|r| r.server_timings.as_ref()?.load)
        .map(|d| d.as_secs_f64());
    (t.cold_verified, t.load.seconds, t.load.source) = match (spec.api, launch_s) {
        (Api::Ollama, _) => (
            unloaded,
            server_load,
            server_load.map(|_| LoadSource::Server),
        ),
        (Api::Openai, Some(l)) => (true, Some(l), Some(LoadSource::Launch)),
        (Api::Openai, None) => (false, None, None),
    };
    if spec.api == Api::Ollama
        && let Ok(Some((size, vram))) = ollama::loaded(client).await
    {
        t.model_info.loaded_bytes = Some(size);
        t.model_info.loaded_vram_bytes = Some(vram);
    }
    t.phases.cold = Some(cold.stats.report());
    let (mut sent, mut ok) = (cold.stats.requests(), cold.stats.ok());
    if ctx.cancel.is_cancelled() {
        return Err(Abort::Cancelled);
    }

    let warm_n = ctx.plan.settings.warm;
    if warm_n > 0 {
        let warm = run_step(
            sequential(Phase::Warm, warm_n.into(), 1),
            client,
            ctx,
            obs,
            name,
        )
        .await?;
        t.phases.warm = Some(warm.stats.report());
        sent += warm.stats.requests();
        ok += warm.stats.ok();
    }
    if sent > 0 && ok == 0 && !ctx.cancel.is_cancelled() {
        let first = cold.first.as_ref();
        return Err(Abort::Target(format!(
            "all {sent} requests failed (first: {} {})",
            first.map_or(String::new(), |r| r.outcome.kind()),
            first.and_then(|r| r.error.clone()).unwrap_or_default()
        )));
    }

    match ctx.plan.settings.profile.clone() {
        Profile::Sequential => {}
        Profile::Concurrency(c) => {
            t.phases.load = Some(
                load_step(
                    Schedule::Closed(c),
                    Phase::Load,
                    None,
                    client,
                    ctx,
                    obs,
                    name,
                )
                .await?,
            );
        }
        Profile::Rate { rate, arrival } => {
            let seed = ctx.plan.settings.seed;
            let schedule = Schedule::Open {
                rate,
                arrival,
                seed,
            };
            t.phases.load =
                Some(load_step(schedule, Phase::Load, None, client, ctx, obs, name).await?);
        }
        Profile::Sweep(steps) => sweep(steps, client, ctx, obs, t).await?,
    }
    if ctx.cancel.is_cancelled() {
        return Err(Abort::Cancelled);
    }
    Ok(())
}

/// Closed-loop steps in increasing concurrency. A default sweep (no list) doubles until
/// throughput stops growing or the SLO breaks; any sweep stops when a step fails entirely.
async fn sweep(
    steps: Option<Vec<u32>>,
    client: &Client,
    ctx: &Ctx<'_>,
    obs: &mut dyn Observer,
    t: &mut TargetReport,
) -> Result<(), Abort> {
    let explicit = steps.is_some();
    let steps = steps.unwrap_or_else(|| {
        std::iter::successors(Some(1u32), |c| Some(c * 2))
            .take_while(|c| *c <= DEFAULT_SWEEP_MAX)
            .collect()
    });
    let slo = ctx.plan.settings.slo;
    for (k, &c) in steps.iter().enumerate() {
        if ctx.cancel.is_cancelled() {
            break;
        }
        let name = t.name.clone();
        let step = load_step(
            Schedule::Closed(c),
            Phase::Sweep,
            Some(k as u32),
            client,
            ctx,
            obs,
            &name,
        )
        .await?;
        let (ok, failures, pass) = (
            step.phase.ok,
            step.phase.failures.clone(),
            step.slo_pass_rate,
        );
        t.phases.sweep.push(step);
        let reason = if ok == 0 {
            let kinds: Vec<String> = failures.iter().map(|(k, n)| format!("{k}: {n}")).collect();
            Some(format!(
                "every request at concurrency {c} failed ({})",
                kinds.join(", ")
            ))
        } else if explicit {
            None
        } else if !slo.is_empty() && pass.is_some_and(|p| p < SLO_BREAK_PASS_RATE) {
            Some(format!(
                "SLO broken at concurrency {c}: {:.0} % of requests met it (threshold {:.0} %)",
                pass.unwrap_or(0.0) * 100.0,
                SLO_BREAK_PASS_RATE * 100.0
            ))
        } else {
            saturation(&t.phases.sweep).map(|s| {
                format!(
                    "saturated: output throughput grew by less than {:.0} % after concurrency {}",
                    crate::report::SATURATION_GROWTH * 100.0,
                    s.concurrency
                )
            })
        };
        if let Some(r) = reason {
            obs.on_event(&Event::Note {
                target: &t.name,
                message: format!("sweep stopped: {r}"),
            })?;
            if ok == 0 || k + 1 < steps.len() {
                t.sweep_stop_reason = Some(r);
            }
            break;
        }
    }
    t.saturation = saturation(&t.phases.sweep);
    Ok(())
}

/// Warm up (uncounted), then run one load phase or sweep step and describe it.
async fn load_step(
    schedule: Schedule,
    phase: Phase,
    step: Option<u32>,
    client: &Client,
    ctx: &Ctx<'_>,
    obs: &mut dyn Observer,
    target: &str,
) -> Result<LoadStep, Abort> {
    let s = &ctx.plan.settings;
    let (concurrency, rate, profile) = match schedule {
        Schedule::Closed(c) => (Some(c), None, format!("concurrency:{c}")),
        Schedule::Open { rate, .. } => (None, Some(rate), s.profile.to_string()),
    };
    if s.warmup > 0 {
        let warm_streams = concurrency.unwrap_or(1);
        let warmup = Step {
            schedule: Schedule::Closed(warm_streams),
            requests: Some(s.warmup),
            duration: None,
            phase: Phase::Warmup,
            step,
            prompt_offset: 1,
        };
        run_step(warmup, client, ctx, obs, target).await?;
    }
    let default_requests = match schedule {
        Schedule::Closed(c) => (4 * u64::from(c)).max(16),
        Schedule::Open { rate, .. } => ((30.0 * rate).ceil() as u64).max(16),
    };
    let duration = s.duration_s.map(Duration::from_secs_f64);
    let run = Step {
        schedule,
        requests: s
            .requests
            .or(duration.is_none().then_some(default_requests)),
        duration,
        phase,
        step,
        prompt_offset: 1,
    };
    let done = run_step(run, client, ctx, obs, target).await?;
    let report = done.stats.report();
    let d = done.duration.as_secs_f64();
    let per_s = |n: u64| (d > 0.0).then(|| n as f64 / d);
    let mut warnings = Vec::new();
    if let (Some(r), Some(lag), Some(span)) = (
        rate,
        report.schedule_lag_s.max,
        done.stats.scheduled_span_s(),
    ) && lag > BEHIND_SCHEDULE * span
    {
        warnings.push(format!(
            "the client could not sustain {r} req/s: it fell {lag:.3} s behind a {span:.3} s schedule (over {:.0} %); latencies from schedule include the delay",
            BEHIND_SCHEDULE * 100.0
        ));
    }
    for w in &warnings {
        obs.on_event(&Event::Note {
            target,
            message: format!("warning: {w}"),
        })?;
    }
    Ok(LoadStep {
        profile,
        concurrency,
        rate,
        duration_s: d,
        request_rate_rps: per_s(report.ok),
        send_rate_rps: done.stats.send_rate_rps(),
        goodput_rps: per_s(done.stats.slo_met()),
        slo_pass_rate: (report.requests > 0)
            .then(|| done.stats.slo_met() as f64 / report.requests as f64),
        warnings,
        phase: report,
    })
}

struct StepDone {
    stats: PhaseStats,
    first: Option<RequestRecord>,
    duration: Duration,
}

/// Run one driver step, publishing each record as it finishes and accumulating the phase
/// statistics (warm-up records are published but not counted).
async fn run_step(
    step: Step,
    client: &Client,
    ctx: &Ctx<'_>,
    obs: &mut dyn Observer,
    target: &str,
) -> Result<StepDone, Abort> {
    let phase = step.phase;
    obs.on_event(&Event::PhaseStarted {
        target,
        phase,
        total: step.requests.unwrap_or(0),
    })?;
    let shared = Shared {
        client: client.clone(),
        prompts: ctx.prompts.clone(),
        params: ctx.params,
        target: target.into(),
        cancel: ctx.cancel.clone(),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let driver = tokio::spawn(driver::run(shared, step, tx));
    let mut stats = PhaseStats::new(ctx.plan.settings.slo);
    let mut first = None;
    while let Some(rec) = rx.recv().await {
        obs.on_event(&Event::RequestFinished(&rec))?;
        if phase != Phase::Warmup {
            stats.add(&rec);
        }
        if first.is_none() {
            first = Some(rec);
        }
    }
    let duration = driver
        .await
        .map_err(|e| Abort::Target(format!("load driver failed: {e}")))?;
    obs.on_event(&Event::PhaseFinished { target, phase })?;
    Ok(StepDone {
        stats,
        first,
        duration,
    })
}
