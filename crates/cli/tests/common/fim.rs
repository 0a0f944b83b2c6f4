//! A mock of the three fill-in-the-middle paths, in each server's wire format (the fixtures of
//! `../shared/fixtures/wire/`): llama.cpp's native `/infill` and `/completion` with `/slots`,
//! Ollama's `/api/generate` with `suffix`, and vLLM's `/v1/completions` with its `/metrics`.
//! Tokens come on an absolute schedule (TTFT, then one per interval); when a client goes away
//! the mock notices (its stream is dropped), keeps generating for the injected `reaction`, then
//! lets the request go, and keeps a server-side record of each stream: when it started, when
//! the client left, when it stopped, and how many tokens it generated.

use super::fixture;
use super::mock::serve;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

/// Which server the mock is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Server {
    /// llama.cpp: `/props`, `/infill`, `/completion`, `/tokenize`, `/slots`.
    Llamacpp,
    /// Ollama: `/api/version`, `/api/tags`, `/api/show`, `/api/generate`, `/api/chat`.
    Ollama,
    /// vLLM: `/version`, `/v1/models`, `/v1/completions`, `/tokenize`, `/metrics`.
    Vllm,
}

/// Injected behaviour.
#[derive(Clone, Debug)]
pub struct FimCfg {
    pub server: Server,
    pub model: String,
    pub ttft: Duration,
    pub per_token: Duration,
    /// Tokens of a full answer.
    pub tokens: usize,
    /// After the client leaves, how long generation goes on.
    pub reaction: Duration,
    /// Answer the same whatever the suffix says.
    pub ignore_suffix: bool,
    /// Refuse FIM as a server whose model has no FIM tokens does.
    pub no_fim: bool,
    /// llama.cpp slots; a request waits for a free one.
    pub slots: usize,
    /// Do not watch the client during the TTFT, as llama.cpp processes a prompt in one
    /// uninterruptible batch: a dropped request costs its whole prompt.
    pub blind_prefill: bool,
    /// Answer the requests after the first N only after 60 s.
    pub stall_after: Option<usize>,
}

impl FimCfg {
    pub fn new(server: Server) -> FimCfg {
        FimCfg {
            server,
            model: "qwen2.5-coder-mock".into(),
            ttft: Duration::from_millis(60),
            per_token: Duration::from_millis(10),
            tokens: 20,
            reaction: Duration::ZERO,
            ignore_suffix: false,
            no_fim: false,
            slots: 8,
            blind_prefill: false,
            stall_after: None,
        }
    }
}

/// The server's record of one generation stream.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamLog {
    pub path: String,
    /// The request's `seed`.
    pub seed: Option<u64>,
    /// When it got a slot and generation began, Unix seconds.
    pub start: f64,
    /// When the mock noticed the client had gone; `None`: it read the stream to its end.
    pub disconnect: Option<f64>,
    /// When generation stopped and the request was let go.
    pub release: f64,
    /// Tokens generated, after the client left included.
    pub generated: usize,
}

/// A busy slot: task id, tokens decoded, the request's seed.
type SlotTask = (i64, usize, Option<u64>);

pub struct FimState {
    pub cfg: FimCfg,
    pub logs: Mutex<Vec<StreamLog>>,
    pub running: AtomicUsize,
    pub generated: AtomicUsize,
    /// Per slot: the task it runs, the tokens decoded for it and its seed.
    slots: Mutex<Vec<Option<SlotTask>>>,
    next_task: AtomicI64,
    pub bodies: Mutex<Vec<(String, Value)>>,
}

pub struct FimMock {
    pub addr: SocketAddr,
    pub state: Arc<FimState>,
}

