//! Metric definitions: what servebench means by TTFT, TPOT, ITL, E2E and the token rates.
//!
//! Peers disagree on these names (vLLM's ITL is per-chunk gaps, guidellm's "ITL" is vLLM's
//! TPOT, guidellm's TPOT includes the first token), so each is defined once, here and in the
//! README, and computed only from a [`RequestRecord`]:
//!
//! - **TTFT** = send → first chunk carrying generated text.
//! - **E2E** = send → last chunk carrying generated text (not the `[DONE]` marker).
//! - **TPOT** = (E2E − TTFT) / (output tokens − 1); needs at least 2 output tokens.
//! - **ITL** = gaps between consecutive content chunks, pooled over requests.
//! - **decode tok/s** = (output tokens − 1) / (E2E − TTFT).
//! - **e2e tok/s** = output tokens / E2E (the "TPS" of a response).
//! - **phase output tok/s** = all output tokens of successful requests / phase wall time.
//! - **… from schedule** = the same latency measured from the time the request was *scheduled*
//!   rather than sent (open-loop profiles): queueing in the client is not hidden
//!   (coordinated omission).

use crate::record::RequestRecord;
use crate::spec::Slo;

/// One per-request metric: its key (a CSV column, a JSON field of the phase statistics), its
/// unit, whether a failed request has it, and how it is read from a request's
/// [`RequestMetrics`].
#[derive(Debug, Clone, Copy)]
pub struct RequestMetricDef {
    /// The key (`ttft_s`).
    pub key: &'static str,
    /// Unit.
    pub unit: &'static str,
    /// A failed request has it too (its send lag); the others are a successful request's.
    pub of_failed: bool,
    /// Its value for one request.
    pub value: fn(&RequestMetrics) -> Option<f64>,
}

/// Every per-request metric, in the order exports list them: the registry the CSV columns
/// iterate.
pub const REQUEST_METRICS: &[RequestMetricDef] = &[
    RequestMetricDef {
        key: "ttft_s",
        unit: "s",
        of_failed: false,
        value: |m| m.ttft_s,
    },
    RequestMetricDef {
        key: "tpot_s",
        unit: "s",
        of_failed: false,
        value: |m| m.tpot_s,
    },
    RequestMetricDef {
        key: "e2e_s",
        unit: "s",
        of_failed: false,
        value: |m| m.e2e_s,
    },
    RequestMetricDef {
        key: "decode_tok_s",
        unit: "tok/s",
        of_failed: false,
        value: |m| m.decode_tok_s,
    },
    RequestMetricDef {
        key: "e2e_tok_s",
        unit: "tok/s",
        of_failed: false,
        value: |m| m.e2e_tok_s,
    },
    RequestMetricDef {
        key: "schedule_lag_s",
        unit: "s",
        of_failed: true,
        value: |m| Some(m.schedule_lag_s),
    },
    RequestMetricDef {
        key: "ttft_from_schedule_s",
        unit: "s",
        of_failed: false,
        value: |m| m.ttft_from_schedule_s,
    },
    RequestMetricDef {
        key: "e2e_from_schedule_s",
        unit: "s",
        of_failed: false,
        value: |m| m.e2e_from_schedule_s,
    },
];

/// Per-request derived metrics, in seconds and tokens per second.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RequestMetrics {
    /// Time to first token, s.
    pub ttft_s: Option<f64>,
    /// Send → last token, s.
    pub e2e_s: Option<f64>,
    /// Time per output token after the first, s.
    pub tpot_s: Option<f64>,
    /// Decode rate after the first token, tok/s.
    pub decode_tok_s: Option<f64>,
    /// Output tokens over E2E, tok/s.
    pub e2e_tok_s: Option<f64>,
    /// Send − scheduled time, s.
    pub schedule_lag_s: f64,
    /// Scheduled time → first token, s.
    pub ttft_from_schedule_s: Option<f64>,
    /// Scheduled time → last token, s.
    pub e2e_from_schedule_s: Option<f64>,
}

