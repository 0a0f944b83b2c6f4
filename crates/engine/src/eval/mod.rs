//! Coding-quality evaluation: task suites ([`suite`]), answers graded by running code in a
//! sandbox ([`sandbox`], [`grade`]) and by checking facts, and scores that say what passed
//! ([`score`]). [`evaluate`] asks one target every task and grades the answers; [`infill`]
//! cuts fill-in-the-middle tasks from HumanEval's solutions.

pub mod grade;
pub mod harness;
pub mod infill;
pub mod sandbox;
pub use crate::report::score;
pub mod suite;

use crate::backend::{Client, GenParams};
use crate::events::{Event, Observer};
use crate::load::driver::{Asks, RequestCtx, Schedule, Step};
use crate::load::profile::Profile;
use crate::prompts::{Message, Prompt};
use crate::record::Phase;
use crate::report::{JudgeScore, QualityReport};
use crate::spec::{Api, Endpoint};
use grade::{Graded, Grader, Verdict};
pub use servebench_core::quality_record::{JudgeResult, TaskResult};
use sha2::Digest;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use suite::{Dataset, Kind, PromptStyle, Task};
use tokio::task::JoinSet;

/// A judge model (`--judge`): another OpenAI or Ollama target.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeSpec {
    /// Dialect.
    pub api: Api,
    /// Base URL.
    pub url: String,
    /// Model.
    pub model: String,
}

/// How to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSettings {
    /// Which tasks.
    pub dataset: Dataset,
    /// Built-in scenarios to keep (all when `None`).
    pub scenarios: Option<Vec<String>>,
    /// First N tasks of each scenario.
    pub limit: Option<usize>,
    /// Answers per task; with 1, each task is asked once more for consistency.
    pub samples: u32,
    /// Sampling temperature.
    pub temperature: f64,
    /// Generation limit per answer.
    pub max_tokens: u32,
    /// Parallel graders.
    pub jobs: usize,
    /// Seed of the first sample (sample i uses seed + i).
    pub seed: u64,
    /// Whole-request limit, s.
    pub timeout_s: f64,
    /// Wall-clock limit per graded program, s.
    pub task_timeout_s: f64,
    /// Judge model for design answers.
    pub judge: Option<JudgeSpec>,
    /// How HumanEval-format tasks are asked.
    pub prompt_style: PromptStyle,
    /// Ask every task once more while the server is under this load (`--quality-load`):
    /// `concurrency:N` keeps N answers in flight, `rate:R[:arrival]` sends them on schedule.
    pub load: Option<Profile>,
    /// Python interpreter (default: found by [`sandbox::find_python`]).
    pub python: Option<PathBuf>,
    /// The servebench binary that serves as the sandbox helper.
    pub helper: Option<PathBuf>,
}

impl Default for EvalSettings {
    fn default() -> Self {
        EvalSettings {
            dataset: Dataset::Builtin,
            scenarios: None,
            limit: None,
            samples: 1,
            temperature: 0.0,
            max_tokens: 768,
            jobs: 2,
            seed: 42,
            timeout_s: 600.0,
            task_timeout_s: 10.0,
            judge: None,
            prompt_style: PromptStyle::Servebench,
            load: None,
            python: None,
            helper: None,
        }
    }
}

impl EvalSettings {
    /// The settings part of a quality report (every score empty) for `tasks` tasks graded
    /// under the sandbox `layers`.
    pub fn report_settings(&self, tasks: usize, layers: Option<String>) -> QualityReport {
        QualityReport {
            dataset: self.dataset.to_string(),
            tasks,
            samples: self.samples,
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            prompt_style: self.prompt_style.to_string(),
            quality_load: self.load.as_ref().map(|p| p.to_string()),
            answers_planned: tasks
                * (self.samples.max(2) as usize + usize::from(self.load.is_some())),
            sandbox: layers,
            ..Default::default()
        }
    }
}

