//! Test harness: in-process mock servers (axum, port 0) that speak the exact wire formats of
//! vLLM / llama.cpp (OpenAI SSE) and Ollama (NDJSON), with injected timing and faults.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

/// Whether a process whose command line contains `needle` is alive (servers, sandboxed
/// children that must have been stopped).
pub fn process_alive(needle: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .map(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .contains(needle)
            })
            .unwrap_or(false)
    })
}

/// `../shared/fixtures/wire/<name>`.
pub fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/wire")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// What a mock does to the n-th generation request (0-based).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    /// Stream normally.
    None,
    /// Answer this HTTP status with an error body.
    Http(u16),
    /// End the body cleanly after `k` tokens, without finish or end marker.
    CutAfter(usize),
    /// Abort the connection after `k` tokens.
    ResetAfter(usize),
    /// Send an unparseable event after `k` tokens.
    MalformedAfter(usize),
    /// Send an in-stream error object after `k` tokens.
    ErrorAfter(usize),
}

/// The text a mock answers a request with (given the request body).
#[derive(Clone)]
pub struct Answer(pub Arc<dyn Fn(&Value) -> String + Send + Sync>);

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Answer(..)")
    }
}

impl Answer {
    pub fn new(f: impl Fn(&Value) -> String + Send + Sync + 'static) -> Option<Answer> {
        Some(Answer(Arc::new(f)))
    }
}

/// The last user message of a chat request.
pub fn user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_string()
}

/// Injected behaviour.
#[derive(Clone, Debug)]
pub struct MockCfg {
    pub ttft: Duration,
    pub per_token: Duration,
    pub tokens: usize,
    pub model: String,
    /// Send the usage chunk (OpenAI) — off to test the chunk-count fallback.
    pub usage: bool,
    /// Fault per request index; missing → none.
    pub faults: Vec<Fault>,
    /// Ollama: time a load takes when the model is not loaded.
    pub load: Duration,
    /// Ollama: time `/api/ps` keeps listing the model after an unload request.
    pub unload_lag: Duration,
    /// Generation slots: requests beyond this many wait (queue) before their first token.
    pub slots: Option<usize>,
    /// OpenAI: serve vLLM's `/metrics` (the wire fixture) with live `num_requests_running`
    /// and `generation_tokens_total`.
    pub metrics: bool,
    /// OpenAI: require `Authorization: Bearer <key>` (401 otherwise).
    pub api_key: Option<String>,
    /// OpenAI chat: answer with this text (in pieces of up to 8 characters, one per token
    /// interval) instead of `tokens` numbered tokens.
    pub answer: Option<Answer>,
}

impl Default for MockCfg {
    fn default() -> Self {
        MockCfg {
            ttft: Duration::from_millis(150),
            per_token: Duration::from_millis(20),
            tokens: 30,
            model: "mock-model".into(),
            usage: true,
            faults: vec![],
            load: Duration::from_millis(300),
            unload_lag: Duration::from_millis(200),
            slots: None,
            metrics: false,
            api_key: None,
            answer: None,
        }
    }
}

struct Shared {
    cfg: MockCfg,
    count: AtomicUsize,
    loaded: AtomicBool,
    unload_at: Mutex<Option<Instant>>,
    /// Request bodies received on generation endpoints.
    pub bodies: Mutex<Vec<Value>>,
    slots: Option<Arc<tokio::sync::Semaphore>>,
    /// Streams generating now.
    running: AtomicUsize,
    /// Tokens sent so far.
    generated: AtomicUsize,
}

