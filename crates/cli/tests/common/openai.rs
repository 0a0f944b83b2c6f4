//! A mock OpenAI-compatible server in vLLM's and llama.cpp's wire format (SSE).

use super::fixture;
use super::mock::*;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

/// A mock OpenAI-compatible server in vLLM's wire format.
pub async fn mock_openai(cfg: MockCfg) -> Mock {
    let s = shared(cfg);
    let app = Router::new()
        .route("/v1/models", get(oa_models))
        .route(
            "/version",
            get(|| async { axum::Json(json!({"version": "0.11.0-mock"})) }),
        )
        .route("/v1/chat/completions", post(oa_generate))
        .route("/v1/completions", post(oa_generate))
        .route("/metrics", get(oa_metrics))
        .route("/tokenize", post(oa_tokenize))
        .with_state(s.clone());
    Mock {
        addr: serve(app).await,
        shared: s,
    }
}

/// vLLM's `/tokenize` (`{"count", "max_model_len", "tokens"}`), counting words as the
/// prompt-cache emulation does; 404 without it (as a server without the endpoint).
pub async fn oa_tokenize(
    State(s): State<Arc<Shared>>,
    axum::Json(b): axum::Json<Value>,
) -> Response {
    if s.cfg.prompt_cache.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let text = b["prompt"].as_str().or(b["content"].as_str()).unwrap_or("");
    let n = text.split_whitespace().count();
    if s.cfg.tokenize_fails_over.is_some_and(|limit| n > limit) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "tokenizer failed").into_response();
    }
    axum::Json(json!({"count": n, "max_model_len": s.cfg.max_model_len, "tokens": vec![1; n]}))
        .into_response()
}

/// vLLM's `/metrics` fixture with two live values; 404 unless `cfg.metrics`.
pub async fn oa_metrics(State(s): State<Arc<Shared>>) -> Response {
    if !s.cfg.metrics {
        return StatusCode::NOT_FOUND.into_response();
    }
    let live = |line: &str| {
        let value = if line.starts_with("vllm:num_requests_running{") {
            s.running.load(Ordering::SeqCst)
        } else if line.starts_with("vllm:generation_tokens_total{") {
            s.generated.load(Ordering::SeqCst)
        } else if line.starts_with("vllm:prefix_cache_queries_total{") {
            s.prefix_queries.load(Ordering::SeqCst)
        } else if line.starts_with("vllm:prefix_cache_hits_total{") {
            s.prefix_hits.load(Ordering::SeqCst)
        } else {
            return line.to_string();
        };
        let (name, _) = line.rsplit_once(' ').unwrap();
        format!("{name} {value}.0")
    };
    let text: Vec<String> = fixture("vllm_metrics.txt").lines().map(live).collect();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text.join("\n") + "\n",
    )
        .into_response()
}

/// Counts a stream as running while alive.
pub struct Running(Arc<Shared>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// 401 in vLLM's words when the mock wants a key and the request lacks it.
pub fn unauthorised(s: &Shared, headers: &axum::http::HeaderMap) -> Option<Response> {
    let want = s.cfg.api_key.as_ref()?;
    let got = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    (got != Some(&format!("Bearer {want}"))).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "Unauthorized"})),
        )
            .into_response()
    })
}

