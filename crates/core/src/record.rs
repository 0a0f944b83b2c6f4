//! The per-request record: the one immutable fact servebench keeps about every request it sends.
//!
//! Everything a report says is derived from these records (see [`crate::metrics`]); they are
//! journalled to `requests.jsonl` as each request finishes, so nothing measured is lost.
//! Times are [`Duration`]s relative to the moment the request was sent; they become seconds
//! (`*_s` fields) only when serialised.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Which phase of a target's run a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The first request after the model was (re)loaded.
    Cold,
    /// Sequential requests against an already-loaded model.
    Warm,
    /// Requests before a load phase or sweep step, excluded from its numbers.
    Warmup,
    /// The load phase of a concurrency or rate profile.
    Load,
    /// A step of a concurrency sweep (see the record's `step`).
    Sweep,
    /// An answer to a quality task (`eval`, `--quality`).
    Quality,
    /// A judge model scoring a quality answer.
    Judge,
    /// A fill-in-the-middle request of the IDE-autocomplete workload (`--workload autocomplete`).
    Autocomplete,
    /// A turn of a multi-turn session (`--workload sessions`; see the record's `session`).
    Session,
    /// A request of the long-context ladder (`--workload context`; `step` is the length's
    /// index).
    Ladder,
    /// A request of the team mix (`--workload team`; the record's `class` says which kind of
    /// work sent it).
    Team,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Cold => "cold",
            Phase::Warm => "warm",
            Phase::Warmup => "warmup",
            Phase::Load => "load",
            Phase::Sweep => "sweep",
            Phase::Quality => "quality",
            Phase::Judge => "judge",
            Phase::Autocomplete => "autocomplete",
            Phase::Session => "session",
            Phase::Ladder => "ladder",
            Phase::Team => "team",
        })
    }
}

/// Where a request's token counts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// The server said (OpenAI `usage`, Ollama `eval_count`).
    Server,
    /// The server did not say; output tokens = number of content chunks received.
    Chunks,
}

/// How a stream went wrong after the HTTP status said it was fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamErrorKind {
    /// The connection ended before the server's end-of-stream marker.
    StreamCut,
    /// An event or line that is not valid JSON of the expected dialect.
    MalformedEvent,
    /// The server sent an in-stream error object.
    ServerError,
}

/// What happened to a request. Only [`Outcome::Ok`] requests enter the latency distributions;
/// every other outcome is counted under its [`Outcome::kind`] in the phase's `failures`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The response streamed to its end.
    Ok,
    /// The server answered with a non-success HTTP status.
    Http(u16),
    /// The request did not finish within its time limit.
    Timeout,
    /// No connection could be made.
    Connect,
    /// The stream broke after it started.
    Stream(StreamErrorKind),
    /// servebench cancelled the request (e.g. Ctrl-C).
    Cancelled,
    /// The editor dropped the stream because the developer typed on (autocomplete): not a
    /// failure of the server, and never in a latency distribution.
    Superseded,
    /// The server refused the prompt as longer than its context (vLLM over `max_model_len`,
    /// llama.cpp over its slot's context, Ollama with `truncate: false`); the record's
    /// `input_tokens` holds the length the server counted, where it said.
    ContextExceeded,
}

impl Outcome {
    /// True for a request that finished normally.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }

    /// The stable identifier used in reports: `ok`, `http_404`, `timeout`, `connect`,
    /// `stream_cut`, `malformed_event`, `server_error`, `cancelled`, `superseded`,
    /// `context_exceeded`.
    pub fn kind(&self) -> String {
        match self {
            Outcome::Ok => "ok".into(),
            Outcome::Http(s) => format!("http_{s}"),
            Outcome::Timeout => "timeout".into(),
            Outcome::Connect => "connect".into(),
            Outcome::Stream(StreamErrorKind::StreamCut) => "stream_cut".into(),
            Outcome::Stream(StreamErrorKind::MalformedEvent) => "malformed_event".into(),
            Outcome::Stream(StreamErrorKind::ServerError) => "server_error".into(),
            Outcome::Cancelled => "cancelled".into(),
            Outcome::Superseded => "superseded".into(),
            Outcome::ContextExceeded => "context_exceeded".into(),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind())
    }
}

