//! The IDE-autocomplete phase (`--workload autocomplete`): what the developers saw (the
//! completions that arrived before the next keystroke), what they abandoned, what the server
//! wasted on the abandoned ones and how soon it stopped. Record-derived numbers come from
//! [`AutocompleteStats`] (fed by the report builder, so `report --from-journal` gives the same);
//! what only the server can tell — tokens generated for abandoned requests, when it let go of
//! them — is computed here from the run's samples ([`stops_from_slots`],
//! [`stops_from_running`]) and kept as facts.

use super::phase::PhaseReport;
use super::quality_stats::{Interval, wilson};
use crate::record::{Outcome, RequestRecord};
use crate::stats::Summary;
use serde::{Deserialize, Serialize};

/// After the developers stop typing, how long a request still unanswered is waited for (it is
/// then dropped and recorded as a timeout), and how long the server is then given to let go of
/// what it still runs, s.
pub const DRAIN_S: u64 = 10;

/// Each autocomplete request is sent with seed `SEED_TAG + its index`: under greedy decoding
/// the seed changes nothing, and llama.cpp shows it in `/slots` (`params.seed`), which names
/// the request a slot runs, queued ones included. Below 2³² − 1, llama.cpp's "random seed".
pub const SEED_TAG: u64 = 1 << 30;

/// A server whose median time to stop after the client left is at least this long, s, is
/// said to keep generating for abandoned requests.
pub const KEPT_GENERATING_S: f64 = 1.0;

/// The autocomplete phase of one target.
fn window_editor() -> String {
    "window".into()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AutocompleteReport {
    /// Simulated developers typing at once.
    pub developers: u32,
    /// How long they typed, s.
    pub duration_s: f64,
    /// Quiet time after a keystroke before a completion is requested, s.
    pub debounce_s: f64,
    /// Whose requests were sent: `window` (servebench's sliding window) or `llama.vscode`
    /// (its line windows, ring of extra context, sampling and triggering; see the README).
    #[serde(default = "window_editor")]
    pub editor: String,
    /// How the requests reached the server: `infill` (llama.cpp `/infill`), `suffix` (Ollama
    /// `/api/generate` with `suffix`) or `raw:<template>` (a raw prompt in the model's FIM
    /// template on `/v1/completions`).
    pub fim_method: String,
    /// The windows around the cursor.
    pub windows: FimWindows,
    /// Generation limit of each completion.
    pub max_tokens: u32,
    /// Stop sequences sent with each completion (beside the template's own markers).
    pub stop: Vec<String>,
    /// The source files typed through.
    pub corpus: CorpusInfo,
    /// The probe that checks the server reads the suffix; `null` when it was not run.
    pub suffix_probe: Option<SuffixProbe>,
    /// Keystrokes typed.
    pub keystrokes: u64,
    /// Completion requests sent (after the debounce).
    pub sent: u64,
    /// Requests whose answer arrived whole before the next keystroke (shown to the developer).
    pub completed: u64,
    /// Requests dropped because the developer typed on (`superseded` records).
    pub cancelled: u64,
    /// Requests that failed (not superseded), by outcome kind in `shown.failures`.
    pub failed: u64,
    /// The requests that were not superseded: TTFT and E2E of the completed ones, failures.
    pub shown: PhaseReport,
    /// Keystroke → first token of the completed requests, s: what the developer waits for,
    /// the debounce included.
    pub ttft_from_keystroke_s: Summary,
    /// Tokens the client had received from the requests it abandoned.
    pub received_by_cancelled_tokens: u64,
    /// Work the server did for requests nobody saw.
    pub wasted: Wasted,
    /// Whether, and how soon, the server stopped after the client went away.
    pub stopping: Stopping,
    /// What the run found that makes its numbers less trustworthy, as typed findings.
    #[serde(default)]
    pub findings: Vec<super::finding::Finding>,
    /// Requests still unanswered [`DRAIN_S`] after the developers stopped typing, dropped and
    /// counted as failed (`timeout`).
    pub dropped_at_end: u64,
    /// HumanEval infilling graded on the workload's FIM path (`--infill`); `null` when not
    /// asked for.
    pub infill: Option<InfillReport>,
}

/// Completion quality: HumanEval infilling tasks (a line or a block of each canonical solution
/// taken out) filled by the model on the workload's FIM path and graded in the sandbox.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InfillReport {
    /// `line` (one line taken out) or `block` (up to three lines).
    pub span: String,
    /// `humaneval`.
    pub dataset: String,
    /// Tasks asked.
    pub tasks: u64,
    /// Fills whose program passed the task's tests.
    pub passed: u64,
    /// `passed / tasks` (one greedy fill each); `null` with no tasks.
    pub pass_at_1: Option<f64>,
    /// Wilson 95 % interval of `pass_at_1`.
    pub pass_ci: Option<Interval>,
    /// Fills equal to the removed code (trailing whitespace aside).
    pub exact: u64,
    /// `exact / tasks`.
    pub exact_match: Option<f64>,
    /// Wilson 95 % interval of `exact_match`.
    pub exact_ci: Option<Interval>,
    /// Requests that failed (counted as neither passed nor exact).
    pub failed_requests: u64,
    /// Per task, in order.
    pub results: Vec<InfillResult>,
}

