//! Managed servers: repeated cold loads, servers that crash, run out of memory or never become
//! ready (stopped, recorded, fallbacks tried), the environment and directory they start in,
//! and launch commands that cannot run.

use crate::common::*;
use servebench_engine::plan::Api;
use servebench_engine::report::{AttemptStatus, LoadSource, TargetStatus};
use std::time::Duration;

#[tokio::test]
async fn three_cold_loads_against_ollama_are_each_unloaded_and_timed() {
    let m = mock_ollama(MockCfg {
        load: Duration::from_millis(250),
        unload_lag: Duration::from_millis(100),
        ttft: Duration::from_millis(50),
        tokens: 4,
        ..Default::default()
    })
    .await;
    let (r, recs) = run_targets(
        vec![target("ollama", Api::Ollama, &m.url(), "mock-model")],
        2,
        |s| s.cold = 3,
    )
    .await;
    let t = &r.targets[0];
    assert_eq!(t.error, None);
    assert_eq!(t.load.samples.len(), 3);
    for s in &t.load.samples {
        assert_eq!(s.source, LoadSource::Server);
        assert!(s.verified, "each reload followed a confirmed unload");
        // The server's own figure for the injected load.
        assert!((s.seconds - 0.250).abs() < 1e-9, "{s:?}");
        assert!(s.cold_ttft_s.unwrap() >= 0.300 - 0.001, "{s:?}");
    }
    assert_eq!(t.load.seconds, Some(0.250));
    assert!(t.cold_verified);
    let cold = t.phases.cold.as_ref().unwrap();
    assert_eq!((cold.requests, cold.ok), (3, 3));
    // Three cold requests, then the warm ones, each journalled once.
    let phases: Vec<_> = recs.iter().map(|r| r.phase).collect();
    assert_eq!(phases.len(), 5);
    assert_eq!(r.settings.cold, 3);
    assert_schema_valid(&serde_json::to_value(&r).unwrap());
}

