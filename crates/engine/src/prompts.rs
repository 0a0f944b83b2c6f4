//! Prompt sets: the built-in coding prompts (`data/prompts.jsonl`, four scenarios users compare
//! stacks on) and user files given with `--prompts FILE.jsonl`.
//!
//! A file line is `{"prompt": "..."}` or `{"messages": [{"role": ..., "content": ...}, ...]}`,
//! optionally with `"id"` and `"scenario"`. ShareGPT files (`--sharegpt`) are a JSON array (or
//! JSONL) of `{"id", "conversations": [{"from": "human"|"gpt", "value"}]}`; the first human turn
//! of each conversation becomes a prompt. Synthetic prompts are built by the load module from the word list here ([`words`]).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const BUILTIN: &str = include_str!("../../../data/prompts.jsonl");

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// Text.
    pub content: String,
}

/// One prompt of a set.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// Stable identifier (from the file, or `line-N`).
    pub id: String,
    /// Scenario it exercises, when known.
    pub scenario: Option<String>,
    /// The conversation to send.
    pub messages: Vec<Message>,
    /// Exact output length to ask for (synthetic `--output-tokens`); `None` = up to max_tokens.
    pub output_tokens: Option<u32>,
}

/// Makes every measured prompt unique from its first token: a tag naming the run and the
/// request goes at the start of the first message, so no request can be answered from the
/// prompt cache another request filled (a repeated prompt on llama.cpp is read as a 1-token
/// prompt, and its TTFT measures the cache, not prompt processing). Only a chat template's
/// own start, before the first message, stays common.
///
/// The one cache-busting scheme of every workload: a prompt is tagged whole ([`Self::tag`]);
/// a session's shared context carries the phase's tag ([`Self::shared`]) and its own first
/// message a labelled one ([`Self::label`]); a phase that must share nothing with another
/// takes [`Self::fresh`] tags; a replayed trace salts its blocks with [`Self::salt`]. With
/// `--allow-prompt-cache` there are no tags at all.
#[derive(Debug, Clone)]
pub struct PromptTags {
    run: u32,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl PromptTags {
    /// Tags for one run; `run` should differ between runs (a random number).
    pub fn new(run: u32) -> PromptTags {
        PromptTags {
            run,
            next: Default::default(),
        }
    }

    /// Tags no earlier phase, attempt or run has used (a random run number).
    pub fn fresh() -> PromptTags {
        PromptTags::new(rand::random())
    }

    /// The tag these tags' prompts share: `[run] `, for a context every session of a phase
    /// shares (as one team's repository is shared) and no other phase does.
    pub fn shared(&self) -> String {
        format!("[{:08x}] ", self.run)
    }

    /// A tag of this run with `label` (`[run-label] `), for text that must be its own.
    pub fn label(&self, label: impl std::fmt::Display) -> String {
        format!("[{:08x}-{label}] ", self.run)
    }

    /// The run number as a seed salt, for text built from seeded blocks (a replayed trace's
    /// blocks: equal within a replay, different from any other's).
    pub fn salt(&self) -> u64 {
        u64::from(self.run)
    }

    /// `prompt` with the next tag at the start of its first message.
    pub fn tag(&self, prompt: &Prompt) -> Prompt {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut p = prompt.clone();
        if let Some(first) = p.messages.first_mut() {
            first.content = format!("[{:08x}-{n}] {}", self.run, first.content);
        }
        p
    }
}

impl Prompt {
    /// The conversation as one text, for the raw `/v1/completions` endpoint.
    pub fn as_text(&self) -> String {
        if let [only] = self.messages.as_slice() {
            return only.content.clone();
        }
        self.messages
            .iter()
            .map(|m| format!("{}: {}", m.role, m.content))
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    id: Option<String>,
    scenario: Option<String>,
    prompt: Option<String>,
    messages: Option<Vec<Message>>,
}

/// Why a prompt file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// Unreadable file.
    // The cause is in the message, so it is not also a `source` (printed twice otherwise).
    #[error("cannot read prompts {path}: {cause}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        cause: std::io::Error,
    },
    /// A line that is not a prompt.
    #[error(
        "{path}:{line}: {message}: each line must be {{\"prompt\": \"...\"}} or {{\"messages\": [...]}}"
    )]
    Line {
        /// File.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// No prompts at all.
    #[error("{0} has no prompts: add at least one line")]
    Empty(PathBuf),
}

/// The built-in coding prompts.
pub fn builtin() -> Vec<Prompt> {
    parse(BUILTIN, Path::new("data/prompts.jsonl")).expect("built-in prompts are valid")
}

/// Load a JSONL prompt file.
pub fn load(path: &Path) -> Result<Vec<Prompt>, PromptError> {
    let text = std::fs::read_to_string(path).map_err(|source| PromptError::Io {
        path: path.to_owned(),
        cause: source,
    })?;
    parse(&text, path)
}