/// Why an evaluation cannot start.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The dataset is unusable.
    #[error(transparent)]
    Suite(#[from] suite::SuiteError),
    /// No interpreter, or no sandbox helper.
    #[error("{0}")]
    Setup(String),
    /// An observer (the journal) failed.
    #[error("cannot record results: {0}")]
    Io(#[from] std::io::Error),
}

/// A finished grading task's result; a task that panicked (or was cancelled) is not dropped
/// but counted as a grader `error` for the answer it was grading.
fn graded_or_error(
    done: Result<(tokio::task::Id, TaskResult), tokio::task::JoinError>,
    pending: &mut HashMap<tokio::task::Id, TaskResult>,
) -> TaskResult {
    match done {
        Ok((id, r)) => {
            pending.remove(&id);
            r
        }
        Err(e) => {
            let mut r = pending
                .remove(&e.id())
                .expect("every spawned grading task is pending until joined");
            let why = if e.is_panic() {
                "panicked"
            } else {
                "was cancelled"
            };
            r.graded = Graded::error(format!("the grader {why} on this answer"));
            r.graded.code_quality = r.code.then_some(0.0);
            r
        }
    }
}

/// The fixed rubric a judge scores design answers with.
pub const RUBRIC: &str = "You are grading a software design written in answer to a brief. Score it from 0 to 5:\n5 = complete, correct and specific (concrete components, data flow, numbers that meet the brief, failure handling, honest trade-offs);\n4 = solid with minor gaps; 3 = plausible but generic or missing an important part; 2 = major gaps or errors; 1 = barely addresses the brief; 0 = off-topic or empty.\nThink briefly, then end your reply with the score in double brackets, like [[3]].";

/// SHA-256 of [`RUBRIC`], hex.
pub fn rubric_sha256() -> String {
    sha2::Sha256::digest(RUBRIC.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The last `[[N]]` in a judge's output, clamped to 0–5.
pub fn parse_judge(raw: &str) -> Option<f64> {
    let mut found = None;
    let mut rest = raw;
    while let Some(i) = rest.find("[[") {
        rest = &rest[i + 2..];
        if let Some(j) = rest.find("]]")
            && let Ok(v) = rest[..j].trim().parse::<f64>()
            && v.is_finite()
        {
            found = Some(v.clamp(0.0, 5.0));
        }
    }
    found
}

/// Build the grader: the helper binary and a Python the sandbox can run, checked once.
pub async fn grader(s: &EvalSettings) -> Result<Grader, EvalError> {
    let helper = s.helper.clone().ok_or_else(|| {
        EvalError::Setup("no sandbox helper: the servebench binary path is needed".into())
    })?;
    let limits = sandbox::Limits {
        wall: Duration::from_secs_f64(s.task_timeout_s),
        cpu_s: s.task_timeout_s.ceil() as u64,
        ..Default::default()
    };
    let sb = sandbox::Sandbox::new(helper, limits);
    let (python, layers) = sandbox::find_python(&sb, s.python.as_deref())
        .await
        .map_err(EvalError::Setup)?;
    Ok(Grader {
        sandbox: sb,
        python,
        layers,
    })
}

/// Answers to the tasks asked while the server carried a load its caller ran (the capacity
/// search's team at its capacity), already published: graded beside the sequential ones and
/// marked `under_load` with `label`.
#[derive(Debug, Clone, Default)]
pub struct AnsweredUnderLoad {
    /// What the load was (`team of 4 developers`).
    pub label: String,
    /// One record per task asked (a failed request is a failed answer).
    pub records: Vec<crate::record::RequestRecord>,
}

/// Ask `client` every task (`samples` times, or twice for consistency) and grade the answers
/// with up to `jobs` graders at once. Requests go one at a time, so timings stay undisturbed;
/// each record and each grade is published as it finishes.
pub async fn evaluate(
    ctx: &Arc<RequestCtx>,
    tasks: &[Task],
    s: &EvalSettings,
    grader: &Grader,
    obs: &mut dyn Observer,
) -> Result<QualityReport, EvalError> {
    evaluate_with(ctx, tasks, s, grader, None, obs).await
}

/// [`evaluate`], with the answers under load given (`loaded`) instead of asked under
/// `s.load`.
pub async fn evaluate_with(
    ctx: &Arc<RequestCtx>,
    tasks: &[Task],
    s: &EvalSettings,
    grader: &Grader,
    loaded: Option<AnsweredUnderLoad>,
    obs: &mut dyn Observer,
) -> Result<QualityReport, EvalError> {
    let (target, cancel) = (&*ctx.target, &ctx.cancel);
    let answers = s.samples.max(2);
    let total = tasks.len() as u64 * u64::from(answers)
        + match &loaded {
            Some(l) => l.records.len() as u64,
            None => tasks.len() as u64 * u64::from(s.load.is_some()),
        };
    obs.on_event(&Event::PhaseStarted {
        target,
        phase: Phase::Quality,
        total,
    })?;
    let mut g = Grading::new(grader, s.jobs);
    'tasks: for task in tasks {
        for i in 0..answers {
            if cancel.is_cancelled() {
                break 'tasks;
            }
            let rerun = s.samples < 2 && i == 1;
            let params = answer_params(s, task, i);
            let rec = ctx
                .generate(&task.chat, &params, tokio::time::Instant::now())
                .await;
            obs.on_event(&Event::RequestFinished(&rec))?;
            g.grade(task, ungraded(target, task, &rec, i, rerun), obs)?;
        }
    }
    let label = loaded.as_ref().map(|l| l.label.clone());
    if let Some(l) = loaded {
        let by_id: HashMap<&str, &Task> = tasks.iter().map(|t| (t.chat.id.as_str(), t)).collect();
        for rec in &l.records {
            let Some(task) = by_id.get(rec.prompt_id.as_str()) else {
                continue;
            };
            let mut result = ungraded(target, task, rec, 0, false);
            result.under_load = Some(l.label.clone());
            g.grade(task, result, obs)?;
        }
    } else if let Some(profile) = &s.load
        && !cancel.is_cancelled()
    {
        under_load(ctx, tasks, s, profile, &mut g, obs).await?;
    }
    let mut results = g.finish(obs).await?;
    obs.on_event(&Event::PhaseFinished {
        target,
        phase: Phase::Quality,
    })?;
    score::sort(&mut results);
    let judged = match &s.judge {
        Some(j) => Some(judge(j, tasks, &mut results, s, ctx, obs).await?),
        None => None,
    };
    let mut report = scores(tasks, s, grader, &results, judged);
    if let Some(label) = label {
        report.answers_planned += tasks.len();
        report.quality_load = Some(label);
    }
    Ok(report)
}

/// Graders at work: each answer is graded in its own task (at most `jobs` at once) and
/// published as it finishes; a grader that panics leaves an `error` grade, not a hole.
struct Grading<'g> {
    grader: &'g Grader,
    permits: Arc<tokio::sync::Semaphore>,
    set: JoinSet<TaskResult>,
    pending: HashMap<tokio::task::Id, TaskResult>,
    results: Vec<TaskResult>,
}

impl<'g> Grading<'g> {
    fn new(grader: &'g Grader, jobs: usize) -> Self {
        Grading {
            grader,
            permits: Arc::new(tokio::sync::Semaphore::new(jobs.max(1))),
            set: JoinSet::new(),
            pending: HashMap::new(),
            results: Vec::new(),
        }
    }

    /// Grade `result` (an answer to `task`); a failed request is published at once.
    fn grade(
        &mut self,
        task: &Task,
        mut result: TaskResult,
        obs: &mut dyn Observer,
    ) -> Result<(), EvalError> {
        if result.request != "ok" {
            obs.on_event(&Event::TaskGraded(&result))?;
            self.results.push(result);
            return Ok(());
        }
        let (g, t, permits) = (self.grader.clone(), task.clone(), self.permits.clone());
        let skeleton = result.clone();
        let handle = self.set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            result.graded = g.grade(&t, &t.graded_text(&result.answer)).await;
            result
        });
        self.pending.insert(handle.id(), skeleton);
        while let Some(done) = self.set.try_join_next_with_id() {
            let r = graded_or_error(done, &mut self.pending);
            obs.on_event(&Event::TaskGraded(&r))?;
            self.results.push(r);
        }
        Ok(())
    }

    /// Wait for every grader; every result, published.
    async fn finish(mut self, obs: &mut dyn Observer) -> Result<Vec<TaskResult>, EvalError> {
        while let Some(done) = self.set.join_next_with_id().await {
            let r = graded_or_error(done, &mut self.pending);
            obs.on_event(&Event::TaskGraded(&r))?;
            self.results.push(r);
        }
        Ok(self.results)
    }
}

