//! The HTML report: one self-contained file (inline CSS and SVG, no script, no network) with
//! the comparison tables, latency CDFs, the seed's metrics as bars, throughput and TTFT by
//! concurrency, GPU readings over time and the quality table. Prints on A4 and reads at 1280 px.

use super::compare::{Comparison, Entry, metric_value};
use super::compare_md::{better_cell, delta_cell, significance_cell};
use super::i18n::{Lang, catalog, fill};
use super::metric::{CHARTED, MetricId};
use super::svg::{self, Series, esc};
use super::table::fmt;
use std::fmt::Write;

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans KR',sans-serif;margin:0;color:#222;background:#fafafa}main{max-width:1200px;margin:0 auto;padding:24px;background:white}h1{font-size:26px}h2{margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}table{border-collapse:collapse;margin:12px 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f0f0f0}.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{border:1px solid #eee;max-width:100%;height:auto}.note{color:#555;font-size:13px}@media print{body{background:white}main{max-width:none;padding:0}.charts svg{page-break-inside:avoid}h2{page-break-after:avoid}}";

fn md_inline(s: &str) -> String {
    // The cells carry Markdown emphasis and code spans; turn them into HTML after escaping.
    let mut out = String::new();
    for (i, part) in esc(s).split("**").enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<strong>{part}</strong>");
        } else {
            out.push_str(part);
        }
    }
    let mut res = String::new();
    for (i, part) in out.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(res, "<code>{part}</code>");
        } else {
            res.push_str(part);
        }
    }
    res
}

