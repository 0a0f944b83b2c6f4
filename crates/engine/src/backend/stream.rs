//! The one streaming driver every dialect shares: send, timestamp every read, decode lines into
//! [`StreamEvent`]s, count tokens, classify failures, and build the [`RequestRecord`].
//!
//! Content chunks are timestamped when their bytes arrive, before any parsing, so decoding cost
//! never inflates TTFT or ITL.

use super::lines::LineSplitter;
use super::sink::{EventSink, unescape_into};
use super::{Dialect, GenParams, RequestMeta, StreamDecoder, excerpt, root_cause};
use crate::prompts::Prompt;
use crate::record::{Outcome, RequestRecord, ServerTimings, StreamErrorKind, TokenSource};
use futures_util::StreamExt;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// Everything learned from one response while it streamed. Capacity is reserved up front so
/// the per-token path only writes into existing buffers.
#[derive(Debug)]
struct Collected {
    /// When the request was sent (reset if it had to be re-sent on a fresh connection).
    sent: Instant,
    /// The same moment on the wall clock, seconds since the Unix epoch.
    sent_unix_s: f64,
    /// Arrival time of the read being decoded, relative to `sent`.
    now: Duration,
    chunk_arrivals: Vec<Duration>,
    /// Of those, reasoning chunks.
    reasoning_chunks: u64,
    /// Arrival of the first answer chunk.
    first_answer: Option<Duration>,
    text: String,
    input: Option<u64>,
    output: Option<u64>,
    cached: Option<u64>,
    timings: Option<ServerTimings>,
    finish: Option<String>,
    done: bool,
    error: Option<String>,
    retry_after: Option<Duration>,
}

impl Collected {
    fn new(capacity: usize) -> Collected {
        let now = Instant::now();
        Collected {
            sent: now,
            sent_unix_s: unix_at(now),
            now: Duration::ZERO,
            chunk_arrivals: Vec::with_capacity(capacity),
            reasoning_chunks: 0,
            first_answer: None,
            text: String::with_capacity(capacity * 8),
            input: None,
            output: None,
            cached: None,
            timings: None,
            finish: None,
            done: false,
            error: None,
            retry_after: None,
        }
    }
}

/// `at` on the wall clock, in seconds since the Unix epoch. The wall clock is read once per
/// process and every later moment is placed by the monotonic clock from there, so a record's
/// send time and its schedule lag (an `Instant` difference) agree to float precision; reading
/// `SystemTime` beside each `Instant` let a preemption between the two reads shift a send
/// time by microseconds.
pub fn unix_at(at: Instant) -> f64 {
    static ANCHOR: OnceLock<(Instant, f64)> = OnceLock::new();
    let (i0, u0) = *ANCHOR.get_or_init(|| {
        let u = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        (Instant::now(), u)
    });
    match at.checked_duration_since(i0) {
        Some(d) => u0 + d.as_secs_f64(),
        None => u0 - i0.duration_since(at).as_secs_f64(),
    }
}

/// A pooled keep-alive connection the server had already closed: the request never reached
/// it, so sending it again on a fresh connection measures the server, not the pool.
fn stale_connection(e: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(h) = err.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_canceled())
        {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            )
        {
            return true;
        }
        cur = err.source();
    }
    false
}

