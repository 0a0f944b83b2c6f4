//! Multi-turn sessions (`--workload sessions`): where they come from and how long a user
//! thinks between turns.
//!
//! Sources:
//! - `repo` (the default): *chat over a repository* — a shared context of real code from the
//!   corpus (`--corpus DIR`, as the autocomplete workload reads it) in the system message,
//!   then a sequence of questions about its files;
//! - `agent`: *agent sessions* — a long context of code, then turns that each insert a
//!   tool-result-like file read and ask for the next step, so the prompt grows every turn;
//! - a JSONL file of our own format, one session per line:
//!   `{"id": "s1", "system": "…", "turns": ["first message", {"user": "second", "max_tokens": 128, "think_s": 2.0}]}`
//!   (`id`, `system` and each turn's `max_tokens` and `think_s` are optional);
//! - ShareGPT (`--sharegpt FILE`): every human turn of each conversation, in order.
//!
//! Each turn's user message is fixed in advance; the assistant messages between them are the
//! server's actual replies, appended by the runner as they arrive.

use crate::load::corpus::Corpus;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// One session: an optional system message and the user turns.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Stable identifier (from the file, or generated).
    pub id: String,
    /// System message (the shared repository context of the synthetic sources).
    pub system: Option<String>,
    /// The user turns, in order.
    pub turns: Vec<Turn>,
}

/// One user turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// The user message.
    pub user: String,
    /// Generation limit for this turn's reply (`None`: the run's).
    pub max_tokens: Option<u32>,
    /// Think time before this turn, s (`None`: drawn from the run's distribution).
    pub think_s: Option<f64>,
}

/// Where sessions come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Chat over a repository, from the corpus.
    Repo,
    /// Agent sessions with growing contexts, from the corpus.
    Agent,
    /// A JSONL session file.
    File(PathBuf),
    /// Every human turn of a ShareGPT file.
    ShareGpt(PathBuf),
}

impl FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "repo" => Ok(Source::Repo),
            "agent" => Ok(Source::Agent),
            path if path.ends_with(".jsonl") || path.ends_with(".json") => {
                Ok(Source::File(PathBuf::from(path)))
            }
            other => Err(format!(
                "unknown session source {other:?}: use repo, agent or a .jsonl session file"
            )),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Repo => f.write_str("repo"),
            Source::Agent => f.write_str("agent"),
            Source::File(p) => write!(f, "file:{}", p.display()),
            Source::ShareGpt(p) => write!(f, "sharegpt:{}", p.display()),
        }
    }
}

/// Think time between a reply and the next user turn (`--think-time`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Think {
    /// Exponential with this mean, s (`exp:3`, or a bare `3`).
    Exp(f64),
    /// Always this long, s (`const:2`; `0` for none).
    Const(f64),
    /// Uniform between the two, s (`uniform:1:5`).
    Uniform(f64, f64),
}

impl Default for Think {
    /// A few seconds: exponential, mean 3 s.
    fn default() -> Self {
        Think::Exp(3.0)
    }
}

impl Think {
    /// One think time, s.
    pub fn sample(&self, rng: &mut StdRng) -> f64 {
        match *self {
            Think::Const(s) => s,
            Think::Uniform(a, b) if b > a => rng.random_range(a..b),
            Think::Uniform(a, _) => a,
            Think::Exp(m) if m > 0.0 => {
                let u: f64 = rng.random_range(f64::EPSILON..1.0);
                -m * u.ln()
            }
            Think::Exp(_) => 0.0,
        }
    }
}

impl FromStr for Think {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "cannot parse think time {s:?}: use SECONDS, exp:MEAN, const:SECONDS or uniform:MIN:MAX (seconds, 0 to 3600)"
            )
        };
        let num = |t: &str| -> Result<f64, String> {
            match t.parse::<f64>() {
                Ok(x) if x.is_finite() && (0.0..=3600.0).contains(&x) => Ok(x),
                _ => Err(bad()),
            }
        };
        let parts: Vec<&str> = s.trim().split(':').collect();
        match parts.as_slice() {
            [n] => Ok(Think::Exp(num(n)?)),
            ["exp", m] => Ok(Think::Exp(num(m)?)),
            ["const", c] => Ok(Think::Const(num(c)?)),
            ["uniform", a, b] if num(a)? <= num(b)? => Ok(Think::Uniform(num(a)?, num(b)?)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Think {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Think::Exp(m) => write!(f, "exp:{m}"),
            Think::Const(c) => write!(f, "const:{c}"),
            Think::Uniform(a, b) => write!(f, "uniform:{a}:{b}"),
        }
    }
}

