//! The team mix: the classes of a team's coding-assistant traffic — developers typing with
//! autocomplete on, chat sessions over the repository, agent sessions, the prompt set — as
//! one phase against one server, each class its own job on its own schedule (the one driver
//! runs them side by side). Every record carries its class; the numbers come from
//! [`crate::report::team`].
//!
//! Each class is sent as its own workload sends it: autocomplete keeps its debounce, windows
//! and keystroke cancellation (and its probe before the phase), chat and agent sessions their
//! think times and tags (a phase's sessions share the repository context, no other phase
//! does), the prompt set its per-request tags.

use super::attempt::Attempt;
use super::ctx::Abort;
use super::phase::{Part, PhaseRun};
use super::sessions::Conversations;
use super::watch::Watch;
use crate::load::driver::{Prompts, Schedule, Step};
use crate::plan::Team;
use crate::prompts::PromptTags;
use crate::record::Phase;
use crate::report::team::{ClassMix, TeamReport};
use crate::spec::Class;
use std::sync::Arc;
use std::time::Duration;

impl Attempt<'_, '_> {
    /// Run the team mix and put its facts in the target's report.
    pub(super) async fn team(&mut self, team: &Team, watch: &Watch<'_>) -> Result<(), Abort> {
        let mix = team.mix;
        let duration = Duration::from_secs_f64(team.duration_s);
        self.note(format!(
            "team: {} at once for {:.0} s",
            Class::ALL
                .iter()
                .filter(|c| mix.count(**c) > 0)
                .map(|c| format!("{c} {}", mix.count(*c)))
                .collect::<Vec<_>>()
                .join(", "),
            team.duration_s
        ))?;
        let closed = |n: u32, duration: Option<Duration>| Step {
            schedule: Schedule::Closed(n),
            requests: None,
            duration,
        };
        // The sessions first: if one cannot be prepared, nothing has started reading the
        // server yet.
        let mut parts = Vec::new();
        let mut sessions = Vec::new();
        for (class, n, ss) in [
            (Class::Chat, mix.chat, &team.chat),
            (Class::Agent, mix.agent, &team.agent),
        ] {
            if n == 0 {
                continue;
            }
            let prepared = self
                .prepare_sessions(ss, &format!("team {class}"), watch)
                .await?;
            let job = Arc::new(Conversations::new(
                prepared.sessions.clone(),
                prepared.settings.think,
                self.ctx.plan.settings.seed ^ class as u64,
            ));
            // The class's own tags: its sessions share their context, no other class does.
            let mut ctx = self.request_ctx(Phase::Team).of_class(class);
            ctx.tags = ctx.tags.map(|_| PromptTags::fresh());
            sessions.push((class, n, prepared, job.clone(), parts.len()));
            parts.push(Part {
                ctx: Arc::new(ctx),
                job,
                step: closed(n, Some(duration)),
            });
        }
        if mix.prompts > 0 {
            parts.push(Part {
                ctx: Arc::new(self.request_ctx(Phase::Team).of_class(Class::Prompts)),
                job: Arc::new(Prompts {
                    prompts: self.ctx.prompts.clone(),
                    offset: 0,
                }),
                step: closed(mix.prompts, Some(duration)),
            });
        }
        let mut typing = None;
        if mix.autocomplete > 0 {
            // Other classes share the server: only /slots tells the developers' work apart.
            let shared = !parts.is_empty();
            let t = self
                .prepare_typing(&team.typing, shared, self.ctx.plan.settings.seed, watch)
                .await?;
            typing = Some((t, parts.len()));
            parts.push(Part {
                ctx: Arc::new(self.request_ctx(Phase::Team).of_class(Class::Autocomplete)),
                job: typing
                    .as_ref()
                    .map(|(t, _)| t.job.clone())
                    .expect("just set"),
                // Each developer types for the phase's duration.
                step: closed(mix.autocomplete, None),
            });
        }
        let settle = typing.as_mut().map(|(t, _)| t.settle());
        let mut completed_tokens = 0u64;
        let done = self
            .run_phase(
                PhaseRun {
                    phase: Phase::Team,
                    total: 0,
                    parts,
                    settle,
                },
                watch,
                &mut |rec| {
                    if rec.class == Some(Class::Autocomplete) && rec.outcome.is_ok() {
                        completed_tokens += rec.output_tokens.unwrap_or(0);
                    }
                },
            )
            .await?;
        // Each class's own start → last end (the phase's is the longest).
        let ran = |part: usize| done.durations.get(part).copied().unwrap_or_default();
        let window = done.resources.window(watch.tel);
        let mut facts = TeamReport {
            mix: Class::ALL
                .into_iter()
                .filter(|c| mix.count(*c) > 0)
                .map(|class| ClassMix {
                    class,
                    count: mix.count(class),
                })
                .collect(),
            duration_s: done.duration().as_secs_f64(),
            ..TeamReport::default()
        };
        window.attach(&mut facts.phase);
        if let Some((t, part)) = typing {
            let typed_s = ran(part).as_secs_f64();
            facts.autocomplete = Some(
                self.typing_facts(t, completed_tokens, typed_s, &Default::default())
                    .await,
            );
        }
        for (class, n, prepared, job, part) in sessions {
            let s = self.sessions_facts(
                &prepared.settings,
                &Schedule::Closed(n),
                &job,
                (prepared.server_slots, prepared.uncached),
                (Some(team.duration_s), ran(part)),
            );
            match class {
                Class::Chat => facts.chat = Some(s),
                _ => facts.agent = Some(s),
            }
        }
        self.workload = Some(crate::report::WorkloadReport::Team(facts));
        if self.ctx.cancel.is_cancelled() {
            return Err(Abort::Cancelled);
        }
        Ok(())
    }
}