/// Ask every task once more with the server under `profile`: `concurrency:N` keeps N answers
/// in flight (each sent when one ends), `rate:R` sends them on the open-loop schedule the load
/// phases use — the one driver, with the tasks as its jobs. The answers are the load: batching
/// servers decode them together, which is what can change a greedy answer. Each is graded
/// like the sequential ones and marked `under_load`.
async fn under_load(
    ctx: &Arc<RequestCtx>,
    tasks: &[Task],
    s: &EvalSettings,
    profile: &Profile,
    g: &mut Grading<'_>,
    obs: &mut dyn Observer,
) -> Result<(), EvalError> {
    let schedule = match profile {
        Profile::Concurrency(n) => Schedule::Closed(*n),
        Profile::Rate { rate, arrival } => Schedule::Open {
            rate: *rate,
            arrival: *arrival,
            seed: s.seed,
        },
        other => {
            return Err(EvalError::Setup(format!(
                "--quality-load {other}: use concurrency:N or rate:R[:poisson|:constant|:gamma:B]"
            )));
        }
    };
    let label = profile.to_string();
    let job = Arc::new(Asks {
        prompts: first_asks(tasks, s),
    });
    let step = Step {
        schedule,
        requests: None,
        duration: None,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // Aborted if this returns early (an observer or grader error): no answer is sent after.
    let driver = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(crate::load::driver::run(
        ctx.clone(),
        job,
        step,
        tx,
    )));
    let by_id: HashMap<&str, &Task> = tasks.iter().map(|t| (t.chat.id.as_str(), t)).collect();
    while let Some(rec) = rx.recv().await {
        obs.on_event(&Event::RequestFinished(&rec))?;
        let Some(task) = by_id.get(rec.prompt_id.as_str()) else {
            continue;
        };
        let mut result = ungraded(&ctx.target, task, &rec, 0, false);
        result.under_load = Some(label.clone());
        g.grade(task, result, obs)?;
    }
    drop(driver);
    Ok(())
}