fn parse(text: &str, path: &Path) -> Result<Vec<Prompt>, PromptError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let err = |message: String| PromptError::Line {
            path: path.to_owned(),
            line: i + 1,
            message,
        };
        let l: Line = serde_json::from_str(raw).map_err(|e| err(e.to_string()))?;
        let messages = match (l.prompt, l.messages) {
            (Some(p), None) => vec![Message {
                role: "user".into(),
                content: p,
            }],
            (None, Some(m)) if !m.is_empty() => m,
            _ => return Err(err("needs exactly one of prompt or messages".into())),
        };
        out.push(Prompt {
            id: l.id.unwrap_or_else(|| format!("line-{}", i + 1)),
            scenario: l.scenario,
            messages,
            output_tokens: None,
        });
    }
    if out.is_empty() {
        return Err(PromptError::Empty(path.to_owned()));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct ShareGptItem {
    id: Option<String>,
    #[serde(default)]
    conversations: Vec<ShareGptTurn>,
}

#[derive(Deserialize)]
struct ShareGptTurn {
    from: String,
    value: String,
}

/// The first human turn of each ShareGPT conversation, as a prompt.
pub fn load_sharegpt(path: &Path) -> Result<Vec<Prompt>, PromptError> {
    let out: Vec<Prompt> = sharegpt_conversations(path)?
        .into_iter()
        .filter_map(|(id, turns)| {
            let (_, first) = turns.into_iter().find(|(from, v)| {
                matches!(from.as_str(), "human" | "user") && !v.trim().is_empty()
            })?;
            Some(Prompt {
                id,
                scenario: None,
                messages: vec![Message {
                    role: "user".into(),
                    content: first,
                }],
                output_tokens: None,
            })
        })
        .collect();
    if out.is_empty() {
        return Err(PromptError::Empty(path.to_owned()));
    }
    Ok(out)
}

/// A ShareGPT conversation: its id and its `(from, value)` turns in order.
pub type Conversation = (String, Vec<(String, String)>);

/// Every conversation of a ShareGPT file (a JSON array, or JSONL) as its id (`sharegpt-N`
/// when it has none) and its `(from, value)` turns in order.
pub fn sharegpt_conversations(path: &Path) -> Result<Vec<Conversation>, PromptError> {
    let text = std::fs::read_to_string(path).map_err(|source| PromptError::Io {
        path: path.to_owned(),
        cause: source,
    })?;
    let items: Vec<ShareGptItem> = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(array_err) => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| PromptError::Line {
                    path: path.to_owned(),
                    line: i + 1,
                    message: format!("not ShareGPT JSON ({array_err}; as JSONL: {e})"),
                })
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            (
                item.id.unwrap_or_else(|| format!("sharegpt-{i}")),
                item.conversations
                    .into_iter()
                    .map(|t| (t.from, t.value))
                    .collect(),
            )
        })
        .collect())
}

/// Words used to build synthetic prompts: common English words of one or two tokens in most
/// tokenizers, so lengths scale smoothly.
const WORDS: &[&str] = &[
    "the", "system", "request", "server", "model", "token", "latency", "memory", "batch", "cache",
    "queue", "thread", "stream", "value", "result", "error", "time", "data", "graph", "layer",
    "kernel", "device", "block", "index", "table", "query", "field", "record", "buffer", "signal",
    "network", "storage", "engine", "method", "object", "number", "string", "vector", "matrix",
    "state",
];

/// `n` words from the vocabulary, drawn from `rng`.
pub fn words(n: usize, rng: &mut rand::rngs::StdRng) -> String {
    let mut s = String::with_capacity(n * 7);
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[rand::RngExt::random_range(rng, 0..WORDS.len())]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_covers_the_four_scenarios() {
        let p = builtin();
        for s in [
            "code-completion",
            "code-review",
            "architecture-design",
            "debugging",
        ] {
            assert!(p.iter().any(|x| x.scenario.as_deref() == Some(s)), "{s}");
        }
    }

    #[test]
    fn both_line_forms_parse_and_bad_lines_name_the_line() {
        let t = "{\"prompt\": \"hi\"}\n\n{\"messages\": [{\"role\": \"user\", \"content\": \"yo\"}], \"id\": \"x\"}\n";
        let p = parse(t, Path::new("f.jsonl")).unwrap();
        assert_eq!(p[0].id, "line-1");
        assert_eq!(p[1].id, "x");
        assert_eq!(p[1].as_text(), "yo");
        let e = parse("{\"prompt\": \"a\"}\n{\"text\": 1}\n", Path::new("f.jsonl")).unwrap_err();
        assert!(e.to_string().starts_with("f.jsonl:2: "), "{e}");
    }

    #[test]
    fn sharegpt_array_and_jsonl_take_the_first_human_turn() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sg.json");
        let conv = r#"{"id": "a", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}"#;
        let empty = r#"{"id": "b", "conversations": [{"from": "gpt", "value": "x"}]}"#;
        std::fs::write(&p, format!("[{conv}, {empty}]")).unwrap();
        let got = load_sharegpt(&p).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].id.as_str(), got[0].messages[0].content.as_str()),
            ("a", "hi")
        );
        std::fs::write(&p, format!("{conv}\n{conv}\n")).unwrap();
        assert_eq!(load_sharegpt(&p).unwrap().len(), 2);
        std::fs::write(&p, "{oops").unwrap();
        assert!(load_sharegpt(&p).unwrap_err().to_string().contains(":1: "));
    }
}
