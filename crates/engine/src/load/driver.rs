//! The one load driver. Every workload is a [`Job`] — a prompt, a session of many turns, a
//! developer typing with autocomplete on, a quality task, a ladder step — offered on a
//! [`Schedule`] within a [`Step`]'s bounds; the driver runs job `i` when the schedule says and
//! the job sends each record it makes as it finishes (a job may make several). Every request
//! of a phase shares one [`RequestCtx`]: client, sampling, target, attempt, phase, class,
//! cancellation and the cache-busting tags.
//!
//! - Closed loop (`Schedule::Closed(c)`): `c` streams, each starting its next job when the
//!   previous one ends. Sequential phases are `Closed(1)`. Streams share only an atomic counter.
//! - Open loop (`Schedule::Open`): jobs are *scheduled* at arrival times drawn up front from
//!   the seed and started at those times whatever the server does; each record keeps how late
//!   it was sent (`schedule_lag`) so latency can be reported from the schedule (no coordinated
//!   omission).
//! - Replay (`Schedule::At`): job `i` is scheduled at the `i`-th given time (a trace), and
//!   started then as in the open loop.

use super::profile::Arrival;
use crate::backend::{Client, GenParams, RequestMeta};
use crate::prompts::{Prompt, PromptTags};
use crate::record::{Phase, RequestRecord};
use crate::spec::Class;
use futures_util::future::BoxFuture;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Exp, Gamma};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// An open-loop job's task is started this long before its time.
const LEAD: Duration = Duration::from_millis(20);

/// How jobs are offered.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// `n` streams back to back.
    Closed(u32),
    /// Arrivals at `rate` per second, spaced by `arrival`, drawn from `seed`.
    Open {
        /// Jobs per second.
        rate: f64,
        /// Spacing.
        arrival: Arrival,
        /// Seed for the arrival times.
        seed: u64,
    },
    /// Job `i` at the `i`-th time from the step's start (a replayed trace).
    At(Arc<[Duration]>),
    /// `streams` developers, each alternating off and on periods (exponential, means given):
    /// while on, a developer runs jobs back to back, each told to end with the on period.
    OnOff(OnOff),
}

/// Developers that come and go: the team model of the capacity search
/// ([`crate::report::capacity`]).
#[derive(Debug, Clone)]
pub struct OnOff {
    /// Developers.
    pub streams: u32,
    /// Mean on period, s.
    pub on_s: f64,
    /// Mean off period, s (0: always on).
    pub off_s: f64,
    /// Seed for the periods.
    pub seed: u64,
    /// On-time summed over developers, µs, within the step (written by the driver).
    pub active_us: Arc<AtomicU64>,
}

impl PartialEq for OnOff {
    fn eq(&self, o: &OnOff) -> bool {
        (self.streams, self.on_s, self.off_s, self.seed) == (o.streams, o.on_s, o.off_s, o.seed)
    }
}

impl OnOff {
    /// Developers active on average over `span` (on-time / span).
    pub fn active_mean(&self, span: Duration) -> Option<f64> {
        let s = span.as_secs_f64();
        (s > 0.0).then(|| self.active_us.load(Ordering::Relaxed) as f64 / 1e6 / s)
    }
}

impl Schedule {
    /// The schedule in words, for notes and stop reasons.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Closed(c) => format!("concurrency {c}"),
            Schedule::Open { rate, .. } => format!("rate {rate} req/s"),
            Schedule::At(t) => format!("a trace of {} requests", t.len()),
            Schedule::OnOff(o) => format!(
                "{} developers, on {:.0} s / off {:.0} s",
                o.streams, o.on_s, o.off_s
            ),
        }
    }
}

/// One run of the driver: a schedule and its bounds.
#[derive(Debug, Clone)]
pub struct Step {
    /// How jobs are offered.
    pub schedule: Schedule,
    /// Start at most this many jobs (and never more than the job has).
    pub requests: Option<u64>,
    /// Start no job after this long.
    pub duration: Option<Duration>,
}

/// What every request of a phase shares: the one request context of every workload.
#[derive(Debug)]
pub struct RequestCtx {
    /// Target client.
    pub client: Client,
    /// Sampling and limits (a job may change them per request).
    pub params: GenParams,
    /// Target name.
    pub target: Arc<str>,
    /// Attempt at the target (0: the plan's model, k: its k-th fallback).
    pub attempt: u32,
    /// The phase of the records.
    pub phase: Phase,
    /// Sweep step (or ladder length), for the records.
    pub step: Option<u32>,
    /// The kind of work, in a team mix.
    pub class: Option<Class>,
    /// Stops scheduling and cancels in-flight requests.
    pub cancel: CancellationToken,
    /// Cache-busting tags (`None` with `--allow-prompt-cache`: prompts go as they are).
    pub tags: Option<PromptTags>,
    next: AtomicU64,
}

