//! The OpenAI-compatible dialect (vLLM, llama.cpp `llama-server`, SGLang, TGI, Ollama `/v1`):
//! request bodies, SSE chunk decoding (including llama.cpp's `timings`), and `/v1/models`.

use super::sink::{EventSink, text_literal};
use super::{
    BackendError, Capabilities, Client, Dialect, GenParams, LineFn, StreamDecoder, get_json,
    post_json,
};
use crate::prompts::Prompt;
use crate::record::ServerTimings;
use crate::report::ModelInfo;
use crate::spec::Endpoint;
use crate::spec::ServerTraits;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::time::Duration;

const API: &str = "OpenAI";

/// The OpenAI-compatible dialect.
#[derive(Debug, Clone, Copy)]
pub struct OpenAi;

impl Dialect for OpenAi {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            servers: crate::server_metrics::ALL,
            exact_output: true,
            tokenize: true,
            traits: ServerTraits {
                states_cached_tokens: true,
                ..ServerTraits::default()
            },
            ..Capabilities::default()
        }
    }

    /// `http://host:8000/v1` and `http://host:8000` are the same server.
    fn base_url(&self, url: &str) -> String {
        url.strip_suffix("/v1").unwrap_or(url).to_string()
    }

    fn probe<'a>(&'a self, c: &'a Client) -> BoxFuture<'a, Result<Option<String>, BackendError>> {
        Box::pin(probe(c))
    }

    fn model_info<'a>(&'a self, c: &'a Client) -> BoxFuture<'a, Result<ModelInfo, BackendError>> {
        Box::pin(model_info(c))
    }

    fn list_models<'a>(
        &'a self,
        c: &'a Client,
    ) -> BoxFuture<'a, Result<Vec<String>, BackendError>> {
        Box::pin(list_models(c))
    }

    fn tokenize<'a>(
        &'a self,
        c: &'a Client,
        text: &'a str,
    ) -> BoxFuture<'a, Result<Option<u64>, BackendError>> {
        Box::pin(tokenize(c, text))
    }

    fn prompt_tokens<'a>(
        &'a self,
        c: &'a Client,
        text: &'a str,
    ) -> BoxFuture<'a, Result<Option<u64>, BackendError>> {
        Box::pin(prompt_tokens(c, text))
    }

    fn request(&self, model: &str, prompt: &Prompt, p: &GenParams) -> (&'static str, Value) {
        match p.endpoint {
            Endpoint::Chat => ("/v1/chat/completions", chat_body(model, prompt, p)),
            Endpoint::Completions => ("/v1/completions", completions_body(model, prompt, p)),
        }
    }

    fn decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(LineFn(decode_sse_line))
    }
}

