//! The plan: which targets to measure and how. Parsed from a TOML file or built from the
//! quick-form flags; flags override the file's `[run]` table, which overrides the defaults.
//!
//! ```toml
//! [run]
//! warm = 10
//! max_tokens = 256
//!
//! [[targets]]
//! name = "vllm"
//! api = "openai"
//! url = "http://localhost:8000"
//! model = "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ"
//! launch = ["vllm", "serve", "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ"]   # optional
//! ```

use crate::load::profile::{Profile, Slo};
use crate::load::synthetic::LengthDist;
use serde::{Deserialize, Deserializer};
pub use servebench_core::spec::{Api, Endpoint};
use std::fmt;
use std::path::{Path, PathBuf};

/// Settings shared by every target of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// Warm requests per target.
    pub warm: u32,
    /// Generation limit per request.
    pub max_tokens: u32,
    /// Sampling seed sent with every request.
    pub seed: u64,
    /// Sampling temperature (0: greedy, so stacks decode comparable text).
    pub temperature: f64,
    /// OpenAI endpoint.
    pub endpoint: Endpoint,
    /// Prompt file (JSONL); `None` for the built-in coding prompts.
    pub prompts: Option<PathBuf>,
    /// Per-request time limit, s.
    pub timeout_s: f64,
    /// Output directory; `None` for `servebench-results/<YYYYMMDD_HHMMSS>/`.
    pub out: Option<PathBuf>,
    /// Load profile run after the warm phase.
    pub profile: Profile,
    /// Requests per load phase or sweep step.
    pub requests: Option<u64>,
    /// Seconds per load phase or sweep step.
    pub duration_s: Option<f64>,
    /// Warm-up requests before each load phase or sweep step (not counted).
    pub warmup: u64,
    /// Objectives for goodput.
    pub slo: Slo,
    /// ShareGPT prompt file.
    pub sharegpt: Option<PathBuf>,
    /// Synthetic prompts of this many server tokens.
    pub input_tokens: Option<LengthDist>,
    /// Exact output lengths to ask for.
    pub output_tokens: Option<LengthDist>,
    /// Cold loads per target (managed: stop/start; Ollama: unload/reload).
    pub cold: u32,
    /// Send → first token limit, s (`None`: only `timeout_s`).
    pub ttft_timeout_s: Option<f64>,
    /// Re-sends after HTTP 429/503 (0: recorded as failures — a benchmark must not hide
    /// overload).
    pub retries: u32,
    /// GPU and process readings per second.
    pub sample_hz: f64,
    /// Start every measured prompt with a tag unique to the run and the request, so no
    /// request can reuse another's prompt cache (false: `--allow-prompt-cache`).
    pub unique_prompts: bool,
    /// Coding-quality evaluation after the performance phases (`--quality`), or instead of them
    /// (`servebench eval`).
    pub quality: Option<Quality>,
    /// Run the performance phases (cold, warm, load); false for `servebench eval`.
    pub performance: bool,
    /// The IDE-autocomplete workload instead of cold, warm and load (`--workload autocomplete`).
    pub autocomplete: Option<Autocomplete>,
    /// The multi-turn sessions workload instead of cold, warm and load (`--workload sessions`).
    pub sessions: Option<crate::load::sessions::Settings>,
    /// The long-context ladder instead of cold, warm and load (`--workload context`).
    pub ladder: Option<crate::load::ladder::Settings>,
    /// A trace replayed as the load phase (`--trace`).
    pub trace: Option<crate::load::trace::Trace>,
}

/// What a run sends (`--workload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// Cold load, warm requests and the load profile, on chat (or completions) prompts.
    Chat,
    /// Simulated developers typing, fill-in-the-middle requests superseded on every keystroke.
    Autocomplete,
    /// Multi-turn chat and agent sessions, each turn resending the conversation.
    Sessions,
    /// Prompts of growing length (the long-context ladder).
    Context,
}

impl std::str::FromStr for Workload {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "chat" => Ok(Workload::Chat),
            "autocomplete" => Ok(Workload::Autocomplete),
            "sessions" => Ok(Workload::Sessions),
            "context" => Ok(Workload::Context),
            _ => Err(format!(
                "unknown workload {s:?}: use chat, autocomplete, sessions or context"
            )),
        }
    }
}

/// Stop sequences suited to the completion an editor shows (`--fim-stop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FimStop {
    /// The rest of the current line (stop at a newline).
    Line,
    /// A block (stop at a blank line).
    Block,
}

impl FimStop {
    /// The stop sequences sent.
    pub fn stops(self) -> &'static [&'static str] {
        match self {
            FimStop::Line => &["\n"],
            FimStop::Block => &["\n\n"],
        }
    }
}

impl std::str::FromStr for FimStop {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "line" => Ok(FimStop::Line),
            "block" => Ok(FimStop::Block),
            _ => Err(format!("unknown span {s:?}: use line or block")),
        }
    }
}

/// The IDE-autocomplete workload's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Autocomplete {
    /// Developers typing at once.
    pub developers: u32,
    /// How long they type, s.
    pub duration_s: f64,
    /// How they type (the windows are set per target from its tokenizer).
    pub typing: crate::load::typing::Typing,
    /// Prefix window, server tokens.
    pub prefix_tokens: u32,
    /// Suffix window, server tokens.
    pub suffix_tokens: u32,
    /// Generation limit per completion.
    pub max_tokens: u32,
    /// Stop sequences.
    pub stop: FimStop,
    /// The FIM template for a raw prompt (`--fim-template`); `None`: from the model name.
    pub template: Option<crate::fim::Template>,
    /// `--corpus`; `None`: the Python standard library.
    pub corpus_dir: Option<PathBuf>,
    /// The corpus, once loaded ([`Autocomplete::load`]).
    pub corpus: Option<std::sync::Arc<crate::load::corpus::Corpus>>,
    /// How often the server's running requests are read, s.
    pub poll_s: f64,
    /// Completion quality graded after the typing (`--infill`); `None`: not graded.
    pub infill: Option<Infill>,
    /// Only the first N HumanEval tasks for `infill` (`--infill-limit`); `None`: all 164.
    pub infill_limit: Option<u64>,
}

