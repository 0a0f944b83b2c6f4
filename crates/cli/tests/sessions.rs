//! The multi-turn sessions workload against the mock: each turn resends the conversation with
//! the server's actual replies, the cached prompt tokens the server states are kept per turn
//! and add up to the reported hit rates exactly, TTFT follows the uncached share, a turn the
//! server refuses as too long is `context_exceeded` and ends its session, vLLM's block-granular
//! counts agree with its `/metrics` counters, Ctrl-C in a last turn cuts its session, and bad
//! session input exits 2 naming the file, line and field. The sources: `sessions_sources.rs`.

use crate::common::*;
use serde_json::Value;
use servebench_engine::record::{Outcome, RequestRecord};
use std::path::Path;
use std::time::Duration;

/// Two sessions of three turns, with no system message (so the mock's only shared prefix
/// between sessions is its 4-word template).
const SESSIONS: &str = r#"{"id": "a", "turns": ["explain the parser module please", "now show one bug in it", "and write the fix"]}
{"id": "b", "turns": ["what does the cache layer do", {"user": "how is it invalidated", "think_s": 0.2}, "write a test for that"]}
"#;

fn session_file(dir: &Path) -> String {
    let p = dir.join("sessions.jsonl");
    std::fs::write(&p, SESSIONS).unwrap();
    p.to_str().unwrap().to_string()
}

pub(crate) fn records(out: &Path) -> Vec<RequestRecord> {
    let (r, _) = servebench_engine::journal::read(&out.join("requests.jsonl")).unwrap();
    r.into_iter()
        .filter(|r| r.phase.to_string() == "session")
        .collect()
}

pub(crate) fn sessions(r: &Value) -> &Value {
    let w = &r["targets"][0]["workload"];
    assert_eq!(w["kind"], "sessions", "{w}");
    &w["report"]
}

