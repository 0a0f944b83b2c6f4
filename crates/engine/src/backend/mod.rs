//! Backend clients: one module per API dialect ([`openai`], [`ollama`]), each implementing
//! [`Dialect`], behind one [`Client`]; [`dialect`] is the registry from [`Api`] to dialect.
//!
//! Each dialect only knows its wire format and its server: request bodies, a stream decoder,
//! probe, model facts and listing, token counting and its [`Capabilities`]. Timing, token
//! accounting and failure classification live once, in [`stream`], for all of them.
//!
//! Adding a dialect is one module implementing [`Dialect`], one line in [`dialect`] (and its
//! name in `spec::Api`), its mock and its tests. The trait, the [`Client`] struct and what
//! they speak in live in the leaf [`dialect`], so the dialect modules never reach back here;
//! this root holds the registry and the client's methods, which call into the dialects.

pub mod dialect;
pub mod in_flight;
pub mod lines;
pub mod llamacpp;
pub mod ollama;
pub mod openai;
pub mod sink;
pub mod stream;

pub use dialect::*;
pub use sink::StreamEvent;

use crate::prompts::Prompt;
use crate::record::RequestRecord;
use crate::report::{ModelCheck, ModelInfo};
use crate::spec::Api;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The dialect that speaks `api`: the one place that maps an [`Api`] to its module.
pub fn dialect(api: Api) -> &'static dyn Dialect {
    match api {
        Api::Openai => &openai::OpenAi,
        Api::Ollama => &ollama::Ollama,
        Api::Llamacpp => &llamacpp::LlamaCpp,
    }
}

impl Client {
    /// Client for `url` (a trailing `/` or `/v1` is dropped) and `model`.
    pub fn new(api: Api, url: &str, model: &str) -> Client {
        Client::with_key(api, url, model, None)
    }

    /// A client that sends `Authorization: Bearer <key>` with every request. The header is
    /// marked sensitive, so it never shows in debug output; the key is never logged.
    pub fn with_key(api: Api, url: &str, model: &str, key: Option<&str>) -> Client {
        let dialect = dialect(api);
        let base = dialect.base_url(url.trim_end_matches('/'));
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(k) = key
            && let Ok(mut v) = reqwest::header::HeaderValue::from_str(&format!("Bearer {k}"))
        {
            v.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, v);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .default_headers(headers)
            .build()
            .expect("TLS backend initialises");
        Client {
            dialect,
            base,
            model: model.to_string(),
            http,
            extra: None,
            in_flight: Default::default(),
        }
    }

    /// Requests this client (and every clone of it) has in flight, per class.
    pub fn in_flight(&self) -> std::sync::Arc<in_flight::InFlight> {
        self.in_flight.clone()
    }

    /// This client with `extra` merged into every generation and fill-in-the-middle body
    /// (objects merge key by key, anything else replaces what the dialect wrote).
    pub fn with_extra_body(mut self, extra: Option<serde_json::Value>) -> Client {
        self.extra = extra.map(std::sync::Arc::new);
        self
    }

    fn body_with_extra(&self, mut body: serde_json::Value) -> serde_json::Value {
        if let Some(extra) = &self.extra {
            merge(&mut body, extra);
        }
        body
    }