/// The tasks as jobs (for [`Asks`]): job `i` asks task `i` with its first answer's sampling,
/// as every answer under load is asked.
pub fn first_asks(tasks: &[Task], s: &EvalSettings) -> Vec<(Prompt, GenParams)> {
    tasks
        .iter()
        .map(|t| (t.chat.clone(), answer_params(s, t, 0)))
        .collect()
}

/// The sampling of answer `i` to a task: with several samples each has its own seed; the
/// consistency rerun repeats the first one's.
fn answer_params(s: &EvalSettings, task: &Task, i: u32) -> GenParams {
    GenParams {
        max_tokens: s.max_tokens,
        temperature: s.temperature,
        seed: s.seed + if s.samples >= 2 { u64::from(i) } else { 0 },
        endpoint: Endpoint::Chat,
        timeout: Duration::from_secs_f64(s.timeout_s),
        ttft_timeout: None,
        retries: 0,
        stop: task.stop,
    }
}

/// `text` up to the first of `stops` (the stop excluded), as a server that honoured them all
/// would have sent it: an OpenAI-compatible request carries at most four
/// ([`crate::backend::dialect::OPENAI_MAX_STOPS`]), so the harness applies the rest itself.
pub fn cut_at_stops<'a>(text: &'a str, stops: &[&str]) -> &'a str {
    let end = stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s))
        .min()
        .unwrap_or(text.len());
    &text[..end]
}

