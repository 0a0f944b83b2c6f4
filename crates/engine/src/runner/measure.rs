//! One attempt at one target: launch (if managed), probe, model facts, the cold load(s), the
//! warm phase and the load profile, with telemetry attributed to each phase.

use super::ctx::{Abort, Ctx, READY_TIMEOUT_S, UNLOAD_WAIT, stop_grace};
use super::error::TargetError;
use super::phase::{load_step, run_step, sweep};
use super::watch::{Resources, Watch};
use crate::backend::BackendError;
use crate::backend::{Client, ollama};
use crate::events::{Event, Observer};
use crate::load::driver::{Schedule, Step};
use crate::load::profile::Profile;
use crate::load::synthetic;
use crate::plan::{Api, TargetSpec};
use crate::record::{Outcome, Phase, RequestRecord};
use crate::report::{
    LoadSample, LoadSource, MemoryFacts, PhaseReport, TargetReport, explain_memory,
};
use crate::server::ServerError;
use crate::server::{ManagedServer, port_in_use};
use crate::stats::quantile_sorted;
use crate::telemetry::prometheus::CacheConfig;
use crate::telemetry::sampler::Scraper;
use std::time::Duration;

fn target_err(e: impl Into<TargetError>) -> Abort {
    Abort::Target(e.into())
}

/// Start the managed server of `spec`; returns spawn → ready, s.
async fn launch(
    spec: &TargetSpec,
    client: &Client,
    ctx: &Ctx<'_>,
    obs: &mut dyn Observer,
    server: &mut Option<ManagedServer>,
    log_name: &str,
    restart: bool,
) -> Result<f64, Abort> {
    let Some(cmd) = &spec.launch else {
        return Err(target_err(TargetError::NoLaunchCommand));
    };
    let url = url::Url::parse(&spec.url).map_err(target_err)?;
    let (host, port) = (
        url.host_str().unwrap_or("localhost"),
        url.port_or_known_default().unwrap_or(80),
    );
    if port_in_use(host, port) {
        return Err(target_err(ServerError::PortInUse {
            addr: format!("{host}:{port}"),
        }));
    }
    obs.on_event(&Event::Note {
        target: &spec.name,
        message: format!("launching {} ({})", spec.model, cmd[0]),
    })?;
    let log = ctx.out_dir.join(log_name);
    let s = server.insert(
        ManagedServer::spawn(cmd, &spec.env, spec.cwd.as_deref(), &log, restart)
            .map_err(target_err)?,
    );
    let timeout = Duration::from_secs_f64(spec.ready_timeout_s.unwrap_or(READY_TIMEOUT_S));
    let ready = tokio::select! {
        r = s.wait_ready(timeout, || async { client.probe().await.is_ok() }) => r,
        _ = ctx.cancel.cancelled() => return Err(Abort::Cancelled),
    };
    let d = ready.map_err(target_err)?.as_secs_f64();
    ctx.telemetry.watch(s.pid());
    obs.on_event(&Event::Note {
        target: &spec.name,
        message: format!("ready after {d:.2} s"),
    })?;
    Ok(d)
}

/// Measure one attempt. `log_name` is the managed server's log file name.
pub(super) async fn measure(
    spec: &TargetSpec,
    client: &Client,
    ctx: &Ctx<'_>,
    obs: &mut dyn Observer,
    t: &mut TargetReport,
    server: &mut Option<ManagedServer>,
    log_name: &str,
) -> Result<(), Abort> {
    let mut cache = None;
    let result = phases(spec, client, ctx, obs, t, server, log_name, &mut cache).await;
    t.memory = explain_memory(&memory_facts(t, ctx, cache.as_ref()));
    result
}

