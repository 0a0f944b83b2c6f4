//! The long-context ladder (`--workload context`): prompts of growing length (1k, 2k, 4k, …
//! tokens of real code, each behind a unique tag so no cache helps), a few requests per step,
//! and at each length the TTFT, the prefill rate (prompt tokens / TTFT) and the decode rate —
//! with the prompt length the server *counted* beside the one sent, so a server that silently
//! cut the prompt (Ollama at `num_ctx`) is found out, not reported fast.

use super::finding::{Finding, FindingCode, push_once};
use super::phase::PhaseReport;
use crate::record::{Phase, RequestRecord};
use crate::stats::Summary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A step whose prompt the server counted below this share of what was sent was truncated
/// (a chat template or a tokenizer estimate is never this far off).
pub const TRUNCATED_BELOW: f64 = 0.75;

/// With the server's tokenizer the tokens sent are exact and its count adds the chat
/// template, so a count below this share of them (a few tokens merged where the prompt
/// meets the template) was cut.
pub const TOKENIZED_CUT_BELOW: f64 = 0.98;

/// With an estimate of the tokens sent, a step is compared with the last step the server
/// read whole: it must count at least this share of the tokens added since (the template
/// cancels out and the estimate's error is far smaller), else the prompt hit a limit — a
/// cut only slightly past `num_ctx`, which the overall share alone lets through.
pub const ADDED_COUNTED_BELOW: f64 = 0.7;

/// The ladder of one target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LadderReport {
    /// The context length the server reports (llama.cpp `/props`, vLLM `max_model_len`,
    /// Ollama the model's own, which is not its `num_ctx`); `null` when it says none.
    pub server_context: Option<u64>,
    /// Tokens generated per request.
    pub max_tokens: u32,
    /// How the prompt tokens sent were counted: `tokenize` (the server's tokenizer, for every
    /// step) or `estimate` (characters per token, measured on a short sample, for one step or
    /// more).
    pub sent_counted_by: String,
    /// The steps, shortest first.
    pub steps: Vec<LadderStep>,
    /// The longest prompt a truncating server kept, tokens; `null` when none was cut.
    pub truncated_to: Option<u64>,
    /// What the numbers show about truncation and refusals, as typed findings.
    #[serde(default)]
    pub findings: Vec<super::finding::Finding>,
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
    /// The server counted fewer prompt tokens than were sent, beyond what the chat template
    /// or the estimate explains: under 75 % of them, under 98 % of its own `/tokenize` count,
    /// or under 70 % of the tokens added since the last step it read whole.
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
    pub fn report(&self, facts: &LadderReport, truncates_silently: bool) -> LadderReport {
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
        }
        mark_truncated(&mut r.steps, r.sent_counted_by == "tokenize");
        r.truncated_to = r
            .steps
            .iter()
            .filter(|s| s.truncated)
            .filter_map(|s| s.server_prompt_tokens)
            .map(|n| n.round() as u64)
            .max();
        // A version-1 report's sentences (text findings) are said again, typed, below.
        r.findings = facts
            .findings
            .iter()
            .filter(|f| f.code != FindingCode::Text)
            .cloned()
            .collect();
        if let Some(n) = r.truncated_to {
            let cut: Vec<String> = r
                .steps
                .iter()
                .filter(|s| s.truncated)
                .map(|s| s.tokens.to_string())
                .collect();
            // Prompts up to the longest length read whole were not cut, even where the server
            // keeps less than that of a longer one (recent Ollama keeps about num_ctx / 2).
            let first_cut = r.steps.iter().find(|s| s.truncated).map_or(0, |s| s.tokens);
            let over = r
                .steps
                .iter()
                .filter(|s| !s.truncated && s.tokens < first_cut)
                .filter_map(|s| s.server_prompt_tokens)
                .map(|c| c.round() as u64)
                .fold(n, u64::max);
            let f = if truncates_silently {
                Finding::new(FindingCode::LadderCutSilently).with("over", over)
            } else {
                Finding::new(FindingCode::LadderTruncated)
            };
            push_once(
                &mut r.findings,
                f.with("n", n).with("steps", cut.join(", ")),
            );
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
            push_once(
                &mut r.findings,
                Finding::new(FindingCode::LadderRefused).with("n", refused),
            );
        }
        r
    }
}

