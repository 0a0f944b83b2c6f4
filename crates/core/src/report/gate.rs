//! The regression gate (`servebench gate`): conditions like `warm_ttft_s.p95 > +10%` checked
//! for every target a baseline and a candidate both measured. A condition fails only when the
//! change is past its threshold **and** significant by the test `compare` uses for that
//! metric: per-request samples (Mann–Whitney U and a bootstrap interval of the difference in
//! the statistic), McNemar on pass@1 paired by task, non-overlapping 95 % intervals for the
//! capacity; when both sides are `--repeat` sets, every condition is checked on the means of
//! the runs' values with Welch's t over runs ([`super::run_level`]). A change past its
//! threshold that no test can confirm is reported, not failed.

use super::compare_model::Entry;
use super::metric::{Direction, MetricId, Samples};
use super::significance::{self, Stat};
use super::{TargetReport, WorkloadReport};
use serde::{Deserialize, Serialize};

/// What a condition measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GateMetric {
    /// A registry metric, with the statistic of its per-request samples (`.p95`) when asked.
    Registry(MetricId, Option<Stat>),
    /// pass@1 of the code tasks (`quality.pass_at_1`).
    PassAt1,
    /// The capacity search's developers (`capacity.developers`).
    CapacityDevelopers,
}

impl GateMetric {
    fn direction(self) -> Direction {
        match self {
            GateMetric::Registry(id, _) => id.def().direction,
            GateMetric::PassAt1 | GateMetric::CapacityDevelopers => Direction::Higher,
        }
    }

    /// The value for an entry (the statistic asked for, from its samples when it is not the
    /// report's own).
    pub fn value(self, e: &Entry) -> Option<f64> {
        match self {
            GateMetric::Registry(id, None) => (id.def().value)(e.target),
            GateMetric::Registry(id, Some(stat)) => {
                let v = e.samples.get(id.key())?;
                (!v.is_empty()).then(|| stat.of(v))
            }
            GateMetric::PassAt1 => e.target.quality.as_ref()?.pass_at_1,
            GateMetric::CapacityDevelopers => capacity(e.target).map(|c| f64::from(c.0)),
        }
    }
}

/// A target's capacity and its 95 % interval (`high` `None`: open).
fn capacity(t: &TargetReport) -> Option<(u32, u32, Option<u32>)> {
    match &t.workload {
        Some(WorkloadReport::Capacity(c)) => {
            Some((c.capacity.developers, c.capacity.low, c.capacity.high))
        }
        _ => None,
    }
}

/// One condition of `--fail-on`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// As written (`warm_ttft_s.p95 > +10%`).
    pub text: String,
    /// The metric.
    pub metric: GateMetric,
    /// `>` (fails above) or `<` (fails below).
    pub above: bool,
    /// The threshold on the change.
    pub threshold: f64,
    /// Relative (`%`: a share of the baseline) or absolute.
    pub relative: bool,
}

/// A `--fail-on` that does not parse: the token, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// The offending token.
    pub token: String,
    /// What is wrong, and the fix.
    pub why: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--fail-on: `{}`: {}", self.token, self.why)
    }
}

impl std::error::Error for ParseError {}

fn stat_of(s: &str) -> Option<Stat> {
    match s {
        "mean" => Some(Stat::Mean),
        "median" | "p50" => Some(Stat::Median),
        _ => {
            let p: u8 = s.strip_prefix('p')?.parse().ok()?;
            (1..100).contains(&p).then_some(Stat::Quantile(p))
        }
    }
}