#[allow(clippy::too_many_arguments)]
async fn phases(
    spec: &TargetSpec,
    client: &Client,
    ctx: &Ctx<'_>,
    obs: &mut dyn Observer,
    t: &mut TargetReport,
    server: &mut Option<ManagedServer>,
    log_name: &str,
    cache: &mut Option<CacheConfig>,
) -> Result<(), Abort> {
    let name = spec.name.as_str();
    let note = |message: String| Event::Note {
        target: name,
        message,
    };
    let managed = spec.launch.is_some();
    let mut launches = Vec::new();
    if managed {
        launches.push(launch(spec, client, ctx, obs, server, log_name, false).await?);
    } else {
        ctx.telemetry.watch(spec.server_pid);
    }
    t.server_version = client.probe().await.map_err(target_err)?;
    t.model_info = client.model_info().await.map_err(target_err)?;
    if let Some(path) = spec
        .launch
        .as_deref()
        .and_then(|cmd| crate::modelfile::local_models(cmd, spec.cwd.as_deref()).pop())
    {
        crate::modelfile::fill_from_file(&mut t.model_info, &path);
    }

    // Synthetic prompts are sized in this server's own tokens.
    let s = &ctx.plan.settings;
    let prompts = match s.input_tokens {
        Some(input) => {
            let cal = client.calibrate().await.map_err(target_err)?;
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

    if !s.performance {
        return quality(client, ctx, obs, t).await;
    }
    let mut watch = Watch {
        tel: ctx.telemetry,
        scraper: None,
        ollama: (spec.api == Api::Ollama).then(|| client.clone()),
    };
    if spec.api == Api::Openai {
        match Scraper::start(client.http().clone(), client.base()).await {
            Ok(s) => watch.scraper = Some(s),
            Err(reason) => obs.on_event(&note(format!("no server metrics: {reason}")))?,
        }
    }
    *cache = watch
        .scraper
        .as_ref()
        .and_then(|s| s.cache_config().cloned());

    // Cold: make sure each cold request pays for a load, or say that it may not have.
    let cold_n = if managed || spec.api == Api::Ollama {
        s.cold
    } else {
        if s.cold > 1 {
            obs.on_event(&note(format!(
                "--cold {}: servebench cannot reload a server it did not start; measuring one cold request",
                s.cold
            )))?;
        }
        1
    };
    let mut cold_records: Vec<RequestRecord> = Vec::new();
    let mut cold_res = Resources::default();
    for k in 0..cold_n {
        if ctx.cancel.is_cancelled() {
            return Err(Abort::Cancelled);
        }
        if k > 0 && managed {
            obs.on_event(&note(format!("cold load {}/{cold_n}: restarting", k + 1)))?;
            watch.scraper = None;
            ctx.telemetry.watch(None);
            if let Some(old) = server.take() {
                old.stop(stop_grace(spec)).await;
            }
            launches.push(launch(spec, client, ctx, obs, server, log_name, true).await?);
            if spec.api == Api::Openai {
                watch.scraper = Scraper::start(client.http().clone(), client.base())
                    .await
                    .ok();
            }
        }
        let unloaded = if spec.api == Api::Ollama {
            obs.on_event(&note(format!(
                "cold load {}/{cold_n}: unloading the model",
                k + 1
            )))?;
            ollama::unload(client, UNLOAD_WAIT)
                .await
                .map_err(target_err)?
        } else {
            managed
        };
        let cold = run_step(
            sequential(Phase::Cold, 1, 0),
            client,
            ctx,
            &watch,
            obs,
            name,
        )
        .await?;
        let Some(first) = cold.first else {
            return Err(Abort::Cancelled);
        };
        match first.outcome {
            Outcome::Http(404) => return Err(target_err(client.model_not_found().await)),
            Outcome::Http(status @ (401 | 403)) => {
                return Err(target_err(BackendError::Unauthorised {
                    url: client.base().to_string(),
                    status,
                }));
            }
            Outcome::Connect => {
                return Err(target_err(BackendError::NotListening {
                    url: client.base().to_string(),
                    detail: first
                        .error
                        .clone()
                        .unwrap_or_else(|| "connection failed".into()),
                }));
            }
            _ => {}
        }
        let server_load = first
            .server_timings
            .as_ref()
            .and_then(|st| st.load)
            .map(|d| d.as_secs_f64());
        let sample = match (spec.api, launches.get(k as usize)) {
            (Api::Ollama, _) => server_load.map(|l| (l, LoadSource::Server)),
            (Api::Openai, Some(l)) => Some((*l, LoadSource::Launch)),
            (Api::Openai, None) => None,
        };
        if let Some((seconds, source)) = sample {
            t.load.samples.push(LoadSample {
                seconds,
                source,
                verified: unloaded,
                cold_ttft_s: first
                    .outcome
                    .is_ok()
                    .then(|| first.ttft.map(|d| d.as_secs_f64()))
                    .flatten(),
            });
        }
        t.cold_verified = if k == 0 {
            unloaded
        } else {
            t.cold_verified && unloaded
        };
        cold_res.extend(cold.resources);
        cold_records.push(first);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (!v.is_empty()).then(|| quantile_sorted(&v, 0.5))
    };
    t.load.seconds = median(t.load.samples.iter().map(|l| l.seconds).collect());
    t.load.source = t.load.samples.first().map(|l| l.source);
    t.load.launch_s = median(launches);
    if spec.api == Api::Ollama
        && let Ok(Some((size, vram))) = ollama::loaded(client).await
    {
        t.model_info.loaded_bytes = Some(size);
        t.model_info.loaded_vram_bytes = Some(vram);
    }
    let mut cold_report = PhaseReport::cold(&cold_records);
    cold_res.attach(&mut cold_report, ctx.telemetry);
    let (mut sent, mut ok) = (cold_report.requests, cold_report.ok);
    t.phases.cold = Some(cold_report);
    if ctx.cancel.is_cancelled() {
        return Err(Abort::Cancelled);
    }

    if s.warm > 0 {
        let warm = run_step(
            sequential(Phase::Warm, s.warm.into(), 1),
            client,
            ctx,
            &watch,
            obs,
            name,
        )
        .await?;
        let mut report = warm.stats.report();
        warm.resources.attach(&mut report, ctx.telemetry);
        sent += report.requests;
        ok += report.ok;
        t.phases.warm = Some(report);
    }
    if sent > 0 && ok == 0 && !ctx.cancel.is_cancelled() {
        let first = cold_records.first();
        return Err(target_err(TargetError::AllRequestsFailed {
            sent,
            kind: first.map_or(String::new(), |r| r.outcome.kind()),
            detail: first.and_then(|r| r.error.clone()).unwrap_or_default(),
        }));
    }

    let w = &watch;
    match s.profile.clone() {
        Profile::Sequential => {}
        Profile::Concurrency(c) => {
            let step = Schedule::Closed(c);
            t.phases.load =
                Some(load_step(step, Phase::Load, None, client, ctx, w, obs, name).await?);
        }
        Profile::Rate { rate, arrival } => {
            let schedule = Schedule::Open {
                rate,
                arrival,
                seed: s.seed,
            };
            t.phases.load =
                Some(load_step(schedule, Phase::Load, None, client, ctx, w, obs, name).await?);
        }
        Profile::Sweep(steps) => sweep(steps, client, ctx, w, obs, t).await?,
    }
    if ctx.cancel.is_cancelled() {
        return Err(Abort::Cancelled);
    }
    quality(client, ctx, obs, t).await
}

/// The quality evaluation, when asked for, against the server as it stands.
async fn quality(
    client: &Client,
    ctx: &Ctx<'_>,
    obs: &mut dyn Observer,
    t: &mut TargetReport,
) -> Result<(), Abort> {
    let (Some(q), Some(grader)) = (&ctx.plan.settings.quality, ctx.grader) else {
        return Ok(());
    };
    let report = crate::eval::evaluate(
        client,
        &t.name,
        &q.tasks,
        &q.settings,
        grader,
        obs,
        ctx.cancel,
    )
    .await
    .map_err(|e| match e {
        crate::eval::EvalError::Io(io) => Abort::Io(io),
        other => target_err(TargetError::Quality(other.to_string())),
    })?;
    t.quality = Some(report);
    if ctx.cancel.is_cancelled() {
        return Err(Abort::Cancelled);
    }
    Ok(())
}

fn sequential(phase: Phase, requests: u64, prompt_offset: usize) -> Step {
    Step {
        schedule: Schedule::Closed(1),
        requests: Some(requests),
        duration: None,
        phase,
        step: None,
        prompt_offset,
    }
}

/// Gather what [`explain_memory`] needs from the target's phases and the run's GPU baseline.
fn memory_facts(t: &TargetReport, ctx: &Ctx<'_>, cache: Option<&CacheConfig>) -> MemoryFacts {
    let phases: Vec<&PhaseReport> = t
        .phases
        .cold
        .iter()
        .chain(&t.phases.warm)
        .chain(t.phases.load.iter().map(|l| &l.phase))
        .chain(t.phases.sweep.iter().map(|l| &l.phase))
        .collect();
    let max_of = |f: &dyn Fn(&PhaseReport) -> Option<f64>| {
        phases.iter().filter_map(|p| f(p)).reduce(f64::max)
    };
    let sum_devices =
        |p: &PhaseReport, f: &dyn Fn(&crate::report::GpuDeviceStats) -> Option<f64>| {
            let g = p.gpu.as_ref()?;
            g.devices.iter().map(f).sum::<Option<f64>>()
        };
    let server_mem_max = max_of(&|p| sum_devices(p, &|d| d.server_mem_bytes.max));
    let device_max = max_of(&|p| sum_devices(p, &|d| d.mem_used_bytes.max));
    let baseline = ctx.gpu_baseline.and_then(|b| {
        b.devices
            .iter()
            .map(|d| d.mem_used_bytes.mean)
            .sum::<Option<f64>>()
    });
    let kv_cache_usage_max = max_of(&|p| {
        let g = &p.server_metrics.as_ref()?.gauges;
        crate::report::resources_md::KV_GAUGES
            .iter()
            .filter_map(|k| g.get(*k)?.max)
            .reduce(f64::max)
    });
    let weights_source = |sources: &[String]| {
        let has = |p: &str| sources.iter().any(|s| s.starts_with(p));
        if has("gguf:") {
            "GGUF file size"
        } else if has("config.json:") {
            "safetensors files"
        } else if has("/api/tags") {
            "Ollama model size"
        } else {
            "stated by the server"
        }
    };
    MemoryFacts {
        weights: t
            .model_info
            .weights_bytes
            .map(|w| (w, weights_source(&t.model_info.sources).to_string())),
        server_mem_max: server_mem_max.map(|b| b as u64),
        device_mem_above_baseline: match (device_max, baseline) {
            (Some(m), Some(b)) if m > b => Some((m - b) as u64),
            _ => None,
        },
        device_total: ctx
            .telemetry
            .devices()
            .iter()
            .map(|d| d.mem_total_bytes)
            .sum::<Option<u64>>(),
        ollama_vram: t.model_info.loaded_vram_bytes.filter(|v| *v > 0),
        preallocated_fraction: cache.and_then(|c| c.gpu_memory_utilization),
        kv_cache_usage_max,
        kv_cache_tokens: cache.and_then(CacheConfig::kv_tokens),
        rss_max: max_of(&|p| p.server_process.as_ref()?.rss_bytes.max).map(|b| b as u64),
        gpu_available: !ctx.telemetry.devices().is_empty(),
    }
}
