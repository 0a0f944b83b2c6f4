//! What every mock server shares: the faults and answers it is given, its state, and the
//! token emitter that keeps an absolute schedule; the dialects are in [`super::openai`] and
//! [`super::ollama`].

use super::gpu::{FAKE_TOTAL, FakeGpu};
use axum::Router;
use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

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
    /// OpenAI: each request's first token comes up to this much later than `ttft`, drawn
    /// uniformly from the request's index (reproducible); its tokens follow at `per_token`.
    pub ttft_jitter: Duration,
    /// OpenAI: serve vLLM's `/metrics` (the wire fixture) with live `num_requests_running`
    /// and `generation_tokens_total`.
    pub metrics: bool,
    /// OpenAI: require `Authorization: Bearer <key>` (401 otherwise).
    pub api_key: Option<String>,
    /// OpenAI chat: answer with this text (in pieces of up to 8 characters, one per token
    /// interval) instead of `tokens` numbered tokens.
    pub answer: Option<Answer>,
    /// OpenAI: answer whatever model name is asked for, as llama.cpp's server does (vLLM
    /// answers 404 for a name it does not serve).
    pub any_model: bool,
    /// OpenAI: the model ids `/v1/models` lists; `None`: just `model`.
    pub listed: Option<Vec<String>>,
    /// OpenAI: a prompt cache reported the llama.cpp way (`timings.cache_n`, `prompt_n`).
    pub prompt_cache: Option<CacheMock>,
    /// OpenAI chat, with `answer`: the answer given instead when another chat answer is being
    /// generated at the same time — decided after a 50 ms batching window (each such answer
    /// takes at least 100 ms), as a batching server whose batch changes a greedy answer would.
    pub batch_drift: Option<Answer>,
    /// OpenAI chat: refuse a prompt of more words than this (after the 4-word template) with
    /// llama.cpp's 400 `exceed_context_size_error` (`llamacpp_error_exceed_context.json`).
    pub ctx_limit: Option<usize>,
    /// OpenAI chat: the first this many of `tokens` stream as `delta.reasoning_content` (a
    /// reasoning model behind llama.cpp `--reasoning-format deepseek` or vLLM 0.11
    /// `--reasoning-parser`), the rest as the answer.
    pub reasoning: usize,
    /// Ollama chat: a runner with this `num_ctx` (a request's `options.num_ctx` overrides
    /// it) that counts the prompt in words (after a 4-word template), keeps the last
    /// `num_ctx` of a longer one and says nothing (`prompt_eval_count` = `num_ctx`,
    /// `done_reason` `stop`: `ollama_chat_truncated.ndjson`), or with `truncate: false`
    /// refuses it (`ollama_error_input_too_long.json`); answers `stream: false` with one
    /// object. `None`: the fixed counts of the fixture.
    pub num_ctx: Option<usize>,
    /// OpenAI: `/tokenize` answers 500 for a text of more words than this (a tokenizer that
    /// fails on one ladder step and not on the others).
    pub tokenize_fails_over: Option<usize>,
    /// OpenAI: the context vLLM reports (`max_model_len` in `/v1/models` and `/tokenize`).
    pub max_model_len: usize,
}

/// How the mock's prompt cache behaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CacheMock {
    /// Like llama.cpp's `cache_prompt`: the longest prefix (in words, after a 4-word chat
    /// template) shared with an earlier prompt and its reply (a slot's KV cache holds both) is
    /// cached, and TTFT shrinks in proportion.
    Prefix,
    /// Every prompt reported as cached but its last token (a server whose cache was filled
    /// by someone else).
    Always,
    /// Like vLLM's prefix caching with `--enable-prompt-tokens-details`: the shared prefix as
    /// `Prefix` finds it, counted in whole 16-token blocks and never the prompt's last token
    /// (`KVCacheManager.get_computed_blocks`), reported as
    /// `usage.prompt_tokens_details.cached_tokens` and left out at 0 (`serving_chat.py`:
    /// `if self.enable_prompt_tokens_details and num_cached_tokens:`); `/metrics` counts
    /// `prefix_cache_queries_total` / `hits_total` live (with `metrics`).
    VllmBlocks,
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
            ttft_jitter: Duration::ZERO,
            metrics: false,
            api_key: None,
            answer: None,
            any_model: false,
            listed: None,
            prompt_cache: None,
            batch_drift: None,
            ctx_limit: None,
            reasoning: 0,
            num_ctx: None,
            tokenize_fails_over: None,
            max_model_len: 16384,
        }
    }
}

