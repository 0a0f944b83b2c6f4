//! The run's settings ([`RunSettings`]) and the workloads' own ([`Autocomplete`],
//! [`Quality`]), with their defaults: what every target of a run shares.

use super::Endpoint;
use crate::load::profile::{Profile, Slo};
use crate::load::synthetic::LengthDist;
pub use crate::spec::WorkloadKind;
use serde::Deserialize;
use std::path::PathBuf;

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
    /// Coding-quality evaluation after the workload (`--quality`), or instead of it
    /// (`servebench eval`: [`Workload::Quality`]).
    pub quality: Option<Quality>,
    /// What the run sends to each target, with that workload's own settings.
    pub workload: Workload,
}

/// What a run sends to each target: one workload and its settings.
// One per run: the size of its largest variant (the team's, which holds two others) costs
// nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Workload {
    /// Cold load, warm requests and the load profile on the prompt set; `trace`: a trace
    /// replayed as the load phase (`--trace`).
    Chat {
        /// The trace, when one is replayed.
        trace: Option<crate::load::trace::Trace>,
    },
    /// Simulated developers typing, fill-in-the-middle requests dropped at the next keystroke
    /// (`--workload autocomplete`).
    Autocomplete(Autocomplete),
    /// Multi-turn chat and agent sessions (`--workload sessions`).
    Sessions(crate::load::sessions::Settings),
    /// The long-context ladder (`--workload context`).
    Context(crate::load::ladder::Settings),
    /// A team's classes at once (`--workload team`).
    Team(Team),
    /// No performance phases: the quality evaluation only (`servebench eval`).
    Quality,
}

impl Workload {
    /// Which workload this is.
    pub fn kind(&self) -> WorkloadKind {
        match self {
            Workload::Chat { .. } => WorkloadKind::Chat,
            Workload::Autocomplete(_) => WorkloadKind::Autocomplete,
            Workload::Sessions(_) => WorkloadKind::Sessions,
            Workload::Context(_) => WorkloadKind::Context,
            Workload::Team(_) => WorkloadKind::Team,
            Workload::Quality => WorkloadKind::Quality,
        }
    }

    /// The workload `kind` with its defaults (`duration_s`: the run's, for the timed ones).
    pub fn of_kind(kind: WorkloadKind, duration_s: Option<f64>) -> Workload {
        let d = duration_s.unwrap_or(60.0);
        match kind {
            WorkloadKind::Chat => Workload::Chat { trace: None },
            WorkloadKind::Autocomplete => Workload::Autocomplete(Autocomplete {
                duration_s: d,
                ..Autocomplete::default()
            }),
            WorkloadKind::Sessions => Workload::Sessions(Default::default()),
            WorkloadKind::Context => Workload::Context(Default::default()),
            WorkloadKind::Team => Workload::Team(Team::new(TeamMix::default(), d)),
            WorkloadKind::Quality => Workload::Quality,
        }
    }
}

impl RunSettings {
    /// The autocomplete workload's settings, when it is the run's.
    pub fn autocomplete(&self) -> Option<&Autocomplete> {
        match &self.workload {
            Workload::Autocomplete(a) => Some(a),
            _ => None,
        }
    }

    /// The sessions workload's settings, when it is the run's.
    pub fn sessions(&self) -> Option<&crate::load::sessions::Settings> {
        match &self.workload {
            Workload::Sessions(s) => Some(s),
            _ => None,
        }
    }

    /// The context ladder's settings, when it is the run's.
    pub fn ladder(&self) -> Option<&crate::load::ladder::Settings> {
        match &self.workload {
            Workload::Context(l) => Some(l),
            _ => None,
        }
    }

    /// The team mix, when it is the run's.
    pub fn team(&self) -> Option<&Team> {
        match &self.workload {
            Workload::Team(t) => Some(t),
            _ => None,
        }
    }

    /// The replayed trace, when the chat workload has one.
    pub fn trace(&self) -> Option<&crate::load::trace::Trace> {
        match &self.workload {
            Workload::Chat { trace } => trace.as_ref(),
            _ => None,
        }
    }

    /// Whether the run has performance phases (every workload but the quality-only one).
    pub fn performance(&self) -> bool {
        self.workload != Workload::Quality
    }

