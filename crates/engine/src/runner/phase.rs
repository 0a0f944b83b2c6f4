//! Phases: one driver step at a time (publishing each record as it finishes and attributing
//! telemetry to the step), load steps with their rates and warnings, and the concurrency sweep.

use super::ctx::{Abort, BEHIND_SCHEDULE, Ctx, DEFAULT_SWEEP_MAX, SLO_BREAK_PASS_RATE};
use super::watch::{Resources, Watch};
use crate::backend::Client;
use crate::events::{Event, Observer};
use crate::load::driver::{self, Schedule, Shared, Step};
use crate::record::{Phase, RequestRecord};
use crate::report::{LoadStep, PhaseStats, TargetReport, saturation};
use std::time::Duration;
use tokio::sync::mpsc;

/// Closed-loop steps in increasing concurrency. A default sweep (no list) doubles until
/// throughput stops growing or the SLO breaks; any sweep stops when a step fails entirely.
pub(super) async fn sweep(
    steps: Option<Vec<u32>>,
    client: &Client,
    ctx: &Ctx<'_>,
    watch: &Watch<'_>,
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
            watch,
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
#[allow(clippy::too_many_arguments)]
pub(super) async fn load_step(
    schedule: Schedule,
    phase: Phase,
    step: Option<u32>,
    client: &Client,
    ctx: &Ctx<'_>,
    watch: &Watch<'_>,
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
        run_step(warmup, client, ctx, watch, obs, target).await?;
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
    let done = run_step(run, client, ctx, watch, obs, target).await?;
    let mut report = done.stats.report();
    done.resources.attach(&mut report, watch.tel);
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

pub(super) struct StepDone {
    pub stats: PhaseStats,
    pub first: Option<RequestRecord>,
    pub duration: Duration,
    /// Telemetry read during the step.
    pub resources: Resources,
}

/// Run one driver step, publishing each record as it finishes and accumulating the phase
/// statistics (warm-up records are published but not counted).
pub(super) async fn run_step(
    step: Step,
    client: &Client,
    ctx: &Ctx<'_>,
    watch: &Watch<'_>,
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
    let mark = watch.begin().await;
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
        .map_err(|e| Abort::Target(super::error::TargetError::Driver(e.to_string())))?;
    let resources = watch.end(&mark).await;
    obs.on_event(&Event::PhaseFinished { target, phase })?;
    Ok(StepDone {
        stats,
        first,
        duration,
        resources,
    })
}
