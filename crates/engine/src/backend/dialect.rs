//! What an API dialect is: the [`Dialect`] trait each one implements in its own module, the
//! [`Capabilities`] the engine asks instead of asking which API a target speaks, and the
//! stateful [`StreamDecoder`] a dialect hands out for every response.
//!
//! Adding a dialect is one module implementing [`Dialect`], one line in
//! [`super::dialect`], its mock and its tests.

use super::sink::EventSink;
use super::{BackendError, Client, GenParams};
use crate::prompts::Prompt;
use crate::report::ModelInfo;
use futures_util::future::BoxFuture;
use std::time::Duration;

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
    /// The server may expose Prometheus `/metrics` (vLLM, SGLang, TGI, llama.cpp).
    pub server_metrics: bool,
    /// The server can be asked for an exact output length (ignore end-of-sequence); whether it
    /// honoured it is still judged from its token count.
    pub exact_output: bool,
    /// The server may have a tokenizer endpoint ([`Dialect::tokenize`]).
    pub tokenize: bool,
    /// The server takes fill-in-the-middle requests (a prefix and a suffix).
    pub fill_in_the_middle: bool,
}

/// Decodes the lines of one streamed response into an [`EventSink`]. A decoder is made fresh
/// for every response ([`Dialect::decoder`]) and may keep state between lines: a server that
/// streams cumulative text keeps what it has already handed out and emits the difference.
pub trait StreamDecoder: Send {
    /// Decode one line (without its line ending); `Err` holds why the line is malformed.
    fn line(&mut self, line: &str, out: &mut dyn EventSink) -> Result<(), String>;
}

/// A stateless decoder from a plain function (SSE and NDJSON lines stand alone).
#[derive(Debug, Clone, Copy)]
pub struct LineFn(pub fn(&str, &mut dyn EventSink) -> Result<(), String>);

impl StreamDecoder for LineFn {
    fn line(&mut self, line: &str, out: &mut dyn EventSink) -> Result<(), String> {
        (self.0)(line, out)
    }
}

/// One API dialect: its wire format and what its server can tell about itself. Methods that
/// talk to the server take the [`Client`] (base URL, model, HTTP pool and credentials).
pub trait Dialect: Send + Sync + std::fmt::Debug {
    /// The name used in messages ("OpenAI", "Ollama").
    fn label(&self) -> &'static str;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::StreamEvent;

    /// A server that streams the whole text so far in every line (SGLang's native API does):
    /// the decoder keeps what it has handed out and emits only the new part.
    #[derive(Default)]
    struct Cumulative {
        seen: String,
    }

    impl StreamDecoder for Cumulative {
        fn line(&mut self, line: &str, out: &mut dyn EventSink) -> Result<(), String> {
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
}
