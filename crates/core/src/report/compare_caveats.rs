//! The comparison's caveats: what needs care before reading a row — quantisation, prompt
//! cache, unstable or contradictory numbers, starved CPUs, preallocated memory, single-stream
//! numbers, workloads, cold loads, fallbacks, failed targets, grader errors — as typed
//! messages.

use super::compare_model::*;
use super::i18n::{Code, Message};
use super::metric::{MetricId, is_tie};
use super::model::{AttemptStatus, TargetStatus};
use super::phase::instability;
use std::collections::BTreeSet;

pub(crate) fn caveats(entries: &[Entry]) -> Vec<Message> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for e in entries {
        if !seen.insert((e.source.clone(), e.target.name.clone())) {
            out.push(Message::new(Code::CavSame).with("x", &e.label));
        }
    }
    let Some(base) = entries.first() else {
        return out;
    };
    // How the rows were tested, when a side was repeated.
    for e in &entries[1..] {
        let (na, nb) = (base.runs.len(), e.runs.len());
        let (x, y) = (base.label.as_str(), e.label.as_str());
        if na >= 2 && nb >= 2 {
            out.push(
                Message::new(Code::CavRunLevel)
                    .with("x", x)
                    .with("y", y)
                    .with("na", na.to_string())
                    .with("nb", nb.to_string()),
            );
        } else if na >= 2 || nb >= 2 {
            let (x, y, n) = if na >= 2 { (x, y, na) } else { (y, x, nb) };
            out.push(
                Message::new(Code::CavRepeatedOneSide)
                    .with("x", x)
                    .with("y", y)
                    .with("n", n.to_string()),
            );
        }
    }
    for e in entries {
        let x = e.label.as_str();
        if e.target.status == TargetStatus::Failed && !e.repeated() {
            out.push(
                Message::new(Code::CavFailed)
                    .with("x", x)
                    .with("error", e.target.error.as_deref().unwrap_or("?")),
            );
        }
        // A repeat that failed: named, its values missing from the means.
        for (k, r) in e.runs.iter().enumerate().filter(|_| e.repeated()) {
            if r.target.status == TargetStatus::Failed {
                out.push(
                    Message::new(Code::CavFailed)
                        .with("x", format!("{x} (repeat {})", k + 1))
                        .with("error", r.target.error.as_deref().unwrap_or("?")),
                );
            }
        }
        if let Some(q) = e.target.quality.as_ref().filter(|q| q.errors > 0) {
            out.push(
                Message::new(Code::CavGraderErrors)
                    .with("x", x)
                    .with("errors", q.errors.to_string())
                    .with("scored", q.code_tasks_scored.to_string())
                    .with("tasks", q.code_tasks.to_string()),
            );
        }
        if e.target.model_info.quantization.is_none() && e.target.status == TargetStatus::Ok {
            out.push(Message::new(Code::CavQuantUnknown).with("x", x));
        }
        if let Some(f) = e.target.memory.preallocated_fraction {
            out.push(
                Message::new(Code::CavPrealloc)
                    .with("x", x)
                    .with("pct", format!("{:.0}", f * 100.0)),
            );
        }
        // A capacity search is load data: every step runs many developers at once.
        let searched = matches!(
            e.target.workload,
            Some(super::model::WorkloadReport::Capacity(_))
        );
        if e.target.phases.sweep.is_empty()
            && e.target.phases.load.is_none()
            && e.settings.performance
            && !searched
        {
            out.push(Message::new(Code::CavSingleStream).with("x", x));
        }
        if !e.target.cold_verified && e.target.phases.cold.is_some() {
            out.push(Message::new(Code::CavCold).with("x", x));
        }
        if let Some((spread, cv)) = e.target.phases.warm.as_ref().and_then(instability) {
            out.push(
                Message::new(Code::CavUnstable)
                    .with("x", x)
                    .with("spread", format!("{spread:.0}"))
                    .with("cv", format!("{cv:.1}")),
            );
        }
        if let Some((cpu, threads)) = super::model::cpu_starved(e.target) {
            out.push(
                Message::new(Code::CavCpuStarved)
                    .with("x", x)
                    .with("cpu", format!("{cpu:.0}"))
                    .with("threads", threads.to_string()),
            );
        }
        if let Some((mean, phase)) = contradiction(base, e) {
            out.push(
                Message::new(Code::CavContradiction)
                    .with("mean", mean)
                    .with("phase", phase),
            );
        }
        if e.settings.unique_prompts {
            for (phase, hits, of) in super::model::cache_hits(e.target) {
                // Cold and warm are words of the catalogue; a load profile is its own name.
                let m = Message::new(Code::CavPromptCache).with("x", x);
                let m = match phase.as_str() {
                    "cold" => m.word("phase", Code::PhaseCold),
                    "warm" => m.word("phase", Code::PhaseWarm),
                    _ => m.with("phase", phase),
                };
                out.push(m.with("n", hits.to_string()).with("of", of.to_string()));
            }
        }
        if e.repeated() {
            // Every repeat's fallback, since each is in the means over runs.
            for (k, r) in e.runs.iter().enumerate() {
                if let Some(tried) = fallback(r.target) {
                    out.push(
                        Message::new(Code::CavFallbackRepeat)
                            .with("x", x)
                            .with("k", (k + 1).to_string())
                            .with("tried", tried)
                            .with("model", &r.target.model),
                    );
                }
            }
            // Tables the comparison draws from the first repeat's target.
            let p = &e.target.phases;
            if searched || p.load.is_some() || !p.sweep.is_empty() {
                out.push(
                    Message::new(Code::CavRepeatViews)
                        .with("x", x)
                        .with("n", e.runs.len().to_string()),
                );
            }
        } else if let Some(tried) = fallback(e.target) {
            out.push(
                Message::new(Code::CavFallback)
                    .with("x", x)
                    .with("tried", tried)
                    .with("model", &e.target.model),
            );
        }
        if !e.gpu.available && e.settings.performance {
            out.push(
                Message::new(Code::CavNoGpu)
                    .with("x", x)
                    .with("reason", e.gpu.reason.as_deref().unwrap_or("?")),
            );
        }
    }
    for e in entries.iter().skip(1) {
        let (qa, qb) = (
            &base.target.model_info.quantization,
            &e.target.model_info.quantization,
        );
        if let (Some(a), Some(b)) = (qa, qb)
            && !a.eq_ignore_ascii_case(b)
        {
            out.push(
                Message::new(Code::CavQuant)
                    .with("a", format!("{} ({a})", base.label))
                    .with("b", format!("{} ({b})", e.label)),
            );
        }
        if base.target.model != e.target.model {
            out.push(
                Message::new(Code::CavModels)
                    .with("a", &base.target.model)
                    .with("b", &e.target.model),
            );
        }
        let (sa, sb) = (base.settings, e.settings);
        let mut diffs = Vec::new();
        if sa.prompts != sb.prompts {
            diffs.push("prompts");
        }
        if sa.max_tokens != sb.max_tokens {
            diffs.push("max_tokens");
        }
        if sa.temperature != sb.temperature {
            diffs.push("temperature");
        }
        if sa.warm != sb.warm {
            diffs.push("warm");
        }
        if !diffs.is_empty() {
            out.push(Message::new(Code::CavWorkload).with("what", diffs.join(", ")));
        }
    }
    out.dedup();
    out
}