impl EventSink for Collected {
    fn content(&mut self, raw: &str) -> Result<(), String> {
        self.chunk_arrivals.push(self.now);
        self.first_answer.get_or_insert(self.now);
        unescape_into(raw, &mut self.text)
    }
    fn reasoning(&mut self, raw: &str) -> Result<(), String> {
        // A generated token like any other (it counts for TTFT and ITL), kept out of the
        // answer text.
        self.chunk_arrivals.push(self.now);
        self.reasoning_chunks += 1;
        sink_check(raw)
    }
    fn text(&mut self, text: &str) {
        self.chunk_arrivals.push(self.now);
        self.first_answer.get_or_insert(self.now);
        self.text.push_str(text);
    }
    fn usage(&mut self, input: Option<u64>, output: Option<u64>) {
        // The last usage wins: Ollama's /v1 attaches zero usage to every chunk and the real
        // counts to the final one.
        self.input = input.or(self.input);
        self.output = output.or(self.output);
    }
    fn cached(&mut self, tokens: u64) {
        self.cached = Some(tokens);
    }
    fn timings(&mut self, t: ServerTimings) {
        self.timings = Some(t);
    }
    fn finish(&mut self, reason: &str) {
        self.finish = Some(reason.to_string());
    }
    fn done(&mut self) {
        self.done = true;
    }
    fn error(&mut self, message: String) {
        self.error.get_or_insert(message);
    }
}

/// A reasoning chunk is not kept, but it must still be a JSON string.
fn sink_check(raw: &str) -> Result<(), String> {
    match raw.starts_with('"') && raw.ends_with('"') && raw.len() >= 2 {
        true => Ok(()),
        false => Err(format!("expected a JSON string, got {raw}")),
    }
}

/// Send `req` and stream its response into a record.
pub(crate) async fn execute(
    req: reqwest::RequestBuilder,
    dialect: &dyn Dialect,
    prompt: &Prompt,
    params: &GenParams,
    meta: RequestMeta<'_>,
    cancel: &CancellationToken,
) -> RequestRecord {
    let expected = prompt.output_tokens.unwrap_or(params.max_tokens) as usize + 2;
    let mut retries = 0;
    let mut req = Some(req);
    let (c, result) = loop {
        let this = req.take().expect("a request to send");
        // Only a request that may be re-sent after 429/503 needs its copy.
        let again = (retries < params.retries)
            .then(|| this.try_clone())
            .flatten();
        let mut c = Collected::new(expected);
        let result = tokio::select! {
            r = tokio::time::timeout(params.timeout, run(this, dialect.decoder(), &mut c, params.ttft_timeout)) => match r {
                Ok(r) => r,
                Err(_) => Err((Outcome::Timeout, format!("no complete response within {:?}", params.timeout))),
            },
            _ = cancel.cancelled() => Err((Outcome::Cancelled, "cancelled by the user".into())),
        };
        match (&result, again) {
            (Err((Outcome::Http(429 | 503), _)), Some(next)) if retries < params.retries => {
                // Overloaded: wait as told (Retry-After, at most a minute) or back off.
                let wait = c
                    .retry_after
                    .unwrap_or(Duration::from_millis(250 << retries.min(8)))
                    .min(Duration::from_secs(60));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancel.cancelled() => break (c, result),
                }
                retries += 1;
                req = Some(next);
            }
            _ => break (c, result),
        }
    };
    let end = c.sent.elapsed();
    let schedule_lag = c.sent.saturating_duration_since(meta.scheduled);
    let (outcome, error) = match result {
        Ok(()) => (Outcome::Ok, None),
        Err((o, e)) => (o, Some(e)),
    };
    let (output_tokens, token_source) = match c.output {
        Some(n) => (Some(n), Some(TokenSource::Server)),
        None if outcome.is_ok() => (
            Some(c.chunk_arrivals.len() as u64),
            Some(TokenSource::Chunks),
        ),
        None => (None, None),
    };
    RequestRecord {
        target: meta.target.to_string(),
        phase: meta.phase,
        step: meta.step,
        attempt: meta.attempt,
        class: meta.class,
        index: meta.index,
        prompt_id: prompt.id.clone(),
        sent_unix_s: c.sent_unix_s,
        schedule_lag,
        ttft: c.chunk_arrivals.first().copied(),
        chunk_arrivals: c.chunk_arrivals,
        end,
        input_tokens: c.input,
        cached_prompt_tokens: c.cached,
        output_tokens,
        requested_output_tokens: prompt.output_tokens,
        token_source,
        finish_reason: c.finish,
        server_timings: c.timings,
        outcome,
        error,
        text: c.text,
        retries,
        session: None,
        reasoning_chunks: c.reasoning_chunks,
        answer_ttft: c.first_answer.filter(|_| c.reasoning_chunks > 0),
    }
}

