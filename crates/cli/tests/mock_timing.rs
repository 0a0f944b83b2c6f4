//! Measured timings against injected ones, for both dialects, through the whole client.

use crate::common::*;
use servebench_engine::plan::{Api, Endpoint};
use std::time::Duration;

// Tolerances: the mock schedules tokens on absolute times, so the client can only be late by
// scheduling and loopback delay. TTFT may exceed the injected value by 60 ms (request parsing,
// connection setup, a busy 2-core CI box); TPOT must be within 3 ms of the injected 20 ms.
const TTFT_SLACK_S: f64 = 0.060;
const TPOT_SLACK_S: f64 = 0.003;

fn assert_ttft(measured: f64, injected: f64) {
    assert!(
        measured >= injected - 0.001 && measured <= injected + TTFT_SLACK_S,
        "measured TTFT {measured:.4} s; expected the injected {injected:.3} s, at most 1 ms early and {:.0} ms late",
        TTFT_SLACK_S * 1000.0
    );
}

fn assert_tpot(measured: f64, injected: f64) {
    assert!(
        (measured - injected).abs() <= TPOT_SLACK_S,
        "measured TPOT {measured:.4} s; expected the injected {injected:.3} s within ±{:.0} ms",
        TPOT_SLACK_S * 1000.0
    );
}

