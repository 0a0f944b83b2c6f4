//! Quality at the capacity found (`servebench capacity` with a quality dataset): the tasks
//! asked beside a team of the capacity's size against the same tasks alone, with the paired
//! test and the price of a correct solution.

use crate::capacity::{capacity, plan};
use crate::common::bin::{read_report, servebench};
use crate::common::mock::{Answer, MockCfg, user_text};
use crate::common::openai::mock_openai;
use servebench_engine::eval::suite::{self, Task};
use std::sync::Arc;
use std::time::Duration;

/// Eight HumanEval-format tasks: `f{i}(x)` returns `x + i`.
fn tasks_file(dir: &std::path::Path) -> (std::path::PathBuf, Vec<Task>) {
    let lines: Vec<String> = (0..8)
        .map(|i| {
            serde_json::json!({
                "task_id": format!("t/{i}"),
                "prompt": format!("def f{i}(x):\n    \"\"\"Return x plus {i}.\"\"\"\n"),
                "entry_point": format!("f{i}"),
                "canonical_solution": format!("    return x + {i}\n"),
                "test": format!("def check(candidate):\n    assert candidate(1) == {}\n", 1 + i),
            })
            .to_string()
        })
        .collect();
    let text = lines.join("\n");
    let path = dir.join("tasks.jsonl");
    std::fs::write(&path, &text).unwrap();
    let tasks = suite::parse_humaneval(&text, "tasks.jsonl", "tasks").unwrap();
    (path, tasks)
}

/// The mock's answer to a chat: a task's solution as `solve` writes it (by the task's
/// index), anything else (the team's prompts) a few words.
fn answers(tasks: &[Task], solve: fn(usize, &Task) -> String) -> Option<Answer> {
    let tasks = Arc::new(tasks.to_vec());
    Answer::new(move |body| {
        let text = user_text(body);
        match tasks
            .iter()
            .position(|t| t.chat.messages[0].content == text)
        {
            Some(i) => solve(i, &tasks[i]),
            None => "fine thanks".into(),
        }
    })
}

fn prompt_of(t: &Task) -> &str {
    match &t.kind {
        suite::Kind::Code { prompt, .. } => prompt,
        _ => panic!("a code task"),
    }
}

/// A batching server whose batch changes greedy answers: alone it answers every task right;
/// beside another answer it answers six of the eight with `return None`. The team (prompts,
/// always on, objectives it meets) keeps an answer beside every task, so at the capacity the
/// tasks' pass@1 is 2/8 against 8/8 alone; the six tasks that changed are the paired test's
/// discordant pairs, all one way (McNemar exact p = 2 · 2⁻⁶); and a correct solution costs an
/// answer's tokens at the capacity's price per token over 0.25.
#[tokio::test(flavor = "multi_thread")]
async fn tasks_asked_beside_the_team_at_capacity_are_paired_with_the_same_tasks_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (file, tasks) = tasks_file(dir.path());
    let right = |i: usize, t: &Task| format!("```python\n{}    return x + {i}\n```", prompt_of(t));
    let m = mock_openai(MockCfg {
        ttft: Duration::from_millis(10),
        per_token: Duration::from_millis(2),
        answer: answers(&tasks, right),
        batch_drift: answers(&tasks, |i, t| {
            if i < 6 {
                format!("```python\n{}    return None\n```", prompt_of(t))
            } else {
                format!("```python\n{}    return x + {i}\n```", prompt_of(t))
            }
        }),
        ..Default::default()
    })
    .await;
    let toml = plan(&m.url(), 1.0, "").replace(
        "[run]\nmax_tokens = 8\n",
        &format!(
            "[run]\nmax_tokens = 8\nquality = {:?}\n",
            file.to_str().unwrap()
        ),
    );
    // Loose objectives: the search stops at its largest size, 2.
    let toml = toml.replace("max_developers = 16", "max_developers = 2");
    let (o, out) = capacity(dir.path(), &toml).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = read_report(&out);
    let t = &r["targets"][0];
    let c = &t["workload"]["report"];
    assert_eq!(c["capacity"]["developers"], 2, "{}", o.stderr);
    let q = &c["quality"];
    assert_eq!(q["developers"], 2, "{c}");
    assert_eq!(q["label"], "team of 2 developers");
    assert_eq!(
        (q["asked"].as_u64(), q["answered"].as_u64()),
        (Some(8), Some(8))
    );
    // The team ran beside the tasks: its prompts class has requests in that step.
    assert!(
        q["team"]["classes"][0]["requests"].as_u64().unwrap() > 0,
        "{q}"
    );
    assert_eq!(q["pass_at_1"].as_f64(), Some(0.25), "{q}");
    assert_eq!(q["pass_at_1_alone"].as_f64(), Some(1.0), "{q}");
    let p = q["p_value"].as_f64().unwrap();
    assert!(
        (p - 2.0 / 64.0).abs() < 1e-12 && q["significant"] == true,
        "{q}"
    );
    // The quality report pairs the same answers.
    let l = &t["quality"]["under_load"];
    assert_eq!(l["profile"], "team of 2 developers");
    assert_eq!(l["answers"], 8);
    let table = &l["paired"]["table"];
    assert_eq!(
        (table["only_a"].as_u64(), table["both"].as_u64()),
        (Some(6), Some(2))
    );
    // $ per correct solution: an answer's mean output tokens at the capacity's $ per
    // million tokens, over pass@1 0.25.
    let per_mtok = c["at_capacity"]["usd_per_mtok"].as_f64().unwrap();
    let tokens = q["output_tokens_mean"].as_f64().unwrap();
    assert!(tokens > 0.0);
    let price = q["usd_per_correct_solution"].as_f64().unwrap();
    assert!(
        (price - per_mtok * tokens / 1e6 / 0.25).abs() < 1e-12,
        "{price} vs {per_mtok} $/Mtok × {tokens} tokens / 0.25"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("mock: quality at 2 developers: 8 of 8 tasks answered beside the team; pass@1 0.25 beside the team, 1.00 alone"),
        "{md}"
    );
    // The chart of each class against team size, its objective drawn.
    let html = servebench(&["report", out.to_str().unwrap(), "--format", "html"]).await;
    assert_eq!(html.code, 0, "{}", html.stderr);
    assert!(
        html.stdout.contains("prompts: TTFT p90 by team size")
            && html.stdout.contains(">objective 1 s</text>"),
        "no capacity chart in the HTML report"
    );
}

/// `quality_load` asks the tasks under a load of its own; the capacity search asks them
/// beside the team it found: both at once is refused before anything is sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_quality_load_with_the_capacity_search_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let toml = plan("http://127.0.0.1:9", 0.5, "").replace(
        "[run]\nmax_tokens = 8\n",
        "[run]\nmax_tokens = 8\nquality = \"builtin\"\nquality_load = \"concurrency:2\"\n",
    );
    let (o, _) = capacity(dir.path(), &toml).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("quality_load concurrency:2 with the capacity search"),
        "{}",
        o.stderr
    );
}
