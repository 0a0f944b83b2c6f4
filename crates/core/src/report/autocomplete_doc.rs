//! The autocomplete section of the run report: per target, what the developers saw, what they
//! abandoned, the server's wasted work and whether it stopped, with the findings said plainly.

use super::autocomplete::{AutocompleteReport, DRAIN_S};
use super::document::{Document, Table};
use super::i18n::Lang;
use super::model::TargetReport;
use super::table::fmt;

/// The section, when any target ran the autocomplete workload.
pub fn section(d: &mut Document, targets: &[TargetReport]) {
    let ran: Vec<(String, &AutocompleteReport)> = targets
        .iter()
        .filter_map(|t| Some((t.name.clone(), t.autocomplete()?)))
        .collect();
    if ran.is_empty() {
        return;
    }
    d.heading(2, "IDE autocomplete");
    body(d, &ran);
}

/// The table and findings of the runs named in `ran` (a target, or a team's class).
pub fn body(d: &mut Document, ran: &[(String, &AutocompleteReport)]) {
    let mut table = Table::new(
        [
            "Target",
            "FIM method",
            "Developers",
            "Sent",
            "Completed",
            "Cancelled",
            "Failed",
            "TTFT p50 (s)",
            "TTFT p90 (s)",
            "From keystroke p50 (s)",
            "From keystroke p90 (s)",
            "E2E p90 (s)",
            "Wasted tokens (share)",
            "Time to stop p50 / p90 (s)",
        ]
        .map(String::from)
        .to_vec(),
    );
    for (name, a) in ran {
        let p = &a.shown;
        table.row(vec![
            name.to_string(),
            a.fim_method.clone(),
            a.developers.to_string(),
            a.sent.to_string(),
            a.completed.to_string(),
            a.cancelled.to_string(),
            a.failed.to_string(),
            fmt(p.ttft_s.p50, 3),
            fmt(p.ttft_s.p90, 3),
            fmt(a.ttft_from_keystroke_s.p50, 3),
            fmt(a.ttft_from_keystroke_s.p90, 3),
            fmt(p.e2e_s.p90, 3),
            wasted_cell(a),
            match a.stopping.source {
                None => "not observable".into(),
                Some(_) => format!(
                    "{} / {}",
                    fmt(a.stopping.time_to_stop_s.p50, 3),
                    fmt(a.stopping.time_to_stop_s.p90, 3)
                ),
            },
        ]);
    }
    d.table(table);
    for (name, a) in ran {
        for line in findings(name, a) {
            d.item(line);
        }
    }
    d.end_list();
}

fn wasted_cell(a: &AutocompleteReport) -> String {
    let w = &a.wasted;
    match (w.tokens, w.share) {
        (Some(t), Some(s)) => format!("{t} ({:.0} %, {})", s * 100.0, w.source),
        (Some(t), None) => format!("{t} ({})", w.source),
        _ => "unknown".into(),
    }
}