/// Body for `/v1/chat/completions`, streaming with usage.
pub fn chat_body(model: &str, prompt: &Prompt, p: &GenParams) -> Value {
    let mut body = json!({
        "model": model,
        "messages": prompt.messages,
        "temperature": p.temperature,
        "seed": p.seed,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    limit_output(&mut body, prompt, p);
    body
}

/// Body for `/v1/completions`, streaming with usage.
pub fn completions_body(model: &str, prompt: &Prompt, p: &GenParams) -> Value {
    let mut body = json!({
        "model": model,
        "prompt": prompt.as_text(),
        "temperature": p.temperature,
        "seed": p.seed,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    limit_output(&mut body, prompt, p);
    body
}

/// `max_tokens`, and for an exact output length also `ignore_eos` + `min_tokens` (vLLM, SGLang;
/// llama.cpp reads `ignore_eos` and takes `max_tokens` as `n_predict`). Whether the server
/// honoured it is judged afterwards from its token count.
fn limit_output(body: &mut Value, prompt: &Prompt, p: &GenParams) {
    match prompt.output_tokens {
        Some(n) => {
            body["max_tokens"] = n.into();
            body["min_tokens"] = n.into();
            body["ignore_eos"] = true.into();
        }
        None => body["max_tokens"] = p.max_tokens.into(),
    }
    // At most four (vLLM refuses more with a 400); a caller with more cuts the text at the rest
    // itself (the quality harness does: `eval::cut_at_stops`).
    if !p.stop.is_empty() {
        body["stop"] = super::dialect::openai_stops(p.stop).into();
    }
}

/// Count tokens with the server's `/tokenize` (vLLM: `prompt` → `count`; llama.cpp:
/// `content` → `tokens`). `None` when the server has no such endpoint.
pub async fn tokenize(c: &Client, text: &str) -> Result<Option<u64>, BackendError> {
    let resp = post_json(
        c,
        "/tokenize",
        &json!({"model": c.model(), "prompt": text, "content": text, "add_special_tokens": false}),
        Duration::from_secs(30),
    )
    .await?;
    if !resp.status().is_success() {
        return Ok(None);
    }
    let v: Value = match resp.json().await {
        Ok(v) => v,
        Err(_) => return Ok(None),
    };
    Ok(v.get("count").and_then(Value::as_u64).or_else(|| {
        v.get("tokens")
            .and_then(Value::as_array)
            .map(|a| a.len() as u64)
    }))
}

/// Prompt tokens the server counts for `text` as a one-token chat request (`usage`), with the
/// run's `extra_body` as every request has it (a chat-template field changes the count).
pub async fn prompt_tokens(c: &Client, text: &str) -> Result<Option<u64>, BackendError> {
    let body = c.body_with_extra(json!({
        "model": c.model(),
        "messages": [{"role": "user", "content": text}],
        "max_tokens": 1,
        "temperature": 0,
    }));
    let resp = post_json(c, "/v1/chat/completions", &body, Duration::from_secs(120)).await?;
    let v = super::json_body(c, resp, API, "/v1/chat/completions").await?;
    Ok(v.pointer("/usage/prompt_tokens").and_then(Value::as_u64))
}

// Borrowed views of a chunk: unknown fields are skipped, strings stay in the line buffer.
#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow, deserialize_with = "first_choice")]
    choices: Option<Choice<'a>>,
    usage: Option<Usage>,
    timings: Option<LlamaTimings>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow)]
    delta: Option<Delta<'a>>,
    #[serde(borrow)]
    text: Option<&'a RawValue>,
    #[serde(borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    #[serde(borrow)]
    reasoning_content: Option<&'a RawValue>,
    #[serde(borrow)]
    reasoning: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<PromptDetails>,
}

/// vLLM's `usage.prompt_tokens_details` (with `--enable-prompt-tokens-details`, and only when
/// something was cached).
#[derive(Deserialize)]
struct PromptDetails {
    cached_tokens: Option<u64>,
}

/// llama.cpp's per-request `timings` object.
#[derive(Deserialize)]
struct LlamaTimings {
    cache_n: Option<u64>,
    prompt_n: Option<u64>,
    prompt_ms: Option<f64>,
    predicted_n: Option<u64>,
    predicted_ms: Option<f64>,
}

/// Keep the first element of `choices` without collecting the array (no allocation).
fn first_choice<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Choice<'de>>, D::Error> {
    struct First;
    impl<'de> Visitor<'de> for First {
        type Value = Option<Choice<'de>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of choices")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let first = seq.next_element()?;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    d.deserialize_any(First)
}

fn ms(v: Option<f64>) -> Option<Duration> {
    v.and_then(|m| Duration::try_from_secs_f64(m / 1e3).ok())
}

/// Decode one SSE line. Comments, blank lines and non-`data` fields are ignored.
pub fn decode_sse_line(line: &str, out: &mut dyn EventSink) -> Result<(), String> {
    let Some(data) = line.strip_prefix("data:") else {
        return Ok(());
    };
    let data = data.strip_prefix(' ').unwrap_or(data);
    if data.trim() == "[DONE]" {
        out.done();
        return Ok(());
    }
    let chunk: Chunk = serde_json::from_str(data)
        .map_err(|e| format!("malformed SSE event ({e}): {}", super::excerpt(data)))?;
    if let Some(err) = chunk.error {
        out.error(error_message(err.get()));
        return Ok(());
    }
    if let Some(c) = &chunk.choices {
        if let Some(d) = &c.delta {
            // vLLM builds of late 2025 send `reasoning` and a deprecated copy in
            // `reasoning_content`: read one, never both. A multi-token delta may carry the end
            // of the reasoning and the start of the answer: reasoning first.
            if let Some(raw) = text_literal(d.reasoning).or(text_literal(d.reasoning_content)) {
                out.reasoning(raw)?;
            }
            if let Some(raw) = text_literal(d.content) {
                out.content(raw)?;
            }
        }
        if let Some(raw) = text_literal(c.text) {
            out.content(raw)?;
        }
        if let Some(r) = &c.finish_reason {
            out.finish(r);
        }
    }
    if let Some(u) = chunk.usage {
        out.usage(u.prompt_tokens, u.completion_tokens);
        if let Some(n) = u.prompt_tokens_details.and_then(|d| d.cached_tokens) {
            out.cached(n);
        }
    }
    if let Some(t) = chunk.timings {
        // llama.cpp: the count to trust (some builds omit prompt_tokens_details).
        if let Some(n) = t.cache_n {
            out.cached(n);
        }
        out.timings(ServerTimings {
            prompt_tokens: t.prompt_n,
            prompt: ms(t.prompt_ms),
            decode_tokens: t.predicted_n,
            decode: ms(t.predicted_ms),
            ..Default::default()
        });
    }
    Ok(())
}

/// The message of an error object (`{"message": ...}`) or string.
pub(crate) fn error_message(raw: &str) -> String {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::String(s)) => s,
        Ok(v) => v
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string()),
        Err(_) => raw.to_string(),
    }
}