fn table(o: &mut String, head: &[String], rows: &[Vec<(String, bool)>]) {
    o.push_str("<table><thead><tr>");
    for h in head {
        let _ = write!(o, "<th>{}</th>", md_inline(h));
    }
    o.push_str("</tr></thead><tbody>");
    for r in rows {
        o.push_str("<tr>");
        for (c, num) in r {
            let _ = write!(
                o,
                "<td{}>{}</td>",
                if *num { " class=\"n\"" } else { "" },
                md_inline(c)
            );
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table>");
}

fn comparison(o: &mut String, cmp: &Comparison, lang: Lang) {
    let c = catalog(lang);
    if cmp.targets.len() < 2 {
        let _ = write!(o, "<p>{}</p>", esc(c.single));
    }
    for p in &cmp.pairs {
        let _ = write!(o, "<h3>{} vs {}</h3>", esc(&p.b), esc(&p.a));
        let head = vec![
            c.metric_col.to_string(),
            p.a.clone(),
            p.b.clone(),
            fill(c.compare_col, &[("a", &p.a), ("b", &p.b)]),
            c.better_col.to_string(),
            c.significance_col.to_string(),
        ];
        let rows: Vec<Vec<(String, bool)>> = p
            .rows
            .iter()
            .filter(|r| r.a.is_some() || r.b.is_some())
            .map(|r| {
                let d = if r.unit == "s" { 3 } else { 2 };
                vec![
                    (c.label(&r.metric), false),
                    (fmt(r.a, d), true),
                    (fmt(r.b, d), true),
                    (delta_cell(r, lang), false),
                    (better_cell(r, p, c), false),
                    (significance_cell(r, c), false),
                ]
            })
            .collect();
        table(o, &head, &rows);
        let _ = write!(
            o,
            "<p class=\"note\">{} {} {}</p>",
            esc(&fill(c.delta_note, &[("a", &p.a), ("b", &p.b)])),
            esc(c.bold_note),
            esc(c.util_note)
        );
    }
    if !cmp.caveats.is_empty() {
        let _ = write!(o, "<h3>{}</h3><ul>", esc(c.caveats));
        for cav in &cmp.caveats {
            let _ = write!(o, "<li>{}</li>", md_inline(&c.render(cav)));
        }
        o.push_str("</ul>");
    }
    if !cmp.recommendations.is_empty() {
        let _ = write!(o, "<h3>{}</h3>", esc(c.recommendations));
        let rows: Vec<Vec<(String, bool)>> = cmp
            .recommendations
            .iter()
            .map(|r| {
                let name = match r.scenario.as_str() {
                    "interactive" => c.rec_interactive,
                    "throughput" => c.rec_throughput,
                    "memory" => c.rec_memory,
                    _ => c.rec_quality,
                };
                vec![
                    (name.to_string(), false),
                    (
                        r.choice.clone().unwrap_or_else(|| c.no_choice.into()),
                        false,
                    ),
                    (c.render_all(&r.reason), false),
                ]
            })
            .collect();
        table(
            o,
            &[c.scenario_col.into(), c.better_col.into(), String::new()],
            &rows,
        );
    }
}

fn quality(o: &mut String, entries: &[Entry], lang: Lang) {
    let c = catalog(lang);
    let evaluated: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.target.quality.is_some())
        .collect();
    if evaluated.is_empty() {
        return;
    }
    let _ = write!(o, "<h2>{}</h2>", esc(c.quality));
    let mut names: Vec<String> = evaluated
        .iter()
        .flat_map(|e| {
            e.target
                .quality
                .as_ref()
                .map(|q| q.scenarios.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .collect();
    names.sort();
    names.dedup();
    let mut head = vec![c.scenario_col.to_string()];
    head.extend(evaluated.iter().map(|e| e.label.clone()));
    let mut rows: Vec<Vec<(String, bool)>> = names
        .iter()
        .map(|n| {
            let mut r = vec![(format!("`{n}`"), false)];
            r.extend(evaluated.iter().map(|e| {
                let q = e
                    .target
                    .quality
                    .as_ref()
                    .and_then(|q| q.scenarios.get(n)?.total_score);
                (fmt(q, 2), true)
            }));
            r
        })
        .collect();
    let mut avg = vec![(format!("**{}**", c.average), false)];
    avg.extend(evaluated.iter().map(|e| {
        (
            fmt(
                e.target
                    .quality
                    .as_ref()
                    .and_then(|q| q.average_total_score),
                2,
            ),
            true,
        )
    }));
    rows.push(avg);
    table(o, &head, &rows);
}

fn charts(o: &mut String, entries: &[Entry], lang: Lang) {
    let c = catalog(lang);
    let mut svgs: Vec<String> = Vec::new();
    // Latency CDFs from per-request samples, else from the reported quantiles.
    for (id, title) in [(MetricId::WarmTtftS, "TTFT"), (MetricId::WarmE2eS, "E2E")] {
        let series: Vec<Series> = entries
            .iter()
            .map(|e| {
                let points = match e.samples.get(id.key()) {
                    Some(v) => svg::cdf(v),
                    None => e
                        .target
                        .phases
                        .warm
                        .as_ref()
                        .map(|w| {
                            let s = if id == MetricId::WarmTtftS {
                                &w.ttft_s
                            } else {
                                &w.e2e_s
                            };
                            [
                                (s.min, 0.0),
                                (s.p50, 0.5),
                                (s.p90, 0.9),
                                (s.p95, 0.95),
                                (s.p99, 0.99),
                                (s.max, 1.0),
                            ]
                            .iter()
                            .filter_map(|(x, q)| Some(((*x)?, *q)))
                            .collect()
                        })
                        .unwrap_or_default(),
                };
                Series {
                    name: &e.label,
                    points,
                }
            })
            .collect();
        svgs.extend(svg::lines(
            &fill(c.chart_cdf, &[("m", title)]),
            &format!("{title} (s)"),
            c.axis_share,
            &series,
        ));
    }
    for &id in CHARTED {
        let vals: Vec<(&str, Option<f64>)> = entries
            .iter()
            .map(|e| (e.label.as_str(), metric_value(e, id)))
            .collect();
        svgs.extend(svg::bars((c.metric)(id), "", &vals));
    }
    let swept: Vec<&Entry> = entries
        .iter()
        .filter(|e| !e.target.phases.sweep.is_empty())
        .collect();
    if !swept.is_empty() {
        for (title, y, f) in [
            (
                c.chart_tput,
                "tok/s",
                (|s: &super::model::LoadStep| s.phase.output_tok_s)
                    as fn(&super::model::LoadStep) -> Option<f64>,
            ),
            (c.chart_ttft_conc, "s", |s: &super::model::LoadStep| {
                s.phase.ttft_s.p50
            }),
        ] {
            let series: Vec<Series> = swept
                .iter()
                .map(|e| Series {
                    name: &e.label,
                    points: e
                        .target
                        .phases
                        .sweep
                        .iter()
                        .filter_map(|s| Some((f64::from(s.concurrency?), f(s)?)))
                        .collect(),
                })
                .collect();
            svgs.extend(svg::lines(title, c.axis_concurrency, y, &series));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for e in entries.iter().filter(|e| !e.gpu.timeline.is_empty()) {
        if !seen.insert(e.source.clone()) {
            continue;
        }
        let tl = &e.gpu.timeline;
        let series = [
            Series {
                name: "GPU util %",
                points: tl
                    .iter()
                    .filter_map(|p| Some((p.t_s, p.gpu_util_pct?)))
                    .collect(),
            },
            Series {
                name: "memory %",
                points: tl
                    .iter()
                    .filter_map(|p| Some((p.t_s, p.mem_used_pct?)))
                    .collect(),
            },
        ];
        svgs.extend(svg::lines(
            &fill(c.chart_gpu, &[("x", &e.source)]),
            "s",
            "%",
            &series,
        ));
    }
    if svgs.is_empty() {
        return;
    }
    let _ = write!(o, "<h2>{}</h2><div class=\"charts\">", esc(c.charts));
    for s in svgs {
        o.push_str(&s);
    }
    o.push_str("</div>");
}

/// The whole HTML document.
pub fn render(entries: &[Entry], cmp: &Comparison, lang: Lang, date: &str) -> String {
    let c = catalog(lang);
    let mut o = String::new();
    let names: Vec<String> = cmp
        .targets
        .iter()
        .map(|t| format!("{} (`{}`)", t.name, t.model))
        .collect();
    let _ = write!(
        o,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body><main><h1>{}</h1><p>{}</p><h2>{}</h2>",
        if lang == Lang::Ko { "ko" } else { "en" },
        esc(c.title),
        esc(c.title),
        md_inline(&fill(
            c.intro,
            &[("targets", &names.join(", ")), ("date", date)]
        )),
        esc(c.summary)
    );
    comparison(&mut o, cmp, lang);
    quality(&mut o, entries, lang);
    charts(&mut o, entries, lang);
    o.push_str("<p class=\"note\">servebench</p></main></body></html>\n");
    o
}
