//! What one phase says in words, wherever a document shows a phase (the report's phase tables,
//! the sessions section). A leaf: the documents use it, it uses none of them.

use super::phase::PhaseReport;
use super::table::fmt;

/// One line on the reasoning before the answers of a phase; `None` when nothing reasoned.
pub fn reasoning_line(name: &str, p: &PhaseReport) -> Option<String> {
    let r = p.reasoning.as_ref()?;
    Some(format!(
        "{name}: {} of {} requests reasoned first: time to first answer token p50 {} s / p90 {} s (first reasoning token p50 {} s), {:.0} % of the chunks were reasoning (mean {} reasoning, {} answer){}",
        r.requests,
        p.ok,
        fmt(r.time_to_first_answer_s.p50, 3),
        fmt(r.time_to_first_answer_s.p90, 3),
        fmt(r.time_to_first_reasoning_s.p50, 3),
        r.reasoning_share.unwrap_or(0.0) * 100.0,
        fmt(r.reasoning_chunks.mean, 0),
        fmt(r.answer_chunks.mean, 0),
        if r.no_answer > 0 {
            format!("; {} reasoned to the limit and never answered", r.no_answer)
        } else {
            String::new()
        }
    ))
}