    /// Base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Model name.
    pub fn model(&self) -> &str {
        &self.model
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// What this target's dialect can do.
    pub fn capabilities(&self) -> Capabilities {
        self.dialect.capabilities()
    }

    /// Check that the server speaks this dialect; returns its version when it states one.
    pub async fn probe(&self) -> Result<Option<String>, BackendError> {
        self.dialect.probe(self).await
    }

    /// A starting server is ready: it answers on `/health` (vLLM, llama.cpp, SGLang and TGI
    /// serve it) with anything but 503 — llama.cpp's and SGLang's "still loading"; vLLM listens
    /// only once its engine is up — and the dialect's probe answers (a server without `/health`
    /// answers 404 there, and the probe decides).
    pub async fn ready(&self) -> bool {
        let health = self
            .http()
            .get(self.url("/health"))
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await;
        match health {
            Ok(r) if r.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE => {
                self.probe().await.is_ok()
            }
            _ => false,
        }
    }

    /// What the server says about the model; `ModelNotFound` when it does not have it.
    pub async fn model_info(&self) -> Result<ModelInfo, BackendError> {
        self.dialect.model_info(self).await
    }

    /// Memory of the loaded model, `None` when it is not loaded or the server does not say
    /// ([`Capabilities::resident_model`]).
    pub async fn resident(&self) -> Result<Option<(u64, u64)>, BackendError> {
        self.dialect.resident(self).await
    }

    /// Unload the model and confirm it within `wait` ([`Capabilities::cold_unload`]).
    pub async fn unload(&self, wait: Duration) -> Result<bool, BackendError> {
        self.dialect.unload(self, wait).await
    }

    /// Check the model name against the server's list before any request: `Listed`, or
    /// `Unverified` when the server lists no models; a name it does not list is
    /// `ModelNotFound` with the names it has (llama.cpp answers any name with its one model,
    /// so a wrong name would otherwise be measured under the wrong label).
    pub async fn check_model(&self) -> Result<ModelCheck, BackendError> {
        let listed = self.dialect.list_models(self).await?;
        if listed.is_empty() {
            return Ok(ModelCheck::Unverified);
        }
        if self.dialect.serves(&listed, &self.model) {
            return Ok(ModelCheck::Listed);
        }
        Err(BackendError::ModelNotFound {
            model: self.model.clone(),
            url: self.base.clone(),
            available: listed.join(", "),
        })
    }

    /// The error for a model the server does not have, listing what it has.
    pub async fn model_not_found(&self) -> BackendError {
        let available = self.dialect.list_models(self).await;
        BackendError::ModelNotFound {
            model: self.model.clone(),
            url: self.base.clone(),
            available: match available {
                Ok(v) if !v.is_empty() => v.join(", "),
                Ok(_) => "none".into(),
                Err(e) => format!("unknown ({e})"),
            },
        }
    }

    /// Measure words of the synthetic vocabulary per server token: the server's tokenizer
    /// where it has one, else the prompt-token usage of two one-token requests (the
    /// difference cancels the chat template's own tokens).
    pub async fn calibrate(&self) -> Result<crate::spec::Calibration, BackendError> {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let (short, long) = (100usize, 400usize);
        let (a, b) = (
            crate::prompts::words(short, &mut rng),
            crate::prompts::words(long, &mut rng),
        );
        let (method, ta, tb) = self
            .count_pair(&a, &b)
            .await
            .map_err(|m| self.calibration_error("synthetic prompts", m))??;
        if tb <= ta {
            return Err(self.calibration_error(
                "synthetic prompts",
                format!("{long} words counted {tb} tokens, {short} words {ta}"),
            ));
        }
        Ok(crate::spec::Calibration {
            method: method.into(),
            words_per_token: (long - short) as f64 / (tb - ta) as f64,
        })
    }

    /// Characters of `text` per server token, and how it was measured (`tokenize` or
    /// `usage`): the tokens of a quarter of it and of all of it, so a template's own tokens
    /// cancel.
    pub async fn chars_per_token(&self, text: &str) -> Result<(f64, &'static str), BackendError> {
        self.chars_per_token_for(text, "the autocomplete windows")
            .await
    }

    /// [`Client::chars_per_token`], its errors naming `what` is being sized.
    pub async fn chars_per_token_for(
        &self,
        text: &str,
        what: &str,
    ) -> Result<(f64, &'static str), BackendError> {
        let cut = text
            .char_indices()
            .nth(text.chars().count() / 4)
            .map_or(0, |(i, _)| i);
        let (a, b) = (&text[..cut], text);
        let (method, ta, tb) = self
            .count_pair(a, b)
            .await
            .map_err(|m| self.calibration_error(what, m))??;
        if tb <= ta {
            return Err(self.calibration_error(
                what,
                format!(
                    "{} characters counted {tb} tokens, {} characters {ta}",
                    b.len(),
                    a.len()
                ),
            ));
        }
        let chars = (b.chars().count() - a.chars().count()) as f64;
        Ok((chars / (tb - ta) as f64, method))
    }

    /// Tokens in `text` by the server's own tokenizer; `None` when it has none.
    pub async fn tokens(&self, text: &str) -> Result<Option<u64>, BackendError> {
        if !self.dialect.capabilities().tokenize {
            return Ok(None);
        }
        self.dialect.tokenize(self, text).await
    }

    fn calibration_error(&self, what: &str, m: String) -> BackendError {
        BackendError::Other(format!("cannot size {what} on {}: {m}", self.base))
    }

    /// Tokens of `a` and of `b` by the server's tokenizer where it has one, else by the prompt
    /// usage of a one-token request each; `Err` (outer) when the server says neither.
    async fn count_pair(
        &self,
        a: &str,
        b: &str,
    ) -> Result<Result<(&'static str, u64, u64), BackendError>, String> {
        let d = self.dialect;
        if d.capabilities().tokenize {
            match (d.tokenize(self, a).await, d.tokenize(self, b).await) {
                (Ok(Some(x)), Ok(Some(y))) => return Ok(Ok(("tokenize", x, y))),
                (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
                _ => {}
            }
        }
        match (
            d.prompt_tokens(self, a).await,
            d.prompt_tokens(self, b).await,
        ) {
            (Ok(Some(x)), Ok(Some(y))) => Ok(Ok(("usage", x, y))),
            (Err(e), _) | (_, Err(e)) => Ok(Err(e)),
            _ => Err("the server reports neither /tokenize nor prompt token usage".into()),
        }
    }

    /// The slots of a llama.cpp server (`GET /slots`, on its native and OpenAI-compatible
    /// APIs alike); `None` when the server has no such endpoint.
    pub async fn slots(&self) -> Option<Vec<crate::report::autocomplete::SlotView>> {
        let resp = self
            .http
            .get(self.url("/slots"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let v: serde_json::Value = resp.json().await.ok()?;
        v.is_array().then(|| llamacpp::parse_slots(&v))
    }

    /// The server's `/metrics`, combined per metric of the servers its dialect may meet (see
    /// [`crate::server_metrics`]); `None` when it serves none.
    pub async fn metrics(&self) -> Option<std::collections::BTreeMap<&'static str, f64>> {
        let resp = self
            .http
            .get(self.url("/metrics"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let text = resp.text().await.ok()?;
        let values = crate::telemetry::prometheus::known_values(
            &crate::telemetry::prometheus::parse(&text),
            self.dialect.capabilities().servers,
        );
        (!values.is_empty()).then_some(values)
    }

    /// Send one streaming generation request and record everything about it.
    pub async fn generate(
        &self,
        prompt: &Prompt,
        params: &GenParams,
        meta: RequestMeta<'_>,
        cancel: &CancellationToken,
    ) -> RequestRecord {
        let (path, body) = self.dialect.request(&self.model, prompt, params);
        let body = self.body_with_extra(body);
        let req = self.http.post(self.url(path)).json(&body);
        let _counted = self.in_flight.enter(meta.class);
        stream::execute(req, self.dialect, prompt, params, meta, cancel).await
    }

    /// Stream one fill-in-the-middle request (`id` names it in the record) sent by `method`;
    /// `Err` when this server cannot be asked that way. Like [`Client::generate`], a failure
    /// of the request itself is a record with its outcome.
    pub async fn fill(
        &self,
        fim: &crate::fim::Fim,
        method: crate::fim::Method,
        id: &str,
        params: &GenParams,
        meta: RequestMeta<'_>,
        cancel: &CancellationToken,
    ) -> Result<RequestRecord, String> {
        let (path, body) = self.dialect.fim_request(&self.model, fim, method, params)?;
        let body = self.body_with_extra(body);
        let prompt = Prompt {
            id: id.to_string(),
            scenario: None,
            messages: Vec::new(),
            output_tokens: None,
        };
        let req = self.http.post(self.url(path)).json(&body);
        let _counted = self.in_flight.enter(meta.class);
        Ok(stream::execute(req, self.dialect, &prompt, params, meta, cancel).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that streams the whole text so far in every line (SGLang's native API does):
    /// the decoder keeps what it has handed out and emits only the new part.
    #[derive(Default)]
    struct Cumulative {
        seen: String,
    }

    impl StreamDecoder for Cumulative {
        fn line(&mut self, line: &str, out: &mut dyn sink::EventSink) -> Result<(), String> {
            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
            let text = v["text"].as_str().ok_or("no text")?;
            let new = text
                .strip_prefix(self.seen.as_str())
                .ok_or("the text does not extend what came before")?;
            if !new.is_empty() {
                out.text(new);
            }
            self.seen = text.to_string();
            Ok(())
        }
    }

    #[test]
    fn a_stateful_decoder_turns_cumulative_text_into_deltas() {
        let mut d: Box<dyn StreamDecoder> = Box::new(Cumulative::default());
        let mut events: Vec<StreamEvent> = Vec::new();
        for line in [
            r#"{"text":"He"}"#,
            r#"{"text":"Hel"}"#,
            r#"{"text":"Hello"}"#,
        ] {
            d.line(line, &mut events).unwrap();
        }
        assert_eq!(
            events,
            ["He", "l", "lo"].map(|s| StreamEvent::Content(s.into()))
        );
        assert!(d.line(r#"{"text":"Bye"}"#, &mut events).is_err());
    }

    #[test]
    fn extra_body_merges_objects_and_replaces_the_rest() {
        let mut body = serde_json::json!({"stream": true, "options": {"temperature": 0.0}});
        merge(
            &mut body,
            &serde_json::json!({"cache_prompt": false, "options": {"num_ctx": 8192}, "stream": false}),
        );
        assert_eq!(
            body,
            serde_json::json!({"stream": false, "cache_prompt": false, "options": {"temperature": 0.0, "num_ctx": 8192}})
        );
    }

    #[test]
    fn a_model_is_served_by_its_listed_name_or_file_name() {
        let oa = dialect(Api::Openai);
        let listed = ["/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf".to_string()];
        assert!(oa.serves(&listed, "Qwen2.5-7B-Instruct-Q4_K_M.gguf"));
        assert!(oa.serves(&listed, "Qwen2.5-7B-Instruct-Q4_K_M"));
        assert!(oa.serves(&listed, &listed[0]));
        assert!(!oa.serves(&listed, "qwen2.5-7b-instruct"));
        let ol = dialect(Api::Ollama);
        let listed = ["llama3:latest".to_string()];
        assert!(ol.serves(&listed, "llama3") && ol.serves(&listed, "llama3:latest"));
        assert!(!ol.serves(&listed, "llama3:70b"));
    }

    /// The fixture request of each FIM path, with the numbers compared as numbers.
    fn same_keys(body: &serde_json::Value, want: &serde_json::Value, keys: &[&str]) {
        for key in keys {
            let (a, b) = (body.pointer(key).unwrap(), want.pointer(key).unwrap());
            match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => assert_eq!(x, y, "{key}"),
                _ => assert_eq!(a, b, "{key}"),
            }
        }
    }

    fn wire(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/wire")
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn each_dialect_sends_fim_on_its_own_path() {
        use crate::fim::{Fim, Method, Template};
        let p = GenParams {
            max_tokens: 64,
            temperature: 0.0,
            seed: 1,
            endpoint: crate::spec::Endpoint::Completions,
            timeout: Duration::from_secs(1),
            ttft_timeout: None,
            retries: 0,
            stop: &["\n\n"],
        };
        // Ollama: the fixture's /api/generate with suffix, answered in NDJSON `response`s.
        let want: serde_json::Value =
            serde_json::from_str(&wire("ollama_generate_fim_stream.request.json")).unwrap();
        let fim = Fim {
            prefix: want["prompt"].as_str().unwrap().into(),
            suffix: want["suffix"].as_str().unwrap().into(),
            extra: Default::default(),
            ..Default::default()
        };
        let (path, body) = dialect(Api::Ollama)
            .fim_request("qwen2.5-coder:7b", &fim, Method::Suffix, &p)
            .unwrap();
        assert_eq!(path, "/api/generate");
        same_keys(
            &body,
            &want,
            &[
                "/model",
                "/prompt",
                "/suffix",
                "/stream",
                "/options/temperature",
                "/options/num_predict",
            ],
        );
        assert!(body.get("raw").is_none(), "raw would drop the suffix");
        let mut ev: Vec<StreamEvent> = Vec::new();
        let mut d = dialect(Api::Ollama).decoder();
        for line in wire("ollama_generate_fim_stream.ndjson").lines() {
            d.line(line, &mut ev).unwrap();
        }
        let text: String = ev
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Content(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        assert!(text.starts_with("return sum(values"), "{text}");
        assert!(ev.contains(&StreamEvent::Done));
        // llama.cpp: /infill.
        let (path, body) = dialect(Api::Llamacpp)
            .fim_request("m", &fim, Method::Infill, &p)
            .unwrap();
        assert_eq!((path, &body["input_suffix"]), ("/infill", &want["suffix"]));
        // OpenAI-compatible: a raw prompt in the template on /v1/completions, cut at its markers.
        let (path, body) = dialect(Api::Openai)
            .fim_request(
                "Qwen/Qwen2.5-Coder-7B",
                &fim,
                Method::Raw(Template::Qwen),
                &p,
            )
            .unwrap();
        assert_eq!(path, "/v1/completions");
        assert_eq!(body["prompt"], Template::Qwen.render(&fim));
        let stops = body["stop"].as_array().unwrap();
        assert!(stops.contains(&"<|fim_prefix|>".into()) && stops.contains(&"\n\n".into()));
        assert!(body.get("suffix").is_none(), "vLLM refuses suffix");
        assert!(
            dialect(Api::Openai)
                .fim_request("m", &fim, Method::Infill, &p)
                .is_err()
        );
    }
}
