//! The capacity section of the run report: per target, how many developers it serves at the
//! team's objectives with the 95 % interval, which class broke first and on what, the team
//! model the answer rests on, quality at the capacity, each class against team size as a
//! chart with its objective drawn, and every step measured (each class's numbers against its
//! objectives).

use super::capacity::{ClassVerdict, INTERVAL_METHOD, share_key};
use super::capacity_report::CapacityReport;
use super::document::{Document, Table};
use super::model::{TargetReport, WorkloadReport};
use super::svg::{self, Series};
use super::table::fmt;
use crate::spec::Class;
use crate::stats::Summary;

/// The section, when any target ran the capacity search.
pub fn section(d: &mut Document, targets: &[TargetReport]) {
    let ran: Vec<(&str, &CapacityReport)> = targets
        .iter()
        .filter_map(|t| match &t.workload {
            Some(WorkloadReport::Capacity(c)) => Some((t.name.as_str(), c)),
            _ => None,
        })
        .collect();
    if ran.is_empty() {
        return;
    }
    d.heading(2, "Capacity: developers served at the team's objectives");
    for (name, c) in &ran {
        let mut line = format!("{name}: {}", c.describe());
        if let Some(b) = &c.broke_first {
            line.push_str(&format!(
                "; {} breaks first, on {} ({:.3} against {:.3})",
                b.class, b.metric, b.value, b.limit
            ));
        }
        if c.budget_exhausted {
            line.push_str("; the time budget ran out: the interval is what was measured");
        }
        if c.interrupted {
            line.push_str("; the search was interrupted");
        }
        if let Some(why) = c
            .undecided
            .as_ref()
            .filter(|_| c.steps.iter().any(|s| s.margin.is_some()))
        {
            line.push_str(&format!("; the search stopped early: {why}"));
        }
        line.push_str(&format!("; {} steps in {:.0} s", c.steps.len(), c.search_s));
        d.item(line);
        if let Some(a) = &c.at_capacity {
            d.item(format!("{name}: {}", a.describe()));
        }
        if let Some(q) = &c.quality {
            d.item(format!(
                "{name}: quality {}; the team {} its objectives while the tasks were asked",
                q.describe(),
                if q.team.met { "met" } else { "did not meet" }
            ));
        }
        if let Some(why) = &c.quality_note {
            d.item(format!(
                "{name}: quality at the capacity not measured: {why}"
            ));
        }
    }
    d.end_list();
    if ran.iter().any(|(_, c)| c.quality.is_some()) {
        d.para("Quality at the capacity: after the search, the quality tasks were asked one at a time beside a team of the capacity's size — one stream more than the team — from the end of a warm-up, the team going on until every task was asked; then the same tasks alone, one at a time. The two answers to each task are paired (McNemar's exact test): a stack that keeps up by degrading its answers shows it here. A correct solution's price is an answer's mean output tokens at the capacity's price per token, over the pass@1 beside the team.");
    }
    if let Some((_, c)) = ran.first() {
        let dev = &c.developer;
        let shares: Vec<String> = dev
            .classes()
            .into_iter()
            .map(|k| {
                format!(
                    "{} {:.0} % ({k}, on {:.0} s at a time)",
                    share_key(k),
                    100.0 * dev.share(k),
                    dev.on_s(k)
                )
            })
            .collect();
        d.para(format!(
            "The team model (an assumption, set in [team.developer]): a developer spends {} of their time; each developer comes and goes per class with exponential on/off periods, so N developers keep N × share active on average. Steps of {:.1} s after {:.1} s of warm-up; the boundary sizes measured {} times; the interval: {INTERVAL_METHOD}.",
            shares.join(", "),
            c.step_s,
            c.warmup_s,
            c.repeats
        ));
    }
    charts(d, &ran);
    d.table(steps_table(&ran));
    interference(d, &ran);
}

