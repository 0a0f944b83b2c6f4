//! The capacity search's pure half: what one developer of a team generates ([`Developer`]),
//! the objectives each class of work is held to ([`ClassSlos`]), a step's verdict from its
//! records ([`judge`]), which team size to measure next ([`next_size`]), and the capacity
//! with its interval from every step measured ([`estimate`]).
//!
//! **The team model.** A developer spends a share of their time in each class (typing with
//! autocomplete on, in a chat session, running an agent). Each developer is, per class, an
//! alternating on/off process with exponential periods: on for a mean `on_s`, off for a mean
//! `on_s · (1 − share) / share`. By Little's law `N` developers keep `N · share` of them active
//! in the class on average; because the periods are exponential, a developer starts a step on
//! with probability `share`, so every step is in that steady state from its first second.
//!
//! **The verdict.** A class meets its objectives at a step when the 90th percentile of its
//! latency metrics and its failure rate are within their limits; a step *meets the SLOs* when
//! every class judged does. Each check is a ratio (value / limit, ≤ 1 meets); a step's margin
//! is its worst ratio. A class with fewer than [`MIN_SAMPLES`] answered requests has no
//! percentile to judge: the runner extends the step, and a class still short after the last
//! extension is reported as not judged rather than guessed.
//!
//! **The search and its interval.** Sizes 1, 2, 4, … until one fails, then bisection between
//! the last size that met the SLOs and the first that did not, then each boundary size is
//! measured until it has `repeats` measurements. The capacity is the largest measured size
//! whose fitted margin is ≤ 1, the fit being an isotonic (monotone non-decreasing) regression
//! of log margin on team size; its 95 % interval is a percentile bootstrap that resamples
//! each size's repeats and refits (a size's repeats that disagree widen it). Between two
//! measured sizes the capacity is only bracketed, and the interval says so.

use super::phase::PhaseReport;
use crate::spec::Class;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// Answered requests a class needs in a step before its 90th percentile is judged.
pub const MIN_SAMPLES: u64 = 10;

/// Bootstrap resamples for the capacity interval.
const RESAMPLES: usize = 2_000;

/// The bootstrap's seed: a report is reproducible from its steps.
const SEED: u64 = 0x5EB0_CA9A;

/// What one developer generates: the share of their time in each class and how long one
/// stretch of it lasts on average.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Developer {
    /// Share of a developer's time spent typing with autocomplete on (0–1).
    #[serde(default)]
    pub typing: f64,
    /// Share spent in a chat session over the repository.
    #[serde(default)]
    pub chat: f64,
    /// Share spent running an agent.
    #[serde(default)]
    pub agent: f64,
    /// Share spent sending the run's prompt set back to back (a custom class; 0 by default).
    #[serde(default)]
    pub prompts: f64,
    /// Mean length of one stretch of typing, s.
    #[serde(default = "default_typing_on")]
    pub typing_on_s: f64,
    /// Mean length of one chat stretch, s.
    #[serde(default = "default_chat_on")]
    pub chat_on_s: f64,
    /// Mean length of one agent run, s.
    #[serde(default = "default_agent_on")]
    pub agent_on_s: f64,
    /// Mean length of one stretch of the prompt set, s.
    #[serde(default = "default_chat_on")]
    pub prompts_on_s: f64,
}

fn default_typing_on() -> f64 {
    60.0
}
fn default_chat_on() -> f64 {
    120.0
}
fn default_agent_on() -> f64 {
    300.0
}

impl Default for Developer {
    /// 30 % typing, 10 % chatting, 5 % running an agent: a developer who writes code most of
    /// an hour they are at the keyboard, asks the assistant now and then and hands it a task
    /// once in a while. An assumption to change, stated in every report.
    fn default() -> Self {
        Developer {
            typing: 0.30,
            chat: 0.10,
            agent: 0.05,
            prompts: 0.0,
            typing_on_s: default_typing_on(),
            chat_on_s: default_chat_on(),
            agent_on_s: default_agent_on(),
            prompts_on_s: default_chat_on(),
        }
    }
}

