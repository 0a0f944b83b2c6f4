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

use super::attempt::Attempt;
use super::ctx::Abort;
use super::error::TargetError;
use super::phase::{Part, PhaseRun};
use super::watch::Watch;
use crate::backend::GenParams;
use crate::load::driver::{Asks, Call, Job, Out, RequestCtx, Schedule, Step};
use crate::load::profile::Profile;
use crate::load::sessions::{Session, Settings, Think};
use crate::prompts::{Message, Prompt, PromptTags};
use crate::record::{Outcome, Phase, SessionTurn};
use crate::report::WorkloadReport;
use crate::report::finding::{Finding, FindingCode};
use crate::report::sessions::{PrefixCounters, SessionsReport};
use crate::server_metrics::{self, Role};
use futures_util::future::BoxFuture;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// The sessions as jobs: job `k` is session `k`, its turns in order.
pub(super) struct Conversations {
    pub sessions: Arc<[Session]>,
    pub think: Think,
    pub seed: u64,
    /// Sessions cut short by the end of the phase or Ctrl-C.
    pub cut: AtomicU64,
    /// Sessions started.
    pub started: AtomicU64,
}

impl Conversations {
    pub fn new(sessions: Arc<[Session]>, think: Think, seed: u64) -> Conversations {
        Conversations {
            sessions,
            think,
            seed,
            cut: AtomicU64::new(0),
            started: AtomicU64::new(0),
        }
    }
}

impl Job for Conversations {
    fn count(&self) -> Option<u64> {
        Some(self.sessions.len() as u64)
    }

    fn run<'a>(&'a self, ctx: &'a RequestCtx, call: Call, out: &'a Out) -> BoxFuture<'a, ()> {
        Box::pin(converse(self, ctx, call, out))
    }
}

/// The sessions workload ready to run (see [`Attempt::prepare_sessions`]).
pub(super) struct SessionsRun {
    /// The settings, the context fitted to the server.
    pub settings: Settings,
    pub sessions: Arc<[Session]>,
    pub server_slots: Option<u32>,
    pub uncached: Option<f64>,
    /// Turns in all the sessions.
    pub turns: u64,
}

/// How sessions are offered, as a profile (`sessions:N`, `rate:R:…`).
fn label(s: &Schedule) -> String {
    match s {
        Schedule::Closed(n) => Profile::Sessions(*n).to_string(),
        Schedule::Open { rate, arrival, .. } => Profile::Rate {
            rate: *rate,
            arrival: *arrival,
        }
        .to_string(),
        Schedule::At(_) => "trace".into(),
        Schedule::OnOff(o) => format!("team:{}", o.streams),
    }
}

impl Attempt<'_, '_> {
    /// Run the sessions workload and put its facts in the target's report.
    pub(super) async fn sessions(&mut self, ss: &Settings, watch: &Watch<'_>) -> Result<(), Abort> {
        let prepared = self.prepare_sessions(ss, "sessions", watch).await?;
        let s = &self.ctx.plan.settings;
        // One phase, or one per step of a sweep of sessions at once.
        let offers: Vec<(Schedule, Option<u32>)> = match &s.profile {
            Profile::Sessions(n) => vec![(Schedule::Closed(*n), None)],
            Profile::Rate { rate, arrival } => vec![(
                Schedule::Open {
                    rate: *rate,
                    arrival: *arrival,
                    seed: s.seed,
                },
                None,
            )],
            Profile::Sweep(Some(steps)) => (0u32..)
                .zip(steps)
                .map(|(k, n)| (Schedule::Closed(*n), Some(k)))
                .collect(),
            _ => vec![(Schedule::Closed(1), None)],
        };
        self.note(format!(
            "sessions: {} sessions ({} turns) from {}, {}, think time {}",
            prepared.sessions.len(),
            prepared.turns,
            prepared.settings.source,
            s.profile,
            prepared.settings.think
        ))?;
        let ss = &prepared.settings;
        let sessions = &prepared.sessions;
        let known = (prepared.server_slots, prepared.uncached, prepared.turns);
        for (offer, step) in offers {
            if let Some(k) = step {
                self.note(format!(
                    "sessions sweep step {k}: {} at once",
                    label(&offer)
                ))?;
            }
            let facts = self
                .session_phase(ss, sessions, (offer, step), known, watch)
                .await?;
            self.workload = Some(match (step, self.workload.take()) {
                (None, _) => WorkloadReport::Sessions(facts),
                (Some(_), Some(WorkloadReport::SessionsSweep(mut steps))) => {
                    steps.push(facts);
                    WorkloadReport::SessionsSweep(steps)
                }
                (Some(_), _) => WorkloadReport::SessionsSweep(vec![facts]),
            });
            if self.ctx.cancel.is_cancelled() {
                return Err(Abort::Cancelled);
            }
        }
        Ok(())
    }

