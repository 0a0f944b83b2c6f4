//! A mock Ollama server in its native wire format (NDJSON).

use super::fixture;
use super::mock::*;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A mock Ollama server: the model starts loaded; `keep_alive: 0` unloads it after
/// `unload_lag`; a request to an unloaded model waits `load` and reports it as `load_duration`.
pub async fn mock_ollama(cfg: MockCfg) -> Mock {
    let s = shared(cfg);
    let app = Router::new()
        .route("/", get(|| async { "Ollama is running" }))
        .route(
            "/api/version",
            get(|| async { axum::Json(json!({"version": "0.12.6"})) }),
        )
        .route("/api/tags", get(ol_tags))
        .route("/api/show", post(ol_show))
        .route("/api/ps", get(ol_ps))
        .route("/api/generate", post(ol_generate))
        .route("/api/chat", post(ol_chat))
        .with_state(s.clone());
    Mock {
        addr: serve(app).await,
        shared: s,
    }
}

pub fn ol_loaded(s: &Shared) -> bool {
    if let Some(at) = *s.unload_at.lock().unwrap()
        && Instant::now() >= at
    {
        s.loaded.store(false, Ordering::SeqCst);
    }
    s.loaded.load(Ordering::SeqCst)
}

pub fn not_found(m: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": format!("model '{m}' not found")})),
    )
        .into_response()
}

pub async fn ol_tags(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    let mut v: Value = serde_json::from_str(&fixture("ollama_tags.json")).unwrap();
    v["models"][0]["name"] = json!(s.cfg.model);
    v["models"][0]["model"] = json!(s.cfg.model);
    axum::Json(v)
}

pub async fn ol_show(
    State(s): State<Arc<Shared>>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if body["model"] != json!(s.cfg.model) {
        return not_found(body["model"].as_str().unwrap_or(""));
    }
    let v: Value = serde_json::from_str(&fixture("ollama_show.json")).unwrap();
    axum::Json(v).into_response()
}

pub async fn ol_ps(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    if ol_loaded(&s) {
        let mut v: Value = serde_json::from_str(&fixture("ollama_ps.json")).unwrap();
        v["models"][0]["name"] = json!(s.cfg.model);
        v["models"][0]["model"] = json!(s.cfg.model);
        axum::Json(v)
    } else {
        axum::Json(serde_json::from_str(&fixture("ollama_ps_empty.json")).unwrap())
    }
}

pub async fn ol_generate(
    State(s): State<Arc<Shared>>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if body["model"] != json!(s.cfg.model) {
        return not_found(body["model"].as_str().unwrap_or(""));
    }
    if body["keep_alive"] == json!(0) && body.get("prompt").is_none_or(|p| p == "") {
        *s.unload_at.lock().unwrap() = Some(Instant::now() + s.cfg.unload_lag);
        let mut v: Value = serde_json::from_str(&fixture("ollama_unload.json")).unwrap();
        v["model"] = json!(s.cfg.model);
        return axum::Json(v).into_response();
    }
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": "mock only supports unload on /api/generate"})),
    )
        .into_response()
}

pub async fn ol_chat(
    State(s): State<Arc<Shared>>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let start = Instant::now();
    let n = s.count.fetch_add(1, Ordering::SeqCst);
    s.bodies.lock().unwrap().push(body.clone());
    if body["model"] != json!(s.cfg.model) {
        return not_found(body["model"].as_str().unwrap_or(""));
    }
    let fault = s.cfg.faults.get(n).cloned().unwrap_or(Fault::None);
    if let Fault::Http(code) = fault {
        return (
            StatusCode::from_u16(code).unwrap(),
            axum::Json(json!({"error": "injected failure"})),
        )
            .into_response();
    }
    // The prompt as the runner counts it (see `MockCfg::num_ctx`), 1 ms per token evaluated.
    let counted = s.cfg.num_ctx.map(|default| {
        let n = prompt_words(&body).len();
        let ctx = body["options"]["num_ctx"]
            .as_u64()
            .map_or(default, |c| c as usize);
        (n, ctx)
    });
    if let Some((n, ctx)) = counted {
        if n > ctx && body["truncate"] == json!(false) {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(
                    serde_json::from_str::<Value>(&fixture("ollama_error_input_too_long.json"))
                        .unwrap(),
                ),
            )
                .into_response();
        }
        if body["stream"] == json!(false) {
            let kept = n.min(ctx);
            // A cut prompt ends as the fixture's does (`ollama_chat_truncated`: "stop").
            let reason = if n > ctx { "stop" } else { "length" };
            return axum::Json(json!({"model": s.cfg.model, "created_at": "2025-06-14T09:31:09.636593813Z",
                "message": {"role": "assistant", "content": " t0"}, "done": true, "done_reason": reason,
                "total_duration": 1_000_000u64, "load_duration": 0, "prompt_eval_count": kept,
                "prompt_eval_duration": kept as u64 * 1_000_000, "eval_count": 1, "eval_duration": 0}))
            .into_response();
        }
    }
    // With the prompt-cache emulation, as Ollama's runners do (`ollama_chat_cached_turn`):
    // `prompt_eval_count` is the whole prompt, only `prompt_eval_duration` shrinks to the
    // uncached part (1 ms a token).
    let cache = s.cache(&body);
    let (prompt_eval_count, prompt_eval_ns) = match (counted, cache) {
        (_, Some((n, cached))) => (n as u64, (n - cached) as u64 * 1_000_000),
        (Some((n, ctx)), None) => (n.min(ctx) as u64, n.min(ctx) as u64 * 1_000_000),
        (None, None) => (27, 15_330_000),
    };
    let load = if ol_loaded(&s) {
        Duration::ZERO
    } else {
        s.cfg.load
    };
    s.loaded.store(true, Ordering::SeqCst);
    *s.unload_at.lock().unwrap() = None;
    // A truncated prompt ends with "stop" (`ollama_chat_truncated.ndjson`), as if nothing
    // happened; otherwise the mock stops at its token count: "length".
    let reason = match counted {
        Some((n, ctx)) if n > ctx => "stop",
        _ => "length",
    };
    let (tx, rx) = mpsc::channel(16);
    let cfg = s.cfg.clone();
    tokio::spawn(async move {
        let line = |k: usize| {
            format!(
                "{}\n",
                json!({"model": cfg.model, "created_at": "2025-06-14T09:31:09.576109602Z",
                                   "message": {"role": "assistant", "content": format!(" t{k}")}, "done": false})
            )
        };
        let bad = "{\"model\": \"x\", \"message\": \n";
        let err =
            "{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n";
        if !emit_tokens(&tx, &cfg, &fault, start, load, line, [bad, err]).await {
            return;
        }
        let total = start.elapsed();
        let eval = cfg.per_token * (cfg.tokens as u32 - 1);
        let done = json!({"model": cfg.model, "created_at": "2025-06-14T09:31:09.636593813Z",
                          "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": reason,
                          "total_duration": total.as_nanos() as u64, "load_duration": load.as_nanos() as u64,
                          "prompt_eval_count": prompt_eval_count, "prompt_eval_duration": prompt_eval_ns,
                          "eval_count": cfg.tokens, "eval_duration": eval.as_nanos() as u64});
        let _ = tx.send(Ok(format!("{done}\n"))).await;
    });
    streaming("application/x-ndjson", rx)
}
