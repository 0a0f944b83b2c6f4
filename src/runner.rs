//! The engine: drives each target of a plan through launch (if managed), probe, the cold phase
//! and the warm phase, publishing [`Event`]s, and assembles the [`Report`].
//!
//! A target that cannot be measured is reported as `failed` with its error and the run moves on
//! to the next; a failed request is recorded as a failure and the phase continues.

use crate::backend::{Client, GenParams, RequestMeta, ollama};
use crate::events::{Event, Observer};
use crate::plan::{Api, Plan, TargetSpec};
use crate::prompts::Prompt;
use crate::record::{Outcome, Phase, RequestRecord};
use crate::report::{
    Load, LoadSource, ModelInfo, PhaseReport, Phases, Report, RunSettingsReport, SCHEMA_VERSION,
    TargetReport, TargetStatus,
};
use crate::server::{ManagedServer, port_in_use};
use std::path::Path;
use std::time::Duration;
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

struct Ctx<'a> {
    plan: &'a Plan,
    prompts: &'a [Prompt],
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
    let ctx = Ctx {
        plan,
        prompts,
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
            prompts: s
                .prompts
                .as_ref()
                .map_or("builtin".into(), |p| p.display().to_string()),
            prompt_count: prompts.len(),
            timeout_s: s.timeout_s,
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

    // Cold: make sure the next request pays for the load, or say that it may not have.
    let unloaded = if spec.api == Api::Ollama {
        obs.on_event(&note("unloading the model for a cold start".into()))?;
        ollama::unload(client, UNLOAD_WAIT)
            .await
            .map_err(|e| Abort::Target(e.to_string()))?
    } else {
        false
    };
    let cold = run_phase(Phase::Cold, 1, client, ctx, obs, name).await?;
    if let Some(first) = cold.first() {
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
        .first()
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
    t.phases.cold = Some(PhaseReport::from_records(&cold));
    if ctx.cancel.is_cancelled() {
        return Err(Abort::Cancelled);
    }

    let warm = run_phase(Phase::Warm, ctx.plan.settings.warm, client, ctx, obs, name).await?;
    t.phases.warm = Some(PhaseReport::from_records(&warm));

    let all: Vec<&RequestRecord> = cold.iter().chain(&warm).collect();
    if !all.is_empty() && all.iter().all(|r| !r.outcome.is_ok()) && !ctx.cancel.is_cancelled() {
        let first_error = all[0].error.clone().unwrap_or_default();
        return Err(Abort::Target(format!(
            "all {} requests failed (first: {} {})",
            all.len(),
            all[0].outcome,
            first_error
        )));
    }
    if ctx.cancel.is_cancelled() {
        return Err(Abort::Cancelled);
    }
    Ok(())
}

/// Send `n` sequential requests, cycling through the prompts.
async fn run_phase(
    phase: Phase,
    n: u32,
    client: &Client,
    ctx: &Ctx<'_>,
    obs: &mut dyn Observer,
    target: &str,
) -> Result<Vec<RequestRecord>, Abort> {
    obs.on_event(&Event::PhaseStarted {
        target,
        phase,
        total: n as u64,
    })?;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n as u64 {
        if ctx.cancel.is_cancelled() {
            break;
        }
        // Warm starts after the cold prompt, so its first request is not a prompt-cache hit.
        let offset = usize::from(phase == Phase::Warm);
        let prompt = &ctx.prompts[(i as usize + offset) % ctx.prompts.len()];
        let meta = RequestMeta {
            target,
            phase,
            index: i,
        };
        let rec = client.generate(prompt, &ctx.params, meta, ctx.cancel).await;
        obs.on_event(&Event::RequestFinished(&rec))?;
        let stop =
            matches!(rec.outcome, Outcome::Connect | Outcome::Http(404)) && phase == Phase::Cold;
        out.push(rec);
        if stop {
            break;
        }
    }
    obs.on_event(&Event::PhaseFinished { target, phase })?;
    Ok(out)
}