impl FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "ok" => Outcome::Ok,
            "timeout" => Outcome::Timeout,
            "connect" => Outcome::Connect,
            "stream_cut" => Outcome::Stream(StreamErrorKind::StreamCut),
            "malformed_event" => Outcome::Stream(StreamErrorKind::MalformedEvent),
            "server_error" => Outcome::Stream(StreamErrorKind::ServerError),
            "cancelled" => Outcome::Cancelled,
            "superseded" => Outcome::Superseded,
            "context_exceeded" => Outcome::ContextExceeded,
            other => match other.strip_prefix("http_").and_then(|c| c.parse().ok()) {
                Some(code) => Outcome::Http(code),
                None => return Err(format!("unknown outcome kind {other:?}")),
            },
        })
    }
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.kind())
    }
}

/// `ok`, `http_NNN`, `timeout`, `connect`, `stream_cut`, `malformed_event`, `server_error`,
/// `cancelled`, `superseded` or `context_exceeded`.
impl schemars::JsonSchema for Outcome {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Outcome".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "How the request ended.",
            "pattern": OUTCOME_PATTERN,
        })
    }
}

/// Every [`Outcome::kind`], as a regular expression.
pub const OUTCOME_PATTERN: &str = "^(ok|http_[0-9]{3}|timeout|connect|stream_cut|malformed_event|server_error|cancelled|superseded|context_exceeded)$";

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Timings the server reported about its own work on this request (llama.cpp `timings`,
/// Ollama's `*_duration` fields). Every field is optional: servers say different things.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServerTimings {
    /// Model load time the server reported (Ollama `load_duration`).
    #[schemars(with = "Option<f64>")]
    #[serde(with = "opt_secs", default, rename = "load_s")]
    pub load: Option<Duration>,
    /// Prompt tokens the server evaluated (excluding cache hits, where it says).
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    /// Time the server spent on the prompt.
    #[schemars(with = "Option<f64>")]
    #[serde(with = "opt_secs", default, rename = "prompt_s")]
    pub prompt: Option<Duration>,
    /// Tokens the server generated.
    #[serde(default)]
    pub decode_tokens: Option<u64>,
    /// Time the server spent generating.
    #[schemars(with = "Option<f64>")]
    #[serde(with = "opt_secs", default, rename = "decode_s")]
    pub decode: Option<Duration>,
    /// The server's whole time for the request (Ollama `total_duration`).
    #[schemars(with = "Option<f64>")]
    #[serde(with = "opt_secs", default, rename = "total_s")]
    pub total: Option<Duration>,
}

impl ServerTimings {
    /// The server's own decode rate, tokens per second.
    pub fn decode_tok_s(&self) -> Option<f64> {
        let (n, d) = (self.decode_tokens?, self.decode?.as_secs_f64());
        (d > 0.0).then(|| n as f64 / d)
    }
}