#[tokio::test]
async fn openai_chat_measures_injected_ttft_tpot_and_decode_rate() {
    let m = mock_openai(MockCfg::default()).await;
    let (r, recs) = run_targets(
        vec![target("vllm", Api::Openai, &m.url(), "mock-model")],
        4,
        |_| {},
    )
    .await;
    let t = &r.targets[0];
    assert_eq!(t.error, None);
    let w = t.phases.warm.as_ref().unwrap();
    assert_eq!((w.requests, w.ok, w.failed), (4, 4, 0));
    assert_eq!(w.token_source.as_deref(), Some("server"));
    assert_ttft(w.ttft_s.p50.unwrap(), 0.150);
    assert_tpot(w.tpot_s.mean.unwrap(), 0.020);
    let decode = w.decode_tok_s.mean.unwrap();
    assert!(
        (decode - 50.0).abs() / 50.0 < 0.10,
        "decode {decode} tok/s vs injected 50"
    );
    // 30 tokens: E2E = 150 ms + 29 × 20 ms = 730 ms.
    assert!(
        (w.e2e_s.mean.unwrap() - 0.730).abs() < TTFT_SLACK_S + 0.01,
        "measured mean E2E {:.4} s; expected 0.730 s (150 ms + 29 × 20 ms) within ±{:.0} ms",
        w.e2e_s.mean.unwrap(),
        (TTFT_SLACK_S + 0.01) * 1000.0
    );
    assert_eq!(w.output_tokens.mean, Some(30.0));
    assert_eq!(w.itl_s.n, 4 * 29);
    assert_tpot(w.itl_s.p50.unwrap(), 0.020);
    // Unmanaged OpenAI server: the load cannot be measured and the cold start is not verified.
    assert_eq!(t.load.seconds, None);
    assert!(!t.cold_verified);
    assert_eq!(t.model_info.context_length, Some(16384));
    assert_eq!(t.server_version.as_deref(), Some("0.11.0-mock"));
    assert_eq!(recs.len(), 5);
    // The request asked for deterministic, bounded, usage-reporting generation.
    let body = &m.bodies()[1];
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["seed"], 42);
    assert_eq!(body["max_tokens"], 256);
    assert_eq!(body["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn openai_without_usage_counts_chunks_and_says_so() {
    let m = mock_openai(MockCfg {
        usage: false,
        tokens: 12,
        ..Default::default()
    })
    .await;
    let (r, _) = run_targets(
        vec![target("s", Api::Openai, &m.url(), "mock-model")],
        2,
        |_| {},
    )
    .await;
    let w = r.targets[0].phases.warm.as_ref().unwrap();
    assert_eq!(w.token_source.as_deref(), Some("chunks"));
    assert_eq!(w.output_tokens.mean, Some(12.0));
}

#[tokio::test]
async fn openai_completions_endpoint_streams_text() {
    let m = mock_openai(MockCfg {
        tokens: 10,
        ..Default::default()
    })
    .await;
    let (r, recs) = run_targets(
        vec![target("s", Api::Openai, &m.url(), "mock-model")],
        2,
        |s| s.endpoint = Endpoint::Completions,
    )
    .await;
    assert!(
        m.bodies()
            .iter()
            .all(|b| b.get("prompt").is_some() && b.get("messages").is_none())
    );
    let w = r.targets[0].phases.warm.as_ref().unwrap();
    assert_eq!(w.ok, 2);
    assert_eq!(recs[1].text, " t0 t1 t2 t3 t4 t5 t6 t7 t8 t9");
    assert_ttft(w.ttft_s.p50.unwrap(), 0.150);
}

#[tokio::test]
async fn ollama_measures_injected_timing_and_reads_server_counts() {
    let cfg = MockCfg {
        ttft: Duration::from_millis(100),
        per_token: Duration::from_millis(25),
        tokens: 20,
        ..Default::default()
    };
    let m = mock_ollama(cfg).await;
    let (r, recs) = run_targets(
        vec![target("ollama", Api::Ollama, &m.url(), "mock-model")],
        3,
        |s| s.max_tokens = 20,
    )
    .await;
    let t = &r.targets[0];
    assert_eq!(t.error, None, "{t:?}");
    let w = t.phases.warm.as_ref().unwrap();
    assert_eq!(w.ok, 3);
    assert_eq!(w.token_source.as_deref(), Some("server"));
    assert_ttft(w.ttft_s.p50.unwrap(), 0.100);
    assert_tpot(w.tpot_s.mean.unwrap(), 0.025);
    // Server-reported decode: eval_count / eval_duration = 20 / (19 × 25 ms).
    let server = w.server_decode_tok_s.mean.unwrap();
    assert!((server - 20.0 / 0.475).abs() < 1e-6, "{server}");
    assert_eq!(recs[1].input_tokens, Some(27));
    let body = &m.bodies()[1];
    assert_eq!(body["options"]["num_predict"], 20);
    assert_eq!(body["options"]["temperature"], 0.0);
    assert_eq!(body["options"]["seed"], 42);
    assert_eq!(body["stream"], true);
    assert_eq!(t.model_info.quantization.as_deref(), Some("Q4_K_M"));
    assert_eq!(t.model_info.parameter_count, Some(3212749888));
    assert_eq!(t.model_info.context_length, Some(131072));
    assert_eq!(t.model_info.family.as_deref(), Some("llama"));
    assert_eq!(t.server_version.as_deref(), Some("0.12.6"));
}

/// A reasoning model: 12 reasoning tokens, then the answer. TTFT is the first reasoning
/// token; the time to the first answer token is the injected TTFT plus the 12 reasoning
/// tokens' time; the answer text holds no reasoning.
#[tokio::test]
async fn time_to_first_answer_is_the_reasoning_time_plus_the_ttft() {
    let m = mock_openai(MockCfg {
        reasoning: 12,
        tokens: 20,
        ..MockCfg::default()
    })
    .await;
    let (r, recs) = run_targets(
        vec![target("vllm", Api::Openai, &m.url(), "mock-model")],
        3,
        |_| {},
    )
    .await;
    let w = r.targets[0].phases.warm.as_ref().unwrap();
    let rz = w.reasoning.as_ref().expect("the phase reasoned");
    assert_eq!((rz.requests, rz.no_answer), (3, 0));
    assert_ttft(rz.time_to_first_reasoning_s.p50.unwrap(), 0.150);
    // 150 ms + 12 × 20 ms.
    assert_ttft(rz.time_to_first_answer_s.p50.unwrap(), 0.150 + 12.0 * 0.020);
    assert_eq!(rz.reasoning_chunks.mean, Some(12.0));
    assert_eq!(rz.answer_chunks.mean, Some(8.0));
    assert_eq!(rz.reasoning_share, Some(0.6));
    for rec in recs.iter().filter(|r| r.phase.to_string() == "warm") {
        assert_eq!(rec.reasoning_chunks, 12);
        assert_eq!(rec.text, " t12 t13 t14 t15 t16 t17 t18 t19");
    }
}