impl FimMock {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn logs(&self) -> Vec<StreamLog> {
        self.state.logs.lock().unwrap().clone()
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

pub async fn mock_fim(cfg: FimCfg) -> FimMock {
    let state = Arc::new(FimState {
        slots: Mutex::new(vec![None; cfg.slots]),
        cfg,
        logs: Mutex::new(Vec::new()),
        running: AtomicUsize::new(0),
        generated: AtomicUsize::new(0),
        next_task: AtomicI64::new(100),
        bodies: Mutex::new(Vec::new()),
    });
    let app = match state.cfg.server {
        Server::Llamacpp => Router::new()
            .route(
                "/props",
                get(|| async { json_text(fixture("llamacpp_props.json")) }),
            )
            .route(
                "/health",
                get(|| async { json_text(fixture("llamacpp_health_ok.json")) }),
            )
            .route("/v1/models", get(models))
            .route("/tokenize", post(tokenize))
            .route("/slots", get(slots))
            .route("/infill", post(generate))
            .route("/completion", post(generate))
            // llama-server's OpenAI-compatible chat, for the team mix's chat and agent classes.
            .route("/v1/chat/completions", post(generate)),
        Server::Ollama => Router::new()
            .route("/", get(|| async { "Ollama is running" }))
            .route(
                "/api/version",
                get(|| async { json_text(fixture("ollama_version.json")) }),
            )
            .route("/api/tags", get(tags))
            .route(
                "/api/show",
                post(|| async { json_text(fixture("ollama_show.json")) }),
            )
            .route("/api/chat", post(ollama_chat))
            .route("/api/generate", post(generate)),
        Server::Vllm => Router::new()
            .route(
                "/version",
                get(|| async { json_text(fixture("vllm_version.json")) }),
            )
            .route("/v1/models", get(models))
            .route("/tokenize", post(tokenize))
            .route("/metrics", get(metrics))
            .route("/v1/completions", post(generate)),
    };
    let app = app.with_state(state.clone());
    FimMock {
        addr: serve(app).await,
        state,
    }
}

fn json_text(s: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], s).into_response()
}

async fn models(State(s): State<Arc<FimState>>) -> Response {
    let file = match s.cfg.server {
        Server::Llamacpp => "llamacpp_models.json",
        _ => "vllm_models.json",
    };
    let mut v: Value = serde_json::from_str(&fixture(file)).unwrap();
    v["data"][0]["id"] = s.cfg.model.clone().into();
    axum::Json(v).into_response()
}

async fn tags(State(s): State<Arc<FimState>>) -> Response {
    let mut v: Value = serde_json::from_str(&fixture("ollama_tags.json")).unwrap();
    v["models"][0]["name"] = s.cfg.model.clone().into();
    v["models"][0]["model"] = s.cfg.model.clone().into();
    axum::Json(v).into_response()
}