impl RequestMetrics {
    /// Derive the metrics of one request (all `None` for a request without content).
    pub fn of(r: &RequestRecord) -> RequestMetrics {
        let lag = r.schedule_lag.as_secs_f64();
        let ttft = r.ttft.map(|d| d.as_secs_f64());
        let e2e = r.e2e().map(|d| d.as_secs_f64());
        let out = r.output_tokens.map(|n| n as f64);
        let decode_time = match (ttft, e2e) {
            (Some(t), Some(e)) if e > t => Some(e - t),
            _ => None,
        };
        let tpot = match (decode_time, out) {
            (Some(d), Some(n)) if n >= 2.0 => Some(d / (n - 1.0)),
            _ => None,
        };
        RequestMetrics {
            ttft_s: ttft,
            e2e_s: e2e,
            tpot_s: tpot,
            decode_tok_s: tpot.map(|t| 1.0 / t),
            e2e_tok_s: match (out, e2e) {
                (Some(n), Some(e)) if e > 0.0 => Some(n / e),
                _ => None,
            },
            schedule_lag_s: lag,
            ttft_from_schedule_s: ttft.map(|t| t + lag),
            e2e_from_schedule_s: e2e.map(|e| e + lag),
        }
    }

    /// Whether a successful request meets every objective of `slo` (latencies from schedule).
    /// A request without a first token fails a TTFT objective; one without a second token has
    /// no TPOT and cannot fail a TPOT objective.
    pub fn meets(&self, slo: &Slo) -> bool {
        let within = |v: Option<f64>, limit: Option<f64>, missing_ok: bool| match (limit, v) {
            (None, _) => true,
            (Some(l), Some(v)) => v <= l,
            (Some(_), None) => missing_ok,
        };
        within(self.ttft_from_schedule_s, slo.ttft_s, false)
            && within(self.tpot_s, slo.tpot_s, true)
            && within(self.e2e_from_schedule_s, slo.e2e_s, false)
    }
}

/// Inter-chunk gaps of one request, s (vLLM's ITL definition).
pub fn itl_s(r: &RequestRecord) -> impl Iterator<Item = f64> + '_ {
    r.chunk_arrivals
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Outcome, Phase, TokenSource};
    use std::time::Duration;

    fn rec(arrivals_ms: &[u64], out: u64) -> RequestRecord {
        let arr: Vec<Duration> = arrivals_ms
            .iter()
            .map(|&m| Duration::from_millis(m))
            .collect();
        RequestRecord {
            target: "t".into(),
            phase: Phase::Warm,
            step: None,
            attempt: 0,
            index: 0,
            prompt_id: "p".into(),
            sent_unix_s: 0.0,
            schedule_lag: Duration::ZERO,
            ttft: arr.first().copied(),
            end: arr.last().copied().unwrap_or_default() + Duration::from_millis(1),
            chunk_arrivals: arr,
            input_tokens: Some(5),
            cached_prompt_tokens: None,
            output_tokens: Some(out),
            requested_output_tokens: None,
            token_source: Some(TokenSource::Server),
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

    #[test]
    fn definitions_hold_on_a_hand_computed_request() {
        // First token at 150 ms, then 4 more every 20 ms: E2E 230 ms, 5 tokens.
        let r = rec(&[150, 170, 190, 210, 230], 5);
        let m = RequestMetrics::of(&r);
        assert!((m.ttft_s.unwrap() - 0.150).abs() < 1e-12);
        assert!((m.e2e_s.unwrap() - 0.230).abs() < 1e-12);
        assert!((m.tpot_s.unwrap() - 0.020).abs() < 1e-12);
        assert!((m.decode_tok_s.unwrap() - 50.0).abs() < 1e-9);
        assert!((m.e2e_tok_s.unwrap() - 5.0 / 0.230).abs() < 1e-9);
        let itl: Vec<f64> = itl_s(&r).collect();
        assert_eq!(itl.len(), 4);
        assert!(itl.iter().all(|g| (g - 0.020).abs() < 1e-12));
    }

    #[test]
    fn slo_is_judged_from_the_scheduled_time() {
        let mut r = rec(&[150, 170, 190], 3);
        r.schedule_lag = Duration::from_millis(400);
        let m = RequestMetrics::of(&r);
        assert!((m.ttft_from_schedule_s.unwrap() - 0.550).abs() < 1e-12);
        let ttft = |t| Slo {
            ttft_s: Some(t),
            ..Default::default()
        };
        assert!(m.meets(&ttft(0.6)));
        assert!(
            !m.meets(&ttft(0.5)),
            "queueing in the client counts against the SLO"
        );
        assert!(m.meets(&Slo {
            tpot_s: Some(0.0201),
            ..Default::default()
        }));
        assert!(!m.meets(&Slo {
            tpot_s: Some(0.019),
            ..Default::default()
        }));
    }

    #[test]
    fn one_token_has_no_tpot() {
        let m = RequestMetrics::of(&rec(&[100], 1));
        assert_eq!(m.tpot_s, None);
        assert_eq!(m.decode_tok_s, None);
        assert!(m.e2e_tok_s.is_some());
    }
}
