//! The long-context ladder (`--workload context`): prompts of growing length (1k, 2k, 4k, …
//! tokens of real code, each behind a unique tag so no cache helps), a few requests per step,
//! and at each length the TTFT, the prefill rate (prompt tokens / TTFT) and the decode rate —
//! with the prompt length the server *counted* beside the one sent, so a server that silently
//! cut the prompt (Ollama at `num_ctx`) is found out, not reported fast.

use super::model::PhaseReport;
use crate::record::{Phase, RequestRecord};
use crate::stats::Summary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A step whose prompt the server counted below this share of what was sent was truncated
/// (a chat template or a tokenizer estimate is never this far off).
pub const TRUNCATED_BELOW: f64 = 0.75;

/// The ladder of one target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LadderReport {
    /// The context length the server reports (llama.cpp `/props`, vLLM `max_model_len`,
    /// Ollama the model's own, which is not its `num_ctx`); `null` when it says none.
    pub server_context: Option<u64>,
    /// Tokens generated per request.
    pub max_tokens: u32,
    /// How the prompt tokens sent were counted: `tokenize` (the server's tokenizer) or
    /// `estimate` (characters per token, measured on a short sample).
    pub sent_counted_by: String,
    /// The steps, shortest first.
    pub steps: Vec<LadderStep>,
    /// The longest prompt a truncating server kept, tokens; `null` when none was cut.
    pub truncated_to: Option<u64>,
    /// Findings, said plainly.
    pub warnings: Vec<String>,
}

/// One length of the ladder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LadderStep {
    /// The length asked for, tokens.
    pub tokens: u32,
    /// The prompt tokens sent (see `sent_counted_by`).
    pub sent_tokens: Option<u64>,
    /// Why the step was not run (longer than the server's context); `null` when it ran.
    pub skipped: Option<String>,
    /// The step's requests.
    pub phase: PhaseReport,
    /// The prompt tokens the server counted, median.
    pub server_prompt_tokens: Option<f64>,
    /// Prompt tokens the server counted / TTFT, tok/s, median over the requests.
    pub prefill_tok_s: Summary,
    /// The server counted far fewer prompt tokens than were sent (see [`TRUNCATED_BELOW`]).
    pub truncated: bool,
}

/// The ladder records of one attempt, by step.
#[derive(Debug, Clone, Default)]
pub struct LadderStats {
    steps: BTreeMap<u32, Vec<RequestRecord>>,
}

impl LadderStats {
    /// Add one finished ladder request.
    pub fn add(&mut self, r: &RequestRecord) {
        if r.phase == Phase::Ladder {
            self.steps
                .entry(r.step.unwrap_or(0))
                .or_default()
                .push(r.clone());
        }
    }

    /// `facts` (the steps as the run planned them) with each step's numbers from its records.
    pub fn report(&self, facts: &LadderReport, is_ollama: bool) -> LadderReport {
        let mut r = facts.clone();
        for (k, step) in r.steps.iter_mut().enumerate() {
            let Some(recs) = self.steps.get(&(k as u32)) else {
                continue;
            };
            let mut p = PhaseReport::from_records(recs);
            p.gpu = step.phase.gpu.clone();
            p.server_process = step.phase.server_process.clone();
            p.server_metrics = step.phase.server_metrics.clone();
            step.phase = p;
            let ok: Vec<&RequestRecord> = recs.iter().filter(|r| r.outcome.is_ok()).collect();
            step.server_prompt_tokens =
                Summary::of(ok.iter().filter_map(|r| Some(r.input_tokens? as f64))).p50;
            step.prefill_tok_s = Summary::of(ok.iter().filter_map(|r| {
                let (t, n) = (r.ttft?.as_secs_f64(), r.input_tokens? as f64);
                (t > 0.0).then(|| n / t)
            }));
            step.truncated = match (step.server_prompt_tokens, step.sent_tokens) {
                (Some(got), Some(sent)) => got < TRUNCATED_BELOW * sent as f64,
                _ => false,
            };
        }
        r.truncated_to = r
            .steps
            .iter()
            .filter(|s| s.truncated)
            .filter_map(|s| s.server_prompt_tokens)
            .map(|n| n.round() as u64)
            .max();
        r.warnings = facts.warnings.clone();
        if let Some(n) = r.truncated_to {
            let cut: Vec<String> = r
                .steps
                .iter()
                .filter(|s| s.truncated)
                .map(|s| s.tokens.to_string())
                .collect();
            r.warnings.push(if is_ollama {
                format!(
                    "prompts over {n} tokens were cut to {n} (Ollama num_ctx; recent Ollama keeps about half of it) at the {} steps: set num_ctx, e.g. extra_body = {{ options = {{ num_ctx = 32768 }} }}, or truncate = false to have it refuse instead; the TTFT and prefill rate of those steps measure the cut prompt, not the one sent",
                    cut.join(", ")
                )
            } else {
                format!(
                    "the server counted far fewer prompt tokens than were sent at the {} steps (at most {n}): it truncated the prompt, so the TTFT and prefill rate of those steps measure the cut prompt",
                    cut.join(", ")
                )
            });
        }
        let refused: u64 = r
            .steps
            .iter()
            .map(|s| {
                s.phase
                    .failures
                    .get("context_exceeded")
                    .copied()
                    .unwrap_or(0)
            })
            .sum();
        if refused > 0 {
            r.warnings.push(format!(
                "{refused} requests were refused as longer than the server's context (context_exceeded)"
            ));
        }
        // A report rebuilt from a finished one already holds these among its facts.
        let mut seen = Vec::new();
        r.warnings.retain(|w| {
            let new = !seen.contains(w);
            seen.push(w.clone());
            new
        });
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rec(step: u32, input: u64, ttft_ms: u64) -> RequestRecord {
        let ms = Duration::from_millis;
        RequestRecord {
            step: Some(step),
            input_tokens: Some(input),
            ..RequestRecord::streamed("t", Phase::Ladder, 0, vec![ms(ttft_ms), ms(ttft_ms + 20)])
        }
    }

    #[test]
    fn a_step_counted_at_num_ctx_is_truncated_and_said_so() {
        let facts = LadderReport {
            steps: [1024u32, 2048, 4096]
                .iter()
                .map(|&t| LadderStep {
                    tokens: t,
                    sent_tokens: Some(u64::from(t) + 10),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let mut s = LadderStats::default();
        for r in [rec(0, 1030, 500), rec(1, 2048, 1000), rec(2, 2048, 1000)] {
            s.add(&r);
        }
        let r = s.report(&facts, true);
        assert_eq!(
            r.steps.iter().map(|s| s.truncated).collect::<Vec<_>>(),
            [false, false, true]
        );
        assert_eq!(r.truncated_to, Some(2048));
        assert_eq!(r.steps[0].prefill_tok_s.p50, Some(2060.0));
        assert!(
            r.warnings[0].starts_with("prompts over 2048 tokens were cut to 2048 (Ollama num_ctx"),
            "{:?}",
            r.warnings
        );
        assert!(r.warnings[0].contains("4096 steps"), "{:?}", r.warnings);
    }
}
