//! Quality evaluation end to end against mocks that answer with known code: HumanEval's
//! canonical solutions score exactly 1, `return None` scores 0, reference answers to the
//! built-in scenarios score full marks, hostile answers are contained, and the extraction of
//! code from chat answers handles the tricky cases.

use crate::common::*;
use servebench_engine::eval::grade::Verdict;
use servebench_engine::eval::sandbox::Limits;
use servebench_engine::eval::suite::{self, Dataset, Kind, Task};
use servebench_engine::eval::{EvalSettings, JudgeSpec};
use servebench_engine::plan::Workload;
use servebench_engine::plan::{Api, Quality};
use servebench_engine::report::Report;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn helper() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_servebench"))
}

fn instant() -> MockCfg {
    MockCfg {
        ttft: Duration::from_millis(1),
        per_token: Duration::ZERO,
        ..Default::default()
    }
}

/// Evaluate `tasks` against a mock answering with `answer(task, user text)`.
async fn evaluate(
    tasks: Vec<Task>,
    settings: EvalSettings,
    answer: impl Fn(&Task) -> String + Send + Sync + 'static,
) -> Report {
    evaluate_with_drift(tasks, settings, answer, None::<fn(&Task) -> String>).await
}

/// The mock's answer function over `tasks`.
fn by_task(
    tasks: &[Task],
    answer: impl Fn(&Task) -> String + Send + Sync + 'static,
) -> Option<Answer> {
    let tasks = Arc::new(tasks.to_vec());
    Answer::new(move |body| {
        let text = user_text(body);
        let task = tasks
            .iter()
            .find(|t| t.chat.messages[0].content == text)
            .expect("the mock knows every task");
        answer(task)
    })
}

/// [`evaluate`] against a mock that answers `drift(task)` instead when another answer is
/// being generated at the same time.
async fn evaluate_with_drift(
    tasks: Vec<Task>,
    settings: EvalSettings,
    answer: impl Fn(&Task) -> String + Send + Sync + 'static,
    drift: Option<impl Fn(&Task) -> String + Send + Sync + 'static>,
) -> Report {
    let m = mock_openai(MockCfg {
        answer: by_task(&tasks, answer),
        batch_drift: drift.and_then(|d| by_task(&tasks, d)),
        ..instant()
    })
    .await;
    let quality = Quality {
        settings: EvalSettings {
            helper: Some(helper()),
            ..settings
        },
        tasks,
    };
    let (r, _) = run_targets(
        vec![target("m", Api::Openai, &m.url(), "mock-model")],
        0,
        |s| {
            s.workload = Workload::Quality;
            s.quality = Some(quality);
        },
    )
    .await;
    assert_schema_valid(&serde_json::to_value(&r).unwrap());
    r
}

fn code_of(t: &Task) -> (&str, &str, Option<&str>) {
    match &t.kind {
        Kind::Code {
            prompt,
            entry_point,
            reference,
            ..
        } => (prompt, entry_point, reference.as_deref()),
        _ => panic!("not a code task"),
    }
}