/// Await `f`, bounded by the first-token deadline while no content has arrived.
async fn first_token<T>(
    c: &Collected,
    limit: Option<Duration>,
    f: impl std::future::Future<Output = T>,
) -> Result<T, (Outcome, String)> {
    match limit {
        Some(l) if c.chunk_arrivals.is_empty() => {
            let deadline = tokio::time::Instant::from_std(c.sent + l);
            tokio::time::timeout_at(deadline, f).await.map_err(|_| {
                (
                    Outcome::Timeout,
                    format!(
                        "no first token within {:.1} s (--ttft-timeout)",
                        l.as_secs_f64()
                    ),
                )
            })
        }
        _ => Ok(f.await),
    }
}

async fn run(
    req: reqwest::RequestBuilder,
    mut decoder: Box<dyn StreamDecoder>,
    c: &mut Collected,
    ttft_limit: Option<Duration>,
) -> Result<(), (Outcome, String)> {
    let again = req.try_clone();
    let first = first_token(c, ttft_limit, req.send()).await?;
    let sent_again = match (first, again) {
        (Err(e), Some(again)) if !e.is_connect() && stale_connection(&e) => {
            c.sent = Instant::now();
            c.sent_unix_s = unix_at(c.sent);
            first_token(c, ttft_limit, again.send()).await?
        }
        (r, _) => r,
    };
    let resp = sent_again.map_err(|e| {
        let kind = if e.is_connect() {
            Outcome::Connect
        } else {
            Outcome::Stream(StreamErrorKind::StreamCut)
        };
        (kind, root_cause(&e))
    })?;
    let status = resp.status();
    if !status.is_success() {
        c.retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let body = resp.text().await.unwrap_or_default();
        if let Some(n) = context_exceeded(status.as_u16(), &body) {
            c.input = n.or(c.input);
            return Err((
                Outcome::ContextExceeded,
                format!(
                    "HTTP {}: the prompt is longer than the server's context: {}",
                    status.as_u16(),
                    excerpt(&body)
                ),
            ));
        }
        return Err((
            Outcome::Http(status.as_u16()),
            format!("HTTP {}: {}", status.as_u16(), excerpt(&body)),
        ));
    }
    let mut body = resp.bytes_stream();
    let mut lines = LineSplitter::default();
    let mut bad: Option<String> = None;
    let malformed = |e: String| (Outcome::Stream(StreamErrorKind::MalformedEvent), e);
    while let Some(chunk) = first_token(c, ttft_limit, body.next()).await? {
        c.now = c.sent.elapsed();
        let bytes = chunk.map_err(|e| {
            (
                Outcome::Stream(StreamErrorKind::StreamCut),
                format!("stream broke: {}", root_cause(&e)),
            )
        })?;
        lines
            .push(&bytes, |line| match decoder.line(line, c) {
                Ok(()) => !c.done,
                Err(e) => {
                    bad = Some(e);
                    false
                }
            })
            .map_err(|e| malformed(e.to_string()))?;
        if let Some(e) = bad.take() {
            return Err(malformed(e));
        }
        check_error(c)?;
        if c.done {
            return Ok(());
        }
    }
    c.now = c.sent.elapsed();
    if let Some(rest) = lines.finish().map_err(|e| malformed(e.to_string()))? {
        decoder.line(&rest, c).map_err(malformed)?;
        check_error(c)?;
    }
    // A server that said why it finished but omitted the end marker still finished.
    if c.done || c.finish.is_some() {
        Ok(())
    } else {
        Err((
            Outcome::Stream(StreamErrorKind::StreamCut),
            format!(
                "stream ended after {} content chunks without an end marker",
                c.chunk_arrivals.len()
            ),
        ))
    }
}

