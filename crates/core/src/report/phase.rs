//! One phase's statistics — [`PhaseReport`] and the [`PhaseStats`] that accumulates it — and
//! what a phase says about the server (reasoning, prompt cache, output length). A leaf: every
//! workload's report holds phases, and the report model holds the workloads.

use crate::metrics::{RequestMetrics, itl_s};
use crate::record::{RequestRecord, TokenSource};
use crate::spec::Slo;
use crate::stats::{HdrSummary, Summary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
/// Statistics of one phase. Distributions cover successful requests only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PhaseReport {
    /// Requests sent (`ok + failed`).
    pub requests: u64,
    /// Requests that finished normally.
    pub ok: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Failed requests per outcome kind (`http_500`, `stream_cut`, `timeout`, …).
    #[schemars(extend("propertyNames" = {"pattern": "^(http_[0-9]{3}|timeout|connect|stream_cut|malformed_event|server_error|cancelled|context_exceeded)$"}))]
    pub failures: BTreeMap<String, u64>,
    /// `server`, `chunks` or `mixed`: where the output token counts came from.
    pub token_source: Option<String>,
    /// First send → last response end, s.
    pub wall_s: f64,
    /// All output tokens of successful requests / `wall_s`.
    pub output_tok_s: Option<f64>,
    /// Time to first token, s.
    pub ttft_s: Summary,
    /// Time per output token after the first, s.
    pub tpot_s: Summary,
    /// Gaps between content chunks, pooled, s.
    pub itl_s: Summary,
    /// Send → last token, s.
    pub e2e_s: Summary,
    /// Output tokens per request.
    pub output_tokens: Summary,
    /// Prompt tokens per request, as the server counted them.
    pub input_tokens: Summary,
    /// (output tokens − 1) / (E2E − TTFT), tok/s.
    pub decode_tok_s: Summary,
    /// output tokens / E2E, tok/s.
    pub e2e_tok_s: Summary,
    /// The server's own decode rate (llama.cpp `timings`, Ollama `eval_*`), tok/s.
    pub server_decode_tok_s: Summary,
    /// Send − scheduled time, s (how far the client fell behind an open-loop schedule).
    pub schedule_lag_s: Summary,
    /// Scheduled time → first token, s.
    pub ttft_from_schedule_s: Summary,
    /// Scheduled time → last token, s.
    pub e2e_from_schedule_s: Summary,
    /// Exact output lengths: how many successful requests asked for one and how many got it;
    /// `null` when none asked.
    pub output_length: Option<OutputLength>,
    /// What the server said about its prompt cache; `null` when no response stated a cached
    /// count (Ollama never does, vLLM only with `--enable-prompt-tokens-details`).
    #[serde(default)]
    pub prompt_cache: Option<PromptCache>,
    /// Reasoning before the answer, over the successful requests that reasoned; `null` when
    /// none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Reasoning>,
    /// GPU readings during the phase; `null` without a GPU (see the top-level `gpu.reason`).
    #[serde(default)]
    pub gpu: Option<super::resources::GpuPhase>,
    /// Energy used over the phase (GPU counter, CPU RAPL), or why it was not measured;
    /// `null` for a phase without two telemetry readings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<super::energy::Energy>,
    /// The server's process tree during the phase; `null` when no process is watched
    /// (unmanaged target without `--server-pid`).
    #[serde(default)]
    pub server_process: Option<super::resources::ProcessPhase>,
    /// The server's own metrics during the phase; `null` when it exposes none.
    #[serde(default)]
    pub server_metrics: Option<super::resources::ServerMetricsPhase>,
}

/// Reasoning (thinking) before the answer: what a user waits for is the answer's first token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reasoning {
    /// Successful requests that streamed reasoning.
    pub requests: u64,
    /// Send → first reasoning chunk, s.
    pub time_to_first_reasoning_s: Summary,
    /// Send → first answer chunk, s (a request that reasoned to its limit without answering
    /// has none, and is counted in `no_answer`).
    pub time_to_first_answer_s: Summary,
    /// Reasoning chunks (≈ tokens) per request.
    pub reasoning_chunks: Summary,
    /// Answer chunks per request.
    pub answer_chunks: Summary,
    /// Reasoning chunks / all chunks, over the phase.
    pub reasoning_share: Option<f64>,
    /// Requests that reasoned and never answered.
    pub no_answer: u64,
}

