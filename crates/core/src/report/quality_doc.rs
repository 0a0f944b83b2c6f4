//! The coding-quality section of a report's document: the seed's scenario table (one column
//! per target and which is better), pass@k, and each target's per-scenario detail.

use super::document::{Document, Table};
use super::metric::Direction;
use super::model::TargetReport;
use super::quality::QualityReport;
use super::table::{Verdict, fmt, verdict_of};
use std::collections::BTreeSet;

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
        "Dataset {}: {} tasks, {} answer(s) per task{}, temperature {}, max_tokens {}. Code runs in a sandbox against hidden tests; review answers are matched to planted defects, designs to a checklist. Scores are 0–5: total = (0.5·accuracy + (0.2·consistency + 0.15·code quality + 0.15·clarity) × accuracy/5) / the weights present — a fluent, consistent wrong answer still scores 0.",
        first.dataset,
        first.tasks,
        first.samples,
        if first.samples < 2 {
            " plus one rerun for consistency"
        } else {
            ""
        },
        first.temperature,
        first.max_tokens
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
    let mut line = |label: String, vals: Vec<Option<f64>>, digits: usize| {
        let mut cells = vec![label];
        cells.extend(vals.iter().map(|v| fmt(*v, digits)));
        if many {
            cells.push(better_cell(&vals, &names));
        }
        table.row(cells);
    };
    for s in &scenarios {
        let vals = evaluated
            .iter()
            .map(|(_, q)| q.scenarios.get(*s).and_then(|x| x.total_score))
            .collect();
        line(s.to_string(), vals, 2);
    }
    line(
        "Average score".into(),
        evaluated
            .iter()
            .map(|(_, q)| q.average_total_score)
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
                    .map(|(_, q)| q.pass_at_k.get(k).copied())
                    .collect(),
                3,
            );
        }
    }
    d.table(table);
    if many {
        d.para(
            "\"Better\" names the highest score; differences under 2 % are a tie. With few tasks a difference of one task moves a score a lot: read the per-scenario counts below.",
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
                fmt(s.accuracy, 2),
                fmt(s.consistency, 2),
                fmt(s.code_quality, 2),
                fmt(s.clarity, 2),
                fmt(s.total_score, 2),
                judge,
            ]);
        }
        d.table(table);
        if q.errors > 0 {
            d.para(format!(
                "{} answer(s) could not be graded (a grader fault, not the model's): they are left out of every score.",
                q.errors
            ));
        }
        if let Some(sb) = &q.sandbox {
            d.para(format!("Sandbox: {sb}."));
        }
    }
}
