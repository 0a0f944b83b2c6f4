//! The coding-quality section of a report's document: the seed's scenario table (one column
//! per target and which is better), pass@k, each with its 95 % interval, and each target's
//! per-scenario detail, answer drift between re-asks, and quality under load.

use super::document::{Document, Table};
use super::metric::Direction;
use super::model::TargetReport;
use super::quality::{Drift, QualityReport};
use super::quality_stats::Interval;
use super::table::{Verdict, fmt, verdict_of};
use std::collections::BTreeSet;

/// A value with its 95 % interval: `0.579 [0.503, 0.652]`.
pub fn with_ci(v: Option<f64>, ci: Option<&Interval>, digits: usize) -> String {
    match (v, ci) {
        (Some(_), Some(i)) => format!(
            "{} [{}, {}]",
            fmt(v, digits),
            fmt(Some(i.low), digits),
            fmt(Some(i.high), digits)
        ),
        _ => fmt(v, digits),
    }
}

/// What drift between two asks of the same tasks did, in words.
pub fn drift_words(d: &Drift, other: &str) -> String {
    let mut s = format!(
        "{} of {} answers differ from the first ask{}",
        d.differing,
        d.compared,
        d.first_difference_median
            .map(|m| format!(" (median first difference at character {m:.0})"))
            .unwrap_or_default()
    );
    if let (Some(p), Some([lo, hi])) = (d.pass_at_1_other, d.pass_at_1_bounds) {
        s.push_str(&format!(
            "; {} code task(s) changed verdict; pass@1 of {other} {}; drift alone moves pass@1 between {} and {}",
            d.verdict_changes,
            fmt(Some(p), 3),
            fmt(Some(lo), 3),
            fmt(Some(hi), 3)
        ));
    }
    s.push('.');
    s
}

fn better_cell(vals: &[Option<f64>], names: &[&str]) -> String {
    match verdict_of(vals, Direction::Higher) {
        Verdict::NotComparable => "—".into(),
        Verdict::Tie => "tie".into(),
        Verdict::Best(i) => names[i].to_string(),
    }
}