/// Four characters a token.
fn count(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

async fn tokenize(State(s): State<Arc<FimState>>, axum::Json(b): axum::Json<Value>) -> Response {
    let text = b["content"].as_str().or(b["prompt"].as_str()).unwrap_or("");
    let n = count(text);
    match s.cfg.server {
        // vLLM: {"count", "max_model_len", "tokens"}; llama.cpp: {"tokens"}.
        Server::Vllm => {
            axum::Json(json!({"count": n, "max_model_len": 32768, "tokens": vec![1; n]}))
        }
        _ => axum::Json(json!({"tokens": vec![1; n]})),
    }
    .into_response()
}

/// Ollama's non-streaming chat, for its prompt-token count (four characters a token, plus a
/// template of 10).
async fn ollama_chat(axum::Json(b): axum::Json<Value>) -> Response {
    let mut v: Value = serde_json::from_str(&fixture("ollama_chat_nonstream.json")).unwrap();
    let text = b["messages"][0]["content"].as_str().unwrap_or("");
    v["prompt_eval_count"] = (count(text) + 10).into();
    axum::Json(v).into_response()
}

async fn slots(State(s): State<Arc<FimState>>) -> Response {
    let fixture: Value = serde_json::from_str(&fixture("llamacpp_slots.json")).unwrap();
    let template = fixture[1].clone();
    let slots = s.slots.lock().unwrap().clone();
    let out: Vec<Value> = slots
        .iter()
        .enumerate()
        .map(|(i, slot)| {
            let mut v = template.clone();
            v["id"] = i.into();
            v["id_task"] = slot.map_or(-1, |(t, _, _)| t).into();
            v["is_processing"] = slot.is_some().into();
            v["next_token"]["n_decoded"] = slot.map_or(0, |(_, n, _)| n).into();
            if let Some((_, _, Some(seed))) = slot {
                v["params"]["seed"] = (*seed).into();
            }
            v
        })
        .collect();
    axum::Json(out).into_response()
}

/// vLLM's `/metrics` fixture with live `num_requests_running` and `generation_tokens_total`.
async fn metrics(State(s): State<Arc<FimState>>) -> Response {
    let live = |line: &str| {
        let value = if line.starts_with("vllm:num_requests_running{") {
            s.running.load(Ordering::SeqCst)
        } else if line.starts_with("vllm:generation_tokens_total{") {
            s.generated.load(Ordering::SeqCst)
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

/// What the request asks to fill, and whether the suffix is in it.
fn words_of(s: &FimState, path: &str, b: &Value) -> String {
    let suffix = match path {
        "/infill" => b["input_suffix"].as_str(),
        "/api/generate" => b["suffix"].as_str(),
        // A raw prompt carries the suffix inside it.
        _ => b["prompt"].as_str(),
    };
    if s.cfg.ignore_suffix {
        return "same".into();
    }
    let h = suffix
        .unwrap_or("")
        .bytes()
        .fold(0u32, |h, c| h.wrapping_mul(31).wrapping_add(u32::from(c)));
    format!("s{:04x}", h & 0xffff)
}

/// One token's event and the end event, in the server's format.
fn token_line(s: &FimState, path: &str, k: usize, text: &str, prompt_n: usize) -> String {
    if path == "/v1/chat/completions" {
        // llama-server's chat chunk (llamacpp_chat_stream.sse).
        return format!(
            "data: {}\n\n",
            json!({"choices": [{"finish_reason": null, "index": 0, "delta": {"content": text}}], "created": 1749893472, "id": "chatcmpl-mock", "model": s.cfg.model, "system_fingerprint": "b6700-3df2244d", "object": "chat.completion.chunk"})
        );
    }
    match s.cfg.server {
        Server::Llamacpp => format!(
            "data: {}\n\n",
            json!({"index": 0, "content": text, "tokens": [k], "stop": false, "id_slot": -1, "tokens_predicted": k + 1, "tokens_evaluated": prompt_n})
        ),
        Server::Ollama => format!(
            "{}\n",
            json!({"model": s.cfg.model, "created_at": "2025-06-14T09:33:10.445046038Z", "response": text, "done": false})
        ),
        Server::Vllm => {
            let _ = path;
            format!(
                "data: {}\n\n",
                json!({"id": "cmpl-mock", "object": "text_completion", "created": 1749893476, "model": s.cfg.model, "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": null, "stop_reason": null, "prompt_token_ids": null, "token_ids": null}], "usage": null})
            )
        }
    }
}

fn end_lines(s: &FimState, path: &str, n: usize, prompt_n: usize, slot: usize) -> String {
    if path == "/v1/chat/completions" {
        // llama-server's last chat chunks: the finish, then usage and timings, then [DONE].
        return format!(
            "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
            json!({"choices": [{"finish_reason": "length", "index": 0, "delta": {}}], "created": 1749893472, "id": "chatcmpl-mock", "model": s.cfg.model, "system_fingerprint": "b6700-3df2244d", "object": "chat.completion.chunk"}),
            json!({"choices": [], "created": 1749893472, "id": "chatcmpl-mock", "model": s.cfg.model, "system_fingerprint": "b6700-3df2244d", "object": "chat.completion.chunk", "usage": {"completion_tokens": n, "prompt_tokens": prompt_n, "total_tokens": prompt_n + n, "prompt_tokens_details": {"cached_tokens": 0}}, "timings": {"cache_n": 0, "prompt_n": prompt_n, "prompt_ms": 1.0, "prompt_per_token_ms": 0.1, "prompt_per_second": 1000.0, "predicted_n": n, "predicted_ms": 1.0, "predicted_per_token_ms": 0.1, "predicted_per_second": 1000.0}})
        );
    }
    match s.cfg.server {
        Server::Llamacpp => {
            let last = fixture("llamacpp_infill_stream.sse")
                .lines()
                .rfind(|l| l.starts_with("data: "))
                .unwrap()
                .to_string();
            let mut v: Value = serde_json::from_str(&last["data: ".len()..]).unwrap();
            v["id_slot"] = slot.into();
            v["model"] = s.cfg.model.clone().into();
            v["tokens_predicted"] = n.into();
            v["tokens_evaluated"] = prompt_n.into();
            v["stop_type"] = "limit".into();
            v["timings"]["prompt_n"] = prompt_n.into();
            v["timings"]["predicted_n"] = n.into();
            v["timings"]["cache_n"] = 0.into();
            format!("data: {v}\n\n")
        }
        Server::Ollama => {
            let last = fixture("ollama_generate_fim_stream.ndjson")
                .lines()
                .next_back()
                .unwrap()
                .to_string();
            let mut v: Value = serde_json::from_str(&last).unwrap();
            v["model"] = s.cfg.model.clone().into();
            v["eval_count"] = n.into();
            v["prompt_eval_count"] = prompt_n.into();
            v["done_reason"] = "length".into();
            format!("{v}\n")
        }
        Server::Vllm => format!(
            "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
            json!({"id": "cmpl-mock", "object": "text_completion", "created": 1749893476, "model": s.cfg.model, "choices": [{"index": 0, "text": "", "logprobs": null, "finish_reason": "length", "stop_reason": null, "prompt_token_ids": null, "token_ids": null}], "usage": null}),
            json!({"id": "cmpl-mock", "object": "text_completion", "created": 1749893476, "model": s.cfg.model, "choices": [], "usage": {"prompt_tokens": prompt_n, "total_tokens": prompt_n + n, "completion_tokens": n}})
        ),
    }
}

async fn generate(
    State(s): State<Arc<FimState>>,
    uri: axum::http::Uri,
    axum::Json(b): axum::Json<Value>,
) -> Response {
    let path = uri.path().to_string();
    s.bodies.lock().unwrap().push((path.clone(), b.clone()));
    if s.cfg.server == Server::Vllm
        && let Some(refused) = super::mock::vllm_refuses_stops(&b)
    {
        return refused;
    }
    if s.cfg.no_fim {
        return match s.cfg.server {
            Server::Llamacpp => (
                StatusCode::NOT_IMPLEMENTED,
                json_text(fixture("llamacpp_infill_error_no_fim.json")),
            )
                .into_response(),
            _ => (
                StatusCode::BAD_REQUEST,
                json_text(fixture("ollama_error_fim_unsupported.json")),
            )
                .into_response(),
        };
    }
    let ctype = match s.cfg.server {
        Server::Ollama => "application/x-ndjson",
        _ => "text/event-stream",
    };
    let word = words_of(&s, &path, &b);
    let prompt_n = count(&b.to_string());
    let seed = b["seed"].as_u64();
    // llama.cpp: `id_slot` ≥ 0 waits for that slot (server_context::get_slot_by_id), -1 or
    // none takes any idle one.
    let pinned = b["id_slot"]
        .as_i64()
        .filter(|i| *i >= 0)
        .map(|i| i as usize);
    let (tx, rx) = mpsc::channel::<Result<String, std::io::Error>>(1);
    tokio::spawn(stream(s.clone(), (path, seed, pinned), word, prompt_n, tx));
    let body =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) });
    Response::builder()
        .header(header::CONTENT_TYPE, ctype)
        .body(Body::from_stream(body))
        .unwrap()
}

