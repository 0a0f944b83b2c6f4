//! The sessions section of the run report: per target, how its sessions went, per turn what the
//! developers waited and how much of the prompt the server took from its cache, a chart of TTFT
//! by turn, and the findings said plainly.

use super::document::{Document, Table};
use super::i18n::Lang;
use super::model::TargetReport;
use super::sessions::SessionsReport;
use super::svg;
use super::table::fmt;

fn pct(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{:.1} %", v * 100.0))
}

/// The section, when any target ran the sessions workload.
pub fn section(d: &mut Document, targets: &[TargetReport]) {
    // A sweep's steps are named by their load (`sessions:4`).
    let ran: Vec<(String, &SessionsReport)> = targets
        .iter()
        .flat_map(|t| {
            let one = t.sessions().map(|s| (t.name.clone(), s));
            let steps = t
                .sessions_sweep()
                .iter()
                .map(|s| (format!("{} @ {}", t.name, s.load), s));
            one.into_iter().chain(steps)
        })
        .collect();
    if ran.is_empty() {
        return;
    }
    d.heading(2, "Chat and agent sessions");
    body(d, &ran);
}

/// The table, charts and findings of the runs named in `ran` (a target, a sweep step, or a
/// team's class).
pub fn body(d: &mut Document, ran: &[(String, &SessionsReport)]) {
    let mut table = Table::new(
        [
            "Target",
            "Source",
            "Load",
            "Sessions started / completed",
            "Turns ok / sent",
            "TTFT p50 (s)",
            "TTFT p90 (s)",
            "E2E p90 (s)",
            "Cache hit rate",
            "History reused",
            "Cache count",
        ]
        .map(String::from)
        .to_vec(),
    );
    for (name, s) in ran {
        table.row(vec![
            name.to_string(),
            s.source.clone(),
            s.load.clone(),
            format!("{} / {}", s.started, s.completed),
            format!("{} / {}", s.turns.ok, s.turns.requests),
            fmt(s.turns.ttft_s.p50, 3),
            fmt(s.turns.ttft_s.p90, 3),
            fmt(s.turns.e2e_s.p90, 3),
            pct(s.cache.hit_rate),
            pct(s.cache.history_reuse),
            s.cache
                .source
                .clone()
                .unwrap_or_else(|| "not reported".into()),
        ]);
    }
    d.table(table);
    let mut by_turn = Table::new(
        [
            "Target",
            "Turn",
            "Ok / sent",
            "TTFT p50 (s)",
            "TTFT p90 (s)",
            "Prompt tokens (mean)",
            "Cached tokens (mean)",
            "Output tokens (mean)",
            "Cache hit rate",
            "History reused",
        ]
        .map(String::from)
        .to_vec(),
    );
    for (name, s) in ran {
        for t in &s.by_turn {
            by_turn.row(vec![
                name.to_string(),
                t.turn.to_string(),
                format!("{} / {}", t.ok, t.requests),
                fmt(t.ttft_s.p50, 3),
                fmt(t.ttft_s.p90, 3),
                fmt(t.input_tokens.mean, 0),
                fmt(t.cached_tokens.mean, 0),
                fmt(t.output_tokens.mean, 0),
                pct(t.cache_hit_rate),
                pct(t.history_reuse),
            ]);
        }
    }
    d.table(by_turn);
    let series: Vec<svg::Series> = ran
        .iter()
        .map(|(name, s)| svg::Series {
            name: name.as_str(),
            points: s
                .by_turn
                .iter()
                .filter_map(|t| Some((f64::from(t.turn), t.ttft_s.p50?)))
                .collect(),
        })
        .collect();
    let opts = svg::LineOpts {
        markers: true,
        ..Default::default()
    };
    if let Some(chart) = svg::lines_with("TTFT p50 by turn", "turn", "TTFT (s)", &series, opts) {
        d.charts("TTFT by turn", vec![chart]);
    }
    for (name, s) in ran {
        d.item(format!(
            "{name}: {} sessions from {} ({}), think time {}{}; {} ended at a failed turn, {} cut by the end of the run.",
            s.sessions,
            s.source,
            s.load,
            s.think_time,
            s.context_tokens
                .map(|k| format!(", {k} tokens of shared context"))
                .unwrap_or_default(),
            s.ended_early,
            s.cut_by_end
        ));
        if let Some(p) = &s.server_prefix_cache {
            d.item(format!(
                "{name}: the server's own prefix-cache counters: {:.0} of {:.0} prompt tokens looked up were hits ({}).",
                p.hits,
                p.queries,
                pct(p.hit_rate)
            ));
        }
        for w in &s.findings {
            d.item(format!("{name}: {}", w.render(Lang::En)));
        }
        if let Some(line) = super::phase_doc::reasoning_line(name, &s.turns) {
            d.item(line);
        }
        if !s.turns.failures.is_empty() {
            let kinds: Vec<String> = s
                .turns
                .failures
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            d.item(format!("{name}: failures {}", kinds.join(", ")));
        }
    }
    d.end_list();
}

/// The definitions of the session metrics.
pub fn definitions(d: &mut Document) {
    for line in [
        "Session: a conversation of turns; each turn resends the whole history (with the server's actual replies) plus the next user message, after a think time. Sessions at once (sessions:N) or new sessions per second (rate:R) are the load.",
        "Cache hit rate: prompt tokens the server took from its prompt cache / prompt tokens, as the server reported them (llama.cpp timings.cache_n, vLLM usage.prompt_tokens_details.cached_tokens) or, where the server reports none (Ollama), estimated: prompt tokens − prompt-evaluation time × the rate measured on an uncached prompt.",
        "History reused: on turns 2 and later, cached tokens / the session's previous prompt and reply — the share of what a prefix cache could have kept that it did keep.",
        "context_exceeded: the server refused the prompt as longer than its context; the session ends at that turn.",
    ] {
        d.item(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::Block;
    use crate::report::finding::{Finding, FindingCode};
    use crate::report::sessions::TurnStats;
    use crate::stats::Summary;

    #[test]
    fn the_section_charts_ttft_by_turn_and_says_the_findings() {
        let turn = |k: u32, p50: f64| TurnStats {
            turn: k,
            requests: 2,
            ok: 2,
            ttft_s: Summary::of([p50, p50]),
            ..Default::default()
        };
        let mut t = crate::report::fixtures::target("llamacpp", crate::spec::Api::Llamacpp, 1.0);
        t.workload = Some(crate::report::WorkloadReport::Sessions(SessionsReport {
            source: "repo".into(),
            load: "sessions:2".into(),
            by_turn: vec![turn(1, 2.8), turn(2, 0.3), turn(3, 0.3)],
            findings: vec![
                Finding::new(FindingCode::HistoryReprocessed)
                    .with("reused", 0)
                    .with("reusable", 900)
                    .with("pct", "0.0"),
            ],
            ..Default::default()
        }));
        let mut d = Document::fragment("en");
        section(&mut d, &[t]);
        let charts: Vec<&Block> = d
            .visible()
            .filter(|b| matches!(b, Block::Charts { .. }))
            .collect();
        assert_eq!(charts.len(), 1);
        let Block::Charts { svgs, .. } = charts[0] else {
            unreachable!()
        };
        assert!(svgs[0].contains("TTFT p50 by turn"), "{}", svgs[0]);
        let md = crate::report::document::Exporter::export(&crate::report::markdown::Markdown, &d);
        assert!(md.contains("| llamacpp | 2 | 2 / 2 | 0.300 |"), "{md}");
        assert!(
            md.contains("llamacpp: re-processed the whole history every turn"),
            "{md}"
        );
    }
}
