//! Grading time per HumanEval task (`make bench-grade`): grades each of HumanEval's 164
//! canonical solutions, answered as a chat reply with one fenced block, through the real
//! sandbox and grader, one at a time (`--jobs 1`, so each time is one task's alone), and prints
//! the passes and the per-task grading time (min, median, mean, p90, max). Needs HumanEval
//! (`make venv`) and a built `servebench` (the sandbox helper, `--helper`, default
//! `target/release/servebench`).

use servebench_engine::eval::grade::{Grader, Verdict};
use servebench_engine::eval::sandbox::{Limits, Sandbox, find_python};
use servebench_engine::eval::suite::{self, Dataset, Kind};
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[tokio::main]
async fn main() {
    let helper =
        std::fs::canonicalize(arg("--helper").unwrap_or("target/release/servebench".into()))
            .expect("the servebench binary (--helper): run `cargo build --release` first");
    let repeat: usize = arg("--repeat").and_then(|v| v.parse().ok()).unwrap_or(1);
    let tasks = suite::load(&Dataset::HumanEval, None, None).expect("HumanEval: run `make venv`");
    let sandbox = Sandbox::new(helper, Limits::default());
    let (python, layers) = find_python(&sandbox, None).await.expect("python");
    let grader = Grader {
        sandbox,
        python,
        layers: layers.clone(),
    };
    let mut times = Vec::new();
    let mut passed = 0;
    let mut failures = Vec::new();
    let wall = Instant::now();
    for _ in 0..repeat {
        for t in &tasks {
            let Kind::Code { reference, .. } = &t.kind else {
                continue;
            };
            let answer = format!(
                "```python\n{}```\nThis is the reference solution.",
                reference.as_deref().unwrap_or_default()
            );
            let start = Instant::now();
            let g = grader.grade(t, &answer).await;
            times.push(start.elapsed().as_secs_f64());
            if g.verdict == Verdict::Pass {
                passed += 1;
            } else {
                failures.push(format!("{}: {:?} {:?}", t.id, g.verdict, g.reason));
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!("sandbox: {layers}");
    println!(
        "passed {passed}/{} in {:.1} s; grading time per task: min {:.1} ms, median {:.1} ms, mean {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        times.len(),
        wall.elapsed().as_secs_f64(),
        times[0] * 1e3,
        quantile(&times, 0.5) * 1e3,
        mean * 1e3,
        quantile(&times, 0.9) * 1e3,
        times[times.len() - 1] * 1e3,
    );
    for f in &failures {
        println!("  {f}");
    }
}
