//! The multi-turn sessions workload (`--workload sessions`): what the run knew about its
//! sessions ([`SessionsReport`]'s facts) and what its records say — per-turn latency and token
//! counts, and how much of each prompt the server took from its prompt cache, as the server
//! reported it (llama.cpp `timings.cache_n`, vLLM `usage.prompt_tokens_details.cached_tokens`)
//! or, for a server that reports none (Ollama), estimated from the prompt-evaluation rate
//! against a measured uncached rate. The findings say when a stack re-processed the history.

use super::finding::{Finding, FindingCode, push_once};
use super::phase::PhaseReport;
use crate::record::{Outcome, Phase, RequestRecord};
use crate::stats::Summary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Below this share of the reusable history served from the cache (turns 2 and later), the
/// stack is said to have re-processed the whole history.
pub const REPROCESSED_BELOW: f64 = 0.05;
/// Below this share, the cache hit rate is far below what the shared prefix allows.
pub const FAR_BELOW: f64 = 0.5;
/// A later turn that took less than this share of its history from the cache re-read part of
/// the conversation (a prefix cache that kept it serves all but the last token or block).
pub const HISTORY_KEPT: f64 = 0.95;
/// A prefix cache that counts in whole blocks (vLLM: 16 tokens by default, and never the
/// prompt's last token) can serve up to one block less than a history it kept whole; a turn
/// short of its history by fewer tokens than a block missed nothing, however short the history.
/// The block assumed where the server does not say its own (`cache_block_tokens`).
pub const CACHE_BLOCK_TOKENS: u64 = 16;
/// A turn whose prompt the server counted below this share of the history it resends (the
/// previous prompt and reply; a re-tokenised reply may differ by a few tokens) was cut.
pub const HISTORY_CUT_BELOW: f64 = 0.9;
/// A first turn counted below this share of the synthetic context it sends (sized in the
/// server's tokens, within about 15 %) was cut: the ladder's rule for estimates.
pub const CONTEXT_CUT_BELOW: f64 = super::ladder::TRUNCATED_BELOW;

/// The sessions workload of one target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SessionsReport {
    /// Where the sessions came from: `repo:DIR`, `agent:DIR`, `file:PATH` or `sharegpt:PATH`.
    pub source: String,
    /// How sessions were offered: `sessions:N` (closed loop) or `rate:R:…` (new sessions per
    /// second, open loop).
    pub load: String,
    /// Sessions at once (closed loop); `null` for a rate.
    pub concurrency: Option<u32>,
    /// Think time between a reply and the next user turn (`exp:3`, `const:2`, `uniform:1:5`).
    pub think_time: String,
    /// Tokens of shared context each synthetic session starts with; `null` for a file.
    pub context_tokens: Option<u32>,
    /// Sessions the source held (the run may end before all are started).
    pub sessions: u64,
    /// Sessions started (from the records).
    pub started: u64,
    /// Sessions whose every turn was answered.
    pub completed: u64,
    /// Sessions that ended at a failed turn (the conversation cannot go on without its reply).
    pub ended_early: u64,
    /// Sessions the end of the run (`--duration`) cut short.
    pub cut_by_end: u64,
    /// Every turn's request, as one phase.
    pub turns: PhaseReport,
    /// The same, by turn index.
    pub by_turn: Vec<TurnStats>,
    /// Prompt-cache use over every turn.
    pub cache: CacheUse,
    /// The server's parallel slots (the length of llama.cpp's `/slots`), where it says.
    pub server_slots: Option<u32>,
    /// The server's prompt-evaluation rate on a prompt it could not have cached, tok/s: the
    /// basis of an `estimated` cache count.
    pub uncached_prefill_tok_s: Option<f64>,
    /// vLLM's own prefix-cache counters over the phase (`vllm:prefix_cache_queries_total`,
    /// `vllm:prefix_cache_hits_total`, both in tokens); `null` when the server has none.
    #[serde(default)]
    pub server_prefix_cache: Option<PrefixCounters>,
    /// Tokens per KV-cache block where the server says (vLLM `vllm:cache_config_info`
    /// `block_size`): a turn short of its history by less than one block missed nothing.
    /// `null`: [`CACHE_BLOCK_TOKENS`] is assumed.
    #[serde(default)]
    pub cache_block_tokens: Option<u64>,
    /// Turns the server refused as longer than its context.
    pub context_exceeded: u64,
    /// The longest prompt a refusal named, tokens.
    pub longest_refused_tokens: Option<u64>,
    /// Turns whose prompt the server counted shorter than what they send — a first turn under
    /// 75 % of its synthetic context, a later one under 90 % of its history (the previous
    /// prompt and reply) or no longer than the previous turn: the server cut the conversation
    /// (Ollama at `num_ctx`).
    #[serde(default)]
    pub truncated_turns: u64,
    /// The longest prompt of those turns, as the server counted it.
    #[serde(default)]
    pub truncated_to: Option<u64>,
    /// What the numbers show about the cache and the context, as typed findings.
    #[serde(default)]
    pub findings: Vec<super::finding::Finding>,
}