    /// Read what the workload needs from disk: corpora, session files, the trace.
    pub fn load_workload(&mut self) -> Result<(), String> {
        match &mut self.workload {
            Workload::Autocomplete(a) => a.load().map_err(|e| e.to_string()),
            Workload::Sessions(s) => s.load().map_err(|e| e.to_string()),
            Workload::Context(l) => l.load().map_err(|e| e.to_string()),
            Workload::Team(t) => t.load().map_err(|e| format!("team: {e}")),
            Workload::Chat { trace: Some(t) } => t.load().map_err(|e| e.to_string()),
            Workload::Chat { trace: None } | Workload::Quality => Ok(()),
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
            workload: Workload::Chat { trace: None },
        }
    }
}

/// How many of each class a team mix runs at once: `--team autocomplete=4,chat=2,agent=1`, or
/// a plan's `[team]` table. A class not named runs none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamMix {
    /// Developers typing with autocomplete on.
    #[serde(default)]
    pub autocomplete: u32,
    /// Chat sessions at once, over the team's repository context.
    #[serde(default)]
    pub chat: u32,
    /// Agent sessions at once.
    #[serde(default)]
    pub agent: u32,
    /// Closed-loop streams of the run's prompt set.
    #[serde(default)]
    pub prompts: u32,
}

impl Default for TeamMix {
    /// Two developers typing, one chatting and one running an agent: small enough for one
    /// CPU-served model, and every kind of coding-assistant traffic at once.
    fn default() -> Self {
        TeamMix {
            autocomplete: 2,
            chat: 1,
            agent: 1,
            prompts: 0,
        }
    }
}

impl TeamMix {
    /// How many of `class` run.
    pub fn count(&self, class: crate::spec::Class) -> u32 {
        use crate::spec::Class;
        match class {
            Class::Autocomplete => self.autocomplete,
            Class::Chat => self.chat,
            Class::Agent => self.agent,
            Class::Prompts => self.prompts,
        }
    }

    /// Check the counts: at least one class, none above 10,000.
    pub fn validate(&self) -> Result<(), String> {
        let counts = crate::spec::Class::ALL.map(|c| self.count(c));
        if counts.iter().all(|n| *n == 0) {
            return Err(
                "team: every class is 0: run at least one, e.g. --team autocomplete=4,chat=2,agent=1"
                    .into(),
            );
        }
        if let Some(c) = crate::spec::Class::ALL
            .into_iter()
            .find(|c| self.count(*c) > 10_000)
        {
            return Err(format!(
                "team: {c}={} out of range: use 0..=10000",
                self.count(c)
            ));
        }
        Ok(())
    }
}

impl std::str::FromStr for TeamMix {
    type Err = String;

    /// `autocomplete=4,chat=2,agent=1` (classes not named run none).
    fn from_str(s: &str) -> Result<TeamMix, String> {
        let mut mix = TeamMix {
            autocomplete: 0,
            chat: 0,
            agent: 0,
            prompts: 0,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                format!("--team: `{part}` is not class=N; use e.g. autocomplete=4,chat=2,agent=1")
            })?;
            let class: crate::spec::Class = k.trim().parse().map_err(|e| format!("--team: {e}"))?;
            let n: u32 = v
                .trim()
                .parse()
                .map_err(|_| format!("--team: `{part}`: N must be a whole number"))?;
            match class {
                crate::spec::Class::Autocomplete => mix.autocomplete = n,
                crate::spec::Class::Chat => mix.chat = n,
                crate::spec::Class::Agent => mix.agent = n,
                crate::spec::Class::Prompts => mix.prompts = n,
            }
        }
        Ok(mix)
    }
}

/// The team mix (`--workload team`): its classes run at once against each target for
/// `duration_s`, each as its own workload would send it.
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    /// How many of each class.
    pub mix: TeamMix,
    /// How long the mix runs, s.
    pub duration_s: f64,
    /// The autocomplete class: the autocomplete workload's typing, windows and corpus (its
    /// `developers` is the mix's count).
    pub typing: Autocomplete,
    /// The chat class: sessions over the team's repository context.
    pub chat: crate::load::sessions::Settings,
    /// The agent class: agent sessions.
    pub agent: crate::load::sessions::Settings,
    /// What one developer generates, for the capacity search (`[team.developer]`).
    pub developer: crate::report::capacity::Developer,
    /// Each class's objectives, for the capacity search (`[team.slo.<class>]`).
    pub slo: crate::report::capacity::ClassSlos,
    /// How the capacity search runs (`[team.search]`); used by `servebench capacity`.
    pub search: Search,
    /// Run the capacity search instead of one fixed mix (`servebench capacity`).
    pub capacity: bool,
}