/// HumanEval infilling tasks asked on the workload's FIM path and graded in the sandbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Infill {
    /// One line (`line`) or a block of two or three lines (`block`) taken out of each solution.
    pub span: FimStop,
    /// The grader's settings (its sandbox helper is set by the binary).
    pub eval: crate::eval::EvalSettings,
    /// The tasks, once loaded ([`Infill::load`]).
    pub tasks: Vec<crate::eval::infill::InfillTask>,
}

/// Lines a `block` infilling task takes out (HumanEval-Infilling's multi-line spans are of
/// this order; ours is fixed so a run is repeatable).
pub const INFILL_BLOCK_LINES: usize = 3;

impl Infill {
    /// The span as [`crate::eval::infill::cut`] takes it.
    pub fn cut_span(&self) -> crate::eval::infill::Span {
        match self.span {
            FimStop::Line => crate::eval::infill::Span::Line,
            FimStop::Block => crate::eval::infill::Span::Block(INFILL_BLOCK_LINES),
        }
    }

    /// Cut the tasks from the first `limit` (all when `None`) of the installed HumanEval.
    pub fn load(&mut self, limit: Option<u64>) -> Result<(), crate::eval::suite::SuiteError> {
        let tasks = crate::eval::suite::load(
            &crate::eval::suite::Dataset::HumanEval,
            None,
            limit.map(|n| n as usize),
        )?;
        let span = self.cut_span();
        self.tasks = tasks
            .iter()
            .filter_map(|t| crate::eval::infill::cut(t, span))
            .collect();
        Ok(())
    }
}

impl Default for Autocomplete {
    /// 4 developers for 60 s, windows of 1,500 and 500 tokens, 64 tokens, one line.
    fn default() -> Self {
        Autocomplete {
            developers: 4,
            duration_s: 60.0,
            typing: Default::default(),
            prefix_tokens: 1_500,
            suffix_tokens: 500,
            max_tokens: 64,
            stop: FimStop::Line,
            template: None,
            corpus_dir: None,
            corpus: None,
            poll_s: 0.025,
            infill: None,
            infill_limit: None,
        }
    }
}

impl Autocomplete {
    fn validate(&self) -> Result<(), PlanError> {
        let bad = |m: String| Err(PlanError::Invalid(m));
        if !(1..=1024).contains(&self.developers) {
            return bad(format!(
                "developers {} out of range: use 1..=1024",
                self.developers
            ));
        }
        let t = &self.typing;
        if !(t.chars_per_s > 0.0 && t.chars_per_s <= 100.0) {
            return bad(format!(
                "typing_cps {} out of range: use (0, 100] characters per second",
                t.chars_per_s
            ));
        }
        if !(0.0..=10.0).contains(&t.debounce_s) {
            return bad(format!(
                "debounce_ms {} out of range: use 0..=10000",
                t.debounce_s * 1000.0
            ));
        }
        if self.prefix_tokens == 0 || self.prefix_tokens > 200_000 || self.suffix_tokens > 200_000 {
            return bad(format!(
                "prefix_tokens {} / suffix_tokens {} out of range: use 1..=200000 and 0..=200000",
                self.prefix_tokens, self.suffix_tokens
            ));
        }
        if self.max_tokens == 0 || self.max_tokens > 100_000 {
            return bad(format!(
                "max_tokens {} out of range for autocomplete: use 1..=100000",
                self.max_tokens
            ));
        }
        if !(self.duration_s > 0.0 && self.duration_s <= 604_800.0) {
            return bad(format!(
                "duration {} out of range: use (0, 604800] seconds",
                self.duration_s
            ));
        }
        match (self.infill_limit, &self.infill) {
            (Some(_), None) => {
                return bad(
                    "infill_limit without infill: set infill = \"line\" or \"block\" (--infill)"
                        .into(),
                );
            }
            (Some(0), _) => return bad("infill_limit 0: use at least 1 task".into()),
            _ => {}
        }
        Ok(())
    }

    /// Read the corpus (`--corpus DIR` or the default).
    pub fn load(&mut self) -> Result<(), crate::load::corpus::CorpusError> {
        let c = match &self.corpus_dir {
            Some(d) => crate::load::corpus::load(d)?,
            None => crate::load::corpus::default_corpus()?,
        };
        self.corpus = Some(std::sync::Arc::new(c));
        Ok(())
    }
}

/// A quality evaluation: how, and the tasks (loaded by [`Quality::load`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    /// Settings.
    pub settings: crate::eval::EvalSettings,
    /// The tasks; empty until loaded.
    pub tasks: Vec<crate::eval::suite::Task>,
}

impl Quality {
    /// Load the dataset's tasks (file errors name the file, line and field).
    pub fn load(&mut self) -> Result<(), crate::eval::suite::SuiteError> {
        let s = &self.settings;
        self.tasks = crate::eval::suite::load_as(
            &s.dataset,
            s.scenarios.as_deref(),
            s.limit,
            s.prompt_style,
        )?;
        Ok(())
    }
}

/// Number of distinct synthetic prompts generated per target.
pub const SYNTHETIC_PROMPTS: usize = 100;