/// The quality section; nothing when no target was evaluated.
pub fn section(d: &mut Document, targets: &[TargetReport]) {
    let evaluated: Vec<(&TargetReport, &QualityReport)> = targets
        .iter()
        .filter_map(|t| Some((t, t.quality.as_ref()?)))
        .collect();
    let Some((_, first)) = evaluated.first() else {
        return;
    };
    let many = evaluated.len() >= 2;
    let names: Vec<&str> = evaluated.iter().map(|(t, _)| t.name.as_str()).collect();
    d.heading(2, "Coding quality");
    d.para(format!(
        "Dataset {}: {} tasks, {} answer(s) per task{}, temperature {}, max_tokens {}{}. Intervals in brackets are 95 %: Wilson for a share of tasks, a bootstrap over tasks for 0–5 scores. Code runs in a sandbox against hidden tests; review answers are matched to planted defects, designs to a checklist. Scores are 0–5: total = (0.5·accuracy + (0.2·consistency + 0.15·code quality + 0.15·clarity) × accuracy/5) / the weights present — a fluent, consistent wrong answer still scores 0.",
        first.dataset,
        first.tasks,
        first.samples,
        if first.samples < 2 {
            " plus one rerun for consistency"
        } else {
            ""
        },
        first.temperature,
        first.max_tokens,
        if first.prompt_style.is_empty() {
            String::new()
        } else {
            format!(", prompt style {}", first.prompt_style)
        }
    ));
    let mut head = vec!["Scenario (total 0–5; higher is better)".to_string()];
    head.extend(names.iter().map(|n| n.to_string()));
    if many {
        head.push("Better".into());
    }
    let mut table = Table::new(head);
    let scenarios: BTreeSet<&String> = evaluated
        .iter()
        .flat_map(|(_, q)| q.scenarios.keys())
        .collect();
    let mut line = |label: String, vals: Vec<(Option<f64>, Option<&Interval>)>, digits: usize| {
        let mut cells = vec![label];
        cells.extend(vals.iter().map(|(v, ci)| with_ci(*v, *ci, digits)));
        let vals: Vec<Option<f64>> = vals.iter().map(|(v, _)| *v).collect();
        if many {
            cells.push(better_cell(&vals, &names));
        }
        table.row(cells);
    };
    for s in &scenarios {
        let vals = evaluated
            .iter()
            .map(|(_, q)| {
                let sc = q.scenarios.get(*s);
                (
                    sc.and_then(|x| x.total_score),
                    sc.and_then(|x| x.total_score_ci.as_ref()),
                )
            })
            .collect();
        line(s.to_string(), vals, 2);
    }
    line(
        "Average score".into(),
        evaluated
            .iter()
            .map(|(_, q)| (q.average_total_score, None))
            .collect(),
        2,
    );
    if evaluated.iter().any(|(_, q)| q.pass_at_1.is_some()) {
        let ks: BTreeSet<&String> = evaluated
            .iter()
            .flat_map(|(_, q)| q.pass_at_k.keys())
            .collect();
        for k in ks {
            line(
                format!("pass@{k} (code tasks, 0–1)"),
                evaluated
                    .iter()
                    .map(|(_, q)| (q.pass_at_k.get(k).copied(), q.pass_at_k_ci.get(k)))
                    .collect(),
                3,
            );
        }
    }
    d.table(table);
    if many {
        d.para(
            "\"Better\" names the highest score; differences under 2 % are a tie. It is not a significance test: overlapping intervals, or a difference of a task or two, mean the data cannot tell the targets apart — `servebench compare` tests it task by task.",
        );
    }
    for (t, q) in &evaluated {
        d.heading(3, format!("Quality: {}", t.name));
        let mut table = Table::new(
            [
                "Scenario",
                "Tasks",
                "Passed / failed / errors",
                "Accuracy",
                "Consistency",
                "Code quality",
                "Clarity",
                "Total",
                "Judge (mean; parse failures)",
            ]
            .map(String::from)
            .to_vec(),
        );
        for (name, s) in &q.scenarios {
            let judge = s.judge.as_ref().map_or("—".to_string(), |j| {
                format!(
                    "{} ({} of {} unparsed; `{}`)",
                    fmt(j.mean_score, 2),
                    j.parse_failures,
                    j.judged,
                    j.model
                )
            });
            table.row(vec![
                name.clone(),
                s.tasks.to_string(),
                format!("{} / {} / {}", s.passed, s.failed, s.errors),
                with_ci(s.accuracy, s.accuracy_ci.as_ref(), 2),
                fmt(s.consistency, 2),
                fmt(s.code_quality, 2),
                fmt(s.clarity, 2),
                with_ci(s.total_score, s.total_score_ci.as_ref(), 2),
                judge,
            ]);
        }
        d.table(table);
        if q.answers_graded < q.answers_planned {
            d.para(format!(
                "Graded {} of {} planned answers (the run was interrupted before the rest were asked): every score covers the graded answers only.",
                q.answers_graded, q.answers_planned
            ));
        }
        if q.errors > 0 {
            d.para(format!(
                "{} answer(s) could not be graded (servebench's own failure — its sandbox or grader — or a request cut off by an interruption; not the model's): pass@1 is over {} of {} code tasks, and every score leaves those answers out.",
                q.errors, q.code_tasks_scored, q.code_tasks
            ));
        }
        if let Some(dr) = &q.drift
            && dr.compared > 0
        {
            d.para(format!(
                "Drift between greedy re-asks: {}",
                drift_words(dr, "the re-asks")
            ));
        }
        if let Some(l) = &q.under_load {
            let mut para = format!(
                "Under load ({}): {} answers; pass@1 {} against {} sequential",
                l.profile,
                l.answers,
                with_ci(l.pass_at_1, l.pass_at_1_ci.as_ref(), 3),
                with_ci(q.pass_at_1, q.pass_at_1_ci.as_ref(), 3)
            );
            if let Some(p) = &l.paired {
                para.push_str(&format!(
                    " ({}; paired by task, McNemar exact p = {:.3}: {})",
                    p.table.map_or(String::new(), |t| format!(
                        "both pass {}, only sequential {}, only under load {}, neither {}",
                        t.both, t.only_a, t.only_b, t.neither
                    )),
                    p.p_value,
                    if p.significant {
                        "a significant difference"
                    } else {
                        "no significant difference"
                    }
                ));
            }
            para.push_str(". Drift against the sequential answers: ");
            para.push_str(&drift_words(&l.drift, "the answers under load"));
            d.para(para);
        }
        if let Some(sb) = &q.sandbox {
            d.para(format!("Sandbox: {sb}."));
        }
    }
}