/// How the capacity search runs (`[team.search]`, and `servebench capacity`'s flags).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// Measured seconds per step (after the warm-up).
    #[serde(default = "Search::default_step")]
    pub step_s: f64,
    /// Seconds each step runs before it is measured (not counted).
    #[serde(default = "Search::default_warmup")]
    pub warmup_s: f64,
    /// Measurements of each boundary size.
    #[serde(default = "Search::default_repeats")]
    pub repeats: u32,
    /// The largest team size probed.
    #[serde(default = "Search::default_max")]
    pub max_developers: u32,
    /// Times a step short of samples in a class is extended by `step_s` before that class is
    /// reported as not judged.
    #[serde(default = "Search::default_extensions")]
    pub max_extensions: u32,
    /// The search's time limit per target, s (`--budget`); `None`: none.
    #[serde(default)]
    pub budget_s: Option<f64>,
    /// After the search, run each class alone at the capacity found and report how much the
    /// mix slowed it (one step per class).
    #[serde(default = "Search::default_interference")]
    pub interference: bool,
}

impl Search {
    fn default_step() -> f64 {
        30.0
    }
    fn default_warmup() -> f64 {
        5.0
    }
    fn default_repeats() -> u32 {
        3
    }
    fn default_max() -> u32 {
        1024
    }
    fn default_extensions() -> u32 {
        3
    }
    fn default_interference() -> bool {
        true
    }

    /// Check the ranges; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let secs = |what: &str, v: f64, min: f64| {
            if v >= min && v <= 86_400.0 {
                Ok(())
            } else {
                Err(format!(
                    "team.search: {what} {v} out of range: use {min}..=86400 seconds"
                ))
            }
        };
        secs("step_s", self.step_s, 1.0)?;
        secs("warmup_s", self.warmup_s, 0.0)?;
        if let Some(b) = self.budget_s {
            secs("budget", b, 1.0)?;
        }
        if !(1..=100).contains(&self.repeats) {
            return Err(format!(
                "team.search: repeats {} out of range: use 1..=100",
                self.repeats
            ));
        }
        if !(1..=10_000).contains(&self.max_developers) {
            return Err(format!(
                "team.search: max_developers {} out of range: use 1..=10000",
                self.max_developers
            ));
        }
        if self.max_extensions > 20 {
            return Err(format!(
                "team.search: max_extensions {} out of range: use 0..=20",
                self.max_extensions
            ));
        }
        Ok(())
    }
}

impl Default for Search {
    fn default() -> Self {
        Search {
            step_s: Search::default_step(),
            warmup_s: Search::default_warmup(),
            repeats: Search::default_repeats(),
            max_developers: Search::default_max(),
            max_extensions: Search::default_extensions(),
            budget_s: None,
            interference: Search::default_interference(),
        }
    }
}

impl Team {
    /// `mix` for `duration_s`, every class with its workload's defaults.
    pub fn new(mix: TeamMix, duration_s: f64) -> Team {
        use crate::load::sessions::{Settings, Source};
        Team {
            mix,
            duration_s,
            typing: Autocomplete {
                developers: mix.autocomplete,
                duration_s,
                ..Autocomplete::default()
            },
            chat: Settings {
                source: Source::Repo,
                ..Settings::default()
            },
            agent: Settings {
                source: Source::Agent,
                ..Settings::default()
            },
            developer: Default::default(),
            slo: Default::default(),
            search: Search::default(),
            capacity: false,
        }
    }

    /// Check the mix (or, for the capacity search, the team model) and each running class's
    /// settings.
    pub fn validate(&self) -> Result<(), String> {
        if self.capacity {
            self.developer.validate()?;
            self.slo.validate()?;
            self.search.validate()?;
        }
        self.mix.validate()?;
        if !(self.duration_s > 0.0 && self.duration_s <= 86_400.0) {
            return Err(format!(
                "team: duration {} s out of range: use (0, 86400] (--duration)",
                self.duration_s
            ));
        }
        if self.mix.chat > 0 {
            self.chat.validate()?;
        }
        if self.mix.agent > 0 {
            self.agent.validate()?;
        }
        Ok(())
    }

    /// Read the corpora the running classes type through and talk about.
    pub fn load(&mut self) -> Result<(), String> {
        if self.mix.autocomplete > 0 {
            self.typing.load().map_err(|e| e.to_string())?;
        }
        if self.mix.chat > 0 {
            self.chat.load().map_err(|e| e.to_string())?;
        }
        if self.mix.agent > 0 {
            self.agent.load().map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}