/// A server's prefix-cache counters over a phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PrefixCounters {
    /// Prompt tokens looked up in the cache.
    pub queries: f64,
    /// Of those, found.
    pub hits: f64,
    /// `hits / queries` (vLLM's own prefix-cache hit rate, every request of the phase).
    pub hit_rate: Option<f64>,
}

impl PrefixCounters {
    /// The counters' growth between two readings.
    pub fn between(queries: (f64, f64), hits: (f64, f64)) -> PrefixCounters {
        let (q, h) = (queries.1 - queries.0, hits.1 - hits.0);
        PrefixCounters {
            queries: q,
            hits: h,
            hit_rate: (q > 0.0).then(|| h / q),
        }
    }
}

/// One turn index over every session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TurnStats {
    /// Turn, from 1.
    pub turn: u32,
    /// Requests of this turn (`ok` + failed).
    pub requests: u64,
    /// Answered.
    pub ok: u64,
    /// Time to first token of the answered, s.
    pub ttft_s: Summary,
    /// Prompt tokens as the server counted them.
    pub input_tokens: Summary,
    /// Prompt tokens taken from the cache (see the phase's `cache.source`).
    pub cached_tokens: Summary,
    /// Output tokens.
    pub output_tokens: Summary,
    /// Cached / prompt tokens, over the turn's requests with a count.
    pub cache_hit_rate: Option<f64>,
    /// Cached tokens / the session's previous prompt and reply (what its own history
    /// allows), turns 2 and later.
    pub history_reuse: Option<f64>,
}

/// Prompt-cache use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CacheUse {
    /// `server` (the server's own count), `estimated` (prompt-eval rate against the uncached
    /// rate) or `null` (the server said nothing).
    pub source: Option<String>,
    /// Requests with a count.
    pub requests: u64,
    /// Their prompt tokens.
    pub prompt_tokens: u64,
    /// Of those, cached.
    pub cached_tokens: u64,
    /// `cached_tokens / prompt_tokens`.
    pub hit_rate: Option<f64>,
    /// Turns 2 and later: the tokens of each session's previous prompt and reply, which a
    /// prefix cache could have kept.
    pub reusable_tokens: u64,
    /// Turns 2 and later: their cached tokens.
    pub reused_tokens: u64,
    /// `reused_tokens / reusable_tokens`.
    pub history_reuse: Option<f64>,
    /// Turns 2 and later with a cached count.
    #[serde(default)]
    pub later_turns: u64,
    /// Of those, turns that took less than 95 % of their history, and at least one cache block
    /// ([`CACHE_BLOCK_TOKENS`]) less, from the cache: the server re-read part of the
    /// conversation (its slot or cache no longer held it).
    #[serde(default)]
    pub history_misses: u64,
    /// Chat over a repository: first turns sent after another session's first turn had ended
    /// (so its shared context was in the server's cache by then).
    #[serde(default)]
    pub context_turns: u64,
    /// Of those, turns that took less than half of the shared context from the cache: the
    /// server read it again for that session.
    #[serde(default)]
    pub context_misses: u64,
}

/// The session records of one attempt, accumulated one at a time.
#[derive(Debug, Clone, Default)]
pub struct SessionsStats {
    records: Vec<RequestRecord>,
}

/// How many tokens of `r`'s prompt came from the cache, and how that is known. Where the server
/// counts cached tokens (`server_counts`: another turn of the phase carried a count), a counted
/// prompt without one had none cached: vLLM leaves `prompt_tokens_details` out at 0.
fn cached_of(
    r: &RequestRecord,
    uncached_rate: Option<f64>,
    server_counts: bool,
) -> Option<(u64, &'static str)> {
    if let Some(c) = r.cached_prompt_tokens {
        return Some((c, "server"));
    }
    if server_counts && r.input_tokens.is_some() {
        return Some((0, "server"));
    }
    let t = r.server_timings.as_ref()?;
    let (n, d, rate) = (t.prompt_tokens?, t.prompt?.as_secs_f64(), uncached_rate?);
    let evaluated = (d * rate).round().min(n as f64).max(0.0) as u64;
    Some((n - evaluated, "estimated"))
}