impl Developer {
    /// The share of time in `class`.
    pub fn share(&self, class: Class) -> f64 {
        match class {
            Class::Autocomplete => self.typing,
            Class::Chat => self.chat,
            Class::Agent => self.agent,
            Class::Prompts => self.prompts,
        }
    }

    /// The mean on period of `class`, s.
    pub fn on_s(&self, class: Class) -> f64 {
        match class {
            Class::Autocomplete => self.typing_on_s,
            Class::Chat => self.chat_on_s,
            Class::Agent => self.agent_on_s,
            Class::Prompts => self.prompts_on_s,
        }
    }

    /// The mean off period of `class`, s: `on · (1 − share) / share` (0 for a share of 1).
    pub fn off_s(&self, class: Class) -> f64 {
        let s = self.share(class);
        self.on_s(class) * (1.0 - s) / s
    }

    /// The classes a developer takes part in, in report order.
    pub fn classes(&self) -> Vec<Class> {
        Class::ALL
            .into_iter()
            .filter(|c| self.share(*c) > 0.0)
            .collect()
    }

    /// Check shares and periods; the message names the key and the fix.
    pub fn validate(&self) -> Result<(), String> {
        for c in Class::ALL {
            let s = self.share(c);
            if !(0.0..=1.0).contains(&s) {
                return Err(format!(
                    "team: share {s} for {} out of range: use 0..=1 (0.3 is 30 % of a developer's time)",
                    share_key(c)
                ));
            }
            let on = self.on_s(c);
            if !(on > 0.0 && on <= 86_400.0) {
                return Err(format!(
                    "team: {}_on_s {on} out of range: use (0, 86400] seconds",
                    share_key(c)
                ));
            }
        }
        if self.classes().is_empty() {
            return Err(
                "team: every share is 0: give a developer some work, e.g. typing = 0.3".into(),
            );
        }
        Ok(())
    }
}

/// The plan's key for a class's share.
pub fn share_key(class: Class) -> &'static str {
    match class {
        Class::Autocomplete => "typing",
        Class::Chat => "chat",
        Class::Agent => "agent",
        Class::Prompts => "prompts",
    }
}

/// The objectives one class is held to (90th percentiles and a failure rate).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassSlo {
    /// First token, p90, s: from the keystroke for autocomplete (debounce and queueing
    /// included), from the send otherwise.
    pub ttft_p90_s: Option<f64>,
    /// Time per output token after the first, p90, s.
    #[serde(default)]
    pub tpot_p90_s: Option<f64>,
    /// Largest share of failed requests (0.01: 1 %).
    #[serde(default = "default_failures")]
    pub max_failure_rate: f64,
}

fn default_failures() -> f64 {
    0.01
}

/// The objectives of every class (`[team.slo.<class>]` in a plan).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassSlos {
    /// Autocomplete: first token from the keystroke p90 ≤ 0.5 s, failures ≤ 1 %.
    #[serde(default = "ClassSlos::autocomplete_default")]
    pub autocomplete: ClassSlo,
    /// Chat: TTFT p90 ≤ 2 s, TPOT p90 ≤ 0.1 s, failures ≤ 1 %.
    #[serde(default = "ClassSlos::chat_default")]
    pub chat: ClassSlo,
    /// Agent turns: TTFT p90 ≤ 10 s, TPOT p90 ≤ 0.1 s, failures ≤ 1 %.
    #[serde(default = "ClassSlos::agent_default")]
    pub agent: ClassSlo,
    /// The prompt set: as chat.
    #[serde(default = "ClassSlos::chat_default")]
    pub prompts: ClassSlo,
}

impl ClassSlos {
    fn autocomplete_default() -> ClassSlo {
        ClassSlo {
            ttft_p90_s: Some(0.5),
            tpot_p90_s: None,
            max_failure_rate: 0.01,
        }
    }
    fn chat_default() -> ClassSlo {
        ClassSlo {
            ttft_p90_s: Some(2.0),
            tpot_p90_s: Some(0.1),
            max_failure_rate: 0.01,
        }
    }
    fn agent_default() -> ClassSlo {
        ClassSlo {
            ttft_p90_s: Some(10.0),
            tpot_p90_s: Some(0.1),
            max_failure_rate: 0.01,
        }
    }