/// `servebench run` on the mock: the sessions workload, no think time, into `out`, then
/// `extra` (the source and the profile).
pub(crate) async fn run_sessions(api: &str, url: &str, out: &Path, extra: &[&str]) -> Out {
    let mut args = vec![
        "--workload",
        "sessions",
        "--think-time",
        "const:0",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_quick(api, url, "mock-model", &args).await
}

/// A mock that answers in about 30 ms (20 ms to the first token, 2 ms a token).
pub(crate) fn fast() -> MockCfg {
    MockCfg {
        ttft: Duration::from_millis(20),
        per_token: Duration::from_millis(2),
        ..Default::default()
    }
}

/// The turn of `r`'s session before `r`.
pub(crate) fn previous<'a>(recs: &'a [RequestRecord], r: &RequestRecord) -> &'a RequestRecord {
    let st = r.session.unwrap();
    recs.iter()
        .find(|p| {
            p.session.unwrap().session == st.session && p.session.unwrap().turn + 1 == st.turn
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_turn_resends_the_history_and_its_cached_tokens_are_counted_exactly() {
    let ttft = Duration::from_millis(300);
    let m = mock_openai(MockCfg {
        prompt_cache: Some(CacheMock::Prefix),
        ttft,
        tokens: 5,
        per_token: Duration::from_millis(5),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = session_file(dir.path());
    let out = dir.path().join("out");
    let o = run_sessions(
        "openai",
        &m.url(),
        &out,
        &["--sessions", &file, "--profile", "sessions:1"],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    // The conversation grows by the server's own reply and the next user turn.
    let bodies = m.bodies();
    assert_eq!(bodies.len(), 6);
    let msgs = |k: usize| bodies[k]["messages"].as_array().unwrap().clone();
    assert_eq!(msgs(0).len(), 1);
    assert_eq!(msgs(2).len(), 5);
    assert_eq!(msgs(1)[1]["role"], "assistant");
    assert_eq!(msgs(1)[1]["content"], " t0 t1 t2 t3 t4");
    assert_eq!(msgs(2)[4]["content"], "and write the fix");
    assert!(
        msgs(0)[0]["content"]
            .as_str()
            .unwrap()
            .ends_with("explain the parser module please")
    );

    let recs = records(&out);
    assert_eq!(recs.len(), 6);
    let (mut prompt, mut cached) = (0u64, 0u64);
    let mut by_turn = [(0u64, 0u64); 3];
    for r in &recs {
        let st = r.session.unwrap();
        let n = r.input_tokens.unwrap();
        let c = r.cached_prompt_tokens.unwrap();
        // The mock's cache: nothing for the first request, the template for another session's
        // first turn (the session tag differs), the whole previous prompt and its 5-token reply
        // for a later turn.
        let want = match st.turn {
            1 if st.session == 0 => 0,
            1 => 4,
            _ => previous(&recs, r).input_tokens.unwrap() + 5,
        };
        assert_eq!(c, want, "session {} turn {}", st.session, st.turn);
        // TTFT is the injected one scaled by the uncached share (±60 ms for scheduling).
        let expect = ttft.as_secs_f64() * (n - c) as f64 / n as f64;
        let got = r.ttft.unwrap().as_secs_f64();
        assert!(
            (got - expect).abs() < 0.06,
            "turn {}: ttft {got:.3} s, expected {expect:.3} s",
            st.turn
        );
        prompt += n;
        cached += c;
        let b = &mut by_turn[st.turn as usize - 1];
        b.0 += n;
        b.1 += c;
    }
    let r = read_report(&out);
    let s = sessions(&r);
    assert_eq!(
        (s["started"].as_u64(), s["completed"].as_u64()),
        (Some(2), Some(2))
    );
    // Per turn index: TTFT and the token counts summarise that turn's records.
    for k in 1..=3u32 {
        let of: Vec<&RequestRecord> = recs
            .iter()
            .filter(|r| r.session.unwrap().turn == k)
            .collect();
        let mean = |f: &dyn Fn(&RequestRecord) -> f64| {
            of.iter().map(|r| f(r)).sum::<f64>() / of.len() as f64
        };
        let t = &s["by_turn"][k as usize - 1];
        for (key, want) in [
            ("ttft_s", mean(&|r| r.ttft.unwrap().as_secs_f64())),
            ("input_tokens", mean(&|r| r.input_tokens.unwrap() as f64)),
            (
                "cached_tokens",
                mean(&|r| r.cached_prompt_tokens.unwrap() as f64),
            ),
            ("output_tokens", 5.0),
        ] {
            let got = t[key]["mean"].as_f64().unwrap();
            assert!((got - want).abs() < 1e-6, "turn {k} {key}: {got} vs {want}");
        }
        assert_eq!(t["ok"].as_u64(), Some(2), "turn {k}");
    }
    assert_eq!(s["cache"]["source"], "server");
    assert_eq!(s["cache"]["prompt_tokens"].as_u64(), Some(prompt));
    assert_eq!(s["cache"]["cached_tokens"].as_u64(), Some(cached));
    let rate = s["cache"]["hit_rate"].as_f64().unwrap();
    assert!(
        (rate - cached as f64 / prompt as f64).abs() < 1e-12,
        "{rate}"
    );
    assert_eq!(s["cache"]["history_reuse"].as_f64(), Some(1.0));
    for (k, (n, c)) in by_turn.iter().enumerate() {
        let t = &s["by_turn"][k];
        assert_eq!(t["turn"].as_u64(), Some(k as u64 + 1));
        let h = t["cache_hit_rate"].as_f64().unwrap();
        assert!(
            (h - *c as f64 / *n as f64).abs() < 1e-12,
            "turn {}: {h}",
            k + 1
        );
    }
    assert!(
        s["findings"].as_array().unwrap().is_empty(),
        "{}",
        s["findings"]
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Chat and agent sessions"), "{md}");
    assert!(md.contains("| openai | 3 | 2 / 2 |"), "{md}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_reports_no_cache_count_is_said_to_be_unknown() {
    let m = mock_openai(MockCfg {
        tokens: 3,
        ..fast()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = session_file(dir.path());
    let out = dir.path().join("out");
    let o = run_sessions(
        "openai",
        &m.url(),
        &out,
        &["--sessions", &file, "--profile", "sessions:2"],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = read_report(&out);
    let s = sessions(&r);
    // The mock without its cache reports none: the report says the cache use is unknown.
    assert_eq!(s["cache"]["source"], Value::Null);
    assert_eq!(
        s["findings"][0]["code"], "cache_unknown",
        "{}",
        s["findings"]
    );
    assert_eq!(s["concurrency"].as_u64(), Some(2));
    // sessions:2 runs the two sessions at once: their first turns overlap in time.
    let recs = records(&out);
    let span = |k: u64| {
        let r = recs
            .iter()
            .find(|r| r.session.unwrap().session == k && r.session.unwrap().turn == 1)
            .unwrap();
        (r.sent_unix_s, r.sent_unix_s + r.end.as_secs_f64())
    };
    let (a, b) = (span(0), span(1));
    assert!(a.0.max(b.0) < a.1.min(b.1), "turn 1 of each: {a:?} {b:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_turn_beyond_the_context_is_context_exceeded_and_ends_its_session() {
    // Session a: 4 + 5 words, then 4 + 5 + 3 + 6 = 18, then 18 + 3 + 4 = 25 words: with a
    // limit of 20 its third turn is refused.
    let m = mock_openai(MockCfg {
        tokens: 3,
        ctx_limit: Some(20),
        ..fast()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("one.jsonl");
    std::fs::write(
        &p,
        r#"{"id": "a", "turns": ["one two three four five", "six seven eight nine ten eleven", "twelve thirteen fourteen fifteen", "never sent"]}"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = run_quick(
        "openai",
        &m.url(),
        "mock-model",
        &[
            "--workload",
            "sessions",
            "--sessions",
            p.to_str().unwrap(),
            "--think-time",
            "0",
            "--allow-prompt-cache",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let recs = records(&out);
    assert_eq!(recs.len(), 3, "the fourth turn is never sent");
    assert_eq!(recs[2].outcome, Outcome::ContextExceeded);
    assert_eq!(recs[2].input_tokens, Some(25));
    let r = read_report(&out);
    let s = sessions(&r);
    assert_eq!(s["context_exceeded"].as_u64(), Some(1));
    assert_eq!(s["ended_early"].as_u64(), Some(1));
    assert_eq!(s["turns"]["failures"]["context_exceeded"].as_u64(), Some(1));
    let f = s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "turns_refused_up_to")
        .unwrap_or_else(|| panic!("{}", s["findings"]));
    assert_eq!(f["values"]["tokens"], "25", "{f}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_session_input_exits_2_naming_the_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.jsonl");
    std::fs::write(
        &p,
        "{\"turns\": [\"fine\"]}\n{\"turns\": [\"ok\", {\"user\": \"x\", \"max_tokens\": -3}]}\n",
    )
    .unwrap();
    let o = run_quick(
        "openai",
        "http://127.0.0.1:9",
        "m",
        &["--workload", "sessions", "--sessions", p.to_str().unwrap()],
    )
    .await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    let want = format!("{}:2: turns[1].max_tokens: ", p.display());
    assert!(o.stderr.contains(&want), "{}", o.stderr);
    assert_eq!(o.stderr.trim().lines().count(), 1, "{}", o.stderr);
    for (args, says) in [
        (
            vec!["--workload", "sessions", "--profile", "concurrency:4"],
            "use sessions:N",
        ),
        (
            vec!["--profile", "sessions:4"],
            "needs the sessions workload",
        ),
        (vec!["--turns", "3"], "--turns is for the sessions workload"),
        (
            vec!["--workload", "sessions", "--think-time", "gauss:2"],
            "uniform:MIN:MAX",
        ),
        (vec!["--extra-body", "[1]"], "expected a JSON object"),
        (
            vec![
                "--workload",
                "sessions",
                "--sessions",
                "agent",
                "--sharegpt",
                "x.json",
            ],
            "cannot be used with",
        ),
    ] {
        let o = run_quick("openai", "http://127.0.0.1:9", "m", &args).await;
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(says), "{args:?}: {}", o.stderr);
    }
}

/// Ollama reports no cached count: `prompt_eval_count` is the whole prompt and only
/// `prompt_eval_duration` shrinks. The reuse is estimated from the duration against the
/// uncached rate measured first, close to what the mock's cache held, and labelled so.
#[tokio::test(flavor = "multi_thread")]
async fn ollama_cache_use_is_estimated_from_the_prompt_eval_time() {
    let m = mock_ollama(MockCfg {
        prompt_cache: Some(CacheMock::Prefix),
        tokens: 5,
        ..fast()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = session_file(dir.path());
    let out = dir.path().join("out");
    let o = run_sessions("ollama", &m.url(), &out, &["--sessions", &file]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = read_report(&out);
    let s = sessions(&r);
    assert_eq!(s["cache"]["source"], "estimated");
    let rate = s["uncached_prefill_tok_s"].as_f64().unwrap();
    // The calibration prompt: all but the 4-word template evaluated at 1 ms a token.
    assert!((1000.0..1400.0).contains(&rate), "{rate}");
    // What the mock held: each later turn's previous prompt and 5-word reply.
    let recs = records(&out);
    let mut held = 0u64;
    for r in recs.iter().filter(|r| r.session.unwrap().turn > 1) {
        held += previous(&recs, r).input_tokens.unwrap() + 5;
    }
    let reused = s["cache"]["reused_tokens"].as_u64().unwrap();
    assert!(
        reused.abs_diff(held) <= 8,
        "estimated {reused} reused tokens, the mock held {held}"
    );
    assert!(
        s["cache"]["history_reuse"].as_f64().unwrap() > 0.9,
        "{}",
        s["cache"]
    );
}

/// New sessions on an open-loop schedule, and the end of the run cutting them: two sessions
/// arrive 50 ms apart (`rate:20:constant`), each turn after 0.3 s of thinking, and `--duration
/// 0.5` lets neither reach its third turn.
#[tokio::test(flavor = "multi_thread")]
async fn sessions_arrive_on_a_rate_and_the_end_of_the_run_cuts_them() {
    let m = mock_openai(MockCfg {
        tokens: 2,
        ttft: Duration::from_millis(10),
        per_token: Duration::from_millis(2),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = session_file(dir.path());
    let out = dir.path().join("out");
    let o = run_quick(
        "openai",
        &m.url(),
        "mock-model",
        &[
            "--workload",
            "sessions",
            "--sessions",
            &file,
            "--profile",
            "rate:20:constant",
            "--think-time",
            "const:0.3",
            "--duration",
            "0.5",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let recs = records(&out);
    let firsts: Vec<&RequestRecord> = recs
        .iter()
        .filter(|r| r.session.unwrap().turn == 1)
        .collect();
    assert_eq!(firsts.len(), 2);
    let gap = (firsts[1].scheduled_unix_s() - firsts[0].scheduled_unix_s()).abs();
    assert!(
        (gap - 0.05).abs() < 1e-6,
        "sessions scheduled {gap} s apart"
    );
    assert!(
        recs.iter().all(|r| r.session.unwrap().turn <= 2),
        "no third turn"
    );
    let r = read_report(&out);
    let s = sessions(&r);
    assert_eq!(s["concurrency"], Value::Null);
    assert_eq!(
        (s["cut_by_end"].as_u64(), s["completed"].as_u64()),
        (Some(2), Some(0))
    );
    assert!(
        s["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "sessions_cut" && f["values"]["n"] == "2"),
        "{}",
        s["findings"]
    );
}

/// A sweep over sessions at once: one sessions phase per step, each over the whole source,
/// reported in `sessions_sweep` under its load and rebuilt from its own records.
#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_runs_one_sessions_phase_per_step() {
    let m = mock_openai(MockCfg {
        tokens: 2,
        ttft: Duration::from_millis(10),
        per_token: Duration::from_millis(2),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = session_file(dir.path());
    let out = dir.path().join("out");
    let o = run_quick(
        "openai",
        &m.url(),
        "mock-model",
        &[
            "--workload",
            "sessions",
            "--sessions",
            &file,
            "--profile",
            "sweep:1,2",
            "--think-time",
            "0",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = read_report(&out);
    let w = &r["targets"][0]["workload"];
    assert_eq!(w["kind"], "sessions_sweep", "{w}");
    let steps = w["report"].as_array().unwrap();
    let loads: Vec<&str> = steps.iter().map(|s| s["load"].as_str().unwrap()).collect();
    assert_eq!(loads, ["sessions:1", "sessions:2"]);
    for s in steps {
        assert_eq!(
            (s["started"].as_u64(), s["turns"]["ok"].as_u64()),
            (Some(2), Some(6)),
            "{s}"
        );
    }
    let recs = records(&out);
    assert_eq!(recs.iter().filter(|r| r.step == Some(1)).count(), 6);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| openai @ sessions:2 |"), "{md}");
    // Rebuilt from the journal on top of the report's facts: the same steps.
    let o = servebench(&[
        "report",
        out.to_str().unwrap(),
        "--from-journal",
        "--format",
        "json",
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let again: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(again["targets"][0]["workload"], *w);
}

/// vLLM's cached counts: `usage.prompt_tokens_details.cached_tokens` in whole 16-token blocks
/// (never the last prompt token), left out when nothing was cached. A turn without the key had
/// none cached; a short history kept whole but read a block short is no thrashing; the
/// `/metrics` prefix-cache counters over the phase add up to the turns' own counts.
#[tokio::test(flavor = "multi_thread")]
async fn vllm_cached_counts_come_in_blocks_and_its_counters_agree() {
    let m = mock_openai(MockCfg {
        prompt_cache: Some(CacheMock::VllmBlocks),
        metrics: true,
        tokens: 5,
        ..fast()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.jsonl");
    // A 20-word system message shared by both sessions, then short turns.
    let sys = "you review code in this repository and answer briefly with the exact change needed and nothing else at all";
    let line = |id: &str| {
        format!(
            "{{\"id\": \"{id}\", \"system\": \"{sys}\", \"turns\": [\"explain the parser module please\", \"now show one bug in it\", \"and write the fix\"]}}\n"
        )
    };
    std::fs::write(&p, line("a") + &line("b")).unwrap();
    let out = dir.path().join("out");
    let o = run_sessions(
        "openai",
        &m.url(),
        &out,
        &["--sessions", p.to_str().unwrap(), "--profile", "sessions:1"],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let recs = records(&out);
    assert_eq!(recs.len(), 6);
    let sys_words = 1 + sys.split_whitespace().count() as u64; // the attempt's tag, then sys
    let (mut prompt, mut cached, mut block_short) = (0u64, 0u64, 0);
    for r in &recs {
        let st = r.session.unwrap();
        let n = r.input_tokens.unwrap();
        // The longest prefix another prompt (and its reply) shares: the template and the
        // tagged system message for another session's first turn, the previous prompt and
        // its 5-token reply for a later one; in whole blocks, at most n − 1.
        let shared = match st.turn {
            1 if st.session == 0 => 0,
            1 => 4 + sys_words,
            _ => {
                let h = previous(&recs, r).input_tokens.unwrap() + 5;
                let c = h.min(n - 1) / 16 * 16;
                if (c as f64) < 0.95 * h as f64 {
                    block_short += 1;
                }
                h
            }
        };
        let want = shared.min(n - 1) / 16 * 16;
        let got = r.cached_prompt_tokens;
        assert_eq!(
            got,
            (want > 0).then_some(want),
            "session {} turn {}",
            st.session,
            st.turn
        );
        prompt += n;
        cached += want;
    }
    assert!(
        block_short > 0,
        "the test needs a history a block short of 95 %"
    );
    let r = read_report(&out);
    let s = sessions(&r);
    assert_eq!(s["cache"]["source"], "server");
    assert_eq!(s["cache"]["prompt_tokens"].as_u64(), Some(prompt));
    assert_eq!(s["cache"]["cached_tokens"].as_u64(), Some(cached));
    assert_eq!(s["cache"]["history_misses"].as_u64(), Some(0));
    // The block size vLLM states (`vllm:cache_config_info`), the miss rule's slack.
    assert_eq!(s["cache_block_tokens"].as_u64(), Some(16), "{s}");
    let pc = &s["server_prefix_cache"];
    assert_eq!(pc["queries"].as_f64(), Some(prompt as f64), "{pc}");
    assert_eq!(pc["hits"].as_f64(), Some(cached as f64), "{pc}");
    assert!(
        s["findings"].as_array().unwrap().is_empty(),
        "{}",
        s["findings"]
    );
}

/// Ctrl-C during a session's last turn cuts the session short: it is not counted completed.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_in_a_last_turn_cuts_its_session() {
    let m = mock_openai(MockCfg {
        tokens: 40,
        ttft: Duration::from_millis(20),
        per_token: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.jsonl");
    std::fs::write(&p, r#"{"id": "a", "turns": ["first", "last"]}"#).unwrap();
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
        ])
        .args(["--workload", "sessions", "--sessions", p.to_str().unwrap()])
        .args(["--think-time", "const:0", "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    // Wait for the last turn to be sent (the mock's second chat request), then interrupt it.
    let waited = std::time::Instant::now();
    while m.requests() < 2 {
        assert!(waited.elapsed() < Duration::from_secs(60), "no second turn");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let o = child.wait_with_output().await.unwrap();
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let recs = records(&out);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].outcome, Outcome::Cancelled);
    let r = read_report(&out);
    let s = sessions(&r);
    assert_eq!(
        (
            s["started"].as_u64(),
            s["completed"].as_u64(),
            s["cut_by_end"].as_u64()
        ),
        (Some(1), Some(0), Some(1)),
        "{s}"
    );
}