impl RequestCtx {
    /// A context for `phase`, numbering its records from 0.
    pub fn new(
        client: Client,
        params: GenParams,
        (target, attempt): (&str, u32),
        phase: Phase,
        cancel: CancellationToken,
        tags: Option<PromptTags>,
    ) -> RequestCtx {
        RequestCtx {
            client,
            params,
            target: target.into(),
            attempt,
            phase,
            step: None,
            class: None,
            cancel,
            tags,
            next: AtomicU64::new(0),
        }
    }

    /// The same context for sweep step `step`.
    pub fn at_step(self, step: Option<u32>) -> RequestCtx {
        RequestCtx { step, ..self }
    }

    /// The same context for class `class` of a team mix.
    pub fn of_class(self, class: Class) -> RequestCtx {
        RequestCtx {
            class: Some(class),
            ..self
        }
    }

    /// The next record number of the phase.
    pub fn next_index(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Where request `index`, due at `scheduled`, belongs.
    pub fn meta(&self, index: u64, scheduled: Instant) -> RequestMeta<'_> {
        RequestMeta {
            target: &self.target,
            phase: self.phase,
            step: self.step,
            attempt: self.attempt,
            class: self.class,
            index,
            scheduled: scheduled.into_std(),
        }
    }

    /// Send `prompt` now (due at `scheduled`) with `params` as the phase's next record.
    pub async fn generate(
        &self,
        prompt: &Prompt,
        params: &GenParams,
        scheduled: Instant,
    ) -> RequestRecord {
        let meta = self.meta(self.next_index(), scheduled);
        self.client
            .generate(prompt, params, meta, &self.cancel)
            .await
    }
}

/// One job's call: its index in the schedule, when it was due, and when the step stops
/// starting jobs (a job of many requests starts none after it).
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// The job's index in the schedule.
    pub index: u64,
    /// When it was due.
    pub at: Instant,
    /// When the step stops starting jobs.
    pub end: Option<Instant>,
}

/// Where a job sends each record as it finishes.
pub type Out = mpsc::UnboundedSender<RequestRecord>;

/// A unit of work the driver offers: it sends one or more requests through the context and
/// each record on `out` as it finishes.
pub trait Job: Send + Sync {
    /// How many jobs there are (`None`: as many as the step asks).
    fn count(&self) -> Option<u64> {
        None
    }

    /// Whether job indices past [`Job::count`] may be run (the job cycles through its
    /// list): developers that come and go need one job per on period.
    fn cycles(&self) -> bool {
        false
    }

    /// Run the job `call` names.
    fn run<'a>(&'a self, ctx: &'a RequestCtx, call: Call, out: &'a Out) -> BoxFuture<'a, ()>;
}

/// The prompt set as jobs: job `i` sends prompt `i + offset` (cycling), tagged unless the
/// context has no tags, as record `i`.
pub struct Prompts {
    /// The prompts.
    pub prompts: Arc<[Prompt]>,
    /// The first prompt's index.
    pub offset: usize,
}

impl Job for Prompts {
    fn cycles(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, ctx: &'a RequestCtx, call: Call, out: &'a Out) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let prompt = &self.prompts[(call.index as usize + self.offset) % self.prompts.len()];
            let tagged = ctx.tags.as_ref().map(|t| t.tag(prompt));
            let prompt = tagged.as_ref().unwrap_or(prompt);
            let meta = ctx.meta(call.index, call.at);
            let rec = ctx
                .client
                .generate(prompt, &ctx.params, meta, &ctx.cancel)
                .await;
            let _ = out.send(rec);
        })
    }
}

/// Given prompts as jobs: job `i` sends prompt `i` with its own sampling, untagged (a quality
/// task's answer, a probe). Not sent once the run is interrupted: nothing is recorded for it.
pub struct Asks {
    /// The prompts and their sampling.
    pub prompts: Vec<(Prompt, GenParams)>,
}

impl Job for Asks {
    fn count(&self) -> Option<u64> {
        Some(self.prompts.len() as u64)
    }

    fn run<'a>(&'a self, ctx: &'a RequestCtx, call: Call, out: &'a Out) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Some((prompt, params)) = self.prompts.get(call.index as usize) else {
                return;
            };
            let _ = out.send(ctx.generate(prompt, params, call.at).await);
        })
    }
}