impl RunSettings {
    /// Where the prompts come from, for reports: `builtin`, a file, `sharegpt:FILE` or
    /// `synthetic:input=…`, plus `output=…` when exact output lengths are asked for.
    pub fn prompt_source(&self) -> String {
        let base = match (&self.input_tokens, &self.sharegpt, &self.prompts) {
            (Some(d), _, _) => format!("synthetic:input={d}"),
            (None, Some(p), _) => format!("sharegpt:{}", p.display()),
            (None, None, Some(p)) => p.display().to_string(),
            (None, None, None) => "builtin".into(),
        };
        match &self.output_tokens {
            Some(o) => format!("{base},output={o}"),
            None => base,
        }
    }
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            warm: 10,
            max_tokens: 256,
            seed: 42,
            temperature: 0.0,
            endpoint: Endpoint::Chat,
            prompts: None,
            timeout_s: 600.0,
            out: None,
            profile: Profile::Sequential,
            requests: None,
            duration_s: None,
            warmup: 0,
            slo: Slo::default(),
            sharegpt: None,
            input_tokens: None,
            output_tokens: None,
            cold: 1,
            ttft_timeout_s: None,
            retries: 0,
            sample_hz: 10.0,
            unique_prompts: true,
            quality: None,
            performance: true,
            autocomplete: None,
            sessions: None,
            ladder: None,
            trace: None,
        }
    }
}

/// Optional overrides of [`RunSettings`], as written in `[run]` or given as flags.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunOverrides {
    /// See [`RunSettings::warm`].
    pub warm: Option<u32>,
    /// See [`RunSettings::max_tokens`].
    pub max_tokens: Option<u32>,
    /// See [`RunSettings::seed`].
    pub seed: Option<u64>,
    /// See [`RunSettings::temperature`].
    pub temperature: Option<f64>,
    /// See [`RunSettings::endpoint`].
    pub endpoint: Option<Endpoint>,
    /// See [`RunSettings::prompts`].
    pub prompts: Option<PathBuf>,
    /// See [`RunSettings::timeout_s`].
    pub timeout_s: Option<f64>,
    /// See [`RunSettings::out`].
    pub out: Option<PathBuf>,
    /// See [`RunSettings::profile`] (written as on the command line).
    #[serde(default, deserialize_with = "parsed")]
    pub profile: Option<Profile>,
    /// See [`RunSettings::requests`].
    pub requests: Option<u64>,
    /// See [`RunSettings::duration_s`].
    pub duration_s: Option<f64>,
    /// See [`RunSettings::warmup`].
    pub warmup: Option<u64>,
    /// See [`RunSettings::slo`] (written as on the command line: `ttft=0.5,tpot=0.05`).
    #[serde(default, deserialize_with = "parsed")]
    pub slo: Option<Slo>,
    /// See [`RunSettings::sharegpt`].
    pub sharegpt: Option<PathBuf>,
    /// See [`RunSettings::input_tokens`] (`N`, `uniform:a:b`, `normal:mean:sd`).
    #[serde(default, deserialize_with = "parsed")]
    pub input_tokens: Option<LengthDist>,
    /// See [`RunSettings::output_tokens`].
    #[serde(default, deserialize_with = "parsed")]
    pub output_tokens: Option<LengthDist>,
    /// See [`RunSettings::cold`].
    pub cold: Option<u32>,
    /// See [`RunSettings::ttft_timeout_s`].
    pub ttft_timeout_s: Option<f64>,
    /// See [`RunSettings::retries`].
    pub retries: Option<u32>,
    /// See [`RunSettings::sample_hz`].
    pub sample_hz: Option<f64>,
    /// See [`RunSettings::unique_prompts`].
    pub unique_prompts: Option<bool>,
    /// Quality dataset after the performance phases: `builtin`, `humaneval` or a file.
    #[serde(default, deserialize_with = "parsed")]
    pub quality: Option<crate::eval::suite::Dataset>,
    /// First N tasks of each quality scenario (`--quality-limit`).
    pub quality_limit: Option<usize>,
    /// Built-in quality scenarios to keep.
    pub quality_scenarios: Option<Vec<String>>,
    /// How HumanEval-format tasks are asked (`servebench` or `qwen`).
    #[serde(default, deserialize_with = "parsed")]
    pub quality_prompt_style: Option<crate::eval::suite::PromptStyle>,
    /// Load profile the tasks are asked again under (`--quality-load`, e.g. `concurrency:8`).
    #[serde(default, deserialize_with = "parsed")]
    pub quality_load: Option<Profile>,
    /// What the run sends: `chat` (the default) or `autocomplete`.
    pub workload: Option<Workload>,
    /// Autocomplete: developers typing at once.
    pub developers: Option<u32>,
    /// Autocomplete: the directory of source files typed through.
    pub corpus: Option<PathBuf>,
    /// Autocomplete: quiet time after a keystroke before a request, ms.
    pub debounce_ms: Option<f64>,
    /// Autocomplete: mean typing speed, characters per second.
    pub typing_cps: Option<f64>,
    /// Autocomplete: prefix window, server tokens.
    pub prefix_tokens: Option<u32>,
    /// Autocomplete: suffix window, server tokens.
    pub suffix_tokens: Option<u32>,
    /// Autocomplete: `line` or `block` stop sequences.
    pub fim_stop: Option<FimStop>,
    /// FIM template for a raw prompt (`qwen`, `starcoder`, `codellama`, `deepseek`, `codestral`).
    #[serde(default, deserialize_with = "parsed")]
    pub fim_template: Option<crate::fim::Template>,
    /// Autocomplete: grade HumanEval infilling tasks of this span (`line` or `block`).
    pub infill: Option<FimStop>,
    /// Autocomplete: only the first N HumanEval tasks for infilling.
    pub infill_limit: Option<u64>,
    /// Sessions: `repo`, `agent` or a JSONL session file.
    #[serde(default, deserialize_with = "parsed")]
    pub sessions: Option<crate::load::sessions::Source>,
    /// Sessions: turns per synthetic session.
    pub turns: Option<u32>,
    /// Sessions: synthetic sessions to generate.
    pub session_count: Option<u32>,
    /// Sessions: tokens of shared context a synthetic session starts with.
    pub context_tokens: Option<u32>,
    /// Sessions (agent): tokens of each inserted tool result.
    pub insert_tokens: Option<u32>,
    /// Sessions: think time between turns (`exp:3`, `const:2`, `uniform:1:5`).
    #[serde(default, deserialize_with = "parsed")]
    pub think_time: Option<crate::load::sessions::Think>,
    /// Context ladder: the lengths, tokens (`1k,2k,4k`).
    #[serde(default, deserialize_with = "parsed_steps")]
    pub ladder: Option<Vec<u32>>,
    /// Context ladder: requests per length.
    pub ladder_requests: Option<u32>,
    /// A Mooncake-format trace replayed as the load phase.
    pub trace: Option<PathBuf>,
    /// Time scale of the trace replay (2: twice as fast).
    pub trace_speed: Option<f64>,
}

