//! The binary end to end against mock servers: exit codes, one-line errors, report files.

use crate::common::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn quick_form_run_writes_valid_report_markdown_and_journal() {
    let m = mock_openai(MockCfg {
        tokens: 8,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        &m.url(),
        "--model",
        "mock-model",
        "--name",
        "vllm",
        "--warm",
        "3",
        "--max-tokens",
        "8",
        "--out",
        out,
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = read_report(dir.path());
    assert_schema_valid(&r);
    // The schema has teeth: undocumented fields, wrong types and missing fields are caught.
    for mutate in [
        (|r: &mut Value| r["targets"][0]["undocumented"] = Value::Bool(true)) as fn(&mut Value),
        |r| r["targets"][0]["phases"]["warm"]["ttft_s"]["p50"] = "fast".into(),
        |r| {
            r["targets"][0]["load"]
                .as_object_mut()
                .unwrap()
                .remove("source");
        },
        |r| r["targets"][0]["phases"]["warm"]["failures"]["oops"] = 1.into(),
    ] {
        let mut bad = r.clone();
        mutate(&mut bad);
        assert!(!schema_errors(&bad).is_empty(), "schema accepted {bad}");
    }
    assert_eq!(r["targets"][0]["name"], "vllm");
    assert_eq!(r["targets"][0]["phases"]["warm"]["requests"], 3);
    assert_eq!(r["settings"]["max_tokens"], 8);
    let lines = std::fs::read_to_string(dir.path().join("requests.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 4, "cold + 3 warm journalled");
    assert_eq!(
        assert_jsonl_follows("requests.schema.json", &dir.path().join("requests.jsonl")),
        4
    );
    // The journal's contract has teeth too.
    let first: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    for mutate in [
        (|r: &mut Value| r["undocumented"] = Value::Bool(true)) as fn(&mut Value),
        |r| r["outcome"] = "fine".into(),
        |r| r["ttft_s"] = "fast".into(),
        |r| {
            r.as_object_mut().unwrap().remove("end_s");
        },
    ] {
        let mut bad = first.clone();
        mutate(&mut bad);
        assert!(
            !violations("requests.schema.json", &bad).is_empty(),
            "requests.schema.json accepted {bad}"
        );
    }
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(
        md.contains("| Warm TTFT p50 (s; lower is better) |"),
        "{md}"
    );
    assert!(md.contains("One target: nothing to compare"));
    assert!(
        o.stdout.contains("| Metric (unit) | vllm (`mock-model`) |"),
        "{}",
        o.stdout
    );
    // Plain progress lines when stderr is not a terminal.
    assert!(o.stderr.contains("[vllm] warm 3/3 ok"), "{}", o.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_listening_exits_1_naming_the_url() {
    let url = format!("http://127.0.0.1:{}", dead_port());
    let dir = tempfile::tempdir().unwrap();
    let o = servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        &url,
        "--model",
        "m",
        "--out",
        dir.path().to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 1);
    let line = o
        .stderr
        .lines()
        .find(|l| l.contains("target failed"))
        .unwrap();
    assert!(
        line.contains(&format!("nothing is listening at {url}")),
        "{line}"
    );
    let r = read_report(dir.path());
    assert_schema_valid(&r);
    assert_eq!(r["targets"][0]["status"], "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_model_lists_available_models() {
    for api in ["openai", "ollama"] {
        let m = if api == "openai" {
            mock_openai(MockCfg::default()).await
        } else {
            mock_ollama(MockCfg::default()).await
        };
        let dir = tempfile::tempdir().unwrap();
        let o = servebench(&[
            "run",
            "--api",
            api,
            "--url",
            &m.url(),
            "--model",
            "nope",
            "--out",
            dir.path().to_str().unwrap(),
        ])
        .await;
        assert_eq!(o.code, 1, "{api}");
        assert!(
            o.stderr.contains(&format!(
                "model nope not found on {}; available: mock-model",
                m.url()
            )),
            "{api}: {}",
            o.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn html_server_is_not_an_llm_api() {
    let addr = html_server().await;
    for (api, name) in [("openai", "OpenAI"), ("ollama", "Ollama")] {
        let dir = tempfile::tempdir().unwrap();
        let o = servebench(&[
            "run",
            "--api",
            api,
            "--url",
            &format!("http://{addr}"),
            "--model",
            "m",
            "--out",
            dir.path().to_str().unwrap(),
        ])
        .await;
        assert_eq!(o.code, 1);
        assert!(
            o.stderr.contains(&format!("is not an {name} API")),
            "{}",
            o.stderr
        );
        assert!(o.stderr.contains("text/html"), "{}", o.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_failed_target_does_not_stop_the_others() {
    let m = mock_openai(MockCfg {
        tokens: 4,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[run]\nwarm = 2\n\n[[targets]]\nname = \"dead\"\napi = \"openai\"\nurl = \"http://127.0.0.1:{}\"\nmodel = \"m\"\n\n[[targets]]\nname = \"alive\"\napi = \"openai\"\nurl = \"{}\"\nmodel = \"mock-model\"\n",
        dead_port(),
        m.url()
    );
    let (o, out) = run_plan(dir.path(), &toml).await;
    assert_eq!(o.code, 1);
    let r = read_report(&out);
    assert_schema_valid(&r);
    assert_eq!(r["targets"][0]["status"], "failed");
    assert_eq!(r["targets"][1]["status"], "ok");
    assert_eq!(r["targets"][1]["phases"]["warm"]["ok"], 2);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("| Metric (unit) | dead (`m`) | alive (`mock-model`) | Better |"),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_exits_2_with_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(&plan, "[[targets]]\nname = \"a\"\napi = \"openai\"\nurl = \"http://x:1\"\nmodel = \"m\"\nlanch = [\"x\"]\n").unwrap();
    let o = servebench(&["run", plan.to_str().unwrap()]).await;
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains(&format!("{}:6:1: unknown field `lanch`", plan.display())),
        "{}",
        o.stderr
    );
    assert_eq!(o.stderr.trim().lines().count(), 1, "one line: {}", o.stderr);

    std::fs::write(&plan, "[[targets]\nname = 1\n").unwrap();
    let o = servebench(&["run", plan.to_str().unwrap()]).await;
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains(&format!("{}:1:", plan.display())),
        "{}",
        o.stderr
    );

    std::fs::write(&plan, "[run]\nprofile = \"sweep:1,x\"\n\n[[targets]]\nname = \"a\"\napi = \"openai\"\nurl = \"http://x:1\"\nmodel = \"m\"\n").unwrap();
    let o = servebench(&["run", plan.to_str().unwrap()]).await;
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains(&format!("{}:2:11: cannot parse `x`", plan.display())),
        "{}",
        o.stderr
    );

    // Bad flags: exit 2 with a message naming the problem and the accepted forms.
    let quick = [
        "run",
        "--api",
        "openai",
        "--url",
        "http://x:1",
        "--model",
        "m",
    ];
    let forms = servebench_engine::load::profile::PROFILE_FORMS;
    let cases: [(&[&str], &[&str]); 6] = [
        (
            &["--profile", "rate:fast:poisson"],
            &["cannot parse `fast`", forms],
        ),
        (
            &["--sharegpt", "a.json", "--input-tokens", "100"],
            &["give only one"],
        ),
        (&["--input-tokens", "zipf:2"], &["uniform:a:b"]),
        (&["--max-tokens", "0"], &["1..=1000000"]),
        (&["--slo", "latency=1"], &["unknown objective `latency`"]),
        (&["--requests", "0"], &["--requests"]),
    ];
    for (extra, expected) in cases {
        let args: Vec<&str> = quick.iter().chain(extra).copied().collect();
        let o = servebench(&args).await;
        assert_eq!(o.code, 2, "{extra:?}");
        for e in expected {
            assert!(o.stderr.contains(e), "{extra:?}: {}", o.stderr);
        }
    }
    let o = servebench(&["run", "--api", "openai", "--url", "http://x:1"]).await;
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--model"), "{}", o.stderr);
    let o = servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        "localhost:8000",
        "--model",
        "m",
    ])
    .await;
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("http://"), "{}", o.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_the_managed_server_and_writes_an_interrupted_report() {
    // A launched server that never becomes an OpenAI API (python's http.server answers 404
    // HTML), so servebench is still waiting for it when Ctrl-C arrives.
    let port = launch_port();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "[[targets]]\nname = \"never-ready\"\napi = \"openai\"\nurl = \"http://127.0.0.1:{port}\"\nmodel = \"m\"\nlaunch = [\"python3\", \"-m\", \"http.server\", \"{port}\", \"--bind\", \"127.0.0.1\"]\n"
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
    let start = std::time::Instant::now();
    while !servebench_engine::server::port_in_use("127.0.0.1", port) {
        assert!(
            start.elapsed().as_secs() < 30,
            "launched server never listened"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let sent = std::time::Instant::now();
    let o = child.wait_with_output().await.unwrap();
    assert!(
        sent.elapsed().as_secs() < 15,
        "took {:?} to stop",
        sent.elapsed()
    );
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        !servebench_engine::server::port_in_use("127.0.0.1", port),
        "managed server left running"
    );
    let r = read_report(&out);
    assert_schema_valid(&r);
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["targets"][0]["status"], "failed");
    assert!(
        r["targets"][0]["error"]
            .as_str()
            .unwrap()
            .contains("interrupted"),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_launch_command_that_exits_fails_the_target_pointing_at_its_log() {
    let port = launch_port();
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[[targets]]\nname = \"crash\"\napi = \"openai\"\nurl = \"http://127.0.0.1:{port}\"\nmodel = \"m\"\nlaunch = [\"sh\", \"-c\", \"echo boom >&2; exit 3\"]\n"
    );
    let (o, out) = run_plan(dir.path(), &toml).await;
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains(
            "server exited with exit status: 3 before it was ready; its log ends: boom; see"
        ),
        "{}",
        o.stderr
    );
    assert!(
        std::fs::read_to_string(out.join("server-crash.log"))
            .unwrap()
            .contains("boom")
    );
}

/// An OpenAI mock answering 4 tokens at once.
async fn quick_mock() -> Mock {
    mock_openai(MockCfg {
        tokens: 4,
        ..Default::default()
    })
    .await
}

/// One quick run of the OpenAI mock into `out`: cold + `warm` requests.
async fn quick_run(url: &str, out: &str, warm: &str) -> Out {
    servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        url,
        "--model",
        "mock-model",
        "--warm",
        warm,
        "--max-tokens",
        "4",
        "--out",
        out,
    ])
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn reusing_an_out_dir_is_refused_so_runs_never_mix() {
    let m = quick_mock().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let first = quick_run(&m.url(), out, "2").await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let second = quick_run(&m.url(), out, "2").await;
    assert_eq!(second.code, 2, "{}", second.stderr);
    assert_eq!(second.stderr.lines().count(), 1, "{}", second.stderr);
    assert!(
        second.stderr.contains(out) && second.stderr.contains("is not empty"),
        "{}",
        second.stderr
    );
    let lines = std::fs::read_to_string(dir.path().join("requests.jsonl")).unwrap();
    assert_eq!(
        lines.lines().count(),
        3,
        "the first run's journal is untouched"
    );
    assert_eq!(
        read_report(dir.path())["targets"][0]["phases"]["warm"]["requests"],
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn report_and_compare_on_a_report_without_targets_say_so() {
    let m = quick_mock().await;
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let o = quick_run(&m.url(), run_dir.to_str().unwrap(), "1").await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut r = read_report(&run_dir);
    r["targets"] = Value::Array(vec![]);
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r.to_string()).unwrap();
    let empty = empty.to_str().unwrap();
    let full = run_dir.join("report.json");
    for args in [
        vec!["report", empty],
        vec!["compare", empty, full.to_str().unwrap()],
        vec!["compare", full.to_str().unwrap(), empty],
    ] {
        let o = servebench(&args).await;
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
        assert!(o.stderr.contains("has no targets"), "{}", o.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn writing_to_a_full_stdout_is_an_error_but_a_closed_pipe_is_not() {
    let m = quick_mock().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    assert_eq!(quick_run(&m.url(), out, "1").await.code, 0);
    let full = std::fs::File::create("/dev/full").unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_servebench"))
        .env("SERVEBENCH_STORE", crate::common::bin::TEST_STORE)
        .args(["report", out])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
    // `| head` closing the pipe early: quiet, exit 0.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_servebench"))
        .env("SERVEBENCH_STORE", crate::common::bin::TEST_STORE)
        .args(["report", out, "--format", "csv"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// llama.cpp answers any model name with the one model it has: a name it does not list must be
/// refused before any request, not measured under the wrong label.
#[tokio::test(flavor = "multi_thread")]
async fn a_model_the_server_does_not_serve_is_refused_before_any_request() {
    let m = mock_openai(MockCfg {
        model: "smollm2-135m".into(),
        any_model: true,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let o = run_quick(
        "openai",
        &m.url(),
        "smollm2-1.7b",
        &["--out", dir.path().to_str().unwrap()],
    )
    .await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains(&format!(
            "model smollm2-1.7b not found on {}; available: smollm2-135m",
            m.url()
        )),
        "{}",
        o.stderr
    );
    assert_eq!(m.requests(), 0, "no generation request was sent");

    // A server that lists nothing: measured, and the report says the name is unverified.
    let m = mock_openai(MockCfg {
        listed: Some(Vec::new()),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let o = run_quick(
        "openai",
        &m.url(),
        "mock-model",
        &["--warm", "1", "--out", dir.path().to_str().unwrap()],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = read_report(dir.path());
    assert_eq!(r["targets"][0]["model_check"], "unverified");
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("Could not verify the model name"), "{md}");
}

/// The first hour's mistakes get one clear line each: a host that does not resolve, an
/// endpoint given as the base URL, a directory that is not a run, `--warm 0`; a single target
/// that failed before any request prints its error once and no table of dashes.
#[tokio::test(flavor = "multi_thread")]
async fn typical_mistakes_get_one_clear_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dns");
    let o = run_quick(
        "openai",
        "http://no-such-host.invalid:8000",
        "m",
        &["--out", out.to_str().unwrap()],
    )
    .await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(
        o.stderr
            .matches("host not found for http://no-such-host.invalid:8000")
            .count(),
        1,
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("check the host name in the url"),
        "{}",
        o.stderr
    );
    assert!(!o.stdout.contains("| Metric"), "{}", o.stdout);

    let o = run_quick(
        "openai",
        "http://localhost:8000/v1/chat/completions",
        "m",
        &[],
    )
    .await;
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("give the base URL (http://localhost:8000), not an endpoint"),
        "{}",
        o.stderr
    );

    let o = servebench(&["report", dir.path().to_str().unwrap()]).await;
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("is not a servebench run (no report.json or run.json)"),
        "{}",
        o.stderr
    );

    let m = mock_openai(MockCfg::default()).await;
    let o = servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        &m.url(),
        "--model",
        "mock-model",
        "--warm",
        "0",
        "--out",
        dir.path().join("nowarm").to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("warning: --warm 0: no warm phase"),
        "{}",
        o.stderr
    );
}

/// `--cold 2` progress says which cold load a line belongs to, and a finished run's run.json
/// no longer claims the run was interrupted.
#[tokio::test(flavor = "multi_thread")]
async fn progress_names_each_cold_load_and_run_json_ends_finished() {
    let m = mock_ollama(MockCfg::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let o = run_quick(
        "ollama",
        &m.url(),
        "mock-model",
        &[
            "--cold",
            "2",
            "--warm",
            "1",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("cold load 1/2 1/1 ok"), "{}", o.stderr);
    assert!(o.stderr.contains("cold load 2/2 1/1 ok"), "{}", o.stderr);
    let run: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).unwrap())
            .unwrap();
    assert_eq!(run["interrupted"], false);
}

/// In plain output (CI logs, pipes) a request in flight for a long time shows that the run is
/// alive: after 10 s without a line, one says the phase is still running.
#[tokio::test(flavor = "multi_thread")]
async fn a_long_request_in_flight_shows_the_run_is_alive() {
    let m = mock_openai(MockCfg {
        ttft: std::time::Duration::from_secs(11),
        tokens: 1,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let o = run_quick(
        "openai",
        &m.url(),
        "mock-model",
        &["--warm", "0", "--out", dir.path().to_str().unwrap()],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("[openai] cold load 1/1: still running, "),
        "{}",
        o.stderr
    );
}

/// `--quality-load` (flag or plan key) that does not parse, or puts no load on the server, is
/// exit 2 naming it, before anything is sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_quality_load_that_does_not_parse_or_loads_nothing_is_refused() {
    for (bad, says) in [
        ("concurency:4", "concurency"),
        ("concurrency:x", "concurrency:x"),
        ("sequential", "puts no load"),
        ("sweep", "puts no load"),
    ] {
        for cmd in ["eval", "run"] {
            let mut args = vec![cmd, "--api", "openai", "--url", "http://127.0.0.1:9"];
            args.extend(["--model", "m", "--quality-load", bad]);
            if cmd == "run" {
                args.extend(["--quality", "builtin"]);
            }
            let o = servebench(&args).await;
            assert_eq!(o.code, 2, "{cmd} --quality-load {bad}: {}", o.stderr);
            assert!(
                o.stderr.contains("--quality-load") && o.stderr.contains(says),
                "{cmd} --quality-load {bad}: {}",
                o.stderr
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (o, _) = run_plan(
        dir.path(),
        "[run]\nquality = \"builtin\"\nquality_load = \"sweep\"\n\n[[targets]]\nname = \"a\"\napi = \"openai\"\nurl = \"http://127.0.0.1:9\"\nmodel = \"m\"\n",
    )
    .await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("quality_load sweep"), "{}", o.stderr);
}

/// A quality knob with no quality dataset, and the report's prompt on the built-in scenarios
/// (which keep their own), are refused rather than silently ignored.
#[tokio::test(flavor = "multi_thread")]
async fn quality_knobs_that_would_do_nothing_are_refused() {
    let quick = [
        "--api",
        "openai",
        "--url",
        "http://127.0.0.1:9",
        "--model",
        "m",
    ];
    let o = servebench(&[&["run"][..], &quick, &["--quality-limit", "2"]].concat()).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("--quality-limit needs a quality dataset"),
        "{}",
        o.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let (o, _) = run_plan(
        dir.path(),
        "[run]\nquality_load = \"concurrency:2\"\n\n[[targets]]\nname = \"a\"\napi = \"openai\"\nurl = \"http://127.0.0.1:9\"\nmodel = \"m\"\n",
    )
    .await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("quality_load is set but no quality dataset"),
        "{}",
        o.stderr
    );
    let o = servebench(&[&["eval"][..], &quick, &["--prompt-style", "qwen"]].concat()).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("prompt style qwen applies to HumanEval-format datasets"),
        "{}",
        o.stderr
    );
}