/// `/v1/models` must answer a model list.
pub async fn probe(c: &Client) -> Result<Option<String>, BackendError> {
    let models = get_json(c, "/v1/models", API).await?;
    if !models.get("data").is_some_and(Value::is_array) {
        return Err(BackendError::WrongApi {
            url: c.base().to_string(),
            api: API,
            detail: "/v1/models answered JSON without a `data` list".into(),
        });
    }
    // vLLM states its version at /version; others may not, which is fine.
    let version = match get_json(c, "/version", API).await {
        Ok(v) => v.get("version").and_then(Value::as_str).map(str::to_string),
        Err(_) => None,
    };
    Ok(version)
}

/// Model ids the server lists.
pub async fn list_models(c: &Client) -> Result<Vec<String>, BackendError> {
    let v = get_json(c, "/v1/models", API).await?;
    Ok(parse_model_ids(&v))
}

fn parse_model_ids(v: &Value) -> Vec<String> {
    v.get("data")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Model facts from `/v1/models`: vLLM's `max_model_len`, llama.cpp's `meta`.
pub async fn model_info(c: &Client) -> Result<ModelInfo, BackendError> {
    let v = get_json(c, "/v1/models", API).await?;
    let mut info = parse_model_info(&v, c.model());
    // llama.cpp's `/props`: the context it serves and the model file; other servers have none.
    if let Ok(props) = get_json(c, "/props", API).await
        && let Some(path) = apply_props(&mut info, &props)
        && is_local(c.base())
    {
        crate::modelfile::fill_from_file(&mut info, std::path::Path::new(&path));
    }
    Ok(info)
}

/// Take llama.cpp `/props` facts; returns the model file path it states.
pub fn apply_props(info: &mut ModelInfo, props: &Value) -> Option<String> {
    let n_ctx = props
        .pointer("/default_generation_settings/n_ctx")
        .and_then(Value::as_u64);
    let path = props
        .get("model_path")
        .and_then(Value::as_str)
        .map(str::to_string);
    if n_ctx.is_some() || path.is_some() {
        info.context_length = n_ctx.or(info.context_length);
        info.sources.push("/props".into());
    }
    path
}

/// Whether a base URL points at this machine (so a model path it states can be read here).
fn is_local(base: &str) -> bool {
    url::Url::parse(base).is_ok_and(|u| {
        matches!(
            u.host_str(),
            Some("localhost" | "127.0.0.1" | "[::1]" | "::1" | "0.0.0.0")
        )
    })
}

/// Pull what `/v1/models` states about `model` (or its only entry); never guesses.
pub fn parse_model_info(v: &Value, model: &str) -> ModelInfo {
    let entries = v
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let entry = entries
        .iter()
        .find(|m| {
            m.get("id").and_then(Value::as_str) == Some(model)
                || m.get("aliases")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(model)))
        })
        .or(if entries.len() == 1 {
            entries.first()
        } else {
            None
        });
    let Some(e) = entry else {
        return ModelInfo::default();
    };
    let stated = e.get("meta").is_some() || e.get("max_model_len").is_some();
    let meta = e.get("meta");
    let meta_u64 = |k: &str| meta.and_then(|m| m.get(k)).and_then(Value::as_u64);
    ModelInfo {
        quantization: meta
            .and_then(|m| m.get("ftype"))
            .and_then(Value::as_str)
            .map(str::to_string),
        parameter_count: meta_u64("n_params"),
        parameter_size: None,
        context_length: meta_u64("n_ctx")
            .or_else(|| e.get("max_model_len").and_then(Value::as_u64))
            .or_else(|| meta_u64("n_ctx_train")),
        family: None,
        weights_bytes: meta_u64("size"),
        loaded_bytes: None,
        loaded_vram_bytes: None,
        sources: if stated {
            vec!["/v1/models".into()]
        } else {
            Vec::new()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::backend::StreamEvent;

    #[test]
    fn done_comment_and_other_fields() {
        let mut ev = Vec::new();
        decode_sse_line(": keep-alive", &mut ev).unwrap();
        decode_sse_line("event: ping", &mut ev).unwrap();
        decode_sse_line("", &mut ev).unwrap();
        assert!(ev.is_empty());
        decode_sse_line("data: [DONE]", &mut ev).unwrap();
        assert_eq!(ev, vec![StreamEvent::Done]);
        assert!(decode_sse_line("data: {not json", &mut ev).is_err());
    }

    #[test]
    fn in_stream_error_object() {
        let mut ev = Vec::new();
        decode_sse_line(
            r#"data: {"error":{"code":500,"message":"boom","type":"server_error"}}"#,
            &mut ev,
        )
        .unwrap();
        assert_eq!(ev, vec![StreamEvent::Error("boom".into())]);
    }
}