/// Each class's TTFT and TPOT p90 against team size, one line per target (the median of a
/// size's repeats), the class's objective drawn dashed.
fn charts(d: &mut Document, ran: &[(&str, &CapacityReport)]) {
    let mut classes: Vec<Class> = ran
        .iter()
        .flat_map(|(_, c)| {
            c.steps
                .iter()
                .flat_map(|s| s.classes.iter().map(|v| v.class))
        })
        .collect();
    classes.sort();
    classes.dedup();
    let mut svgs = Vec::new();
    for class in classes {
        type Pick = fn(&ClassVerdict) -> Option<f64>;
        let metrics: [(&str, Pick, Option<f64>); 2] = [
            (
                "TTFT p90",
                |v| v.ttft_p90_s,
                ran[0].1.slo.of(class).ttft_p90_s,
            ),
            (
                "TPOT p90",
                |v| v.tpot_p90_s,
                ran[0].1.slo.of(class).tpot_p90_s,
            ),
        ];
        for (metric, pick, limit) in metrics {
            let series: Vec<Series> = ran
                .iter()
                .map(|(name, c)| Series {
                    name,
                    points: by_size(c, class, pick),
                })
                .collect();
            let objective = limit.map(|l| format!("objective {l} s"));
            let title = if class == Class::Autocomplete && metric == "TTFT p90" {
                format!("{class}: first token from the keystroke, p90, by team size")
            } else {
                format!("{class}: {metric} by team size")
            };
            svgs.extend(svg::lines_with(
                &title,
                "developers",
                &format!("{metric} (s)"),
                &series,
                svg::LineOpts {
                    markers: true,
                    hline: limit.zip(objective.as_deref()),
                    ..Default::default()
                },
            ));
        }
    }
    d.charts("Each class against team size", svgs);
}

/// `(team size, median of the class's value over that size's steps)`, by size.
fn by_size(
    c: &CapacityReport,
    class: Class,
    pick: fn(&ClassVerdict) -> Option<f64>,
) -> Vec<(f64, f64)> {
    let mut at: std::collections::BTreeMap<u32, Vec<f64>> = Default::default();
    for s in &c.steps {
        for v in s.classes.iter().filter(|v| v.class == class) {
            if let Some(x) = pick(v) {
                at.entry(s.developers).or_default().push(x);
            }
        }
    }
    at.into_iter()
        .filter_map(|(n, xs)| Some((f64::from(n), Summary::of(xs).p50?)))
        .collect()
}

/// Each class alone at the capacity found against the same class inside the mix.
fn interference(d: &mut Document, ran: &[(&str, &CapacityReport)]) {
    d.heading(3, "Interference: each class alone vs inside the mix");
    let mut table = Table::new(
        [
            "Target",
            "Class",
            "Developers",
            "TTFT p90 alone (s)",
            "In the mix (s)",
            "Mix / alone",
            "TPOT p90 alone (s)",
            "In the mix (s)",
            "Mix / alone",
        ]
        .map(String::from)
        .to_vec(),
    );
    for (name, c) in ran {
        if let Some(why) = &c.interference_note {
            d.item(format!("{name}: interference not measured: {why}"));
        }
        for i in &c.interference {
            let ratio = |r: Option<f64>| r.map_or("—".into(), |r| format!("×{r:.2}"));
            table.row(vec![
                name.to_string(),
                i.class.to_string(),
                i.developers.to_string(),
                fmt(i.alone.ttft_p90_s, 3),
                fmt(i.mix_ttft_p90_s, 3),
                ratio(i.ttft_ratio),
                fmt(i.alone.tpot_p90_s, 4),
                fmt(i.mix_tpot_p90_s, 4),
                ratio(i.tpot_ratio),
            ]);
        }
    }
    d.end_list();
    if ran.iter().any(|(_, c)| !c.interference.is_empty()) {
        d.para("Each class ran one step alone at the capacity found (the same team model, the other classes off); \"in the mix\" is the median of its 90th percentiles over the mix steps at that size. Above ×1, the other classes slow it.");
        d.table(table);
    }
}

/// One row per step and class: the load the team model gave, what the class saw, its
/// objectives' verdict.
fn steps_table(ran: &[(&str, &CapacityReport)]) -> Table {
    let mut table = Table::new(
        [
            "Target",
            "Developers",
            "Repeat",
            "Class",
            "Active (expected)",
            "Requests",
            "Failed",
            "TTFT p90 (s)",
            "TPOT p90 (s)",
            "Goodput (req/s)",
            "Worst check",
            "Step meets",
        ]
        .map(String::from)
        .to_vec(),
    );
    for (name, c) in ran {
        for s in &c.steps {
            for v in &s.classes {
                let worst = if v.not_judged {
                    "not judged (too few requests)".to_string()
                } else {
                    v.checks
                        .iter()
                        .max_by(|a, b| a.ratio.total_cmp(&b.ratio))
                        .map_or("—".into(), |w| {
                            format!("{} {:.3} / {:.3}", w.metric, w.value, w.limit)
                        })
                };
                table.row(vec![
                    name.to_string(),
                    s.developers.to_string(),
                    s.repeat.to_string(),
                    v.class.to_string(),
                    format!("{} ({:.2})", fmt(v.active_mean, 2), v.active_expected),
                    v.requests.to_string(),
                    v.failed.to_string(),
                    fmt(v.ttft_p90_s, 3),
                    fmt(v.tpot_p90_s, 4),
                    fmt(v.goodput_rps, 2),
                    worst,
                    if s.met { "yes" } else { "no" }.into(),
                ]);
            }
        }
    }
    table
}