/// A session file or ShareGPT file that cannot be used; every message names the file, the line
/// and the field, and the fix.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The file cannot be read.
    #[error("cannot read sessions {path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// A line is not a session.
    #[error(
        "{path}:{line}: {field}: {why}; each line must be {{\"id\": \"…\", \"system\": \"…\", \"turns\": [\"…\", {{\"user\": \"…\", \"max_tokens\": N, \"think_s\": S}}]}} (see README, Chat and agent sessions)"
    )]
    Line {
        /// The file.
        path: PathBuf,
        /// Line, from 1.
        line: usize,
        /// The field at fault (`turns[2].user`, or `line` for the whole line).
        field: String,
        /// What is wrong.
        why: String,
    },
    /// Nothing to run.
    #[error("{0} has no sessions: add at least one line with a turn")]
    Empty(PathBuf),
}

/// Read a JSONL session file.
pub fn read_file(path: &Path) -> Result<Vec<Session>, SessionError> {
    let text = std::fs::read_to_string(path).map_err(|cause| SessionError::Io {
        path: path.to_owned(),
        cause,
    })?;
    parse(&text, path)
}

fn parse(text: &str, path: &Path) -> Result<Vec<Session>, SessionError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let err = |field: &str, why: String| SessionError::Line {
            path: path.to_owned(),
            line: i + 1,
            field: field.to_string(),
            why,
        };
        let v: Value = serde_json::from_str(raw).map_err(|e| err("line", e.to_string()))?;
        let obj = v
            .as_object()
            .ok_or_else(|| err("line", "not a JSON object".into()))?;
        if let Some(k) = obj
            .keys()
            .find(|k| !["id", "system", "turns"].contains(&k.as_str()))
        {
            return Err(err(k, "unknown field".into()));
        }
        let id = match obj.get("id") {
            None => format!("line-{}", i + 1),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => return Err(err("id", "expected a non-empty string".into())),
        };
        let system = match obj.get("system") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(err("system", "expected a string".into())),
        };
        let turns = match obj.get("turns") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            Some(Value::Array(_)) => {
                return Err(err("turns", "empty: give at least one turn".into()));
            }
            Some(_) => return Err(err("turns", "expected an array of turns".into())),
            None => return Err(err("turns", "missing".into())),
        };
        let mut parsed = Vec::with_capacity(turns.len());
        for (k, t) in turns.iter().enumerate() {
            let at = |f: &str| format!("turns[{k}]{f}");
            let turn = match t {
                Value::String(s) if !s.trim().is_empty() => Turn {
                    user: s.clone(),
                    max_tokens: None,
                    think_s: None,
                },
                Value::String(_) => return Err(err(&at(""), "empty message".into())),
                Value::Object(o) => {
                    if let Some(f) = o
                        .keys()
                        .find(|f| !["user", "max_tokens", "think_s"].contains(&f.as_str()))
                    {
                        return Err(err(&at(&format!(".{f}")), "unknown field".into()));
                    }
                    let user = match o.get("user") {
                        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
                        Some(_) => {
                            return Err(err(&at(".user"), "expected a non-empty string".into()));
                        }
                        None => return Err(err(&at(".user"), "missing".into())),
                    };
                    let max_tokens = match o.get("max_tokens") {
                        None => None,
                        Some(v) => match v.as_u64() {
                            Some(n) if (1..=1_000_000).contains(&n) => Some(n as u32),
                            _ => {
                                return Err(err(
                                    &at(".max_tokens"),
                                    "expected a whole number from 1 to 1000000".into(),
                                ));
                            }
                        },
                    };
                    let think_s = match o.get("think_s") {
                        None => None,
                        Some(v) => match v.as_f64() {
                            Some(s) if (0.0..=3600.0).contains(&s) => Some(s),
                            _ => {
                                return Err(err(
                                    &at(".think_s"),
                                    "expected seconds from 0 to 3600".into(),
                                ));
                            }
                        },
                    };
                    Turn {
                        user,
                        max_tokens,
                        think_s,
                    }
                }
                _ => {
                    return Err(err(&at(""), "expected a message or {\"user\": …}".into()));
                }
            };
            parsed.push(turn);
        }
        out.push(Session {
            id,
            system,
            turns: parsed,
        });
    }
    if out.is_empty() {
        return Err(SessionError::Empty(path.to_owned()));
    }
    Ok(out)
}

