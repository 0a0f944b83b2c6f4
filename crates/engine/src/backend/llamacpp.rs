//! llama.cpp's `llama-server`, spoken natively (`--api llamacpp`): raw-prompt generation on
//! `/completion` and fill-in-the-middle on `/infill`, both streaming llama.cpp's own events
//! (`content`, `stop`, and on the last one `timings` with `cache_n`, `tokens_cached`,
//! `stop_type`; no `[DONE]`); `/props` (context length, model file, build) as the probe;
//! `/tokenize`. Chat prompts go to the server's own chat endpoint, `/v1/chat/completions`
//! (llama-server has no native chat route: that one applies its chat template and streams the
//! same `timings`), so every workload — cold, warm, load profiles, quality — runs on this
//! dialect too. Wire formats: `../shared/fixtures/wire/llamacpp_*` (from llama.cpp's
//! `tools/server/server.cpp`).

use super::openai;
use super::sink::{EventSink, text_literal};
use super::{
    BackendError, Capabilities, Client, Dialect, GenParams, LineFn, StreamDecoder, get_json,
};
use crate::prompts::Prompt;
use crate::record::ServerTimings;
use crate::report::ModelInfo;
use crate::report::autocomplete::SlotView;
use crate::spec::Endpoint;
use crate::spec::{NativeFim, ServerTraits};
use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::time::Duration;

const API: &str = "llama.cpp";

/// The llama.cpp native dialect.
#[derive(Debug, Clone, Copy)]
pub struct LlamaCpp;

impl Dialect for LlamaCpp {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            servers: &[&crate::server_metrics::LLAMACPP],
            exact_output: true,
            tokenize: true,
            fill_in_the_middle: true,
            traits: ServerTraits {
                states_cached_tokens: true,
                fim: NativeFim::Infill,
                ..ServerTraits::default()
            },
            ..Capabilities::default()
        }
    }

    /// `http://host:8080/v1` and `http://host:8080` are the same server.
    fn base_url(&self, url: &str) -> String {
        url.strip_suffix("/v1").unwrap_or(url).to_string()
    }

    fn probe<'a>(&'a self, c: &'a Client) -> BoxFuture<'a, Result<Option<String>, BackendError>> {
        Box::pin(probe(c))
    }

    fn model_info<'a>(&'a self, c: &'a Client) -> BoxFuture<'a, Result<ModelInfo, BackendError>> {
        Box::pin(openai::model_info(c))
    }

    fn list_models<'a>(
        &'a self,
        c: &'a Client,
    ) -> BoxFuture<'a, Result<Vec<String>, BackendError>> {
        Box::pin(openai::list_models(c))
    }

    fn tokenize<'a>(
        &'a self,
        c: &'a Client,
        text: &'a str,
    ) -> BoxFuture<'a, Result<Option<u64>, BackendError>> {
        Box::pin(openai::tokenize(c, text))
    }

    fn prompt_tokens<'a>(
        &'a self,
        c: &'a Client,
        text: &'a str,
    ) -> BoxFuture<'a, Result<Option<u64>, BackendError>> {
        Box::pin(openai::prompt_tokens(c, text))
    }

    fn request(&self, model: &str, prompt: &Prompt, p: &GenParams) -> (&'static str, Value) {
        match p.endpoint {
            Endpoint::Chat => ("/v1/chat/completions", openai::chat_body(model, prompt, p)),
            Endpoint::Completions => ("/completion", completion_body(&prompt.as_text(), prompt, p)),
        }
    }

    fn decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(LineFn(decode_line))
    }

    /// `/infill`: the server builds the prompt from its model's FIM tokens (a model without
    /// them answers 501).
    fn fim_request(
        &self,
        _model: &str,
        fim: &crate::fim::Fim,
        method: crate::fim::Method,
        p: &GenParams,
    ) -> Result<(&'static str, Value), String> {
        if let crate::fim::Method::Raw(t) = method {
            // The template's prompt on `/completion`, cut at its markers.
            let mut body = json!({ "prompt": t.render(fim) });
            native_params(&mut body, None, p);
            let stops: Vec<&str> = t.stops().iter().chain(p.stop).copied().collect();
            body["stop"] = stops.into();
            return Ok(("/completion", body));
        }
        let extra: Vec<ExtraFile> = fim
            .extra
            .iter()
            .map(|(filename, text)| ExtraFile {
                filename: filename.clone(),
                text: text.clone(),
            })
            .collect();
        let mut body = infill_body(&fim.prefix, &fim.suffix, &extra, p);
        if fim.editor == crate::fim::Editor::LlamaVscode {
            llama_vscode_fields(&mut body, fim);
        }
        Ok(("/infill", body))
    }
}

/// The sampling, limit and stops every native request carries; `cache_prompt` is llama.cpp's
/// default, stated so a server started otherwise still reports what it reused.
fn native_params(body: &mut Value, output_tokens: Option<u32>, p: &GenParams) {
    body["stream"] = true.into();
    body["cache_prompt"] = true.into();
    body["temperature"] = p.temperature.into();
    body["seed"] = p.seed.into();
    match output_tokens {
        Some(n) => {
            body["n_predict"] = n.into();
            body["ignore_eos"] = true.into();
        }
        None => body["n_predict"] = p.max_tokens.into(),
    }
    if !p.stop.is_empty() {
        body["stop"] = p.stop.into();
    }
}

