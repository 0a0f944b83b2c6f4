//! Value types every layer shares: the API dialect and endpoint a target speaks, the SLOs a
//! request is held to, and how a target's tokens were calibrated. They live here, in the pure
//! core, so the report model can name them without depending on the plan or the load driver.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The API dialect a target speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// OpenAI-compatible `/v1/*` (vLLM, llama.cpp, SGLang, TGI, Ollama's `/v1`).
    Openai,
    /// Ollama's native `/api/*`.
    Ollama,
    /// llama.cpp's `llama-server`, natively: `/completion`, `/infill`, `/props`, `/slots`.
    Llamacpp,
}

impl Api {
    /// Every dialect, in the order `--help` lists them.
    pub const ALL: [Api; 3] = [Api::Openai, Api::Ollama, Api::Llamacpp];

    /// The name in plans, flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            Api::Openai => "openai",
            Api::Ollama => "ollama",
            Api::Llamacpp => "llamacpp",
        }
    }

    /// One line for `--help`.
    pub fn about(self) -> &'static str {
        match self {
            Api::Openai => "OpenAI-compatible /v1 (vLLM, llama.cpp, SGLang, TGI, ...).",
            Api::Ollama => "Ollama's native /api.",
            Api::Llamacpp => {
                "llama.cpp's llama-server natively (/completion, /infill, /props, /slots)."
            }
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Api {
    type Err = String;

    fn from_str(s: &str) -> Result<Api, String> {
        Api::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Api::ALL.iter().map(|a| a.name()).collect();
            format!("unknown api `{s}`; use one of {}", names.join(", "))
        })
    }
}

/// Which OpenAI endpoint carries the requests.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `/v1/chat/completions` (the server applies the chat template).
    #[default]
    Chat,
    /// `/v1/completions` (raw prompt; chat prompts are flattened to text).
    Completions,
}

/// Service-level objectives a request must meet to count towards goodput. Latencies are
/// measured from the request's scheduled time, so queueing in the client counts against them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Slo {
    /// Time to first token, s.
    pub ttft_s: Option<f64>,
    /// Time per output token, s.
    pub tpot_s: Option<f64>,
    /// End-to-end latency, s.
    pub e2e_s: Option<f64>,
}

impl Slo {
    /// True when no objective is set.
    pub fn is_empty(&self) -> bool {
        self.ttft_s.is_none() && self.tpot_s.is_none() && self.e2e_s.is_none()
    }
}

impl FromStr for Slo {
    type Err = String;

    /// `ttft=0.5,tpot=0.05,e2e=10` (seconds; any subset).
    fn from_str(s: &str) -> Result<Slo, String> {
        let mut slo = Slo::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                format!("--slo: `{part}` is not key=seconds; use e.g. ttft=0.5,tpot=0.05,e2e=10")
            })?;
            let v: f64 = v
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite() && *x > 0.0)
                .ok_or_else(|| {
                    format!("--slo: `{part}`: seconds must be a number greater than 0")
                })?;
            match k {
                "ttft" => slo.ttft_s = Some(v),
                "tpot" => slo.tpot_s = Some(v),
                "e2e" => slo.e2e_s = Some(v),
                other => {
                    return Err(format!(
                        "--slo: unknown objective `{other}`; use ttft, tpot or e2e"
                    ));
                }
            }
        }
        Ok(slo)
    }
}

/// How words per token were measured on a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Calibration {
    /// `tokenize` (the server's `/tokenize`) or `usage` (prompt tokens of probe requests).
    pub method: String,
    /// Words of the synthetic vocabulary per server token.
    pub words_per_token: f64,
}

/// How a server fills in the middle when no template is asked for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NativeFim {
    /// It has no request of its own for it: only a raw prompt in the model's template works.
    #[default]
    None,
    /// An infill request with a prefix and a suffix (llama.cpp `/infill`).
    Infill,
    /// A generation request with a `suffix` field (Ollama `/api/generate`).
    Suffix,
}

/// What a server does that the report is judged by. Each dialect states its own; the runner
/// records them per target, so the pure core decides by these facts, never by the dialect's
/// name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct ServerTraits {
    /// It can state per request how many prompt tokens came from its cache (llama.cpp
    /// `timings.cache_n`; vLLM `usage.prompt_tokens_details.cached_tokens`, only when started
    /// with `--enable-prompt-tokens-details`). When false, reuse can only be estimated.
    pub states_cached_tokens: bool,
    /// A prompt longer than its context is cut without an error (Ollama's `num_ctx`), so a
    /// request can be measured on a prompt it did not get.
    pub truncates_silently: bool,
    /// The context length it reports is the model's trained length, not what it serves
    /// (Ollama), so it cannot tell which prompts fit.
    pub reports_models_context: bool,
    /// How it fills in the middle without a template.
    pub fim: NativeFim,
}

/// A kind of work in a team's mix (`--workload team`): what one developer's assistant sends
/// while they type, chat, or run an agent — or the plain prompt set.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Developers typing with autocomplete on: fill-in-the-middle requests after each pause,
    /// dropped at the next keystroke.
    Autocomplete,
    /// Chat sessions over the team's repository context.
    Chat,
    /// Agent sessions: long contexts, file insertions, long outputs.
    Agent,
    /// Closed-loop streams of the run's prompt set.
    Prompts,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 4] = [
        Class::Autocomplete,
        Class::Chat,
        Class::Agent,
        Class::Prompts,
    ];

    /// The name in flags, plans and reports.
    pub fn name(self) -> &'static str {
        match self {
            Class::Autocomplete => "autocomplete",
            Class::Chat => "chat",
            Class::Agent => "agent",
            Class::Prompts => "prompts",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Class {
    type Err = String;

    fn from_str(s: &str) -> Result<Class, String> {
        Class::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Class::ALL.iter().map(|c| c.name()).collect();
                format!("unknown class `{s}`; use one of {}", names.join(", "))
            })
    }
}

/// Which workload a run sends (`--workload`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    /// Cold load, warm requests and the load profile, on chat (or completions) prompts.
    #[default]
    Chat,
    /// Simulated developers typing, fill-in-the-middle requests superseded on every keystroke.
    Autocomplete,
    /// Multi-turn chat and agent sessions, each turn resending the conversation.
    Sessions,
    /// Prompts of growing length (the long-context ladder).
    Context,
    /// A team's autocomplete, chat, agents and prompts at once (`--team`).
    Team,
    /// No performance phases, the quality evaluation only (`servebench eval`; not a
    /// `--workload` value).
    Quality,
}

impl FromStr for WorkloadKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "chat" => Ok(WorkloadKind::Chat),
            "autocomplete" => Ok(WorkloadKind::Autocomplete),
            "sessions" => Ok(WorkloadKind::Sessions),
            "context" => Ok(WorkloadKind::Context),
            "team" => Ok(WorkloadKind::Team),
            _ => Err(format!(
                "unknown workload {s:?}: use chat, autocomplete, sessions, context or team"
            )),
        }
    }
}

impl WorkloadKind {
    /// The name in flags, plans and reports.
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Chat => "chat",
            WorkloadKind::Autocomplete => "autocomplete",
            WorkloadKind::Sessions => "sessions",
            WorkloadKind::Context => "context",
            WorkloadKind::Team => "team",
            WorkloadKind::Quality => "quality",
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
