//! Grading a code answer in two sandboxed processes that never share a verdict: the *test
//! process* ([`TESTS_PY`], `grade.py`) takes the code out of the answer and runs the task's
//! tests, and never executes the answer's code; the *candidate process* ([`CANDIDATE_PY`],
//! `candidate.py`) runs the answer's program, never sees the tests, and never writes a verdict.
//! Each `candidate(...)` call of the tests is relayed here, one line each way: the test process
//! writes `TO-CANDIDATE [json]`, this module writes that to the candidate and its one-line reply
//! back, and the test process decodes the reply into plain data only. The verdict is the test
//! process's `RESULT` line; nothing the candidate writes is ever read as one.
//!
//! Both processes start at once in their own empty private directories (the task and the answer
//! reach the test process on its standard input, so neither is ever on disk), under
//! [`super::sandbox`], and share one wall-clock limit.
//!
//! Who is to blame: once the test process has said `READY` (it has the task), anything that
//! goes wrong — a crash, the time limit, an unreadable reply — is the answer's doing and a
//! fail with its reason; before that, it is servebench's, and an `error`.

use super::sandbox::{Sandbox, SandboxError, Spawned};
use serde::Deserialize;
use servebench_core::quality_record::{Lint, Verdict};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::time::{Instant, timeout_at};

/// The test process's program: extraction, the tests, the verdict.
pub const TESTS_PY: &str = include_str!("grade.py");
/// The candidate process's program: runs the answer's code on request.
pub const CANDIDATE_PY: &str = include_str!("candidate.py");

/// Longest answer graded, in bytes; a longer one fails without being read.
pub const MAX_ANSWER_BYTES: usize = 256 << 10;
/// Longest line the test process may write (a request carries the whole program).
const TESTS_LINE_CAP: usize = 32 << 20;
/// Longest reply the candidate may write (one returned value).
const REPLY_LINE_CAP: usize = 16 << 20;
/// How long a process that has closed its output gets to report its exit status.
const GRACE: Duration = Duration::from_millis(500);

/// What one answer's code is graded on.
#[derive(Debug, serde::Serialize)]
pub struct CodeTask<'a> {
    /// The definitions given to the model.
    pub prompt: &'a str,
    /// The function the tests call.
    pub entry_point: &'a str,
    /// `def check(candidate): …`.
    pub test: &'a str,
    /// The model's answer.
    pub answer: &'a str,
}

/// The test process's `EXTRACT` line: what was taken from the answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Extracted {
    /// The code taken (at most 64 KiB of it).
    pub code: String,
    /// How it was found.
    pub method: String,
    /// Its lint, when there was code.
    pub lint: Option<Lint>,
}

/// The test process's `RESULT` line.
#[derive(Debug, Clone, Deserialize)]
struct ResultLine {
    passed: bool,
    reason: Option<String>,
    /// Set when the task itself could not be run (its tests or prompt): not the answer's doing.
    #[serde(default)]
    error: Option<String>,
}

/// How grading one answer ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Pass, fail, or error (servebench could not grade).
    pub verdict: Verdict,
    /// Why, unless it passed.
    pub reason: Option<String>,
    /// What was taken from the answer, once the test process said so.
    pub extracted: Option<Extracted>,
}

impl Outcome {
    fn fail(reason: String, extracted: Option<Extracted>) -> Outcome {
        Outcome {
            verdict: Verdict::Fail,
            reason: Some(reason),
            extracted,
        }
    }

    fn error(reason: String) -> Outcome {
        Outcome {
            verdict: Verdict::Error,
            reason: Some(reason),
            extracted: None,
        }
    }
}

/// Why a line could not be read.
#[derive(Debug)]
enum LineError {
    TooLong(usize),
    Io,
}

/// One line without its newline, at most `cap` bytes; `None` at the end of the stream (a last
/// line without a newline counts as the end: every protocol line is terminated).
async fn read_line(
    r: &mut (impl AsyncBufRead + Unpin),
    cap: usize,
) -> Result<Option<String>, LineError> {
    let mut buf = Vec::new();
    (&mut *r)
        .take(cap as u64 + 1)
        .read_until(b'\n', &mut buf)
        .await
        .map_err(|_| LineError::Io)?;
    match buf.pop() {
        Some(b'\n') => Ok(Some(String::from_utf8_lossy(&buf).into_owned())),
        _ if buf.len() >= cap => Err(LineError::TooLong(cap)),
        _ => Ok(None),
    }
}

