//! The team-mix section of the run report: per target, what ran at once, every class's
//! latencies side by side, the server over the mixed phase, then each class as its own
//! workload reports it (the autocomplete and sessions tables).

use super::autocomplete_doc;
use super::document::{Document, Table};
use super::model::TargetReport;
use super::sessions_doc;
use super::table::fmt;
use super::team::TeamReport;
use crate::server_metrics::{self, Role};

/// The section, when any target ran the team mix.
pub fn section(d: &mut Document, targets: &[TargetReport]) {
    let ran: Vec<(&str, &TeamReport)> = targets
        .iter()
        .filter_map(|t| Some((t.name.as_str(), t.team()?)))
        .collect();
    if ran.is_empty() {
        return;
    }
    d.heading(2, "Team mix");
    for (name, t) in &ran {
        d.item(format!(
            "{name}: {} at once for {:.1} s against one server",
            t.describe(),
            t.duration_s
        ));
    }
    d.end_list();
    d.table(classes_table(&ran));
    d.heading(3, "The server over the mixed phase");
    d.table(server_table(&ran));
    let typing: Vec<(String, _)> = ran
        .iter()
        .filter_map(|(n, t)| Some((format!("{n} / autocomplete"), t.autocomplete.as_ref()?)))
        .collect();
    if !typing.is_empty() {
        d.heading(3, "Autocomplete class");
        autocomplete_doc::body(d, &typing);
    }
    let sessions: Vec<(String, _)> = ran
        .iter()
        .flat_map(|(n, t)| {
            let chat = t.chat.as_ref().map(|s| (format!("{n} / chat"), s));
            let agent = t.agent.as_ref().map(|s| (format!("{n} / agent"), s));
            chat.into_iter().chain(agent)
        })
        .collect();
    if !sessions.is_empty() {
        d.heading(3, "Chat and agent classes");
        sessions_doc::body(d, &sessions);
    }
}

/// One row per class: what it sent and the latencies it saw, side by side.
fn classes_table(ran: &[(&str, &TeamReport)]) -> Table {
    let mut table = Table::new(
        [
            "Target",
            "Class",
            "At once",
            "Requests",
            "OK",
            "Failed",
            "Superseded",
            "Requests/s",
            "TTFT p50 (s)",
            "TTFT p90 (s)",
            "E2E p50 (s)",
            "E2E p90 (s)",
            "TPOT p90 (s)",
            "Output tok/s",
        ]
        .map(String::from)
        .to_vec(),
    );
    for (name, t) in ran {
        for c in &t.classes {
            let Some(class) = c.class else { continue };
            let p = &c.phase;
            table.row(vec![
                name.to_string(),
                class.to_string(),
                t.count(class).to_string(),
                p.requests.to_string(),
                p.ok.to_string(),
                p.failed.to_string(),
                c.superseded.to_string(),
                fmt(c.request_rate_rps, 2),
                fmt(p.ttft_s.p50, 3),
                fmt(p.ttft_s.p90, 3),
                fmt(p.e2e_s.p50, 3),
                fmt(p.e2e_s.p90, 3),
                fmt(p.tpot_s.p90, 4),
                fmt(p.output_tok_s, 1),
            ]);
        }
    }
    table
}

/// The server's own view of the phase: requests running and waiting, KV-cache use.
fn server_table(ran: &[(&str, &TeamReport)]) -> Table {
    let mut table = Table::new(
        [
            "Target",
            "Requests",
            "Output tok/s (all classes)",
            "Running mean / max",
            "Waiting mean / max",
            "KV cache max (%)",
        ]
        .map(String::from)
        .to_vec(),
    );
    for (name, t) in ran {
        let gauges = t.phase.server_metrics.as_ref().map(|m| &m.gauges);
        let gauge = |role| gauges.and_then(|g| server_metrics::first(g, role));
        let pair = |role| {
            gauge(role).map_or("not stated".into(), |g| {
                format!("{} / {}", fmt(g.mean, 1), fmt(g.max, 0))
            })
        };
        table.row(vec![
            name.to_string(),
            t.phase.requests.to_string(),
            fmt(t.phase.output_tok_s, 1),
            pair(Role::Running),
            pair(Role::Waiting),
            gauge(Role::KvUsage).map_or("not stated".into(), |g| fmt(g.max.map(|x| x * 100.0), 1)),
        ]);
    }
    table
}
