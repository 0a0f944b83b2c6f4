//! The report model: the public JSON contract (`schema/report.schema.json`) as Rust types, and
//! the pure functions that build it from [`RequestRecord`]s.
//!
//! Field names carry their unit (`_s`, `_bytes`, `tok_s`). A value the run did not measure, or
//! a server did not state, is `null`: nothing here is guessed.

use crate::metrics::{RequestMetrics, itl_s};
use crate::plan::{Api, Endpoint};
use crate::record::{RequestRecord, TokenSource};
use crate::stats::Summary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the report JSON contract. Bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole run: settings plus one entry per target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Version of this contract ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// servebench version that wrote the report.
    pub servebench_version: String,
    /// When the run started, RFC 3339.
    pub created_at: String,
    /// True when the run was stopped before it finished (Ctrl-C).
    pub interrupted: bool,
    /// The settings every target was run with.
    pub settings: RunSettingsReport,
    /// One entry per target, in plan order.
    pub targets: Vec<TargetReport>,
}

/// Settings that shape the workload, recorded so runs can be compared fairly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettingsReport {
    /// Warm requests per target.
    pub warm: u32,
    /// Generation limit per request.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f64,
    /// Sampling seed.
    pub seed: u64,
    /// OpenAI endpoint used (`chat` or `completions`); Ollama always uses `/api/chat`.
    pub endpoint: Endpoint,
    /// `builtin` or the prompt file's path.
    pub prompts: String,
    /// Number of distinct prompts.
    pub prompt_count: usize,
    /// Per-request time limit, s.
    pub timeout_s: f64,
}

/// Whether a target produced measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// The target ran (individual requests may still have failed; see `failures`).
    Ok,
    /// The target could not be measured at all; see `error`.
    Failed,
}

/// One serving stack under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetReport {
    /// Label from the plan or `--name`.
    pub name: String,
    /// API dialect spoken.
    pub api: Api,
    /// Base URL.
    pub url: String,
    /// Model name sent in requests.
    pub model: String,
    /// `ok` or `failed`.
    pub status: TargetStatus,
    /// Why the target failed, in one line; `null` when ok.
    pub error: Option<String>,
    /// True when servebench started the server itself (`launch`).
    pub managed: bool,
    /// Server version, when the server says (`/api/version`, `/version`).
    pub server_version: Option<String>,
    /// What the server says about the model.
    pub model_info: ModelInfo,
    /// How long the model took to load.
    pub load: Load,
    /// True only when the cold request is known to have followed a fresh model load.
    pub cold_verified: bool,
    /// Measurements per phase.
    pub phases: Phases,
}

/// Model facts as stated by the server; `null` when it does not say.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Quantisation (`Q4_K_M`, `Q4_1`, …).
    pub quantization: Option<String>,
    /// Exact parameter count.
    pub parameter_count: Option<u64>,
    /// The server's own size label (Ollama `parameter_size`, e.g. "32.8B").
    pub parameter_size: Option<String>,
    /// Context length the server serves (or, failing that, the model's trained context).
    pub context_length: Option<u64>,
    /// Model family / architecture.
    pub family: Option<String>,
    /// Size of the weights, bytes (llama.cpp `meta.size`).
    pub weights_bytes: Option<u64>,
    /// Memory the loaded model occupies, bytes (Ollama `/api/ps` `size`).
    pub loaded_bytes: Option<u64>,
    /// Part of `loaded_bytes` in GPU memory (Ollama `/api/ps` `size_vram`).
    pub loaded_vram_bytes: Option<u64>,
}

/// Where a load time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadSource {
    /// The server reported it (Ollama `load_duration`).
    Server,
    /// servebench timed its own launch of the server, spawn → API ready.
    Launch,
}

/// Model load time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Load {
    /// Load time, s; `null` when it could not be measured (an already-running OpenAI server).
    pub seconds: Option<f64>,
    /// How it was measured; `null` with `seconds`.
    pub source: Option<LoadSource>,
    /// For managed targets: spawn → API ready, s (also when `source` is `server`).
    pub launch_s: Option<f64>,
}