/// Every ShareGPT conversation with at least one human turn, as a session of its human turns
/// (a `system` turn becomes the system message).
pub fn from_sharegpt(path: &Path) -> Result<Vec<Session>, crate::prompts::PromptError> {
    let convs = crate::prompts::sharegpt_conversations(path)?;
    let out: Vec<Session> = convs
        .into_iter()
        .filter_map(|(id, turns)| {
            let system = turns
                .iter()
                .find(|(from, _)| from == "system")
                .map(|(_, v)| v.clone());
            let user: Vec<Turn> = turns
                .into_iter()
                .filter(|(from, v)| {
                    matches!(from.as_str(), "human" | "user") && !v.trim().is_empty()
                })
                .map(|(_, v)| Turn {
                    user: v,
                    max_tokens: None,
                    think_s: None,
                })
                .collect();
            (!user.is_empty()).then_some(Session {
                id,
                system,
                turns: user,
            })
        })
        .collect();
    if out.is_empty() {
        return Err(crate::prompts::PromptError::Empty(path.to_owned()));
    }
    Ok(out)
}

/// Questions a developer asks about a file of the repository (`{file}` is its path).
const REPO_QUESTIONS: &[&str] = &[
    "What does `{file}` do? Summarise its main functions in a few sentences.",
    "Find one likely bug or edge case in `{file}` and show the fix.",
    "Write a unit test for one function in `{file}`.",
    "How would you refactor `{file}` to make it easier to test? Be concrete.",
    "Explain how errors are handled in `{file}`, and what could go wrong.",
    "Add type hints to the first function in `{file}` and show the new signature.",
    "Which function in `{file}` is the most complex, and why?",
    "Rewrite the longest function in `{file}` to be shorter without changing its behaviour.",
];

/// Next steps an agent is asked for after a tool result.
const AGENT_STEPS: &[&str] = &[
    "Continue the task: decide which function to change next and write the full new version.",
    "Continue the task: write the patch for the change you planned, as a unified diff.",
    "Continue the task: list the call sites that need updating and update each one.",
    "Continue the task: add tests for the code you changed.",
];

/// Files of the corpus, concatenated from a seeded start, until `chars` characters: the shared
/// repository context, and the names of the files in it.
fn repo_context(corpus: &Corpus, chars: usize, start: usize) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut names = Vec::new();
    let n = corpus.files.len();
    for k in 0..n {
        if text.len() >= chars {
            break;
        }
        let (name, body) = &corpus.files[(start + k) % n];
        let room = chars.saturating_sub(text.len());
        let cut = body
            .char_indices()
            .nth(room)
            .map_or(body.as_str(), |(i, _)| &body[..i]);
        text.push_str(&format!("### File: {name}\n```\n{cut}\n```\n\n"));
        names.push(name.clone());
    }
    (text, names)
}

/// `count` chat-over-a-repository sessions of `turns` questions each, over a shared context of
/// about `context_chars` characters of the corpus (the same for every session: one team, one
/// repository).
pub fn repo_sessions(
    corpus: &Corpus,
    context_chars: usize,
    turns: u32,
    count: u32,
    seed: u64,
) -> Vec<Session> {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = rng.random_range(0..corpus.files.len().max(1));
    let (context, names) = repo_context(corpus, context_chars, start);
    let system =
        format!("You are a coding assistant. Answer questions about this repository.\n\n{context}");
    (0..count)
        .map(|s| {
            let turns = (0..turns)
                .map(|_| {
                    let q = REPO_QUESTIONS[rng.random_range(0..REPO_QUESTIONS.len())];
                    let file = &names[rng.random_range(0..names.len())];
                    Turn {
                        user: q.replace("{file}", file),
                        max_tokens: None,
                        think_s: None,
                    }
                })
                .collect();
            Session {
                id: format!("repo-{s}"),
                system: Some(system.clone()),
                turns,
            }
        })
        .collect()
}

