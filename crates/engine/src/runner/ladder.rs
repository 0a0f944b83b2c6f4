//! The long-context phase: for each length of the ladder, a prompt of real code that long
//! (sized with the server's tokenizer where it has one, and counted with it), sent a few times
//! behind fresh tags so no cache helps; a step longer than the context the server reports is
//! skipped with the reason (Ollama's reported length is the model's, not its `num_ctx`, so
//! its steps are all sent and truncation is found from its counts). Every request is
//! published and journalled as it ends; the numbers come from [`crate::report::ladder`].

use super::attempt::Attempt;
use super::ctx::Abort;
use super::watch::Watch;
use crate::backend::GenParams;
use crate::load::corpus::Corpus;
use crate::load::driver::{Call, Job, Out, RequestCtx, Schedule, Step};
use crate::load::ladder::{Settings, prompt};
use crate::prompts::{Message, Prompt, PromptTags};
use crate::record::Phase;
use crate::report::ladder::{LadderReport, LadderStep};
use futures_util::future::BoxFuture;
use std::sync::Arc;

/// One step of the ladder as jobs: job `i` sends the step's code, `chars` long, behind its own
/// tag (always: the ladder measures prefill, so no cache may help, `--allow-prompt-cache` or
/// not).
struct Rung {
    corpus: Arc<Corpus>,
    chars: usize,
    tokens: u32,
    /// The step's index, in its tags.
    k: usize,
    tags: PromptTags,
    params: GenParams,
    requests: u32,
}

impl Rung {
    fn text(&self, i: u64) -> String {
        let tag = self.tags.label(format!("{}-{i}", self.k));
        prompt(&self.corpus, self.chars, tag.trim_end())
    }
}

impl Job for Rung {
    fn count(&self) -> Option<u64> {
        Some(u64::from(self.requests))
    }

    fn run<'a>(&'a self, ctx: &'a RequestCtx, call: Call, out: &'a Out) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let p = Prompt {
                id: format!("ladder-{}", self.tokens),
                scenario: None,
                messages: vec![Message {
                    role: "user".into(),
                    content: self.text(call.index),
                }],
                output_tokens: None,
            };
            let _ = out.send(ctx.generate(&p, &self.params, call.at).await);
        })
    }
}

impl Attempt<'_, '_> {
    /// Run the ladder and put its facts in the target's report.
    pub(super) async fn ladder(&mut self, ls: &Settings, watch: &Watch<'_>) -> Result<(), Abort> {
        let corpus = ls.corpus.clone().ok_or_else(|| {
            Abort::Target(super::error::TargetError::Ladder(
                "the context ladder's corpus was not loaded".into(),
            ))
        })?;
        let (cpt, how) = self
            .client
            .chars_per_token_for(&corpus.sample(), "the context ladder's prompts")
            .await
            .map_err(|e| Abort::Target(e.into()))?;
        let server_context = self.t.model_info.context_length;
        let steps = ls.steps(server_context);
        let tokenize = self.client.capabilities().tokenize;
        let traits = self.client.capabilities().traits;
        let mut facts = LadderReport {
            server_context,
            max_tokens: ls.max_tokens,
            sent_counted_by: if tokenize { "tokenize" } else { "estimate" }.into(),
            ..Default::default()
        };
        self.note(format!(
            "context ladder: {} steps up to {} tokens, {} requests each ({cpt:.2} characters per token by {how}; server context {})",
            steps.len(),
            steps.last().copied().unwrap_or(0),
            ls.requests,
            server_context.map_or("not reported".into(), |c| c.to_string())
        ))?;
        let params = GenParams {
            max_tokens: ls.max_tokens,
            ..self.ctx.params
        };
        let tags = PromptTags::fresh();

        // Tokens the server counted beyond what was sent (its chat template), once known.
        let mut template: Option<u64> = None;
        for (k, &tokens) in steps.iter().enumerate() {
            let mut step = LadderStep {
                tokens,
                ..Default::default()
            };
            let need = u64::from(tokens) + u64::from(ls.max_tokens);
            if let Some(c) = server_context.filter(|_| !traits.reports_models_context)
                && need > c
            {
                step.skipped = Some(format!(
                    "{tokens} prompt tokens + {} generated exceed the server's context of {c} tokens",
                    ls.max_tokens
                ));
                facts.steps.push(step);
                continue;
            }
            // Size the code in the server's tokens: once by the measured rate, then (with a
            // tokenizer) corrected by its count of the prompt itself.
            let rung = |chars: usize| Rung {
                corpus: corpus.clone(),
                chars,
                tokens,
                k,
                tags: tags.clone(),
                params,
                requests: ls.requests,
            };
            let mut chars = (f64::from(tokens) * cpt).round() as usize;
            let mut text = rung(chars).text(0);
            let mut sent = None;
            if tokenize && let Ok(Some(n)) = self.client.tokens(&text).await {
                chars = (chars as f64 * f64::from(tokens) / n as f64).round() as usize;
                text = rung(chars).text(0);
                sent = self.client.tokens(&text).await.ok().flatten();
            }
            if sent.is_none() {
                // One step without the tokenizer's count: the ladder's counts are estimates,
                // judged by the estimates' rules.
                facts.sent_counted_by = "estimate".into();
            }
            step.sent_tokens = sent.or(Some((text.chars().count() as f64 / cpt).round() as u64));
            // The server counts the chat template too (measured on the steps sent so far).
            let counted = step.sent_tokens.unwrap_or(0) + template.unwrap_or(0);
            if let Some(c) = server_context.filter(|_| !traits.reports_models_context)
                && counted + u64::from(ls.max_tokens) > c
            {
                step.skipped = Some(format!(
                    "{counted} prompt tokens ({} of code and question + {} of the chat template, as counted on the shorter steps) + {} generated exceed the server's context of {c} tokens",
                    step.sent_tokens.unwrap_or(0),
                    template.unwrap_or(0),
                    ls.max_tokens
                ));
                facts.steps.push(step);
                continue;
            }
            let sent_tokens = step.sent_tokens;
            let ctx = self.request_ctx(Phase::Ladder).at_step(Some(k as u32));
            let done = self
                .run_phase(
                    super::phase::PhaseRun {
                        phase: Phase::Ladder,
                        total: u64::from(ls.requests),
                        parts: vec![super::phase::Part {
                            ctx: Arc::new(ctx),
                            job: Arc::new(rung(chars)),
                            step: Step {
                                schedule: Schedule::Closed(1),
                                requests: None,
                                duration: None,
                            },
                        }],
                        settle: None,
                    },
                    watch,
                    &mut |rec| {
                        if let (true, Some(n), Some(sent)) =
                            (rec.outcome.is_ok(), rec.input_tokens, sent_tokens)
                        {
                            template = template.max(Some(n.saturating_sub(sent)));
                        }
                    },
                )
                .await?;
            done.resources.window(watch.tel).attach(&mut step.phase);
            facts.steps.push(step);
            if self.ctx.cancel.is_cancelled() {
                break;
            }
        }
        self.workload = Some(crate::report::WorkloadReport::Context(facts));
        if self.ctx.cancel.is_cancelled() {
            return Err(Abort::Cancelled);
        }
        Ok(())
    }
}