#[tokio::test]
async fn cold_n_on_a_server_servebench_did_not_start_measures_one_cold_request() {
    let m = mock_openai(MockCfg::default()).await;
    let (r, _) = run_targets(
        vec![target("v", Api::Openai, &m.url(), "mock-model")],
        1,
        |s| s.cold = 3,
    )
    .await;
    let t = &r.targets[0];
    assert_eq!(t.phases.cold.as_ref().unwrap().requests, 1);
    assert!(t.load.samples.is_empty() && t.load.seconds.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_becomes_ready_is_stopped_and_its_fallbacks_tried() {
    let port = launch_port();
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"[[targets]]
name = "stuck"
api = "openai"
url = "http://127.0.0.1:{port}"
model = "big"
launch = ["sh", "-c", "echo starting; exec sleep 6171"]
ready_timeout_s = 1
stop_timeout_s = 1

[[targets.fallbacks]]
model = "smaller"
launch = ["sh", "-c", "exec sleep 6172"]
"#
    );
    let (o, out) = run_plan(dir.path(), &toml).await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r = read_report(&out);
    assert_schema_valid(&r);
    let t = &r["targets"][0];
    assert_eq!(t["status"], "failed");
    let attempts = t["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    for (a, model) in attempts.iter().zip(["big", "smaller"]) {
        assert_eq!(a["model"], model);
        assert_eq!(a["status"], "failed");
        assert!(
            a["error"]
                .as_str()
                .unwrap()
                .contains("server not ready after 1 s"),
            "{a}"
        );
    }
    assert_eq!(attempts[0]["log_tail"][0], "starting");
    assert!(out.join("server-stuck-fallback1.log").exists());
    assert!(
        !process_alive("sleep 6171") && !process_alive("sleep 6172"),
        "a server was left running"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_out_of_memory_exit_is_recorded_as_oom_with_the_log_tail() {
    let port = launch_port();
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"[[targets]]
name = "fp16"
api = "openai"
url = "http://127.0.0.1:{port}"
model = "Qwen2.5-Coder-32B"
launch = ["sh", "-c", "echo 'loading'; echo 'RuntimeError: cudaMalloc failed: out of memory' >&2; exit 1"]
"#
    );
    let (o, out) = run_plan(dir.path(), &toml).await;
    assert_eq!(o.code, 1);
    let r = read_report(&out);
    let a = &r["targets"][0]["attempts"][0];
    assert_eq!(a["status"], "oom");
    assert_eq!(
        a["log_tail"][1],
        "RuntimeError: cudaMalloc failed: out of memory"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("Attempt `Qwen2.5-Coder-32B` ran out of memory"),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn env_and_cwd_reach_the_launched_server() {
    let port = launch_port();
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"[[targets]]
name = "envy"
api = "openai"
url = "http://127.0.0.1:{port}"
model = "m"
launch = ["sh", "-c", "echo FOO=$FOO; pwd; exit 3"]
cwd = {:?}
env = {{ FOO = "bar baz" }}
"#,
        work.path().display().to_string()
    );
    let (o, out) = run_plan(dir.path(), &toml).await;
    assert_eq!(o.code, 1);
    let r = read_report(&out);
    let tail = &r["targets"][0]["attempts"][0]["log_tail"];
    assert_eq!(tail[0], "FOO=bar baz");
    assert_eq!(
        std::fs::canonicalize(tail[1].as_str().unwrap()).unwrap(),
        std::fs::canonicalize(work.path()).unwrap()
    );
}

/// What a server leaves behind goes with it: its private TMPDIR (where vLLM puts its
/// `vllm_dist_*` files) and the shared-memory files Intel OpenMP registers per process — even
/// when the server has exited by itself.
#[tokio::test(flavor = "multi_thread")]
async fn a_servers_tmpdir_and_its_openmp_files_are_removed_after_it() {
    let port = launch_port();
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"[[targets]]
name = "leaky"
api = "openai"
url = "http://127.0.0.1:{port}"
model = "m"
launch = ["sh", "-c", "echo TMPDIR=$TMPDIR; echo PID=$$; touch $TMPDIR/vllm_dist_1; touch /dev/shm/__KMP_REGISTERED_LIB_$$_0; sleep 1; exit 3"]
"#
    );
    let (o, out) = run_plan(dir.path(), &toml).await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r = read_report(&out);
    let tail = r["targets"][0]["attempts"][0]["log_tail"]
        .as_array()
        .unwrap();
    let tmp = tail[0].as_str().unwrap().strip_prefix("TMPDIR=").unwrap();
    assert!(tmp.contains("servebench-server-"), "{tmp}");
    assert!(!std::path::Path::new(tmp).exists(), "{tmp} left behind");
    let pid = tail[1].as_str().unwrap().strip_prefix("PID=").unwrap();
    let kmp = format!("/dev/shm/__KMP_REGISTERED_LIB_{pid}_0");
    assert!(!std::path::Path::new(&kmp).exists(), "{kmp} left behind");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_launch_command_that_does_not_exist_exits_1_naming_it() {
    let port = launch_port();
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[[targets]]\nname = \"x\"\napi = \"openai\"\nurl = \"http://127.0.0.1:{port}\"\nmodel = \"m\"\nlaunch = [\"no-such-server-binary\", \"--port\", \"{port}\"]\n"
    );
    let (o, _) = run_plan(dir.path(), &toml).await;
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("cannot start \"no-such-server-binary\""),
        "{}",
        o.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_port_already_in_use_is_refused_naming_the_port() {
    let m = mock_openai(MockCfg::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[[targets]]\nname = \"x\"\napi = \"openai\"\nurl = \"{}\"\nmodel = \"mock-model\"\nlaunch = [\"sh\", \"-c\", \"touch launched; sleep 30\"]\ncwd = {:?}\n",
        m.url(),
        dir.path().display().to_string()
    );
    let (o, out) = run_plan(dir.path(), &toml).await;
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .contains(&format!("{} is already in use before launch", m.addr)),
        "{}",
        o.stderr
    );
    assert!(!dir.path().join("launched").exists(), "it must not launch");
    assert_eq!(m.requests(), 0);
    let r = read_report(&out);
    assert_eq!(r["targets"][0]["attempts"][0]["status"], "failed");
}

#[tokio::test]
async fn the_unmanaged_server_pid_is_sampled_when_given() {
    let m = mock_openai(MockCfg {
        tokens: 10,
        ..Default::default()
    })
    .await;
    let mut t = target("v", Api::Openai, &m.url(), "mock-model");
    // The mock runs inside this test process: watch it.
    t.server_pid = Some(std::process::id());
    let (r, _) = run_targets(vec![t], 3, |_| {}).await;
    let t = &r.targets[0];
    assert_eq!(t.status, TargetStatus::Ok);
    let p = t
        .phases
        .warm
        .as_ref()
        .unwrap()
        .server_process
        .as_ref()
        .unwrap();
    assert_eq!(p.pid, std::process::id());
    assert!(p.samples >= 5, "{p:?}");
    assert!(p.rss_bytes.max.unwrap() > 1e6);
    assert!(t.attempts.iter().all(|a| a.status == AttemptStatus::Ok));
}

#[test]
fn launched_test_servers_get_ports_no_parallel_bind_can_take() {
    // The race this replaces: a test bound port 0, dropped the socket and handed the number to
    // a server it launched, while a parallel test's bind(0) could be handed the same port.
    let (lo, hi) = ephemeral_ports();
    let mut launch = std::collections::BTreeSet::new();
    // Held until the end, so every bind(0) gets a new port.
    let mut held = Vec::new();
    for _ in 0..200 {
        assert!(
            launch.insert(launch_port()),
            "a launch port was handed out twice"
        );
        held.push(std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    }
    assert!(
        launch.iter().all(|p| !(lo..=hi).contains(p)),
        "{launch:?} overlaps {lo}..={hi}"
    );
    assert!(
        held.iter()
            .all(|l| !launch.contains(&l.local_addr().unwrap().port()))
    );
}