    /// The objectives of `class`.
    pub fn of(&self, class: Class) -> ClassSlo {
        match class {
            Class::Autocomplete => self.autocomplete,
            Class::Chat => self.chat,
            Class::Agent => self.agent,
            Class::Prompts => self.prompts,
        }
    }

    /// Every limit positive and finite; a failure rate in [0, 1].
    pub fn validate(&self) -> Result<(), String> {
        for c in Class::ALL {
            let s = self.of(c);
            for (what, v) in [("ttft_p90_s", s.ttft_p90_s), ("tpot_p90_s", s.tpot_p90_s)] {
                if let Some(v) = v
                    && !(v > 0.0 && v.is_finite())
                {
                    return Err(format!(
                        "team.slo.{c}: {what} {v} out of range: use a positive number of seconds"
                    ));
                }
            }
            if !(0.0..=1.0).contains(&s.max_failure_rate) {
                return Err(format!(
                    "team.slo.{c}: max_failure_rate {} out of range: use 0..=1 (0.01 is 1 %)",
                    s.max_failure_rate
                ));
            }
        }
        Ok(())
    }
}

impl Default for ClassSlos {
    fn default() -> Self {
        ClassSlos {
            autocomplete: ClassSlos::autocomplete_default(),
            chat: ClassSlos::chat_default(),
            agent: ClassSlos::agent_default(),
            prompts: ClassSlos::chat_default(),
        }
    }
}

/// Which number a check reads.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SloMetric {
    /// First token p90 (from the keystroke for autocomplete).
    TtftP90,
    /// Time per output token p90.
    TpotP90,
    /// Share of failed requests.
    Failures,
}

impl std::fmt::Display for SloMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SloMetric::TtftP90 => "TTFT p90",
            SloMetric::TpotP90 => "TPOT p90",
            SloMetric::Failures => "failures",
        })
    }
}

/// One objective checked at one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Check {
    /// The class.
    pub class: Class,
    /// The metric.
    pub metric: SloMetric,
    /// What was measured.
    pub value: f64,
    /// The objective.
    pub limit: f64,
    /// `value / limit` (≤ 1 meets; failures against a 0 limit: 0 or infinity).
    pub ratio: f64,
}

impl Check {
    fn new(class: Class, metric: SloMetric, value: f64, limit: f64) -> Check {
        let ratio = if limit > 0.0 {
            value / limit
        } else if value > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        Check {
            class,
            metric,
            value,
            limit,
            ratio,
        }
    }

    /// Whether the objective is met.
    pub fn met(&self) -> bool {
        self.ratio <= 1.0
    }
}

/// One class's numbers at one step, as the search judged them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClassVerdict {
    /// The class.
    pub class: Class,
    /// Requests answered or failed (autocomplete: not counting those dropped at the next
    /// keystroke).
    pub requests: u64,
    /// Of those, failed.
    pub failed: u64,
    /// Developers active in the class on average over the step (on-time / step time).
    pub active_mean: Option<f64>,
    /// What the team model expects: team size × share.
    pub active_expected: f64,
    /// First token p90, s (from the keystroke for autocomplete).
    pub ttft_p90_s: Option<f64>,
    /// TPOT p90, s.
    pub tpot_p90_s: Option<f64>,
    /// Requests that met every objective per second of the step (goodput).
    pub goodput_rps: Option<f64>,
    /// The checks (empty when not judged).
    pub checks: Vec<Check>,
    /// Too few answered requests to judge a percentile, even after extending the step.
    pub not_judged: bool,
}

/// What one class's requests at one step came to, as [`judge`] reads them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClassNumbers {
    /// Requests answered or failed.
    pub requests: u64,
    /// Of those, failed.
    pub failed: u64,
    /// First token p90, s.
    pub ttft_p90_s: Option<f64>,
    /// TPOT p90, s.
    pub tpot_p90_s: Option<f64>,
}

