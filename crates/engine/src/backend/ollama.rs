//! Ollama's native dialect: `/api/chat` NDJSON streaming with its nanosecond timings,
//! `/api/show`, `/api/ps`, `/api/tags`, `/api/version`, and unloading a model for a cold start.

use super::sink::EventSink;
use super::sink::text_literal;
use super::{
    BackendError, Capabilities, Client, Dialect, GenParams, LineFn, StreamDecoder, excerpt,
    get_json, json_body, post_json,
};
use crate::prompts::Prompt;
use crate::record::ServerTimings;
use crate::report::ModelInfo;
use crate::spec::{NativeFim, ServerTraits};
use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::time::{Duration, Instant};

const API: &str = "Ollama";

/// Ollama's native dialect.
#[derive(Debug, Clone, Copy)]
pub struct Ollama;

impl Dialect for Ollama {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            cold_unload: true,
            server_load_time: true,
            resident_model: true,
            traits: ServerTraits {
                states_cached_tokens: false,
                truncates_silently: true,
                reports_models_context: true,
                fim: NativeFim::Suffix,
            },
            ..Capabilities::default()
        }
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

    /// `llama3` is `llama3:latest`.
    fn serves(&self, listed: &[String], model: &str) -> bool {
        let full = if model.contains(':') {
            model.to_string()
        } else {
            format!("{model}:latest")
        };
        listed.iter().any(|m| *m == model || *m == full)
    }

    fn prompt_tokens<'a>(
        &'a self,
        c: &'a Client,
        text: &'a str,
    ) -> BoxFuture<'a, Result<Option<u64>, BackendError>> {
        Box::pin(prompt_tokens(c, text))
    }

    fn request(&self, model: &str, prompt: &Prompt, p: &GenParams) -> (&'static str, Value) {
        ("/api/chat", chat_body(model, prompt, p))
    }

    fn decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(LineFn(decode_line))
    }

    /// `/api/generate` with `suffix` (not `raw`, which drops the suffix): the model's
    /// template renders the FIM prompt; a model without it answers 400 "does not support
    /// insert". Other repository files go before the prefix, each under a `# path` line.
    fn fim_request(
        &self,
        model: &str,
        fim: &crate::fim::Fim,
        method: crate::fim::Method,
        p: &GenParams,
    ) -> Result<(&'static str, Value), String> {
        if let crate::fim::Method::Raw(t) = method {
            // `raw`: the template's prompt as it is (Ollama then drops `suffix`, so none is sent).
            let stops: Vec<&str> = t.stops().iter().chain(p.stop).copied().collect();
            let body = json!({
                "model": model,
                "prompt": t.render(fim),
                "raw": true,
                "stream": true,
                "options": {
                    "temperature": p.temperature,
                    "seed": p.seed,
                    "num_predict": p.max_tokens,
                    "stop": stops,
                },
            });
            return Ok(("/api/generate", body));
        }
        let mut prompt = String::new();
        for (path, text) in fim.extra.iter() {
            prompt.push_str(&format!("# {path}\n{text}\n\n"));
        }
        prompt.push_str(&fim.prefix);
        let mut body = json!({
            "model": model,
            "prompt": prompt,
            "suffix": fim.suffix,
            "stream": true,
            "options": {
                "temperature": p.temperature,
                "seed": p.seed,
                "num_predict": p.max_tokens,
            },
        });
        if !p.stop.is_empty() {
            body["options"]["stop"] = p.stop.into();
        }
        Ok(("/api/generate", body))
    }

    fn resident<'a>(
        &'a self,
        c: &'a Client,
    ) -> BoxFuture<'a, Result<Option<(u64, u64)>, BackendError>> {
        Box::pin(loaded(c))
    }

    fn unload<'a>(
        &'a self,
        c: &'a Client,
        wait: Duration,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(unload(c, wait))
    }
}