pub struct Shared {
    pub cfg: MockCfg,
    pub count: AtomicUsize,
    pub loaded: AtomicBool,
    pub unload_at: Mutex<Option<Instant>>,
    /// Request bodies received on generation endpoints.
    pub bodies: Mutex<Vec<Value>>,
    pub slots: Option<Arc<tokio::sync::Semaphore>>,
    /// Streams generating now.
    pub running: AtomicUsize,
    /// Tokens sent so far.
    pub generated: AtomicUsize,
    /// Prompts seen, as words (the prompt-cache emulation).
    pub seen: Mutex<Vec<Vec<String>>>,
    /// vLLM's prefix-cache counters: prompt tokens looked up, and found.
    pub prefix_queries: AtomicUsize,
    pub prefix_hits: AtomicUsize,
}

impl Shared {
    /// (prompt tokens, cached tokens) of a chat body under the prompt-cache emulation, and
    /// remember the prompt.
    pub fn cache(&self, body: &Value) -> Option<(usize, usize)> {
        let mode = self.cfg.prompt_cache?;
        let mut words = prompt_words(body);
        let mut seen = self.seen.lock().unwrap();
        let shared = seen
            .iter()
            .map(|p| p.iter().zip(&words).take_while(|(a, b)| a == b).count())
            .max()
            .unwrap_or(0);
        let n = words.len();
        let cached = match mode {
            CacheMock::Prefix => shared.min(n - 1),
            CacheMock::Always => n - 1,
            CacheMock::VllmBlocks => shared.min(n - 1) / 16 * 16,
        };
        self.prefix_queries.fetch_add(n, Ordering::SeqCst);
        self.prefix_hits.fetch_add(cached, Ordering::SeqCst);
        // The reply the mock will stream (` t0 … t{k}`) stays in the cache after the prompt.
        words.extend((0..self.cfg.tokens).map(|k| format!("t{k}")));
        seen.push(words);
        Some((n, cached))
    }
}

/// A uniform draw in [0, 1) from a request's index (splitmix64): reproducible jitter.
pub fn unit_draw(n: usize) -> f64 {
    let mut z = (n as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// A chat body's prompt as the mock's tokens: a 4-word template, then every message's words.
pub fn prompt_words(body: &Value) -> Vec<String> {
    let mut words: Vec<String> = ["<|im_start|>", "user", "\n", "<|sep|>"]
        .map(String::from)
        .to_vec();
    for m in body["messages"].as_array().into_iter().flatten() {
        words.extend(
            m["content"]
                .as_str()
                .unwrap_or("")
                .split_whitespace()
                .map(String::from),
        );
    }
    words
}

/// A running mock.
pub struct Mock {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
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
            counter: true,
            born: std::time::Instant::now(),
        }
    }
}

pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

pub fn shared(cfg: MockCfg) -> Arc<Shared> {
    Arc::new(Shared {
        count: AtomicUsize::new(0),
        loaded: AtomicBool::new(true),
        unload_at: Mutex::new(None),
        bodies: Mutex::new(vec![]),
        slots: cfg.slots.map(|k| Arc::new(tokio::sync::Semaphore::new(k))),
        running: AtomicUsize::new(0),
        generated: AtomicUsize::new(0),
        seen: Mutex::new(vec![]),
        prefix_queries: AtomicUsize::new(0),
        prefix_hits: AtomicUsize::new(0),
        cfg,
    })
}

pub type Tx = mpsc::Sender<Result<String, std::io::Error>>;

pub fn streaming(
    ctype: &'static str,
    rx: mpsc::Receiver<Result<String, std::io::Error>>,
) -> Response {
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) });
    Response::builder()
        .header(header::CONTENT_TYPE, ctype)
        .body(Body::from_stream(stream))
        .unwrap()
}

/// Emit `cfg.tokens` tokens on an absolute schedule (no drift): token k at ttft + k·per_token.
/// Returns false if the fault ended the stream early.
pub async fn emit_tokens(
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

/// What real vLLM answers a request whose `stop` lists more than 4 sequences (the OpenAI API's
/// limit, which vLLM enforces): 400 with its validation error, as the project recorded it from
/// vLLM 0.32.0 (`fixtures/vllm-cpu/error_stop_list_too_long.error.json`, a 10-item list; the
/// counts are this request's). `None` for a request it accepts.
pub fn vllm_refuses_stops(body: &Value) -> Option<Response> {
    let n = body["stop"].as_array().map_or(0, Vec::len);
    if n <= 4 {
        return None;
    }
    let recorded: Value =
        serde_json::from_str(&super::recorded_vllm("error_stop_list_too_long.error.json")).unwrap();
    let text = recorded["body"]
        .to_string()
        .replace("<list of 10 items>", &format!("<list of {n} items>"))
        .replace("not 10", &format!("not {n}"))
        .replace("'actual_length': 10", &format!("'actual_length': {n}"));
    Some(
        Response::builder()
            .status(axum::http::StatusCode::BAD_REQUEST)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(text))
            .unwrap(),
    )
}