/// Fill-in-the-middle requests as jobs: job `i` asks `fims[i]` (with its id) by `method`. A
/// request the dialect cannot build is no record: its reason is kept in `refused`.
pub struct Fills {
    /// The prefix/suffix pairs and their ids.
    pub fims: Vec<(crate::fim::Fim, String)>,
    /// How the server is asked.
    pub method: crate::fim::Method,
    /// Sampling and limits.
    pub params: GenParams,
    /// Why requests could not be built.
    pub refused: std::sync::Mutex<Vec<String>>,
}

impl Job for Fills {
    fn count(&self) -> Option<u64> {
        Some(self.fims.len() as u64)
    }

    fn run<'a>(&'a self, ctx: &'a RequestCtx, call: Call, out: &'a Out) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Some((fim, id)) = self.fims.get(call.index as usize) else {
                return;
            };
            let meta = ctx.meta(ctx.next_index(), call.at);
            match ctx
                .client
                .fill(fim, self.method, id, &self.params, meta, &ctx.cancel)
                .await
            {
                Ok(rec) => {
                    let _ = out.send(rec);
                }
                Err(why) => self.refused.lock().expect("refused").push(why),
            }
        })
    }
}

/// Inter-arrival times for an open-loop schedule.
pub fn arrival_gaps(rate: f64, arrival: Arrival, seed: u64) -> impl Iterator<Item = Duration> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mean = 1.0 / rate;
    let exp = Exp::new(rate).ok();
    // Shape B, scale 1/(R·B): mean 1/R, coefficient of variation 1/√B.
    let gamma = match arrival {
        Arrival::Gamma { burstiness } => Gamma::new(burstiness, mean / burstiness).ok(),
        _ => None,
    };
    std::iter::repeat_with(move || {
        let gap = match arrival {
            Arrival::Constant => mean,
            Arrival::Poisson => exp.map_or(mean, |e| e.sample(&mut rng)),
            Arrival::Gamma { .. } => gamma.map_or(mean, |g| g.sample(&mut rng)),
        };
        Duration::from_secs_f64(gap.max(0.0))
    })
}

/// Run `job` on `step`'s schedule, sending every finished record on `tx`. Returns step start →
/// last job end.
pub async fn run(ctx: Arc<RequestCtx>, job: Arc<dyn Job>, step: Step, tx: Out) -> Duration {
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    let end = step.duration.map(|d| start + d);
    let limit = match (step.requests, job.count()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let within =
        move |i: u64, at: Instant| limit.is_none_or(|n| i < n) && end.is_none_or(|e| at < e);
    match step.schedule.clone() {
        Schedule::Closed(streams) => {
            let next = Arc::new(AtomicU64::new(0));
            for _ in 0..streams {
                let (ctx, job, tx, next) = (ctx.clone(), job.clone(), tx.clone(), next.clone());
                tasks.spawn(async move {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let at = Instant::now();
                        if !within(index, at) || ctx.cancel.is_cancelled() || tx.is_closed() {
                            break;
                        }
                        job.run(&ctx, Call { index, at, end }, &tx).await;
                    }
                });
            }
        }
        Schedule::OnOff(o) => {
            let next = Arc::new(AtomicU64::new(0));
            let limit = if job.cycles() { step.requests } else { limit };
            let within = move |i: u64, at: Instant| {
                limit.is_none_or(|n| i < n) && end.is_none_or(|e| at < e)
            };
            for k in 0..o.streams {
                let (ctx, job, tx, next, o) = (
                    ctx.clone(),
                    job.clone(),
                    tx.clone(),
                    next.clone(),
                    o.clone(),
                );
                tasks.spawn(async move {
                    on_off(
                        &o,
                        k,
                        start,
                        end,
                        &ctx,
                        &tx,
                        |at| {
                            let index = next.fetch_add(1, Ordering::Relaxed);
                            within(index, at).then_some(index)
                        },
                        job.as_ref(),
                    )
                    .await;
                });
            }
        }
        Schedule::Open { .. } | Schedule::At(_) => {
            // Open loop and replay alike: job i at its scheduled instant.
            let times: Box<dyn Iterator<Item = Instant> + Send> = match step.schedule.clone() {
                Schedule::Open {
                    rate,
                    arrival,
                    seed,
                } => Box::new(arrival_gaps(rate, arrival, seed).scan(start, |at, gap| {
                    let this = *at;
                    *at += gap;
                    Some(this)
                })),
                Schedule::At(times) => Box::new((0..times.len()).map(move |i| start + times[i])),
                Schedule::Closed(_) | Schedule::OnOff(_) => unreachable!("matched above"),
            };
            for (index, at) in (0u64..).zip(times) {
                if !within(index, at) {
                    break;
                }
                // The job's own task waits out the last moments, so at its time it only has
                // to wake and send (no second hop through this loop).
                tokio::select! {
                    _ = tokio::time::sleep_until(at.checked_sub(LEAD).unwrap_or(at)) => {}
                    _ = ctx.cancel.cancelled() => break,
                }
                let (ctx, job, tx) = (ctx.clone(), job.clone(), tx.clone());
                tasks.spawn(async move {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = ctx.cancel.cancelled() => return,
                    }
                    job.run(&ctx, Call { index, at, end }, &tx).await;
                });
                // Reap finished jobs as we go so the set stays small.
                while tasks.try_join_next().is_some() {}
            }
        }
    }
    drop(tx);
    while tasks.join_next().await.is_some() {}
    start.elapsed()
}