/// Body for a streaming `/api/chat` request.
pub fn chat_body(model: &str, prompt: &Prompt, p: &GenParams) -> Value {
    let mut body = json!({
        "model": model,
        "messages": prompt.messages,
        "stream": true,
        "options": {
            "temperature": p.temperature,
            "seed": p.seed,
            "num_predict": prompt.output_tokens.unwrap_or(p.max_tokens),
        },
    });
    if !p.stop.is_empty() {
        body["options"]["stop"] = p.stop.into();
    }
    body
}

/// Prompt tokens Ollama evaluates for `text` in a one-token chat request, with the run's
/// `extra_body` as every request has it (another `options.num_ctx` would reload the runner,
/// and the next measured request would pay for the reload).
pub async fn prompt_tokens(c: &Client, text: &str) -> Result<Option<u64>, BackendError> {
    let body = c.body_with_extra(json!({
        "model": c.model(),
        "messages": [{"role": "user", "content": text}],
        "stream": false,
        "options": {"num_predict": 1, "temperature": 0},
    }));
    let resp = post_json(c, "/api/chat", &body, Duration::from_secs(300)).await?;
    let v = json_body(c, resp, API, "/api/chat").await?;
    Ok(v.get("prompt_eval_count").and_then(Value::as_u64))
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    message: Option<Msg<'a>>,
    #[serde(borrow)]
    response: Option<&'a RawValue>,
    #[serde(default)]
    done: bool,
    #[serde(borrow)]
    done_reason: Option<Cow<'a, str>>,
    total_duration: Option<u64>,
    load_duration: Option<u64>,
    prompt_eval_count: Option<u64>,
    prompt_eval_duration: Option<u64>,
    eval_count: Option<u64>,
    eval_duration: Option<u64>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Msg<'a> {
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    #[serde(borrow)]
    thinking: Option<&'a RawValue>,
}

fn ns(v: Option<u64>) -> Option<Duration> {
    v.map(Duration::from_nanos)
}

/// Decode one NDJSON line of `/api/chat` or `/api/generate`.
pub fn decode_line(line: &str, out: &mut dyn EventSink) -> Result<(), String> {
    if line.trim().is_empty() {
        return Ok(());
    }
    let l: Line = serde_json::from_str(line)
        .map_err(|e| format!("malformed NDJSON line ({e}): {}", excerpt(line)))?;
    if let Some(err) = l.error {
        out.error(super::openai::error_message(err.get()));
        return Ok(());
    }
    if let Some(raw) = l.message.as_ref().and_then(|m| text_literal(m.thinking)) {
        out.reasoning(raw)?;
    }
    let raw = l
        .message
        .as_ref()
        .and_then(|m| text_literal(m.content))
        .or(text_literal(l.response));
    if let Some(raw) = raw {
        out.content(raw)?;
    }
    if l.done {
        out.usage(l.prompt_eval_count, l.eval_count);
        out.timings(ServerTimings {
            load: ns(l.load_duration),
            prompt_tokens: l.prompt_eval_count,
            prompt: ns(l.prompt_eval_duration),
            decode_tokens: l.eval_count,
            decode: ns(l.eval_duration),
            total: ns(l.total_duration),
        });
        if let Some(r) = &l.done_reason {
            out.finish(r);
        }
        out.done();
    }
    Ok(())
}

/// `/api/version` must answer `{"version": ...}`.
pub async fn probe(c: &Client) -> Result<Option<String>, BackendError> {
    let v = get_json(c, "/api/version", API).await?;
    match v.get("version").and_then(Value::as_str) {
        Some(s) => Ok(Some(s.to_string())),
        None => Err(BackendError::WrongApi {
            url: c.base().to_string(),
            api: API,
            detail: "/api/version answered JSON without `version`".into(),
        }),
    }
}

/// Model names from `/api/tags`.
pub async fn list_models(c: &Client) -> Result<Vec<String>, BackendError> {
    let v = get_json(c, "/api/tags", API).await?;
    Ok(names(&v))
}