    /// Everything before the sessions run, measured once for every phase: the context fitted
    /// to the server, the sessions sized in its tokens, its slots, and — where it states no
    /// cached count — its uncached prompt-evaluation rate. `what` names them in notes.
    pub(super) async fn prepare_sessions(
        &mut self,
        ss: &Settings,
        what: &str,
        watch: &Watch<'_>,
    ) -> Result<SessionsRun, Abort> {
        let fitted = ss.fitted_to(self.t.model_info.context_length);
        if let Some(f) = &fitted {
            self.note(format!(
                "{what}: {} tokens of context (half of the server's {}; the default {} would leave no room to grow; --context-tokens sets it)",
                f.context_tokens().unwrap_or(0),
                self.t.model_info.context_length.unwrap_or(0),
                ss.context_tokens().unwrap_or(0)
            ))?;
        }
        let ss = fitted.unwrap_or_else(|| ss.clone());
        let cpt = match &ss.corpus {
            Some(c) => {
                let (cpt, how) = self
                    .client
                    .chars_per_token_for(&c.sample(), "the session contexts")
                    .await
                    .map_err(|e| Abort::Target(e.into()))?;
                self.note(format!(
                    "{what}: {cpt:.2} characters per token of the corpus (by {how})"
                ))?;
                cpt
            }
            None => 4.0,
        };
        let sessions = ss.sessions(cpt, self.ctx.plan.settings.seed);
        if sessions.is_empty() {
            return Err(Abort::Target(TargetError::Sessions(
                "the session source holds no session".into(),
            )));
        }
        let server_slots = self.client.slots().await.map(|v| v.len() as u32);
        // A server that states no cached count: reuse is estimated from the prompt-evaluation
        // time against the rate of an uncached prompt, measured first.
        let uncached = match self.client.capabilities().traits.states_cached_tokens {
            false => self.uncached_rate(&sessions[0], watch).await?,
            true => None,
        };
        let turns = sessions.iter().map(|x| x.turns.len() as u64).sum();
        Ok(SessionsRun {
            settings: ss,
            sessions: sessions.into(),
            server_slots,
            uncached,
            turns,
        })
    }

    /// One phase of sessions offered as `offer` (`step`: its index in a sweep).
    async fn session_phase(
        &mut self,
        ss: &Settings,
        sessions: &Arc<[Session]>,
        (offer, step): (Schedule, Option<u32>),
        (server_slots, uncached, turns): (Option<u32>, Option<f64>, u64),
        watch: &Watch<'_>,
    ) -> Result<SessionsReport, Abort> {
        let s = &self.ctx.plan.settings;
        let counters = |m: Option<std::collections::BTreeMap<&str, f64>>| {
            let m = m?;
            Some((
                *server_metrics::first(&m, Role::PrefixQueries)?,
                *server_metrics::first(&m, Role::PrefixHits)?,
            ))
        };
        let before = counters(self.client.metrics().await);
        let start = Instant::now();
        let job = Arc::new(Conversations::new(sessions.clone(), ss.think, s.seed));
        // The phase's own tags: its sessions share the context, no earlier phase or target
        // does.
        let mut ctx = self.request_ctx(Phase::Session).at_step(step);
        ctx.tags = ctx.tags.map(|_| PromptTags::fresh());
        let run = PhaseRun {
            phase: Phase::Session,
            total: turns,
            parts: vec![Part {
                ctx: Arc::new(ctx),
                job: job.clone(),
                step: Step {
                    schedule: offer.clone(),
                    requests: None,
                    duration: s.duration_s.map(Duration::from_secs_f64),
                },
            }],
            settle: None,
        };
        let done = self.run_phase(run, watch, &mut |_| {}).await?;
        let server_prefix_cache = match (before, counters(self.client.metrics().await)) {
            (Some((q0, h0)), Some((q1, h1))) => Some(PrefixCounters::between((q0, q1), (h0, h1))),
            _ => None,
        };
        let window = done.resources.window(watch.tel);
        let mut facts = self.sessions_facts(
            ss,
            &offer,
            &job,
            (server_slots, uncached),
            (s.duration_s, start.elapsed()),
        );
        facts.server_prefix_cache = server_prefix_cache;
        window.attach(&mut facts.turns);
        Ok(facts)
    }