/// One infilling task's outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InfillResult {
    /// `HumanEval/12:line`.
    pub id: String,
    /// The program with the fill passed the tests.
    pub passed: bool,
    /// The fill is the removed code.
    pub exact: bool,
    /// The request's failure, or the grader's verdict when it did not pass.
    pub error: Option<String>,
}

impl InfillReport {
    /// The summary of `results` for `span`.
    pub fn of(span: &str, results: Vec<InfillResult>, failed_requests: u64) -> InfillReport {
        let n = results.len() as u64;
        let passed = results.iter().filter(|r| r.passed).count() as u64;
        let exact = results.iter().filter(|r| r.exact).count() as u64;
        let rate = |k: u64| (n > 0).then(|| k as f64 / n as f64);
        InfillReport {
            span: span.into(),
            dataset: "humaneval".into(),
            tasks: n,
            passed,
            pass_at_1: rate(passed),
            pass_ci: wilson(passed, n),
            exact,
            exact_match: rate(exact),
            exact_ci: wilson(exact, n),
            failed_requests,
            results,
        }
    }
}

/// The prefix and suffix windows, in the server's tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FimWindows {
    /// Tokens of code before the cursor (at most; less at the top of a file).
    pub prefix_tokens: u32,
    /// Tokens of code after the block being written (at most).
    pub suffix_tokens: u32,
    /// Characters of the corpus per server token, as measured.
    pub chars_per_token: f64,
    /// How it was measured: `tokenize` (the server's tokenizer) or `usage` (prompt token
    /// counts of two requests).
    pub measured_with: String,
}

/// The corpus the developers typed through.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CorpusInfo {
    /// Directory read.
    pub path: String,
    /// Text files used.
    pub files: usize,
    /// Their characters.
    pub chars: u64,
}

/// Two requests with the same prefix and different suffixes: a server that reads the suffix
/// answers them differently.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SuffixProbe {
    /// False when both answers were the same: the suffix made no difference.
    pub honoured: bool,
    /// The two answers, shortened.
    pub answers: Vec<String>,
}

/// Tokens the server generated for abandoned requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Wasted {
    /// `server_counter` (the server's generated-token counter: vLLM
    /// `vllm:generation_tokens_total`), `slots` (llama.cpp `/slots`: each abandoned task's
    /// `n_decoded` when last seen — a lower bound by at most one poll interval of decoding),
    /// or `client_received` (no server view: the tokens that reached the client, a lower bound).
    pub source: String,
    /// Tokens generated for abandoned requests; `null` when unknown.
    pub tokens: Option<u64>,
    /// Tokens generated in the phase (the counter's change, or completed + wasted).
    pub generated_tokens: Option<u64>,
    /// `tokens / generated_tokens`.
    pub share: Option<f64>,
    /// What the number can and cannot say.
    pub note: Option<String>,
}