/// What a reader must know about one target's phase.
fn findings(name: &str, a: &AutocompleteReport) -> Vec<String> {
    let mut out = vec![if a.editor == "llama.vscode" {
        format!(
            "{name}: {} keystrokes over {:.0} s by {} developer(s) as llama.vscode sends them: 256 lines before the cursor's line and 64 after, up to 16 chunks of 32 lines of the places visited, n_predict {}, slot 0, a request on every keystroke unless one is in flight (never aborted); corpus {} ({} files).",
            a.keystrokes, a.duration_s, a.developers, a.max_tokens, a.corpus.path, a.corpus.files
        )
    } else {
        format!(
            "{name}: {} keystrokes over {:.0} s by {} developer(s), debounce {:.0} ms, windows up to {} + {} tokens ({:.2} characters per token by {}), max_tokens {}, corpus {} ({} files).",
            a.keystrokes,
            a.duration_s,
            a.developers,
            a.debounce_s * 1000.0,
            a.windows.prefix_tokens,
            a.windows.suffix_tokens,
            a.windows.chars_per_token,
            a.windows.measured_with,
            a.max_tokens,
            a.corpus.path,
            a.corpus.files
        )
    }];
    if let Some(p) = &a.suffix_probe
        && !p.honoured
    {
        out.push(format!(
            "{name}: **the server ignored the suffix**: two requests with the same prefix and different suffixes got the same answer, so these are not fill-in-the-middle numbers ({}).",
            a.fim_method
        ));
    }
    let s = &a.stopping;
    match (s.source.as_deref(), s.kept_generating) {
        (None, _) => out.push(format!(
            "{name}: whether the server stops generating for abandoned requests is not observable: it reports no running requests."
        )),
        (Some(src), Some(true)) => out.push(format!(
            "{name}: **the server kept generating for abandoned requests**: {} of {} timed stops took a median {} s, and {} were still running when sampling ended (from {src}).",
            s.measured,
            s.cancelled,
            fmt(s.time_to_stop_s.p50, 3),
            s.never_stopped
        )),
        (Some(src), Some(false)) => out.push(format!(
            "{name}: the server stopped abandoned requests within {} s at p90 ({} of {} timed, from {src}, sampled every {:.0} ms).",
            fmt(s.time_to_stop_s.p90, 3),
            s.measured,
            s.cancelled,
            s.poll_s * 1000.0
        )),
        (Some(src), None) => out.push(format!(
            "{name}: no abandoned request could be timed from {src} ({} cancelled).",
            s.cancelled
        )),
    }
    if let Some(n) = s.started_after_drop.filter(|n| *n > 0) {
        out.push(format!(
            "{name}: **the server started {n} of {} abandoned requests only after the client had left**: it does not discard queued requests whose client is gone, so every keystroke costs a prompt's processing and queues the next request behind it.",
            s.cancelled
        ));
    }
    if a.dropped_at_end > 0 {
        out.push(format!(
            "{name}: {} requests still unanswered {DRAIN_S} s after the developers stopped typing were dropped and count as timeouts: the server fell behind the typing.",
            a.dropped_at_end
        ));
    }
    if let Some(n) = &a.wasted.note {
        out.push(format!("{name}: wasted tokens: {n}"));
    }
    if let Some(q) = &a.infill {
        let pct = |x: Option<f64>| x.map_or("—".into(), |v| format!("{:.1} %", v * 100.0));
        let ci = |c: &Option<super::quality_stats::Interval>| {
            c.as_ref().map_or(String::new(), |c| {
                format!(" [{:.1}, {:.1}]", c.low * 100.0, c.high * 100.0)
            })
        };
        out.push(format!(
            "{name}: completion quality, HumanEval {}-infilling ({} tasks, {}): pass@1 {}{} ({} passed), exact match {}{} ({} exact), Wilson 95 %{}.",
            q.span,
            q.tasks,
            a.fim_method,
            pct(q.pass_at_1),
            ci(&q.pass_ci),
            q.passed,
            pct(q.exact_match),
            ci(&q.exact_ci),
            q.exact,
            if q.failed_requests > 0 {
                format!("; {} requests failed and count as failed tasks", q.failed_requests)
            } else {
                String::new()
            }
        ));
    }
    out.extend(
        a.findings
            .iter()
            .map(|w| format!("{name}: {}", w.render(Lang::En))),
    );
    if !a.shown.failures.is_empty() {
        let kinds: Vec<String> = a
            .shown
            .failures
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        out.push(format!("{name}: failures {}", kinds.join(", ")));
    }
    out
}

/// The definitions of the autocomplete metrics.
pub fn definitions(d: &mut Document) {
    for line in [
        "Autocomplete: a completion request goes out after the debounce; the next keystroke drops it (cancelled, `superseded`). Completed: its answer arrived whole before the next keystroke.",
        "TTFT from keystroke: the keystroke that triggered the request → its first token (debounce included), over completed requests.",
        "Infilling (--infill): each HumanEval canonical solution with one line (line) or three lines (block) taken out from its middle; the model fills the gap from the code before and after it on the workload's FIM path (greedy), the task's tests run on the filled program in the sandbox. pass@1: share of tasks whose program passed; exact match: the fill equals the removed code, trailing whitespace aside.",
        "Wasted tokens: tokens the server generated for cancelled requests, and their share of all tokens it generated in the phase.",
        "Time to stop: the client drops the stream → the server no longer runs the request (sampled from /slots or a running-request gauge). Started after the drop: abandoned requests the server began only after the client had left (llama.cpp /slots, which names each request by the seed it was sent with).",
    ] {
        d.item(line);
    }
}
