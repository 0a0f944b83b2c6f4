//! The OpenAI-compatible dialect (vLLM, llama.cpp `llama-server`, SGLang, TGI, Ollama `/v1`):
//! request bodies, SSE chunk decoding (including llama.cpp's `timings`), and `/v1/models`.

use super::{BackendError, Client, GenParams, StreamEvent, get_json};
use crate::prompts::Prompt;
use crate::record::ServerTimings;
use crate::report::ModelInfo;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

const API: &str = "OpenAI";

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
}

/// Count tokens with the server's `/tokenize` (vLLM: `prompt` → `count`; llama.cpp:
/// `content` → `tokens`). `None` when the server has no such endpoint.
pub async fn tokenize(c: &Client, text: &str) -> Result<Option<u64>, BackendError> {
    let resp = c
        .http()
        .post(c.url("/tokenize"))
        .json(&json!({"model": c.model(), "prompt": text, "content": text, "add_special_tokens": false}))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| super::transport_error(c, e))?;
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

/// Prompt tokens the server counts for `text` as a one-token chat request (`usage`).
pub async fn prompt_tokens(c: &Client, text: &str) -> Result<Option<u64>, BackendError> {
    let body = json!({
        "model": c.model(),
        "messages": [{"role": "user", "content": text}],
        "max_tokens": 1,
        "temperature": 0,
    });
    let resp = c
        .http()
        .post(c.url("/v1/chat/completions"))
        .json(&body)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .map_err(|e| super::transport_error(c, e))?;
    let v = super::json_body(c, resp, API, "/v1/chat/completions").await?;
    Ok(v.pointer("/usage/prompt_tokens").and_then(Value::as_u64))
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<Usage>,
    timings: Option<LlamaTimings>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    delta: Option<Delta>,
    text: Option<String>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
    reasoning_content: Option<String>,
    reasoning: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

/// llama.cpp's per-request `timings` object.
#[derive(Deserialize)]
struct LlamaTimings {
    prompt_n: Option<u64>,
    prompt_ms: Option<f64>,
    predicted_n: Option<u64>,
    predicted_ms: Option<f64>,
}

fn ms(v: Option<f64>) -> Option<Duration> {
    v.and_then(|m| Duration::try_from_secs_f64(m / 1e3).ok())
}

/// Decode one SSE line. Comments, blank lines and non-`data` fields are ignored.
pub fn decode_sse_line(line: &str, out: &mut Vec<StreamEvent>) -> Result<(), String> {
    let Some(data) = line.strip_prefix("data:") else {
        return Ok(());
    };
    let data = data.strip_prefix(' ').unwrap_or(data);
    if data.trim() == "[DONE]" {
        out.push(StreamEvent::Done);
        return Ok(());
    }
    let chunk: Chunk = serde_json::from_str(data)
        .map_err(|e| format!("malformed SSE event ({e}): {}", super::excerpt(data)))?;
    if let Some(err) = chunk.error {
        let msg = err
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| err.to_string());
        out.push(StreamEvent::Error(msg));
        return Ok(());
    }
    for c in &chunk.choices {
        let delta_text = c.delta.as_ref().and_then(|d| {
            [&d.content, &d.reasoning_content, &d.reasoning]
                .into_iter()
                .flatten()
                .find(|s| !s.is_empty())
        });
        if let Some(t) = delta_text.or(c.text.as_ref()).filter(|s| !s.is_empty()) {
            out.push(StreamEvent::Content(t.clone()));
        }
        if let Some(r) = &c.finish_reason {
            out.push(StreamEvent::Finish(r.clone()));
        }
    }
    if let Some(u) = chunk.usage {
        out.push(StreamEvent::Usage {
            input: u.prompt_tokens,
            output: u.completion_tokens,
        });
    }
    if let Some(t) = chunk.timings {
        out.push(StreamEvent::Timings(ServerTimings {
            prompt_tokens: t.prompt_n,
            prompt: ms(t.prompt_ms),
            decode_tokens: t.predicted_n,
            decode: ms(t.predicted_ms),
            ..Default::default()
        }));
    }
    Ok(())
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
    Ok(parse_model_info(&v, c.model()))
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
