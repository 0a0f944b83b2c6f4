//! The report model: the public JSON contract as Rust types (`schema/report.schema.json` is
//! generated from them by [`crate::schema`]), and the pure functions that build it from
//! [`RequestRecord`]s.
//!
//! Field names carry their unit (`_s`, `_bytes`, `tok_s`). A value the run did not measure, or
//! a server did not state, is `null`: nothing here is guessed.

use super::phase::PhaseReport;
use crate::spec::Slo;
use crate::spec::{Api, Endpoint, ServerTraits};
use serde::{Deserialize, Serialize};

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// Version of the report JSON contract. Bumped on any incompatible change. Fields added
/// within a version read as empty (`null`, `[]`) from older reports of that version.
/// Version 2: workload findings are typed (`findings`: code and values) where version 1 had
/// English sentences (`warnings`); a version-1 report is read with its sentences kept as
/// `text` findings. Version 3: a target's workload report is one tagged `workload` (`kind`:
/// autocomplete, sessions, sessions_sweep, context or team) where version 2 had parallel
/// `phases.{autocomplete, sessions, sessions_sweep, ladder, team}`; older reports are moved
/// into it when read.
pub const SCHEMA_VERSION: u32 = 3;

/// The oldest report version this servebench reads (upgraded as it is read).
pub const OLDEST_SCHEMA_VERSION: u32 = 1;

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
    /// Which repeat of a `--repeat` set this run is; absent for a run of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<RepeatOf>,
}

/// Which repeat a report is (in `report.json` of each `repeat-K/` of `servebench run --repeat N`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RepeatOf {
    /// The set's id, shared by every repeat (the history store groups runs by it).
    pub group: String,
    /// This repeat, from 1.
    pub index: u32,
    /// Repeats planned.
    pub of: u32,
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
    /// What the run sent to each target (`chat`: cold, warm and the load profile).
    #[serde(default)]
    pub workload: crate::spec::WorkloadKind,
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
    /// What the server does that the report is judged by, as its dialect states it (a report
    /// written before they were recorded gets its dialect's when it is read).
    pub server_traits: ServerTraits,
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
    /// What the run's workload measured, when it is not the chat workload; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<WorkloadReport>,
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
}

/// What the run's workload measured, when it is not the chat workload (whose cold, warm, load
/// and sweep are the [`Phases`]): `kind` names the workload and `report` is its own report.
// One per target: the size of its largest variant (the team's, which holds three others)
// costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", content = "report", rename_all = "snake_case")]
pub enum WorkloadReport {
    /// The IDE-autocomplete workload (`--workload autocomplete`).
    Autocomplete(super::autocomplete::AutocompleteReport),
    /// The multi-turn sessions workload in one phase (`--workload sessions`).
    Sessions(super::sessions::SessionsReport),
    /// The sessions workload swept over sessions at once (`sweep:N,N,…`): one report per
    /// step, in order.
    SessionsSweep(Vec<super::sessions::SessionsReport>),
    /// The long-context ladder (`--workload context`).
    Context(super::ladder::LadderReport),
    /// The team mix (`--workload team`).
    Team(super::team::TeamReport),
    /// The capacity search over team sizes (`servebench capacity`).
    Capacity(super::capacity_report::CapacityReport),
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
    /// What makes this step's numbers less trustworthy (e.g. the client fell behind), as
    /// typed findings.
    #[serde(default)]
    pub findings: Vec<super::finding::Finding>,
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

impl TargetReport {
    /// The autocomplete workload's report, when it is the target's.
    pub fn autocomplete(&self) -> Option<&super::autocomplete::AutocompleteReport> {
        match &self.workload {
            Some(WorkloadReport::Autocomplete(a)) => Some(a),
            _ => None,
        }
    }

    /// The sessions workload's report of one phase, when it is the target's.
    pub fn sessions(&self) -> Option<&super::sessions::SessionsReport> {
        match &self.workload {
            Some(WorkloadReport::Sessions(s)) => Some(s),
            _ => None,
        }
    }

    /// The sessions sweep's steps (empty unless the target's workload is one).
    pub fn sessions_sweep(&self) -> &[super::sessions::SessionsReport] {
        match &self.workload {
            Some(WorkloadReport::SessionsSweep(steps)) => steps,
            _ => &[],
        }
    }

    /// The context ladder's report, when it is the target's.
    pub fn ladder(&self) -> Option<&super::ladder::LadderReport> {
        match &self.workload {
            Some(WorkloadReport::Context(l)) => Some(l),
            _ => None,
        }
    }

    /// The team mix's report, when it is the target's.
    pub fn team(&self) -> Option<&super::team::TeamReport> {
        match &self.workload {
            Some(WorkloadReport::Team(t)) => Some(t),
            _ => None,
        }
    }
}
