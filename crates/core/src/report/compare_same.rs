//! "Same model?": whether two targets serve one model, their answers side by side (identical
//! answers per scenario, where they diverge) and the paired tests by task that say whether a
//! quality gap is the stack's or nothing at all.

use super::compare_model::*;
use super::i18n::{Code, Message};
use super::model::TargetReport;
use super::quality::TaskOutcome;
use super::quality_stats::{self, PairedTest};
use std::collections::BTreeMap;

/// Whether two targets serve the same model: the same name, or the same family and size in
/// their model facts (parameter counts within 5 %, or the same stated size).
pub fn same_model(a: &TargetReport, b: &TargetReport) -> bool {
    let (ma, mb) = (&a.model_info, &b.model_info);
    let size = match (ma.parameter_count, mb.parameter_count) {
        (Some(x), Some(y)) => (x as f64 - y as f64).abs() <= 0.05 * x.max(y) as f64,
        _ => ma.parameter_size.is_some() && ma.parameter_size == mb.parameter_size,
    };
    a.model.eq_ignore_ascii_case(&b.model)
        || (ma.family.is_some() && ma.family == mb.family && size)
}

/// The same-model view of two entries; `None` unless both serve the same model and answered
/// common tasks.
pub(crate) fn same_model_pair(a: &Entry, b: &Entry) -> Option<SameModel> {
    let (qa, qb) = (a.target.quality.as_ref()?, b.target.quality.as_ref()?);
    // Greedy answers are comparable only when asked the same way.
    let asked = |q: &super::quality::QualityReport| {
        (q.dataset.clone(), q.prompt_style.clone(), q.max_tokens)
    };
    if !same_model(a.target, b.target)
        || qa.temperature != 0.0
        || qb.temperature != 0.0
        || asked(qa) != asked(qb)
    {
        return None;
    }
    let pairs = task_pairs(a, b, |_| true)?;
    let mut by: BTreeMap<&str, Vec<(&TaskOutcome, &TaskOutcome)>> = BTreeMap::new();
    for (x, y) in &pairs {
        by.entry(x.scenario.as_str()).or_default().push((x, y));
    }
    let scenarios: Vec<SameScenario> = by
        .into_iter()
        .map(|(s, ps)| {
            let mut firsts: Vec<f64> = ps
                .iter()
                .filter_map(|(x, y)| super::score::first_difference(&x.answer, &y.answer))
                .map(|p| p as f64)
                .collect();
            firsts.sort_by(f64::total_cmp);
            let identical = ps.len() - firsts.len();
            SameScenario {
                scenario: s.into(),
                tasks: ps.len(),
                identical,
                share_identical: identical as f64 / ps.len() as f64,
                first_divergence_median: (!firsts.is_empty())
                    .then(|| crate::stats::quantile_sorted(&firsts, 0.5)),
            }
        })
        .collect();
    let identical: usize = scenarios.iter().map(|s| s.identical).sum();
    let share = identical as f64 / pairs.len() as f64;
    let paired = paired_pass(a, b).filter(|t| t.table.is_some());
    let pct = format!("{:.0}", share * 100.0);
    let (oa, ob) = paired
        .as_ref()
        .and_then(|t| t.table)
        .map_or((0, 0), |t| (t.only_a, t.only_b));
    let significant = paired.as_ref().is_some_and(|t| t.significant);
    let code = if significant {
        Code::SameQuality
    } else if share >= ALIKE {
        Code::SameAlike
    } else if paired.is_none() {
        Code::SameUntested
    } else {
        Code::SameText
    };
    let finding = Message::new(code)
        .with("a", &a.label)
        .with("b", &b.label)
        .with("pct", pct)
        .with("oa", oa.to_string())
        .with("ob", ob.to_string())
        .with(
            "p",
            paired
                .as_ref()
                .map_or("—".into(), |t| format!("{:.3}", t.p_value)),
        );
    Some(SameModel {
        a: a.label.clone(),
        b: b.label.clone(),
        scenarios,
        paired,
        finding,
        differs: differs(a, b),
    })
}