/// Output tokens an agent turn asks for unless `--max-tokens` says otherwise: agents write
/// whole functions and patches, not a chat answer.
pub const AGENT_OUTPUT_TOKENS: u32 = 1_024;

/// `count` agent sessions: a context of about `context_chars` characters, then `turns` turns
/// that each insert a file read of about `insert_chars` characters (a tool result) and ask
/// for the next step — `output_tokens` of it — so the prompt grows by the insert and the reply
/// every turn.
pub fn agent_sessions(
    corpus: &Corpus,
    context_chars: usize,
    insert_chars: usize,
    turns: u32,
    count: u32,
    output_tokens: u32,
    seed: u64,
) -> Vec<Session> {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = corpus.files.len().max(1);
    (0..count)
        .map(|s| {
            let start = rng.random_range(0..n);
            let (context, names) = repo_context(corpus, context_chars, start);
            let system = format!(
                "You are a coding agent working in this repository. Tools: read_file(path). Make the change the user asks for, step by step.\n\n{context}"
            );
            let task = format!(
                "Task: make `{}` more robust to bad input, and keep its tests passing.",
                names.first().map_or("the code", String::as_str)
            );
            let turns = (0..turns)
                .map(|k| {
                    let (name, body) = &corpus.files[(start + names.len() + k as usize) % n];
                    let cut = body
                        .char_indices()
                        .nth(insert_chars)
                        .map_or(body.as_str(), |(i, _)| &body[..i]);
                    let step = AGENT_STEPS[rng.random_range(0..AGENT_STEPS.len())];
                    let user = if k == 0 {
                        format!("{task}\n\nTool result read_file({name}):\n```\n{cut}\n```\n\n{step}")
                    } else {
                        format!("Tool result read_file({name}):\n```\n{cut}\n```\n\n{step}")
                    };
                    Turn {
                        user,
                        max_tokens: Some(output_tokens),
                        think_s: None,
                    }
                })
                .collect();
            Session {
                id: format!("agent-{s}"),
                system: Some(system),
                turns,
            }
        })
        .collect()
}

/// The sessions workload's settings (`--workload sessions`).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Where the sessions come from.
    pub source: Source,
    /// `--corpus` for the synthetic sources; `None`: the Python standard library.
    pub corpus_dir: Option<PathBuf>,
    /// The corpus, once loaded ([`Settings::load`]), for the synthetic sources.
    pub corpus: Option<std::sync::Arc<Corpus>>,
    /// The sessions of a file or ShareGPT source, once loaded.
    pub loaded: Vec<Session>,
    /// Turns per synthetic session (`None`: 4 for `repo`, 8 for `agent`).
    pub turns: Option<u32>,
    /// Synthetic sessions to generate.
    pub count: u32,
    /// Tokens of shared context a synthetic session starts with (`None`: 2,000 for `repo`,
    /// 8,000 for `agent`).
    pub context_tokens: Option<u32>,
    /// Agent sessions: tokens of each inserted tool result.
    pub insert_tokens: u32,
    /// Output tokens a synthetic turn asks for, when `--max-tokens` (or the plan's
    /// `max_tokens`) says (`None`: [`AGENT_OUTPUT_TOKENS`] for `agent`, the run's
    /// `max_tokens` for `repo`).
    pub output_tokens: Option<u32>,
    /// Think time between a reply and the next user turn.
    pub think: Think,
}

impl Default for Settings {
    /// 16 chat-over-a-repository sessions of 4 turns over 2,000 tokens of code, think time
    /// exponential with mean 3 s.
    fn default() -> Self {
        Settings {
            source: Source::Repo,
            corpus_dir: None,
            corpus: None,
            loaded: Vec::new(),
            turns: None,
            count: 16,
            context_tokens: None,
            insert_tokens: 1_000,
            output_tokens: None,
            think: Think::default(),
        }
    }
}