/// The server's reaction to abandoned requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Stopping {
    /// `slots` (llama.cpp `/slots`, per task), `running` (a running-request gauge:
    /// `vllm:num_requests_running`, `llamacpp:requests_processing`); `null` when the server
    /// shows neither (Ollama).
    pub source: Option<String>,
    /// Sampling interval, s (the resolution of `time_to_stop_s`).
    pub poll_s: f64,
    /// Requests abandoned: superseded, and those dropped unanswered at the end of the run.
    pub cancelled: u64,
    /// Of those, the ones whose stop could be attributed and timed.
    pub measured: u64,
    /// Abandoned requests the server was still generating when sampling ended.
    pub never_stopped: u64,
    /// Abandoned requests the server started only after the client had left (queued work it
    /// did not discard); `null` when the source cannot name requests (only `/slots` with each
    /// request's seed can).
    pub started_after_drop: Option<u64>,
    /// Client drops the stream → the server no longer runs the request, s (sampled).
    pub time_to_stop_s: Summary,
    /// Whether the server kept generating for abandoned requests (median time to stop of at
    /// least [`KEPT_GENERATING_S`], or any that never stopped); `null` when not observable.
    pub kept_generating: Option<bool>,
}

/// One abandoned request as the client saw it: sent and dropped, s since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cancel {
    /// When it was sent.
    pub sent: f64,
    /// When the client dropped the stream.
    pub at: f64,
    /// The request's tag as the server echoes it (the `seed` it was sent with, seen in
    /// `/slots` `params.seed`), which names its task exactly.
    pub tag: Option<u64>,
}

/// One slot of a llama.cpp `/slots` reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotView {
    /// Slot id.
    pub slot: i64,
    /// The task it runs (`id_task`).
    pub task: i64,
    /// `is_processing`.
    pub processing: bool,
    /// Tokens decoded for the task so far (`next_token.n_decoded`).
    pub n_decoded: u64,
    /// The seed the task was sent with (`params.seed`), when the server shows it.
    pub seed: Option<u64>,
}

/// What became of one abandoned request on the server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// It stopped this long after the client left, s, having generated this many tokens
    /// (when the source says).
    After(f64, Option<u64>),
    /// Still running when sampling ended, with the tokens generated by then.
    Never(Option<u64>),
    /// Not attributable (the server had not started it, or it ended between two readings).
    Unknown,
}

/// Each cancel's fate from `/slots` readings `(t, slots)` in time order, with the number of
/// abandoned requests the server started only after the client had left (`None` when the
/// readings cannot name requests).
///
/// Where every cancel carries a tag and the server shows each task's seed, the task of a
/// cancel is the one running with its tag: exact, including requests that waited in the
/// server's queue. Otherwise see [`stops_by_timing`].
pub fn stops_from_slots(
    cancels: &[Cancel],
    readings: &[(f64, Vec<SlotView>)],
) -> (Vec<Stop>, Option<u64>) {
    // llama.cpp always shows a seed (its default when none is sent): the requests are named
    // only when some reading shows one of the tags sent.
    let named = cancels.iter().all(|c| c.tag.is_some())
        && readings.iter().any(|(_, s)| {
            s.iter()
                .any(|x| x.processing && cancels.iter().any(|c| c.tag == x.seed))
        });
    if !named {
        return (stops_by_timing(cancels, readings), None);
    }
    let mut late = 0;
    let stops = cancels
        .iter()
        .map(|c| {
            let seen: Vec<(usize, u64)> = readings
                .iter()
                .enumerate()
                .filter_map(|(i, (_, s))| {
                    s.iter()
                        .find(|x| x.processing && x.seed == c.tag)
                        .map(|x| (i, x.n_decoded))
                })
                .collect();
            let (Some(&(first, _)), Some(&(last, _))) = (seen.first(), seen.last()) else {
                // Never running at a reading: discarded while queued, or between two readings.
                return Stop::Unknown;
            };
            // Certainly started after the drop: a reading after the drop did not show it yet.
            if first > 0 && readings[first - 1].0 > c.at {
                late += 1;
            }
            let decoded = seen.iter().map(|x| x.1).max().unwrap_or(0);
            match readings.get(last + 1) {
                Some((gone, _)) => Stop::After((gone - c.at).max(0.0), Some(decoded)),
                None => Stop::Never(Some(decoded)),
            }
        })
        .collect();
    (stops, Some(late))
}

