//! End to end against the real reference server: llama.cpp (xllamacpp) serving the real
//! SmolLM2-135M-Instruct Q4_1 model (fast, for timing) and the real coding model,
//! Qwen2.5-Coder-0.5B-Instruct Q4_K_M (for quality), installed into `.venv` by `make venv`
//! (`make test` does it).

mod autocomplete;
mod capacity;
mod sessions;
mod team;

use crate::common::*;
use serde_json::Value;
use servebench_engine::plan::Api;
use servebench_engine::plan::Workload;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The repository root (the workspace), where `make venv` puts `.venv`.
fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn python() -> PathBuf {
    let p = repo().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: the end-to-end tests need the reference llama.cpp server; run `make test` (it runs `make venv` first)",
        p.display()
    );
    p
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_server(port: u16, threads: u32, slots: u32) -> Server {
    start_model_server(port, threads, slots, "smollm2-135m").await
}

/// Greedy fill-in-the-middle parameters: up to `max_tokens`, stopping at `stop`.
fn fim_params(
    max_tokens: u32,
    stop: &'static [&'static str],
) -> servebench_engine::backend::GenParams {
    servebench_engine::backend::GenParams {
        max_tokens,
        temperature: 0.0,
        seed: 1,
        endpoint: servebench_engine::plan::Endpoint::Completions,
        timeout: Duration::from_secs(120),
        ttft_timeout: None,
        retries: 0,
        stop,
    }
}

/// The coding model's name, as `scripts/llamacpp_server.py` serves it.
const CODER: &str = "qwen2.5-coder-0.5b";