pub async fn oa_models(State(s): State<Arc<Shared>>, headers: axum::http::HeaderMap) -> Response {
    if let Some(r) = unauthorised(&s, &headers) {
        return r;
    }
    let listed = s
        .cfg
        .listed
        .clone()
        .unwrap_or_else(|| vec![s.cfg.model.clone()]);
    let data: Vec<Value> = listed
        .iter()
        .map(|id| {
            json!({
                "id": id, "object": "model", "created": 1749893478, "owned_by": "vllm",
                "root": id, "parent": null, "max_model_len": s.cfg.max_model_len, "permission": []
            })
        })
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

pub async fn oa_generate(
    State(s): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Some(r) = unauthorised(&s, &headers) {
        return r;
    }
    let start = Instant::now();
    let n = s.count.fetch_add(1, Ordering::SeqCst);
    s.bodies.lock().unwrap().push(body.clone());
    if !s.cfg.any_model && body["model"] != json!(s.cfg.model) {
        let m = body["model"].as_str().unwrap_or("");
        return (StatusCode::NOT_FOUND, axum::Json(json!({"error": {"message": format!("The model `{m}` does not exist."), "type": "NotFoundError", "param": "model", "code": 404}}))).into_response();
    }
    if let Some(refused) = super::mock::vllm_refuses_stops(&body) {
        return refused;
    }
    let fault = s.cfg.faults.get(n).cloned().unwrap_or(Fault::None);
    if let Fault::Http(code) = fault {
        let mut r = (StatusCode::from_u16(code).unwrap(), axum::Json(json!({"error": {"message": "injected failure", "type": "server_error", "code": code}}))).into_response();
        if code == 429 || code == 503 {
            r.headers_mut()
                .insert(header::RETRY_AFTER, "0".parse().unwrap());
        }
        return r;
    }
    let chat = body.get("messages").is_some();
    if let (Some(limit), true) = (s.cfg.ctx_limit, chat) {
        let n = prompt_words(&body).len();
        if n > limit {
            return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": {"code": 400, "message": "the request exceeds the available context size, try increasing it", "type": "exceed_context_size_error", "n_prompt_tokens": n, "n_ctx": limit}}))).into_response();
        }
    }
    if let (Some(a), true) = (&s.cfg.answer, chat) {
        let Some(drift) = &s.cfg.batch_drift else {
            return oa_answer((a.0)(&body), s.cfg.clone(), start, None);
        };
        s.running.fetch_add(1, Ordering::SeqCst);
        let running = Running(s.clone());
        tokio::time::sleep(Duration::from_millis(50)).await;
        let batched = s.running.load(Ordering::SeqCst) >= 2;
        let text = if batched {
            (drift.0)(&body)
        } else {
            (a.0)(&body)
        };
        return oa_answer(text, s.cfg.clone(), start, Some(running));
    }
    let (tx, rx) = mpsc::channel(16);
    let mut cfg = s.cfg.clone();
    let cache = if chat { s.cache(&body) } else { None };
    if matches!(
        cfg.prompt_cache,
        Some(CacheMock::Prefix | CacheMock::VllmBlocks)
    ) && let Some((n, cached)) = cache
    {
        // Prefill is the uncached part: TTFT shrinks with the share taken from the cache.
        cfg.ttft = cfg.ttft.mul_f64((n - cached) as f64 / n as f64);
    }
    cfg.ttft += cfg.ttft_jitter.mul_f64(super::mock::unit_draw(n));
    let slots = s.slots.clone();
    tokio::spawn(async move {
        // Queue for a generation slot; the schedule starts when one is free.
        let _slot = match &slots {
            Some(sem) => Some(sem.clone().acquire_owned().await.unwrap()),
            None => None,
        };
        s.running.fetch_add(1, Ordering::SeqCst);
        let _running = Running(s.clone());
        let start = if slots.is_some() {
            Instant::now()
        } else {
            start
        };
        let id = "chatcmpl-f34778d4a25623589409d555ff94a335";
        let piece = |k: usize| {
            s.generated.fetch_add(1, Ordering::SeqCst);
            let text = format!(" t{k}");
            let delta = if k < cfg.reasoning {
                json!({"reasoning_content": text})
            } else {
                json!({"content": text})
            };
            let ev = if chat {
                json!({"id": id, "object": "chat.completion.chunk", "created": 1749893467, "model": cfg.model,
                       "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": null}]})
            } else {
                json!({"id": id, "object": "text_completion", "created": 1749893467, "model": cfg.model,
                       "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": null}], "usage": null})
            };
            format!("data: {ev}\n\n")
        };
        if chat {
            let role = json!({"id": id, "object": "chat.completion.chunk", "created": 1749893467, "model": cfg.model,
                              "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": null, "finish_reason": null}]});
            let _ = tx.send(Ok(format!("data: {role}\n\n"))).await;
        }
        let bad = "data: {\"id\": \"x\", \"choices\": [\n\n";
        let err = "data: {\"error\":{\"code\":500,\"message\":\"injected in-stream error\",\"type\":\"server_error\"}}\n\n";
        if !emit_tokens(&tx, &cfg, &fault, start, Duration::ZERO, piece, [bad, err]).await {
            return;
        }
        let fin = json!({"id": id, "object": "chat.completion.chunk", "created": 1749893467, "model": cfg.model,
                         "choices": [{"index": 0, "delta": {"content": ""}, "logprobs": null, "finish_reason": "length", "stop_reason": null}]});
        let _ = tx.send(Ok(format!("data: {fin}\n\n"))).await;
        if cfg.usage {
            let usage = json!({"id": id, "object": "chat.completion.chunk", "created": 1749893467, "model": cfg.model,
                               "choices": [], "usage": {"prompt_tokens": 47, "total_tokens": 47 + cfg.tokens, "completion_tokens": cfg.tokens}});
            let usage = match cache {
                // vLLM: the cached count in the usage's details, left out at 0.
                Some((n, cached)) if cfg.prompt_cache == Some(CacheMock::VllmBlocks) => {
                    let mut u = usage;
                    u["usage"]["prompt_tokens"] = json!(n);
                    u["usage"]["total_tokens"] = json!(n + cfg.tokens);
                    if cached > 0 {
                        u["usage"]["prompt_tokens_details"] = json!({"cached_tokens": cached});
                    }
                    u
                }
                // llama.cpp: usage counts the whole prompt, timings split it.
                Some((n, cached)) => {
                    let mut u = usage;
                    u["usage"]["prompt_tokens"] = json!(n);
                    u["timings"] = json!({"cache_n": cached, "prompt_n": n - cached, "prompt_ms": 1.0,
                                          "predicted_n": cfg.tokens, "predicted_ms": 10.0});
                    u
                }
                None => usage,
            };
            let _ = tx.send(Ok(format!("data: {usage}\n\n"))).await;
        }
        let _ = tx.send(Ok("data: [DONE]\n\n".into())).await;
    });
    streaming("text/event-stream", rx)
}