impl ClassNumbers {
    /// A class's numbers from its phase statistics: autocomplete's first token from the
    /// keystroke (the schedule), everyone else's from the send.
    pub fn of(class: Class, p: &PhaseReport) -> ClassNumbers {
        ClassNumbers {
            requests: p.requests,
            failed: p.failed,
            ttft_p90_s: if class == Class::Autocomplete {
                p.ttft_from_schedule_s.p90
            } else {
                p.ttft_s.p90
            },
            tpot_p90_s: p.tpot_s.p90,
        }
    }

    /// Whether there are enough answered requests to judge a 90th percentile.
    pub fn judgeable(&self) -> bool {
        self.requests.saturating_sub(self.failed) >= MIN_SAMPLES
    }
}

/// Judge one class against its objectives. A class without enough answered requests is not
/// judged — unless its failures alone break the objective already (more failures than the
/// rate allows out of [`MIN_SAMPLES`] requests).
pub fn judge(class: Class, n: &ClassNumbers, slo: &ClassSlo) -> (Vec<Check>, bool) {
    let mut checks = Vec::new();
    let rate = if n.requests > 0 {
        n.failed as f64 / n.requests as f64
    } else {
        0.0
    };
    let failures = Check::new(class, SloMetric::Failures, rate, slo.max_failure_rate);
    if !n.judgeable() {
        // Failures are counted, not estimated: once they exceed what the objective allows
        // of the requests a judgement needs, no further sample can rescue the class.
        let allowed = (slo.max_failure_rate * MIN_SAMPLES.max(n.requests) as f64).floor() as u64;
        if n.failed > allowed {
            return (vec![failures], false);
        }
        return (checks, true);
    }
    for (metric, value, limit) in [
        (SloMetric::TtftP90, n.ttft_p90_s, slo.ttft_p90_s),
        (SloMetric::TpotP90, n.tpot_p90_s, slo.tpot_p90_s),
    ] {
        if let (Some(v), Some(l)) = (value, limit) {
            checks.push(Check::new(class, metric, v, l));
        }
    }
    checks.push(failures);
    (checks, false)
}

/// One measured team size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CapacityStep {
    /// Developers on the team.
    pub developers: u32,
    /// Which measurement of this size (0: the first).
    pub repeat: u32,
    /// Measured time, s (warm-up excluded, extensions included).
    pub duration_s: f64,
    /// Times the step was extended for samples.
    pub extensions: u32,
    /// Each class's numbers and checks, in report order.
    pub classes: Vec<ClassVerdict>,
    /// Every class judged met its objectives (and at least one was judged).
    pub met: bool,
    /// The worst check's ratio (≤ 1: met); `None` when nothing was judged.
    pub margin: Option<f64>,
    /// Output tokens per second of every class together over the measured time.
    #[serde(default)]
    pub output_tok_s: Option<f64>,
    /// Energy over the measured time (the warm-up left out), or why it was not measured.
    #[serde(default)]
    pub energy: Option<super::energy::Energy>,
}

impl CapacityStep {
    /// Fill `met` and `margin` from the classes' checks.
    pub fn conclude(mut self) -> CapacityStep {
        let worst = self.worst().map(|c| c.ratio);
        self.margin = worst;
        self.met = worst.is_some_and(|r| r <= 1.0);
        self
    }

    /// The check furthest from its objective.
    pub fn worst(&self) -> Option<&Check> {
        self.classes
            .iter()
            .flat_map(|c| c.checks.iter())
            .max_by(|a, b| a.ratio.total_cmp(&b.ratio))
    }
}

/// Search settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SearchSettings {
    /// Measurements of each boundary size.
    pub repeats: u32,
    /// The largest team size probed.
    pub max_developers: u32,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            repeats: 3,
            max_developers: 1024,
        }
    }
}

/// What the search does next, from what it has measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Measure this team size (again).
    Measure(u32),
    /// The search is over.
    Done,
    /// This size was measured `repeats` times and no class had enough answered requests to be
    /// judged: the search cannot go on (the steps are too short, or the classes too rarely
    /// active, for a percentile).
    Undecided(u32),
}

