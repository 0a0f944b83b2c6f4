//! The charts of a report or comparison, as SVG blocks of its document: latency CDFs, the
//! charted metrics as bars, throughput and TTFT by concurrency, GPU readings over time.

use super::compare::{Entry, metric_value};
use super::document::Document;
use super::i18n::{Lang, catalog, fill};
use super::metric::{CHARTED, MetricId};
use super::svg::{self, Series};

/// The charts of `entries` under their own heading: latency CDFs (from per-request samples,
/// else from the reported quantiles), the charted metrics as bars, throughput and TTFT by
/// concurrency, and GPU readings over time; nothing when there is nothing to draw.
pub fn section(d: &mut Document, entries: &[Entry], lang: Lang) {
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
        svgs.extend(svg::lines_with(
            &fill(c.chart_cdf, &[("m", title)]),
            &format!("{title} (s)"),
            c.axis_share,
            &series,
            svg::LineOpts {
                clip_tail: true,
                ..Default::default()
            },
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
        // The saturation point of the first swept target that has one.
        let saturated = swept.iter().find_map(|e| e.target.saturation.as_ref());
        for (k, (title, y, f)) in [
            (
                c.chart_tput,
                "tok/s",
                (|s: &super::model::LoadStep| s.phase.output_tok_s)
                    as fn(&super::model::LoadStep) -> Option<f64>,
            ),
            (c.chart_ttft_conc, "s", |s: &super::model::LoadStep| {
                s.phase.ttft_s.p50
            }),
        ]
        .into_iter()
        .enumerate()
        {
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
            let mark = saturated
                .filter(|_| k == 0)
                .map(|s| (f64::from(s.concurrency), s.output_tok_s, c.saturation));
            let opts = svg::LineOpts {
                log2_x: true,
                markers: true,
                mark,
                ..Default::default()
            };
            svgs.extend(svg::lines_with(title, c.axis_concurrency, y, &series, opts));
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
    d.charts(c.charts, svgs);
}