async fn stream(
    s: Arc<FimState>,
    (path, seed, pinned): (String, Option<u64>, Option<usize>),
    word: String,
    prompt_n: usize,
    tx: mpsc::Sender<Result<String, std::io::Error>>,
) {
    let task = s.next_task.fetch_add(1, Ordering::SeqCst);
    // Wait for a free slot, not watching the client (llama.cpp keeps queued tasks).
    let slot = loop {
        {
            let mut slots = s.slots.lock().unwrap();
            let free = match pinned {
                Some(i) => (slots.get(i) == Some(&None)).then_some(i),
                None => slots.iter().position(Option::is_none),
            };
            if let Some(i) = free {
                slots[i] = Some((task, 0, seed));
                break i;
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let start = Instant::now();
    let start_unix = unix_now();
    let n = usize::try_from(task - 100).unwrap_or(0);
    let ttft = match s.cfg.stall_after {
        Some(k) if n >= k => Duration::from_secs(60),
        _ => s.cfg.ttft,
    };
    s.running.fetch_add(1, Ordering::SeqCst);
    let cfg = s.cfg.clone();
    let mut left: Option<(Instant, f64)> = None;
    let mut generated = 0;
    for k in 0..cfg.tokens {
        let at = start + ttft + cfg.per_token * k as u32;
        if k == 0 && s.cfg.blind_prefill {
            sleep_until(at).await;
            if tx.is_closed() {
                left = Some((Instant::now(), unix_now()));
            }
        } else if left.is_none() {
            tokio::select! {
                _ = sleep_until(at) => {}
                _ = tx.closed() => left = Some((Instant::now(), unix_now())),
            }
        }
        if let Some((d, _)) = left {
            // The client is gone: generation goes on for the reaction time, then stops.
            let end = d + cfg.reaction;
            if at > end {
                sleep_until(end).await;
                break;
            }
            sleep_until(at).await;
        }
        generated += 1;
        s.generated.fetch_add(1, Ordering::SeqCst);
        s.slots.lock().unwrap()[slot] = Some((task, generated, seed));
        let text = if k == 0 {
            word.clone()
        } else {
            format!(" t{k}")
        };
        if left.is_none()
            && tx
                .send(Ok(token_line(&s, &path, k, &text, prompt_n)))
                .await
                .is_err()
        {
            left = Some((Instant::now(), unix_now()));
        }
    }
    if left.is_none()
        && tx
            .send(Ok(end_lines(&s, &path, generated, prompt_n, slot)))
            .await
            .is_err()
    {
        left = Some((Instant::now(), unix_now()));
    }
    s.slots.lock().unwrap()[slot] = None;
    s.running.fetch_sub(1, Ordering::SeqCst);
    s.logs.lock().unwrap().push(StreamLog {
        path,
        seed,
        start: start_unix,
        disconnect: left.map(|(_, u)| u),
        release: unix_now(),
        generated,
    });
}