fn humaneval() -> Vec<Task> {
    suite::load(&Dataset::HumanEval, None, None)
        .expect("HumanEval is installed by `make venv`; run `make test`")
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs HumanEval from `make venv`: `make test` runs it (--features e2e)"
)]
async fn humaneval_canonical_solutions_score_exactly_one() {
    // Hundreds of gradings load both cores: not beside a real-model timing test.
    let _serial = SERIAL.lock().await;
    let tasks = humaneval();
    assert_eq!(tasks.len(), 164);
    let r = evaluate(
        tasks,
        EvalSettings {
            dataset: Dataset::HumanEval,
            jobs: 2,
            ..Default::default()
        },
        |t| {
            let (_, _, reference) = code_of(t);
            format!(
                "```python\n{}```\nThis is the reference solution.",
                reference.unwrap()
            )
        },
    )
    .await;
    let q = r.targets[0].quality.as_ref().unwrap();
    let failures: Vec<_> = [
        q.scenarios["humaneval"].failed,
        q.scenarios["humaneval"].errors,
    ]
    .into();
    assert_eq!(q.pass_at_1, Some(1.0), "failed/errors: {failures:?}");
    assert_eq!(q.tasks, 164);
    let s = &q.scenarios["humaneval"];
    assert_eq!(
        (s.passed, s.failed, s.errors),
        (164, 0, 0),
        "{:?}",
        r.targets[0]
            .quality
            .as_ref()
            .map(|q| &q.scenarios["humaneval"])
    );
    assert_eq!(s.accuracy, Some(5.0));
    assert_eq!(s.consistency, Some(5.0));
    assert!(
        q.sandbox
            .as_deref()
            .unwrap()
            .starts_with("rlimits, seccomp")
    );
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs HumanEval from `make venv`: `make test` runs it (--features e2e)"
)]
async fn answering_return_none_scores_zero() {
    // Hundreds of gradings load both cores: not beside a real-model timing test.
    let _serial = SERIAL.lock().await;
    let r = evaluate(
        humaneval(),
        EvalSettings {
            dataset: Dataset::HumanEval,
            samples: 3,
            temperature: 0.8,
            ..Default::default()
        },
        |t| {
            let (_, entry, _) = code_of(t);
            format!("```python\ndef {entry}(*args, **kwargs):\n    return None\n```")
        },
    )
    .await;
    let q = r.targets[0].quality.as_ref().unwrap();
    assert_eq!(q.pass_at_1, Some(0.0));
    assert_eq!(q.pass_at_k.get("3"), Some(&0.0));
    assert_eq!(q.scenarios["humaneval"].accuracy, Some(0.0));
    assert_eq!(q.scenarios["humaneval"].answers, 164 * 3);
}

