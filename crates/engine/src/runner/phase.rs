//! Phases: one driver step at a time (publishing each record as it finishes, adding it to the
//! attempt's report builder and attributing telemetry to the step), load steps, and the
//! concurrency sweep. Every number a step reports comes from [`crate::report::build`].

use super::ctx::{Abort, DEFAULT_SWEEP_MAX, SLO_BREAK_PASS_RATE};
use super::error::TargetError;
use super::measure::Attempt;
use super::watch::{Resources, Watch};
use crate::events::Event;
use crate::load::driver::{self, Schedule, Shared, Step};
use crate::record::{Phase, RequestRecord};
use crate::report::build::{Schedule as Asked, Window};
use crate::report::{LoadStep, saturation};
use std::time::Duration;
use tokio::sync::mpsc;

/// A step's schedule in words, for notes and stop reasons.
fn describe(s: &Schedule) -> String {
    match s {
        Schedule::Closed(c) => format!("concurrency {c}"),
        Schedule::Open { rate, .. } => format!("rate {rate} req/s"),
        Schedule::At(t) => format!("a trace of {} requests", t.len()),
    }
}

/// What a driver step left behind (its records are in the attempt's builder).
pub(super) struct StepDone {
    pub first: Option<RequestRecord>,
    pub duration: Duration,
    /// Telemetry read during the step.
    pub resources: Resources,
}

impl Attempt<'_, '_> {
    /// Closed-loop steps in increasing concurrency. A default sweep (no list) doubles until
    /// throughput stops growing or the SLO breaks; any sweep stops when a step fails entirely.
    pub(super) async fn sweep(
        &mut self,
        steps: Option<Vec<u32>>,
        watch: &Watch<'_>,
    ) -> Result<(), Abort> {
        let explicit = steps.is_some();
        let steps = steps.unwrap_or_else(|| {
            std::iter::successors(Some(1u32), |c| Some(c * 2))
                .take_while(|c| *c <= DEFAULT_SWEEP_MAX)
                .collect()
        });
        let schedules = steps.into_iter().map(Schedule::Closed).collect();
        self.steps(schedules, explicit, watch).await
    }

    /// A ramp: one step per rate or concurrency, in order, each reported as a sweep step;
    /// it stops only when a step fails entirely.
    pub(super) async fn ramp(
        &mut self,
        schedules: Vec<Schedule>,
        watch: &Watch<'_>,
    ) -> Result<(), Abort> {
        self.steps(schedules, true, watch).await
    }

    async fn steps(
        &mut self,
        steps: Vec<Schedule>,
        explicit: bool,
        watch: &Watch<'_>,
    ) -> Result<(), Abort> {
        let slo = self.ctx.plan.settings.slo;
        for (k, schedule) in steps.iter().enumerate() {
            if self.ctx.cancel.is_cancelled() {
                break;
            }
            let c = describe(schedule);
            self.note(format!("sweep step {k}: {c}"))?;
            let Some(step) = self
                .load_step(schedule.clone(), Phase::Sweep, Some(k as u32), watch)
                .await?
            else {
                // Not one request was sent: cancelled as the step began (the loop's check
                // above stops the sweep itself; nothing was measured to give a reason for).
                break;
            };
            let (ok, pass) = (step.phase.ok, step.slo_pass_rate);
            let kinds: Vec<String> = step
                .phase
                .failures
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            self.t.phases.sweep.push(step);
            let reason = if ok == 0 {
                Some(format!(
                    "every request at {c} failed ({})",
                    kinds.join(", ")
                ))
            } else if explicit {
                None
            } else if !slo.is_empty() && pass.is_some_and(|p| p < SLO_BREAK_PASS_RATE) {
                Some(format!(
                    "SLO broken at {c}: {:.0} % of requests met it (threshold {:.0} %)",
                    pass.unwrap_or(0.0) * 100.0,
                    SLO_BREAK_PASS_RATE * 100.0
                ))
            } else {
                saturation(&self.t.phases.sweep).map(|s| {
                    format!(
                        "saturated: output throughput grew by less than {:.0} % after concurrency {}",
                        crate::report::SATURATION_GROWTH * 100.0,
                        s.concurrency
                    )
                })
            };
            if let Some(r) = reason {
                self.note(format!("sweep stopped: {r}"))?;
                if ok == 0 || k + 1 < steps.len() {
                    self.t.sweep_stop_reason = Some(r);
                }
                break;
            }
        }
        Ok(())
    }