/// One developer of an on/off schedule: starts on with probability `on / (on + off)` (the
/// periods are exponential, so that is the steady state from the first second), runs jobs
/// back to back while on — each told to end when the period does — and sits out the off
/// periods, until the step's end. `take` hands out the next job index (`None`: no more).
#[allow(clippy::too_many_arguments)]
async fn on_off(
    o: &OnOff,
    k: u32,
    start: Instant,
    end: Option<Instant>,
    ctx: &RequestCtx,
    tx: &Out,
    take: impl Fn(Instant) -> Option<u64>,
    job: &dyn Job,
) {
    let mut rng = StdRng::seed_from_u64(o.seed ^ u64::from(k).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let draw = |mean: f64, rng: &mut StdRng| -> Duration {
        let d = Exp::new(1.0 / mean).map_or(mean, |e| e.sample(rng));
        Duration::from_secs_f64(d.clamp(0.0, 86_400.0))
    };
    let p_on = if o.off_s <= 0.0 {
        1.0
    } else {
        o.on_s / (o.on_s + o.off_s)
    };
    let mut on = rand::RngExt::random_bool(&mut rng, p_on.clamp(0.0, 1.0));
    let mut at = start;
    let stop =
        |t: Instant| end.is_some_and(|e| t >= e) || ctx.cancel.is_cancelled() || tx.is_closed();
    loop {
        if stop(at) {
            return;
        }
        if !on {
            at += draw(o.off_s, &mut rng);
            tokio::select! {
                _ = tokio::time::sleep_until(end.map_or(at, |e| at.min(e))) => {}
                _ = ctx.cancel.cancelled() => return,
            }
            on = true;
            continue;
        }
        let on_end = at + draw(o.on_s, &mut rng);
        let until = end.map_or(on_end, |e| on_end.min(e));
        o.active_us.fetch_add(
            until.saturating_duration_since(at).as_micros() as u64,
            Ordering::Relaxed,
        );
        loop {
            let now = Instant::now();
            if now >= until || stop(now) {
                break;
            }
            let Some(index) = take(now) else {
                // No job left for this developer: sit out the period.
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => {}
                    _ = ctx.cancel.cancelled() => return,
                }
                break;
            };
            job.run(
                ctx,
                Call {
                    index,
                    at: now,
                    end: Some(until),
                },
                tx,
            )
            .await;
        }
        // The next period starts when this one was due to end (a job that ran over it only
        // delays the developer's next job, not the schedule).
        at = on_end.max(at);
        on = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_gaps_have_the_rate_and_cv_of_an_exponential() {
        let gaps: Vec<f64> = arrival_gaps(20.0, Arrival::Poisson, 7)
            .take(20_000)
            .map(|d| d.as_secs_f64())
            .collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let sd =
            (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (gaps.len() - 1) as f64).sqrt();
        assert!((mean - 0.05).abs() < 0.002, "{mean}");
        assert!((sd / mean - 1.0).abs() < 0.05, "cv {}", sd / mean);
    }

    #[test]
    fn gamma_burstiness_sets_the_cv_and_constant_has_none() {
        let cv = |a| {
            let g: Vec<f64> = arrival_gaps(10.0, a, 1)
                .take(20_000)
                .map(|d| d.as_secs_f64())
                .collect();
            let m = g.iter().sum::<f64>() / g.len() as f64;
            let sd = (g.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (g.len() - 1) as f64).sqrt();
            (m, sd / m)
        };
        let (m, c) = cv(Arrival::Gamma { burstiness: 0.25 });
        assert!((m - 0.1).abs() < 0.01 && (c - 2.0).abs() < 0.15, "{m} {c}");
        let (m, c) = cv(Arrival::Constant);
        assert!((m - 0.1).abs() < 1e-9 && c < 1e-6);
    }
}