/// A metric of a condition or a trend: a registry id with `.mean`, `.median` or `.pNN` for a
/// metric with per-request samples, `quality.pass_at_1` or `capacity.developers`.
pub fn parse_metric(name: &str) -> Result<GateMetric, ParseError> {
    Ok(match name {
        "quality.pass_at_1" => GateMetric::PassAt1,
        "capacity.developers" => GateMetric::CapacityDevelopers,
        _ => {
            let (key, stat) = match name.split_once('.') {
                Some((k, s)) => (k, Some(s)),
                None => (name, None),
            };
            let id = MetricId::from_key(key).ok_or_else(|| ParseError {
                token: key.to_string(),
                why: format!(
                    "not a metric: use one of {}, quality.pass_at_1, capacity.developers",
                    super::metric::REGISTRY
                        .iter()
                        .map(|d| d.key)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
            let stat = match stat {
                None => None,
                Some(s) => {
                    if matches!(id.def().samples, Samples::None | Samples::Loads) {
                        return Err(ParseError {
                            token: name.to_string(),
                            why: format!(
                                "{key} has no per-request samples to take .{s} of: use {key}"
                            ),
                        });
                    }
                    Some(stat_of(s).ok_or_else(|| ParseError {
                        token: s.to_string(),
                        why: "not a statistic: use mean, median or p1..p99".into(),
                    })?)
                }
            };
            GateMetric::Registry(id, stat)
        }
    })
}

/// Parse `--fail-on`: conditions separated by commas, each `METRIC OP CHANGE` — METRIC a
/// registry id (with `.mean`, `.median` or `.pNN` for a metric with per-request samples),
/// `quality.pass_at_1` or `capacity.developers`; OP `>` or `<`; CHANGE signed, `%` for a share
/// of the baseline. The condition must point the way the metric gets worse.
pub fn parse(expr: &str) -> Result<Vec<Condition>, ParseError> {
    let mut out = Vec::new();
    for part in expr.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(ParseError {
                token: expr.to_string(),
                why: "an empty condition: separate conditions with one comma".into(),
            });
        }
        let (at, op) = part
            .char_indices()
            .find(|(_, c)| *c == '>' || *c == '<')
            .ok_or_else(|| ParseError {
                token: part.to_string(),
                why: "no > or <: write METRIC > +10% or METRIC < -0.03".into(),
            })?;
        let (name, change) = (part[..at].trim(), part[at + 1..].trim());
        let metric = parse_metric(name)?;
        let relative = change.ends_with('%');
        let number = change.trim_end_matches('%').trim();
        let threshold: f64 = number
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| ParseError {
                token: change.to_string(),
                why: "not a change: write +10%, -0.03 or -1".into(),
            })?;
        let threshold = if relative {
            threshold / 100.0
        } else {
            threshold
        };
        let above = op == '>';
        let worse = match metric.direction() {
            Direction::Lower => Some(true),
            Direction::Higher => Some(false),
            Direction::Neither => None,
        };
        if let Some(w) = worse
            && (w != above || (threshold != 0.0 && (threshold > 0.0) != above))
        {
            return Err(ParseError {
                token: part.to_string(),
                why: format!(
                    "{} is worse when it {}: write `{name} {} {}{}`",
                    name,
                    if w { "rises" } else { "falls" },
                    if w { '>' } else { '<' },
                    if w { '+' } else { '-' },
                    number.trim_start_matches(['+', '-']).to_string()
                        + if relative { "%" } else { "" }
                ),
            });
        }
        out.push(Condition {
            text: part.to_string(),
            metric,
            above,
            threshold,
            relative,
        });
    }
    Ok(out)
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Within the threshold.
    Pass,
    /// Past the threshold, but the test cannot tell the runs apart.
    NotSignificant,
    /// Past the threshold, and no test applies (one number per run): reported, not failed.
    Untested,
    /// Past the threshold and significant: the gate fails.
    Fail,
    /// Neither side, or only the candidate, has a value (only the baseline: [`Verdict::Fail`]).
    NotMeasured,
}

/// One condition for one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Check {
    /// The condition, as written.
    pub condition: String,
    /// The target.
    pub target: String,
    /// Baseline value.
    pub baseline: Option<f64>,
    /// Candidate value.
    pub candidate: Option<f64>,
    /// `candidate − baseline`, or its share of the baseline for a relative threshold.
    pub change: Option<f64>,
    /// 95 % interval of `candidate − baseline` (a share of the baseline for a relative
    /// threshold), when a test gives one.
    pub interval: Option<[f64; 2]>,
    /// The test's p-value, when there is one.
    pub p_value: Option<f64>,
    /// The test used.
    pub test: String,
    /// The verdict.
    pub verdict: Verdict,
}