/// A request whose prompt came more than this share from the server's prompt cache is
/// counted as a cache hit: its TTFT does not measure prompt processing.
pub const MOSTLY_CACHED: f64 = 0.5;

/// The server's prompt cache over a phase, from the counts it stated per request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PromptCache {
    /// Successful requests whose response stated a cached-token count.
    pub reported: u64,
    /// Prompt tokens of those requests.
    pub prompt_tokens: u64,
    /// Of those, tokens the server took from its cache (a chat template's shared start is
    /// always among them).
    pub cached_tokens: u64,
    /// Requests that took more than half of their prompt from the cache (cache hits): their
    /// TTFT does not measure prompt processing.
    pub hits: u64,
}

/// A latency distribution whose largest value is more than this many times its median is
/// unstable: its mean and the phase throughput are a few outliers' numbers.
pub const UNSTABLE_MAX_OVER_MEDIAN: f64 = 3.0;
/// ... or whose coefficient of variation (stddev / mean) is above this.
pub const UNSTABLE_CV: f64 = 0.5;

/// How unstable a phase's end-to-end latencies were: (max / median, stddev / mean) when either
/// passes its threshold, with at least 3 successful requests; `None` when stable.
pub fn instability(p: &PhaseReport) -> Option<(f64, f64)> {
    let s = &p.e2e_s;
    let (max, p50, mean, sd) = (s.max?, s.p50?, s.mean?, s.stddev?);
    if s.n < 3 || p50 <= 0.0 || mean <= 0.0 {
        return None;
    }
    let (spread, cv) = (max / p50, sd / mean);
    (spread > UNSTABLE_MAX_OVER_MEDIAN || cv > UNSTABLE_CV).then_some((spread, cv))
}

/// Whether the server honoured exact output lengths (`ignore_eos`, `min_tokens`, `num_predict`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutputLength {
    /// Successful requests that asked for an exact length.
    pub requested: u64,
    /// Of those, requests whose output token count equals the length asked for.
    pub honoured: u64,
}

impl PhaseReport {
    /// Compute a phase's statistics from its records (in any order).
    pub fn from_records(records: &[RequestRecord]) -> PhaseReport {
        let mut acc = PhaseStats::new(Slo::default());
        records.iter().for_each(|r| acc.add(r));
        acc.report()
    }
}

/// Accumulates a phase's records one at a time, so a long run never holds them all: per-request
/// metrics are kept (8 bytes each), per-token ones go into an HDR histogram.
#[derive(Debug, Clone, Default)]
pub struct PhaseStats {
    slo: Slo,
    requests: u64,
    ok: u64,
    slo_met: u64,
    failures: BTreeMap<String, u64>,
    server_counted: bool,
    chunk_counted: bool,
    first_send: Option<f64>,
    last_send: Option<f64>,
    first_scheduled: Option<f64>,
    last_scheduled: Option<f64>,
    last_end: Option<f64>,
    /// Sum of the requests' own send → end times, s (the cold phase's wall time).
    own_total_s: f64,
    output_total: u64,
    ttft: Vec<f64>,
    tpot: Vec<f64>,
    e2e: Vec<f64>,
    output_tokens: Vec<f64>,
    input_tokens: Vec<f64>,
    decode: Vec<f64>,
    e2e_rate: Vec<f64>,
    server_decode: Vec<f64>,
    lag: Vec<f64>,
    ttft_sched: Vec<f64>,
    e2e_sched: Vec<f64>,
    itl: HdrSummary,
    exact: OutputLength,
    cache: PromptCache,
    reasoned: u64,
    no_answer: u64,
    ttfr: Vec<f64>,
    ttfa: Vec<f64>,
    reasoning_chunks: Vec<f64>,
    answer_chunks: Vec<f64>,
}

impl PhaseStats {
    /// An empty phase judged against `slo` for goodput.
    pub fn new(slo: Slo) -> PhaseStats {
        PhaseStats {
            slo,
            ..Default::default()
        }
    }