/// A running mock.
pub struct Mock {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Mock {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn requests(&self) -> usize {
        self.shared.count.load(Ordering::SeqCst)
    }
    pub fn bodies(&self) -> Vec<Value> {
        self.shared.bodies.lock().unwrap().clone()
    }
    /// A fake GPU that is busy exactly while this mock streams.
    pub fn fake_gpu(&self) -> FakeGpu {
        FakeGpu {
            mock: self.shared.clone(),
            info: vec![servebench_engine::telemetry::gpu::DeviceInfo {
                index: 0,
                name: "Fake GPU".into(),
                uuid: Some("GPU-fake".into()),
                mem_total_bytes: Some(FAKE_TOTAL),
            }],
        }
    }
}

/// Fake GPU memory.
pub const FAKE_TOTAL: u64 = 16 << 30;
/// Fake GPU memory used while idle.
pub const FAKE_IDLE: u64 = 1 << 30;
/// Fake GPU memory per running stream.
pub const FAKE_PER_STREAM: u64 = 512 << 20;

/// A GPU whose readings follow a mock's in-flight streams: 100 % busy and `FAKE_PER_STREAM`
/// more memory per stream, idle otherwise; the server's processes hold what is above idle.
pub struct FakeGpu {
    mock: Arc<Shared>,
    info: Vec<servebench_engine::telemetry::gpu::DeviceInfo>,
}

impl servebench_engine::telemetry::gpu::GpuSource for FakeGpu {
    fn devices(&self) -> &[servebench_engine::telemetry::gpu::DeviceInfo] {
        &self.info
    }
    fn sample(&mut self, pids: &[u32]) -> Vec<servebench_engine::telemetry::DeviceSample> {
        let running = self.mock.running.load(Ordering::SeqCst) as u64;
        vec![servebench_engine::telemetry::DeviceSample {
            index: 0,
            mem_used_bytes: Some(FAKE_IDLE + running * FAKE_PER_STREAM),
            mem_total_bytes: Some(FAKE_TOTAL),
            gpu_util_pct: Some(if running > 0 { 100.0 } else { 0.0 }),
            mem_util_pct: Some(0.0),
            power_w: Some(if running > 0 { 300.0 } else { 60.0 }),
            temperature_c: Some(40.0),
            sm_clock_mhz: Some(1980.0),
            process_mem_bytes: (!pids.is_empty()).then_some(running * FAKE_PER_STREAM),
        }]
    }
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn shared(cfg: MockCfg) -> Arc<Shared> {
    Arc::new(Shared {
        count: AtomicUsize::new(0),
        loaded: AtomicBool::new(true),
        unload_at: Mutex::new(None),
        bodies: Mutex::new(vec![]),
        slots: cfg.slots.map(|k| Arc::new(tokio::sync::Semaphore::new(k))),
        running: AtomicUsize::new(0),
        generated: AtomicUsize::new(0),
        cfg,
    })
}

type Tx = mpsc::Sender<Result<String, std::io::Error>>;

fn streaming(ctype: &'static str, rx: mpsc::Receiver<Result<String, std::io::Error>>) -> Response {
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) });
    Response::builder()
        .header(header::CONTENT_TYPE, ctype)
        .body(Body::from_stream(stream))
        .unwrap()
}

/// Emit `cfg.tokens` tokens on an absolute schedule (no drift): token k at ttft + k·per_token.
/// Returns false if the fault ended the stream early.
async fn emit_tokens(
    tx: &Tx,
    cfg: &MockCfg,
    fault: &Fault,
    start: Instant,
    extra: Duration,
    line: impl Fn(usize) -> String,
    [bad, err]: [&str; 2],
) -> bool {
    for k in 0..cfg.tokens {
        match fault {
            Fault::CutAfter(n) if *n == k => return false,
            Fault::ResetAfter(n) if *n == k => {
                let _ = tx.send(Err(std::io::Error::other("reset"))).await;
                return false;
            }
            Fault::MalformedAfter(n) if *n == k => {
                let _ = tx.send(Ok(bad.to_string())).await;
                return false;
            }
            Fault::ErrorAfter(n) if *n == k => {
                let _ = tx.send(Ok(err.to_string())).await;
                return false;
            }
            _ => {}
        }
        sleep_until(start + extra + cfg.ttft + cfg.per_token * k as u32).await;
        if tx.send(Ok(line(k))).await.is_err() {
            return false;
        }
    }
    true
}

// ---------------------------------------------------------------- OpenAI (vLLM / llama.cpp)

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
        .with_state(s.clone());
    Mock {
        addr: serve(app).await,
        shared: s,
    }
}