    /// What a phase of sessions knew besides its records: its settings, how they were offered,
    /// how many were cut short, the server's slots and uncached rate, and whether the source
    /// ran out before `duration_s` (`ran`: how long the phase ran).
    pub(super) fn sessions_facts(
        &self,
        ss: &Settings,
        offer: &Schedule,
        job: &Conversations,
        (server_slots, uncached): (Option<u32>, Option<f64>),
        (duration_s, ran): (Option<f64>, Duration),
    ) -> SessionsReport {
        let mut facts = SessionsReport {
            source: match (&ss.source, &ss.corpus) {
                (src, Some(c)) => format!("{src}:{}", c.dir.display()),
                (src, None) => src.to_string(),
            },
            load: label(offer),
            concurrency: match offer {
                Schedule::Closed(n) => Some(*n),
                _ => None,
            },
            think_time: ss.think.to_string(),
            context_tokens: ss.context_tokens(),
            sessions: job.sessions.len() as u64,
            cut_by_end: job.cut.load(Ordering::Relaxed),
            server_slots,
            uncached_prefill_tok_s: uncached,
            cache_block_tokens: self.cache.as_ref().and_then(|c| c.block_size),
            ..Default::default()
        };
        let started = job.started.load(Ordering::Relaxed);
        if let Some(d) = duration_s
            && started == job.sessions.len() as u64
            && ran.as_secs_f64() < d
        {
            facts.findings.push(
                Finding::new(FindingCode::SourceExhausted)
                    .with("started", started)
                    .with("duration_s", d),
            );
        }
        facts
    }

    /// Ollama reports no cached count: measure its prompt-evaluation rate on a prompt it cannot
    /// have cached (the first session's context and first turn behind a fresh tag, one token),
    /// the basis of the estimate. Journalled as a warm-up record.
    async fn uncached_rate(
        &mut self,
        first: &Session,
        watch: &Watch<'_>,
    ) -> Result<Option<f64>, Abort> {
        let mut messages = Vec::new();
        let tag = PromptTags::fresh().shared();
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
        let job = Arc::new(Asks {
            prompts: vec![(prompt, params)],
        });
        let step = Step {
            schedule: Schedule::Closed(1),
            requests: None,
            duration: None,
        };
        let ctx = self.request_ctx(Phase::Warmup);
        let Some(rec) = self.run_step(ctx, job, step, watch).await?.first else {
            return Err(Abort::Cancelled);
        };
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

/// One session (job `call.index`): its turns in order, each after a think time, until one
/// fails, the phase's end or Ctrl-C. `call.at` is when the session was due (its first turn's
/// schedule). The context is tagged with the phase's tags; each session's first message gets
/// its own label.
async fn converse(job: &Conversations, ctx: &RequestCtx, call: Call, out: &Out) {
    let k = call.index;
    let Some(session) = job.sessions.get(k as usize) else {
        return;
    };
    job.started.fetch_add(1, Ordering::Relaxed);
    let mut rng = StdRng::seed_from_u64(job.seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut messages: Vec<Message> = Vec::new();
    if let Some(sys) = &session.system {
        messages.push(Message {
            role: "system".into(),
            content: match &ctx.tags {
                Some(tags) => format!("{}{sys}", tags.shared()),
                None => sys.clone(),
            },
        });
    }
    let mut due = call.at;
    for (t, turn) in session.turns.iter().enumerate() {
        if t > 0 {
            let think = turn.think_s.unwrap_or_else(|| job.think.sample(&mut rng));
            due = Instant::now() + Duration::from_secs_f64(think);
            if call.end.is_some_and(|e| due >= e) {
                job.cut.fetch_add(1, Ordering::Relaxed);
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(due) => {}
                _ = ctx.cancel.cancelled() => {
                    job.cut.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        let user = match (t, &ctx.tags) {
            (0, Some(tags)) => format!("{}{}", tags.label(format!("s{k}")), turn.user),
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
            max_tokens: turn.max_tokens.unwrap_or(ctx.params.max_tokens),
            ..ctx.params
        };
        let mut rec = ctx.generate(&prompt, &params, due).await;
        rec.session = Some(SessionTurn {
            session: k,
            turn: t as u32 + 1,
        });
        let ok = rec.outcome.is_ok();
        let reply = rec.text.clone();
        // Ctrl-C in a turn (the last one too) cut the session short.
        if rec.outcome == Outcome::Cancelled {
            job.cut.fetch_add(1, Ordering::Relaxed);
        }
        if out.send(rec).is_err() || !ok {
            return;
        }
        messages.push(Message {
            role: "assistant".into(),
            content: reply,
        });
    }
}