/// Body for `/completion`: the raw prompt.
pub fn completion_body(text: &str, prompt: &Prompt, p: &GenParams) -> Value {
    let mut body = json!({ "prompt": text });
    native_params(&mut body, prompt.output_tokens, p);
    body
}

/// One file of the repository sent beside an `/infill` request (`input_extra`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraFile {
    /// Path shown to the model.
    pub filename: String,
    /// Its text.
    pub text: String,
}

/// Body for `/infill`: the code before and after the cursor, and other files of the
/// repository; the server builds the model's FIM prompt (repo-level with Qwen2.5-Coder's
/// `<|file_sep|>`) and answers 501 when the model has no FIM tokens.
pub fn infill_body(prefix: &str, suffix: &str, extra: &[ExtraFile], p: &GenParams) -> Value {
    let mut body = json!({
        "input_prefix": prefix,
        "input_suffix": suffix,
        "input_extra": extra
            .iter()
            .map(|f| json!({"filename": f.filename, "text": f.text}))
            .collect::<Vec<_>>(),
    });
    native_params(&mut body, None, p);
    body
}

/// What llama.vscode's `createRequestPayload` sends beside the windows: the lines before the
/// cursor's line as `input_prefix`, the line up to the cursor as `prompt` with its indent, its
/// sampling (no temperature: the server's default) and limits, and slot 0.
fn llama_vscode_fields(body: &mut Value, fim: &crate::fim::Fim) {
    let cut = fim.line_start.min(fim.prefix.len());
    let (before, line) = fim.prefix.split_at(cut);
    body["input_prefix"] = before.into();
    body["prompt"] = if line.trim().is_empty() { "" } else { line }.into();
    let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
    if indent > 0 && !line.trim().is_empty() {
        body["n_indent"] = indent.into();
    }
    body["id_slot"] = 0.into();
    body["top_k"] = 40.into();
    body["top_p"] = 0.99.into();
    body["samplers"] = json!(["top_k", "top_p", "infill"]);
    body["t_max_prompt_ms"] = 500.into();
    body["t_max_predict_ms"] = 500.into();
    if let Some(o) = body.as_object_mut() {
        o.remove("temperature");
    }
}

/// `/props` answers llama-server's own JSON (with `default_generation_settings`); its
/// `build_info` is the version.
pub async fn probe(c: &Client) -> Result<Option<String>, BackendError> {
    let props = get_json(c, "/props", API).await?;
    if props.get("default_generation_settings").is_none() && props.get("total_slots").is_none() {
        return Err(BackendError::WrongApi {
            url: c.base().to_string(),
            api: API,
            detail: "/props answered JSON that is not llama-server's (no default_generation_settings or total_slots); use --api openai for other servers".into(),
        });
    }
    Ok(props
        .get("build_info")
        .and_then(Value::as_str)
        .map(str::to_string))
}

/// What `/slots` says: slots in total and those processing a request now.
pub async fn busy_slots(c: &Client) -> Result<(usize, usize), BackendError> {
    let slots = slot_views(c).await?;
    Ok((slots.len(), slots.iter().filter(|s| s.processing).count()))
}

/// Each slot of `/slots`: its task, whether it is processing and the tokens decoded for it
/// (`next_token` is an object in older builds, an array of one in newer ones).
pub async fn slot_views(c: &Client) -> Result<Vec<SlotView>, BackendError> {
    let v = get_json(c, "/slots", API).await?;
    Ok(parse_slots(&v))
}

