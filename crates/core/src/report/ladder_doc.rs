//! The long-context section of the run report: per target and length, the prompt sent and the
//! prompt the server counted, TTFT, prefill and decode rates, skipped steps with their reason,
//! and the truncation finding, said plainly.

use super::document::{Document, Table};
use super::i18n::Lang;
use super::ladder::LadderReport;
use super::model::TargetReport;
use super::table::fmt;

/// The section, when any target ran the context ladder.
pub fn section(d: &mut Document, targets: &[TargetReport]) {
    let ran: Vec<(&str, &LadderReport)> = targets
        .iter()
        .filter_map(|t| Some((t.name.as_str(), t.ladder()?)))
        .collect();
    if ran.is_empty() {
        return;
    }
    d.heading(2, "Long context");
    let mut table = Table::new(
        [
            "Target",
            "Length (tokens)",
            "Sent (tokens)",
            "Server counted",
            "Ok / sent",
            "TTFT p50 (s)",
            "Prefill p50 (tok/s)",
            "Decode p50 (tok/s)",
            "Note",
        ]
        .map(String::from)
        .to_vec(),
    );
    for (name, l) in &ran {
        for s in &l.steps {
            let note = match (&s.skipped, s.truncated) {
                (Some(why), _) => format!("skipped: {why}"),
                (None, true) => "**truncated**".into(),
                (None, false) if !s.phase.failures.is_empty() => s
                    .phase
                    .failures
                    .iter()
                    .map(|(k, n)| format!("{k}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => String::new(),
            };
            table.row(vec![
                name.to_string(),
                s.tokens.to_string(),
                s.sent_tokens.map_or("—".into(), |n| n.to_string()),
                fmt(s.server_prompt_tokens, 0),
                format!("{} / {}", s.phase.ok, s.phase.requests),
                fmt(s.phase.ttft_s.p50, 3),
                fmt(s.prefill_tok_s.p50, 0),
                fmt(s.phase.decode_tok_s.p50, 1),
                note,
            ]);
        }
    }
    d.table(table);
    for (name, l) in &ran {
        d.item(format!(
            "{name}: server context {}, {} tokens generated per request, prompt tokens sent counted by {}.",
            l.server_context
                .map_or("not reported".into(), |n| format!("{n} tokens")),
            l.max_tokens,
            l.sent_counted_by
        ));
        for w in &l.findings {
            d.item(format!("{name}: {}", w.render(Lang::En)));
        }
    }
    d.end_list();
}
