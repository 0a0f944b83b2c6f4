//! A fast OpenAI-compatible mock for `make bench`: streams `max_tokens` tokens per request in
//! vLLM's SSE format, the first after `--ttft-ms`, then one every `--token-ms`, on an absolute
//! schedule from the request's arrival (no drift), so the client's measurement error can be
//! read against injected truth. Runs as its own process so servebench's CPU is measured alone.
//!
//! It speaks HTTP/1.1 directly on tokio sockets with every token chunk pre-encoded at start-up:
//! per token it costs one timer wake-up and one write, leaving as much of a small machine as
//! possible to the client being measured.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until};

/// Largest `max_tokens` with pre-encoded chunks.
const MAX_TOKENS: usize = 8192;

struct Mock {
    ttft: Duration,
    per_token: Duration,
    /// HTTP chunk (size line, SSE event, CRLF) for token k.
    chunks: Vec<Vec<u8>>,
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn http_chunk(data: &str) -> Vec<u8> {
    format!("{:x}\r\n{data}\r\n", data.len()).into_bytes()
}

#[tokio::main]
async fn main() {
    let chunks = (0..MAX_TOKENS)
        .map(|k| {
            http_chunk(&format!(
                "data: {{\"id\":\"cmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"mock\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" tok{k}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
            ))
        })
        .collect();
    let mock = Arc::new(Mock {
        ttft: Duration::from_millis(arg("--ttft-ms", 50)),
        per_token: Duration::from_millis(arg("--token-ms", 10)),
        chunks,
    });
    // A deep accept backlog: 1,000 streams connect at once, and a dropped SYN would add the
    // kernel's 1 s retransmit to some TTFTs — a server artifact, not the client's.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_reuseaddr(true).expect("reuseaddr");
    socket
        .bind(([127, 0, 0, 1], arg("--port", 0) as u16).into())
        .expect("bind");
    let listener = socket.listen(4096).expect("listen");
    println!("listening on {}", listener.local_addr().expect("addr"));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve(stream, mock.clone()));
    }
}

/// Serve HTTP/1.1 requests on one keep-alive connection.
async fn serve(mut s: TcpStream, mock: Arc<Mock>) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        // Read until the head is complete, then the Content-Length body.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut tmp = [0u8; 4096];
            match s.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let len = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let mut tmp = [0u8; 4096];
            match s.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        }
        let start = Instant::now();
        let body: Value =
            serde_json::from_slice(&buf[head_end..head_end + len]).unwrap_or(Value::Null);
        buf.drain(..head_end + len);
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        let ok = match path.as_str() {
            "/v1/chat/completions" | "/v1/completions" => stream_tokens(&mut s, &mock, &body, start).await,
            "/v1/models" => json_reply(&mut s, &json!({"object": "list", "data": [{"id": "mock", "object": "model", "max_model_len": 4096}]})).await,
            "/health" => json_reply(&mut s, &json!({})).await,
            // vLLM's tokenizer endpoints (one token per word), for clients that verify lengths.
            "/tokenize" => {
                let text = body["prompt"].as_str().or(body["content"].as_str()).unwrap_or("");
                let tokens: Vec<u32> = text.split_whitespace().enumerate().map(|(i, _)| i as u32 % 1000).collect();
                json_reply(&mut s, &json!({"count": tokens.len(), "tokens": tokens, "max_model_len": 4096})).await
            }
            "/detokenize" => {
                let n = body["tokens"].as_array().map_or(0, Vec::len);
                json_reply(&mut s, &json!({"prompt": vec!["tok"; n].join(" ")})).await
            }
            _ => s.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").await.is_ok(),
        };
        if !ok {
            return;
        }
    }
}

async fn json_reply(s: &mut TcpStream, v: &Value) -> bool {
    let body = v.to_string();
    let msg = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(msg.as_bytes()).await.is_ok()
}

async fn stream_tokens(s: &mut TcpStream, mock: &Mock, body: &Value, start: Instant) -> bool {
    let n = body["max_tokens"]
        .as_u64()
        .or(body["max_completion_tokens"].as_u64())
        .unwrap_or(100)
        .clamp(1, MAX_TOKENS as u64) as usize;
    let head =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
    if s.write_all(head).await.is_err() {
        return false;
    }
    for (k, chunk) in mock.chunks[..n].iter().enumerate() {
        sleep_until(start + mock.ttft + mock.per_token * k as u32).await;
        if s.write_all(chunk).await.is_err() {
            return false;
        }
    }
    let tail = format!(
        "data: {{\"id\":\"cmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"mock\",\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"length\"}}]}}\n\ndata: {{\"id\":\"cmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"mock\",\"choices\":[],\"usage\":{{\"prompt_tokens\":10,\"completion_tokens\":{n},\"total_tokens\":{}}}}}\n\ndata: [DONE]\n\n",
        n + 10
    );
    let mut end = http_chunk(&tail);
    end.extend_from_slice(b"0\r\n\r\n");
    s.write_all(&end).await.is_ok()
}