/// Each cancel's fate from `/slots` readings that do not name requests: the task of a cancel
/// is the one first seen after it was sent (at the latest in the first reading after the
/// drop), still running at the last reading before the drop, and not given to another cancel
/// (the earliest such start); it stopped at the first reading without it. A request that was
/// still queued when it was dropped cannot be told this way.
pub fn stops_by_timing(cancels: &[Cancel], readings: &[(f64, Vec<SlotView>)]) -> Vec<Stop> {
    struct Task {
        key: (i64, i64),
        first: f64,
        last: f64,
        gone: Option<f64>,
        decoded: u64,
    }
    let mut tasks: Vec<Task> = Vec::new();
    for (t, slots) in readings {
        for s in slots.iter().filter(|s| s.processing && s.task >= 0) {
            match tasks
                .iter_mut()
                .find(|k| k.key == (s.slot, s.task) && k.gone.is_none())
            {
                Some(k) => {
                    k.last = *t;
                    k.decoded = k.decoded.max(s.n_decoded);
                }
                None => tasks.push(Task {
                    key: (s.slot, s.task),
                    first: *t,
                    last: *t,
                    gone: None,
                    decoded: s.n_decoded,
                }),
            }
        }
        for k in tasks.iter_mut().filter(|k| k.gone.is_none() && k.last < *t) {
            k.gone = Some(*t);
        }
    }
    let mut taken = vec![false; tasks.len()];
    let mut order: Vec<usize> = (0..cancels.len()).collect();
    order.sort_by(|&a, &b| cancels[a].at.total_cmp(&cancels[b].at));
    let mut out = vec![Stop::Unknown; cancels.len()];
    for i in order {
        let c = cancels[i];
        // The last reading at or before the drop, and the first after it (a request dropped
        // right after it was sent may first show there).
        let before = readings.iter().rev().map(|(t, _)| *t).find(|t| *t <= c.at);
        let Some(before) = before else { continue };
        let after = readings
            .iter()
            .map(|(t, _)| *t)
            .find(|t| *t > c.at)
            .unwrap_or(before);
        let pick = (0..tasks.len())
            .filter(|&k| !taken[k])
            .filter(|&k| {
                let x = &tasks[k];
                x.first >= c.sent && x.first <= after && x.last >= before
            })
            .filter(|&k| tasks[k].gone.is_none_or(|g| g > c.at))
            .min_by(|&a, &b| tasks[a].first.total_cmp(&tasks[b].first));
        if let Some(k) = pick {
            taken[k] = true;
            let x = &tasks[k];
            out[i] = match x.gone {
                Some(g) => Stop::After(g - c.at, Some(x.decoded)),
                None => Stop::Never(Some(x.decoded)),
            };
        }
    }
    out
}

/// Each cancel's fate from a running-request gauge `(t, running)` in time order, given the
/// client's own count of requests in flight as `(t, +1 | −1)` events: a cancel can be timed
/// when the server ran exactly what the client had in flight at the reading before it (nothing
/// queued, nothing left over); it stopped at the first later reading where the server runs no
/// more than the client has in flight.
pub fn stops_from_running(
    cancels: &[Cancel],
    inflight: &[(f64, i64)],
    readings: &[(f64, f64)],
) -> Vec<Stop> {
    let in_flight_at = |t: f64| -> i64 {
        inflight
            .iter()
            .filter(|(at, _)| *at <= t)
            .map(|(_, d)| d)
            .sum()
    };
    cancels
        .iter()
        .map(|c| {
            let Some(&(tb, rb)) = readings.iter().rev().find(|(t, _)| *t < c.at) else {
                return Stop::Unknown;
            };
            // Just before the drop the cancelled request was still in flight.
            let before = in_flight_at(tb);
            if (rb - before as f64).abs() > 0.5 || before < 1 {
                return Stop::Unknown;
            }
            match readings
                .iter()
                .find(|(t, r)| *t > c.at && *r <= in_flight_at(*t) as f64 + 0.5)
            {
                Some((t, _)) => Stop::After(t - c.at, None),
                None => Stop::Never(None),
            }
        })
        .collect()
}

