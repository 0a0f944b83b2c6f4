//! The one phase runner ([`Attempt::run_phase`]): phase started → telemetry window opens → the
//! driver runs each part's job on its schedule → every record is published and added to the
//! attempt's builder as it finishes → window closes → phase finished. Workloads hand it jobs
//! and read back a [`PhaseDone`]; none of them touches telemetry windows or events. Also here:
//! load steps, the concurrency sweep and trace replay. Every number a step reports comes from
//! [`crate::report::build`].

use super::attempt::Attempt;
use super::ctx::{Abort, DEFAULT_SWEEP_MAX, SLO_BREAK_PASS_RATE};
use super::error::TargetError;
use super::watch::{Resources, Watch};
use crate::events::Event;
use crate::load::driver::{self, Job, Prompts, RequestCtx, Schedule, Step};
use crate::prompts::Prompt;
use crate::record::{Phase, RequestRecord};
use crate::report::build::{Schedule as Asked, Window};
use crate::report::{LoadStep, saturation};
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// One part of a phase: a job on its schedule, through its request context.
pub(super) struct Part {
    pub ctx: Arc<RequestCtx>,
    pub job: Arc<dyn Job>,
    pub step: Step,
}

/// A phase to run: its parts run at once (a team's classes; one part otherwise).
pub(super) struct PhaseRun<'f> {
    pub phase: Phase,
    /// Requests expected, for progress (0: not known).
    pub total: u64,
    pub parts: Vec<Part>,
    /// Awaited once every job has ended, before the phase's telemetry window closes (the
    /// autocomplete workload waits there for the server to let go of dropped requests).
    pub settle: Option<BoxFuture<'f, ()>>,
}

/// What a phase left behind (its records are in the attempt's builder).
pub(super) struct PhaseDone {
    pub first: Option<RequestRecord>,
    /// Start → last job end, per part.
    pub durations: Vec<Duration>,
    /// Telemetry read during the phase.
    pub resources: Resources,
}

