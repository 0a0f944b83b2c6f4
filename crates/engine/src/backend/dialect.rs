//! The dialect seam: the [`Dialect`] trait each API module implements, the [`Client`] it is
//! handed, the errors, parameters and capabilities it speaks in, and the HTTP helpers every
//! dialect shares. A leaf of the backend: the dialect modules and the stream decoder use it, and
//! it uses none of them (the registry from `Api` to dialect and the client's methods, which call
//! into the dialects, live in the backend's root).

use super::sink;
use crate::prompts::Prompt;
use crate::record::Phase;
use crate::report::ModelInfo;
use crate::spec::Endpoint;
use futures_util::future::BoxFuture;
use std::time::Duration;

/// A target-level failure: the target cannot be measured. Messages name the URL and the fix.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    /// Connection refused or host unreachable.
    #[error("nothing is listening at {url} ({detail}): start the server or fix the url")]
    NotListening {
        /// Base URL.
        url: String,
        /// Transport error.
        detail: String,
    },
    /// The URL's host name does not resolve.
    #[error("host not found for {url} ({detail}): check the host name in the url")]
    HostNotFound {
        /// Base URL.
        url: String,
        /// Resolver error.
        detail: String,
    },
    /// The server wants credentials (HTTP 401/403).
    #[error(
        "unauthorised at {url} (HTTP {status}): set --api-key-env (or api_key_env in the plan) to the variable holding the key"
    )]
    Unauthorised {
        /// Base URL.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// Something answered, but not in this dialect.
    #[error("{url} is not an {api} API ({detail}): check --api and --url")]
    WrongApi {
        /// Base URL.
        url: String,
        /// `Ollama` or `OpenAI`.
        api: &'static str,
        /// What was seen instead.
        detail: String,
    },
    /// The server does not have the model.
    #[error("model {model} not found on {url}; available: {available}")]
    ModelNotFound {
        /// Requested model.
        model: String,
        /// Base URL.
        url: String,
        /// Models the server lists.
        available: String,
    },
    /// Any other failed call.
    #[error("{0}")]
    Other(String),
}

/// Sampling and limits for one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenParams {
    /// Generation limit.
    pub max_tokens: u32,
    /// Temperature.
    pub temperature: f64,
    /// Seed.
    pub seed: u64,
    /// OpenAI endpoint.
    pub endpoint: Endpoint,
    /// Whole-request time limit.
    pub timeout: Duration,
    /// Limit from sending to the first generated token; `None`: only `timeout`.
    pub ttft_timeout: Option<Duration>,
    /// Re-sends after HTTP 429/503 (0: such a request is recorded as failed).
    pub retries: u32,
    /// Stop sequences (none: the model's own end of turn).
    pub stop: &'static [&'static str],
}

/// Where a request belongs, for its record.
#[derive(Debug, Clone, Copy)]
pub struct RequestMeta<'a> {
    /// Target name.
    pub target: &'a str,
    /// Phase.
    pub phase: Phase,
    /// Sweep step, if any.
    pub step: Option<u32>,
    /// Attempt at the target (0: the plan's model, k: its k-th fallback).
    pub attempt: u32,
    /// The kind of work that sends it, in a team mix.
    pub class: Option<crate::spec::Class>,
    /// Index within the phase.
    pub index: u64,
    /// When the request was scheduled to be sent.
    pub scheduled: std::time::Instant,
}

/// What a dialect can do beyond streaming a generation. The engine reads these; it never
/// matches on the API itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The server can be told to unload the model ([`Dialect::unload`]), so every cold
    /// request can be made to pay for a load without restarting the server.
    pub cold_unload: bool,
    /// The server times its own model load and reports it with the first response
    /// (`ServerTimings::load`); otherwise a cold load is timed as a managed server's launch.
    pub server_load_time: bool,
    /// The server reports the memory of the loaded model ([`Dialect::resident`]).
    pub resident_model: bool,
    /// The servers whose Prometheus `/metrics` this dialect may meet (none: it has no
    /// `/metrics`); their metrics are named once, by role, in [`crate::server_metrics`].
    pub servers: &'static [&'static crate::server_metrics::Server],
    /// The server can be asked for an exact output length (ignore end-of-sequence); whether it
    /// honoured it is still judged from its token count.
    pub exact_output: bool,
    /// The server may have a tokenizer endpoint ([`Dialect::tokenize`]).
    pub tokenize: bool,
    /// The server takes fill-in-the-middle requests (a prefix and a suffix).
    pub fill_in_the_middle: bool,
    /// What the server does that the report is judged by; recorded in each target's report.
    pub traits: crate::spec::ServerTraits,
}

/// The most stop sequences the OpenAI API takes in one request; vLLM enforces it (a longer
/// list is a 400: `body.stop` "should have at most 4 items").
pub const OPENAI_MAX_STOPS: usize = 4;

