//! Parser tests on the shared wire fixtures (`../shared/fixtures/wire/`), line by line and
//! replayed verbatim over HTTP through the whole client.

use crate::common::events::{cached, content, usage};
use crate::common::*;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::{get, post};
use serde_json::Value;
use servebench_engine::backend::sink::EventSink;
use servebench_engine::backend::{StreamEvent, ollama, openai};
use servebench_engine::plan::Api;
use servebench_engine::record::TokenSource;
use std::time::Duration;

fn decode_all(
    name: &str,
    decode: fn(&str, &mut dyn EventSink) -> Result<(), String>,
) -> Vec<StreamEvent> {
    let mut ev = Vec::new();
    for line in fixture(name).lines() {
        decode(line, &mut ev).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    ev
}

fn reasoning(ev: &[StreamEvent]) -> Vec<String> {
    ev.iter()
        .filter_map(|e| match e {
            StreamEvent::Reasoning(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// Reasoning streams apart from the answer on every stack, chunk for chunk as each fixture's
/// README count says, and never in the answer text.
#[test]
fn reasoning_is_parsed_apart_from_the_answer() {
    for (name, decode, thinking, answer) in [
        (
            "llamacpp_chat_stream_reasoning.sse",
            openai::decode_sse_line as fn(&str, &mut dyn EventSink) -> Result<(), String>,
            34,
            17,
        ),
        (
            "vllm_chat_stream_reasoning.sse",
            openai::decode_sse_line,
            35,
            18,
        ),
        (
            "ollama_chat_thinking_stream.ndjson",
            ollama::decode_line,
            34,
            17,
        ),
    ] {
        let ev = decode_all(name, decode);
        let (r, a) = (reasoning(&ev), content(&ev));
        assert_eq!((r.len(), a.len()), (thinking, answer), "{name}");
        let first_answer = ev
            .iter()
            .position(|e| matches!(e, StreamEvent::Content(_)))
            .unwrap();
        let last_reasoning = ev
            .iter()
            .rposition(|e| matches!(e, StreamEvent::Reasoning(_)))
            .unwrap();
        assert!(
            last_reasoning < first_answer,
            "{name}: the answer follows the reasoning"
        );
        assert!(
            r.concat().contains("The user is asking"),
            "{name}: {}",
            r.concat()
        );
        assert!(!a.concat().contains("<think>"), "{name}: {}", a.concat());
    }
}

#[test]
fn vllm_chat_stream() {
    let ev = decode_all("vllm_chat_stream.sse", openai::decode_sse_line);
    // 24 completion tokens = 23 content deltas + the final empty delta with finish_reason.
    assert_eq!(content(&ev).len(), 23);
    assert_eq!(usage(&ev), (Some(47), Some(24)));
    assert!(ev.contains(&StreamEvent::Finish("stop".into())));
    assert_eq!(ev.last(), Some(&StreamEvent::Done));
}

#[test]
fn vllm_completions_stream() {
    let ev = decode_all("vllm_completions_stream.sse", openai::decode_sse_line);
    assert_eq!(
        content(&ev).concat(),
        " Paris. The capital of Germany is Berlin"
    );
    assert_eq!(usage(&ev), (Some(6), Some(8)));
    assert!(ev.contains(&StreamEvent::Finish("length".into())));
}

#[test]
fn llamacpp_chat_stream_with_timings() {
    let ev = decode_all("llamacpp_chat_stream.sse", openai::decode_sse_line);
    assert_eq!(content(&ev).concat(), "1\n2\n3\n4\n5");
    assert_eq!(usage(&ev), (Some(33), Some(10)));
    let t = ev
        .iter()
        .find_map(|e| match e {
            StreamEvent::Timings(t) => Some(t.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(t.decode_tokens, Some(10));
    assert_eq!(t.decode, Some(Duration::from_micros(79_311)));
    assert_eq!(t.prompt_tokens, Some(19));
    assert!((t.decode_tok_s().unwrap() - 126.08591494244178).abs() < 1e-6);
    // usage.prompt_tokens = cache_n + prompt_n: 14 of the 33 came from the prompt cache.
    assert_eq!(cached(&ev), Some(14));
}

#[test]
fn vllm_cached_tokens_come_from_prompt_tokens_details() {
    // Identical prompt sent twice with --enable-prompt-tokens-details: whole 16-token blocks.
    let ev = decode_all("vllm_chat_stream_cached.sse", openai::decode_sse_line);
    assert_eq!(cached(&ev), Some(32));
    assert_eq!(usage(&ev).0, Some(47));
    // Without the flag (or with nothing cached) the key is absent: unknown, not zero.
    let ev = decode_all("vllm_chat_stream.sse", openai::decode_sse_line);
    assert_eq!(cached(&ev), None);
}

#[test]
fn ollama_openai_layer_stream() {
    let ev = decode_all("ollama_openai_chat_stream.sse", openai::decode_sse_line);
    assert_eq!(content(&ev).concat(), "Hello! How can I help you today?");
    assert_eq!(usage(&ev), (Some(27), Some(10)));
}

#[test]
fn ollama_chat_stream() {
    let ev = decode_all("ollama_chat_stream.ndjson", ollama::decode_line);
    assert_eq!(content(&ev).concat(), "Hello! How can I help you today?");
    assert_eq!(usage(&ev), (Some(27), Some(10)));
    let t = ev
        .iter()
        .find_map(|e| match e {
            StreamEvent::Timings(t) => Some(t.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(t.load, Some(Duration::from_nanos(9_771_482)));
    assert_eq!(t.decode, Some(Duration::from_nanos(67_210_000)));
    assert_eq!(t.total, Some(Duration::from_nanos(93_913_599)));
    assert!(ev.contains(&StreamEvent::Finish("stop".into())));
    assert_eq!(ev.last(), Some(&StreamEvent::Done));
}

#[test]
fn ollama_generate_stream_and_midstream_error() {
    let ev = decode_all("ollama_generate_stream.ndjson", ollama::decode_line);
    assert_eq!(content(&ev).len(), 23);
    assert_eq!(usage(&ev).1, Some(24));
    let ev = decode_all(
        "ollama_generate_stream_error_midstream.ndjson",
        ollama::decode_line,
    );
    assert_eq!(content(&ev).len(), 5);
    assert!(matches!(ev.last(), Some(StreamEvent::Error(m)) if m.contains("unexpected EOF")));
}

#[test]
fn ollama_show_and_ps() {
    let show: Value = serde_json::from_str(&fixture("ollama_show.json")).unwrap();
    let mi = ollama::parse_show(&show);
    assert_eq!(mi.quantization.as_deref(), Some("Q4_K_M"));
    assert_eq!(mi.parameter_count, Some(3_212_749_888));
    assert_eq!(mi.parameter_size.as_deref(), Some("3.2B"));
    assert_eq!(mi.context_length, Some(131_072));
    assert_eq!(mi.family.as_deref(), Some("llama"));
    let ps: Value = serde_json::from_str(&fixture("ollama_ps.json")).unwrap();
    assert_eq!(
        ollama::parse_ps(&ps, "qwen2.5:14b"),
        Some((11_286_937_600, 7_812_644_864))
    );
    assert_eq!(
        ollama::parse_ps(&ps, "llama3.2:3b"),
        Some((3_173_515_264, 3_173_515_264))
    );
    assert_eq!(ollama::parse_ps(&ps, "mistral"), None);
    let empty: Value = serde_json::from_str(&fixture("ollama_ps_empty.json")).unwrap();
    assert_eq!(ollama::parse_ps(&empty, "llama3.2:3b"), None);
}

#[test]
fn openai_models_lists() {
    let v: Value = serde_json::from_str(&fixture("vllm_models.json")).unwrap();
    let mi = openai::parse_model_info(&v, "meta-llama/Llama-3.1-8B-Instruct");
    assert_eq!(mi.context_length, Some(16384));
    assert_eq!(mi.quantization, None, "vLLM does not state it; never guess");
    let v: Value = serde_json::from_str(&fixture("llamacpp_models.json")).unwrap();
    let mi = openai::parse_model_info(&v, "anything");
    assert_eq!(mi.parameter_count, Some(7_615_616_512));
    assert_eq!(mi.weights_bytes, Some(4_677_120_000));
    assert_eq!(mi.context_length, Some(32768));
}

/// Serve fixture bodies verbatim.
async fn replay(
    models: &'static str,
    gen_status: StatusCode,
    gen_file: &'static str,
    ctype: &'static str,
) -> String {
    let app = Router::new()
        .route(
            "/v1/models",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    fixture(models),
                )
            }),
        )
        .route(
            "/v1/chat/completions",
            post(move || async move {
                (
                    gen_status,
                    [(header::CONTENT_TYPE, ctype)],
                    fixture(gen_file),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn llamacpp_stream_replayed_over_http() {
    let url = replay(
        "llamacpp_models.json",
        StatusCode::OK,
        "llamacpp_chat_stream.sse",
        "text/event-stream",
    )
    .await;
    let (r, recs) = run_targets(
        // llama.cpp without --alias lists the model file's path; its file name is the model.
        vec![target(
            "llamacpp",
            Api::Openai,
            &url,
            "Qwen2.5-7B-Instruct-Q4_K_M.gguf",
        )],
        1,
        |_| {},
    )
    .await;
    assert_eq!(r.targets[0].error, None);
    let rec = &recs[1];
    assert!(rec.outcome.is_ok());
    assert_eq!(rec.text, "1\n2\n3\n4\n5");
    assert_eq!(rec.chunk_arrivals.len(), 9);
    assert_eq!(
        (rec.input_tokens, rec.output_tokens, rec.token_source),
        (Some(33), Some(10), Some(TokenSource::Server))
    );
    assert_eq!(rec.finish_reason.as_deref(), Some("stop"));
    assert_eq!(rec.server_timings.as_ref().unwrap().decode_tokens, Some(10));
}

#[tokio::test]
async fn vllm_404_becomes_model_not_found_with_the_available_list() {
    let url = replay(
        "vllm_models.json",
        StatusCode::NOT_FOUND,
        "vllm_error_model_not_found.json",
        "application/json",
    )
    .await;
    let (r, _) = run_targets(
        vec![target("vllm", Api::Openai, &url, "llama-3-70b")],
        1,
        |_| {},
    )
    .await;
    let e = r.targets[0].error.as_deref().unwrap();
    assert_eq!(
        e,
        format!(
            "vllm: model llama-3-70b not found on {url}; available: meta-llama/Llama-3.1-8B-Instruct"
        )
    );
}
