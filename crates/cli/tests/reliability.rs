//! Reliability: a real SIGTERM mid-phase keeps every finished measurement; a server that never
//! sends a first token is bounded by --ttft-timeout; API keys authenticate and never leak.

use crate::common::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn all_output(dir: &Path) -> String {
    let mut text = String::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        text.push_str(&String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()));
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_and_sigterm_mid_phase_keep_every_finished_request() {
    use nix::sys::signal::Signal;
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        let m = mock_openai(MockCfg {
            ttft: Duration::from_millis(50),
            per_token: Duration::from_millis(40),
            tokens: 20,
            ..Default::default()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_servebench"))
            .env("SERVEBENCH_STORE", crate::common::bin::TEST_STORE)
            .args([
                "run",
                "--api",
                "openai",
                "--url",
                &m.url(),
                "--model",
                "mock-model",
                "--warm",
                "100",
            ])
            .args(["--out", out.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
        // Let the cold request and two warm ones finish, then stop it in the middle of the next
        // one (each takes 50 ms + 20 × 40 ms): a fixed sleep from spawn could land in the
        // microseconds between two requests, where nothing is in flight.
        let journal = out.join("requests.jsonl");
        let waited = Instant::now();
        while std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count()) < 3 {
            assert!(
                waited.elapsed() < Duration::from_secs(30),
                "{sig}: no progress"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        nix::sys::signal::kill(pid, sig).unwrap();
        let sent = Instant::now();
        let o = child.wait_with_output().await.unwrap();
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "{sig}: took {:?}",
            sent.elapsed()
        );
        assert_eq!(
            o.status.code(),
            Some(130),
            "{sig}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let r = read_report(&out);
        assert_schema_valid(&r);
        assert_eq!(r["interrupted"], true);
        let warm = &r["targets"][0]["phases"]["warm"];
        let ok = warm["ok"].as_u64().unwrap();
        assert!(ok >= 2, "{sig}: {warm}");
        assert_eq!(
            warm["failures"]["cancelled"], 1,
            "{sig}: the request in flight: {warm}"
        );
        assert_eq!(warm["requests"].as_u64().unwrap(), ok + 1);
        // The journal holds exactly what the report counts, every line whole.
        let (records, torn) =
            servebench_engine::journal::read(&out.join("requests.jsonl")).unwrap();
        assert_eq!(torn, 0);
        assert_eq!(records.len() as u64, 1 + ok + 1);
        // The finished requests' numbers are untouched by the interruption.
        let e2e = warm["e2e_s"]["mean"].as_f64().unwrap();
        assert!(
            (e2e - (0.050 + 19.0 * 0.040)).abs() < 0.1,
            "{sig}: e2e {e2e}"
        );
        // And the journal rebuilds the same report.
        let o = servebench(&[
            "report",
            out.to_str().unwrap(),
            "--from-journal",
            "--format",
            "json",
        ])
        .await;
        let rebuilt: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(rebuilt, r, "{sig}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_sends_a_token_is_bounded_by_the_ttft_timeout() {
    let m = mock_openai(MockCfg {
        ttft: Duration::from_secs(30),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let start = Instant::now();
    let o = servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        &m.url(),
        "--model",
        "mock-model",
        "--warm",
        "2",
        "--ttft-timeout",
        "0.5",
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(o.code, 1, "every request failed: the target failed");
    let r = read_report(&out);
    let warm = &r["targets"][0]["phases"]["warm"];
    assert_eq!(warm["failures"]["timeout"], 2, "{warm}");
    let (records, _) = servebench_engine::journal::read(&out.join("requests.jsonl")).unwrap();
    for rec in &records {
        assert!(
            rec.error
                .as_deref()
                .unwrap()
                .contains("no first token within 0.5 s")
        );
        let waited = rec.end.as_secs_f64();
        assert!((0.45..1.5).contains(&waited), "{waited}");
    }
    let o = servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        &m.url(),
        "--model",
        "m",
        "--ttft-timeout=-1",
    ])
    .await;
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("ttft_timeout_s -1 out of range: use (0, 86400] seconds"),
        "{}",
        o.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn api_keys_authenticate_and_never_leak() {
    const KEY: &str = "sk-test-SECRET-4f9a1c";
    let m = mock_openai(MockCfg {
        api_key: Some(KEY.into()),
        tokens: 5,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &str, var: &str, value: Option<&str>| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_servebench"));
        cmd.env("SERVEBENCH_STORE", crate::common::bin::TEST_STORE);
        cmd.args([
            "run",
            "--api",
            "openai",
            "--url",
            &m.url(),
            "--model",
            "mock-model",
            "--warm",
            "2",
        ])
        .args(["--api-key-env", var, "--verbose", "--out", out]);
        match value {
            Some(v) => cmd.env(var, v),
            None => cmd.env_remove(var),
        };
        cmd.output()
    };
    let ok_dir = dir.path().join("ok");
    let o = run(ok_dir.to_str().unwrap(), "SB_TEST_KEY", Some(KEY))
        .await
        .unwrap();
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{logs}");
    assert_eq!(
        read_report(&ok_dir)["targets"][0]["phases"]["warm"]["ok"],
        2
    );
    assert!(
        !logs.contains(KEY) && !all_output(&ok_dir).contains(KEY),
        "the key leaked"
    );
    // --verbose shows the header, redacted, and every request.
    assert!(
        logs.contains("Authorization: Bearer [redacted] (the key in $SB_TEST_KEY)"),
        "{logs}"
    );
    assert!(
        logs.contains("warm 1/2") && logs.contains("warm 2/2"),
        "{logs}"
    );

    let missing = dir.path().join("missing");
    let o = run(missing.to_str().unwrap(), "SB_TEST_KEY", None)
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("environment variable SB_TEST_KEY (api_key_env) is not set"),
        "{err}"
    );

    let wrong = dir.path().join("wrong");
    let o = run(wrong.to_str().unwrap(), "SB_TEST_KEY", Some("sk-wrong-key"))
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "unauthorised at {} (HTTP 401): set --api-key-env",
            m.url()
        )),
        "{err}"
    );
    assert!(!err.contains("sk-wrong-key") && !all_output(&wrong).contains("sk-wrong-key"));
}

#[tokio::test(flavor = "multi_thread")]
async fn overload_is_a_failure_unless_retries_are_asked_for() {
    let faults = vec![
        Fault::None,
        Fault::Http(503),
        Fault::Http(429),
        Fault::None,
        Fault::None,
    ];
    let cfg = MockCfg {
        ttft: Duration::from_millis(20),
        tokens: 4,
        faults,
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    // Default: the 503 and the 429 are recorded as failures, never hidden.
    let m = mock_openai(cfg.clone()).await;
    let out = dir.path().join("plain");
    let o = servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        &m.url(),
        "--model",
        "mock-model",
        "--warm",
        "4",
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let warm = &read_report(&out)["targets"][0]["phases"]["warm"];
    assert_eq!(
        (warm["ok"].as_u64(), warm["failed"].as_u64()),
        (Some(2), Some(2)),
        "{warm}"
    );
    assert_eq!(warm["failures"]["http_503"], 1);
    assert_eq!(warm["failures"]["http_429"], 1);
    // --retries 2: the first warm request is re-sent twice (Retry-After: 0) and succeeds.
    let m = mock_openai(cfg).await;
    let out = dir.path().join("retried");
    let o = servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        &m.url(),
        "--model",
        "mock-model",
        "--warm",
        "2",
        "--retries",
        "2",
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let warm = &read_report(&out)["targets"][0]["phases"]["warm"];
    assert_eq!(
        (warm["ok"].as_u64(), warm["failed"].as_u64()),
        (Some(2), Some(0)),
        "{warm}"
    );
    let (records, _) = servebench_engine::journal::read(&out.join("requests.jsonl")).unwrap();
    let retried: Vec<u32> = records.iter().map(|r| r.retries).collect();
    assert_eq!(retried, vec![0, 2, 0], "marked as retried");
    assert_eq!(m.requests(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_journal_rebuilds_the_report_even_after_a_kill() {
    let m = mock_openai(MockCfg {
        ttft: Duration::from_millis(20),
        per_token: Duration::from_millis(5),
        tokens: 10,
        faults: vec![Fault::None, Fault::Http(500)],
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("done");
    let o = servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        &m.url(),
        "--model",
        "mock-model",
        "--warm",
        "5",
        "--profile",
        "sweep:1,2",
        "--requests",
        "4",
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    // Progress names each sweep step's concurrency.
    assert!(
        o.stderr.contains("sweep step 0: concurrency 1")
            && o.stderr.contains("sweep step 1: concurrency 2"),
        "{}",
        o.stderr
    );
    let original = read_report(&out);
    let o = servebench(&[
        "report",
        out.to_str().unwrap(),
        "--from-journal",
        "--format",
        "json",
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rebuilt: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(
        rebuilt, original,
        "a rebuilt report equals the original for the same records"
    );

    // SIGKILL: no report.json, but the journal and run.json rebuild one.
    let m = mock_openai(MockCfg {
        ttft: Duration::from_millis(20),
        per_token: Duration::from_millis(30),
        tokens: 10,
        ..Default::default()
    })
    .await;
    let killed = dir.path().join("killed");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_servebench"))
        .env("SERVEBENCH_STORE", crate::common::bin::TEST_STORE)
        .args([
            "run",
            "--api",
            "openai",
            "--url",
            &m.url(),
            "--model",
            "mock-model",
            "--warm",
            "100",
        ])
        .args(["--out", killed.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert!(!killed.join("report.json").exists());
    let (records, torn) = servebench_engine::journal::read(&killed.join("requests.jsonl")).unwrap();
    assert_eq!(torn, 0);
    let o = servebench(&["report", killed.to_str().unwrap(), "--format", "json"]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("rebuilt from requests.jsonl"),
        "{}",
        o.stderr
    );
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_schema_valid(&r);
    assert_eq!(r["interrupted"], true);
    let warm = r["targets"][0]["phases"]["warm"]["requests"]
        .as_u64()
        .unwrap();
    assert_eq!(
        warm + 1,
        records.len() as u64,
        "every journalled request is in the report"
    );
    assert!(warm >= 3, "{warm}");
}

/// Ctrl-C in the middle of a quality run: every graded answer stays in `quality.jsonl`, and
/// the report scores those and says how many of the planned answers they are.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_quality_run_keeps_every_graded_answer_and_says_how_many() {
    let m = mock_openai(MockCfg {
        ttft: Duration::from_millis(50),
        per_token: Duration::from_millis(60),
        answer: Answer::new(|_| "```python\ndef f():\n    return None\n```".into()),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_servebench"))
        .env("SERVEBENCH_STORE", crate::common::bin::TEST_STORE)
        .args([
            "eval",
            "--api",
            "openai",
            "--url",
            &m.url(),
            "--model",
            "mock-model",
        ])
        .args([
            "--scenarios",
            "code-completion",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    let journal = out.join("quality.jsonl");
    let lines = || std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count());
    let waited = Instant::now();
    while lines() < 3 {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "no answer graded"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let o = child.wait_with_output().await.unwrap();
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let graded = lines();
    assert!((3..20).contains(&graded), "{graded} answers graded");
    let r = read_report(&out);
    assert_schema_valid(&r);
    let t = &r["targets"][0];
    assert_eq!(
        t["error"],
        serde_json::Value::Null,
        "graded answers are a measurement"
    );
    let q = &t["quality"];
    assert_eq!(q["answers_planned"], 20, "{q}");
    assert_eq!(
        q["answers_graded"].as_u64(),
        Some(graded as u64),
        "the report scores every graded answer: {q}"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains(&format!("Graded {graded} of 20 planned answers")),
        "{md}"
    );
}