/// Phase results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    /// The first request after a (re)load.
    pub cold: Option<PhaseReport>,
    /// Sequential warm requests.
    pub warm: Option<PhaseReport>,
}

/// Statistics of one phase. Distributions cover successful requests only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseReport {
    /// Requests sent (`ok + failed`).
    pub requests: u64,
    /// Requests that finished normally.
    pub ok: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Failed requests per outcome kind (`http_500`, `stream_cut`, `timeout`, …).
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
}

impl PhaseReport {
    /// Compute a phase's statistics from its records (in any order).
    pub fn from_records(records: &[RequestRecord]) -> PhaseReport {
        let ok: Vec<&RequestRecord> = records.iter().filter(|r| r.outcome.is_ok()).collect();
        let mut failures = BTreeMap::new();
        for r in records.iter().filter(|r| !r.outcome.is_ok()) {
            *failures.entry(r.outcome.kind()).or_insert(0) += 1;
        }
        let start = records
            .iter()
            .map(|r| r.sent_unix_s)
            .fold(f64::INFINITY, f64::min);
        let end = records
            .iter()
            .map(|r| r.sent_unix_s + r.end.as_secs_f64())
            .fold(f64::NEG_INFINITY, f64::max);
        let wall_s = if records.is_empty() {
            0.0
        } else {
            (end - start).max(0.0)
        };
        let out_total: u64 = ok.iter().filter_map(|r| r.output_tokens).sum();
        let m: Vec<RequestMetrics> = ok.iter().map(|r| RequestMetrics::of(r)).collect();
        let pick = |f: fn(&RequestMetrics) -> Option<f64>| Summary::of(m.iter().filter_map(f));
        PhaseReport {
            requests: records.len() as u64,
            ok: ok.len() as u64,
            failed: (records.len() - ok.len()) as u64,
            failures,
            token_source: token_source(&ok),
            wall_s,
            output_tok_s: (!ok.is_empty() && wall_s > 0.0).then(|| out_total as f64 / wall_s),
            ttft_s: pick(|m| m.ttft_s),
            tpot_s: pick(|m| m.tpot_s),
            itl_s: Summary::of(ok.iter().flat_map(|r| itl_s(r))),
            e2e_s: pick(|m| m.e2e_s),
            output_tokens: Summary::of(ok.iter().filter_map(|r| r.output_tokens.map(|n| n as f64))),
            input_tokens: Summary::of(ok.iter().filter_map(|r| r.input_tokens.map(|n| n as f64))),
            decode_tok_s: pick(|m| m.decode_tok_s),
            e2e_tok_s: pick(|m| m.e2e_tok_s),
            server_decode_tok_s: Summary::of(
                ok.iter()
                    .filter_map(|r| r.server_timings.as_ref()?.decode_tok_s()),
            ),
        }
    }
}

fn token_source(ok: &[&RequestRecord]) -> Option<String> {
    let server = ok
        .iter()
        .any(|r| r.token_source == Some(TokenSource::Server));
    let chunks = ok
        .iter()
        .any(|r| r.token_source == Some(TokenSource::Chunks));
    match (server, chunks) {
        (true, true) => Some("mixed".into()),
        (true, false) => Some("server".into()),
        (false, true) => Some("chunks".into()),
        (false, false) => None,
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
            target: "t".into(),
            phase: Phase::Warm,
            index: i,
            prompt_id: "p".into(),
            sent_unix_s: 100.0 + i as f64,
            schedule_lag: Duration::ZERO,
            ttft: arr.first().copied(),
            end: arr.last().copied().unwrap_or(Duration::from_millis(5)),
            input_tokens: Some(7),
            output_tokens: Some(arr.len() as u64),
            token_source: Some(TokenSource::Server),
            chunk_arrivals: arr,
            finish_reason: None,
            server_timings: None,
            outcome,
            error: None,
            text: String::new(),
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