/// vLLM's `/metrics` fixture with two live values; 404 unless `cfg.metrics`.
async fn oa_metrics(State(s): State<Arc<Shared>>) -> Response {
    if !s.cfg.metrics {
        return StatusCode::NOT_FOUND.into_response();
    }
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

/// Counts a stream as running while alive.
struct Running(Arc<Shared>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// 401 in vLLM's words when the mock wants a key and the request lacks it.
fn unauthorised(s: &Shared, headers: &axum::http::HeaderMap) -> Option<Response> {
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

async fn oa_models(State(s): State<Arc<Shared>>, headers: axum::http::HeaderMap) -> Response {
    if let Some(r) = unauthorised(&s, &headers) {
        return r;
    }
    axum::Json(json!({"object": "list", "data": [{
        "id": s.cfg.model, "object": "model", "created": 1749893478, "owned_by": "vllm",
        "root": s.cfg.model, "parent": null, "max_model_len": 16384, "permission": []
    }]}))
    .into_response()
}

async fn oa_generate(
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
    if body["model"] != json!(s.cfg.model) {
        let m = body["model"].as_str().unwrap_or("");
        return (StatusCode::NOT_FOUND, axum::Json(json!({"error": {"message": format!("The model `{m}` does not exist."), "type": "NotFoundError", "param": "model", "code": 404}}))).into_response();
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
    if let (Some(a), true) = (&s.cfg.answer, chat) {
        return oa_answer((a.0)(&body), s.cfg.clone(), start);
    }
    let (tx, rx) = mpsc::channel(16);
    let cfg = s.cfg.clone();
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
            let ev = if chat {
                json!({"id": id, "object": "chat.completion.chunk", "created": 1749893467, "model": cfg.model,
                       "choices": [{"index": 0, "delta": {"content": text}, "logprobs": null, "finish_reason": null}]})
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
            let _ = tx.send(Ok(format!("data: {usage}\n\n"))).await;
        }
        let _ = tx.send(Ok("data: [DONE]\n\n".into())).await;
    });
    streaming("text/event-stream", rx)
}

/// Stream `text` as vLLM chat chunks of up to 8 characters, then finish and usage.
fn oa_answer(text: String, cfg: MockCfg, start: Instant) -> Response {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
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

// ---------------------------------------------------------------- Ollama

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

fn ol_loaded(s: &Shared) -> bool {
    if let Some(at) = *s.unload_at.lock().unwrap()
        && Instant::now() >= at
    {
        s.loaded.store(false, Ordering::SeqCst);
    }
    s.loaded.load(Ordering::SeqCst)
}

fn not_found(m: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": format!("model '{m}' not found")})),
    )
        .into_response()
}

async fn ol_tags(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    let mut v: Value = serde_json::from_str(&fixture("ollama_tags.json")).unwrap();
    v["models"][0]["name"] = json!(s.cfg.model);
    v["models"][0]["model"] = json!(s.cfg.model);
    axum::Json(v)
}

async fn ol_show(State(s): State<Arc<Shared>>, axum::Json(body): axum::Json<Value>) -> Response {
    if body["model"] != json!(s.cfg.model) {
        return not_found(body["model"].as_str().unwrap_or(""));
    }
    let v: Value = serde_json::from_str(&fixture("ollama_show.json")).unwrap();
    axum::Json(v).into_response()
}

async fn ol_ps(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    if ol_loaded(&s) {
        let mut v: Value = serde_json::from_str(&fixture("ollama_ps.json")).unwrap();
        v["models"][0]["name"] = json!(s.cfg.model);
        v["models"][0]["model"] = json!(s.cfg.model);
        axum::Json(v)
    } else {
        axum::Json(serde_json::from_str(&fixture("ollama_ps_empty.json")).unwrap())
    }
}

async fn ol_generate(
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

async fn ol_chat(State(s): State<Arc<Shared>>, axum::Json(body): axum::Json<Value>) -> Response {
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
    let load = if ol_loaded(&s) {
        Duration::ZERO
    } else {
        s.cfg.load
    };
    s.loaded.store(true, Ordering::SeqCst);
    *s.unload_at.lock().unwrap() = None;
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
                          "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "length",
                          "total_duration": total.as_nanos() as u64, "load_duration": load.as_nanos() as u64,
                          "prompt_eval_count": 27, "prompt_eval_duration": 15330000u64,
                          "eval_count": cfg.tokens, "eval_duration": eval.as_nanos() as u64});
        let _ = tx.send(Ok(format!("{done}\n"))).await;
    });
    streaming("application/x-ndjson", rx)
}

// ---------------------------------------------------------------- not an LLM API

/// A server that answers every path with an HTML page.
pub async fn html_server() -> SocketAddr {
    let app = Router::new().fallback(|| async {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>Welcome to nginx!</body></html>",
        )
    });
    serve(app).await
}