/// The slots of a `/slots` document (empty for anything else).
pub fn parse_slots(v: &Value) -> Vec<SlotView> {
    let slots = v.as_array().map(Vec::as_slice).unwrap_or_default();
    slots
        .iter()
        .map(|s| {
            let next = s.get("next_token").map(|n| match n {
                Value::Array(a) => a.first().cloned().unwrap_or(Value::Null),
                other => other.clone(),
            });
            SlotView {
                slot: s.get("id").and_then(Value::as_i64).unwrap_or(-1),
                task: s.get("id_task").and_then(Value::as_i64).unwrap_or(-1),
                processing: s.get("is_processing").and_then(Value::as_bool) == Some(true),
                n_decoded: next
                    .as_ref()
                    .and_then(|n| n.get("n_decoded"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                seed: s.pointer("/params/seed").and_then(Value::as_u64),
            }
        })
        .collect()
}

// A borrowed view of one native event; unknown fields are skipped.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    #[serde(default)]
    stop: bool,
    tokens_predicted: Option<u64>,
    tokens_evaluated: Option<u64>,
    #[serde(borrow)]
    stop_type: Option<Cow<'a, str>>,
    timings: Option<Timings>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Timings {
    cache_n: Option<u64>,
    prompt_n: Option<u64>,
    prompt_ms: Option<f64>,
    predicted_n: Option<u64>,
    predicted_ms: Option<f64>,
}

fn ms(v: Option<f64>) -> Option<Duration> {
    v.and_then(|m| Duration::try_from_secs_f64(m / 1e3).ok())
}

/// Decode one line of a native stream, or of the chat endpoint's OpenAI-style stream (a
/// chunk with `choices` or `[DONE]`). The native last event (`stop: true`) carries the
/// counts, the cached prompt tokens and the timings, and ends the stream.
pub fn decode_line(line: &str, out: &mut dyn EventSink) -> Result<(), String> {
    let Some(data) = line.strip_prefix("data:") else {
        return Ok(());
    };
    let data = data.strip_prefix(' ').unwrap_or(data);
    if data.trim() == "[DONE]" || data.contains("\"choices\"") {
        return openai::decode_sse_line(line, out);
    }
    let ev: Event = serde_json::from_str(data)
        .map_err(|e| format!("malformed llama.cpp event ({e}): {}", super::excerpt(data)))?;
    if let Some(err) = ev.error {
        out.error(openai::error_message(err.get()));
        return Ok(());
    }
    if let Some(raw) = text_literal(ev.content) {
        out.content(raw)?;
    }
    if ev.stop {
        out.usage(ev.tokens_evaluated, ev.tokens_predicted);
        if let Some(t) = ev.timings {
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
        out.finish(ev.stop_type.as_deref().unwrap_or("stop"));
        out.done();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::sink::StreamEvent;
    use super::*;

    fn fixture(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/wire")
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn slots_give_each_task_its_decoded_tokens_and_the_seed_it_was_sent_with() {
        let v: Value = serde_json::from_str(&fixture("llamacpp_slots.json")).unwrap();
        let s = parse_slots(&v);
        assert_eq!(
            s[0],
            SlotView {
                slot: 0,
                task: 412,
                processing: true,
                n_decoded: 136,
                seed: Some(4_294_967_295),
            }
        );
        assert!(!s[1].processing);
        // Newer builds put `next_token` in an array (README of the fixtures).
        let mut newer = v.clone();
        newer[0]["next_token"] = Value::Array(vec![v[0]["next_token"].clone()]);
        assert_eq!(parse_slots(&newer)[0].n_decoded, 136);
    }

    fn decode(text: &str) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        for line in text.lines() {
            decode_line(line, &mut out).unwrap();
        }
        out
    }

    fn content(ev: &[StreamEvent]) -> String {
        ev.iter()
            .filter_map(|e| match e {
                StreamEvent::Content(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_completion_stream_fixture_decodes_with_counts_cache_and_timings() {
        let ev = decode(&fixture("llamacpp_completion_stream.sse"));
        assert!(content(&ev).starts_with(" Tokyo\nQ: What is the capital of Italy?"));
        assert!(ev.contains(&StreamEvent::Usage {
            input: Some(31),
            output: Some(16)
        }));
        assert!(ev.contains(&StreamEvent::Cached(19)));
        assert!(ev.contains(&StreamEvent::Finish("limit".into())));
        assert_eq!(ev.last(), Some(&StreamEvent::Done));
        let t = ev
            .iter()
            .find_map(|e| match e {
                StreamEvent::Timings(t) => Some(t.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!((t.prompt_tokens, t.decode_tokens), (Some(12), Some(16)));
    }

    #[test]
    fn the_infill_stream_fixture_decodes_and_its_request_matches_ours() {
        let ev = decode(&fixture("llamacpp_infill_stream.sse"));
        assert!(!content(&ev).is_empty());
        assert_eq!(ev.last(), Some(&StreamEvent::Done));
        assert!(ev.iter().any(|e| matches!(e, StreamEvent::Cached(_))));
        let want: Value =
            serde_json::from_str(&fixture("llamacpp_infill_stream.request.json")).unwrap();
        let p = GenParams {
            max_tokens: 32,
            temperature: 0.0,
            seed: 0,
            endpoint: Endpoint::Completions,
            timeout: Duration::from_secs(1),
            ttft_timeout: None,
            retries: 0,
            stop: &[],
        };
        let extra = [ExtraFile {
            filename: "stats/__init__.py".into(),
            text: want["input_extra"][0]["text"].as_str().unwrap().into(),
        }];
        let body = infill_body(
            want["input_prefix"].as_str().unwrap(),
            want["input_suffix"].as_str().unwrap(),
            &extra,
            &p,
        );
        for key in [
            "input_prefix",
            "input_suffix",
            "input_extra",
            "n_predict",
            "stream",
            "cache_prompt",
            "temperature",
        ] {
            // Numbers compare as numbers (the fixture writes 0, we send 0.0).
            match (body[key].as_f64(), want[key].as_f64()) {
                (Some(a), Some(b)) => assert_eq!(a, b, "{key}"),
                _ => assert_eq!(body[key], want[key], "{key}"),
            }
        }
    }

    #[test]
    fn the_chat_endpoint_stream_decodes_through_the_same_decoder() {
        let ev = decode(&fixture("llamacpp_chat_stream.sse"));
        assert!(!content(&ev).is_empty());
        assert_eq!(ev.last(), Some(&StreamEvent::Done));
    }
}
