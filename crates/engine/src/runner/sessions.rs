//! The sessions phase: multi-turn conversations as the unit of load. Each session sends its
//! turns in order, every turn resending the whole conversation — with the server's actual
//! replies appended — plus the next user message, after a think time; `sessions:N` keeps N
//! sessions going at once (closed loop), `rate:R` starts new sessions on an open-loop schedule.
//! A failed turn ends its session (the next turn would need its reply). Every turn is
//! published and journalled as it ends; the phase's numbers come from
//! [`crate::report::sessions`].
//!
//! Sessions stay apart in the cache the way real users' do: each session's first user message
//! starts with a tag unique to the run and the session, so a synthetic repository context
//! (the system message) is shared by every session — as one team's repository is — while
//! each conversation is its own.

use super::ctx::Abort;
use super::error::TargetError;
use super::measure::Attempt;
use super::watch::Watch;
use crate::backend::{Client, GenParams, RequestMeta};
use crate::events::Event;
use crate::load::driver::arrival_gaps;
use crate::load::profile::Profile;
use crate::load::sessions::{Offer, Session, Settings, Think};
use crate::prompts::{Message, Prompt};
use crate::record::{Outcome, Phase, RequestRecord, SessionTurn};
use crate::report::sessions::{PrefixCounters, SessionsReport};
use crate::server_metrics::{self, Role};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What every session shares.
struct Shared {
    client: Client,
    params: GenParams,
    target: Arc<str>,
    attempt: u32,
    cancel: CancellationToken,
    think: Think,
    seed: u64,
    /// The run's tag (`None`: `--allow-prompt-cache`, sessions sent as they are).
    tag: Option<u32>,
    /// No new turn starts after this.
    end: Option<Instant>,
    next_index: AtomicU64,
    cut: AtomicU64,
    /// Sessions started.
    started: AtomicU64,
    /// The sweep step, for the records.
    step: Option<u32>,
}

impl Attempt<'_, '_> {
    /// Run the sessions workload and put its facts in the target's report.
    pub(super) async fn sessions(&mut self, ss: &Settings, watch: &Watch<'_>) -> Result<(), Abort> {
        let fitted = ss.fitted_to(self.t.model_info.context_length);
        if let Some(f) = &fitted {
            self.note(format!(
                "sessions: {} tokens of context (half of the server's {}; the default {} would leave no room to grow; --context-tokens sets it)",
                f.context_tokens().unwrap_or(0),
                self.t.model_info.context_length.unwrap_or(0),
                ss.context_tokens().unwrap_or(0)
            ))?;
        }
        let ss = fitted.as_ref().unwrap_or(ss);
        let s = &self.ctx.plan.settings;
        let cpt = match &ss.corpus {
            Some(c) => {
                let (cpt, how) = self
                    .client
                    .chars_per_token_for(&c.sample(), "the session contexts")
                    .await
                    .map_err(|e| Abort::Target(e.into()))?;
                self.note(format!(
                    "sessions: {cpt:.2} characters per token of the corpus (by {how})"
                ))?;
                cpt
            }
            None => 4.0,
        };
        let sessions = ss.sessions(cpt, s.seed);
        if sessions.is_empty() {
            return Err(Abort::Target(TargetError::Sessions(
                "the session source holds no session".into(),
            )));
        }
        // One phase, or one per step of a sweep of sessions at once.
        let offers: Vec<(Offer, Option<u32>)> = match &s.profile {
            Profile::Sessions(n) => vec![(Offer::Closed(*n), None)],
            Profile::Rate { rate, arrival } => vec![(Offer::Open(*rate, *arrival), None)],
            Profile::Sweep(Some(steps)) => (0u32..)
                .zip(steps)
                .map(|(k, n)| (Offer::Closed(*n), Some(k)))
                .collect(),
            _ => vec![(Offer::Closed(1), None)],
        };
        let server_slots = self.client.slots().await.map(|v| v.len() as u32);
        // A server that states no cached count: reuse is estimated from the prompt-evaluation
        // time against the rate of an uncached prompt, measured first.
        let uncached = match self.client.capabilities().traits.states_cached_tokens {
            false => self.uncached_rate(&sessions[0]).await?,
            true => None,
        };
        let turns: usize = sessions.iter().map(|x| x.turns.len()).sum();
        self.note(format!(
            "sessions: {} sessions ({turns} turns) from {}, {}, think time {}",
            sessions.len(),
            ss.source,
            s.profile,
            ss.think
        ))?;
        let sessions: Arc<[Session]> = sessions.into();
        // Measured once for every phase: the server's slots, Ollama's uncached rate, turns.
        let known = (server_slots, uncached, turns as u64);
        for (offer, step) in offers {
            if let Some(k) = step {
                self.note(format!(
                    "sessions sweep step {k}: {} at once",
                    offer.label()
                ))?;
            }
            let facts = self
                .session_phase(ss, &sessions, (offer, step), known, watch)
                .await?;
            match step {
                None => self.t.phases.sessions = Some(facts),
                Some(_) => self.t.phases.sessions_sweep.push(facts),
            }
            if self.ctx.cancel.is_cancelled() {
                return Err(Abort::Cancelled);
            }
        }
        Ok(())
    }