async fn start_model_server(port: u16, threads: u32, slots: u32, model: &str) -> Server {
    let child = Command::new(python())
        .arg(repo().join("scripts/llamacpp_server.py"))
        .args([
            "--port",
            &port.to_string(),
            "--threads",
            &threads.to_string(),
            "--parallel",
            &slots.to_string(),
            "--model",
            model,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let start = Instant::now();
    let health = format!("http://127.0.0.1:{port}/health");
    loop {
        if let Ok(r) = reqwest::get(&health).await
            && r.status().is_success()
        {
            return server;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "llama.cpp server did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `(tokens_predicted_total, tokens_predicted_seconds_total)` from the server's `/metrics`.
async fn predicted_counters(port: u16) -> (f64, f64) {
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let get = |name: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(name)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
    };
    (
        get("llamacpp:tokens_predicted_total"),
        get("llamacpp:tokens_predicted_seconds_total"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn warm_decode_rate_agrees_with_the_servers_own_metrics() {
    let _serial = SERIAL.lock().await;
    let port = launch_port();
    // One decode thread leaves a core for servebench itself on a 2-core machine.
    let _server = start_server(port, 1, 1).await;
    let url = format!("http://127.0.0.1:{port}");
    let before = predicted_counters(port).await;
    let (r, recs) = run_targets(
        vec![target("llamacpp", Api::Openai, &url, "smollm2-135m")],
        6,
        |s| s.max_tokens = 64,
    )
    .await;
    let after = predicted_counters(port).await;
    let t = &r.targets[0];
    assert_eq!(t.error, None);
    let w = t.phases.warm.as_ref().unwrap();
    assert_eq!((w.requests, w.ok), (6, 6), "{:?}", w.failures);
    assert_eq!(w.token_source.as_deref(), Some("server"));
    let ours = w.decode_tok_s.mean.unwrap();
    let server = (after.0 - before.0) / (after.1 - before.1);
    let rel = (ours - server).abs() / server;
    eprintln!(
        "warm decode: servebench {ours:.2} tok/s, server /metrics {server:.2} tok/s ({:.1} %)",
        rel * 100.0
    );
    assert!(
        rel < 0.10,
        "servebench {ours:.2} tok/s vs server {server:.2} tok/s"
    );
    // The per-request timings the server sent agree too.
    let per_request = w.server_decode_tok_s.mean.unwrap();
    assert!(
        (per_request - server).abs() / server < 0.10,
        "{per_request} vs {server}"
    );
    assert_eq!(recs.len(), 7);
    assert!(recs.iter().all(|r| r.output_tokens.unwrap() >= 2));
    assert_eq!(t.model_info.quantization.as_deref(), Some("Q4_1"));
    assert_eq!(t.model_info.parameter_count, Some(134_515_008));
    assert_eq!(t.model_info.context_length, Some(2048));
    assert_schema_valid(&serde_json::to_value(&r).unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn managed_launch_times_load_and_stops_the_server() {
    let _serial = SERIAL.lock().await;
    python();
    let port = launch_port();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    let script = repo().join("scripts/llamacpp_server.py");
    std::fs::write(
        &plan,
        format!(
            "[run]\nwarm = 3\nmax_tokens = 32\n\n[[targets]]\nname = \"llamacpp\"\napi = \"openai\"\nurl = \"http://127.0.0.1:{port}\"\nmodel = \"smollm2-135m\"\nlaunch = [{:?}, {:?}, \"--port\", \"{port}\", \"--threads\", \"1\"]\n",
            python().display().to_string(),
            script.display().to_string()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = tokio::process::Command::new(env!("CARGO_BIN_EXE_servebench"))
        .env("SERVEBENCH_STORE", crate::common::bin::TEST_STORE)
        .args([
            "run",
            plan.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_schema_valid(&r);
    let t = &r["targets"][0];
    assert_eq!(t["status"], "ok");
    assert_eq!(t["managed"], true);
    assert_eq!(t["load"]["source"], "launch");
    assert_eq!(t["cold_verified"], true);
    let load = t["load"]["seconds"].as_f64().unwrap();
    assert!(load > 0.0 && load < 120.0, "{load}");
    assert_eq!(t["phases"]["cold"]["ok"], 1);
    assert_eq!(t["phases"]["warm"]["ok"], 3);
    let log = std::fs::read_to_string(out.join("server-llamacpp.log")).unwrap();
    assert!(log.contains("listening on"), "{log}");
    // Stopped: nothing listens on the port any more.
    assert!(
        !servebench_engine::server::port_in_use("127.0.0.1", port),
        "server still running after the run"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_sweep_over_two_slots_completes() {
    let _serial = SERIAL.lock().await;
    let port = launch_port();
    let _server = start_server(port, 1, 2).await;
    let url = format!("http://127.0.0.1:{port}");
    let (r, recs) = run_targets(
        vec![target("llamacpp", Api::Openai, &url, "smollm2-135m")],
        0,
        |s| {
            s.max_tokens = 16;
            s.profile = "sweep:1,2,4".parse().unwrap();
            s.requests = Some(4);
        },
    )
    .await;
    let t = &r.targets[0];
    assert_eq!(t.error, None);
    let steps = &t.phases.sweep;
    assert_eq!(
        steps
            .iter()
            .map(|s| s.concurrency.unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 4]
    );
    let errors: Vec<&String> = recs.iter().filter_map(|r| r.error.as_ref()).collect();
    for s in steps {
        assert_eq!(s.phase.requests, 4);
        // Seen once before pooled connections the server had closed were re-sent (see
        // faults.rs): one stream of a step recorded as stream_cut. A failure stays recorded,
        // never dropped; the sweep itself must still complete.
        assert!(s.phase.ok >= 3, "{:?} {errors:?}", s.phase.failures);
        assert!(s.phase.output_tok_s.unwrap() > 0.0);
    }
    if !errors.is_empty() {
        eprintln!("failed requests against llama.cpp: {errors:?}");
    }
    eprintln!(
        "llama.cpp 2 slots, output tok/s by concurrency: {:?}",
        steps
            .iter()
            .map(|s| (s.concurrency.unwrap(), s.phase.output_tok_s.unwrap()))
            .collect::<Vec<_>>()
    );
    assert_schema_valid(&serde_json::to_value(&r).unwrap());
    let md = crate::common::report_md(&r);
    assert!(md.contains("## Sweep: llamacpp"), "{md}");
}

#[tokio::test(flavor = "multi_thread")]
async fn synthetic_prompts_are_calibrated_with_the_servers_tokenizer() {
    use servebench_engine::load::synthetic::LengthDist;
    let _serial = SERIAL.lock().await;
    let port = launch_port();
    let _server = start_server(port, 1, 1).await;
    let url = format!("http://127.0.0.1:{port}");
    let (r, _) = run_targets(
        vec![target("llamacpp", Api::Openai, &url, "smollm2-135m")],
        3,
        |s| {
            s.input_tokens = Some(LengthDist::Fixed(200));
            s.output_tokens = Some(LengthDist::Fixed(24));
        },
    )
    .await;
    let t = &r.targets[0];
    assert_eq!(t.error, None);
    let cal = t.prompt_calibration.as_ref().unwrap();
    assert_eq!(cal.method, "tokenize");
    let w = t.phases.warm.as_ref().unwrap();
    // 200 calibrated tokens of text plus the chat template's own tokens (SmolLM2's default
    // system prompt), as the server counted them.
    let input = w.input_tokens.mean.unwrap();
    eprintln!(
        "synthetic 200-token prompts: server counted {input} prompt tokens; {:.3} words/token",
        cal.words_per_token
    );
    assert!((200.0..=260.0).contains(&input), "{input}");
    let ol = w.output_length.as_ref().unwrap();
    assert_eq!(
        (ol.requested, ol.honoured),
        (3, 3),
        "llama.cpp honours ignore_eos"
    );
    assert_eq!(w.output_tokens.mean, Some(24.0));
    assert_schema_valid(&serde_json::to_value(&r).unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oom_launch_falls_back_to_a_working_server_measured_per_phase() {
    let _serial = SERIAL.lock().await;
    python();
    let port = launch_port();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    let script = repo().join("scripts/llamacpp_server.py");
    std::fs::write(
        &plan,
        format!(
            r#"[run]
warm = 4
max_tokens = 48
cold = 2

[[targets]]
name = "llamacpp"
api = "openai"
url = "http://127.0.0.1:{port}"
model = "smollm2-1.7b-f16"
launch = ["sh", "-c", "echo loading weights; echo 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB' >&2; exit 1"]

[[targets.fallbacks]]
model = "smollm2-135m"
launch = [{:?}, {:?}, "--port", "{port}", "--threads", "1"]
"#,
            python().display().to_string(),
            script.display().to_string()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = tokio::process::Command::new(env!("CARGO_BIN_EXE_servebench"))
        .env("SERVEBENCH_STORE", crate::common::bin::TEST_STORE)
        .args([
            "run",
            plan.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_schema_valid(&r);
    let t = &r["targets"][0];
    assert_eq!(t["status"], "ok");
    assert_eq!(t["model"], "smollm2-135m", "the fallback is what ran");
    let attempts = t["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["model"], "smollm2-1.7b-f16");
    assert_eq!(attempts[0]["status"], "oom");
    assert!(
        attempts[0]["log_tail"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("CUDA out of memory")),
        "{attempts:?}"
    );
    assert_eq!(attempts[1]["status"], "ok");
    // Two cold loads: the fallback server was started twice.
    let samples = t["load"]["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 2);
    assert!(samples.iter().all(|s| s["verified"] == true));
    assert_eq!(t["phases"]["cold"]["requests"], 2);
    // The restart appended to the fallback's log rather than replacing it.
    let log = std::fs::read_to_string(out.join("server-llamacpp-fallback1.log")).unwrap();
    assert_eq!(log.matches("llama.cpp server for").count(), 2, "{log}");
    // Model facts read from the GGUF file the server names in /props.
    let mi = &t["model_info"];
    assert_eq!(mi["quantization"], "Q4_1");
    assert!(
        mi["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().starts_with("gguf:")),
        "{mi}"
    );
    assert_eq!(t["memory"]["weights_source"], "GGUF file size");
    // The server's process tree, per phase: a CPU-bound decoder using about one thread.
    let warm = &t["phases"]["warm"];
    let proc_ = &warm["server_process"];
    let cpu = proc_["cpu_pct"]["mean"].as_f64().unwrap();
    let rss = proc_["rss_bytes"]["max"].as_f64().unwrap();
    eprintln!(
        "managed llama.cpp, warm phase: server CPU mean {cpu:.0} %, RSS max {:.0} MiB, {} readings",
        rss / 1048576.0,
        proc_["samples"]
    );
    assert!(cpu > 30.0 && cpu < 250.0, "cpu {cpu}");
    assert!(rss > 50e6, "rss {rss}");
    assert!(
        t["phases"]["cold"]["server_process"]["samples"]
            .as_u64()
            .unwrap()
            >= 1
    );
    // The server's own token counter moved by exactly the tokens servebench counted.
    let counted = warm["output_tokens"]["mean"].as_f64().unwrap() * 4.0;
    let delta = warm["server_metrics"]["counters"]["llamacpp:tokens_predicted_total"]["delta"]
        .as_f64()
        .unwrap();
    assert_eq!(delta, counted, "{}", warm["server_metrics"]);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("**Measured with the fallback `smollm2-135m`**"),
        "{md}"
    );
    assert!(!servebench_engine::server::port_in_use("127.0.0.1", port));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_builtin_scenario_is_scored_against_the_real_model() {
    use servebench_engine::eval::EvalSettings;
    use servebench_engine::eval::suite::{self, Dataset};
    let _serial = SERIAL.lock().await;
    let port = launch_port();
    let _server = start_server(port, 1, 1).await;
    let url = format!("http://127.0.0.1:{port}");
    let settings = EvalSettings {
        limit: Some(2),
        max_tokens: 200,
        helper: Some(PathBuf::from(env!("CARGO_BIN_EXE_servebench"))),
        ..Default::default()
    };
    let tasks = suite::load(&Dataset::Builtin, None, settings.limit).unwrap();
    let (r, recs) = run_targets(
        vec![target("llamacpp", Api::Openai, &url, "smollm2-135m")],
        0,
        |s| {
            s.workload = Workload::Quality;
            s.quality = Some(servebench_engine::plan::Quality { settings, tasks });
        },
    )
    .await;
    let t = &r.targets[0];
    assert_eq!(t.error, None);
    let q = t.quality.as_ref().unwrap();
    assert_schema_valid(&serde_json::to_value(&r).unwrap());
    // Two tasks per scenario, each asked twice (the rerun measures consistency).
    assert_eq!(recs.len(), 16);
    assert!(recs.iter().all(|r| r.outcome.is_ok()), "{recs:?}");
    for name in suite::SCENARIOS {
        let s = &q.scenarios[name];
        eprintln!(
            "SmolLM2-135M {name}: total {:?}, accuracy {:?}, consistency {:?}, code quality {:?}, clarity {:?}, passed {} failed {} errors {}",
            s.total_score,
            s.accuracy,
            s.consistency,
            s.code_quality,
            s.clarity,
            s.passed,
            s.failed,
            s.errors
        );
        assert_eq!(s.tasks, 2, "{name}");
        assert_eq!(s.errors, 0, "{name}: the grader must grade every answer");
        assert!(s.total_score.is_some(), "{name}");
    }
    eprintln!(
        "SmolLM2-135M: pass@1 {:?}, average total {:?}",
        q.pass_at_1, q.average_total_score
    );
    assert!(q.average_total_score.is_some());
}

/// The first ten HumanEval tasks, asked greedily of the real coding model with the Qwen2.5-Coder
/// report's prompt (2 threads, as `make paper` runs it), must pass 7 to 9 of them. Why that
/// band: the full paper run with the same binary, model, prompt and thread count passed 8 of
/// these ten, with no verdict changing between its two greedy asks of each; greedy decoding on
/// one binary and thread count is reproducible, and ±1 task leaves room for the few verdict
/// flips the full run saw across 164 tasks. A broken prompt, extraction or test assembly
/// loses far more (SmolLM2, which cannot code, scores 0).
#[tokio::test(flavor = "multi_thread")]
async fn a_humaneval_subset_on_the_real_coding_model_scores_within_its_band() {
    use servebench_engine::eval::EvalSettings;
    use servebench_engine::eval::suite::{self, Dataset, PromptStyle};
    let _serial = SERIAL.lock().await;
    let port = launch_port();
    let _server = start_model_server(port, 2, 1, CODER).await;
    let url = format!("http://127.0.0.1:{port}");
    let settings = EvalSettings {
        dataset: Dataset::HumanEval,
        limit: Some(10),
        prompt_style: PromptStyle::Qwen,
        helper: Some(PathBuf::from(env!("CARGO_BIN_EXE_servebench"))),
        ..Default::default()
    };
    let tasks = suite::load_as(&Dataset::HumanEval, None, Some(10), PromptStyle::Qwen).unwrap();
    let (r, recs) = run_targets(vec![target("qwen", Api::Openai, &url, CODER)], 0, |s| {
        s.workload = Workload::Quality;
        s.quality = Some(servebench_engine::plan::Quality { settings, tasks });
    })
    .await;
    let t = &r.targets[0];
    assert_eq!(t.error, None);
    assert!(recs.iter().all(|r| r.outcome.is_ok()), "{recs:?}");
    let q = t.quality.as_ref().unwrap();
    let s = &q.scenarios["humaneval"];
    let ci = q.pass_at_1_ci.as_ref().unwrap();
    eprintln!(
        "Qwen2.5-Coder-0.5B HumanEval/0-9: passed {} failed {} errors {}, pass@1 {:?} [{:.3}, {:.3}], drift {:?}",
        s.passed, s.failed, s.errors, q.pass_at_1, ci.low, ci.high, q.drift
    );
    assert_eq!(s.errors, 0, "the grader must grade every answer");
    assert!(
        (7..=9).contains(&s.passed),
        "expected 7 to 9 of HumanEval/0-9 to pass (the paper run passed 8), got {} passed and {} failed",
        s.passed,
        s.failed
    );
    assert_eq!(q.prompt_style, "qwen");
    assert_eq!(ci.method, "wilson");
}

/// Quality under load on the real server: two slots, the tasks asked again two at a time.
/// Every task gets an answer under load, paired with its sequential one, and the two under
/// load really were decoded together.
#[tokio::test(flavor = "multi_thread")]
async fn quality_under_load_on_two_slots_pairs_every_task() {
    use servebench_engine::eval::EvalSettings;
    use servebench_engine::eval::suite::{self, Dataset};
    use servebench_engine::load::profile::Profile;
    let _serial = SERIAL.lock().await;
    let port = launch_port();
    let _server = start_server(port, 2, 2).await;
    let url = format!("http://127.0.0.1:{port}");
    let scen = vec!["code-completion".to_string()];
    let settings = EvalSettings {
        scenarios: Some(scen.clone()),
        limit: Some(4),
        max_tokens: 160,
        load: Some(Profile::Concurrency(2)),
        helper: Some(PathBuf::from(env!("CARGO_BIN_EXE_servebench"))),
        ..Default::default()
    };
    let tasks = suite::load(&Dataset::Builtin, Some(&scen), Some(4)).unwrap();
    let (r, recs) = run_targets(
        vec![target("llamacpp", Api::Openai, &url, "smollm2-135m")],
        0,
        |s| {
            s.workload = Workload::Quality;
            s.quality = Some(servebench_engine::plan::Quality { settings, tasks });
        },
    )
    .await;
    let t = &r.targets[0];
    assert_eq!(t.error, None);
    assert_schema_valid(&serde_json::to_value(&r).unwrap());
    // Four tasks: asked, re-asked, and asked under load.
    assert_eq!(recs.len(), 12);
    let q = t.quality.as_ref().unwrap();
    assert_eq!((q.answers_planned, q.answers_graded), (12, 12));
    let l = q.under_load.as_ref().expect("quality under load");
    assert_eq!((l.profile.as_str(), l.answers), ("concurrency:2", 4));
    assert_eq!(l.drift.compared, 4);
    assert_eq!(l.paired.as_ref().unwrap().tasks, 4);
    eprintln!("SmolLM2 under concurrency:2: {l:?}");
    // The last four requests (under load) ran two at a time: some pair overlaps.
    let spans: Vec<(f64, f64)> = recs[8..]
        .iter()
        .map(|r| (r.sent_unix_s, r.sent_unix_s + r.end.as_secs_f64()))
        .collect();
    let overlap = spans
        .iter()
        .enumerate()
        .any(|(i, a)| spans[i + 1..].iter().any(|b| a.0 < b.1 && b.0 < a.1));
    assert!(overlap, "no two answers under load overlapped: {spans:?}");
}

/// The native dialect (`--api llamacpp`) against the real server: raw prompts on
/// `/completion` and chat on the server's chat endpoint, the model name checked against its
/// list, every request's token counts and cached prompt tokens from llama.cpp's own events,
/// and `/slots` idle again afterwards.
#[tokio::test(flavor = "multi_thread")]
async fn the_native_llamacpp_dialect_measures_the_real_server() {
    use servebench_engine::backend::{Client, llamacpp};
    let _serial = SERIAL.lock().await;
    let port = launch_port();
    let _server = start_server(port, 2, 1).await;
    let url = format!("http://127.0.0.1:{port}");
    for endpoint in ["completions", "chat"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let o = servebench(&[
            "run",
            "--api",
            "llamacpp",
            "--url",
            &url,
            "--model",
            "smollm2-135m",
            "--warm",
            "3",
            "--max-tokens",
            "16",
            "--endpoint",
            endpoint,
            "--out",
            out.to_str().unwrap(),
        ])
        .await;
        assert_eq!(o.code, 0, "{endpoint}: {}", o.stderr);
        let r = read_report(&out);
        assert_schema_valid(&r);
        let t = &r["targets"][0];
        assert_eq!(t["api"], "llamacpp");
        assert_eq!(t["model_check"], "listed", "{endpoint}");
        assert_eq!(
            t["phases"]["warm"]["ok"], 3,
            "{endpoint}: {}",
            t["phases"]["warm"]
        );
        let journal = std::fs::read_to_string(out.join("requests.jsonl")).unwrap();
        for line in journal.lines() {
            let rec: Value = serde_json::from_str(line).unwrap();
            assert!(
                rec["output_tokens"].as_u64().is_some_and(|n| n > 0)
                    && rec["input_tokens"].as_u64().is_some_and(|n| n > 0)
                    && rec["cached_prompt_tokens"].is_u64(),
                "{endpoint}: llama.cpp's counts missing from {rec}"
            );
        }
    }
    let c = Client::new(Api::Llamacpp, &url, "smollm2-135m");
    let (slots, busy) = llamacpp::busy_slots(&c).await.unwrap();
    assert_eq!(
        (slots, busy),
        (1, 0),
        "a finished request leaves its slot idle"
    );
}

/// `/infill` on the real coding model, with the dialect's own request body and decoder: a
/// completion between prefix and suffix, and llama.cpp's counts on its last event. SmolLM2,
/// which has no FIM tokens, is refused with llama.cpp's 501.
#[tokio::test(flavor = "multi_thread")]
async fn infill_on_the_real_coding_model_fills_the_gap() {
    use servebench_engine::backend::llamacpp::{self, ExtraFile};
    use servebench_engine::backend::sink::StreamEvent;
    let _serial = SERIAL.lock().await;
    let port = launch_port();
    let server = start_model_server(port, 2, 1, CODER).await;
    let p = fim_params(24, &[]);
    let body = llamacpp::infill_body(
        "def mean(values):\n    \"\"\"Return the arithmetic mean of a non-empty list.\"\"\"\n    return ",
        "\n\n\ndef median(values):\n    ordered = sorted(values)\n",
        &[ExtraFile {
            filename: "stats/__init__.py".into(),
            text: "from .core import mean, median\n".into(),
        }],
        &p,
    );
    let infill = |port: u16, body: serde_json::Value| async move {
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/infill"))
            .json(&body)
            .send()
            .await
            .unwrap()
    };
    let resp = infill(port, body.clone()).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let mut ev = Vec::new();
    for line in text.lines() {
        llamacpp::decode_line(line, &mut ev).unwrap();
    }
    let filled: String = ev
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Content(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    eprintln!("Qwen2.5-Coder /infill filled: {filled:?}");
    // Greedy Qwen2.5-Coder-0.5B fills `sum(ordered) / len(ordered)` here (a name it took from
    // the suffix): a completion of the gap, right or wrong; the wire path is what is tested.
    assert!(
        filled.contains("sum(") || filled.contains("len("),
        "{filled:?}"
    );
    assert_eq!(ev.last(), Some(&StreamEvent::Done));
    assert!(
        ev.iter()
            .any(|e| matches!(e, StreamEvent::Usage { output: Some(n), .. } if *n > 0))
    );
    drop(server);
    let port = launch_port();
    let _smol = start_server(port, 1, 1).await;
    let resp = infill(port, body).await;
    assert_eq!(resp.status(), 501, "SmolLM2 has no FIM tokens");
    let err = resp.text().await.unwrap();
    assert!(
        err.contains("Infill is not supported by this model"),
        "{err}"
    );
}

/// HumanEval infilling on the real coding model over both FIM paths — llama.cpp's `/infill`
/// (native dialect) and a raw Qwen2.5-Coder FIM prompt on `/v1/completions` (OpenAI dialect) —
/// graded in the sandbox; the removed line itself passes every task (the construction is
/// sound). A fill abandoned mid-stream frees its slot: `/slots` shows it idle within 2 s.
#[tokio::test(flavor = "multi_thread")]
async fn humaneval_infilling_on_both_fim_paths_and_an_abandoned_fill_frees_its_slot() {
    use servebench_engine::backend::{Client, RequestMeta, llamacpp};
    use servebench_engine::eval::infill::{self, Span};
    use servebench_engine::eval::suite::{self, Dataset};
    use servebench_engine::fim::{Method, Template};
    use servebench_engine::record::Phase;
    let _serial = SERIAL.lock().await;
    let port = launch_port();
    let _server = start_model_server(port, 2, 1, CODER).await;
    let url = format!("http://127.0.0.1:{port}");
    let grader = servebench_engine::eval::grader(&servebench_engine::eval::EvalSettings {
        helper: Some(PathBuf::from(env!("CARGO_BIN_EXE_servebench"))),
        ..Default::default()
    })
    .await
    .unwrap();
    let tasks: Vec<_> = suite::load(&Dataset::HumanEval, None, Some(8))
        .unwrap()
        .iter()
        .filter_map(|t| infill::cut(t, Span::Line))
        .collect();
    assert_eq!(tasks.len(), 8);
    let p = fim_params(48, &["\n"]);
    let cancel = tokio_util::sync::CancellationToken::new();
    let meta = |index: u64| RequestMeta {
        target: "qwen",
        phase: Phase::Warm,
        step: None,
        attempt: 0,
        class: None,
        index,
        scheduled: std::time::Instant::now(),
    };
    for t in &tasks {
        let g = infill::grade(&grader, t, &t.removed).await;
        assert_eq!(
            g.verdict,
            servebench_engine::eval::grade::Verdict::Pass,
            "{}: {g:?}",
            t.id
        );
    }
    for (api, method) in [
        (Api::Llamacpp, Method::Infill),
        (Api::Openai, Method::Raw(Template::Qwen)),
    ] {
        let c = Client::new(api, &url, CODER);
        let (mut passed, mut exact) = (0, 0);
        for (i, t) in tasks.iter().enumerate() {
            let rec = c
                .fill(&t.fim, method, &t.id, &p, meta(i as u64), &cancel)
                .await
                .unwrap();
            assert!(rec.outcome.is_ok(), "{}: {rec:?}", t.id);
            // One line asked for: the fill ends at its newline (stop), which goes back in.
            let fill = format!("{}\n", rec.text.trim_end_matches('\n'));
            let g = infill::grade(&grader, t, &fill).await;
            passed += usize::from(g.verdict == servebench_engine::eval::grade::Verdict::Pass);
            exact += usize::from(infill::exact_match(t, &fill));
        }
        eprintln!(
            "Qwen2.5-Coder-0.5B single-line infilling, HumanEval/0-7, {}: {passed}/8 pass, {exact}/8 exact",
            method.name()
        );
        assert!(
            passed >= 1,
            "{}: no fill passed ({passed}/8)",
            method.name()
        );
    }
    // Abandon a long fill after its first tokens; the server must free the slot.
    let c = Client::new(Api::Llamacpp, &url, CODER);
    let long = fim_params(400, &[]);
    let stop = tokio_util::sync::CancellationToken::new();
    let canceller = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        canceller.cancel();
    });
    let rec = c
        .fill(
            &tasks[0].fim,
            Method::Infill,
            "abandoned",
            &long,
            meta(99),
            &stop,
        )
        .await
        .unwrap();
    assert_eq!(rec.outcome, servebench_engine::record::Outcome::Cancelled);
    let dropped = Instant::now();
    loop {
        let (_, busy) = llamacpp::busy_slots(&c).await.unwrap();
        if busy == 0 {
            eprintln!(
                "llama.cpp freed the abandoned fill's slot within {:?}",
                dropped.elapsed()
            );
            break;
        }
        assert!(
            dropped.elapsed() < Duration::from_secs(2),
            "llama.cpp kept generating for a dropped stream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