/// Stream `text` as vLLM chat chunks of up to 8 characters, then finish and usage.
pub fn oa_answer(text: String, cfg: MockCfg, start: Instant, running: Option<Running>) -> Response {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut running = running;
        let id = "chatcmpl-answer";
        let chars: Vec<char> = text.chars().collect();
        let pieces: Vec<String> = chars.chunks(8).map(|c| c.iter().collect()).collect();
        for (k, p) in pieces.iter().enumerate() {
            sleep_until(start + cfg.ttft + cfg.per_token * k as u32).await;
            let ev = json!({"id": id, "object": "chat.completion.chunk", "created": 1749893467, "model": cfg.model,
                            "choices": [{"index": 0, "delta": {"content": p}, "logprobs": null, "finish_reason": null}]});
            if tx.send(Ok(format!("data: {ev}\n\n"))).await.is_err() {
                return;
            }
        }
        if running.is_some() {
            // A batch-drift answer counts as generating for at least 100 ms, so two sent
            // together (each deciding 50 ms after it arrived) both see the other; it stops
            // counting before its last chunk, so the next sequential request sees neither.
            sleep_until(start + Duration::from_millis(100)).await;
            running.take();
        }
        let fin = json!({"id": id, "object": "chat.completion.chunk", "created": 1749893467, "model": cfg.model,
                         "choices": [{"index": 0, "delta": {"content": ""}, "logprobs": null, "finish_reason": "stop", "stop_reason": null}]});
        let usage = json!({"id": id, "object": "chat.completion.chunk", "created": 1749893467, "model": cfg.model,
                           "choices": [], "usage": {"prompt_tokens": 47, "total_tokens": 47 + pieces.len(), "completion_tokens": pieces.len()}});
        let _ = tx
            .send(Ok(format!(
                "data: {fin}\n\ndata: {usage}\n\ndata: [DONE]\n\n"
            )))
            .await;
    });
    streaming("text/event-stream", rx)
}