/// `stops` as an OpenAI-compatible request sends them: each once, the first
/// [`OPENAI_MAX_STOPS`] in the order given (callers put the request's own stops — the end of a
/// line or block — before a template's markers, which the server's end-of-text and its
/// skipping of special tokens mostly make moot).
pub fn openai_stops<'a>(stops: impl IntoIterator<Item = &'a &'static str>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for s in stops {
        if out.len() == OPENAI_MAX_STOPS {
            break;
        }
        if !out.contains(s) {
            out.push(s);
        }
    }
    out
}

/// Decodes the lines of one streamed response into an [`EventSink`]. A decoder is made fresh
/// for every response ([`Dialect::decoder`]) and may keep state between lines: a server that
/// streams cumulative text keeps what it has already handed out and emits the difference.
pub trait StreamDecoder: Send {
    /// Decode one line (without its line ending); `Err` holds why the line is malformed.
    fn line(&mut self, line: &str, out: &mut dyn sink::EventSink) -> Result<(), String>;
}

/// A stateless decoder from a plain function (SSE and NDJSON lines stand alone).
#[derive(Debug, Clone, Copy)]
pub struct LineFn(pub fn(&str, &mut dyn sink::EventSink) -> Result<(), String>);

impl StreamDecoder for LineFn {
    fn line(&mut self, line: &str, out: &mut dyn sink::EventSink) -> Result<(), String> {
        (self.0)(line, out)
    }
}

/// One API dialect: its wire format and what its server can tell about itself. Methods that
/// talk to the server take the [`Client`] (base URL, model, HTTP pool and credentials).
pub trait Dialect: Send + Sync + std::fmt::Debug {
    /// What this dialect can do.
    fn capabilities(&self) -> Capabilities;

    /// The base URL requests are made against, from what the user gave (a trailing `/` is
    /// already dropped).
    fn base_url(&self, url: &str) -> String {
        url.to_string()
    }

    /// Check that the server speaks this dialect; returns its version when it states one.
    fn probe<'a>(&'a self, c: &'a Client) -> BoxFuture<'a, Result<Option<String>, BackendError>>;

    /// What the server says about the model; `ModelNotFound` when it does not have it.
    fn model_info<'a>(&'a self, c: &'a Client) -> BoxFuture<'a, Result<ModelInfo, BackendError>>;

    /// The models the server lists.
    fn list_models<'a>(&'a self, c: &'a Client)
    -> BoxFuture<'a, Result<Vec<String>, BackendError>>;

    /// Whether `model` is among the names the server `listed`: the same name, or the file
    /// name (with or without `.gguf`) of a listed path — llama.cpp without `--alias` lists the
    /// model file's path.
    fn serves(&self, listed: &[String], model: &str) -> bool {
        listed.iter().any(|m| {
            let file = m.rsplit('/').next().unwrap_or(m);
            m == model || file == model || file.strip_suffix(".gguf") == Some(model)
        })
    }

    /// Tokens in `text` by the server's own tokenizer; `None` when it has no such endpoint.
    fn tokenize<'a>(
        &'a self,
        _c: &'a Client,
        _text: &'a str,
    ) -> BoxFuture<'a, Result<Option<u64>, BackendError>> {
        Box::pin(async { Ok(None) })
    }

    /// Prompt tokens the server counts for `text` sent as a one-token request (`None` when it
    /// reports no usage). Calibration takes the difference of two, so a template's own tokens
    /// cancel.
    fn prompt_tokens<'a>(
        &'a self,
        c: &'a Client,
        text: &'a str,
    ) -> BoxFuture<'a, Result<Option<u64>, BackendError>>;

    /// The path and JSON body of one streaming generation request.
    fn request(
        &self,
        model: &str,
        prompt: &Prompt,
        params: &GenParams,
    ) -> (&'static str, serde_json::Value);

    /// A fresh decoder for one streamed response.
    fn decoder(&self) -> Box<dyn StreamDecoder>;

    /// The path and JSON body of one streaming fill-in-the-middle request sent by `method`
    /// (see [`crate::fim::Method::choose`]). The default is the OpenAI-compatible raw prompt
    /// in the model's template on `/v1/completions`, cut at the template's markers.
    fn fim_request(
        &self,
        model: &str,
        fim: &crate::fim::Fim,
        method: crate::fim::Method,
        p: &GenParams,
    ) -> Result<(&'static str, serde_json::Value), String> {
        let crate::fim::Method::Raw(t) = method else {
            return Err(format!(
                "fill-in-the-middle by {} is not this server's: use --fim-template",
                method.name()
            ));
        };
        let mut body = serde_json::json!({
            "model": model,
            "prompt": t.render(fim),
            "max_tokens": p.max_tokens,
            "temperature": p.temperature,
            "seed": p.seed,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        body["stop"] = openai_stops(p.stop.iter().chain(t.stops())).into();
        Ok(("/v1/completions", body))
    }

    /// Memory of the loaded model (`size`, `size_in_vram` bytes), `None` when it is not
    /// loaded. Only with [`Capabilities::resident_model`].
    fn resident<'a>(
        &'a self,
        _c: &'a Client,
    ) -> BoxFuture<'a, Result<Option<(u64, u64)>, BackendError>> {
        Box::pin(async { Ok(None) })
    }

    /// Unload the model and wait up to `wait` for it to be gone; returns whether that was
    /// confirmed. Only with [`Capabilities::cold_unload`].
    fn unload<'a>(
        &'a self,
        _c: &'a Client,
        _wait: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async { Ok(false) })
    }
}

