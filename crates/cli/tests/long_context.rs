//! The long-context ladder against the mocks: an Ollama runner that silently keeps `num_ctx`
//! tokens is found out at the injected `num_ctx`, even when it cuts only slightly past it (and
//! refuses with `truncate: false`, recorded as `context_exceeded`), and a step longer than the
//! context a server reports is skipped with the reason, not sent.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

fn corpus(dir: &Path) -> String {
    let c = dir.join("corpus");
    std::fs::create_dir_all(&c).unwrap();
    for k in 0..4 {
        let body: String = (0..400)
            .map(|i| format!("def f{k}_{i}(x):\n    return x + {i}\n"))
            .collect();
        std::fs::write(c.join(format!("m{k}.py")), body).unwrap();
    }
    c.to_str().unwrap().to_string()
}

fn ladder(r: &Value) -> &Value {
    let w = &r["targets"][0]["workload"];
    assert_eq!(w["kind"], "context", "{w}");
    &w["report"]
}

async fn run(url: &str, api: &str, dir: &Path, name: &str, extra: &[&str]) -> (Out, Value) {
    let out = dir.join(name);
    let c = corpus(dir);
    let mut args = vec![
        "--workload",
        "context",
        "--corpus",
        &c,
        "--ladder-requests",
        "2",
        "--max-tokens",
        "4",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = run_quick(api, url, "mock-model", &args).await;
    let r = if o.code == 0 {
        read_report(&out)
    } else {
        Value::Null
    };
    (o, r)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ollama_runner_that_cuts_at_num_ctx_is_found_out_at_num_ctx() {
    let m = mock_ollama(MockCfg {
        num_ctx: Some(1200),
        tokens: 4,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (o, r) = run(
        &m.url(),
        "ollama",
        dir.path(),
        "cut",
        &["--ladder", "512,1k,2k"],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let l = ladder(&r);
    assert_eq!(l["sent_counted_by"], "estimate");
    let steps = l["steps"].as_array().unwrap();
    let cut: Vec<bool> = steps
        .iter()
        .map(|s| s["truncated"].as_bool().unwrap())
        .collect();
    assert_eq!(cut, [false, false, true], "{l}");
    assert_eq!(steps[2]["server_prompt_tokens"].as_f64(), Some(1200.0));
    assert_eq!(l["truncated_to"].as_u64(), Some(1200));
    let w = &l["findings"][0];
    assert_eq!(w["code"], "ladder_cut_silently", "{w}");
    assert_eq!(
        (w["values"]["over"].as_str(), w["values"]["n"].as_str()),
        (Some("1200"), Some("1200")),
        "{w}"
    );
    let md = std::fs::read_to_string(dir.path().join("cut/report.md")).unwrap();
    assert!(
        md.contains("**truncated**") && md.contains("set num_ctx"),
        "{md}"
    );

    // The plan's num_ctx reaches the runner: nothing is cut.
    let before = m.bodies().len();
    let (o, r) = run(
        &m.url(),
        "ollama",
        dir.path(),
        "wide",
        &[
            "--ladder",
            "512,1k,2k",
            "--extra-body",
            r#"{"options": {"num_ctx": 8192}}"#,
        ],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(ladder(&r)["truncated_to"], Value::Null, "{}", ladder(&r));
    // Every request carried it, the sizing ones too (another num_ctx would reload the runner
    // inside the first step's TTFT).
    let bodies = m.bodies();
    assert!(bodies.len() > before);
    for b in &bodies[before..] {
        assert_eq!(b["options"]["num_ctx"], 8192, "{b}");
    }

    // truncate: false: Ollama refuses instead, and the refusal is context_exceeded.
    let (o, r) = run(
        &m.url(),
        "ollama",
        dir.path(),
        "refuse",
        &[
            "--ladder",
            "1k,2k",
            "--extra-body",
            r#"{"truncate": false}"#,
        ],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let s = &ladder(&r)["steps"][1];
    assert_eq!(
        s["phase"]["failures"]["context_exceeded"].as_u64(),
        Some(2),
        "{s}"
    );
    assert_eq!(s["truncated"], false);
}

/// A runner that keeps 1,600 tokens cuts the 2k step to 78 % of what was sent — over the
/// overall share — but counts only about half of the tokens the step added to the 1k one.
#[tokio::test(flavor = "multi_thread")]
async fn a_cut_only_slightly_past_num_ctx_is_found_from_the_tokens_added() {
    let m = mock_ollama(MockCfg {
        num_ctx: Some(1600),
        tokens: 4,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (o, r) = run(
        &m.url(),
        "ollama",
        dir.path(),
        "slight",
        &["--ladder", "512,1k,2k"],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let l = ladder(&r);
    let steps = l["steps"].as_array().unwrap();
    let sent = steps[2]["sent_tokens"].as_f64().unwrap();
    assert!(1600.0 / sent > 0.75, "{l}");
    let cut: Vec<bool> = steps
        .iter()
        .map(|s| s["truncated"].as_bool().unwrap())
        .collect();
    assert_eq!(cut, [false, false, true], "{l}");
    assert_eq!(l["truncated_to"].as_u64(), Some(1600), "{l}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_step_beyond_the_servers_context_is_skipped_with_the_reason() {
    // vLLM's /v1/models says max_model_len 16384.
    let m = mock_openai(MockCfg {
        prompt_cache: Some(CacheMock::Prefix),
        tokens: 4,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (o, r) = run(
        &m.url(),
        "openai",
        dir.path(),
        "skip",
        &["--ladder", "1k,32k"],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let l = ladder(&r);
    assert_eq!(l["server_context"].as_u64(), Some(16384));
    let s = &l["steps"][1];
    assert_eq!(s["tokens"].as_u64(), Some(32768));
    assert!(
        s["skipped"]
            .as_str()
            .unwrap()
            .contains("exceed the server's context of 16384 tokens"),
        "{s}"
    );
    assert_eq!(s["phase"]["requests"].as_u64(), Some(0));
    assert_eq!(l["steps"][0]["phase"]["ok"].as_u64(), Some(2));
    // Bad ladders exit 2 naming the fix.
    for (args, says) in [
        (
            vec!["--workload", "context", "--ladder", "2k,1k"],
            "must increase",
        ),
        (vec!["--ladder", "1k"], "--ladder is for the context ladder"),
    ] {
        let o = run_quick("openai", &m.url(), "mock-model", &args).await;
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(says), "{args:?}: {}", o.stderr);
    }
}

/// A length under the context by itself but over it with the chat template (counted on the
/// shorter step: the mock's 4 words) is skipped, not sent to be refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_step_over_the_context_with_its_template_is_skipped() {
    let m = mock_openai(MockCfg {
        prompt_cache: Some(CacheMock::Prefix),
        tokens: 4,
        max_model_len: 600,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // 596 + 4 generated fit 600; 596 + the 4-token template + 4 do not.
    let (o, r) = run(
        &m.url(),
        "openai",
        dir.path(),
        "t",
        &["--ladder", "256,596"],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let l = ladder(&r);
    assert_eq!(l["steps"][0]["phase"]["ok"].as_u64(), Some(2), "{l}");
    let s = &l["steps"][1];
    let why = s["skipped"].as_str().unwrap_or_default();
    assert!(
        why.contains("+ 4 of the chat template") && why.contains("context of 600 tokens"),
        "{s}"
    );
    assert_eq!(s["phase"]["requests"].as_u64(), Some(0), "{s}");
    assert_eq!(m.requests(), 2, "only the first step was sent");
}

/// A ladder whose tokenizer failed on one step says its counts are estimates (and judges them
/// by the estimates' rules): the vLLM mock's `/tokenize` fails on the 2k step only.
#[tokio::test(flavor = "multi_thread")]
async fn a_step_the_tokenizer_could_not_count_makes_the_counts_estimates() {
    let m = mock_openai(MockCfg {
        prompt_cache: Some(CacheMock::Prefix),
        tokenize_fails_over: Some(1500),
        tokens: 4,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (o, r) = run(
        &m.url(),
        "openai",
        dir.path(),
        "estimate",
        &["--ladder", "512,2k"],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let l = ladder(&r);
    assert_eq!(l["sent_counted_by"], "estimate", "{l}");
    for s in l["steps"].as_array().unwrap() {
        assert_eq!(s["phase"]["ok"].as_u64(), Some(2), "{s}");
        assert_eq!(s["truncated"], false, "{s}");
    }
    // With every step counted, the counts are the tokenizer's.
    let (o, r) = run(
        &m.url(),
        "openai",
        dir.path(),
        "tokenized",
        &["--ladder", "512,1k"],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(ladder(&r)["sent_counted_by"], "tokenize", "{}", ladder(&r));
}

/// A plan file's `[run]` knobs for the workload the command line chose are kept (and the flags
/// still win): `ladder` and `ladder_requests` from the file, `--workload context` from the flags.
#[tokio::test(flavor = "multi_thread")]
async fn a_plans_ladder_knobs_apply_when_the_flags_choose_the_workload() {
    let m = mock_openai(MockCfg {
        prompt_cache: Some(CacheMock::Prefix),
        tokens: 4,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let c = corpus(dir.path());
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "[run]\nladder = \"512,1k\"\nladder_requests = 1\nmax_tokens = 3\ncorpus = {c:?}\n\n[[targets]]\nname = \"m\"\napi = \"openai\"\nurl = \"{}\"\nmodel = \"mock-model\"\n",
            m.url()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = servebench(&[
        "run",
        plan.to_str().unwrap(),
        "--workload",
        "context",
        "--ladder-requests",
        "2",
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = read_report(&out);
    let l = ladder(&r);
    let tokens: Vec<u64> = l["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tokens"].as_u64().unwrap())
        .collect();
    assert_eq!(tokens, [512, 1024], "the file's ladder");
    assert_eq!(l["max_tokens"].as_u64(), Some(3), "the file's max_tokens");
    assert_eq!(
        l["steps"][0]["phase"]["requests"].as_u64(),
        Some(2),
        "the flag wins"
    );
}