/// The kernel's ephemeral port range (`bind(0)` and outgoing connections take ports from it).
pub fn ephemeral_ports() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|p| p.parse().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999))
}

/// A port for a server a test launches (and a port with nothing listening on it): below the
/// ephemeral range, so no `bind(0)` of a parallel test and no outgoing connection can take it
/// between this call and the launch; unique within this process, offset by the pid across
/// processes, and free when handed out.
pub fn launch_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let (lo, hi) = ephemeral_ports();
    let (base, span) = if lo >= 11024 {
        (u32::from(lo) - 10000, 10000)
    } else {
        (u32::from(hi) + 1, 65535 - u32::from(hi))
    };
    let start = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (base + (start + n) % span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {base}..{}", base + span)
}

/// A port with nothing listening on it (see [`launch_port`]).
pub fn dead_port() -> u16 {
    launch_port()
}

// ---------------------------------------------------------------- running plans in-process

use servebench_engine::events::{Event, Observer};
use servebench_engine::plan::{Api, Plan, RunSettings, TargetSpec};
use servebench_engine::record::RequestRecord;
use servebench_engine::report::Report;

/// Collects every finished request.
#[derive(Default)]
pub struct Collect(pub Vec<RequestRecord>);

impl Observer for Collect {
    fn on_event(&mut self, e: &Event<'_>) -> std::io::Result<()> {
        match e {
            Event::RequestFinished(r) => self.0.push((*r).clone()),
            // Shown with a failing test's output: why the grader (not the model) failed.
            Event::TaskGraded(t)
                if t.graded.verdict == servebench_engine::eval::grade::Verdict::Error =>
            {
                eprintln!("grader error on {}: {:?}", t.task_id, t.graded.reason)
            }
            _ => {}
        }
        Ok(())
    }
}

pub fn target(name: &str, api: Api, url: &str, model: &str) -> TargetSpec {
    TargetSpec::new(name, api, url, model)
}

/// Run targets in-process with `warm` requests; returns the report and every record.
pub async fn run_targets(
    targets: Vec<TargetSpec>,
    warm: u32,
    tweak: impl FnOnce(&mut RunSettings),
) -> (Report, Vec<RequestRecord>) {
    run_targets_gpu(
        targets,
        warm,
        tweak,
        servebench_engine::telemetry::gpu::open(),
    )
    .await
}

/// [`run_targets`] with a given GPU source.
pub async fn run_targets_gpu(
    targets: Vec<TargetSpec>,
    warm: u32,
    tweak: impl FnOnce(&mut RunSettings),
    gpu: Result<Box<dyn servebench_engine::telemetry::gpu::GpuSource>, String>,
) -> (Report, Vec<RequestRecord>) {
    let mut settings = RunSettings {
        warm,
        ..Default::default()
    };
    tweak(&mut settings);
    let plan = Plan { settings, targets };
    plan.validate().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut c = Collect::default();
    let cancel = tokio_util::sync::CancellationToken::new();
    let report = servebench_engine::runner::run_with_gpu(
        &plan,
        &servebench_engine::prompts::builtin(),
        out.path(),
        &mut c,
        &cancel,
        gpu,
    )
    .await
    .unwrap();
    (report, c.0)
}

/// Validate a report JSON value against `schema/report.schema.json`.
pub fn assert_schema_valid(report: &Value) {
    let errors = schema_errors(report);
    assert!(errors.is_empty(), "report violates the schema: {errors:#?}");
}

/// Every violation of `schema/report.schema.json` in `report`.
pub fn schema_errors(report: &Value) -> Vec<String> {
    let schema: Value =
        serde_json::from_str(include_str!("../../../../schema/report.schema.json")).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    v.iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

// ---------------------------------------------------------------- the binary

/// Exit code and output of one `servebench` process.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the binary with `args`.
pub async fn servebench(args: &[&str]) -> Out {
    let o = tokio::process::Command::new(env!("CARGO_BIN_EXE_servebench"))
        .args(args)
        .output()
        .await
        .unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    }
}

/// Write `toml` as `plan.toml` in `dir`, run it into `dir/out`; returns the output and out dir.
pub async fn run_plan(dir: &std::path::Path, toml: &str) -> (Out, std::path::PathBuf) {
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, toml).unwrap();
    let out = dir.join("out");
    let o = servebench(&[
        "run",
        plan.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    (o, out)
}

/// `report.json` in `dir`.
pub fn read_report(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}