/// Deserialise ladder steps written as on the command line (`"1k,2k,4k"`).
fn parsed_steps<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u32>>, D::Error> {
    let s = String::deserialize(d)?;
    crate::load::ladder::parse_steps(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

impl RunOverrides {
    /// The first autocomplete knob set, for the error when the workload is not autocomplete.
    pub fn autocomplete_knob(&self) -> Option<&'static str> {
        [
            (self.developers.is_some(), "developers"),
            (self.debounce_ms.is_some(), "debounce_ms"),
            (self.typing_cps.is_some(), "typing_cps"),
            (self.prefix_tokens.is_some(), "prefix_tokens"),
            (self.suffix_tokens.is_some(), "suffix_tokens"),
            (self.fim_stop.is_some(), "fim_stop"),
            (self.fim_template.is_some(), "fim_template"),
            (self.infill.is_some(), "infill"),
            (self.infill_limit.is_some(), "infill_limit"),
        ]
        .into_iter()
        .find_map(|(set, key)| set.then_some(key))
    }

    /// Apply only the knobs of the workloads `base` already has (not the workload choice):
    /// a plan file's `[run]` knobs for a workload the command line chose are applied this way
    /// after both, and then the command line's again, so neither is lost and flags win.
    pub fn apply_knobs(&self, base: &mut RunSettings) {
        self.apply_autocomplete(base, false);
        self.apply_sessions(base, false);
        self.apply_ladder(base, false);
        if let (Some(t), Some(x)) = (&mut base.trace, self.trace_speed) {
            t.speed = x;
        }
    }

    /// The first sessions knob set, for the error when the workload is not sessions.
    pub fn sessions_knob(&self) -> Option<&'static str> {
        [
            (self.sessions.is_some(), "sessions"),
            (self.turns.is_some(), "turns"),
            (self.session_count.is_some(), "session_count"),
            (self.context_tokens.is_some(), "context_tokens"),
            (self.insert_tokens.is_some(), "insert_tokens"),
            (self.think_time.is_some(), "think_time"),
        ]
        .into_iter()
        .find_map(|(set, key)| set.then_some(key))
    }

    /// The first ladder knob set, for the error when the workload is not context.
    pub fn ladder_knob(&self) -> Option<&'static str> {
        [
            (self.ladder.is_some(), "ladder"),
            (self.ladder_requests.is_some(), "ladder_requests"),
        ]
        .into_iter()
        .find_map(|(set, key)| set.then_some(key))
    }

    fn apply_ladder(&self, base: &mut RunSettings, switch: bool) {
        match self.workload.filter(|_| switch) {
            Some(Workload::Context) => {
                base.ladder.get_or_insert_with(Default::default);
            }
            Some(_) => base.ladder = None,
            None => {}
        }
        let Some(l) = &mut base.ladder else {
            return;
        };
        if let Some(s) = &self.ladder {
            l.steps = Some(s.clone());
        }
        if let Some(n) = self.ladder_requests {
            l.requests = n;
        }
        if let Some(n) = self.max_tokens {
            l.max_tokens = n;
        }
        if let Some(p) = &self.corpus {
            l.corpus_dir = Some(p.clone());
        }
    }

    fn apply_sessions(&self, base: &mut RunSettings, switch: bool) {
        match self.workload.filter(|_| switch) {
            Some(Workload::Sessions) => {
                base.sessions.get_or_insert_with(Default::default);
            }
            Some(_) => base.sessions = None,
            None => {}
        }
        let Some(s) = &mut base.sessions else {
            return;
        };
        if let Some(src) = &self.sessions {
            s.source = src.clone();
        }
        if let Some(p) = &self.sharegpt {
            s.source = crate::load::sessions::Source::ShareGpt(p.clone());
        }
        if let Some(p) = &self.corpus {
            s.corpus_dir = Some(p.clone());
        }
        if let Some(n) = self.turns {
            s.turns = Some(n);
        }
        if let Some(n) = self.session_count {
            s.count = n;
        }
        if let Some(n) = self.context_tokens {
            s.context_tokens = Some(n);
        }
        if let Some(n) = self.insert_tokens {
            s.insert_tokens = n;
        }
        if let Some(n) = self.max_tokens {
            s.output_tokens = Some(n);
        }
        if let Some(t) = self.think_time {
            s.think = t;
        }
    }

    fn apply_autocomplete(&self, base: &mut RunSettings, switch: bool) {
        match self.workload.filter(|_| switch) {
            Some(Workload::Autocomplete) => {
                let duration_s = base.duration_s.unwrap_or(60.0);
                base.autocomplete.get_or_insert_with(|| Autocomplete {
                    duration_s,
                    ..Autocomplete::default()
                });
            }
            Some(Workload::Chat | Workload::Sessions | Workload::Context) => {
                base.autocomplete = None
            }
            None => {}
        }
        let Some(a) = &mut base.autocomplete else {
            return;
        };
        if let Some(n) = self.developers {
            a.developers = n;
        }
        if let Some(d) = self.duration_s {
            a.duration_s = d;
        }
        if let Some(p) = &self.corpus {
            a.corpus_dir = Some(p.clone());
        }
        if let Some(ms) = self.debounce_ms {
            a.typing.debounce_s = ms / 1000.0;
        }
        if let Some(c) = self.typing_cps {
            a.typing.chars_per_s = c;
        }
        if let Some(n) = self.prefix_tokens {
            a.prefix_tokens = n;
        }
        if let Some(n) = self.suffix_tokens {
            a.suffix_tokens = n;
        }
        if let Some(n) = self.max_tokens {
            a.max_tokens = n;
        }
        if let Some(s) = self.fim_stop {
            a.stop = s;
        }
        if let Some(t) = self.fim_template {
            a.template = Some(t);
        }
        if let Some(span) = self.infill {
            let i = a.infill.get_or_insert_with(|| Infill {
                span,
                eval: Default::default(),
                tasks: Vec::new(),
            });
            i.span = span;
        }
        if let Some(n) = self.infill_limit {
            a.infill_limit = Some(n);
        }
    }
}

