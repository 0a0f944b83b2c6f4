//! The long-context phase: for each length of the ladder, a prompt of real code that long
//! (sized with the server's tokenizer where it has one, and counted with it), sent a few times
//! behind fresh tags so no cache helps; a step longer than the context the server reports is
//! skipped with the reason (Ollama's reported length is the model's, not its `num_ctx`, so
//! its steps are all sent and truncation is found from its counts). Every request is
//! published and journalled as it ends; the numbers come from [`crate::report::ladder`].

use super::ctx::Abort;
use super::measure::Attempt;
use super::watch::Watch;
use crate::backend::{GenParams, RequestMeta};
use crate::events::Event;
use crate::load::ladder::{Settings, prompt};
use crate::prompts::{Message, Prompt};
use crate::record::Phase;
use crate::report::ladder::{LadderReport, LadderStep};

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
        let target = self.spec.name.clone();
        self.obs.on_event(&Event::PhaseStarted {
            target: &target,
            phase: Phase::Ladder,
            total: steps.len() as u64 * u64::from(ls.requests),
        })?;
        let run_tag: u32 = rand::random();
        let mut index = 0u64;
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
            let tag = |i: u32| format!("[{run_tag:08x}-{k}-{i}]");
            let mut chars = (f64::from(tokens) * cpt).round() as usize;
            let mut text = prompt(&corpus, chars, &tag(0));
            let mut sent = None;
            if tokenize && let Ok(Some(n)) = self.client.tokens(&text).await {
                chars = (chars as f64 * f64::from(tokens) / n as f64).round() as usize;
                text = prompt(&corpus, chars, &tag(0));
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
            let mark = watch.begin().await;
            for i in 0..ls.requests {
                let p = Prompt {
                    id: format!("ladder-{tokens}"),
                    scenario: None,
                    messages: vec![Message {
                        role: "user".into(),
                        content: prompt(&corpus, chars, &tag(i)),
                    }],
                    output_tokens: None,
                };
                let meta = RequestMeta {
                    target: &self.spec.name,
                    phase: Phase::Ladder,
                    step: Some(k as u32),
                    attempt: self.ctx.attempt,
                    index,
                    scheduled: std::time::Instant::now(),
                };
                index += 1;
                let rec = self
                    .client
                    .generate(&p, &params, meta, self.ctx.cancel)
                    .await;
                self.obs.on_event(&Event::RequestFinished(&rec))?;
                if let (true, Some(n), Some(sent)) =
                    (rec.outcome.is_ok(), rec.input_tokens, step.sent_tokens)
                {
                    template = template.max(Some(n.saturating_sub(sent)));
                }
                self.built.add(&rec);
                if self.ctx.cancel.is_cancelled() {
                    break;
                }
            }
            let window = watch.end(&mark).await.window(watch.tel);
            step.phase.gpu = window.gpu;
            step.phase.server_process = window.server_process;
            step.phase.server_metrics = window.server_metrics;
            facts.steps.push(step);
            if self.ctx.cancel.is_cancelled() {
                break;
            }
        }
        self.obs.on_event(&Event::PhaseFinished {
            target: &target,
            phase: Phase::Ladder,
        })?;
        self.t.phases.ladder = Some(facts);
        if self.ctx.cancel.is_cancelled() {
            return Err(Abort::Cancelled);
        }
        Ok(())
    }
}