/// Whether an error body says the prompt did not fit the server's context, and then the prompt
/// length it names, where it names one. The wording of each server
/// (`../shared/fixtures/wire/*context*`, `*too_long*`):
/// - llama.cpp: `"type": "exceed_context_size_error"` with `n_prompt_tokens` (older builds:
///   "the request exceeds the available context size");
/// - vLLM: HTTP 400 "This model's maximum context length is N tokens. However, your request
///   has M input tokens" (later builds word it differently; the larger number is the prompt);
/// - Ollama with `truncate: false`: "the input length exceeds the context length", or at HEAD
///   "the prompt is longer than the context length".
pub(crate) fn context_exceeded(status: u16, body: &str) -> Option<Option<u64>> {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let err = &v["error"];
    if err["type"] == "exceed_context_size_error" {
        return Some(err["n_prompt_tokens"].as_u64());
    }
    let message = err["message"].as_str().or(err.as_str()).unwrap_or(body);
    let lower = message.to_lowercase();
    let said = [
        "exceeds the available context size",
        "input length exceeds the context length",
        "prompt is longer than the context length",
    ]
    .iter()
    .any(|m| lower.contains(m))
        || (status == 400 && lower.contains("maximum context length"));
    if !said {
        return None;
    }
    // vLLM names the prompt as "… has N input tokens" (0.11) or "(N in the messages, …)";
    // the other numbers in its message are the limit and the completion.
    let before = |marker: &str| {
        let at = lower.find(marker)?;
        lower[..at]
            .rsplit(|c: char| !c.is_ascii_digit())
            .find(|t| !t.is_empty())?
            .parse::<u64>()
            .ok()
    };
    let after = |marker: &str| {
        let at = lower.find(marker)? + marker.len();
        lower[at..]
            .split(|c: char| !c.is_ascii_digit())
            .find(|t| !t.is_empty())?
            .parse::<u64>()
            .ok()
    };
    Some(
        before(" input tokens")
            .or_else(|| before(" in the messages"))
            .or_else(|| after("request (")),
    )
}

fn check_error(c: &mut Collected) -> Result<(), (Outcome, String)> {
    match c.error.take() {
        Some(m) => Err((
            Outcome::Stream(StreamErrorKind::ServerError),
            format!("server error in stream: {m}"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::context_exceeded;

    fn wire(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/wire")
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn each_servers_context_refusal_is_recognised_with_its_length() {
        assert_eq!(
            context_exceeded(400, &wire("llamacpp_error_exceed_context.json")),
            Some(Some(9120))
        );
        assert_eq!(
            context_exceeded(400, &wire("vllm_error_context_length.json")),
            Some(Some(17210))
        );
        assert_eq!(
            context_exceeded(400, &wire("ollama_error_input_too_long.json")),
            Some(None)
        );
        assert_eq!(
            context_exceeded(404, &wire("vllm_error_model_not_found.json")),
            None
        );
        assert_eq!(context_exceeded(500, "internal error"), None);
        // Other vLLM wordings: the limit comes first, the prompt is the one named as such.
        let other = r#"{"error":{"message":"This model's maximum context length is 2048 tokens. However, you requested 2100 tokens (1900 in the messages, 200 in the completion). Please reduce the length of the messages or completion.","code":400}}"#;
        assert_eq!(context_exceeded(400, other), Some(Some(1900)));
        let newer = r#"{"error":{"message":"maximum context length is 2048 tokens and your request has 3000 input tokens (parameter=input_tokens, value=3000)","code":400}}"#;
        assert_eq!(context_exceeded(400, newer), Some(Some(3000)));
        // llama.cpp's message without its fields (older builds).
        let old = r#"{"error":{"code":400,"message":"request (3379 tokens) exceeds the available context size (2048 tokens), try increasing it","type":"invalid_request_error"}}"#;
        assert_eq!(context_exceeded(400, old), Some(Some(3379)));
    }
}