/// A client for one target.
#[derive(Debug, Clone)]
pub struct Client {
    pub(super) dialect: &'static dyn Dialect,
    pub(super) base: String,
    pub(super) model: String,
    pub(super) http: reqwest::Client,
    /// Fields merged into every generation body (`extra_body`), e.g. llama.cpp
    /// `cache_prompt: false` or Ollama `options.num_ctx`.
    pub(super) extra: Option<std::sync::Arc<serde_json::Value>>,
    /// Requests in flight, shared by every clone.
    pub(super) in_flight: std::sync::Arc<super::in_flight::InFlight>,
}

/// Merge `extra` into `body`: objects key by key (recursively), anything else replaces.
pub fn merge(body: &mut serde_json::Value, extra: &serde_json::Value) {
    match (body, extra) {
        (serde_json::Value::Object(b), serde_json::Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, e) => *b = e.clone(),
    }
}

/// GET a JSON document; distinguishes "nothing listening" from "not this API".
pub(crate) async fn get_json(
    client: &Client,
    path: &str,
    api: &'static str,
) -> Result<serde_json::Value, BackendError> {
    let url = client.url(path);
    let resp = client
        .http()
        .get(&url)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| transport_error(client, e))?;
    json_body(client, resp, api, path).await
}

/// POST a JSON body with a time limit; a transport failure becomes a target-level error.
pub(crate) async fn post_json(
    client: &Client,
    path: &str,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<reqwest::Response, BackendError> {
    client
        .http()
        .post(client.url(path))
        .json(body)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| transport_error(client, e))
}

/// Read a response as JSON, or explain why it is not this API.
pub(crate) async fn json_body(
    client: &Client,
    resp: reqwest::Response,
    api: &'static str,
    path: &str,
) -> Result<serde_json::Value, BackendError> {
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = resp
        .text()
        .await
        .map_err(|e| BackendError::Other(format!("reading {}{path}: {e}", client.base())))?;
    let wrong = |detail: String| BackendError::WrongApi {
        url: client.base().to_string(),
        api,
        detail,
    };
    if status.as_u16() == 401 || status.as_u16() == 403 {
        return Err(BackendError::Unauthorised {
            url: client.base().to_string(),
            status: status.as_u16(),
        });
    }
    if !status.is_success() {
        return Err(wrong(format!(
            "{path} answered HTTP {} {}",
            status.as_u16(),
            excerpt(&text)
        )));
    }
    serde_json::from_str(&text).map_err(|_| {
        wrong(format!(
            "{path} answered {} instead of JSON: {}",
            if ctype.is_empty() {
                "no content type"
            } else {
                &ctype
            },
            excerpt(&text)
        ))
    })
}

pub(crate) fn transport_error(client: &Client, e: reqwest::Error) -> BackendError {
    if e.is_connect() && dns_failure(&e) {
        BackendError::HostNotFound {
            url: client.base().to_string(),
            detail: root_cause(&e),
        }
    } else if e.is_connect() {
        BackendError::NotListening {
            url: client.base().to_string(),
            detail: root_cause(&e),
        }
    } else {
        BackendError::Other(format!(
            "request to {} failed: {}",
            client.base(),
            root_cause(&e)
        ))
    }
}

/// Whether a connect error is a failed name lookup (hyper-util's connector reports it as a
/// "dns error" around the resolver's own error).
fn dns_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.to_string().starts_with("dns error") {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The innermost error message (reqwest's own Display hides the cause).
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// First 200 characters of a body, on one line.
pub(crate) fn excerpt(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_openai_request_sends_its_own_stops_first_and_at_most_four() {
        let line: &[&str] = &["\n"];
        let template = crate::fim::Template::Qwen.stops();
        let stops = openai_stops(line.iter().chain(template));
        assert_eq!(stops.len(), OPENAI_MAX_STOPS);
        assert_eq!(stops[0], "\n");
        assert_eq!(&stops[1..], &template[..3]);
        assert_eq!(openai_stops(["a", "a", "b"].iter()), ["a", "b"]);
    }
}