/// Sizes measured so far with whether each measurement met the SLOs, grouped by size.
fn by_size(steps: &[CapacityStep]) -> std::collections::BTreeMap<u32, Vec<f64>> {
    let mut m: std::collections::BTreeMap<u32, Vec<f64>> = Default::default();
    for s in steps {
        if let Some(r) = s.margin {
            m.entry(s.developers).or_default().push(r);
        }
    }
    m
}

/// The next team size to measure: doubling from 1 until a size fails, bisection between the
/// last size that met the SLOs and the first that did not (by the monotone fit, so a repeat
/// that disagrees moves the boundary), then the two boundary sizes until each has `repeats`
/// measurements.
pub fn next_size(steps: &[CapacityStep], s: &SearchSettings) -> Next {
    match decide(steps, s) {
        Next::Measure(n)
            if steps
                .iter()
                .filter(|x| x.developers == n && x.margin.is_none())
                .count() as u32
                >= s.repeats =>
        {
            Next::Undecided(n)
        }
        next => next,
    }
}

/// [`next_size`] from the judged steps alone.
fn decide(steps: &[CapacityStep], s: &SearchSettings) -> Next {
    let sizes = by_size(steps);
    if sizes.is_empty() {
        return Next::Measure(1);
    }
    let fit = fit(&sizes);
    let met = |n: u32| fit.get(&n).is_some_and(|r| *r <= 0.0);
    // The largest size that met and the smallest above it measured.
    let lo = sizes.keys().copied().filter(|n| met(*n)).max();
    let hi = sizes
        .keys()
        .copied()
        .find(|n| !met(*n) && lo.is_none_or(|l| *n > l));
    match (lo, hi) {
        (None, _) => {
            // Even one developer fails: confirm it, and the capacity is 0.
            let n1 = sizes.get(&1).map_or(0, Vec::len) as u32;
            if n1 < s.repeats {
                Next::Measure(1)
            } else {
                Next::Done
            }
        }
        (Some(l), None) => {
            if l >= s.max_developers {
                let have = sizes.get(&l).map_or(0, Vec::len) as u32;
                return if have < s.repeats {
                    Next::Measure(l)
                } else {
                    Next::Done
                };
            }
            Next::Measure((l.saturating_mul(2)).min(s.max_developers))
        }
        (Some(l), Some(h)) if h - l > 1 => Next::Measure(l + (h - l) / 2),
        (Some(l), Some(h)) => {
            for n in [l, h] {
                if (sizes.get(&n).map_or(0, Vec::len) as u32) < s.repeats {
                    return Next::Measure(n);
                }
            }
            Next::Done
        }
    }
}

/// Isotonic (non-decreasing) regression of the mean log margin per size, weighted by the
/// number of measurements (pool adjacent violators). Returns the fitted log margin per size.
fn fit(sizes: &std::collections::BTreeMap<u32, Vec<f64>>) -> std::collections::BTreeMap<u32, f64> {
    // Blocks of (sum, weight, sizes).
    let mut blocks: Vec<(f64, f64, Vec<u32>)> = Vec::new();
    for (n, rs) in sizes {
        let logs: Vec<f64> = rs.iter().map(|r| log_margin(*r)).collect();
        blocks.push((logs.iter().sum(), logs.len() as f64, vec![*n]));
        while blocks.len() > 1 {
            let k = blocks.len();
            let (a, b) = (&blocks[k - 2], &blocks[k - 1]);
            if a.0 / a.1 <= b.0 / b.1 {
                break;
            }
            let b = blocks.pop().expect("two blocks");
            let a = blocks.last_mut().expect("two blocks");
            a.0 += b.0;
            a.1 += b.1;
            a.2.extend(b.2);
        }
    }
    blocks
        .into_iter()
        .flat_map(|(sum, w, ns)| ns.into_iter().map(move |n| (n, sum / w)))
        .collect()
}

/// A margin on the log scale, with infinities (a class that failed outright) held finite so
/// averages stay defined.
fn log_margin(r: f64) -> f64 {
    r.max(1e-6).ln().min(50.0)
}