/// The models a target tried before the one it measured, when it fell back (and was then
/// measured).
fn fallback(t: &super::model::TargetReport) -> Option<String> {
    let failed: Vec<&str> = t
        .attempts
        .iter()
        .filter(|a| a.status != AttemptStatus::Ok)
        .map(|a| a.model.as_str())
        .collect();
    (!failed.is_empty() && t.status == TargetStatus::Ok).then(|| failed.join(", "))
}

/// When the per-request mean (warm TPS) and the phase throughput name different better sides
/// of `a` and `b` (each beyond the tie band): (the mean's winner, the phase's winner).
pub(crate) fn contradiction<'e>(a: &'e Entry, b: &'e Entry) -> Option<(&'e str, &'e str)> {
    let (am, bm) = (
        metric_value(a, MetricId::WarmTokS)?,
        metric_value(b, MetricId::WarmTokS)?,
    );
    let (ap, bp) = (
        metric_value(a, MetricId::WarmOutputTokS)?,
        metric_value(b, MetricId::WarmOutputTokS)?,
    );
    if is_tie(am, bm) || is_tie(ap, bp) || (am > bm) == (ap > bp) {
        return None;
    }
    let winner = |first: bool| {
        if first {
            a.label.as_str()
        } else {
            b.label.as_str()
        }
    };
    Some((winner(am > bm), winner(ap > bp)))
}

/// The labels of targets whose warm measurements are unstable or contradict another's.
pub(crate) fn shaky<'a>(entries: &'a [Entry<'a>]) -> Vec<&'a str> {
    let mut out: Vec<&str> = entries
        .iter()
        .filter(|e| {
            e.target
                .phases
                .warm
                .as_ref()
                .and_then(instability)
                .is_some()
                || super::model::cpu_starved(e.target).is_some()
        })
        .map(|e| e.label.as_str())
        .collect();
    if let Some(base) = entries.first() {
        for e in &entries[1..] {
            if contradiction(base, e).is_some() {
                out.extend([base.label.as_str(), e.label.as_str()]);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}