/// What differs between two targets serving one model: the quantisation each states, and the
/// server each is (read from the metric names of its `/metrics`, with its stated version).
fn differs(a: &Entry, b: &Entry) -> Vec<Message> {
    let mut out = Vec::new();
    let quant = |e: &Entry| e.target.model_info.quantization.clone();
    if let (Some(qa), Some(qb)) = (quant(a), quant(b))
        && !qa.eq_ignore_ascii_case(&qb)
    {
        out.push(
            Message::new(Code::SameDiffersQuant)
                .with("a", &a.label)
                .with("b", &b.label)
                .with("qa", qa)
                .with("qb", qb),
        );
    }
    if let (Some(sa), Some(sb)) = (server_of(a.target), server_of(b.target))
        && sa != sb
    {
        out.push(
            Message::new(Code::SameDiffersServer)
                .with("a", &a.label)
                .with("b", &b.label)
                .with("sa", sa)
                .with("sb", sb),
        );
    }
    out
}

/// The server a target is, by the names of the metrics its `/metrics` served (vLLM,
/// llama.cpp, SGLang, TGI), with the version it stated; `None` when it served none.
pub fn server_of(t: &TargetReport) -> Option<String> {
    let p = &t.phases;
    let phases = p
        .cold
        .iter()
        .chain(p.warm.iter())
        .chain(p.load.iter().map(|l| &l.phase))
        .chain(p.sweep.iter().map(|l| &l.phase));
    let server = phases
        .filter_map(|ph| ph.server_metrics.as_ref())
        .flat_map(|m| m.gauges.keys().chain(m.counters.keys()))
        .find_map(|name| {
            crate::server_metrics::ALL
                .iter()
                .find(|s| s.metrics.iter().any(|m| m.name == name.as_str()))
        })?;
    Some(match &t.server_version {
        Some(v) => format!("{} {v}", server.label),
        None => server.label.to_string(),
    })
}

/// Per-task outcomes of both entries for the tasks both answered (matched by scenario and
/// task id), filtered by `keep`.
pub(crate) fn task_pairs<'e>(
    a: &'e Entry,
    b: &'e Entry,
    keep: impl Fn(&TaskOutcome) -> bool,
) -> Option<Vec<(&'e TaskOutcome, &'e TaskOutcome)>> {
    let (qa, qb) = (a.target.quality.as_ref()?, b.target.quality.as_ref()?);
    let other: BTreeMap<(&str, &str), &TaskOutcome> = qb
        .per_task
        .iter()
        .filter(|t| keep(t) && t.answers > 0)
        .map(|t| ((t.scenario.as_str(), t.task_id.as_str()), t))
        .collect();
    let pairs: Vec<_> = qa
        .per_task
        .iter()
        .filter(|t| keep(t) && t.answers > 0)
        .filter_map(|t| Some((t, *other.get(&(t.scenario.as_str(), t.task_id.as_str()))?)))
        .collect();
    (!pairs.is_empty()).then_some(pairs)
}

/// The paired test of per-task totals (0–5; per-task accuracy for reports written before
/// tasks carried their total) over the tasks `keep` selects.
pub(crate) fn paired_scores(
    a: &Entry,
    b: &Entry,
    keep: impl Fn(&TaskOutcome) -> bool,
) -> Option<PairedTest> {
    let pairs = task_pairs(a, b, keep)?;
    let totals: Option<Vec<(f64, f64)>> = pairs
        .iter()
        .map(|(x, y)| Some((x.total?, y.total?)))
        .collect();
    let values = totals.unwrap_or_else(|| pairs.iter().map(|(x, y)| (x.score, y.score)).collect());
    Some(quality_stats::paired_scores(&values))
}

/// pass@1 paired by task: McNemar on one answer per task, else the paired test of per-task
/// pass rates.
pub(crate) fn paired_pass(a: &Entry, b: &Entry) -> Option<PairedTest> {
    let pairs = task_pairs(a, b, |t| t.code)?;
    if pairs.iter().all(|(x, y)| x.answers == 1 && y.answers == 1) {
        return Some(quality_stats::mcnemar(
            &pairs
                .iter()
                .map(|(x, y)| (x.passed == 1, y.passed == 1))
                .collect::<Vec<_>>(),
        ));
    }
    let rate = |t: &TaskOutcome| t.passed as f64 / t.answers as f64;
    Some(quality_stats::paired_scores(
        &pairs
            .iter()
            .map(|(x, y)| (rate(x), rate(y)))
            .collect::<Vec<_>>(),
    ))
}