/// The capacity the fit gives: the largest measured size whose fitted margin meets (0 if
/// none), and the largest size it could be before the next measured size (`None`: nothing
/// larger was measured failing).
fn capacity_of(sizes: &std::collections::BTreeMap<u32, Vec<f64>>) -> (u32, Option<u32>) {
    let f = fit(sizes);
    let lo = f
        .iter()
        .filter(|(_, r)| **r <= 0.0)
        .map(|(n, _)| *n)
        .max()
        .unwrap_or(0);
    let hi = f.keys().copied().find(|n| *n > lo).map(|n| n - 1);
    (lo, hi)
}

/// How the interval was computed.
pub const INTERVAL_METHOD: &str = "isotonic fit of log SLO margin on team size, 95 % percentile bootstrap over each size's repeats";

/// The capacity and its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Estimate {
    /// The largest team size meeting every class's objectives (0: not even one developer).
    pub developers: u32,
    /// 95 % interval, low end.
    pub low: u32,
    /// 95 % interval, high end (`None`: at least `low`; nothing larger failed).
    pub high: Option<u32>,
    /// How the interval was computed.
    pub method: String,
}

/// The capacity and its interval from every step measured.
pub fn estimate(steps: &[CapacityStep]) -> Estimate {
    let sizes = by_size(steps);
    let (developers, bracket) = capacity_of(&sizes);
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    let mut lows = Vec::with_capacity(RESAMPLES);
    let mut highs = Vec::with_capacity(RESAMPLES);
    let mut unbounded = 0usize;
    for _ in 0..RESAMPLES {
        let resampled = sizes
            .iter()
            .map(|(n, rs)| {
                let v: Vec<f64> = (0..rs.len())
                    .map(|_| rs[rng.random_range(0..rs.len())])
                    .collect();
                (*n, v)
            })
            .collect();
        let (lo, hi) = capacity_of(&resampled);
        lows.push(lo);
        match hi {
            Some(h) => highs.push(h),
            None => unbounded += 1,
        }
    }
    lows.sort_unstable();
    highs.sort_unstable();
    let low = lows[((RESAMPLES as f64) * 0.025) as usize].min(developers);
    // More than 2.5 % of resamples with nothing failing above: the high end is open.
    let high = if sizes.is_empty() || unbounded * 40 > RESAMPLES {
        None
    } else {
        let k = ((RESAMPLES as f64) * 0.975) as usize - unbounded;
        highs
            .get(k.min(highs.len().saturating_sub(1)))
            .copied()
            .map(|h| h.max(bracket.unwrap_or(developers)))
    };
    Estimate {
        developers,
        low,
        high,
        method: INTERVAL_METHOD.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_never_judged_ends_the_search_undecided_instead_of_looping() {
        let unjudged = CapacityStep {
            developers: 1,
            repeat: 0,
            duration_s: 20.0,
            extensions: 1,
            classes: vec![],
            met: false,
            margin: None,
            output_tok_s: None,
            energy: None,
        };
        let settings = SearchSettings {
            repeats: 2,
            max_developers: 16,
        };
        assert_eq!(next_size(&[], &settings), Next::Measure(1));
        assert_eq!(
            next_size(std::slice::from_ref(&unjudged), &settings),
            Next::Measure(1)
        );
        assert_eq!(
            next_size(&[unjudged.clone(), unjudged], &settings),
            Next::Undecided(1)
        );
    }

    fn step(n: u32, margin: f64) -> CapacityStep {
        CapacityStep {
            developers: n,
            repeat: 0,
            duration_s: 10.0,
            extensions: 0,
            classes: vec![ClassVerdict {
                class: Class::Chat,
                requests: 20,
                failed: 0,
                active_mean: None,
                active_expected: f64::from(n),
                ttft_p90_s: Some(margin),
                tpot_p90_s: None,
                goodput_rps: None,
                checks: vec![Check::new(Class::Chat, SloMetric::TtftP90, margin, 1.0)],
                not_judged: false,
            }],
            met: false,
            margin: None,
            output_tok_s: None,
            energy: None,
        }
        .conclude()
    }

    /// Run the search against a server whose margin at size `n` is `margin(n, repeat)`.
    fn search(
        margin: impl Fn(u32, u32) -> f64,
        s: &SearchSettings,
    ) -> (Vec<CapacityStep>, Estimate) {
        let mut steps: Vec<CapacityStep> = Vec::new();
        for _ in 0..200 {
            match next_size(&steps, s) {
                Next::Done => break,
                Next::Undecided(n) => panic!("every step is judged here: {n}"),
                Next::Measure(n) => {
                    let r = steps.iter().filter(|x| x.developers == n).count() as u32;
                    let mut st = step(n, margin(n, r));
                    st.repeat = r;
                    steps.push(st);
                }
            }
        }
        let e = estimate(&steps);
        (steps, e)
    }

    #[test]
    fn a_sharp_boundary_is_found_by_doubling_then_bisection_and_repeated() {
        // Meets up to 11 developers.
        let (steps, e) = search(|n, _| f64::from(n) / 11.5, &SearchSettings::default());
        let sizes: Vec<u32> = steps.iter().map(|s| s.developers).collect();
        assert_eq!(&sizes[..5], &[1, 2, 4, 8, 16]);
        assert_eq!(&sizes[5..8], &[12, 10, 11]);
        assert_eq!(steps.iter().filter(|s| s.developers == 11).count(), 3);
        assert_eq!(steps.iter().filter(|s| s.developers == 12).count(), 3);
        assert_eq!((e.developers, e.low, e.high), (11, 11, Some(11)));
    }

    #[test]
    fn one_developer_already_failing_is_capacity_zero_after_repeats() {
        let (steps, e) = search(|_, _| 3.0, &SearchSettings::default());
        assert!(steps.iter().all(|s| s.developers == 1));
        assert_eq!(steps.len(), 3);
        assert_eq!((e.developers, e.low, e.high), (0, 0, Some(0)));
    }

    #[test]
    fn disagreeing_repeats_at_the_boundary_widen_the_interval() {
        // 10 meets twice in three, 11 once in three, 9 always, 12 never.
        let m = |n: u32, r: u32| match n {
            0..=9 => 0.5,
            10 => [0.9, 1.1, 0.95][r as usize % 3],
            11 => [1.2, 0.9, 1.3][r as usize % 3],
            _ => 2.0,
        };
        let s = SearchSettings::default();
        let (steps, e) = search(m, &s);
        assert!(e.low < e.high.unwrap(), "{e:?} from {steps:?}");
        assert!(e.low <= 10 && e.high.unwrap() >= 10, "{e:?}");
        assert!(e.low >= 8 && e.high.unwrap() <= 11, "{e:?}");
    }

    #[test]
    fn a_server_that_never_breaks_gives_an_open_interval_at_the_largest_size() {
        let s = SearchSettings {
            repeats: 2,
            max_developers: 8,
        };
        let (_, e) = search(|_, _| 0.1, &s);
        assert_eq!((e.developers, e.high), (8, None));
    }

    #[test]
    fn few_samples_are_not_judged_unless_failures_already_decide() {
        let slo = ClassSlos::default().chat;
        let few = ClassNumbers {
            requests: 4,
            failed: 0,
            ttft_p90_s: Some(9.0),
            tpot_p90_s: None,
        };
        assert_eq!(judge(Class::Chat, &few, &slo), (vec![], true));
        let failing = ClassNumbers { failed: 2, ..few };
        let (checks, not_judged) = judge(Class::Chat, &failing, &slo);
        assert!(!not_judged && !checks[0].met(), "{checks:?}");
        let enough = ClassNumbers {
            requests: 30,
            ..few
        };
        let (checks, _) = judge(Class::Chat, &enough, &slo);
        assert!(!checks[0].met() && (checks[0].ratio - 4.5).abs() < 1e-9);
    }

    #[test]
    fn the_team_model_gives_off_periods_from_shares() {
        let d = Developer::default();
        assert!((d.off_s(Class::Autocomplete) - 140.0).abs() < 1e-9);
        assert_eq!(
            d.classes(),
            vec![Class::Autocomplete, Class::Chat, Class::Agent]
        );
        let bad = Developer { chat: 1.5, ..d };
        assert!(bad.validate().unwrap_err().contains("chat"));
    }
}
