//! The report model: the public JSON contract as Rust types (`schema/report.schema.json` is
//! generated from them by [`crate::schema`]), and the pure functions that build it from
//! [`RequestRecord`]s.
//!
//! Field names carry their unit (`_s`, `_bytes`, `tok_s`). A value the run did not measure, or
//! a server did not state, is `null`: nothing here is guessed.

use crate::metrics::{RequestMetrics, itl_s};
use crate::record::{RequestRecord, TokenSource};
use crate::spec::Slo;
use crate::spec::{Api, Endpoint};
use crate::stats::{HdrSummary, Summary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// Version of the report JSON contract. Bumped on any incompatible change. Fields added
/// within a version read as empty (`null`, `[]`) from older reports of that version.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole run: settings plus one entry per target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// GPU telemetry: the devices, or why there are none.
    #[serde(default)]
    pub gpu: super::resources::GpuReport,
    /// One entry per target, in plan order.
    #[schemars(length(min = 1))]
    pub targets: Vec<TargetReport>,
}

/// Settings that shape the workload, recorded so runs can be compared fairly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Load profile after the warm phase (`sequential` = none).
    pub profile: String,
    /// Requests per load phase or sweep step, when bounded by count.
    pub requests: Option<u64>,
    /// Seconds per load phase or sweep step, when bounded by time.
    pub duration_s: Option<f64>,
    /// Warm-up requests before each load phase or sweep step, excluded from its numbers.
    pub warmup: u64,
    /// Objectives for goodput (latencies from the scheduled time).
    pub slo: Slo,
    /// Cold loads asked for per target (`--cold`).
    #[serde(default = "one")]
    pub cold: u32,
    /// False for `servebench eval`: no performance phases were run (their settings are moot).
    #[serde(default = "yes")]
    pub performance: bool,
    /// True when every measured prompt started with a tag unique to the run and the request,
    /// so no request could reuse another's prompt cache; false with `--allow-prompt-cache`
    /// (and in reports written before the tags existed).
    #[serde(default)]
    pub unique_prompts: bool,
}

/// Whether a target produced measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// The target ran (individual requests may still have failed; see `failures`).
    Ok,
    /// The target could not be measured at all; see `error`.
    Failed,
}

/// One serving stack under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Threads the managed server was started with (`--threads N` or `-t N` in `launch`);
    /// `null` when not stated.
    #[serde(default)]
    pub server_threads: Option<u32>,
    /// Server version, when the server says (`/api/version`, `/version`).
    pub server_version: Option<String>,
    /// Whether the requested model name was found in the server's model list before any
    /// request; `null` when it was not checked (the target failed before, or an older report).
    #[serde(default)]
    pub model_check: Option<ModelCheck>,
    /// What the server says about the model.
    pub model_info: ModelInfo,
    /// How long the model took to load.
    pub load: Load,
    /// True only when the cold request is known to have followed a fresh model load.
    pub cold_verified: bool,
    /// Measurements per phase.
    pub phases: Phases,
    /// Where throughput stopped growing in the sweep; `null` without a sweep or when it was
    /// still growing at the last step.
    pub saturation: Option<Saturation>,
    /// Why the sweep ended before its last planned step, if it did.
    pub sweep_stop_reason: Option<String>,
    /// How synthetic prompt lengths were calibrated on this server; `null` without them.
    pub prompt_calibration: Option<crate::spec::Calibration>,
    /// Where the model's memory went, in numbers and words.
    #[serde(default)]
    pub memory: super::resources::MemoryReport,
    /// Every attempt to bring the target up (the plan's model, then its fallbacks); the last
    /// one is what was measured. Empty for a target that was never started.
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// Coding quality (`--quality`, `servebench eval`); `null` when not evaluated.
    #[serde(default)]
    pub quality: Option<super::quality::QualityReport>,
}

/// The requested model name against the server's model list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelCheck {
    /// The server lists the model.
    Listed,
    /// The server lists no models: the name could not be verified (a server that answers any
    /// name, such as llama.cpp's, may be serving another model under it).
    Unverified,
}

/// How one attempt to start and measure a target ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// It ran.
    Ok,
    /// It ran out of memory (found in the server's log or answer).
    Oom,
    /// It failed otherwise (exited, never ready, every request failed, …).
    Failed,
}

/// One attempt at a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Attempt {
    /// Model tried.
    pub model: String,
    /// URL tried.
    pub url: String,
    /// How it ended.
    pub status: AttemptStatus,
    /// Why it failed, in one line; `null` when ok.
    pub error: Option<String>,
    /// The last lines of the server's log when it failed (managed servers).
    pub log_tail: Vec<String>,
}

/// The saturation point of a sweep: the smallest step after which output throughput grows by
/// less than 10 %.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Saturation {
    /// Concurrency of that step.
    pub concurrency: u32,
    /// Its output throughput, tok/s.
    pub output_tok_s: f64,
}

/// Relative throughput growth under which the next sweep step counts as no growth.
pub const SATURATION_GROWTH: f64 = 0.10;

/// Find the saturation step of a sweep (steps in increasing concurrency).
pub fn saturation(steps: &[LoadStep]) -> Option<Saturation> {
    // A concurrency sweep's: a rate ramp's steps have no concurrency to name.
    if steps.iter().any(|s| s.concurrency.is_none()) {
        return None;
    }
    steps.windows(2).find_map(|w| {
        let (a, b) = (
            w[0].phase.output_tok_s?,
            w[1].phase.output_tok_s.unwrap_or(0.0),
        );
        (b < a * (1.0 + SATURATION_GROWTH)).then(|| Saturation {
            concurrency: w[0].concurrency.unwrap_or(0),
            output_tok_s: a,
        })
    })
}