/// One request, from schedule to end. Immutable once built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RequestRecord {
    /// Target name this request was sent to.
    pub target: String,
    /// Phase the request belongs to.
    pub phase: Phase,
    /// Sweep step (0-based) for `sweep` and its warmup; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// Which attempt at the target sent it: 0 for the plan's model, k for its k-th fallback
    /// (quality answers and judge calls are journalled as 0).
    #[serde(default)]
    pub attempt: u32,
    /// Sequence number within the phase, from 0.
    pub index: u64,
    /// Identifier of the prompt used.
    pub prompt_id: String,
    /// Wall-clock send time, seconds since the Unix epoch.
    pub sent_unix_s: f64,
    /// Send time minus scheduled time: how late the client sent it (open loop), ≈ 0 otherwise.
    #[schemars(with = "f64")]
    #[serde(with = "secs", rename = "schedule_lag_s")]
    pub schedule_lag: Duration,
    /// Send → first chunk carrying generated text (reasoning or answer).
    #[schemars(with = "Option<f64>")]
    #[serde(with = "opt_secs", default, rename = "ttft_s")]
    pub ttft: Option<Duration>,
    /// Arrival of every content chunk, relative to send (the first equals `ttft_s`).
    #[schemars(with = "Vec<f64>")]
    #[serde(with = "vec_secs", default, rename = "chunk_arrivals_s")]
    pub chunk_arrivals: Vec<Duration>,
    /// Send → end of the response (end-of-stream marker or error).
    #[schemars(with = "f64")]
    #[serde(with = "secs", rename = "end_s")]
    pub end: Duration,
    /// Prompt tokens as the server counted them.
    pub input_tokens: Option<u64>,
    /// Of those, the tokens the server took from its prompt cache (llama.cpp `timings.cache_n`,
    /// vLLM `usage.prompt_tokens_details.cached_tokens`); `null` when the server does not say
    /// (Ollama never does; vLLM only with `--enable-prompt-tokens-details`).
    #[serde(default)]
    pub cached_prompt_tokens: Option<u64>,
    /// Generated tokens (see `token_source`).
    pub output_tokens: Option<u64>,
    /// Exact output length asked for (`--output-tokens`); absent when only capped by max_tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_output_tokens: Option<u32>,
    /// Where `output_tokens` came from.
    pub token_source: Option<TokenSource>,
    /// Why generation stopped, as the server said (`stop`, `length`, …).
    pub finish_reason: Option<String>,
    /// What the server reported about its own timings.
    pub server_timings: Option<ServerTimings>,
    /// What happened.
    pub outcome: Outcome,
    /// Detail for a failed request (HTTP body excerpt, stream error); never contains secrets.
    pub error: Option<String>,
    /// The generated text.
    pub text: String,
    /// Times the request was sent again after HTTP 429/503 (`--retries`); its timings are
    /// those of the last send, its from-schedule latencies include every wait.
    #[serde(default)]
    pub retries: u32,
    /// The session and turn a `session` request belongs to; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionTurn>,
    /// The kind of work that sent it, in a team mix (`--workload team`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<crate::spec::Class>,
    /// Of `chunk_arrivals`, the chunks of reasoning (`reasoning_content`, `reasoning`, Ollama
    /// `thinking`), kept out of `text`; the rest are the answer.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reasoning_chunks: u64,
    /// Send → first chunk of the answer, for a request that reasoned first (otherwise the
    /// answer's first token is the TTFT).
    #[schemars(with = "Option<f64>")]
    #[serde(
        with = "opt_secs",
        default,
        rename = "answer_ttft_s",
        skip_serializing_if = "Option::is_none"
    )]
    pub answer_ttft: Option<Duration>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Where a request sits in a multi-turn session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SessionTurn {
    /// The session's number in the run, from 0 (its source id is the record's `prompt_id`).
    pub session: u64,
    /// The turn within the session, from 1.
    pub turn: u32,
}

impl RequestRecord {
    /// A request that streamed one token per chunk at `arrivals` after it was sent (the first
    /// is its TTFT, the last its end), counted by the server, and ended `ok`: the one builder
    /// for tests and tools that synthesise records. Set any other field with struct update
    /// syntax (`RequestRecord { outcome, ..RequestRecord::streamed(…) }`).
    pub fn streamed(
        target: &str,
        phase: Phase,
        index: u64,
        arrivals: Vec<Duration>,
    ) -> RequestRecord {
        RequestRecord {
            target: target.into(),
            phase,
            step: None,
            attempt: 0,
            index,
            prompt_id: "p".into(),
            sent_unix_s: 1000.0 + index as f64,
            schedule_lag: Duration::ZERO,
            ttft: arrivals.first().copied(),
            end: arrivals.last().copied().unwrap_or_default(),
            input_tokens: Some(5),
            cached_prompt_tokens: None,
            output_tokens: Some(arrivals.len() as u64),
            requested_output_tokens: None,
            token_source: Some(TokenSource::Server),
            chunk_arrivals: arrivals,
            finish_reason: None,
            server_timings: None,
            outcome: Outcome::Ok,
            error: None,
            text: String::new(),
            retries: 0,
            session: None,
            class: None,
            reasoning_chunks: 0,
            answer_ttft: None,
        }
    }