fn names(v: &Value) -> Vec<String> {
    v.get("models")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("name").or(m.get("model")).and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Model facts from `/api/show`; a 404 means the server does not have the model.
pub async fn model_info(c: &Client) -> Result<ModelInfo, BackendError> {
    let resp = post_json(
        c,
        "/api/show",
        &json!({"model": c.model()}),
        Duration::from_secs(30),
    )
    .await?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(c.model_not_found().await);
    }
    let v = json_body(c, resp, API, "/api/show").await?;
    let mut info = parse_show(&v);
    // The model's size on disk (its weights, quantised) is in `/api/tags`.
    if let Ok(tags) = get_json(c, "/api/tags", API).await
        && let Some(size) = tag_size(&tags, c.model())
    {
        info.weights_bytes = Some(size);
        info.sources.push("/api/tags".into());
    }
    Ok(info)
}

/// `size` of `model` in an `/api/tags` answer (`name` or `model`, `:latest` implied).
pub fn tag_size(v: &Value, model: &str) -> Option<u64> {
    let full = if model.contains(':') {
        model.to_string()
    } else {
        format!("{model}:latest")
    };
    v.get("models")?
        .as_array()?
        .iter()
        .find(|m| {
            ["name", "model"].iter().any(|k| {
                m.get(*k)
                    .and_then(Value::as_str)
                    .is_some_and(|n| n == model || n == full)
            })
        })?
        .get("size")?
        .as_u64()
}

/// Pull the model facts out of an `/api/show` answer.
pub fn parse_show(v: &Value) -> ModelInfo {
    let details = v.get("details");
    let d = |k: &str| {
        details
            .and_then(|d| d.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let info = v.get("model_info");
    let arch = info
        .and_then(|i| i.get("general.architecture"))
        .and_then(Value::as_str);
    let context_length = arch
        .and_then(|a| info?.get(format!("{a}.context_length"))?.as_u64())
        .or_else(|| details?.get("context_length")?.as_u64());
    ModelInfo {
        quantization: d("quantization_level"),
        parameter_count: info
            .and_then(|i| i.get("general.parameter_count"))
            .and_then(Value::as_u64),
        parameter_size: d("parameter_size"),
        context_length,
        family: d("family"),
        sources: vec!["/api/show".into()],
        ..Default::default()
    }
}

/// `size` and `size_vram` of `model` in an `/api/ps` answer, if it is loaded.
pub fn parse_ps(v: &Value, model: &str) -> Option<(u64, u64)> {
    let m = v
        .get("models")?
        .as_array()?
        .iter()
        .find(|m| same_model(m, model))?;
    Some((m.get("size")?.as_u64()?, m.get("size_vram")?.as_u64()?))
}

fn same_model(entry: &Value, model: &str) -> bool {
    let full = if model.contains(':') {
        model.to_string()
    } else {
        format!("{model}:latest")
    };
    ["name", "model"]
        .iter()
        .filter_map(|k| entry.get(*k).and_then(Value::as_str))
        .any(|n| n == model || n == full)
}

/// Memory of the loaded model (`/api/ps`), or `None` when it is not loaded.
pub async fn loaded(c: &Client) -> Result<Option<(u64, u64)>, BackendError> {
    let v = get_json(c, "/api/ps", API).await?;
    Ok(parse_ps(&v, c.model()))
}

/// Unload the model (`keep_alive: 0`) and wait until `/api/ps` no longer lists it.
/// Returns whether the unload was confirmed within `wait`.
pub async fn unload(c: &Client, wait: Duration) -> Result<bool, BackendError> {
    let resp = post_json(
        c,
        "/api/generate",
        &json!({"model": c.model(), "keep_alive": 0}),
        Duration::from_secs(60),
    )
    .await?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(c.model_not_found().await);
    }
    json_body(c, resp, API, "/api/generate").await?;
    let start = Instant::now();
    loop {
        if loaded(c).await?.is_none() {
            return Ok(true);
        }
        if start.elapsed() > wait {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