/// Deserialise a value written as a string in its command-line form.
fn parsed<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    let s = String::deserialize(d)?;
    s.parse().map(Some).map_err(serde::de::Error::custom)
}

impl RunOverrides {
    /// The first quality knob set (as its plan key), for the error when no dataset is given.
    pub fn quality_knob(&self) -> Option<&'static str> {
        [
            (self.quality_limit.is_some(), "quality_limit"),
            (self.quality_scenarios.is_some(), "quality_scenarios"),
            (self.quality_prompt_style.is_some(), "quality_prompt_style"),
            (self.quality_load.is_some(), "quality_load"),
        ]
        .into_iter()
        .find_map(|(set, key)| set.then_some(key))
    }

    /// Apply these overrides on top of `base`.
    pub fn apply(&self, base: &mut RunSettings) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { base.$f = v.clone(); } )* };
        }
        set!(
            warm,
            max_tokens,
            seed,
            temperature,
            endpoint,
            timeout_s,
            profile,
            warmup,
            slo,
            cold,
            sample_hz,
            retries,
            unique_prompts
        );
        if let Some(n) = self.requests {
            base.requests = Some(n);
        }
        if let Some(d) = self.duration_s {
            base.duration_s = Some(d);
        }
        if let Some(t) = self.ttft_timeout_s {
            base.ttft_timeout_s = Some(t);
        }
        if let Some(p) = &self.sharegpt {
            base.sharegpt = Some(p.clone());
        }
        if let Some(d) = self.input_tokens {
            base.input_tokens = Some(d);
        }
        if let Some(d) = self.output_tokens {
            base.output_tokens = Some(d);
        }
        if let Some(p) = &self.prompts {
            base.prompts = Some(p.clone());
        }
        if let Some(o) = &self.out {
            base.out = Some(o.clone());
        }
        if let Some(d) = &self.quality {
            let mut q = base.quality.take().unwrap_or_else(|| Quality {
                settings: Default::default(),
                tasks: Vec::new(),
            });
            q.settings.dataset = d.clone();
            base.quality = Some(q);
        }
        self.apply_autocomplete(base, true);
        self.apply_sessions(base, true);
        self.apply_ladder(base, true);
        if let Some(p) = &self.trace {
            let speed = base.trace.as_ref().map_or(1.0, |t| t.speed);
            base.trace = Some(crate::load::trace::Trace {
                path: p.clone(),
                speed,
                entries: Vec::new(),
            });
        }
        if let (Some(t), Some(x)) = (&mut base.trace, self.trace_speed) {
            t.speed = x;
        }
        if let Some(q) = &mut base.quality {
            let s = &mut q.settings;
            if let Some(n) = self.quality_limit {
                s.limit = Some(n);
            }
            if let Some(v) = &self.quality_scenarios {
                s.scenarios = Some(v.clone());
            }
            if let Some(p) = self.quality_prompt_style {
                s.prompt_style = p;
            }
            if let Some(p) = &self.quality_load {
                s.load = Some(p.clone());
            }
        }
    }
}

/// One serving stack to measure.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// Label used in reports.
    pub name: String,
    /// Dialect.
    pub api: Api,
    /// Base URL, e.g. `http://localhost:8000` (a trailing `/v1` is accepted).
    pub url: String,
    /// Model name to request.
    pub model: String,
    /// Command that starts the server; servebench then owns its lifetime.
    #[serde(default)]
    pub launch: Option<Vec<String>>,
    /// How long a launched server may take to answer, s (default 300).
    #[serde(default)]
    pub ready_timeout_s: Option<f64>,
    /// How long a launched server may take to exit after SIGTERM before SIGKILL, s (default 10).
    #[serde(default)]
    pub stop_timeout_s: Option<f64>,
    /// Environment variables added for the launched server.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// Working directory of the launched server.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// Pid of an already-running server whose process tree is sampled (unmanaged targets).
    #[serde(default)]
    pub server_pid: Option<u32>,
    /// Environment variable holding the API key sent as `Authorization: Bearer …` (the key
    /// itself never appears in a plan, report, journal or log).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Alternatives tried in order when the server fails to start or run (e.g. out of memory).
    #[serde(default)]
    pub fallbacks: Vec<Fallback>,
    /// Fields merged into every generation request's JSON body (`--extra-body`), e.g.
    /// `{ options = { num_ctx = 8192 } }` for Ollama or `{ cache_prompt = false }` for
    /// llama.cpp.
    #[serde(default)]
    pub extra_body: Option<serde_json::Value>,
}