    /// A request that failed with `outcome` after `end`, with no chunk and no token count.
    pub fn failed(
        target: &str,
        phase: Phase,
        index: u64,
        outcome: Outcome,
        end: Duration,
    ) -> RequestRecord {
        RequestRecord {
            end,
            input_tokens: None,
            cached_prompt_tokens: None,
            output_tokens: None,
            token_source: None,
            outcome,
            ..RequestRecord::streamed(target, phase, index, Vec::new())
        }
    }

    /// Send → last content chunk: the request's end-to-end latency, ending at the last token.
    pub fn e2e(&self) -> Option<Duration> {
        self.chunk_arrivals.last().copied()
    }

    /// Wall-clock time the request was scheduled for, seconds since the Unix epoch.
    pub fn scheduled_unix_s(&self) -> f64 {
        self.sent_unix_s - self.schedule_lag.as_secs_f64()
    }
}

/// Serde helpers: `Duration` as f64 seconds.
mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
    }
}

mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|v| Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom))
            .transpose()
    }
}

mod vec_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(v: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(Duration::as_secs_f64))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        Vec::<f64>::deserialize(d)?
            .into_iter()
            .map(|v| Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_kinds_round_trip() {
        for o in [
            Outcome::Ok,
            Outcome::Http(503),
            Outcome::Timeout,
            Outcome::Connect,
            Outcome::Stream(StreamErrorKind::StreamCut),
            Outcome::Stream(StreamErrorKind::MalformedEvent),
            Outcome::Stream(StreamErrorKind::ServerError),
            Outcome::Cancelled,
            Outcome::Superseded,
            Outcome::ContextExceeded,
        ] {
            assert_eq!(o.kind().parse::<Outcome>().unwrap(), o);
        }
        assert!("http_x".parse::<Outcome>().is_err());
    }

    #[test]
    fn record_round_trips_through_json() {
        let r = RequestRecord {
            target: "t".into(),
            phase: Phase::Warm,
            step: None,
            attempt: 0,
            index: 3,
            prompt_id: "p".into(),
            sent_unix_s: 1.5,
            schedule_lag: Duration::ZERO,
            ttft: Some(Duration::from_millis(150)),
            chunk_arrivals: vec![Duration::from_millis(150), Duration::from_millis(170)],
            end: Duration::from_millis(171),
            input_tokens: Some(10),
            cached_prompt_tokens: None,
            output_tokens: Some(2),
            requested_output_tokens: None,
            token_source: Some(TokenSource::Server),
            finish_reason: Some("stop".into()),
            server_timings: Some(ServerTimings {
                decode_tokens: Some(2),
                decode: Some(Duration::from_millis(20)),
                ..Default::default()
            }),
            outcome: Outcome::Http(500),
            error: None,
            text: "ab".into(),
            retries: 0,
            session: Some(SessionTurn {
                session: 2,
                turn: 3,
            }),
            class: Some(crate::spec::Class::Chat),
            reasoning_chunks: 1,
            answer_ttft: Some(Duration::from_millis(170)),
        };
        let j = serde_json::to_string(&r).unwrap();
        assert!(j.contains("\"outcome\":\"http_500\""));
        assert!(j.contains("\"class\":\"chat\""));
        assert!(j.contains("\"ttft_s\":0.15"));
        let back: RequestRecord = serde_json::from_str(&j).unwrap();
        assert_eq!(back, r);
    }
}
