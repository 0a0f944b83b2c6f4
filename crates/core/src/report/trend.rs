//! A metric over the stored runs (`servebench history trend`): per target, one point per run,
//! oldest first, each run whose settings or labels differ from the target's run before it
//! marked with what changed — a trend across a changed setting is not a trend. One document
//! (a chart and a table) for Markdown and HTML, and CSV rows.

use super::document::{Document, Table};
use super::svg::{self, Series};
use std::collections::BTreeMap;

/// One run's value for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The run's id.
    pub run: String,
    /// When it ran (RFC 3339).
    pub created_at: String,
    /// The target.
    pub target: String,
    /// The metric's value (`None`: not measured in that run).
    pub value: Option<f64>,
    /// The run's settings, as JSON (compared between runs).
    pub settings: serde_json::Value,
    /// The run's labels.
    pub labels: BTreeMap<String, String>,
}

/// Labels that describe the machine or the command, not the setting under test.
const IGNORED_LABELS: &[&str] = &["cpu", "git_commit"];

/// What differs between a target's run and the one before it: settings by key, then labels;
/// empty when nothing does.
pub fn changed(before: &Point, after: &Point) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (before.settings.as_object(), after.settings.as_object()) {
        let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for k in keys {
            let (x, y) = (a.get(k), b.get(k));
            if x != y {
                let f =
                    |v: Option<&serde_json::Value>| v.map_or("—".to_string(), |v| v.to_string());
                out.push(format!("{k} {} → {}", f(x), f(y)));
            }
        }
    }
    let keys: std::collections::BTreeSet<&String> = before
        .labels
        .keys()
        .chain(after.labels.keys())
        .filter(|k| !IGNORED_LABELS.contains(&k.as_str()))
        .collect();
    for k in keys {
        let (x, y) = (before.labels.get(k), after.labels.get(k));
        if x != y {
            out.push(format!(
                "{k}={} → {}",
                x.map_or("—", |v| v.as_str()),
                y.map_or("—", |v| v.as_str())
            ));
        }
    }
    out
}

/// The points grouped by target, oldest first within each.
fn by_target(points: &[Point]) -> BTreeMap<&str, Vec<&Point>> {
    let mut m: BTreeMap<&str, Vec<&Point>> = BTreeMap::new();
    for p in points {
        m.entry(p.target.as_str()).or_default().push(p);
    }
    for v in m.values_mut() {
        v.sort_by(|a, b| (&a.created_at, &a.run).cmp(&(&b.created_at, &b.run)));
    }
    m
}

/// The trend of `metric` as a document: a line per target over its runs (the x axis counts
/// runs, oldest first), and a table of every point with what changed before it.
pub fn document(metric: &str, points: &[Point]) -> Document {
    let mut d = Document::new(&format!("Trend: {metric}"), "en");
    let groups = by_target(points);
    if groups.is_empty() {
        d.para("No stored run matches: nothing to draw.");
        return d;
    }
    d.para(format!(
        "{} run(s) of {} target(s), oldest first. A run marked with a change ran with other settings or labels than the target's run before it: the points on either side are not the same experiment.",
        points.iter().map(|p| &p.run).collect::<std::collections::BTreeSet<_>>().len(),
        groups.len()
    ));
    let series: Vec<Series> = groups
        .iter()
        .map(|(t, ps)| Series {
            name: t,
            points: ps
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Some(((i + 1) as f64, p.value?)))
                .collect(),
        })
        .collect();
    d.charts(
        "Trend",
        svg::lines_with(
            metric,
            "run (oldest first)",
            metric,
            &series,
            svg::LineOpts {
                markers: true,
                ..Default::default()
            },
        )
        .into_iter()
        .collect(),
    );
    let mut table = Table::new(
        [
            "Target",
            "#",
            "Run",
            "Created",
            "Value",
            "Changed since the run before",
        ]
        .map(String::from)
        .to_vec(),
    );
    for (t, ps) in &groups {
        for (i, p) in ps.iter().enumerate() {
            let change = if i == 0 {
                String::new()
            } else {
                changed(ps[i - 1], p).join("; ")
            };
            table.row(vec![
                t.to_string(),
                (i + 1).to_string(),
                p.run.clone(),
                p.created_at.clone(),
                p.value.map_or("—".into(), |v| format!("{v:.4}")),
                change,
            ]);
        }
    }
    d.table(table);
    d
}

/// The points as CSV: `target,run,created_at,value,changed`.
pub fn csv(points: &[Point]) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut out = String::from("target,run,created_at,value,changed\n");
    for (t, ps) in by_target(points) {
        for (i, p) in ps.iter().enumerate() {
            let change = if i == 0 {
                String::new()
            } else {
                changed(ps[i - 1], p).join("; ")
            };
            out.push_str(&format!(
                "{},{},{},{},{}\n",
                q(t),
                q(&p.run),
                q(&p.created_at),
                p.value.map_or(String::new(), |v| v.to_string()),
                q(&change)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(run: &str, at: &str, value: f64, max_tokens: u32, server: &str) -> Point {
        Point {
            run: run.into(),
            created_at: at.into(),
            target: "vllm".into(),
            value: Some(value),
            settings: serde_json::json!({"max_tokens": max_tokens, "warm": 10}),
            labels: [
                ("server".to_string(), server.to_string()),
                ("cpu".to_string(), run.to_string()),
            ]
            .into(),
        }
    }

    #[test]
    fn a_run_with_other_settings_or_labels_is_marked_with_what_changed() {
        let points = [
            point("r3", "2026-12-03T00:00:00.000Z", 0.30, 128, "vllm-0.32"),
            point("r1", "2026-12-01T00:00:00.000Z", 0.10, 256, "vllm-0.31"),
            point("r2", "2026-12-02T00:00:00.000Z", 0.11, 256, "vllm-0.31"),
        ];
        let csv = csv(&points);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4, "{csv}");
        // Oldest first; the machine label (cpu) differs every run and is not a change.
        assert!(lines[1].starts_with("\"vllm\",\"r1\"") && lines[1].ends_with(",\"\""));
        assert!(lines[2].ends_with(",\"\""), "{}", lines[2]);
        assert!(
            lines[3].contains("max_tokens 256 → 128; server=vllm-0.31 → vllm-0.32"),
            "{}",
            lines[3]
        );
        let md = super::super::markdown::Markdown;
        let text = super::super::document::Exporter::export(&md, &document("warm_ttft_s", &points));
        assert!(text.contains("| vllm | 3 | r3 |"), "{text}");
        let html = super::super::document::Exporter::export(
            &super::super::html::Html,
            &document("warm_ttft_s", &points),
        );
        assert!(html.contains("<svg") && html.contains("run (oldest first)"));
    }
}