/// The [`Stopping`] summary of `stops` from `source`, sampled every `poll_s`.
pub fn stopping(source: Option<&str>, poll_s: f64, stops: &[Stop]) -> Stopping {
    let times: Vec<f64> = stops
        .iter()
        .filter_map(|s| match s {
            Stop::After(t, _) => Some(*t),
            _ => None,
        })
        .collect();
    let never = stops.iter().filter(|s| matches!(s, Stop::Never(_))).count() as u64;
    let summary = Summary::of(times.iter().copied());
    let kept = source.and_then(|_| {
        (never > 0 || !times.is_empty())
            .then(|| never > 0 || summary.p50.is_some_and(|m| m >= KEPT_GENERATING_S))
    });
    Stopping {
        source: source.map(String::from),
        poll_s,
        cancelled: stops.len() as u64,
        measured: times.len() as u64,
        never_stopped: never,
        started_after_drop: None,
        time_to_stop_s: summary,
        kept_generating: kept,
    }
}

/// The autocomplete records of one attempt, accumulated one at a time.
#[derive(Debug, Clone, Default)]
pub struct AutocompleteStats {
    shown: Vec<RequestRecord>,
    cancelled: u64,
    received: u64,
}

impl AutocompleteStats {
    /// Add one finished autocomplete request.
    pub fn add(&mut self, r: &RequestRecord) {
        if r.outcome == Outcome::Superseded {
            self.cancelled += 1;
            self.received += r.output_tokens.unwrap_or(r.chunk_arrivals.len() as u64);
        } else {
            self.shown.push(r.clone());
        }
    }