/// The result of answer `i` before grading: a failed request is already graded (a fail with
/// its reason), a successful one waits for the grader.
fn ungraded(
    target: &str,
    task: &Task,
    rec: &crate::record::RequestRecord,
    i: u32,
    rerun: bool,
) -> TaskResult {
    let ok = rec.outcome.is_ok();
    let mut result = TaskResult {
        target: target.into(),
        scenario: task.scenario.clone(),
        task_id: task.id.clone(),
        sample: if rerun { 0 } else { i },
        rerun,
        code: matches!(task.kind, Kind::Code { .. }),
        answer: if ok {
            cut_at_stops(&rec.text, task.stop).to_string()
        } else {
            String::new()
        },
        request: rec.outcome.kind(),
        e2e_s: ok.then_some(rec.end.as_secs_f64()),
        graded: Graded::text(Verdict::Fail, None, 0.0, 0.0),
        judge: None,
        under_load: None,
    };
    if rec.outcome == crate::record::Outcome::Cancelled {
        // Cut off by Ctrl-C: kept in the journal, but not the model's failure.
        result.graded = Graded::error("the run was interrupted before the answer finished".into());
        result.graded.code_quality = result.code.then_some(0.0);
        return result;
    }
    if !ok {
        result.graded.reason = Some(format!(
            "request failed: {} {}",
            rec.outcome.kind(),
            rec.error.as_deref().unwrap_or("")
        ));
        result.graded.code_quality = result.code.then_some(0.0);
        result.graded.signature.insert("request failed".into());
    }
    result
}

/// The quality report from the sorted results, with the judge's summaries per scenario.
fn scores(
    tasks: &[Task],
    s: &EvalSettings,
    grader: &Grader,
    results: &[TaskResult],
    judged: Option<Vec<(String, JudgeScore)>>,
) -> QualityReport {
    let layers = results
        .iter()
        .find(|r| r.code && r.graded.verdict != Verdict::Error)
        .map(|_| grader.layers.clone());
    let mut report = score::report(&s.report_settings(tasks.len(), layers), results);
    for (scenario, j) in judged.into_iter().flatten() {
        if let Some(sc) = report.scenarios.get_mut(&scenario) {
            sc.judge = Some(j);
        }
    }
    report
}

