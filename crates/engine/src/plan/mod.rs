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

use crate::load::profile::Profile;
use serde::Deserialize;
pub use servebench_core::spec::{Api, Endpoint};
use std::path::{Path, PathBuf};

mod overrides;
mod settings;
pub use overrides::{RunOverrides, Spelling};
pub use settings::*;

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
    /// What an hour of this server costs, $ (cloud price or amortised hardware and power):
    /// the capacity search prices a developer-month and a million tokens with it.
    #[serde(default)]
    pub cost_per_hour: Option<f64>,
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
            cost_per_hour: None,
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
    /// The team: a fixed mix (`autocomplete = 4`, `chat = 2`, …) and the capacity search's
    /// team model (`[team.developer]`, `[team.slo.<class>]`, `[team.search]`).
    #[serde(default)]
    team: Option<TeamTable>,
    #[serde(default)]
    targets: Vec<TargetSpec>,
}

/// A plan's `[team]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamTable {
    autocomplete: Option<u32>,
    chat: Option<u32>,
    agent: Option<u32>,
    prompts: Option<u32>,
    developer: Option<crate::report::capacity::Developer>,
    slo: Option<crate::report::capacity::ClassSlos>,
    search: Option<Search>,
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
        let mut file: PlanFile = toml::from_str(text).map_err(|e| {
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
        if let Some(table) = file.team.take() {
            file.run.developer = table.developer;
            file.run.team_slo = table.slo;
            file.run.search = table.search;
            let counts = [table.autocomplete, table.chat, table.agent, table.prompts];
            let mix = counts.iter().any(Option::is_some).then(|| TeamMix {
                autocomplete: table.autocomplete.unwrap_or(0),
                chat: table.chat.unwrap_or(0),
                agent: table.agent.unwrap_or(0),
                prompts: table.prompts.unwrap_or(0),
            });
            if mix.is_some() && file.run.team.is_some() {
                return Err(PlanError::Invalid(format!(
                    "{}: the team mix is given twice ([run] team and a [team] table): keep one",
                    path.display()
                )));
            }
            if mix.is_some() {
                file.run.team = mix;
            }
        }
        let mut settings = RunSettings::default();
        file.run.apply(&mut settings);
        overrides.apply(&mut settings);
        file.run.apply_knobs(&mut settings);
        overrides.apply_knobs(&mut settings);
        for (knobs, spelling) in [(&file.run, Spelling::Plan), (overrides, Spelling::Flag)] {
            if let Some(why) = knobs.misplaced(&settings, spelling) {
                return Err(PlanError::Invalid(format!("{}: {why}", path.display())));
            }
        }
        let plan = Plan {
            settings,
            targets: file.targets,
        };
        plan.validate()?;
        Ok(plan)
    }

    /// Every target can be asked to fill in the middle where the workload types (the
    /// autocomplete workload, or a team's autocomplete class): its dialect fills natively, or
    /// the model's name (or `--fim-template`) gives the template. The error names the target,
    /// the model and the flag.
    pub fn check_fim(&self) -> Result<(), String> {
        let template = match &self.settings.workload {
            Workload::Autocomplete(a) => a.template,
            Workload::Team(t) if t.mix.autocomplete > 0 => t.typing.template,
            _ => return Ok(()),
        };
        for t in &self.targets {
            let native = crate::backend::dialect(t.api).capabilities().traits.fim;
            crate::fim::Method::choose(native, &t.model, template)
                .map_err(|m| format!("target {}: {m}", t.name))?;
        }
        Ok(())
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
        if t.cost_per_hour
            .is_some_and(|c| !(c.is_finite() && c >= 0.0))
        {
            return Err(PlanError::Invalid(format!(
                "target {}: cost_per_hour {} out of range: use dollars per hour, 0 or more (e.g. 2.5)",
                t.name,
                t.cost_per_hour.unwrap_or_default()
            )));
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
        // Each workload checks its own knobs; the profile applies to chat and sessions.
        match &s.workload {
            Workload::Autocomplete(a) => a.validate()?,
            Workload::Sessions(ss) => {
                ss.validate().map_err(PlanError::Invalid)?;
                if !matches!(
                    s.profile,
                    Profile::Sequential
                        | Profile::Sessions(_)
                        | Profile::Rate { .. }
                        | Profile::Sweep(Some(_))
                ) {
                    return Err(PlanError::Invalid(format!(
                        "profile {} with the sessions workload: sessions are the unit of load, use sessions:N (N users at once), rate:R (new sessions per second) or sweep:N,N,… (one phase per number of sessions at once)",
                        s.profile
                    )));
                }
                if s.endpoint == Endpoint::Completions {
                    return Err(PlanError::Invalid(
                        "endpoint completions with the sessions workload: a conversation needs the chat endpoint (drop --endpoint completions)".into(),
                    ));
                }
            }
            Workload::Context(l) => l.validate().map_err(PlanError::Invalid)?,
            Workload::Team(t) => {
                t.validate().map_err(PlanError::Invalid)?;
                if t.mix.autocomplete > 0 {
                    // The autocomplete class's typing, windows and limits, as the workload's.
                    t.typing
                        .validate()
                        .map_err(|e| PlanError::Invalid(format!("team autocomplete: {e}")))?;
                }
                if s.profile != Profile::Sequential {
                    return Err(PlanError::Invalid(format!(
                        "profile {} with the team workload: the mix is the load (each class keeps its own count at once): drop the profile",
                        s.profile
                    )));
                }
                if t.capacity
                    && let Some(p) = s.quality.as_ref().and_then(|q| q.settings.load.as_ref())
                {
                    return Err(PlanError::Invalid(format!(
                        "quality_load {p} with the capacity search: the tasks are asked beside the team at the capacity it finds: drop quality_load"
                    )));
                }
                if t.mix.chat + t.mix.agent > 0 && s.endpoint == Endpoint::Completions {
                    return Err(PlanError::Invalid(
                        "endpoint completions with the team's chat or agent class: a conversation needs the chat endpoint (drop --endpoint completions)".into(),
                    ));
                }
            }
            Workload::Chat { trace: Some(t) } => {
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
            }
            Workload::Chat { trace: None } | Workload::Quality => {}
        }
        if let (p @ Profile::Sessions(_), false) =
            (&s.profile, s.workload.kind() == WorkloadKind::Sessions)
        {
            return Err(PlanError::Invalid(format!(
                "profile {p} needs the sessions workload: pass --workload sessions, or use concurrency:N"
            )));
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
    fn a_targets_extra_body_reads_as_json() {
        let text = format!(
            "{OK}extra_body = {{ options = {{ num_ctx = 8192 }}, truncate = false, cache_prompt = false }}\n"
        );
        let p = Plan::from_toml(&text, Path::new("p.toml"), &RunOverrides::default()).unwrap();
        assert_eq!(
            p.targets[0].extra_body,
            Some(
                serde_json::json!({"options": {"num_ctx": 8192}, "truncate": false, "cache_prompt": false})
            )
        );
    }

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

    /// A `[team]` table runs what it names and nothing else, as `--team` does; a mix with
    /// another workload chosen is refused, not dropped.
    #[test]
    fn the_team_table_runs_only_the_classes_it_names() {
        let text = "[team]\nautocomplete = 3\n\n[[targets]]\nname = \"a\"\napi = \"llamacpp\"\nurl = \"http://x:1\"\nmodel = \"m\"\n";
        let p = Plan::from_toml(text, Path::new("p.toml"), &RunOverrides::default()).unwrap();
        let t = p.settings.team().expect("the team mix");
        assert_eq!(
            (t.mix.autocomplete, t.mix.chat, t.mix.agent, t.mix.prompts),
            (3, 0, 0, 0)
        );
        assert_eq!(t.typing.developers, 3);
        let flags = RunOverrides {
            workload: Some(WorkloadKind::Sessions),
            ..RunOverrides::default()
        };
        let e = Plan::from_toml(text, Path::new("p.toml"), &flags).unwrap_err();
        assert!(
            e.to_string()
                .contains("team is set but the workload is sessions"),
            "{e}"
        );
    }

    /// Every TOML example in the README is a plan that parses and validates.
    #[test]
    fn every_toml_example_in_the_readme_parses() {
        let readme = include_str!("../../../../README.md");
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