/// Check every condition for every target both sides measured (matched by name).
pub fn check(conditions: &[Condition], baseline: &[Entry], candidate: &[Entry]) -> Vec<Check> {
    let mut out = Vec::new();
    for c in conditions {
        for b in baseline {
            let Some(k) = candidate.iter().find(|k| k.target.name == b.target.name) else {
                continue;
            };
            out.push(one(c, b, k));
        }
    }
    out
}

fn one(c: &Condition, b: &Entry, k: &Entry) -> Check {
    // A repeated side's value is its mean over runs (a failed repeat has none).
    let read = |e: &Entry| c.metric.value(e);
    let (bv, kv) = (b.value_of(read), k.value_of(read));
    let mut check = Check {
        condition: c.text.clone(),
        target: b.target.name.clone(),
        baseline: bv,
        candidate: kv,
        change: None,
        interval: None,
        p_value: None,
        test: String::new(),
        verdict: Verdict::NotMeasured,
    };
    let (Some(x), Some(y)) = (bv, kv) else {
        if bv.is_some() {
            // Measured before, not now (the candidate's target failed, or lost the phase).
            check.test = "the baseline measured it, the candidate did not".into();
            check.verdict = Verdict::Fail;
        }
        return check;
    };
    // A repeat of the candidate that lost what every baseline run measured fails too: a
    // crash in one repeat of three is not averaged away.
    let missing = |e: &Entry| e.run_values(read).iter().filter(|v| v.is_none()).count();
    if k.repeated() && missing(k) > 0 && (!b.repeated() || missing(b) == 0) {
        check.test = format!(
            "the candidate has no value in {} of its {} repeats (failed or not measured); the baseline measured it every time",
            missing(k),
            k.runs.len()
        );
        check.verdict = Verdict::Fail;
        return check;
    }
    let scale = if c.relative {
        if x == 0.0 {
            check.test = "a relative change of a baseline of 0 is undefined".into();
            return check;
        }
        x.abs()
    } else {
        1.0
    };
    let change = (y - x) / scale;
    check.change = Some(change);
    let past = if c.above {
        change > c.threshold
    } else {
        change < c.threshold
    };
    // The test compare uses for this metric: Welch's t over the runs when both sides were
    // repeated (and the runs vary), else the metric's own on the pooled requests.
    let significant = if let Some(w) = b.run_test(k, read) {
        check.test = format!(
            "Welch's t over runs, run-level ({} and {} runs)",
            w.n_a, w.n_b
        );
        check.p_value = Some(w.p_value);
        check.interval = Some([w.ci95[0] / scale, w.ci95[1] / scale]);
        Some(w.significant())
    } else {
        match c.metric {
            GateMetric::Registry(id, stat) => {
                let def = id.def();
                let key = def.key;
                match (b.samples.get(key), k.samples.get(key)) {
                    (Some(sa), Some(sb)) if !matches!(def.samples, Samples::None) => {
                        let stat = stat.unwrap_or(def.stat);
                        let t = significance::test(sa, sb, stat);
                        check.test = format!(
                            "Mann–Whitney U and a bootstrap interval of the difference ({} and {} requests)",
                            t.n_a, t.n_b
                        );
                        check.p_value = t.p_value;
                        check.interval = t.ci95.map(|[lo, hi]| [lo / scale, hi / scale]);
                        t.p_value.map(|_| t.significant)
                    }
                    _ => {
                        check.test = "one number per run: no test".into();
                        None
                    }
                }
            }
            GateMetric::PassAt1 => match super::compare_same::paired_pass(b, k) {
                Some(p) => {
                    check.test = format!("{} paired by task ({} tasks)", p.method, p.tasks);
                    check.p_value = Some(p.p_value);
                    check.interval = p.ci95.map(|[lo, hi]| [lo / scale, hi / scale]);
                    Some(p.significant)
                }
                None => {
                    check.test = "no tasks answered on both sides: no test".into();
                    None
                }
            },
            GateMetric::CapacityDevelopers => match (capacity(b.target), capacity(k.target)) {
                (Some((_, bl, bh)), Some((_, kl, kh))) => {
                    check.test = format!(
                        "95 % intervals {bl}–{} and {kl}–{}: a change is significant when they do not overlap",
                        bh.map_or("open".into(), |h| h.to_string()),
                        kh.map_or("open".into(), |h| h.to_string())
                    );
                    let apart = bh.is_some_and(|h| h < kl) || kh.is_some_and(|h| h < bl);
                    Some(apart)
                }
                _ => None,
            },
        }
    };
    check.verdict = match (past, significant) {
        (false, _) => Verdict::Pass,
        (true, Some(true)) => Verdict::Fail,
        (true, Some(false)) => Verdict::NotSignificant,
        (true, None) => Verdict::Untested,
    };
    check
}