    /// Add one finished request.
    pub fn add(&mut self, r: &RequestRecord) {
        self.requests += 1;
        let end = r.sent_unix_s + r.end.as_secs_f64();
        self.first_send = Some(
            self.first_send
                .map_or(r.sent_unix_s, |f| f.min(r.sent_unix_s)),
        );
        self.last_send = Some(
            self.last_send
                .map_or(r.sent_unix_s, |l| l.max(r.sent_unix_s)),
        );
        self.last_end = Some(self.last_end.map_or(end, |l| l.max(end)));
        self.own_total_s += r.end.as_secs_f64();
        let at = r.scheduled_unix_s();
        self.first_scheduled = Some(self.first_scheduled.map_or(at, |f| f.min(at)));
        self.last_scheduled = Some(self.last_scheduled.map_or(at, |l| l.max(at)));
        if !r.outcome.is_ok() {
            *self.failures.entry(r.outcome.kind()).or_insert(0) += 1;
            return;
        }
        self.ok += 1;
        let m = RequestMetrics::of(r);
        if m.meets(&self.slo) {
            self.slo_met += 1;
        }
        match r.token_source {
            Some(TokenSource::Server) => self.server_counted = true,
            Some(TokenSource::Chunks) => self.chunk_counted = true,
            None => {}
        }
        self.output_total += r.output_tokens.unwrap_or(0);
        if let Some(want) = r.requested_output_tokens {
            self.exact.requested += 1;
            if r.output_tokens == Some(u64::from(want)) {
                self.exact.honoured += 1;
            }
        }
        let push = |v: &mut Vec<f64>, x: Option<f64>| v.extend(x);
        push(&mut self.ttft, m.ttft_s);
        push(&mut self.tpot, m.tpot_s);
        push(&mut self.e2e, m.e2e_s);
        push(&mut self.output_tokens, r.output_tokens.map(|n| n as f64));
        push(&mut self.input_tokens, r.input_tokens.map(|n| n as f64));
        push(&mut self.decode, m.decode_tok_s);
        push(&mut self.e2e_rate, m.e2e_tok_s);
        push(
            &mut self.server_decode,
            r.server_timings.as_ref().and_then(|t| t.decode_tok_s()),
        );
        push(&mut self.lag, Some(m.schedule_lag_s));
        push(&mut self.ttft_sched, m.ttft_from_schedule_s);
        push(&mut self.e2e_sched, m.e2e_from_schedule_s);
        itl_s(r).for_each(|g| self.itl.record(g));
        if r.reasoning_chunks > 0 {
            self.reasoned += 1;
            let answer = r.chunk_arrivals.len() as u64
                - r.reasoning_chunks.min(r.chunk_arrivals.len() as u64);
            push(&mut self.ttfr, r.ttft.map(|t| t.as_secs_f64()));
            match r.answer_ttft {
                Some(t) => self.ttfa.push(t.as_secs_f64()),
                None => self.no_answer += 1,
            }
            self.reasoning_chunks.push(r.reasoning_chunks as f64);
            self.answer_chunks.push(answer as f64);
        }
        if let Some(cached) = r.cached_prompt_tokens {
            let prompt = r.input_tokens.unwrap_or(0).max(cached);
            self.cache.reported += 1;
            self.cache.prompt_tokens += prompt;
            self.cache.cached_tokens += cached;
            if prompt > 0 && cached as f64 > MOSTLY_CACHED * prompt as f64 {
                self.cache.hits += 1;
            }
        }
    }

    /// Requests added so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Successful requests so far.
    pub fn ok(&self) -> u64 {
        self.ok
    }

    /// Successful requests that met every SLO.
    pub fn slo_met(&self) -> u64 {
        self.slo_met
    }

    /// (requests − 1) / (last send − first send), req/s.
    pub fn send_rate_rps(&self) -> Option<f64> {
        let span = self.last_send? - self.first_send?;
        (self.requests > 1 && span > 0.0).then(|| (self.requests - 1) as f64 / span)
    }

    /// First scheduled → last scheduled send, s.
    pub fn scheduled_span_s(&self) -> Option<f64> {
        Some(self.last_scheduled? - self.first_scheduled?)
    }

    /// The cold phase's statistics: with several cold loads (`--cold N`) the restarts between
    /// them are not part of the phase, so its wall time is the sum of the requests' own.
    pub fn cold_report(&self) -> PhaseReport {
        let mut p = self.report();
        if self.requests > 1 {
            p.wall_s = self.own_total_s;
            p.output_tok_s =
                (p.ok > 0 && p.wall_s > 0.0).then(|| self.output_total as f64 / p.wall_s);
        }
        p
    }

