//! Optional overrides of the run settings ([`RunOverrides`]): what a plan's `[run]` table or
//! the quick-form flags set, laid over the defaults (flags over the file), and the checks that
//! a knob belongs to the workload chosen.

use super::Endpoint;
use super::settings::{
    Autocomplete, FimStop, Infill, Quality, RunSettings, Team, TeamMix, Workload,
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
    /// Team mix: how many of each class at once (`autocomplete=4,chat=2,agent=1`; a plan's
    /// `[team]` table sets the same).
    #[serde(default, deserialize_with = "parsed")]
    pub team: Option<TeamMix>,
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
        self.apply_team(base, false);
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

    /// The team mix: chosen by `workload = team` (or a mix given), with the autocomplete and
    /// sessions knobs applied to its classes.
    fn apply_team(&self, base: &mut RunSettings, switch: bool) {
        // A mix given without a workload chooses the team mix.
        let chosen = match self.workload {
            None if self.team.is_some() => Some(Workload::Team),
            w => w,
        };
        match chosen.filter(|_| switch) {
            Some(Workload::Team) => {
                let d = base.duration_s.unwrap_or(60.0);
                base.team
                    .get_or_insert_with(|| Team::new(TeamMix::default(), d));
            }
            Some(_) => base.team = None,
            None => {}
        }
        let Some(t) = &mut base.team else {
            return;
        };
        if let Some(m) = self.team {
            t.mix = m;
        }
        t.typing.developers = t.mix.autocomplete;
        if let Some(d) = self.duration_s {
            t.duration_s = d;
        }
        t.typing.duration_s = t.duration_s;
        let mut ac = RunSettings {
            autocomplete: Some(t.typing.clone()),
            ..RunSettings::default()
        };
        let mut typing_knobs = self.clone();
        typing_knobs.developers = None;
        typing_knobs.apply_autocomplete(&mut ac, false);
        if let Some(a) = ac.autocomplete {
            t.typing = a;
        }
        for (class, settings) in [(0, &mut t.chat), (1, &mut t.agent)] {
            let mut ss = RunSettings {
                sessions: Some(settings.clone()),
                ..RunSettings::default()
            };
            // The class decides the source; every other sessions knob applies to both.
            let mut knobs = self.clone();
            knobs.sessions = None;
            knobs.sharegpt = None;
            knobs.apply_sessions(&mut ss, false);
            if let Some(mut s) = ss.sessions {
                s.source = match class {
                    0 => crate::load::sessions::Source::Repo,
                    _ => crate::load::sessions::Source::Agent,
                };
                *settings = s;
            }
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
            Some(Workload::Chat | Workload::Sessions | Workload::Context | Workload::Team) => {
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
        // A mix given without a workload chooses the team mix (and no other workload).
        let implied;
        let this = match (self.workload, self.team) {
            (None, Some(_)) => {
                implied = RunOverrides {
                    workload: Some(Workload::Team),
                    ..self.clone()
                };
                &implied
            }
            _ => self,
        };
        this.apply_autocomplete(base, true);
        this.apply_sessions(base, true);
        this.apply_ladder(base, true);
        this.apply_team(base, true);
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