/// The checks as JUnit XML: one test suite, one test case per check (class name the target),
/// a `<failure>` for each failing one, `<skipped>` for one not measured.
pub fn junit(checks: &[Check]) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failures = checks.iter().filter(|c| c.verdict == Verdict::Fail).count();
    let skipped = checks
        .iter()
        .filter(|c| c.verdict == Verdict::NotMeasured)
        .count();
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"servebench gate\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\">\n  <testsuite name=\"servebench gate\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n",
        n = checks.len()
    );
    for c in checks {
        x.push_str(&format!(
            "    <testcase classname=\"servebench.gate.{}\" name=\"{}\">",
            esc(&c.target),
            esc(&c.condition)
        ));
        match c.verdict {
            Verdict::Fail => x.push_str(&format!(
                "\n      <failure message=\"{}\" type=\"regression\">{}</failure>\n    ",
                esc(&describe(c)),
                esc(&c.test)
            )),
            Verdict::NotMeasured => x.push_str(&format!(
                "\n      <skipped message=\"{}\"/>\n    ",
                esc(&describe(c))
            )),
            _ => x.push_str(&format!(
                "\n      <system-out>{}</system-out>\n    ",
                esc(&describe(c))
            )),
        }
        x.push_str("</testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// One check in words: `warm_ttft_s.p95 > +10%: 0.120 → 0.156 (+30.0 %), p = 0.000: FAIL`.
pub fn describe(c: &Check) -> String {
    let f = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.4}"));
    let relative = c.condition.ends_with('%');
    let change = c.change.map_or("—".to_string(), |d| {
        if relative {
            format!("{:+.1} %", d * 100.0)
        } else {
            format!("{d:+.4}")
        }
    });
    format!(
        "{} ({}): {} → {} ({change}){}: {}",
        c.condition,
        c.target,
        f(c.baseline),
        f(c.candidate),
        c.p_value.map_or(String::new(), |p| format!(", p = {p:.3}")),
        match c.verdict {
            Verdict::Pass => "pass",
            Verdict::NotSignificant => "past the threshold, not significant",
            Verdict::Untested => "past the threshold, no test to confirm it",
            Verdict::Fail => "FAIL",
            Verdict::NotMeasured => "not measured on both sides",
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::TargetStatus;

    #[test]
    fn conditions_parse_and_point_the_way_a_metric_gets_worse() {
        let c =
            parse("warm_ttft_s.p95 > +10%, quality.pass_at_1 < -0.03, capacity.developers < -1")
                .unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(
            c[0].metric,
            GateMetric::Registry(MetricId::WarmTtftS, Some(Stat::Quantile(95)))
        );
        assert!(c[0].above && c[0].relative && (c[0].threshold - 0.1).abs() < 1e-12);
        assert_eq!(
            (c[1].metric, c[1].above, c[1].threshold),
            (GateMetric::PassAt1, false, -0.03)
        );
        assert_eq!(c[2].metric, GateMetric::CapacityDevelopers);
        for (bad, token) in [
            ("warm_ttft > +10%", "warm_ttft"),
            ("warm_ttft_s.p95 >> 10%", "> 10%"),
            ("warm_ttft_s.q95 > +10%", "q95"),
            ("warm_ttft_s +10%", "warm_ttft_s +10%"),
            ("warm_tok_s > +10%", "warm_tok_s > +10%"),
            ("load_s.p95 > +10%", "load_s.p95"),
            ("warm_ttft_s > +10%,", "warm_ttft_s > +10%,"),
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.token, token, "{bad}: {e}");
        }
        assert!(
            parse("warm_tok_s > +10%")
                .unwrap_err()
                .why
                .contains("write `warm_tok_s < -10%`")
        );
    }

    /// Targets whose warm TTFT median is 0.1 s × each scale (the fixtures' target).
    fn runs(scales: &[f64]) -> Vec<TargetReport> {
        use crate::report::fixtures::target;
        scales
            .iter()
            .map(|s| target("t", crate::spec::Api::Openai, *s))
            .collect()
    }

    fn one_entry<'a>(t: &'a TargetReport, r: &'a crate::report::Report) -> Entry<'a> {
        Entry {
            label: "t".into(),
            source: "s".into(),
            target: t,
            settings: &r.settings,
            gpu: &r.gpu,
            samples: Default::default(),
            runs: Vec::new(),
        }
    }

    fn set_entry<'a>(ts: &'a [TargetReport], r: &'a crate::report::Report) -> Entry<'a> {
        one_entry(&ts[0], r).with_runs(ts.iter().map(|t| one_entry(t, r)).collect())
    }

    #[test]
    fn repeated_sides_are_checked_on_their_run_means_and_a_lost_repeat_fails() {
        let r = crate::report::fixtures::report(runs(&[1.0]));
        let set = |ts: &[TargetReport]| -> Vec<f64> {
            ts.iter()
                .map(|t| t.phases.warm.as_ref().unwrap().ttft_s.p50.unwrap())
                .collect()
        };
        let (base, again, slow) = (
            runs(&[1.0, 1.01, 0.99]),
            runs(&[1.02, 0.98, 1.0]),
            runs(&[1.3, 1.31, 1.29]),
        );
        let as_set = |ts| set_entry(ts, &r);
        let c = parse("warm_ttft_s > +10%").unwrap();
        // +30 %: run means 0.100 → 0.130, Welch's t over runs, fails.
        let k = check(&c, &[as_set(&base)], &[as_set(&slow)]);
        assert_eq!(k[0].verdict, Verdict::Fail, "{k:?}");
        assert!(k[0].test.starts_with("Welch's t over runs"), "{k:?}");
        let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
        assert!((k[0].baseline.unwrap() - mean(set(&base))).abs() < 1e-12);
        assert!((k[0].change.unwrap() - 0.30).abs() < 1e-9, "{k:?}");
        // Another set of the same: passes.
        let k = check(&c, &[as_set(&base)], &[as_set(&again)]);
        assert_eq!(k[0].verdict, Verdict::Pass, "{k:?}");
        // A candidate repeat whose target failed: its value is missing, never averaged away.
        let mut lost = runs(&[1.0, 1.0, 1.0]);
        lost[1].status = TargetStatus::Failed;
        let k = check(&c, &[as_set(&base)], &[as_set(&lost)]);
        assert_eq!(k[0].verdict, Verdict::Fail, "{k:?}");
        assert!(
            k[0].test.contains("no value in 1 of its 3 repeats"),
            "{k:?}"
        );
        // Only the candidate repeated: its value is its mean over runs, not its first run's.
        let k = check(&c, &[one_entry(&base[0], &r)], &[as_set(&slow)]);
        assert!(
            (k[0].candidate.unwrap() - mean(set(&slow))).abs() < 1e-12,
            "{k:?}"
        );
    }
}