/// Mark the steps the server counted short of what was sent: under [`TRUNCATED_BELOW`] of
/// it always; with exact counts (`tokenized`) under [`TOKENIZED_CUT_BELOW`]; with estimates,
/// counting under [`ADDED_COUNTED_BELOW`] of the tokens added since the last step read whole.
fn mark_truncated(steps: &mut [LadderStep], tokenized: bool) {
    let mut whole: Option<(f64, f64)> = None;
    for step in steps.iter_mut() {
        let (Some(got), Some(sent)) = (step.server_prompt_tokens, step.sent_tokens) else {
            continue;
        };
        let sent = sent as f64;
        step.truncated = got < TRUNCATED_BELOW * sent
            || (tokenized && got < TOKENIZED_CUT_BELOW * sent)
            || whole.is_some_and(|(got0, sent0)| {
                sent > sent0 && got - got0 < ADDED_COUNTED_BELOW * (sent - sent0)
            });
        if !step.truncated {
            whole = Some((got, sent));
        }
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
            super::super::finding::en(&r.findings)[0]
                .starts_with("prompts over 2048 tokens were cut to 2048 (Ollama num_ctx"),
            "{:?}",
            super::super::finding::en(&r.findings)
        );
        assert!(
            super::super::finding::en(&r.findings)[0].contains("4096 steps"),
            "{:?}",
            super::super::finding::en(&r.findings)
        );
    }

    #[test]
    fn a_cut_to_half_of_num_ctx_names_the_longest_length_read_whole() {
        // Recent Ollama at num_ctx 4096: a 3k prompt is read whole, a 6k one is kept at about
        // 2048 — prompts over 3050 tokens were cut, not prompts over 2048.
        let facts = ladder(&[1024, 3040, 6144], "estimate");
        let mut s = LadderStats::default();
        for r in [rec(0, 1030, 500), rec(1, 3050, 1500), rec(2, 2050, 1000)] {
            s.add(&r);
        }
        let r = s.report(&facts, true);
        assert_eq!(r.truncated_to, Some(2050));
        assert!(
            super::super::finding::en(&r.findings)[0]
                .starts_with("prompts over 3050 tokens were cut to 2050 (Ollama num_ctx"),
            "{:?}",
            super::super::finding::en(&r.findings)
        );
    }

    fn ladder(sent: &[u64], counted_by: &str) -> LadderReport {
        LadderReport {
            sent_counted_by: counted_by.into(),
            steps: sent
                .iter()
                .map(|&n| LadderStep {
                    tokens: n as u32,
                    sent_tokens: Some(n),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn truncated(facts: &LadderReport, counted: &[u64]) -> Vec<bool> {
        let mut s = LadderStats::default();
        for (k, &n) in counted.iter().enumerate() {
            s.add(&rec(k as u32, n, 500));
        }
        let r = s.report(facts, true);
        r.steps.iter().map(|s| s.truncated).collect()
    }

    #[test]
    fn a_cut_only_slightly_past_num_ctx_is_found_from_the_tokens_added() {
        // num_ctx 4096 kept whole at 3k (plus a 30-token template), cut at 5k: 80 % of what
        // was sent, over the overall share, but only half of the 2,048 tokens added.
        let facts = ladder(&[1024, 2048, 3072, 5120], "estimate");
        assert_eq!(
            truncated(&facts, &[1054, 2078, 3102, 4096]),
            [false, false, false, true]
        );
        // An estimate 10 % off every step is no cut.
        assert_eq!(
            truncated(&facts, &[950, 1870, 2790, 4630]),
            [false, false, false, false]
        );
        // Once cut, every longer step that counts no more is cut too.
        let facts = ladder(&[1024, 2048, 3072, 5120, 6144], "estimate");
        assert_eq!(
            truncated(&facts, &[1054, 2078, 3102, 4096, 4096]),
            [false, false, false, true, true]
        );
    }

    #[test]
    fn exact_counts_below_what_the_tokenizer_counted_were_cut() {
        let facts = ladder(&[1024, 2048], "tokenize");
        assert_eq!(truncated(&facts, &[1050, 1900]), [false, true]);
        assert_eq!(truncated(&facts, &[1050, 2040]), [false, false]);
    }
}