    /// Replay a trace as the load phase: its prompts (equal hash ids as equal blocks, sized in
    /// this server's tokens) sent at its recorded times over the speed. No prompt tags: the
    /// trace's shared prefixes are meant to be shared — within this replay: the blocks are
    /// salted per attempt unless `--allow-prompt-cache` (then every replay sends the same).
    pub(super) async fn replay(
        &mut self,
        tr: &crate::load::trace::Trace,
        watch: &Watch<'_>,
    ) -> Result<(), Abort> {
        let cal = self
            .client
            .calibrate()
            .await
            .map_err(|e| Abort::Target(e.into()))?;
        let salt = self.ctx.tags.as_ref().map_or(0, |_| rand::random::<u64>());
        let prompts = crate::load::trace::prompts(&tr.entries, cal.words_per_token, salt);
        let schedule = tr.schedule();
        self.note(format!(
            "trace replay: {} requests over {:.1} s ({}x), {:.3} words per token (by {})",
            prompts.len(),
            schedule.last().map_or(0.0, |d| d.as_secs_f64()),
            tr.speed,
            cal.words_per_token,
            cal.method
        ))?;
        let saved = (
            std::mem::replace(&mut self.ctx.prompts, prompts.into()),
            self.ctx.tags.take(),
        );
        let r = self
            .load_step(Schedule::At(schedule.into()), Phase::Load, None, watch)
            .await;
        (self.ctx.prompts, self.ctx.tags) = saved;
        self.t.phases.load = r?;
        Ok(())
    }

    /// Warm up (uncounted), then run one load phase or sweep step and describe it; `None`
    /// when not one request was sent (cancelled at once).
    pub(super) async fn load_step(
        &mut self,
        schedule: Schedule,
        phase: Phase,
        step: Option<u32>,
        watch: &Watch<'_>,
    ) -> Result<Option<LoadStep>, Abort> {
        let s = &self.ctx.plan.settings;
        let (concurrency, rate, profile) = match &schedule {
            Schedule::Closed(c) => (Some(*c), None, format!("concurrency:{c}")),
            Schedule::Open { rate, arrival, .. } => (
                None,
                Some(*rate),
                crate::load::profile::Profile::Rate {
                    rate: *rate,
                    arrival: *arrival,
                }
                .to_string(),
            ),
            Schedule::At(_) => (
                None,
                None,
                s.trace.as_ref().map_or("trace".into(), |t| {
                    format!("trace:{}@{}x", t.path.display(), t.speed)
                }),
            ),
        };
        let default_requests = match &schedule {
            Schedule::Closed(c) => (4 * u64::from(*c)).max(16),
            Schedule::Open { rate, .. } => ((30.0 * rate).ceil() as u64).max(16),
            Schedule::At(times) => times.len() as u64,
        };
        let replay = matches!(schedule, Schedule::At(_));
        let duration = s.duration_s.map(Duration::from_secs_f64);
        let run = Step {
            schedule,
            requests: match replay {
                // A trace is replayed whole (or for --duration).
                true => Some(default_requests),
                false => s
                    .requests
                    .or(duration.is_none().then_some(default_requests)),
            },
            duration,
            phase,
            step,
            // The cold request took prompt 0; a trace's prompts are its own, from the first.
            prompt_offset: if replay { 0 } else { 1 },
        };
        // A trace's warm-up would send its own first requests early (and without tags):
        // a replay has none.
        if s.warmup > 0 && !replay {
            let warmup = Step {
                schedule: Schedule::Closed(concurrency.unwrap_or(1)),
                requests: Some(s.warmup),
                duration: None,
                phase: Phase::Warmup,
                step,
                prompt_offset: 1,
            };
            self.run_step(warmup, watch).await?;
        }
        let done = self.run_step(run, watch).await?;
        let window = Window {
            schedule: Some(Asked {
                profile,
                concurrency,
                rate,
                duration_s: done.duration.as_secs_f64(),
            }),
            ..done.resources.window(watch.tel)
        };
        let Some(report) = self.built.load_step(self.who(), phase, step, Some(&window)) else {
            return Ok(None);
        };
        for w in &report.warnings {
            self.note(format!("warning: {w}"))?;
        }
        Ok(Some(report))
    }

    /// Run one driver step, publishing each record as it finishes and adding it to the
    /// attempt's builder (which does not count warm-up records).
    pub(super) async fn run_step(
        &mut self,
        step: Step,
        watch: &Watch<'_>,
    ) -> Result<StepDone, Abort> {
        let phase = step.phase;
        let target = self.spec.name.as_str();
        self.obs.on_event(&Event::PhaseStarted {
            target,
            phase,
            total: step.requests.unwrap_or(0),
        })?;
        let shared = Shared {
            client: self.client.clone(),
            prompts: self.ctx.prompts.clone(),
            params: self.ctx.params,
            target: target.into(),
            cancel: self.ctx.cancel.clone(),
            tags: self.ctx.tags.clone(),
            attempt: self.ctx.attempt,
        };
        let mark = watch.begin().await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let driver = tokio::spawn(driver::run(shared, step, tx));
        let mut first = None;
        while let Some(rec) = rx.recv().await {
            self.obs.on_event(&Event::RequestFinished(&rec))?;
            self.built.add(&rec);
            if first.is_none() {
                first = Some(rec);
            }
        }
        let duration = driver
            .await
            .map_err(|e| Abort::Target(TargetError::Driver(e.to_string())))?;
        let resources = watch.end(&mark).await;
        self.obs.on_event(&Event::PhaseFinished { target, phase })?;
        Ok(StepDone {
            first,
            duration,
            resources,
        })
    }
}
