//! The one streaming driver both dialects share: send, timestamp every read, decode lines into
//! [`StreamEvent`]s, count tokens, classify failures, and build the [`RequestRecord`].
//!
//! Content chunks are timestamped when their bytes arrive, before any parsing, so decoding cost
//! never inflates TTFT or ITL.

use super::lines::LineSplitter;
use super::{GenParams, RequestMeta, StreamEvent, excerpt, root_cause};
use crate::prompts::Prompt;
use crate::record::{Outcome, RequestRecord, ServerTimings, StreamErrorKind, TokenSource};
use futures_util::StreamExt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// Decodes one line of a stream; `Err` holds why the line is malformed.
pub type Decoder = fn(&str, &mut Vec<StreamEvent>) -> Result<(), String>;

/// Everything learned from one response while it streamed.
#[derive(Debug, Default)]
struct Collected {
    chunk_arrivals: Vec<Duration>,
    text: String,
    input: Option<u64>,
    output: Option<u64>,
    timings: Option<ServerTimings>,
    finish: Option<String>,
    done: bool,
}

impl Collected {
    fn apply(&mut self, ev: StreamEvent, at: Duration) -> Result<(), (Outcome, String)> {
        match ev {
            StreamEvent::Content(t) => {
                self.chunk_arrivals.push(at);
                self.text.push_str(&t);
            }
            StreamEvent::Usage { input, output } => {
                // The last usage wins: Ollama's /v1 attaches zero usage to every chunk and the
                // real counts to the final one.
                self.input = input.or(self.input);
                self.output = output.or(self.output);
            }
            StreamEvent::Timings(t) => self.timings = Some(t),
            StreamEvent::Finish(r) => self.finish = Some(r),
            StreamEvent::Done => self.done = true,
            StreamEvent::Error(m) => {
                return Err((
                    Outcome::Stream(StreamErrorKind::ServerError),
                    format!("server error in stream: {m}"),
                ));
            }
        }
        Ok(())
    }
}

/// Send `req` and stream its response into a record.
pub(crate) async fn execute(
    req: reqwest::RequestBuilder,
    decode: Decoder,
    prompt: &Prompt,
    params: &GenParams,
    meta: RequestMeta<'_>,
    cancel: &CancellationToken,
) -> RequestRecord {
    let sent_unix_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let sent = Instant::now();
    let schedule_lag = sent.saturating_duration_since(meta.scheduled);
    let mut c = Collected::default();
    let result = tokio::select! {
        r = tokio::time::timeout(params.timeout, run(req, decode, sent, &mut c)) => match r {
            Ok(r) => r,
            Err(_) => Err((Outcome::Timeout, format!("no complete response within {:?}", params.timeout))),
        },
        _ = cancel.cancelled() => Err((Outcome::Cancelled, "cancelled by the user".into())),
    };
    let end = sent.elapsed();
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
        index: meta.index,
        prompt_id: prompt.id.clone(),
        sent_unix_s,
        schedule_lag,
        ttft: c.chunk_arrivals.first().copied(),
        chunk_arrivals: c.chunk_arrivals,
        end,
        input_tokens: c.input,
        output_tokens,
        requested_output_tokens: prompt.output_tokens,
        token_source,
        finish_reason: c.finish,
        server_timings: c.timings,
        outcome,
        error,
        text: c.text,
    }
}

async fn run(
    req: reqwest::RequestBuilder,
    decode: Decoder,
    sent: Instant,
    c: &mut Collected,
) -> Result<(), (Outcome, String)> {
    let resp = req.send().await.map_err(|e| {
        let kind = if e.is_connect() {
            Outcome::Connect
        } else {
            Outcome::Stream(StreamErrorKind::StreamCut)
        };
        (kind, root_cause(&e))
    })?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Err((
            Outcome::Http(status.as_u16()),
            format!("HTTP {}: {}", status.as_u16(), excerpt(&body)),
        ));
    }
    let mut body = resp.bytes_stream();
    let mut lines = LineSplitter::default();
    let mut events = Vec::new();
    let mut bad: Option<String> = None;
    while let Some(chunk) = body.next().await {
        let at = sent.elapsed();
        let bytes = chunk.map_err(|e| {
            (
                Outcome::Stream(StreamErrorKind::StreamCut),
                format!("stream broke: {}", root_cause(&e)),
            )
        })?;
        lines
            .push(&bytes, |line| match decode(line, &mut events) {
                Ok(()) => true,
                Err(e) => {
                    bad = Some(e);
                    false
                }
            })
            .map_err(|e| {
                (
                    Outcome::Stream(StreamErrorKind::MalformedEvent),
                    e.to_string(),
                )
            })?;
        if let Some(e) = bad.take() {
            return Err((Outcome::Stream(StreamErrorKind::MalformedEvent), e));
        }
        for ev in events.drain(..) {
            c.apply(ev, at)?;
        }
        if c.done {
            return Ok(());
        }
    }
    let at = sent.elapsed();
    if let Some(rest) = lines.finish().map_err(|e| {
        (
            Outcome::Stream(StreamErrorKind::MalformedEvent),
            e.to_string(),
        )
    })? {
        decode(&rest, &mut events)
            .map_err(|e| (Outcome::Stream(StreamErrorKind::MalformedEvent), e))?;
        for ev in events.drain(..) {
            c.apply(ev, at)?;
        }
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