/// An alternative model (and command) for a target, tried when the previous attempt fails.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    /// Model name to request.
    pub model: String,
    /// Command that starts the server with it.
    pub launch: Vec<String>,
    /// Base URL, when it differs from the target's.
    #[serde(default)]
    pub url: Option<String>,
}

impl TargetSpec {
    /// A target with only the required fields set.
    pub fn new(name: &str, api: Api, url: &str, model: &str) -> TargetSpec {
        TargetSpec {
            name: name.into(),
            api,
            url: url.into(),
            model: model.into(),
            launch: None,
            ready_timeout_s: None,
            stop_timeout_s: None,
            env: Default::default(),
            cwd: None,
            server_pid: None,
            api_key_env: None,
            fallbacks: Vec::new(),
            extra_body: None,
        }
    }

    /// This target as its `i`-th fallback describes it (0: itself).
    pub fn attempt(&self, i: usize) -> Option<TargetSpec> {
        if i == 0 {
            return Some(self.clone());
        }
        let f = self.fallbacks.get(i - 1)?;
        Some(TargetSpec {
            model: f.model.clone(),
            launch: Some(f.launch.clone()),
            url: f.url.clone().unwrap_or_else(|| self.url.clone()),
            fallbacks: Vec::new(),
            ..self.clone()
        })
    }
}

/// A validated plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Shared settings.
    pub settings: RunSettings,
    /// Targets, in order.
    pub targets: Vec<TargetSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    #[serde(default)]
    run: RunOverrides,
    #[serde(default)]
    targets: Vec<TargetSpec>,
}

/// Why a plan is unusable. Every message names the place and the fix.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read.
    #[error("cannot read plan {path}: {source}")]
    Io {
        /// Plan path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key or a wrong type.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// Plan path.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong and what was expected.
        message: String,
    },
    /// Valid TOML that does not describe a usable plan.
    #[error("{0}")]
    Invalid(String),
}

impl Plan {
    /// Read and validate a plan file, then apply `overrides` (the flags).
    pub fn from_file(path: &Path, overrides: &RunOverrides) -> Result<Plan, PlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, path, overrides)
    }

    /// Parse plan text; `path` is only used in messages.
    pub fn from_toml(text: &str, path: &Path, overrides: &RunOverrides) -> Result<Plan, PlanError> {
        let file: PlanFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            let mut message = readable_types(e.message().replace('\n', " ").trim());
            // The parser does not say which key is duplicated; the span starts at it.
            if message == "duplicate key"
                && let Some(key) = e.span().and_then(|s| text.get(s.start..)).and_then(|rest| {
                    let key = rest.split(['=', '\n']).next()?.trim();
                    (!key.is_empty()).then_some(key)
                })
            {
                message = format!("duplicate key `{key}`: give each key once per table");
            }
            PlanError::Parse {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        })?;
        if file.targets.is_empty() {
            return Err(PlanError::Invalid(format!(
                "{}: no [[targets]]: add at least one with name, api, url and model",
                path.display()
            )));
        }
        let mut settings = RunSettings::default();
        file.run.apply(&mut settings);
        overrides.apply(&mut settings);
        file.run.apply_knobs(&mut settings);
        overrides.apply_knobs(&mut settings);
        if settings.quality.is_none()
            && let Some(knob) = file.run.quality_knob().or(overrides.quality_knob())
        {
            return Err(PlanError::Invalid(format!(
                "{}: {knob} is set but no quality dataset is: add quality = \"builtin\" (or humaneval, or a file) to [run], or pass --quality D",
                path.display()
            )));
        }
        if settings.autocomplete.is_none()
            && let Some(knob) = file
                .run
                .autocomplete_knob()
                .or(overrides.autocomplete_knob())
        {
            return Err(PlanError::Invalid(format!(
                "{}: {knob} is set but the workload is chat: add workload = \"autocomplete\" to [run], or pass --workload autocomplete",
                path.display()
            )));
        }
        if settings.sessions.is_none()
            && let Some(knob) = file.run.sessions_knob().or(overrides.sessions_knob())
        {
            return Err(PlanError::Invalid(format!(
                "{}: {knob} is set but the workload is not sessions: add workload = \"sessions\" to [run], or pass --workload sessions",
                path.display()
            )));
        }
        if settings.trace.is_none()
            && (file.run.trace_speed.is_some() || overrides.trace_speed.is_some())
        {
            return Err(PlanError::Invalid(format!(
                "{}: trace_speed is set but no trace is: add trace = \"FILE\" to [run], or pass --trace FILE",
                path.display()
            )));
        }
        if settings.ladder.is_none()
            && let Some(knob) = file.run.ladder_knob().or(overrides.ladder_knob())
        {
            return Err(PlanError::Invalid(format!(
                "{}: {knob} is set but the workload is not context: add workload = \"context\" to [run], or pass --workload context",
                path.display()
            )));
        }
        if settings.sessions.is_none()
            && settings.autocomplete.is_none()
            && settings.ladder.is_none()
            && (file.run.corpus.is_some() || overrides.corpus.is_some())
        {
            return Err(PlanError::Invalid(format!(
                "{}: corpus is set but the workload is chat: corpus is read by workload = \"autocomplete\" or \"sessions\"",
                path.display()
            )));
        }
        let plan = Plan {
            settings,
            targets: file.targets,
        };
        plan.validate()?;
        Ok(plan)
    }

    /// Check what TOML types cannot: URLs, names, ranges.
    pub fn validate(&self) -> Result<(), PlanError> {
        let mut seen = std::collections::HashSet::new();
        for t in &self.targets {
            if t.name.trim().is_empty() || !seen.insert(t.name.as_str()) {
                return Err(PlanError::Invalid(format!(
                    "target name {:?} is empty or used twice: give each target a unique name",
                    t.name
                )));
            }
            t.validate()?;
        }
        self.settings.validate()
    }
}