/// Why the sessions cannot be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The corpus.
    #[error(transparent)]
    Corpus(#[from] crate::load::corpus::CorpusError),
    /// The session file.
    #[error(transparent)]
    File(#[from] SessionError),
    /// The ShareGPT file.
    #[error("--sharegpt: {0}")]
    ShareGpt(#[from] crate::prompts::PromptError),
}

impl Settings {
    /// Turns per synthetic session.
    pub fn turns(&self) -> u32 {
        self.turns.unwrap_or(match self.source {
            Source::Agent => 8,
            _ => 4,
        })
    }

    /// Tokens of shared context for a synthetic session; `None` for a file.
    pub fn context_tokens(&self) -> Option<u32> {
        match self.source {
            Source::Repo => Some(self.context_tokens.unwrap_or(2_000)),
            Source::Agent => Some(self.context_tokens.unwrap_or(8_000)),
            _ => None,
        }
    }

    /// These settings with the default synthetic context cut to half of `server_context`
    /// where it is longer than that (a session needs room to grow: 8,000 tokens of agent
    /// context on a 4k server would refuse every first turn); `None` when `--context-tokens`
    /// was given, the source is a file, or the default fits.
    pub fn fitted_to(&self, server_context: Option<u64>) -> Option<Settings> {
        let half = u32::try_from(server_context? / 2)
            .unwrap_or(u32::MAX)
            .max(1);
        if self.context_tokens.is_some() || self.context_tokens()? <= half {
            return None;
        }
        Some(Settings {
            context_tokens: Some(half),
            ..self.clone()
        })
    }

    /// Check the ranges.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=100_000).contains(&self.count) {
            return Err(format!(
                "session_count {} out of range: use 1..=100000",
                self.count
            ));
        }
        if let Some(t) = self.turns
            && !(1..=1_000).contains(&t)
        {
            return Err(format!("turns {t} out of range: use 1..=1000"));
        }
        if let Some(k) = self.context_tokens
            && !(1..=10_000_000).contains(&k)
        {
            return Err(format!("context_tokens {k} out of range: use 1..=10000000"));
        }
        if !(1..=1_000_000).contains(&self.insert_tokens) {
            return Err(format!(
                "insert_tokens {} out of range: use 1..=1000000",
                self.insert_tokens
            ));
        }
        Ok(())
    }

    /// Read what the source needs: the corpus for a synthetic source, the file's sessions
    /// otherwise.
    pub fn load(&mut self) -> Result<(), PrepareError> {
        match &self.source {
            Source::Repo | Source::Agent => {
                let c = match &self.corpus_dir {
                    Some(d) => crate::load::corpus::load(d)?,
                    None => crate::load::corpus::default_corpus()?,
                };
                self.corpus = Some(std::sync::Arc::new(c));
            }
            Source::File(p) => self.loaded = read_file(p)?,
            Source::ShareGpt(p) => self.loaded = from_sharegpt(p)?,
        }
        Ok(())
    }

    /// The sessions to run, with synthetic contexts sized at `chars_per_token` characters per
    /// server token (measured per target).
    pub fn sessions(&self, chars_per_token: f64, seed: u64) -> Vec<Session> {
        let chars = |tokens: u32| (f64::from(tokens) * chars_per_token).round() as usize;
        match (&self.source, &self.corpus) {
            (Source::Repo, Some(c)) => repo_sessions(
                c,
                chars(self.context_tokens().unwrap_or(0)),
                self.turns(),
                self.count,
                seed,
            ),
            (Source::Agent, Some(c)) => agent_sessions(
                c,
                chars(self.context_tokens().unwrap_or(0)),
                chars(self.insert_tokens),
                self.turns(),
                self.count,
                self.output_tokens.unwrap_or(AGENT_OUTPUT_TOKENS),
                seed,
            ),
            _ => self.loaded.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Corpus {
        Corpus {
            dir: "c".into(),
            files: (0..5)
                .map(|k| {
                    (
                        format!("f{k}.py"),
                        format!("def f{k}(x):\n    return x + {k}\n").repeat(20),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn think_times_parse_print_and_draw() {
        for s in ["exp:3", "const:0", "uniform:1:5"] {
            assert_eq!(s.parse::<Think>().unwrap().to_string(), s);
        }
        assert_eq!("2".parse::<Think>().unwrap(), Think::Exp(2.0));
        for bad in ["uniform:5:1", "exp:-1", "gauss:1", "const:x"] {
            assert!(
                bad.parse::<Think>()
                    .unwrap_err()
                    .contains("uniform:MIN:MAX"),
                "{bad}"
            );
        }
        let mut rng = StdRng::seed_from_u64(1);
        let mean = (0..20_000)
            .map(|_| Think::Exp(2.0).sample(&mut rng))
            .sum::<f64>()
            / 20_000.0;
        assert!((mean - 2.0).abs() < 0.1, "{mean}");
        let u = Think::Uniform(1.0, 2.0).sample(&mut rng);
        assert!((1.0..2.0).contains(&u));
    }

    #[test]
    fn a_session_file_reads_strings_and_objects_and_names_a_bad_field() {
        let ok = r#"{"id": "a", "system": "sys", "turns": ["one", {"user": "two", "max_tokens": 8, "think_s": 0.5}]}

{"turns": ["only"]}"#;
        let s = parse(ok, Path::new("s.jsonl")).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].turns[1].max_tokens, Some(8));
        assert_eq!(s[1].id, "line-3");
        for (text, line, field) in [
            (r#"{"turns": ["a", {"user": 3}]}"#, 1, "turns[1].user"),
            ("{\"turns\": [\"a\"]}\n{\"turns\": []}", 2, "turns"),
            (r#"{"turns": ["a"], "turn": 1}"#, 1, "turn"),
            (
                r#"{"turns": [{"user": "a", "think": 1}]}"#,
                1,
                "turns[0].think",
            ),
            (
                r#"{"turns": [{"user": "a", "max_tokens": 0}]}"#,
                1,
                "turns[0].max_tokens",
            ),
            ("not json", 1, "line"),
        ] {
            let e = parse(text, Path::new("s.jsonl")).unwrap_err().to_string();
            assert!(e.starts_with(&format!("s.jsonl:{line}: {field}: ")), "{e}");
        }
        assert!(matches!(
            parse("\n", Path::new("s")),
            Err(SessionError::Empty(_))
        ));
    }

    #[test]
    fn a_default_context_is_fitted_to_half_the_servers() {
        let agent = Settings {
            source: Source::Agent,
            ..Default::default()
        };
        assert_eq!(
            agent.fitted_to(Some(4096)).and_then(|s| s.context_tokens()),
            Some(2048)
        );
        assert_eq!(agent.fitted_to(Some(32768)), None, "8,000 fits");
        assert_eq!(agent.fitted_to(None), None);
        let chosen = Settings {
            context_tokens: Some(8000),
            ..agent
        };
        assert_eq!(
            chosen.fitted_to(Some(4096)),
            None,
            "the user's choice stands"
        );
    }

    #[test]
    fn repo_sessions_share_one_context_and_agent_sessions_grow() {
        let c = corpus();
        let r = repo_sessions(&c, 500, 4, 3, 7);
        assert_eq!(r.len(), 3);
        assert!(
            r.iter()
                .all(|s| s.turns.len() == 4 && s.system == r[0].system)
        );
        assert!(r[0].system.as_ref().unwrap().len() >= 500);
        assert!(r[0].turns.iter().all(|t| t.user.contains(".py`")));
        let a = agent_sessions(&c, 300, 200, 3, 2, 512, 7);
        assert!(
            a[0].turns
                .iter()
                .all(|t| t.user.starts_with("Task") || t.user.starts_with("Tool result"))
        );
        assert!(a[0].turns[1].user.len() > 200);
        assert!(a[0].turns.iter().all(|t| t.max_tokens == Some(512)));
        assert_eq!(repo_sessions(&c, 500, 4, 3, 7), r, "seeded");
    }
}