    /// One phase of sessions offered as `offer` (`step`: its index in a sweep).
    async fn session_phase(
        &mut self,
        ss: &Settings,
        sessions: &Arc<[Session]>,
        (offer, step): (Offer, Option<u32>),
        (server_slots, uncached, turns): (Option<u32>, Option<f64>, u64),
        watch: &Watch<'_>,
    ) -> Result<SessionsReport, Abort> {
        let s = &self.ctx.plan.settings;
        let target = self.spec.name.clone();
        self.obs.on_event(&Event::PhaseStarted {
            target: &target,
            phase: Phase::Session,
            total: turns,
        })?;
        let counters = |m: Option<std::collections::BTreeMap<&str, f64>>| {
            let m = m?;
            Some((
                *server_metrics::first(&m, Role::PrefixQueries)?,
                *server_metrics::first(&m, Role::PrefixHits)?,
            ))
        };
        let before = counters(self.client.metrics().await);
        let mark = watch.begin().await;
        let start = Instant::now();
        let shared = Arc::new(Shared {
            client: self.client.clone(),
            params: self.ctx.params,
            target: target.as_str().into(),
            attempt: self.ctx.attempt,
            cancel: self.ctx.cancel.clone(),
            think: ss.think,
            seed: s.seed,
            tag: self.ctx.tags.as_ref().map(|_| rand::random()),
            end: s.duration_s.map(|d| start + Duration::from_secs_f64(d)),
            next_index: AtomicU64::new(0),
            cut: AtomicU64::new(0),
            started: AtomicU64::new(0),
            step,
        });
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut tasks = tokio::task::JoinSet::new();
        match offer {
            Offer::Closed(n) => {
                let next = Arc::new(AtomicU64::new(0));
                for _ in 0..n {
                    let (shared, sessions, next, tx) =
                        (shared.clone(), sessions.clone(), next.clone(), tx.clone());
                    tasks.spawn(async move {
                        loop {
                            let k = next.fetch_add(1, Ordering::Relaxed);
                            let Some(session) = sessions.get(k as usize) else {
                                break;
                            };
                            let now = Instant::now();
                            if shared.cancel.is_cancelled() || shared.end.is_some_and(|e| now >= e)
                            {
                                break;
                            }
                            converse(&shared, k, session, now, &tx).await;
                        }
                    });
                }
            }
            Offer::Open(rate, arrival) => {
                let (shared, sessions, tx) = (shared.clone(), sessions.clone(), tx.clone());
                tasks.spawn(async move {
                    let mut at = Instant::now();
                    let mut running = tokio::task::JoinSet::new();
                    for ((k, session), gap) in
                        (0u64..)
                            .zip(sessions.iter())
                            .zip(arrival_gaps(rate, arrival, shared.seed))
                    {
                        if shared.end.is_some_and(|e| at >= e) {
                            break;
                        }
                        tokio::select! {
                            _ = tokio::time::sleep_until(at) => {}
                            _ = shared.cancel.cancelled() => break,
                        }
                        let (shared, session, tx) = (shared.clone(), session.clone(), tx.clone());
                        running.spawn(async move { converse(&shared, k, &session, at, &tx).await });
                        while running.try_join_next().is_some() {}
                        at += gap;
                    }
                    while running.join_next().await.is_some() {}
                });
            }
        }
        drop(tx);
        while let Some(rec) = rx.recv().await {
            self.obs.on_event(&Event::RequestFinished(&rec))?;
            self.built.add(&rec);
        }
        while tasks.join_next().await.is_some() {}
        let resources = watch.end(&mark).await;
        self.obs.on_event(&Event::PhaseFinished {
            target: &target,
            phase: Phase::Session,
        })?;
        let server_prefix_cache = match (before, counters(self.client.metrics().await)) {
            (Some((q0, h0)), Some((q1, h1))) => Some(PrefixCounters::between((q0, q1), (h0, h1))),
            _ => None,
        };
        let window = resources.window(watch.tel);
        let mut facts = SessionsReport {
            source: match (&ss.source, &ss.corpus) {
                (src, Some(c)) => format!("{src}:{}", c.dir.display()),
                (src, None) => src.to_string(),
            },
            load: offer.label(),
            concurrency: match offer {
                Offer::Closed(n) => Some(n),
                Offer::Open(..) => None,
            },
            think_time: ss.think.to_string(),
            context_tokens: ss.context_tokens(),
            sessions: sessions.len() as u64,
            cut_by_end: shared.cut.load(Ordering::Relaxed),
            server_slots,
            uncached_prefill_tok_s: uncached,
            server_prefix_cache,
            cache_block_tokens: self.cache.as_ref().and_then(|c| c.block_size),
            ..Default::default()
        };
        let started = shared.started.load(Ordering::Relaxed);
        if let Some(d) = s.duration_s
            && started == sessions.len() as u64
            && start.elapsed().as_secs_f64() < d
        {
            facts.warnings.push(format!(
                "every one of the source's {started} sessions had ended before --duration ({d} s) was up: the phase is shorter than asked (more sessions: --session-count, or a larger file)"
            ));
        }
        facts.turns.gpu = window.gpu;
        facts.turns.server_process = window.server_process;
        facts.turns.server_metrics = window.server_metrics;
        Ok(facts)
    }