impl TargetSpec {
    /// Check one target: its URL, model, launch command, fallbacks and time limits.
    fn validate(&self) -> Result<(), PlanError> {
        let t = self;
        validate_url(&t.url)
            .map_err(|m| PlanError::Invalid(format!("target {}: url {:?} {m}", t.name, t.url)))?;
        if t.model.trim().is_empty() {
            return Err(PlanError::Invalid(format!(
                "target {}: model is empty: set the model name the server serves",
                t.name
            )));
        }
        if t.launch.as_ref().is_some_and(|l| l.is_empty()) {
            return Err(PlanError::Invalid(format!(
                "target {}: launch is empty: give the command and its arguments, or remove it",
                t.name
            )));
        }
        if t.launch.is_some() && t.server_pid.is_some() {
            return Err(PlanError::Invalid(format!(
                "target {}: server_pid is for servers servebench did not start: remove it or launch",
                t.name
            )));
        }
        for (k, f) in t.fallbacks.iter().enumerate() {
            if f.launch.is_empty() || f.model.trim().is_empty() {
                return Err(PlanError::Invalid(format!(
                    "target {}: fallback {} needs a model and a non-empty launch command",
                    t.name,
                    k + 1
                )));
            }
            if let Some(u) = &f.url {
                validate_url(u).map_err(|m| {
                    PlanError::Invalid(format!(
                        "target {}: fallback {} url {u:?} {m}",
                        t.name,
                        k + 1
                    ))
                })?;
            }
        }
        for (what, v) in [
            ("ready_timeout_s", t.ready_timeout_s),
            ("stop_timeout_s", t.stop_timeout_s),
        ] {
            if v.is_some_and(|v| !(v > 0.0 && v <= 86_400.0)) {
                return Err(PlanError::Invalid(format!(
                    "target {}: {what} {} out of range: use (0, 86400] seconds",
                    t.name,
                    v.unwrap_or_default()
                )));
            }
        }
        Ok(())
    }
}

impl RunSettings {
    /// Check the settings' ranges and that only one prompt source is chosen.
    fn validate(&self) -> Result<(), PlanError> {
        let s = self;
        if let Some(p) = s.quality.as_ref().and_then(|q| q.settings.load.as_ref())
            && matches!(
                p,
                Profile::Sequential
                    | Profile::Sweep(_)
                    | Profile::Sessions(_)
                    | Profile::Ramp { .. }
            )
        {
            return Err(PlanError::Invalid(format!(
                "quality_load {p}: the tasks need a load to be asked under: use concurrency:N or rate:R[:poisson|:constant|:gamma:B]"
            )));
        }
        if let Some(a) = &s.autocomplete {
            a.validate()?;
        }
        match (&s.sessions, &s.profile) {
            (Some(ss), p) => {
                ss.validate().map_err(PlanError::Invalid)?;
                if !matches!(
                    p,
                    Profile::Sequential
                        | Profile::Sessions(_)
                        | Profile::Rate { .. }
                        | Profile::Sweep(Some(_))
                ) {
                    return Err(PlanError::Invalid(format!(
                        "profile {p} with the sessions workload: sessions are the unit of load, use sessions:N (N users at once), rate:R (new sessions per second) or sweep:N,N,… (one phase per number of sessions at once)"
                    )));
                }
                if s.endpoint == Endpoint::Completions {
                    return Err(PlanError::Invalid(
                        "endpoint completions with the sessions workload: a conversation needs the chat endpoint (drop --endpoint completions)".into(),
                    ));
                }
            }
            (None, p @ Profile::Sessions(_)) => {
                return Err(PlanError::Invalid(format!(
                    "profile {p} needs the sessions workload: pass --workload sessions, or use concurrency:N"
                )));
            }
            _ => {}
        }
        if let Some(l) = &s.ladder {
            l.validate().map_err(PlanError::Invalid)?;
        }
        if let Some(t) = &s.trace {
            if !(t.speed > 0.0 && t.speed <= 1000.0) {
                return Err(PlanError::Invalid(format!(
                    "trace_speed {} out of range: use (0, 1000]",
                    t.speed
                )));
            }
            if s.profile != Profile::Sequential {
                return Err(PlanError::Invalid(format!(
                    "trace with profile {}: the trace is the load phase: drop the profile",
                    s.profile
                )));
            }
            if s.sessions.is_some() || s.autocomplete.is_some() || s.ladder.is_some() {
                return Err(PlanError::Invalid(
                    "trace replays the chat workload's load phase: drop the other workload".into(),
                ));
            }
        }
        let workloads = [
            s.sessions.is_some(),
            s.autocomplete.is_some(),
            s.ladder.is_some(),
        ];
        if workloads.iter().filter(|w| **w).count() > 1 {
            return Err(PlanError::Invalid(
                "one workload per run: choose one of autocomplete, sessions and context".into(),
            ));
        }
        if s.max_tokens == 0 || s.max_tokens > 1_000_000 {
            return Err(PlanError::Invalid(format!(
                "max_tokens {} out of range: use 1..=1000000",
                s.max_tokens
            )));
        }
        if !(0.0..=2.0).contains(&s.temperature) {
            return Err(PlanError::Invalid(format!(
                "temperature {} out of range: use 0..=2",
                s.temperature
            )));
        }
        let sources = [
            s.prompts.is_some(),
            s.sharegpt.is_some(),
            s.input_tokens.is_some(),
        ];
        if sources.iter().filter(|x| **x).count() > 1 {
            return Err(PlanError::Invalid(
                "prompts, sharegpt and input_tokens each choose the prompt set: give only one"
                    .into(),
            ));
        }
        if s.requests == Some(0) {
            return Err(PlanError::Invalid(
                "requests 0 out of range: use 1 or more".into(),
            ));
        }
        if s.duration_s.is_some_and(|d| !(d > 0.0 && d <= 604_800.0)) {
            return Err(PlanError::Invalid(format!(
                "duration {} out of range: use (0, 604800] seconds",
                s.duration_s.unwrap_or_default()
            )));
        }
        if !(1..=100).contains(&s.cold) {
            return Err(PlanError::Invalid(format!(
                "cold {} out of range: use 1..=100 cold loads",
                s.cold
            )));
        }
        if !(s.sample_hz > 0.0 && s.sample_hz <= 100.0) {
            return Err(PlanError::Invalid(format!(
                "sample_hz {} out of range: use (0, 100] readings per second",
                s.sample_hz
            )));
        }
        if s.ttft_timeout_s
            .is_some_and(|t| !(t > 0.0 && t <= 86_400.0))
        {
            return Err(PlanError::Invalid(format!(
                "ttft_timeout_s {} out of range: use (0, 86400] seconds",
                s.ttft_timeout_s.unwrap_or_default()
            )));
        }
        if !(s.timeout_s > 0.0 && s.timeout_s <= 86_400.0) {
            return Err(PlanError::Invalid(format!(
                "timeout_s {} out of range: use (0, 86400] seconds",
                s.timeout_s
            )));
        }
        Ok(())
    }
}