/// Of `output` tokens, those of the answer: servers count reasoning and answer tokens
/// together, so the reasoning's share is the share of its chunks in the stream (a chunk is
/// usually one token). Reasoning is not resent with the history.
fn answer_tokens(r: &RequestRecord, output: u64) -> u64 {
    let chunks = r.chunk_arrivals.len() as u64;
    if r.reasoning_chunks == 0 || chunks == 0 {
        return output;
    }
    let answer = chunks.saturating_sub(r.reasoning_chunks);
    (output as f64 * answer as f64 / chunks as f64).round() as u64
}

/// Of the first turns sent after another session's first turn had ended (its share of the
/// `context` tokens every session starts with was cached by then), how many there were and how
/// many took under half of the context from the cache (the context is sized within about 15 %).
fn shared_context_misses(
    records: &[RequestRecord],
    context: u32,
    rate: Option<f64>,
    server_counts: bool,
) -> (u64, u64) {
    let firsts: Vec<&RequestRecord> = records
        .iter()
        .filter(|r| r.outcome.is_ok() && r.session.is_some_and(|s| s.turn == 1))
        .collect();
    // The two earliest ends of a first turn, with their sessions: a turn came after another
    // session's when the earliest end that is not its own is no later than its send.
    let mut earliest: [(f64, Option<u64>); 2] = [(f64::INFINITY, None); 2];
    for r in &firsts {
        let end = (
            r.sent_unix_s + r.end.as_secs_f64(),
            r.session.map(|s| s.session),
        );
        if end.0 < earliest[0].0 {
            earliest = [end, earliest[0]];
        } else if end.0 < earliest[1].0 {
            earliest[1] = end;
        }
    }
    let (mut turns, mut misses) = (0, 0);
    for r in &firsts {
        let own = r.session.map(|s| s.session);
        let other = if earliest[0].1 == own {
            earliest[1]
        } else {
            earliest[0]
        };
        let after_another = other.0 <= r.sent_unix_s;
        if let (true, Some((c, _))) = (after_another, cached_of(r, rate, server_counts)) {
            turns += 1;
            if (c as f64) < FAR_BELOW * f64::from(context) {
                misses += 1;
            }
        }
    }
    (turns, misses)
}

/// Whether the server cut a turn it counted `n` prompt tokens: a first turn counted under
/// [`CONTEXT_CUT_BELOW`] of the shared context it sends, or a later turn counted under
/// [`HISTORY_CUT_BELOW`] of the history it resends (`history`: the previous prompt and answer)
/// or no longer than the previous turn (`previous`) — a conversation only grows, so a prompt
/// that stopped growing is being cut at the same length (Ollama at `num_ctx`).
fn cut(
    n: u64,
    turn: u32,
    history: Option<u64>,
    previous: Option<u64>,
    shared_context: Option<u32>,
) -> bool {
    match (turn, history, previous) {
        (1, _, _) => shared_context.is_some_and(|k| (n as f64) < CONTEXT_CUT_BELOW * f64::from(k)),
        (_, Some(h), Some(p)) => (n as f64) < HISTORY_CUT_BELOW * h as f64 || n <= p,
        _ => false,
    }
}

impl SessionsStats {
    /// Add one finished session turn.
    pub fn add(&mut self, r: &RequestRecord) {
        // A sessions phase's turns, or a team mix's chat or agent turns.
        if r.phase == Phase::Session || r.session.is_some() {
            self.records.push(r.clone());
        }
    }