/// How a process ended, in words ("exited with status 1", "killed by signal 9 (…)").
async fn how_it_ended(p: &mut Spawned) -> String {
    let status = tokio::time::timeout(GRACE, p.child.wait()).await;
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(Ok(s)) => match (s.code(), s.signal()) {
            (Some(c), _) => format!("exited with status {c}"),
            (_, Some(9)) => "was killed (SIGKILL: a memory or CPU-time limit)".into(),
            (_, Some(sig)) => format!("was killed by signal {sig}"),
            _ => "ended".into(),
        },
        _ => "closed its output".into(),
    }
}

/// The last non-empty line of `text`, cut to 200 characters.
fn last_line(text: &str) -> String {
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    line.chars().take(200).collect()
}

/// The candidate process, as the relay sees it.
struct Candidate {
    proc: Spawned,
    stdin: tokio::process::ChildStdin,
    stdout: BufReader<tokio::process::ChildStdout>,
    /// Why it can no longer answer, once it cannot.
    gone: Option<String>,
}

impl Candidate {
    /// Send `request` and return the candidate's one-line reply, or `["gone", why]`; `None`
    /// when the deadline passed.
    async fn ask(&mut self, request: &str, deadline: Instant) -> Option<String> {
        if self.gone.is_none() {
            let mut line = Vec::with_capacity(request.len() + 1);
            line.extend_from_slice(request.as_bytes());
            line.push(b'\n');
            let sent = timeout_at(deadline, self.stdin.write_all(&line))
                .await
                .ok()?;
            let reply = match sent {
                Ok(()) => timeout_at(deadline, read_line(&mut self.stdout, REPLY_LINE_CAP))
                    .await
                    .ok()?,
                Err(_) => Err(LineError::Io),
            };
            match reply {
                Ok(Some(line)) => return Some(line),
                Ok(None) | Err(LineError::Io) => {
                    let how = how_it_ended(&mut self.proc).await;
                    let err = last_line(&self.proc.stderr(GRACE).await);
                    self.gone = Some(format!(
                        "the answer's process {how}{}",
                        if err.is_empty() {
                            String::new()
                        } else {
                            format!(": {err}")
                        }
                    ));
                }
                Err(LineError::TooLong(cap)) => {
                    self.proc.kill();
                    self.gone = Some(format!(
                        "the answer's process sent a reply over {} MiB",
                        cap >> 20
                    ));
                }
            }
        }
        let why = self.gone.as_deref().unwrap_or_default();
        Some(serde_json::json!(["gone", why]).to_string())
    }
}

/// How far the test process got, for the blame (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum Stage {
    Starting,
    Extracting,
    Testing,
}