    /// `facts` (what the run measured on the server) with every record-derived number filled
    /// in from these records; the wasted share is completed against the tokens of the
    /// completed requests where the source gives no total.
    pub fn report(&self, facts: &AutocompleteReport) -> AutocompleteReport {
        let mut shown = PhaseReport::from_records(&self.shown);
        // The phase's telemetry is a fact of its window.
        shown.gpu = facts.shown.gpu.clone();
        shown.server_process = facts.shown.server_process.clone();
        shown.server_metrics = facts.shown.server_metrics.clone();
        let keystroke = Summary::of(
            self.shown
                .iter()
                .filter(|r| r.outcome.is_ok())
                .filter_map(|r| Some(r.schedule_lag.as_secs_f64() + r.ttft?.as_secs_f64())),
        );
        let completed_tokens: u64 = self
            .shown
            .iter()
            .filter(|r| r.outcome.is_ok())
            .filter_map(|r| r.output_tokens)
            .sum();
        let mut wasted = facts.wasted.clone();
        if wasted.source == "client_received" {
            wasted.tokens = Some(self.received);
        }
        if wasted.source != "server_counter" {
            wasted.generated_tokens = wasted.tokens.map(|w| w + completed_tokens);
        }
        wasted.share = match (wasted.tokens, wasted.generated_tokens) {
            (Some(w), Some(g)) if g > 0 => Some(w as f64 / g as f64),
            _ => None,
        };
        AutocompleteReport {
            sent: shown.requests + self.cancelled,
            completed: shown.ok,
            cancelled: self.cancelled,
            failed: shown.failed,
            ttft_from_keystroke_s: keystroke,
            received_by_cancelled_tokens: self.received,
            shown,
            wasted,
            ..facts.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Phase, RequestRecord};
    use std::time::Duration;

    fn slot(slot: i64, task: i64, n: u64) -> SlotView {
        SlotView {
            slot,
            task,
            processing: true,
            n_decoded: n,
            seed: None,
        }
    }

    #[test]
    fn a_slot_task_is_matched_to_its_cancel_and_timed_to_the_first_reading_without_it() {
        // Two slots, readings every 0.1 s. Task 7 (slot 0) is the cancelled request (sent at
        // 0.95, dropped at 1.25); it stays until 1.5. Task 8 (slot 1) is another request that
        // finishes at 1.3. A second cancel (sent 2.0, dropped 2.2) has a task still running at
        // the end.
        let mut r = Vec::new();
        for k in 10..=25 {
            let t = k as f64 / 10.0;
            let mut s = Vec::new();
            if (10..=14).contains(&k) {
                s.push(slot(0, 7, (k - 10) as u64 * 5));
            }
            if (1.1..1.25).contains(&t) {
                s.push(slot(1, 8, 3));
            }
            if t >= 2.05 {
                s.push(slot(1, 9, 4));
            }
            r.push((t, s));
        }
        let (stops, late) = stops_from_slots(
            &[
                Cancel {
                    sent: 0.95,
                    at: 1.25,
                    tag: None,
                },
                Cancel {
                    sent: 2.0,
                    at: 2.2,
                    tag: None,
                },
                Cancel {
                    sent: 3.0,
                    at: 3.1,
                    tag: None,
                },
            ],
            &r,
        );
        assert_eq!(late, None, "untagged: no request can be named");
        let Stop::After(t, Some(n)) = stops[0] else {
            panic!("{stops:?}")
        };
        assert!((t - 0.25).abs() < 1e-9, "gone at 1.5, dropped at 1.25: {t}");
        assert_eq!(n, 20, "n_decoded at the last reading (1.4)");
        assert_eq!(stops[1], Stop::Never(Some(4)));
        assert_eq!(stops[2], Stop::Unknown, "nothing was read after it");
    }

    #[test]
    fn infilling_counts_a_failed_request_as_a_failed_task_with_wilson_intervals() {
        let r = |id: &str, passed: bool, exact: bool| InfillResult {
            id: id.into(),
            passed,
            exact,
            error: None,
        };
        let q = InfillReport::of(
            "line",
            vec![
                r("a", true, true),
                r("b", true, false),
                r("c", false, false),
            ],
            1,
        );
        assert_eq!(
            (q.tasks, q.passed, q.exact, q.failed_requests),
            (3, 2, 1, 1)
        );
        assert!((q.pass_at_1.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        let ci = q.pass_ci.unwrap();
        assert!(ci.low < 2.0 / 3.0 && 2.0 / 3.0 < ci.high, "{ci:?}");
        assert_eq!(InfillReport::of("block", vec![], 0).pass_at_1, None);
    }

    #[test]
    fn a_tagged_cancel_is_found_by_its_seed_even_when_the_server_started_it_after_the_drop() {
        let tagged = |id: i64, task: i64, n: u64, seed: u64| SlotView {
            seed: Some(seed),
            ..slot(id, task, n)
        };
        // One slot, readings every 0.1 s from 1.0 to 3.0. Request 41 (sent 0.9, dropped 1.15)
        // runs 1.0–1.3; request 42 (sent 1.0, dropped 1.1) waited in the queue and runs
        // 1.4–2.0, started after its client left; request 43 never shows.
        let r: Vec<(f64, Vec<SlotView>)> = (10..=30)
            .map(|k| {
                let t = k as f64 / 10.0;
                let s = match k {
                    10..=13 => vec![tagged(0, 1, (k - 10) as u64, 41)],
                    14..=20 => vec![tagged(0, 2, (k - 14) as u64 * 2, 42)],
                    _ => vec![],
                };
                (t, s)
            })
            .collect();
        let c = |sent: f64, at: f64, tag: u64| Cancel {
            sent,
            at,
            tag: Some(tag),
        };
        let (stops, late) =
            stops_from_slots(&[c(0.9, 1.15, 41), c(1.0, 1.1, 42), c(1.05, 1.2, 43)], &r);
        let Stop::After(t, Some(3)) = stops[0] else {
            panic!("{stops:?}")
        };
        assert!((t - 0.25).abs() < 1e-9, "gone at 1.4, dropped at 1.15: {t}");
        let Stop::After(t, Some(12)) = stops[1] else {
            panic!("{stops:?}")
        };
        assert!((t - 1.0).abs() < 1e-9, "gone at 2.1, dropped at 1.1: {t}");
        assert_eq!(stops[2], Stop::Unknown);
        assert_eq!(late, Some(1), "42 first ran at 1.4, after its drop at 1.1");
    }

    #[test]
    fn a_running_gauge_times_a_cancel_only_when_it_ran_what_the_client_had_in_flight() {
        // Client: a request in flight from 0 to its drop at 1.0; another from 1.2 on.
        let inflight = [(0.0, 1), (1.0, -1), (1.2, 1)];
        // The server keeps running the dropped one until 1.4, then runs the new one.
        let readings: Vec<(f64, f64)> = (0..20)
            .map(|k| {
                let t = k as f64 / 10.0 + 0.05;
                let extra = if (1.2..1.4).contains(&t) { 1.0 } else { 0.0 };
                (t, 1.0 + extra)
            })
            .collect();
        let one = [Cancel {
            sent: 0.0,
            at: 1.0,
            tag: None,
        }];
        let stops = stops_from_running(&one, &inflight, &readings);
        let Stop::After(t, None) = stops[0] else {
            panic!("{stops:?}")
        };
        assert!(
            (t - 0.45).abs() < 1e-9,
            "first reading at or under in-flight: 1.45; {t}"
        );
        // A queueing server (ran 0 of the 1 in flight before the drop) cannot be timed.
        let queued: Vec<(f64, f64)> = readings.iter().map(|(t, _)| (*t, 0.0)).collect();
        assert_eq!(
            stops_from_running(&one, &inflight, &queued),
            vec![Stop::Unknown]
        );
    }

    #[test]
    fn stopping_says_when_a_server_kept_generating() {
        let fast = stopping(Some("slots"), 0.02, &[Stop::After(0.05, None); 3]);
        assert_eq!(fast.kept_generating, Some(false));
        assert_eq!((fast.cancelled, fast.measured), (3, 3));
        let slow = stopping(
            Some("slots"),
            0.02,
            &[Stop::After(0.05, None), Stop::Never(None)],
        );
        assert_eq!((slow.kept_generating, slow.never_stopped), (Some(true), 1));
        assert_eq!(stopping(None, 0.02, &[Stop::Unknown]).kept_generating, None);
    }

    #[test]
    fn superseded_requests_are_counted_apart_and_latency_from_the_keystroke_adds_the_lag() {
        let mut s = AutocompleteStats::default();
        let ms = Duration::from_millis;
        let mut done = RequestRecord::streamed("t", Phase::Autocomplete, 0, vec![ms(100), ms(120)]);
        done.schedule_lag = ms(150);
        s.add(&done);
        let cut = RequestRecord {
            outcome: Outcome::Superseded,
            output_tokens: Some(3),
            ..RequestRecord::streamed("t", Phase::Autocomplete, 1, vec![ms(90), ms(95), ms(99)])
        };
        s.add(&cut);
        let facts = AutocompleteReport {
            wasted: Wasted {
                source: "slots".into(),
                tokens: Some(8),
                ..Default::default()
            },
            ..Default::default()
        };
        let r = s.report(&facts);
        assert_eq!((r.sent, r.completed, r.cancelled, r.failed), (2, 1, 1, 0));
        assert_eq!(r.received_by_cancelled_tokens, 3);
        assert!((r.ttft_from_keystroke_s.p50.unwrap() - 0.25).abs() < 1e-9);
        assert_eq!(
            r.shown.requests, 1,
            "superseded requests are not in the latencies"
        );
        assert_eq!(
            r.wasted.generated_tokens,
            Some(10),
            "8 wasted + 2 completed"
        );
        assert!((r.wasted.share.unwrap() - 0.8).abs() < 1e-9);
    }
}