    /// `facts` with every record-derived number filled in.
    pub fn report(&self, facts: &SessionsReport) -> SessionsReport {
        let rate = facts.uncached_prefill_tok_s;
        // The server counts cached tokens when a turn carried a count, or when vLLM's own
        // counters found nothing cached over the phase (then no turn carries one, whether or
        // not `--enable-prompt-tokens-details` is on, and each had none cached).
        let server_counts = self
            .records
            .iter()
            .any(|r| r.cached_prompt_tokens.is_some())
            || facts
                .server_prefix_cache
                .as_ref()
                .is_some_and(|p| p.queries > 0.0 && p.hits == 0.0);
        // A synthetic session's first turn sends its shared context (sized in the server's
        // tokens, within about 15 %).
        let shared_context = facts
            .context_tokens
            .filter(|_| facts.source.starts_with("repo") || facts.source.starts_with("agent"));
        let block = facts
            .cache_block_tokens
            .unwrap_or(CACHE_BLOCK_TOKENS)
            .max(1);
        let mut turns = PhaseReport::from_records(&self.records);
        turns.gpu = facts.turns.gpu.clone();
        turns.server_process = facts.turns.server_process.clone();
        turns.server_metrics = facts.turns.server_metrics.clone();

        // Each session's turns in order.
        let mut by_session: BTreeMap<u64, Vec<&RequestRecord>> = BTreeMap::new();
        for r in &self.records {
            if let Some(s) = r.session {
                by_session.entry(s.session).or_default().push(r);
            }
        }
        let mut sources: Vec<&'static str> = Vec::new();
        let mut per_turn: BTreeMap<u32, TurnAcc> = BTreeMap::new();
        let mut cache = CacheUse::default();
        let mut ended_early = 0;
        let (mut exceeded, mut longest) = (0u64, None::<u64>);
        let (mut truncated, mut truncated_to) = (0u64, None::<u64>);
        for turns_of in by_session.values_mut() {
            turns_of.sort_by_key(|r| r.session.map(|s| s.turn));
            // A session Ctrl-C stopped was cut by the end of the run (the runner counts it).
            if turns_of
                .last()
                .is_some_and(|r| !r.outcome.is_ok() && r.outcome != Outcome::Cancelled)
            {
                ended_early += 1;
            }
            let mut previous: Option<u64> = None;
            let mut previous_counted: Option<u64> = None;
            for r in turns_of.iter() {
                let turn = r.session.map_or(1, |s| s.turn);
                let acc = per_turn.entry(turn).or_default();
                acc.records.push(r);
                if r.outcome == Outcome::ContextExceeded {
                    exceeded += 1;
                    longest = longest.max(r.input_tokens);
                }
                if let (true, Some(n)) = (r.outcome.is_ok(), r.input_tokens)
                    && cut(n, turn, previous, previous_counted, shared_context)
                {
                    truncated += 1;
                    truncated_to = truncated_to.max(Some(n));
                }
                previous_counted = r.input_tokens.filter(|_| r.outcome.is_ok());
                if let (true, Some((c, src))) =
                    (r.outcome.is_ok(), cached_of(r, rate, server_counts))
                {
                    sources.push(src);
                    let prompt = r.input_tokens.unwrap_or(0).max(c);
                    acc.cached.push(c as f64);
                    acc.prompt_tokens += prompt;
                    acc.cached_tokens += c;
                    cache.requests += 1;
                    cache.prompt_tokens += prompt;
                    cache.cached_tokens += c;
                    if let Some(h) = previous {
                        acc.reusable += h;
                        acc.reused += c.min(h);
                        cache.reusable_tokens += h;
                        cache.reused_tokens += c.min(h);
                        cache.later_turns += 1;
                        if (c as f64) < HISTORY_KEPT * h as f64 && h.saturating_sub(c) >= block {
                            cache.history_misses += 1;
                        }
                    }
                }
                // The next turn resends this prompt and the answer (not the reasoning).
                previous = match (r.outcome.is_ok(), r.input_tokens, r.output_tokens) {
                    (true, Some(i), Some(o)) => Some(i + answer_tokens(r, o)),
                    _ => None,
                };
            }
        }
        if let Some(k) = facts
            .context_tokens
            .filter(|_| facts.source.starts_with("repo"))
        {
            (cache.context_turns, cache.context_misses) =
                shared_context_misses(&self.records, k, rate, server_counts);
        }
        let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        cache.source = if sources.contains(&"server") {
            Some("server".into())
        } else if sources.is_empty() {
            None
        } else {
            Some("estimated".into())
        };
        cache.hit_rate = ratio(cache.cached_tokens, cache.prompt_tokens);
        cache.history_reuse = ratio(cache.reused_tokens, cache.reusable_tokens);
        let by_turn = per_turn
            .iter()
            .map(|(turn, a)| {
                let ok: Vec<&&RequestRecord> =
                    a.records.iter().filter(|r| r.outcome.is_ok()).collect();
                TurnStats {
                    turn: *turn,
                    requests: a.records.len() as u64,
                    ok: ok.len() as u64,
                    ttft_s: Summary::of(ok.iter().filter_map(|r| Some(r.ttft?.as_secs_f64()))),
                    input_tokens: Summary::of(
                        ok.iter().filter_map(|r| Some(r.input_tokens? as f64)),
                    ),
                    cached_tokens: Summary::of(a.cached.iter().copied()),
                    output_tokens: Summary::of(
                        ok.iter().filter_map(|r| Some(r.output_tokens? as f64)),
                    ),
                    cache_hit_rate: ratio(a.cached_tokens, a.prompt_tokens),
                    history_reuse: ratio(a.reused, a.reusable),
                }
            })
            .collect();
        let started = by_session.len() as u64;
        let mut r = SessionsReport {
            started,
            ended_early,
            completed: started.saturating_sub(ended_early + facts.cut_by_end),
            turns,
            by_turn,
            cache,
            context_exceeded: exceeded,
            longest_refused_tokens: longest,
            truncated_turns: truncated,
            truncated_to,
            ..facts.clone()
        };
        // The facts' findings are the engine's; a version-1 report's sentences (text findings)
        // are said again, typed, by the records.
        let mut all = Vec::new();
        let engine = facts
            .findings
            .iter()
            .filter(|f| f.code != FindingCode::Text);
        for f in engine.cloned().chain(findings(&r)) {
            push_once(&mut all, f);
        }
        r.findings = all;
        r
    }
}