impl PhaseDone {
    /// The longest part's start → last job end.
    pub fn duration(&self) -> Duration {
        self.durations.iter().copied().max().unwrap_or_default()
    }
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
            let c = schedule.describe();
            self.note(format!("sweep step {k}: {c}"))?;
            let Some(step) = self
                .load_step(schedule.clone(), Phase::Sweep, Some(k as u32), None, watch)
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
        let salt = self
            .ctx
            .tags
            .as_ref()
            .map_or(0, |_| crate::prompts::PromptTags::fresh().salt());
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
        let r = self
            .load_step(
                Schedule::At(schedule.into()),
                Phase::Load,
                None,
                Some(prompts.into()),
                watch,
            )
            .await;
        self.t.phases.load = r?;
        Ok(())
    }

    /// Warm up (uncounted), then run one load phase or sweep step and describe it; `None`
    /// when not one request was sent (cancelled at once). `replay`: a trace's own prompts,
    /// sent untagged from the first (its shared prefixes are meant to be shared); otherwise
    /// the run's prompts from the second (the cold request took the first), tagged.
    pub(super) async fn load_step(
        &mut self,
        schedule: Schedule,
        phase: Phase,
        step: Option<u32>,
        replay: Option<Arc<[Prompt]>>,
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
            Schedule::OnOff(o) => (None, None, format!("team:{}", o.streams)),
            Schedule::At(_) => (
                None,
                None,
                s.trace().map_or("trace".into(), |t| {
                    format!("trace:{}@{}x", t.path.display(), t.speed)
                }),
            ),
        };
        let default_requests = match &schedule {
            Schedule::Closed(c) => (4 * u64::from(*c)).max(16),
            Schedule::Open { rate, .. } => ((30.0 * rate).ceil() as u64).max(16),
            Schedule::At(times) => times.len() as u64,
            Schedule::OnOff(o) => (4 * u64::from(o.streams)).max(16),
        };
        let duration = s.duration_s.map(Duration::from_secs_f64);
        let run = Step {
            schedule,
            requests: match replay {
                // A trace is replayed whole (or for --duration).
                Some(_) => Some(default_requests),
                None => s
                    .requests
                    .or(duration.is_none().then_some(default_requests)),
            },
            duration,
        };
        let tagged = replay.is_none();
        let prompts = Arc::new(Prompts {
            offset: if tagged { 1 } else { 0 },
            prompts: replay.unwrap_or_else(|| self.ctx.prompts.clone()),
        });
        // A trace's warm-up would send its own first requests early (and without tags):
        // a replay has none.
        if s.warmup > 0 && tagged {
            let warmup = Step {
                schedule: Schedule::Closed(concurrency.unwrap_or(1)),
                requests: Some(s.warmup),
                duration: None,
            };
            let ctx = self.request_ctx(Phase::Warmup).at_step(step);
            self.run_step(ctx, prompts.clone(), warmup, watch).await?;
        }
        let mut ctx = self.request_ctx(phase).at_step(step);
        if !tagged {
            ctx.tags = None;
        }
        let done = self.run_step(ctx, prompts, run, watch).await?;
        let window = Window {
            schedule: Some(Asked {
                profile,
                concurrency,
                rate,
                duration_s: done.duration().as_secs_f64(),
            }),
            ..done.resources.window(watch.tel)
        };
        let Some(report) = self.built.load_step(self.who(), phase, step, Some(&window)) else {
            return Ok(None);
        };
        for w in &report.findings {
            self.note(format!(
                "warning: {}",
                w.render(crate::report::i18n::Lang::En)
            ))?;
        }
        Ok(Some(report))
    }

    /// A context for this attempt's requests in `phase`: the run's client, sampling, tags and
    /// cancellation.
    pub(super) fn request_ctx(&self, phase: Phase) -> RequestCtx {
        RequestCtx::new(
            self.client.clone(),
            self.ctx.params,
            (&self.spec.name, self.ctx.attempt),
            phase,
            self.ctx.cancel.clone(),
            self.ctx.tags.clone(),
        )
    }

    /// One job on one schedule as a phase of its own (the context's).
    pub(super) async fn run_step(
        &mut self,
        ctx: RequestCtx,
        job: Arc<dyn Job>,
        step: Step,
        watch: &Watch<'_>,
    ) -> Result<PhaseDone, Abort> {
        let run = PhaseRun {
            phase: ctx.phase,
            total: step.requests.unwrap_or(0),
            parts: vec![Part {
                ctx: Arc::new(ctx),
                job,
                step,
            }],
            settle: None,
        };
        self.run_phase(run, watch, &mut |_| {}).await
    }

    /// Run a phase: every part's job on its schedule at once, each record published and added
    /// to the attempt's builder (which does not count warm-up records) as it finishes, and
    /// handed to `on_record`; telemetry is read over the whole phase.
    pub(super) async fn run_phase(
        &mut self,
        run: PhaseRun<'_>,
        watch: &Watch<'_>,
        on_record: &mut dyn FnMut(&RequestRecord),
    ) -> Result<PhaseDone, Abort> {
        let phase = run.phase;
        let target = self.spec.name.clone();
        self.obs.on_event(&Event::PhaseStarted {
            target: &target,
            phase,
            total: run.total,
        })?;
        let mark = watch.begin().await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let drivers: Vec<_> = run
            .parts
            .into_iter()
            .map(|p| tokio::spawn(driver::run(p.ctx, p.job, p.step, tx.clone())))
            .collect();
        drop(tx);
        let mut first = None;
        while let Some(rec) = rx.recv().await {
            self.obs.on_event(&Event::RequestFinished(&rec))?;
            self.built.add(&rec);
            on_record(&rec);
            if first.is_none() {
                first = Some(rec);
            }
        }
        let mut durations = Vec::new();
        for d in drivers {
            durations.push(
                d.await
                    .map_err(|e| Abort::Target(TargetError::Driver(e.to_string())))?,
            );
        }
        if let Some(settle) = run.settle {
            settle.await;
        }
        let resources = watch.end(&mark).await;
        self.obs.on_event(&Event::PhaseFinished {
            target: &target,
            phase,
        })?;
        Ok(PhaseDone {
            first,
            durations,
            resources,
        })
    }
}