/// Ask the judge about every scored design answer; returns its summary per scenario.
async fn judge(
    j: &JudgeSpec,
    tasks: &[Task],
    results: &mut [TaskResult],
    s: &EvalSettings,
    answers: &RequestCtx,
    obs: &mut dyn Observer,
) -> Result<Vec<(String, JudgeScore)>, EvalError> {
    let (target, cancel) = (&*answers.target, &answers.cancel);
    let sha = rubric_sha256();
    let params = GenParams {
        max_tokens: 512,
        temperature: 0.0,
        seed: s.seed,
        endpoint: Endpoint::Chat,
        timeout: Duration::from_secs_f64(s.timeout_s),
        ttft_timeout: None,
        retries: 0,
        stop: &[],
    };
    let ctx = RequestCtx::new(
        Client::new(j.api, &j.url, &j.model),
        params,
        (target, answers.attempt),
        Phase::Judge,
        cancel.clone(),
        None,
    );
    let mut per: std::collections::BTreeMap<String, Vec<Option<f64>>> = Default::default();
    for (index, r) in results.iter_mut().enumerate() {
        let Some(task) = tasks.iter().find(|t| t.id == r.task_id) else {
            continue;
        };
        let Kind::Design { brief, .. } = &task.kind else {
            continue;
        };
        if r.rerun || r.under_load.is_some() || r.answer.trim().is_empty() || cancel.is_cancelled()
        {
            continue;
        }
        let prompt = Prompt {
            id: format!("judge:{}", r.task_id),
            scenario: Some(r.scenario.clone()),
            messages: vec![Message {
                role: "user".into(),
                content: format!(
                    "{RUBRIC}\n\nBrief:\n{brief}\n\nAnswer to grade:\n{}",
                    r.answer
                ),
            }],
            output_tokens: None,
        };
        let meta = ctx.meta(index as u64, tokio::time::Instant::now());
        let rec = ctx.client.generate(&prompt, &params, meta, cancel).await;
        obs.on_event(&Event::RequestFinished(&rec))?;
        let score = rec
            .outcome
            .is_ok()
            .then(|| parse_judge(&rec.text))
            .flatten();
        per.entry(r.scenario.clone()).or_default().push(score);
        r.judge = Some(JudgeResult {
            score,
            raw: rec.text.clone(),
            rubric_sha256: sha.clone(),
        });
        obs.on_event(&Event::TaskGraded(r))?;
    }
    Ok(per
        .into_iter()
        .map(|(scenario, scores)| {
            let judged = scores.len();
            let parsed: Vec<f64> = scores.iter().flatten().copied().collect();
            let parse_failures = judged - parsed.len();
            (
                scenario,
                JudgeScore {
                    model: j.model.clone(),
                    rubric_sha256: sha.clone(),
                    judged,
                    parse_failures,
                    parse_failure_rate: (judged > 0).then(|| parse_failures as f64 / judged as f64),
                    mean_score: (!parsed.is_empty())
                        .then(|| parsed.iter().sum::<f64>() / parsed.len() as f64),
                },
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_cut_at_the_first_of_all_its_stops() {
        let stops = suite::QWEN_STOP;
        assert!(stops.len() > crate::backend::dialect::OPENAI_MAX_STOPS);
        // The fifth stop, which an OpenAI-compatible request does not carry, still applies.
        let text = "    return a + b\n# a comment\nprint(add(1, 2))";
        assert_eq!(cut_at_stops(text, stops), "    return a + b");
        assert_eq!(cut_at_stops("x\nprint(1)\n#", stops), "x");
        assert_eq!(cut_at_stops("no stop here", stops), "no stop here");
        assert_eq!(cut_at_stops("abc", &[]), "abc");
    }

    #[test]
    fn judge_scores_are_the_last_bracketed_number() {
        assert_eq!(parse_judge("ok [[2]] then [[4]]"), Some(4.0));
        assert_eq!(parse_judge("[[ 3.5 ]]"), Some(3.5));
        assert_eq!(parse_judge("[[9]]"), Some(5.0));
        assert_eq!(parse_judge("score: 4"), None);
        assert_eq!(rubric_sha256().len(), 64);
    }

    #[tokio::test]
    async fn a_grader_task_that_panics_counts_as_an_error() {
        let skeleton = TaskResult {
            target: "m".into(),
            scenario: "s".into(),
            task_id: "t/0".into(),
            sample: 0,
            rerun: false,
            code: true,
            answer: "def f(): pass".into(),
            request: "ok".into(),
            e2e_s: Some(0.1),
            graded: Graded::error(String::new()),
            judge: None,
            under_load: None,
        };
        let mut set: JoinSet<TaskResult> = JoinSet::new();
        let mut pending = HashMap::new();
        let handle = set.spawn(async { panic!("grader bug") });
        pending.insert(handle.id(), skeleton.clone());
        let ok = skeleton.clone();
        let handle = set.spawn(async move { ok });
        pending.insert(handle.id(), skeleton);
        let mut verdicts = Vec::new();
        while let Some(done) = set.join_next_with_id().await {
            let r = graded_or_error(done, &mut pending);
            verdicts.push((r.graded.verdict, r.graded.reason));
        }
        assert!(pending.is_empty());
        assert_eq!(verdicts.len(), 2, "the panicked task's answer vanished");
        assert!(verdicts.contains(&(
            Verdict::Error,
            Some("the grader panicked on this answer".into())
        )));
    }
}
