//! Prompt-cache hits must not pass for prompt processing: every measured prompt is unique from
//! its first token unless the run asks otherwise, the cached count the server states is kept
//! per request, and a phase with hits says so in every format.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

async fn run(url: &str, out: &Path, extra: &[&str]) -> Out {
    let mut args = vec!["--warm", "10", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_quick("openai", url, "mock-model", &args).await
}

fn warm(r: &Value) -> &Value {
    &r["targets"][0]["phases"]["warm"]
}

/// `warm = 10` with 8 built-in prompts repeats two of them, and a second run sends the same
/// prompts again: on a llama.cpp-like server both were answered from the prompt cache, with a
/// TTFT that measured the cache.
#[tokio::test(flavor = "multi_thread")]
async fn prompt_cache_hits_never_contaminate_warm_ttft() {
    let m = mock_openai(MockCfg {
        prompt_cache: Some(CacheMock::Prefix),
        ttft: std::time::Duration::from_millis(200),
        tokens: 5,
        per_token: std::time::Duration::from_millis(5),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    for k in 0..2 {
        let out = dir.path().join(format!("run{k}"));
        let o = run(&m.url(), &out, &[]).await;
        assert_eq!(o.code, 0, "{}", o.stderr);
        let r = read_report(&out);
        assert_eq!(r["settings"]["unique_prompts"], true);
        let cache = &warm(&r)["prompt_cache"];
        assert_eq!(cache["reported"], 10, "run {k}: {cache}");
        assert_eq!(cache["hits"], 0, "run {k}: {cache}");
        // Only the 4-word chat template before the tag is shared.
        assert_eq!(cache["cached_tokens"], 40, "run {k}: {cache}");
        let (records, _) = servebench_engine::journal::read(&out.join("requests.jsonl")).unwrap();
        for rec in records.iter().filter(|r| r.phase.to_string() == "warm") {
            assert_eq!(rec.cached_prompt_tokens, Some(4), "{}", rec.index);
        }
        let p50 = warm(&r)["ttft_s"]["p50"].as_f64().unwrap();
        assert!(
            p50 > 0.15,
            "run {k}: warm TTFT p50 {p50:.3} s: expected about 0.2 s (the injected TTFT scaled by the uncached share), not a cache hit"
        );
        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        assert!(md.contains("warm: prompt cache 40 of"), "{md}");
        assert!(!md.contains("**Prompt cache**"), "{md}");
    }
    // The same workload sent as it is: warm requests cycle prompts 1..7, 0, 1, 2 after the cold
    // request's prompt 0, so three repeat a prompt already sent — hits, and the report says so.
    let out = dir.path().join("reused");
    let o = run(&m.url(), &out, &["--allow-prompt-cache"]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = read_report(&out);
    assert_eq!(r["settings"]["unique_prompts"], false);
    assert_eq!(warm(&r)["prompt_cache"]["hits"], 3, "{}", warm(&r));
    assert!(
        o.stdout
            .contains("**Prompt cache**: 3 of 10 warm requests of openai were cache hits"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("--allow-prompt-cache"), "{}", o.stdout);
}

/// A server whose cache someone else filled: every request is a hit although every prompt
/// was unique; the JSON counts them, the Markdown and the terminal say it beside the summary,
/// and the comparison carries a typed caveat.
#[tokio::test(flavor = "multi_thread")]
async fn a_phase_with_unrequested_cache_hits_says_so() {
    let m = mock_openai(MockCfg {
        prompt_cache: Some(CacheMock::Always),
        tokens: 5,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let o = run(&m.url(), out, &[]).await;
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert!(
            o.stdout
                .contains("**Prompt cache**: 10 of 10 warm requests of openai were cache hits"),
            "{}",
            o.stdout
        );
    }
    let r = read_report(&a);
    assert_eq!(warm(&r)["prompt_cache"]["hits"], 10);
    let md = std::fs::read_to_string(a.join("report.md")).unwrap();
    assert!(
        md.contains("> **Prompt cache**: 10 of 10 warm requests"),
        "{md}"
    );
    let o = servebench(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "json",
    ])
    .await;
    let cmp: Value = serde_json::from_str(&o.stdout).unwrap();
    let codes: Vec<&str> = cmp["caveats"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert!(codes.contains(&"cav_prompt_cache"), "{codes:?}");
    let o = servebench(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--lang",
        "ko",
    ])
    .await;
    assert!(
        o.stdout.contains("프롬프트 캐시에서 처리되었습니다"),
        "{}",
        o.stdout
    );
    // The phase is named in Korean too.
    assert!(
        o.stdout.contains("연속 응답 요청 10개 중 10개"),
        "{}",
        o.stdout
    );
}