#[derive(Default)]
struct TurnAcc<'a> {
    records: Vec<&'a RequestRecord>,
    cached: Vec<f64>,
    prompt_tokens: u64,
    cached_tokens: u64,
    reusable: u64,
    reused: u64,
}

/// What the numbers show about the cache and the context, as findings.
pub fn findings(r: &SessionsReport) -> Vec<Finding> {
    let mut out = Vec::new();
    let c = &r.cache;
    match (c.source.as_deref(), c.history_reuse) {
        (None, _) if r.turns.ok > 0 => out.push(Finding::new(FindingCode::CacheUnknown)),
        (Some(_), Some(h)) if h < REPROCESSED_BELOW => out.push(
            Finding::new(FindingCode::HistoryReprocessed)
                .with("reused", c.reused_tokens)
                .with("reusable", c.reusable_tokens)
                .with("pct", format!("{:.1}", h * 100.0)),
        ),
        (Some(_), Some(h)) if h < FAR_BELOW => out.push(
            Finding::new(FindingCode::HistoryReuseLow)
                .with("pct", format!("{:.0}", h * 100.0))
                .with("reused", c.reused_tokens)
                .with("reusable", c.reusable_tokens),
        ),
        _ => {}
    }
    let missed = c.later_turns > 0 && 2 * c.history_misses > c.later_turns;
    match (r.server_slots, r.concurrency) {
        (Some(slots), Some(n)) if n > slots && missed => out.push(
            Finding::new(FindingCode::CacheThrashing)
                .with("sessions", n)
                .with("slots", slots)
                .with("misses", c.history_misses)
                .with("later", c.later_turns),
        ),
        _ if missed && c.history_reuse.is_some_and(|h| h >= FAR_BELOW) => out.push(
            Finding::new(FindingCode::HistoryReread)
                .with("misses", c.history_misses)
                .with("later", c.later_turns),
        ),
        _ => {}
    }
    if c.context_turns > 0 && 2 * c.context_misses > c.context_turns {
        out.push(
            Finding::new(FindingCode::ContextNotShared)
                .with("misses", c.context_misses)
                .with("turns", c.context_turns)
                .with("tokens", r.context_tokens.unwrap_or(0)),
        );
    }
    // The cache findings above rest on an estimate where the server states no cached count:
    // said once, after them.
    if c.source.as_deref() == Some("estimated") && !out.is_empty() {
        out.push(Finding::new(FindingCode::CacheEstimated).with(
            "rate",
            format!("{:.0}", r.uncached_prefill_tok_s.unwrap_or(0.0)),
        ));
    }
    if r.context_exceeded > 0 {
        out.push(
            match r.longest_refused_tokens {
                Some(n) => Finding::new(FindingCode::TurnsRefusedUpTo).with("tokens", n),
                None => Finding::new(FindingCode::TurnsRefused),
            }
            .with("n", r.context_exceeded),
        );
    }
    if r.truncated_turns > 0 {
        out.push(
            Finding::new(FindingCode::TurnsTruncated)
                .with("n", r.truncated_turns)
                .with("tokens", r.truncated_to.unwrap_or(0)),
        );
    }
    if r.cut_by_end > 0 {
        out.push(Finding::new(FindingCode::SessionsCut).with("n", r.cut_by_end));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ServerTimings, SessionTurn};
    use std::time::Duration;

    fn turn(session: u64, turn: u32, input: u64, cached: Option<u64>, out: u64) -> RequestRecord {
        let ms = |m: u64| Duration::from_millis(m);
        RequestRecord {
            input_tokens: Some(input),
            cached_prompt_tokens: cached,
            session: Some(SessionTurn { session, turn }),
            output_tokens: Some(out),
            ..RequestRecord::streamed(
                "t",
                Phase::Session,
                session * 10 + u64::from(turn),
                vec![ms(100), ms(120)],
            )
        }
    }

    #[test]
    fn history_reuse_is_cached_over_the_previous_prompt_and_reply() {
        let mut s = SessionsStats::default();
        // Session 0: 100 + 20 → turn 2 of 150 with 119 cached; turn 3 of 200 with 169 cached.
        for r in [
            turn(0, 1, 100, Some(0), 20),
            turn(0, 2, 150, Some(119), 30),
            turn(0, 3, 200, Some(169), 10),
        ] {
            s.add(&r);
        }
        let r = s.report(&SessionsReport::default());
        assert_eq!((r.started, r.completed, r.ended_early), (1, 1, 0));
        assert_eq!(r.cache.source.as_deref(), Some("server"));
        assert_eq!((r.cache.prompt_tokens, r.cache.cached_tokens), (450, 288));
        assert_eq!((r.cache.reusable_tokens, r.cache.reused_tokens), (300, 288));
        assert_eq!(r.by_turn.len(), 3);
        assert_eq!(r.by_turn[1].cache_hit_rate, Some(119.0 / 150.0));
        assert_eq!(r.by_turn[1].history_reuse, Some(119.0 / 120.0));
        assert!(
            super::super::finding::en(&r.findings).is_empty(),
            "{:?}",
            super::super::finding::en(&r.findings)
        );
    }

    #[test]
    fn a_turn_without_vllms_cached_count_had_none_cached() {
        // vLLM leaves `prompt_tokens_details` out when nothing was cached: turn 2 of session 1
        // missed, and counts as 0 of its 150, not as unknown.
        let mut s = SessionsStats::default();
        for r in [
            turn(0, 1, 100, None, 20),
            turn(0, 2, 150, Some(112), 30),
            turn(1, 1, 100, None, 20),
            turn(1, 2, 150, None, 30),
        ] {
            s.add(&r);
        }
        let r = s.report(&SessionsReport::default());
        assert_eq!(r.cache.source.as_deref(), Some("server"));
        assert_eq!((r.cache.prompt_tokens, r.cache.cached_tokens), (500, 112));
        assert_eq!((r.cache.reusable_tokens, r.cache.reused_tokens), (240, 112));
        assert_eq!(r.by_turn[1].cache_hit_rate, Some(112.0 / 300.0));
    }

    #[test]
    fn vllm_counters_with_no_hits_make_every_turn_uncached() {
        // No turn carried a count; vLLM's counters looked up 500 tokens and found none.
        let mut s = SessionsStats::default();
        for r in [
            turn(0, 1, 100, None, 20),
            turn(0, 2, 150, None, 30),
            turn(1, 1, 100, None, 20),
            turn(1, 2, 150, None, 30),
        ] {
            s.add(&r);
        }
        let mut facts = SessionsReport {
            server_prefix_cache: Some(PrefixCounters::between((0.0, 500.0), (0.0, 0.0))),
            ..Default::default()
        };
        let r = s.report(&facts);
        assert_eq!(r.cache.source.as_deref(), Some("server"));
        assert_eq!(r.cache.history_reuse, Some(0.0));
        assert!(
            super::super::finding::en(&r.findings)[0].starts_with("re-processed the whole history")
        );
        // Hits on the counters but no per-turn count: which turns hit is unknown.
        facts.server_prefix_cache = Some(PrefixCounters::between((0.0, 500.0), (0.0, 96.0)));
        assert_eq!(s.report(&facts).cache.source, None);
    }

    #[test]
    fn a_history_short_of_one_cache_block_was_kept() {
        // vLLM counts cached tokens in whole 16-token blocks: a kept history of 120 tokens
        // (prompt 100 + reply 20) reads as 112 cached (93 %), and is no miss; 96 of 120 is.
        let mut s = SessionsStats::default();
        for r in [
            turn(0, 1, 100, Some(0), 20),
            turn(0, 2, 150, Some(112), 20),
            turn(1, 1, 100, Some(0), 20),
            turn(1, 2, 150, Some(96), 20),
        ] {
            s.add(&r);
        }
        let r = s.report(&SessionsReport::default());
        assert_eq!((r.cache.history_misses, r.cache.later_turns), (1, 2));
        // A server that says its blocks are 32 tokens: 96 of 120 is a block short, no miss.
        let r = s.report(&SessionsReport {
            cache_block_tokens: Some(32),
            ..Default::default()
        });
        assert_eq!((r.cache.history_misses, r.cache.later_turns), (0, 2));
    }

    #[test]
    fn the_resent_history_leaves_out_the_reasoning_tokens() {
        // Turn 1: 80 output tokens over 40 chunks (two a chunk), 30 of them reasoning → 20
        // answer tokens resent (not 80 − 30); turn 2 reuses all 100 + 20 of its history.
        let mut first = turn(0, 1, 100, Some(0), 80);
        first.chunk_arrivals = (1..=40).map(Duration::from_millis).collect();
        first.reasoning_chunks = 30;
        let mut s = SessionsStats::default();
        s.add(&first);
        s.add(&turn(0, 2, 150, Some(120), 20));
        let r = s.report(&SessionsReport::default());
        assert_eq!((r.cache.reusable_tokens, r.cache.reused_tokens), (120, 120));
        assert_eq!(r.cache.history_misses, 0);
    }

    #[test]
    fn a_stack_that_caches_nothing_is_said_to_reprocess_the_history() {
        let mut s = SessionsStats::default();
        for k in 0..3 {
            s.add(&turn(k, 1, 100, Some(0), 20));
            s.add(&turn(k, 2, 150, Some(0), 20));
        }
        let facts = SessionsReport {
            concurrency: Some(3),
            server_slots: Some(1),
            ..Default::default()
        };
        let r = s.report(&facts);
        assert_eq!(r.cache.history_reuse, Some(0.0));
        assert!(
            super::super::finding::en(&r.findings)[0].starts_with("re-processed the whole history"),
            "{:?}",
            super::super::finding::en(&r.findings)
        );
        assert!(
            super::super::finding::en(&r.findings)[1].contains("cache thrashing"),
            "{:?}",
            super::super::finding::en(&r.findings)
        );
    }

    #[test]
    fn a_slot_that_kept_only_the_shared_context_is_thrashing() {
        // Measured on llama.cpp, 3 sessions on 1 slot over a 296-token shared context: each
        // later turn found only the context cached, not its own conversation.
        let mut s = SessionsStats::default();
        for k in 0..3 {
            s.add(&turn(k, 1, 322, Some(296), 24));
            s.add(&turn(k, 2, 375, Some(296), 24));
            s.add(&turn(k, 3, 429, Some(296), 24));
        }
        let r = s.report(&SessionsReport {
            concurrency: Some(3),
            server_slots: Some(1),
            ..Default::default()
        });
        assert!(r.cache.history_reuse.unwrap() > FAR_BELOW, "{:?}", r.cache);
        assert_eq!((r.cache.history_misses, r.cache.later_turns), (6, 6));
        assert!(
            super::super::finding::en(&r.findings)
                .iter()
                .any(|w| w.contains("cache thrashing")),
            "{:?}",
            super::super::finding::en(&r.findings)
        );
    }

    #[test]
    fn ollama_reuse_is_estimated_from_the_prompt_eval_time() {
        // The fixture `ollama_chat_cached_turn`: 65 prompt tokens evaluated in 13.871 ms, at an
        // uncached 1370 tok/s: 19 evaluated, 46 reused.
        let mut r = turn(0, 2, 65, None, 10);
        r.server_timings = Some(ServerTimings {
            prompt_tokens: Some(65),
            prompt: Some(Duration::from_secs_f64(0.013871)),
            ..Default::default()
        });
        assert_eq!(cached_of(&r, Some(1370.0), false), Some((46, "estimated")));
        assert_eq!(cached_of(&r, None, false), None);
        let mut s = SessionsStats::default();
        s.add(&r);
        let rep = s.report(&SessionsReport {
            uncached_prefill_tok_s: Some(1370.0),
            ..Default::default()
        });
        assert_eq!(rep.cache.source.as_deref(), Some("estimated"));
        assert_eq!(rep.cache.cached_tokens, 46);
    }

    #[test]
    fn a_turn_counted_shorter_than_its_history_was_cut() {
        let mut s = SessionsStats::default();
        s.add(&turn(0, 1, 1500, None, 400));
        // Ollama at num_ctx 2048: turn 2 resends a history of 1,900 and is counted 2,048 —
        // cut, but above 90 % of its history, so not caught; turn 3 resends 2,048 + 400 and is
        // counted 2,048 again (84 %, and no longer than turn 2): the one turn caught.
        s.add(&turn(0, 2, 2048, None, 400));
        s.add(&turn(0, 3, 2048, None, 400));
        let r = s.report(&SessionsReport::default());
        assert_eq!((r.truncated_turns, r.truncated_to), (1, Some(2048)));
        assert!(
            super::super::finding::en(&r.findings)
                .iter()
                .any(|w| w.contains("cut the conversation")),
            "{:?}",
            super::super::finding::en(&r.findings)
        );
    }

    #[test]
    fn an_agent_context_cut_at_num_ctx_is_found_on_every_turn() {
        // 8,000 tokens of agent context on Ollama at num_ctx 4096: every turn is counted 4096,
        // short replies (50) keep each above 90 % of its history; the first turn is under 75 %
        // of its context, the later ones stopped growing.
        let mut s = SessionsStats::default();
        for t in 1..=3 {
            s.add(&turn(0, t, 4096, None, 50));
        }
        let facts = SessionsReport {
            source: "agent:/src".into(),
            context_tokens: Some(8000),
            ..Default::default()
        };
        let r = s.report(&facts);
        assert_eq!((r.truncated_turns, r.truncated_to), (3, Some(4096)));
        // Read whole: the context (within 15 %), then growing turns.
        let mut s = SessionsStats::default();
        for (t, n) in [(1, 7100), (2, 7400), (3, 7700)] {
            s.add(&turn(0, t, n, None, 50));
        }
        assert_eq!(s.report(&facts).truncated_turns, 0);
    }

    #[test]
    fn a_hit_rate_far_below_the_shared_prefix_is_a_finding() {
        // Later turns kept 40 % of their history: far below, not re-processed wholly.
        let mut s = SessionsStats::default();
        for k in 0..2 {
            s.add(&turn(k, 1, 100, Some(0), 20));
            s.add(&turn(k, 2, 150, Some(48), 20));
        }
        let r = s.report(&SessionsReport::default());
        assert_eq!(r.cache.history_reuse, Some(0.4));
        assert!(
            super::super::finding::en(&r.findings)[0].starts_with("the cache hit rate is far below what the shared prefix allows: turns 2 and later reused 40 %"),
            "{:?}",
            super::super::finding::en(&r.findings)
        );
        // Without slot counts, the misses are said plainly only above that line.
        assert!(
            !super::super::finding::en(&r.findings)
                .iter()
                .any(|w| w.contains("thrashing"))
        );
    }

    #[test]
    fn sessions_that_reread_the_shared_context_are_a_finding() {
        // Three sessions one after another over a 1,000-token repository context: the second
        // found it cached, the third read it again.
        let first = |k: u64, cached: u64, at: f64| RequestRecord {
            sent_unix_s: at,
            ..turn(k, 1, 1040, Some(cached), 20)
        };
        let mut s = SessionsStats::default();
        for r in [first(0, 0, 0.0), first(1, 1000, 10.0), first(2, 10, 20.0)] {
            s.add(&r);
        }
        let facts = SessionsReport {
            source: "repo:/src".into(),
            context_tokens: Some(1000),
            ..Default::default()
        };
        let r = s.report(&facts);
        assert_eq!((r.cache.context_turns, r.cache.context_misses), (2, 1));
        assert!(
            super::super::finding::en(&r.findings)
                .iter()
                .all(|w| !w.contains("first turns")),
            "{:?}",
            super::super::finding::en(&r.findings)
        );
        // The second misses too: most later first turns re-read the context.
        let mut s = SessionsStats::default();
        for r in [first(0, 0, 0.0), first(1, 4, 10.0), first(2, 10, 20.0)] {
            s.add(&r);
        }
        let r = s.report(&facts);
        assert_eq!((r.cache.context_turns, r.cache.context_misses), (2, 2));
        assert!(
            super::super::finding::en(&r.findings)
                .iter()
                .any(|w| w.contains("on 2 of 2 first turns")),
            "{:?}",
            super::super::finding::en(&r.findings)
        );
        // Sessions started together (the first turns overlap) are not judged.
        let mut s = SessionsStats::default();
        for r in [first(0, 0, 0.0), first(1, 0, 0.01)] {
            s.add(&r);
        }
        assert_eq!(s.report(&facts).cache.context_turns, 0);
    }

    #[test]
    fn a_refused_turn_ends_its_session_and_is_counted() {
        let mut s = SessionsStats::default();
        s.add(&turn(0, 1, 100, Some(0), 20));
        s.add(&RequestRecord {
            input_tokens: Some(9120),
            session: Some(SessionTurn {
                session: 0,
                turn: 2,
            }),
            ..RequestRecord::failed(
                "t",
                Phase::Session,
                1,
                Outcome::ContextExceeded,
                Duration::ZERO,
            )
        });
        let r = s.report(&SessionsReport::default());
        assert_eq!((r.ended_early, r.completed, r.context_exceeded), (1, 0, 1));
        assert_eq!(r.longest_refused_tokens, Some(9120));
        assert!(
            super::super::finding::en(&r.findings)
                .iter()
                .any(|w| w.contains("up to 9120 prompt tokens")),
            "{:?}",
            super::super::finding::en(&r.findings)
        );
        assert_eq!(r.turns.failures.get("context_exceeded"), Some(&1));
    }
}