    /// The phase's statistics.
    pub fn report(&self) -> PhaseReport {
        let wall_s = match (self.first_send, self.last_end) {
            (Some(f), Some(l)) => (l - f).max(0.0),
            _ => 0.0,
        };
        let sum = |v: &Vec<f64>| Summary::of(v.iter().copied());
        PhaseReport {
            requests: self.requests,
            ok: self.ok,
            failed: self.requests - self.ok,
            failures: self.failures.clone(),
            token_source: match (self.server_counted, self.chunk_counted) {
                (true, true) => Some("mixed".into()),
                (true, false) => Some("server".into()),
                (false, true) => Some("chunks".into()),
                (false, false) => None,
            },
            wall_s,
            output_tok_s: (self.ok > 0 && wall_s > 0.0).then(|| self.output_total as f64 / wall_s),
            ttft_s: sum(&self.ttft),
            tpot_s: sum(&self.tpot),
            itl_s: self.itl.summary(),
            e2e_s: sum(&self.e2e),
            output_tokens: sum(&self.output_tokens),
            input_tokens: sum(&self.input_tokens),
            decode_tok_s: sum(&self.decode),
            e2e_tok_s: sum(&self.e2e_rate),
            server_decode_tok_s: sum(&self.server_decode),
            schedule_lag_s: sum(&self.lag),
            ttft_from_schedule_s: sum(&self.ttft_sched),
            e2e_from_schedule_s: sum(&self.e2e_sched),
            output_length: (self.exact.requested > 0).then(|| self.exact.clone()),
            prompt_cache: (self.cache.reported > 0).then(|| self.cache.clone()),
            reasoning: (self.reasoned > 0).then(|| {
                let (r, a): (f64, f64) = (
                    self.reasoning_chunks.iter().sum(),
                    self.answer_chunks.iter().sum(),
                );
                Reasoning {
                    requests: self.reasoned,
                    time_to_first_reasoning_s: Summary::of(self.ttfr.iter().copied()),
                    time_to_first_answer_s: Summary::of(self.ttfa.iter().copied()),
                    reasoning_chunks: Summary::of(self.reasoning_chunks.iter().copied()),
                    answer_chunks: Summary::of(self.answer_chunks.iter().copied()),
                    reasoning_share: (r + a > 0.0).then(|| r / (r + a)),
                    no_answer: self.no_answer,
                }
            }),
            gpu: None,
            energy: None,
            server_process: None,
            server_metrics: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Outcome, Phase, StreamErrorKind};
    use std::time::Duration;

    fn rec(i: u64, outcome: Outcome, ms: &[u64]) -> RequestRecord {
        let arr: Vec<Duration> = ms.iter().map(|&m| Duration::from_millis(m)).collect();
        RequestRecord {
            sent_unix_s: 100.0 + i as f64,
            input_tokens: Some(7),
            end: arr.last().copied().unwrap_or(Duration::from_millis(5)),
            output_tokens: Some(arr.len() as u64),
            token_source: Some(TokenSource::Server),
            outcome,
            ..RequestRecord::streamed("t", Phase::Warm, i, arr)
        }
    }

    #[test]
    fn failed_requests_are_counted_never_averaged_in() {
        let recs = vec![
            rec(0, Outcome::Ok, &[100, 200, 300]),
            rec(1, Outcome::Http(500), &[]),
            rec(2, Outcome::Stream(StreamErrorKind::StreamCut), &[10, 20]),
            rec(3, Outcome::Ok, &[300, 400, 500]),
        ];
        let p = PhaseReport::from_records(&recs);
        assert_eq!((p.requests, p.ok, p.failed), (4, 2, 2));
        assert_eq!(p.failures.get("http_500"), Some(&1));
        assert_eq!(p.failures.get("stream_cut"), Some(&1));
        assert_eq!(p.ttft_s.n, 2);
        assert!((p.ttft_s.mean.unwrap() - 0.2).abs() < 1e-9);
        // Wall: first send at 100 s, last end at 103 s + 0.5 s.
        assert!((p.wall_s - 3.5).abs() < 1e-9);
        assert!((p.output_tok_s.unwrap() - 6.0 / 3.5).abs() < 1e-9);
        assert_eq!(p.itl_s.n, 4);
        assert_eq!(p.token_source.as_deref(), Some("server"));
    }
}
