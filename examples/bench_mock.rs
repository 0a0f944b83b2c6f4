//! A fast OpenAI-compatible mock for `make bench`: streams `max_tokens` tokens per request in
//! vLLM's SSE format, the first after `--ttft-ms`, then one every `--token-ms`, on an absolute
//! schedule from the request's arrival (no drift), so the client's measurement error can be
//! read against injected truth. Runs as its own process so servebench's CPU is measured alone.

use axum::Router;
use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

#[derive(Clone, Copy)]
struct Cfg {
    ttft: Duration,
    per_token: Duration,
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let cfg = Cfg {
        ttft: Duration::from_millis(arg("--ttft-ms", 50)),
        per_token: Duration::from_millis(arg("--token-ms", 10)),
    };
    let port = arg("--port", 0) as u16;
    let app = Router::new()
        .route("/v1/models", get(|| async { axum::Json(json!({"object": "list", "data": [{"id": "mock", "object": "model", "max_model_len": 4096}]})) }))
        .route("/v1/chat/completions", post(move |body: axum::Json<Value>| generate(cfg, body.0)))
        .route("/health", get(|| async { "" }))
        .route("/v1/completions", post(move |body: axum::Json<Value>| generate(cfg, body.0)))
        // vLLM's tokenizer endpoints (one token per word), for clients that verify prompt lengths.
        .route("/tokenize", post(|body: axum::Json<Value>| async move {
            let text = body["prompt"].as_str().or(body["content"].as_str()).unwrap_or("");
            let tokens: Vec<u32> = text.split_whitespace().enumerate().map(|(i, _)| i as u32 % 1000).collect();
            axum::Json(json!({"count": tokens.len(), "tokens": tokens, "max_model_len": 4096}))
        }))
        .route("/detokenize", post(|body: axum::Json<Value>| async move {
            let n = body["tokens"].as_array().map_or(0, Vec::len);
            axum::Json(json!({"prompt": vec!["tok"; n].join(" ")}))
        }));
    // A deep accept backlog: 1,000 streams connect at once, and a dropped SYN would add the
    // kernel's 1 s retransmit to some TTFTs — a server artifact, not the client's.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_reuseaddr(true).expect("reuseaddr");
    socket.bind(([127, 0, 0, 1], port).into()).expect("bind");
    let listener = socket.listen(4096).expect("listen");
    println!("listening on {}", listener.local_addr().expect("addr"));
    axum::serve(listener, app).await.expect("serve");
}

async fn generate(cfg: Cfg, body: Value) -> Response {
    let start = Instant::now();
    let n = body["max_tokens"]
        .as_u64()
        .or(body["max_completion_tokens"].as_u64())
        .unwrap_or(100)
        .max(1) as u32;
    let stream = async_stream(cfg, start, n);
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(stream))
        .expect("response")
}

fn async_stream(
    cfg: Cfg,
    start: Instant,
    n: u32,
) -> impl futures_util::Stream<Item = Result<String, std::io::Error>> {
    futures_util::stream::unfold(0u32, move |k| async move {
        if k > n + 1 {
            return None;
        }
        let chunk = if k < n {
            sleep_until(start + cfg.ttft + cfg.per_token * k).await;
            format!(
                "data: {{\"id\":\"cmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"mock\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" tok{k}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
            )
        } else if k == n {
            format!(
                "data: {{\"id\":\"cmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"mock\",\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"length\"}}]}}\n\ndata: {{\"id\":\"cmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"mock\",\"choices\":[],\"usage\":{{\"prompt_tokens\":10,\"completion_tokens\":{n},\"total_tokens\":{}}}}}\n\n",
                n + 10
            )
        } else {
            "data: [DONE]\n\n".to_string()
        };
        Some((Ok(chunk), k + 1))
    })
}