/// Accepts `http(s)://host[:port][/path]`; returns what is wrong otherwise.
pub fn validate_url(url: &str) -> Result<(), String> {
    let u = url::Url::parse(url)
        .map_err(|e| format!("is not a URL ({e}): write it like http://localhost:8000"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!(
            "has scheme {:?}: use http:// or https://",
            u.scheme()
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("has no host: write it like http://localhost:8000".into());
    }
    // An endpoint instead of the server's base URL (`/v1` alone is accepted and dropped).
    const ENDPOINTS: [&str; 8] = [
        "/chat/completions",
        "/completions",
        "/v1/models",
        "/api/chat",
        "/api/generate",
        "/api/tags",
        "/completion",
        "/infill",
    ];
    let path = u.path().trim_end_matches('/');
    if ENDPOINTS.iter().any(|e| path.ends_with(e)) {
        let mut base = u.clone();
        base.set_path("");
        return Err(format!(
            "is an endpoint ({path}): give the base URL ({}), not an endpoint",
            base.as_str().trim_end_matches('/')
        ));
    }
    Ok(())
}

/// serde names Rust types ("expected u32"); say what a plan author writes instead.
fn readable_types(msg: &str) -> String {
    msg.replace("expected u32", "expected a whole number (0 to 4294967295)")
        .replace("expected u64", "expected a whole number (0 or more)")
        .replace("expected f64", "expected a number")
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
[run]
warm = 3

[[targets]]
name = "a"
api = "openai"
url = "http://127.0.0.1:8000"
model = "m"
launch = ["python", "x.py"]
"#;

    #[test]
    fn parses_and_flags_override_the_plan() {
        let o = RunOverrides {
            max_tokens: Some(64),
            ..Default::default()
        };
        let p = Plan::from_toml(OK, Path::new("p.toml"), &o).unwrap();
        assert_eq!(p.settings.warm, 3);
        assert_eq!(p.settings.max_tokens, 64);
        assert_eq!(p.targets[0].launch.as_ref().unwrap()[0], "python");
        let o = RunOverrides {
            warm: Some(7),
            ..Default::default()
        };
        assert_eq!(
            Plan::from_toml(OK, Path::new("p.toml"), &o)
                .unwrap()
                .settings
                .warm,
            7
        );
    }

    #[test]
    fn unknown_key_reports_file_line_column() {
        let bad = OK.replace("model = \"m\"", "model = \"m\"\nmodle = \"x\"");
        let e = Plan::from_toml(&bad, Path::new("p.toml"), &RunOverrides::default()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("p.toml:10:1: "), "{msg}");
        assert!(msg.contains("modle"), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn wrong_type_reports_position_and_expectation() {
        let bad = OK.replace("warm = 3", "warm = \"three\"");
        let msg = Plan::from_toml(&bad, Path::new("p.toml"), &RunOverrides::default())
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("p.toml:3:8: "), "{msg}");
        assert!(msg.contains("expected a whole number"), "{msg}");
    }

    #[test]
    fn bad_url_and_duplicate_names_are_rejected() {
        let bad = OK.replace("http://127.0.0.1:8000", "ftp://x");
        let msg = Plan::from_toml(&bad, Path::new("p.toml"), &RunOverrides::default())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("use http:// or https://"), "{msg}");
        let dup = format!("{OK}\n{}", &OK[OK.find("[[targets]]").unwrap()..]);
        let msg = Plan::from_toml(&dup, Path::new("p.toml"), &RunOverrides::default())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("used twice"), "{msg}");
    }

    #[test]
    fn a_duplicated_key_is_named() {
        let text = "[[targets]]\nname = \"a\"\napi = \"openai\"\nurl = \"http://x:1\"\nmodel = \"m\"\nmodel = \"n\"\n";
        let e = Plan::from_toml(text, Path::new("p.toml"), &RunOverrides::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.toml:6:1: duplicate key `model`: give each key once per table"
        );
    }

    /// Every TOML example in the README is a plan that parses and validates.
    #[test]
    fn every_toml_example_in_the_readme_parses() {
        let readme = include_str!("../../../README.md");
        let blocks: Vec<&str> = readme
            .split("```toml\n")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .collect();
        assert!(!blocks.is_empty(), "the README has TOML examples");
        for (k, b) in blocks.iter().enumerate() {
            if let Err(e) = Plan::from_toml(b, Path::new("README.md"), &RunOverrides::default()) {
                panic!("README TOML example {} does not parse: {e}\n{b}", k + 1);
            }
        }
    }
}
