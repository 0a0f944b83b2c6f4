//! Optional overrides of the run settings ([`RunOverrides`]): what a plan's `[run]` table or
//! the quick-form flags set, laid over the defaults (flags over the file), and the checks that
//! a knob belongs to the workload chosen.

use super::Endpoint;
use super::settings::{
    Autocomplete, FimStop, Infill, Quality, RunSettings, Team, TeamMix, Workload, WorkloadKind,
};
use crate::load::profile::{Profile, Slo};
use crate::load::synthetic::LengthDist;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::path::PathBuf;

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
    /// What the run sends: `chat` (the default), `autocomplete`, `sessions`, `context` or
    /// `team`.
    pub workload: Option<WorkloadKind>,
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
    /// Autocomplete: whose requests (`llama.vscode` or `window`).
    #[serde(default, deserialize_with = "parsed")]
    pub editor: Option<crate::fim::Editor>,
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
    /// Team mix: how many of each class at once (`autocomplete=4,chat=2,agent=1`; a plan's
    /// `[team]` table sets the same).
    #[serde(default, deserialize_with = "parsed")]
    pub team: Option<TeamMix>,
    /// What one developer generates (a plan's `[team.developer]`).
    #[serde(skip)]
    pub developer: Option<crate::report::capacity::Developer>,
    /// Each class's objectives (a plan's `[team.slo]`).
    #[serde(skip)]
    pub team_slo: Option<crate::report::capacity::ClassSlos>,
    /// How the capacity search runs (a plan's `[team.search]`).
    #[serde(skip)]
    pub search: Option<super::Search>,
    /// Run the capacity search (`servebench capacity`).
    #[serde(skip)]
    pub capacity: bool,
    /// The search's time limit per target, s (`--budget`).
    #[serde(skip)]
    pub budget_s: Option<f64>,
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
            (self.editor.is_some(), "editor"),
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
        self.apply_workload(base, false);
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

    /// The workload these overrides choose: `workload`, or the team mix when only a mix is
    /// given.
    pub fn chosen(&self) -> Option<WorkloadKind> {
        match self.workload {
            None if self.team.is_some() || self.capacity => Some(WorkloadKind::Team),
            w => w,
        }
    }

    /// With `switch`, make the workload these overrides choose the run's (keeping its settings
    /// when it already is); then apply the knobs of the run's workload.
    fn apply_workload(&self, base: &mut RunSettings, switch: bool) {
        if switch
            && let Some(kind) = self.chosen()
            && base.workload.kind() != kind
        {
            base.workload = Workload::of_kind(kind, base.duration_s);
        }
        match &mut base.workload {
            Workload::Chat { trace } => self.trace_knobs(trace),
            Workload::Autocomplete(a) => {
                if let Some(n) = self.developers {
                    a.developers = n;
                }
                self.typing_knobs(a);
            }
            Workload::Sessions(s) => {
                if let Some(src) = &self.sessions {
                    s.source = src.clone();
                }
                if let Some(p) = &self.sharegpt {
                    s.source = crate::load::sessions::Source::ShareGpt(p.clone());
                }
                self.session_knobs(s);
            }
            Workload::Context(l) => {
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
            Workload::Team(t) => self.team_knobs(t),
            Workload::Quality => {}
        }
    }

    /// The trace to replay, and its speed.
    fn trace_knobs(&self, trace: &mut Option<crate::load::trace::Trace>) {
        if let Some(p) = &self.trace {
            let speed = trace.as_ref().map_or(1.0, |t| t.speed);
            *trace = Some(crate::load::trace::Trace {
                path: p.clone(),
                speed,
                entries: Vec::new(),
            });
        }
        if let (Some(t), Some(x)) = (trace, self.trace_speed) {
            t.speed = x;
        }
    }

    /// The team mix, and the autocomplete and sessions knobs of its classes (each class
    /// decides its own count and session source).
    fn team_knobs(&self, t: &mut Team) {
        if let Some(m) = self.team {
            t.mix = m;
        }
        if let Some(d) = self.developer {
            t.developer = d;
        }
        if let Some(s) = self.team_slo {
            t.slo = s;
        }
        if let Some(s) = self.search {
            t.search = s;
        }
        if let Some(b) = self.budget_s {
            t.search.budget_s = Some(b);
        }
        if self.capacity {
            t.capacity = true;
        }
        if t.capacity {
            // The search runs every class a developer takes part in; its sizes come from the
            // team model, step by step.
            let on = |c| u32::from(t.developer.share(c) > 0.0);
            t.mix = TeamMix {
                autocomplete: on(crate::spec::Class::Autocomplete),
                chat: on(crate::spec::Class::Chat),
                agent: on(crate::spec::Class::Agent),
                prompts: on(crate::spec::Class::Prompts),
            };
        }
        if let Some(d) = self.duration_s {
            t.duration_s = d;
        }
        self.typing_knobs(&mut t.typing);
        t.typing.developers = t.mix.autocomplete;
        t.typing.duration_s = t.duration_s;
        self.session_knobs(&mut t.chat);
        self.session_knobs(&mut t.agent);
    }

    /// The sessions knobs other than the source.
    fn session_knobs(&self, s: &mut crate::load::sessions::Settings) {
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

    /// The autocomplete knobs other than the number of developers.
    fn typing_knobs(&self, a: &mut Autocomplete) {
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
        if let Some(e) = self.editor {
            a.typing.editor = Some(e);
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

/// How a knob is named in a message: as a plan key (`debounce_ms`, fixed by `workload = …` in
/// `[run]`) or as a flag (`--debounce-ms`, fixed by `--workload …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling {
    /// A plan file's `[run]` key.
    Plan,
    /// A command-line flag.
    Flag,
}

impl Spelling {
    fn knob(self, key: &str) -> String {
        match self {
            Spelling::Plan => key.to_string(),
            Spelling::Flag => format!("--{}", key.replace('_', "-")),
        }
    }

    /// How to choose `workload`.
    fn choose(self, workload: WorkloadKind) -> String {
        match self {
            Spelling::Plan => {
                format!("add workload = \"{workload}\" to [run], or pass --workload {workload}")
            }
            Spelling::Flag => format!("add --workload {workload}"),
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
    /// Why a knob set here does nothing in the run `s` describes — it belongs to another
    /// workload, or to a quality evaluation or trace the run does not have — said with the fix,
    /// knobs named as `spelling` names them; `None` when every knob set here applies. Plan
    /// files and flags get the same checks and the same messages.
    pub fn misplaced(&self, s: &RunSettings, spelling: Spelling) -> Option<String> {
        let knob = |k: &str| spelling.knob(k);
        if s.quality.is_none()
            && let Some(k) = self.quality_knob()
        {
            return Some(match spelling {
                Spelling::Plan => format!(
                    "{k} is set but no quality dataset is: add quality = \"builtin\" (or humaneval, or a file) to [run], or pass --quality D"
                ),
                Spelling::Flag => format!(
                    "{} needs a quality dataset: add --quality builtin (or humaneval, or a file)",
                    knob(k)
                ),
            });
        }
        if self.workload == Some(WorkloadKind::Quality) {
            return Some(format!(
                "{} quality runs no performance phases: use servebench eval",
                knob("workload")
            ));
        }
        let kind = s.workload.kind();
        if kind == WorkloadKind::Team {
            let refused = [
                (
                    self.developers.is_some(),
                    "developers",
                    "the mix says how many type (--team autocomplete=N)",
                ),
                (
                    self.sessions.is_some(),
                    "sessions",
                    "its chat class sends repository sessions and its agent class agent sessions",
                ),
                (
                    self.sharegpt.is_some(),
                    "sharegpt",
                    "its classes send their own sessions",
                ),
                (
                    self.infill.is_some(),
                    "infill",
                    "infilling is graded by --workload autocomplete",
                ),
                (
                    self.infill_limit.is_some(),
                    "infill_limit",
                    "infilling is graded by --workload autocomplete",
                ),
            ];
            if let Some((_, k, why)) = refused.into_iter().find(|(set, ..)| *set) {
                return Some(format!(
                    "{} is not a knob of the team workload: {why}: drop it",
                    knob(k)
                ));
            }
        }
        if self.team.is_some() && kind != WorkloadKind::Team {
            return Some(format!(
                "{} is set but the workload is {kind}: {}, or drop the mix",
                knob("team"),
                spelling.choose(WorkloadKind::Team)
            ));
        }
        let (typing, sessions) = match kind {
            WorkloadKind::Autocomplete => (true, false),
            WorkloadKind::Sessions => (false, true),
            WorkloadKind::Team => (true, true),
            _ => (false, false),
        };
        let checks = [
            (
                typing,
                self.autocomplete_knob(),
                WorkloadKind::Autocomplete,
                "the autocomplete workload",
            ),
            (
                sessions,
                self.sessions_knob(),
                WorkloadKind::Sessions,
                "the sessions workload",
            ),
            (
                kind == WorkloadKind::Context,
                self.ladder_knob(),
                WorkloadKind::Context,
                "the context ladder",
            ),
        ];
        for (applies, set, workload, what) in checks {
            if let (false, Some(k)) = (applies, set) {
                return Some(format!(
                    "{} is for {what}, but the workload is {kind}: {}",
                    knob(k),
                    spelling.choose(workload)
                ));
            }
        }
        if self.trace.is_some() && kind != WorkloadKind::Chat {
            return Some(format!(
                "{} replays the chat workload's load phase, but the workload is {kind}: drop one",
                knob("trace")
            ));
        }
        if self.trace_speed.is_some() && s.trace().is_none() {
            return Some(format!(
                "{} scales a replayed trace, but there is none: {}",
                knob("trace_speed"),
                match spelling {
                    Spelling::Plan => "add trace = \"FILE\" to [run], or pass --trace FILE",
                    Spelling::Flag => "add --trace FILE",
                }
            ));
        }
        if self.corpus.is_some()
            && !matches!(
                kind,
                WorkloadKind::Autocomplete
                    | WorkloadKind::Sessions
                    | WorkloadKind::Context
                    | WorkloadKind::Team
            )
        {
            return Some(format!(
                "{} is read by the autocomplete, sessions, context and team workloads, but the workload is {kind}: {}",
                knob("corpus"),
                spelling.choose(WorkloadKind::Autocomplete)
            ));
        }
        None
    }

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
        self.apply_workload(base, true);
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