/// Grade `task` with the test and candidate processes run by `python` under `sandbox`.
pub async fn grade(sandbox: &Sandbox, python: &Path, task: &CodeTask<'_>) -> Outcome {
    let wall = sandbox.limits().wall;
    let dir = |prefix: &str| {
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .map_err(|e| format!("cannot create a grading directory: {e}"))
    };
    let (tests_dir, candidate_dir) = match (dir("servebench-tests-"), dir("servebench-answer-")) {
        (Ok(t), Ok(c)) => (t, c),
        (Err(e), _) | (_, Err(e)) => return Outcome::error(e),
    };
    let start = |dir: &Path, program: &str| -> Result<Spawned, SandboxError> {
        sandbox.spawn(dir, python, &["-I", "-B", "-c", program], false, true)
    };
    let (mut tests, mut candidate) = match (
        start(tests_dir.path(), TESTS_PY),
        start(candidate_dir.path(), CANDIDATE_PY),
    ) {
        (Ok(t), Ok(c)) => (t, c),
        (Err(e), _) | (_, Err(e)) => return Outcome::error(e.to_string()),
    };
    let (Some(c_in), Some(c_out), Some(mut t_in), Some(t_out)) = (
        candidate.stdin.take(),
        candidate.stdout.take(),
        tests.stdin.take(),
        tests.stdout.take(),
    ) else {
        return Outcome::error("the sandbox started a process without its pipes".into());
    };
    let mut candidate = Candidate {
        proc: candidate,
        stdin: c_in,
        stdout: BufReader::new(c_out),
        gone: None,
    };
    let mut t_out = BufReader::new(t_out);
    let deadline = Instant::now() + wall;
    let mut stage = Stage::Starting;
    let mut extracted = None;
    let mut line = serde_json::to_vec(task).unwrap_or_default();
    line.push(b'\n');
    // A test process that died before reading is seen below, as an end before READY.
    let _ = timeout_at(deadline, t_in.write_all(&line)).await;
    let end = loop {
        let line = match timeout_at(deadline, read_line(&mut t_out, TESTS_LINE_CAP)).await {
            Err(_) => break End::Timeout,
            Ok(Err(LineError::TooLong(cap))) => {
                break End::Stopped(format!("wrote a line over {} MiB", cap >> 20));
            }
            Ok(Err(LineError::Io) | Ok(None)) => {
                break End::Stopped(how_it_ended(&mut tests).await);
            }
            Ok(Ok(Some(l))) => l,
        };
        if line == "READY" {
            stage = Stage::Extracting;
        } else if let Some(x) = line.strip_prefix("EXTRACT ") {
            match serde_json::from_str::<Extracted>(x) {
                Ok(x) => extracted = Some(x),
                Err(e) => break End::Garbled(format!("its EXTRACT line is unreadable: {e}")),
            }
            stage = Stage::Testing;
        } else if let Some(request) = line.strip_prefix("TO-CANDIDATE ") {
            let Some(mut reply) = candidate.ask(request, deadline).await else {
                break End::Timeout;
            };
            reply.push('\n');
            if timeout_at(deadline, t_in.write_all(reply.as_bytes()))
                .await
                .is_err()
            {
                break End::Timeout;
            }
        } else if let Some(r) = line.strip_prefix("RESULT ") {
            match serde_json::from_str::<ResultLine>(r) {
                Ok(r) => break End::Result(r),
                Err(e) => break End::Garbled(format!("its RESULT line is unreadable: {e}")),
            }
        } else {
            break End::Garbled(format!("it wrote an unknown line {:?}", last_line(&line)));
        }
    };
    candidate.proc.kill();
    let stderr = last_line(&tests.stderr(GRACE).await);
    let with_stderr = |m: String| {
        if stderr.is_empty() {
            m
        } else {
            format!("{m}: {stderr}")
        }
    };
    match (end, stage) {
        (End::Result(r), _) => match r.error {
            Some(e) => Outcome::error(format!("the task could not be run: {e}")),
            None if r.passed => Outcome {
                verdict: Verdict::Pass,
                reason: None,
                extracted,
            },
            None => Outcome::fail(r.reason.unwrap_or_else(|| "tests failed".into()), extracted),
        },
        (End::Garbled(m), Stage::Starting) => {
            Outcome::error(format!("the test process broke its protocol: {m}"))
        }
        // After READY, even a garbled line is the answer's doing (see the module doc).
        (End::Garbled(m), _) => Outcome::fail(
            format!("the test process could not report on this answer: {m}"),
            extracted,
        ),
        (End::Timeout, Stage::Starting) => Outcome::error(format!(
            "grader did not start within {:.0} s",
            wall.as_secs_f64()
        )),
        (End::Stopped(how), Stage::Starting) => Outcome::error(with_stderr(format!(
            "grader did not start: its test process {how}"
        ))),
        (End::Timeout, stage) => Outcome::fail(
            format!(
                "timeout after {:.0} s {}",
                wall.as_secs_f64(),
                if stage == Stage::Extracting {
                    "while reading code from the answer"
                } else {
                    "while running the tests"
                }
            ),
            extracted,
        ),
        (End::Stopped(how), stage) => Outcome::fail(
            with_stderr(format!(
                "the test process {how} {}",
                if stage == Stage::Extracting {
                    "while reading code from the answer"
                } else {
                    "while running the tests"
                }
            )),
            extracted,
        ),
    }
}

/// How the exchange with the test process ended.
enum End {
    Result(ResultLine),
    Timeout,
    Stopped(String),
    Garbled(String),
}