    /// Ollama reports no cached count: measure its prompt-evaluation rate on a prompt it cannot
    /// have cached (the first session's context and first turn behind a fresh tag, one token),
    /// the basis of the estimate. Journalled as a warm-up record.
    async fn uncached_rate(&mut self, first: &Session) -> Result<Option<f64>, Abort> {
        let mut messages = Vec::new();
        let tag = format!("[{:08x}] ", rand::random::<u32>());
        let mut tagged = false;
        if let Some(sys) = &first.system {
            messages.push(Message {
                role: "system".into(),
                content: format!("{tag}{sys}"),
            });
            tagged = true;
        }
        let user = first.turns.first().map_or("", |t| t.user.as_str());
        messages.push(Message {
            role: "user".into(),
            content: if tagged {
                user.to_string()
            } else {
                format!("{tag}{user}")
            },
        });
        let prompt = Prompt {
            id: "uncached-prefill".into(),
            scenario: None,
            messages,
            output_tokens: None,
        };
        let params = GenParams {
            max_tokens: 1,
            ..self.ctx.params
        };
        let meta = RequestMeta {
            target: &self.spec.name,
            phase: Phase::Warmup,
            step: None,
            attempt: self.ctx.attempt,
            index: 0,
            scheduled: std::time::Instant::now(),
        };
        let rec = self
            .client
            .generate(&prompt, &params, meta, self.ctx.cancel)
            .await;
        self.obs.on_event(&Event::RequestFinished(&rec))?;
        let rate = rec.server_timings.as_ref().and_then(|t| {
            let (n, d) = (t.prompt_tokens?, t.prompt?.as_secs_f64());
            (d > 0.0 && n > 0).then(|| n as f64 / d)
        });
        match rate {
            Some(r) => self.note(format!(
                "sessions: uncached prompt evaluation {r:.0} tok/s (the basis of the estimated cache use: Ollama reports no cached count)"
            ))?,
            None => self.note(format!(
                "sessions: could not measure an uncached prompt-evaluation rate ({}): cache use will not be estimated",
                rec.error.as_deref().unwrap_or("no prompt_eval_duration")
            ))?,
        }
        Ok(rate)
    }
}

/// One session: its turns in order, each after a think time, until one fails, the run's end
/// or Ctrl-C. `scheduled` is when the session was due (its first turn's schedule).
async fn converse(
    sh: &Shared,
    k: u64,
    session: &Session,
    scheduled: Instant,
    tx: &mpsc::UnboundedSender<RequestRecord>,
) {
    sh.started.fetch_add(1, Ordering::Relaxed);
    let mut rng = StdRng::seed_from_u64(sh.seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut messages: Vec<Message> = Vec::new();
    if let Some(sys) = &session.system {
        // The attempt's tag: its sessions share the context, no earlier run or target does.
        messages.push(Message {
            role: "system".into(),
            content: match sh.tag {
                Some(tag) => format!("[{tag:08x}] {sys}"),
                None => sys.clone(),
            },
        });
    }
    let mut due = scheduled;
    for (t, turn) in session.turns.iter().enumerate() {
        if t > 0 {
            let think = turn.think_s.unwrap_or_else(|| sh.think.sample(&mut rng));
            due = Instant::now() + Duration::from_secs_f64(think);
            if sh.end.is_some_and(|e| due >= e) {
                sh.cut.fetch_add(1, Ordering::Relaxed);
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(due) => {}
                _ = sh.cancel.cancelled() => {
                    sh.cut.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        let user = match (t, sh.tag) {
            (0, Some(tag)) => format!("[{tag:08x}-s{k}] {}", turn.user),
            _ => turn.user.clone(),
        };
        messages.push(Message {
            role: "user".into(),
            content: user,
        });
        let prompt = Prompt {
            id: session.id.clone(),
            scenario: None,
            messages: messages.clone(),
            output_tokens: None,
        };
        let params = GenParams {
            max_tokens: turn.max_tokens.unwrap_or(sh.params.max_tokens),
            ..sh.params
        };
        let meta = RequestMeta {
            target: &sh.target,
            phase: Phase::Session,
            step: None,
            attempt: sh.attempt,
            index: sh.next_index.fetch_add(1, Ordering::Relaxed),
            scheduled: due.into_std(),
        };
        let mut rec = sh.client.generate(&prompt, &params, meta, &sh.cancel).await;
        rec.session = Some(SessionTurn {
            session: k,
            turn: t as u32 + 1,
        });
        rec.step = sh.step;
        let ok = rec.outcome.is_ok();
        let reply = rec.text.clone();
        // Ctrl-C in a turn (the last one too) cut the session short.
        if rec.outcome == Outcome::Cancelled {
            sh.cut.fetch_add(1, Ordering::Relaxed);
        }
        if tx.send(rec).is_err() || !ok {
            return;
        }
        messages.push(Message {
            role: "assistant".into(),
            content: reply,
        });
    }
}