/// Model facts as stated by the server; `null` when it does not say.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Where these facts come from (`/api/show`, `/v1/models`, `/props`, `gguf:PATH`,
    /// `config.json:PATH`).
    #[serde(default)]
    pub sources: Vec<String>,
}

/// Where a load time came from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LoadSource {
    /// The server reported it (Ollama `load_duration`).
    Server,
    /// servebench timed its own launch of the server, spawn → API ready.
    Launch,
}

/// Model load time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Load {
    /// Load time, s; `null` when it could not be measured (an already-running OpenAI server).
    pub seconds: Option<f64>,
    /// How it was measured; `null` with `seconds`.
    pub source: Option<LoadSource>,
    /// For managed targets: spawn → API ready, s (also when `source` is `server`).
    pub launch_s: Option<f64>,
    /// Every cold load measured (`--cold N`); `seconds` is their median.
    #[serde(default)]
    pub samples: Vec<LoadSample>,
}

/// One cold load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadSample {
    /// Load time, s.
    pub seconds: f64,
    /// How it was measured.
    pub source: LoadSource,
    /// Whether the model was verified unloaded before it (Ollama `/api/ps`, or a fresh
    /// server process).
    pub verified: bool,
    /// TTFT of the cold request that followed, s; `null` when it failed.
    pub cold_ttft_s: Option<f64>,
}

/// Phase results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Phases {
    /// The first request after a (re)load.
    pub cold: Option<PhaseReport>,
    /// Sequential warm requests.
    pub warm: Option<PhaseReport>,
    /// The load phase of a `concurrency:N` or `rate:R` profile.
    pub load: Option<LoadStep>,
    /// One step per concurrency of a `sweep` profile.
    pub sweep: Vec<LoadStep>,
    /// The IDE-autocomplete workload (`--workload autocomplete`); `null` otherwise.
    #[serde(default)]
    pub autocomplete: Option<super::autocomplete::AutocompleteReport>,
    /// The multi-turn sessions workload (`--workload sessions`); `null` otherwise.
    #[serde(default)]
    pub sessions: Option<super::sessions::SessionsReport>,
    /// The sessions workload swept over sessions at once (`sweep:N,N,…`), one phase per step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions_sweep: Vec<super::sessions::SessionsReport>,
    /// The long-context ladder (`--workload context`); `null` otherwise.
    #[serde(default)]
    pub ladder: Option<super::ladder::LadderReport>,
}

/// A load phase or sweep step: a phase plus what the load was and what it achieved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadStep {
    /// The phase statistics.
    #[serde(flatten)]
    pub phase: PhaseReport,
    /// The profile of this step (`concurrency:8`, `rate:20:poisson`).
    pub profile: String,
    /// Closed-loop streams; `null` for a rate profile.
    pub concurrency: Option<u32>,
    /// Open-loop requested rate, req/s; `null` for a concurrency profile.
    pub rate: Option<f64>,
    /// Step start → last response end, s.
    pub duration_s: f64,
    /// Successful requests / `duration_s`.
    pub request_rate_rps: Option<f64>,
    /// Achieved send rate: (requests − 1) / (last send − first send).
    pub send_rate_rps: Option<f64>,
    /// Requests meeting every SLO / `duration_s` (every successful request when no SLO is set).
    pub goodput_rps: Option<f64>,
    /// Requests meeting every SLO / requests sent (failed requests count as misses).
    pub slo_pass_rate: Option<f64>,
    /// Things that make this step's numbers less trustworthy (e.g. the client fell behind).
    pub warnings: Vec<String>,
}

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

/// A server whose process got less than this share of its threads' CPU while generating was
/// starved (a busy machine): its speed is the machine's, not the stack's.
pub const CPU_STARVED: f64 = 0.8;

/// When the server process got less CPU than its threads need during the warm phase:
/// (mean CPU %, threads).
pub fn cpu_starved(t: &TargetReport) -> Option<(f64, u32)> {
    let threads = t.server_threads?;
    let cpu = t
        .phases
        .warm
        .as_ref()?
        .server_process
        .as_ref()?
        .cpu_pct
        .mean?;
    (cpu < CPU_STARVED * 100.0 * f64::from(threads)).then_some((cpu, threads))
}

/// The phases of `t` with prompt-cache hits: (phase name, hits, requests that stated a count).
pub fn cache_hits(t: &TargetReport) -> Vec<(String, u64, u64)> {
    let mut phases: Vec<(String, &PhaseReport)> = Vec::new();
    phases.extend(t.phases.cold.iter().map(|p| ("cold".to_string(), p)));
    phases.extend(t.phases.warm.iter().map(|p| ("warm".to_string(), p)));
    phases.extend(t.phases.load.iter().map(|s| (s.profile.clone(), &s.phase)));
    phases.extend(
        t.phases
            .sweep
            .iter()
            .map(|s| (format!("sweep {}", s.profile), &s.phase)),
    );
    phases
        .into_iter()
        .filter_map(|(name, p)| {
            let c = p.prompt_cache.as_ref().filter(|c| c.hits > 0)?;
            Some((name, c.hits, c.reported))
        })
        .collect()
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
