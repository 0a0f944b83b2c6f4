//! The one load driver. A [`Step`] is a schedule plus bounds; the driver sends its requests and
//! streams each finished [`RequestRecord`] to the caller as it ends.
//!
//! - Closed loop (`Schedule::Closed(c)`): `c` streams, each sending its next request when the
//!   previous one ends. Sequential phases are `Closed(1)`. Streams share only an atomic counter.
//! - Open loop (`Schedule::Open`): requests are *scheduled* at arrival times drawn up front from
//!   the seed and sent at those times whatever the server does; each record keeps how late it
//!   was sent (`schedule_lag`) so latency can be reported from the schedule (no coordinated
//!   omission).
//! - Replay (`Schedule::At`): request `i` is scheduled at the `i`-th given time (a trace), and
//!   sent then as in the open loop.

use super::profile::Arrival;
use crate::backend::{Client, GenParams, RequestMeta};
use crate::prompts::Prompt;
use crate::record::{Phase, RequestRecord};
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

/// An open-loop request's task is started this long before its time.
const LEAD: Duration = Duration::from_millis(20);

/// How requests are offered.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// `n` streams back to back.
    Closed(u32),
    /// Arrivals at `rate` per second, spaced by `arrival`, drawn from `seed`.
    Open {
        /// Requests per second.
        rate: f64,
        /// Spacing.
        arrival: Arrival,
        /// Seed for the arrival times.
        seed: u64,
    },
    /// Request `i` at the `i`-th time from the step's start (a replayed trace).
    At(Arc<[Duration]>),
}

/// One run of the driver.
#[derive(Debug, Clone)]
pub struct Step {
    /// How requests are offered.
    pub schedule: Schedule,
    /// Stop after this many requests.
    pub requests: Option<u64>,
    /// Stop sending after this long.
    pub duration: Option<Duration>,
    /// Phase of the records.
    pub phase: Phase,
    /// Sweep step, for records.
    pub step: Option<u32>,
    /// First prompt index (prompts cycle from here).
    pub prompt_offset: usize,
}

/// What every request of a step shares.
#[derive(Clone)]
pub struct Shared {
    /// Target client.
    pub client: Client,
    /// Prompts to cycle through.
    pub prompts: Arc<[Prompt]>,
    /// Sampling and limits.
    pub params: GenParams,
    /// Target name.
    pub target: Arc<str>,
    /// Stops scheduling and cancels in-flight requests.
    pub cancel: CancellationToken,
    /// Tags that make each prompt unique (`None`: prompts are sent as they are).
    pub tags: Option<crate::prompts::PromptTags>,
    /// Attempt at the target (0: the plan's model, k: its k-th fallback).
    pub attempt: u32,
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

/// Run `step`, sending every finished record on `tx`. Returns step start → last request end.
pub async fn run(shared: Shared, step: Step, tx: mpsc::UnboundedSender<RequestRecord>) -> Duration {
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    let within = move |i: u64, at: Instant| {
        step.requests.is_none_or(|n| i < n)
            && step.duration.is_none_or(|d| at.duration_since(start) < d)
    };
    match step.schedule.clone() {
        Schedule::Closed(streams) => {
            let next = Arc::new(AtomicU64::new(0));
            for _ in 0..streams {
                let (shared, tx, next, step) =
                    (shared.clone(), tx.clone(), next.clone(), step.clone());
                tasks.spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let now = Instant::now();
                        if !within(i, now) || shared.cancel.is_cancelled() {
                            break;
                        }
                        let rec = send(&shared, &step, i, now).await;
                        if tx.send(rec).is_err() {
                            break;
                        }
                    }
                });
            }
        }
        Schedule::Open { .. } | Schedule::At(_) => {
            // Open loop and replay alike: request i at its scheduled instant.
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
                Schedule::Closed(_) => unreachable!("matched above"),
            };
            for (i, at) in (0u64..).zip(times) {
                if !within(i, at) {
                    break;
                }
                // The request's own task waits out the last moments, so at its time it only
                // has to wake and send (no second hop through this loop).
                tokio::select! {
                    _ = tokio::time::sleep_until(at.checked_sub(LEAD).unwrap_or(at)) => {}
                    _ = shared.cancel.cancelled() => break,
                }
                let (shared, tx, step) = (shared.clone(), tx.clone(), step.clone());
                tasks.spawn(async move {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = shared.cancel.cancelled() => return,
                    }
                    let _ = tx.send(send(&shared, &step, i, at).await);
                });
                // Reap finished requests as we go so the set stays small.
                while tasks.try_join_next().is_some() {}
            }
        }
    }
    drop(tx);
    while tasks.join_next().await.is_some() {}
    start.elapsed()
}

async fn send(shared: &Shared, step: &Step, i: u64, scheduled: Instant) -> RequestRecord {
    let prompt = &shared.prompts[(i as usize + step.prompt_offset) % shared.prompts.len()];
    let tagged = shared.tags.as_ref().map(|t| t.tag(prompt));
    let prompt = tagged.as_ref().unwrap_or(prompt);
    let meta = RequestMeta {
        target: &shared.target,
        phase: step.phase,
        step: step.step,
        attempt: shared.attempt,
        index: i,
        scheduled: scheduled.into_std(),
    };
    shared
        .client
        .generate(prompt, &shared.params, meta, &shared.cancel)
        .await
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