/// Answers that earn full marks on every built-in scenario.
fn reference_answer(t: &Task) -> String {
    match &t.kind {
        Kind::Code {
            reference, prompt, ..
        } => {
            // Completion references are the prompt plus the body; debugging ones the whole fix.
            let code = reference.clone().unwrap_or_default();
            let _ = prompt;
            format!("```python\n{code}```\nThe function now handles every case in the tests.")
        }
        Kind::Review { defects, .. } if defects.is_empty() => "NO ISSUES".into(),
        Kind::Review { defects, .. } => defects
            .iter()
            .map(|d| format!("LINE {}: {}", d.line, d.kind))
            .collect::<Vec<_>>()
            .join("\n"),
        Kind::Design {
            checklist,
            sections,
            ..
        } => {
            let mut out = String::new();
            for (i, s) in sections.iter().enumerate() {
                out.push_str(&format!("## {s}\n"));
                if i == 0 {
                    for c in checklist {
                        out.push_str(&format!("- {}: handled explicitly.\n", c.any_of[0]));
                    }
                }
                out.push_str(&"This part of the design is explained in plain words. ".repeat(3));
                out.push('\n');
            }
            out
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reference_answers_earn_full_marks_on_every_builtin_scenario() {
    let tasks = suite::load(&Dataset::Builtin, None, None).unwrap();
    let r = evaluate(tasks, EvalSettings::default(), reference_answer).await;
    let q = r.targets[0].quality.as_ref().unwrap();
    for name in suite::SCENARIOS {
        let s = &q.scenarios[name];
        assert_eq!(s.tasks, 10, "{name}");
        assert_eq!(s.accuracy, Some(5.0), "{name}: {s:?}");
        assert_eq!(s.consistency, Some(5.0), "{name}");
        assert_eq!(s.errors, 0, "{name}");
    }
    assert_eq!(q.pass_at_1, Some(1.0));
    assert!(q.average_total_score.unwrap() > 4.5, "{q:?}");
    let md = crate::common::report_md(&r);
    assert!(md.contains("## Coding quality"), "{md}");
    assert!(md.contains("| code-review |"), "{md}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_buggy_debugging_code_really_fails_and_the_fix_passes() {
    let tasks = suite::load(&Dataset::Builtin, Some(&["debugging".into()]), None).unwrap();
    let grader = grader(Limits::default()).await;
    let text = include_str!("../../../data/quality/debugging.jsonl");
    for (task, line) in tasks.iter().zip(text.lines()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let buggy = format!("```python\n{}```", v["buggy"].as_str().unwrap());
        let g = grader.grade(task, &buggy).await;
        assert_eq!(g.verdict, Verdict::Fail, "{}: the bug is not real", task.id);
        let fixed = format!("```python\n{}```", v["fixed"].as_str().unwrap());
        let g = grader.grade(task, &fixed).await;
        assert_eq!(g.verdict, Verdict::Pass, "{}: {:?}", task.id, g.reason);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn code_is_extracted_from_tricky_answers() {
    let g = grader(Limits::default()).await;
    let prompt = "from typing import List\n\n\ndef helper(x):\n    return x * 2\n\n\ndef double_all(xs: List[int]) -> List[int]:\n    \"\"\"Double every item using helper.\"\"\"\n";
    let test = "def check(candidate):\n    assert candidate([1, 2]) == [2, 4]\n";
    let t = code_task(prompt, "double_all", test);
    let cases = [
        // Several blocks: the one defining the entry point wins; the prompt's helper and
        // import are prepended because the answer lacks them.
        (
            "```python\nprint('usage')\n```\nHere:\n```python\ndef double_all(xs: List[int]) -> List[int]:\n    return [helper(x) for x in xs]\n```\nDone.",
            "fence:entry point",
            true,
        ),
        // Prose around, no fence: the longest parseable run.
        (
            "Sure! Here is my solution.\ndef double_all(xs):\n    return [helper(x) for x in xs]\nIt doubles each item, as asked.",
            "parseable run",
            true,
        ),
        // Indentation-only completion of the prompt's body.
        (
            "    return [helper(x) for x in xs]\n",
            "indented body",
            true,
        ),
        // Unlabelled fence with the answer's own imports kept.
        (
            "```\nimport math\ndef double_all(xs):\n    return [int(math.fsum([x, x])) for x in xs]\n```",
            "fence:entry point",
            true,
        ),
        // A wrong answer is extracted fine and fails its test.
        (
            "```python\ndef double_all(xs):\n    return xs\n```",
            "fence:entry point",
            false,
        ),
    ];
    for (answer, method, pass) in cases {
        let r = g.grade(&t, answer).await;
        assert_eq!(r.extraction.as_deref(), Some(method), "{answer}: {r:?}");
        assert_eq!(r.verdict == Verdict::Pass, pass, "{answer}: {r:?}");
    }
    let empty = g.grade(&t, "   ").await;
    assert_eq!(
        (empty.verdict, empty.reason.as_deref()),
        (Verdict::Fail, Some("empty answer"))
    );
    let refusal = g
        .grade(&t, "I'm sorry, but I can't help with that request.")
        .await;
    assert_eq!(
        refusal.reason.as_deref(),
        Some("empty answer: no code in the reply")
    );
    assert_eq!(refusal.accuracy, 0.0);
    // Lint: an unused import and a bare except cost code quality, not correctness.
    let sloppy = g
        .grade(
            &t,
            "```python\nimport os\ndef double_all(xs):\n    try:\n        return [x * 2 for x in xs]\n    except:\n        return []\n```",
        )
        .await;
    assert_eq!(sloppy.verdict, Verdict::Pass);
    assert_eq!(sloppy.code_quality, Some(3.0), "{:?}", sloppy.lint);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grader_that_cannot_start_is_an_error_not_a_fail() {
    let mut g = grader(Limits::default()).await;
    g.python = PathBuf::from("/bin/false");
    let t = code_task("def f():\n", "f", "def check(c):\n    assert c() == 1\n");
    let r = g.grade(&t, "```python\ndef f():\n    return 1\n```").await;
    assert_eq!(r.verdict, Verdict::Error, "{r:?}");
    assert!(r.reason.unwrap().starts_with("grader did not start"));
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_answers_are_contained_and_score_zero_within_the_time_limit() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let marker = format!("/tmp/servebench-hostile-{}", std::process::id());
    let hostile = [
        ("write_out", format!("open({marker:?}, 'w').write('owned')")),
        (
            "connect_out",
            format!(
                "import socket\n    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'x')"
            ),
        ),
        (
            "spawn",
            "import subprocess\n    subprocess.Popen(['sleep', '4243'])".to_string(),
        ),
        ("spin", "while True:\n        pass".to_string()),
    ];
    let lines: Vec<String> = hostile
        .iter()
        .map(|(name, _)| {
            serde_json::json!({
                "task_id": format!("hostile/{name}"),
                "prompt": format!("def {name}():\n    \"\"\"Return 1.\"\"\"\n"),
                "entry_point": name,
                "test": "def check(candidate):\n    assert candidate() == 1\n",
            })
            .to_string()
        })
        .collect();
    let tasks = suite::parse_humaneval(&lines.join("\n"), "inline", "hostile").unwrap();
    let bodies: std::collections::HashMap<String, String> = hostile
        .iter()
        .map(|(n, b)| (format!("hostile/{n}"), b.clone()))
        .collect();
    let started = std::time::Instant::now();
    let r = evaluate(
        tasks,
        EvalSettings {
            task_timeout_s: 3.0,
            ..Default::default()
        },
        move |t| {
            let (_, entry, _) = code_of(t);
            format!(
                "```python\ndef {entry}():\n    {}\n    return None\n```",
                bodies[&t.id]
            )
        },
    )
    .await;
    let q = r.targets[0].quality.as_ref().unwrap();
    let s = &q.scenarios["hostile"];
    assert_eq!((s.passed, s.errors), (0, 0), "{s:?}");
    assert_eq!(q.pass_at_1, Some(0.0));
    // 8 answers (each asked twice), the spinning ones stopped at 3 s each.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(!std::path::Path::new(&marker).exists(), "a write escaped");
    assert!(listener.accept().is_err(), "a connection escaped");
    assert!(
        !process_alive("sleep 4243"),
        "a spawned process outlived its task"
    );
}

// Answers that try to fool the grader (verdict markers, objects equal to anything, reading
// memory, forking, …) are tested by class in hostile.rs.

#[tokio::test(flavor = "multi_thread")]
async fn a_judge_scores_designs_beside_the_objective_scores() {
    let judge = mock_openai(MockCfg {
        answer: Answer::new(|body| {
            if user_text(body).contains("rate limiter") {
                "No score given, sorry.".into()
            } else {
                "Solid design with minor gaps. [[4]]".into()
            }
        }),
        ..instant()
    })
    .await;
    let tasks = suite::load(
        &Dataset::Builtin,
        Some(&["architecture-design".into()]),
        Some(2),
    )
    .unwrap();
    let r = evaluate(
        tasks,
        EvalSettings {
            judge: Some(JudgeSpec {
                api: Api::Openai,
                url: judge.url(),
                model: "mock-model".into(),
            }),
            ..Default::default()
        },
        reference_answer,
    )
    .await;
    let s = &r.targets[0].quality.as_ref().unwrap().scenarios["architecture-design"];
    let j = s.judge.as_ref().unwrap();
    assert_eq!((j.judged, j.parse_failures), (2, 1));
    assert_eq!(j.mean_score, Some(4.0));
    assert_eq!(j.parse_failure_rate, Some(0.5));
    assert_eq!(j.rubric_sha256, servebench_engine::eval::rubric_sha256());
    // Never mixed into the objective score.
    assert_eq!(s.accuracy, Some(5.0));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_writes_quality_jsonl_and_rejects_bad_input() {
    let m = mock_openai(MockCfg {
        answer: Answer::new(|_| "NO ISSUES".into()),
        ..instant()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = servebench(&[
        "eval",
        "--api",
        "openai",
        "--url",
        &m.url(),
        "--model",
        "mock-model",
        "--scenarios",
        "code-review",
        "--limit",
        "3",
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines = std::fs::read_to_string(out.join("quality.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 6, "{lines}");
    assert_jsonl_follows("quality.schema.json", &out.join("quality.jsonl"));
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    for k in [
        "task_id", "answer", "verdict", "accuracy", "grade_s", "e2e_s",
    ] {
        assert!(first.get(k).is_some(), "{k} missing: {first}");
    }
    let r = read_report(&out);
    assert_schema_valid(&r);
    assert!(r["targets"][0]["quality"]["scenarios"]["code-review"]["total_score"].is_number());
    assert!(r["targets"][0]["phases"]["cold"].is_null());

    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"task_id\": \"x\", \"prompt\": \"p\", \"test\": \"t\"}\n",
    )
    .unwrap();
    let o = servebench(&[
        "eval",
        "--api",
        "openai",
        "--url",
        &m.url(),
        "--model",
        "mock-model",
        "--dataset",
        bad.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains(&format!("{}:1: missing field `entry_point`", bad.display())),
        "{}",
        o.stderr
    );
    let o = servebench(&[
        "eval",
        "--api",
        "openai",
        "--url",
        &m.url(),
        "--model",
        "mock-model",
        "--python",
        "/nonexistent/python3",
        "--out",
        dir.path().join("o2").to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains(
            "no Python 3.8+ that the sandbox can run: tried /nonexistent/python3 (missing)"
        ),
        "{}",
        o.stderr
    );
    assert_eq!(m.requests(), 6, "nothing is asked once the setup fails");
}

/// A batching server whose batch changes greedy answers: alone it answers with the canonical
/// solution, beside another answer with `return None`. Sequential asks and their re-asks see
/// no drift; under concurrency:2 every answer drifts and fails, and the paired test says so.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs HumanEval from `make venv`: `make test` runs it (--features e2e)"
)]
async fn answers_that_change_under_load_are_counted_as_drift() {
    let tasks: Vec<Task> = humaneval().into_iter().take(6).collect();
    let r = evaluate_with_drift(
        tasks,
        EvalSettings {
            dataset: Dataset::HumanEval,
            load: Some(servebench_engine::load::profile::Profile::Concurrency(2)),
            ..Default::default()
        },
        |t| {
            let (_, _, reference) = code_of(t);
            format!("```python\n{}```", reference.unwrap())
        },
        Some(|t: &Task| {
            let (prompt, _, _) = code_of(t);
            format!("```python\n{prompt}    return None\n```")
        }),
    )
    .await;
    let q = r.targets[0].quality.as_ref().unwrap();
    assert_eq!(
        q.pass_at_1,
        Some(1.0),
        "the sequential answers are the canonical ones: {:?} {:?}",
        r.targets[0].error,
        q.scenarios
    );
    let d = q.drift.as_ref().unwrap();
    assert_eq!(
        (d.compared, d.differing, d.verdict_changes),
        (6, 0, 0),
        "sequential re-asks: {d:?}"
    );
    let l = q.under_load.as_ref().expect("a quality-under-load section");
    assert_eq!((l.profile.as_str(), l.answers), ("concurrency:2", 6));
    assert_eq!(l.pass_at_1, Some(0.0), "{l:?}");
    assert_eq!(
        (l.drift.compared, l.drift.differing, l.drift.verdict_changes),
        (6, 6, 6),
        "{l:?}"
    );
    let p = l.paired.as_ref().unwrap();
    let t = p.table.unwrap();
    assert_eq!((t.both, t.only_a, t.only_b, t.neither), (0, 6, 0, 0));
    assert!(
        (p.p_value - 2.0 / 64.0).abs() < 1e-12 && p.significant,
        "{p:?}"
    );
    // The sequential scores are those of the sequential answers alone.
    assert_eq!(q.scenarios["humaneval"].answers, 12);
}
