//! The comparison's document, in English or Korean: the capacity lead when the reports ran
//! the search, the seed's table per metric (both sides, the difference, which is better,
//! whether it is significant), the load-by-load tables, what needs care, a recommendation per
//! use, the coding-score table, and the charts.

use super::compare::{Comparison, Entry, Pair, Row};
use super::document::{Align, Document, Table};
use super::i18n::{Catalog, Lang, catalog, fill};
use super::table::fmt;

fn unit(u: &str, lang: Lang) -> &str {
    let c = catalog(lang);
    match u {
        "s" => c.unit_seconds,
        "tok/s" => c.unit_tok_s,
        "0-5" => "",
        u => u,
    }
}

fn digits(unit: &str) -> usize {
    if unit == "s" { 3 } else { 2 }
}

/// The delta cell: `−2.32 s (faster)`, bold when the difference is significant.
pub fn delta_cell(r: &Row, lang: Lang) -> String {
    let c = catalog(lang);
    let Some(d) = r.delta else {
        return "—".into();
    };
    let u = unit(&r.unit, lang);
    let word = match (r.unit.as_str(), d < 0.0) {
        ("s", true) => c.faster,
        ("s", false) => c.slower,
        (_, true) => c.lower,
        (_, false) => c.higher,
    };
    if d.abs() < 0.00005 {
        return format!("±0 {u}").trim().to_string();
    }
    // Two decimals as the seed writes them; four for sub-0.1 differences (TPOT, ITL).
    let num = if d.abs() < 0.1 {
        format!("{d:+.4}")
    } else {
        format!("{d:+.2}")
    }
    .replace('-', "−");
    let text = if u.is_empty() {
        format!("{num} ({word})")
    } else if u == "%" {
        format!("{num} % ({word})")
    } else {
        format!("{num} {u} ({word})")
    };
    let bold = r.significant == Some(true) && matches!(r.better.as_deref(), Some("a" | "b"));
    if bold { format!("**{text}**") } else { text }
}

/// The significance cell: the p-value, too few samples, or no samples.
pub fn significance_cell(r: &Row, c: &Catalog) -> String {
    let d = digits(&r.unit) + 1;
    match r.test.as_deref() {
        Some("untestable") => return c.untestable.into(),
        Some(super::compare::RUN_LEVEL_TEST) => {
            if r.significant.is_none() {
                return c.no_samples.into();
            }
            let yes = if r.significant == Some(true) {
                c.yes_no[0]
            } else {
                c.yes_no[1]
            };
            let mut s = fill(
                c.run_level_cell,
                &[
                    ("yes", yes),
                    ("na", &r.n_a.unwrap_or(0).to_string()),
                    ("nb", &r.n_b.unwrap_or(0).to_string()),
                    ("p", &format!("{:.3}", r.p_value.unwrap_or(1.0))),
                ],
            );
            if let Some([lo, hi]) = r.ci95 {
                s.push_str(&format!(" [{lo:.d$} … {hi:.d$}]"));
            }
            return s;
        }
        Some(how) => {
            let how = if how == "mcnemar-exact" {
                c.how[0]
            } else {
                c.how[1]
            };
            let yes = if r.significant == Some(true) {
                c.yes_no[0]
            } else {
                c.yes_no[1]
            };
            let mut s = fill(
                c.paired_cell,
                &[
                    ("yes", yes),
                    ("how", how),
                    ("n", &r.n_a.unwrap_or(0).to_string()),
                    ("p", &format!("{:.3}", r.p_value.unwrap_or(1.0))),
                ],
            );
            if let Some([lo, hi]) = r.ci95 {
                s.push_str(&format!(" [{lo:.2} … {hi:.2}]"));
            }
            return s;
        }
        None => {}
    }
    match (r.significant, r.p_value) {
        (None, _) => c.no_samples.into(),
        // The test alone would say yes: say why the answer is no.
        (Some(false), Some(p)) if p < 0.05 && r.ci95.is_some() => {
            let [lo, hi] = r.ci95.unwrap_or_default();
            fill(
                c.not_significant_ci,
                &[
                    ("p", &format!("{p:.3}")),
                    ("lo", &format!("{lo:.d$}")),
                    ("hi", &format!("{hi:.d$}")),
                ],
            )
        }
        (Some(s), Some(p)) => fill(
            if s { c.significant } else { c.not_significant },
            &[("p", &format!("{p:.3}"))],
        ),
        (Some(_), None) => fill(
            c.too_few,
            &[
                ("na", &r.n_a.unwrap_or(0).to_string()),
                ("nb", &r.n_b.unwrap_or(0).to_string()),
            ],
        ),
    }
}

/// The better-side cell: a target name, tie, or not a goodness measure.
pub fn better_cell(r: &Row, p: &Pair, c: &Catalog) -> String {
    match r.better.as_deref() {
        Some("a") => p.a.clone(),
        Some("b") => p.b.clone(),
        Some(_) => c.tie.into(),
        None if r.a.is_some() && r.b.is_some() => c.neither.into(),
        None => "—".into(),
    }
}

fn pair_table(d: &mut Document, cmp: &Comparison, p: &Pair, lang: Lang) {
    let c = catalog(lang);
    let head = |name: &str| {
        cmp.targets
            .iter()
            .find(|t| t.name == name)
            .map_or(name.to_string(), |t| {
                format!(
                    "{name} (`{}`{})",
                    t.model,
                    t.quantization
                        .as_deref()
                        .map_or(String::new(), |q| format!(", {q}"))
                )
            })
    };
    let mut t = Table::new(vec![
        c.metric_col.to_string(),
        head(&p.a),
        head(&p.b),
        fill(c.compare_col, &[("a", &p.a), ("b", &p.b)]),
        c.better_col.to_string(),
        c.significance_col.to_string(),
    ])
    .aligned(vec![
        Align::Left,
        Align::Right,
        Align::Right,
        Align::Left,
        Align::Left,
        Align::Left,
    ]);
    for r in p.rows.iter().filter(|r| !r.metric.starts_with("quality_")) {
        if r.a.is_none() && r.b.is_none() {
            continue;
        }
        let digits = digits(&r.unit);
        // A cold value of a target whose cold start was not verified is marked as such.
        let mark = |v: Option<f64>, side: &str| {
            let unverified = r.metric.starts_with("cold_")
                && v.is_some()
                && cmp
                    .targets
                    .iter()
                    .any(|t| t.name == side && !t.cold_verified);
            if unverified {
                format!("{} ({})", fmt(v, digits), c.unverified)
            } else {
                fmt(v, digits)
            }
        };
        t.row(vec![
            c.label(&r.metric),
            mark(r.a, &p.a),
            mark(r.b, &p.b),
            delta_cell(r, lang),
            better_cell(r, p, c),
            significance_cell(r, c),
        ]);
    }
    d.table(t);
    d.para(format!(
        "*{} {} {}*",
        fill(c.delta_note, &[("a", &p.a), ("b", &p.b)]),
        c.bold_note,
        c.util_note
    ));
}

/// The comparison section of a document (no title).
pub fn section(d: &mut Document, cmp: &Comparison, lang: Lang) {
    let c = catalog(lang);
    if cmp.targets.len() < 2 {
        d.para(c.single);
    }
    super::compare_load_doc::capacity_method(d, cmp, lang);
    for p in &cmp.pairs {
        d.heading(3, format!("{} vs {}", p.b, p.a));
        pair_table(d, cmp, p, lang);
    }
    super::compare_load_doc::loads_section(d, cmp, lang);
    if !cmp.caveats.is_empty() {
        d.para(format!("**{}:**", c.caveats));
        for cav in &cmp.caveats {
            d.item(c.render(cav));
        }
    }
    if cmp.targets.iter().any(|t| !t.findings.is_empty()) {
        d.para(format!("**{}:**", c.findings));
        for t in &cmp.targets {
            for f in &t.findings {
                d.item(format!("{}: {}", t.name, f.render(lang)));
            }
        }
        d.end_list();
    }
    if !cmp.recommendations.is_empty() {
        d.heading(3, c.recommendations);
        let mut t = Table::new(vec![
            c.scenario_col.to_string(),
            c.better_col.to_string(),
            String::new(),
        ])
        .aligned(vec![Align::Left; 3]);
        for r in &cmp.recommendations {
            let name = use_name(c, &r.scenario);
            t.row(vec![
                name.to_string(),
                r.choice.as_deref().unwrap_or(c.no_choice).to_string(),
                c.render_all(&r.reason),
            ]);
        }
        d.table(t);
    }
    quality_table(d, cmp, lang);
    same_model_section(d, cmp, lang);
}

/// A recommendation's use, in words.
fn use_name(c: &Catalog, scenario: &str) -> &'static str {
    match scenario {
        "interactive" => c.rec_interactive,
        "throughput" => c.rec_throughput,
        "memory" => c.rec_memory,
        _ => c.rec_quality,
    }
}

/// The comparison's verdict in a few lines, for the top of a report: one item per use that
/// names a target, with its reasons and their caveats; the uses the data cannot decide are
/// left to the recommendations table further down.
pub fn conclusion(d: &mut Document, cmp: &Comparison, lang: Lang) {
    let c = catalog(lang);
    super::compare_load_doc::capacity_lead(d, cmp, lang);
    let chosen: Vec<_> = cmp
        .recommendations
        .iter()
        .filter(|r| r.choice.is_some())
        .collect();
    if chosen.is_empty() || cmp.targets.len() < 2 {
        return;
    }
    d.para(format!("**{}:**", c.conclude));
    for r in chosen {
        let name = use_name(c, &r.scenario);
        // Every reason: a lead that dropped "not significant" or "unstable" would overstate.
        d.item(format!(
            "{name}: **{}** — {}",
            r.choice.as_deref().unwrap_or_default(),
            c.render_all(&r.reason)
        ));
    }
    d.end_list();
}

/// "Same model?": identical answers per scenario, the paired pass/fail table and what the
/// data support.
fn same_model_section(d: &mut Document, cmp: &Comparison, lang: Lang) {
    let c = catalog(lang);
    for s in &cmp.same_model {
        d.heading(3, format!("{}: {} / {}", c.same_heading, s.a, s.b));
        d.para(fill(c.same_intro, &[("a", &s.a), ("b", &s.b)]));
        for m in &s.differs {
            d.item(c.render(m));
        }
        d.end_list();
        let mut t = Table::new(c.same_cols.map(String::from).to_vec()).aligned(vec![
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
        ]);
        for sc in &s.scenarios {
            t.row(vec![
                sc.scenario.clone(),
                sc.tasks.to_string(),
                format!("{} ({:.0} %)", sc.identical, sc.share_identical * 100.0),
                fmt(sc.first_divergence_median, 0),
            ]);
        }
        d.table(t);
        if let Some(tb) = s.paired.as_ref().and_then(|p| p.table) {
            d.para(fill(
                c.same_table,
                &[
                    ("both", &tb.both.to_string()),
                    ("oa", &tb.only_a.to_string()),
                    ("ob", &tb.only_b.to_string()),
                    ("neither", &tb.neither.to_string()),
                    ("a", &s.a),
                    ("b", &s.b),
                ],
            ));
        }
        d.para(c.render(&s.finding));
    }
}

/// The coding scores of every target: the baseline's, then each pair's other side.
fn quality_table(d: &mut Document, cmp: &Comparison, lang: Lang) {
    let c = catalog(lang);
    let Some(first) = cmp.pairs.first() else {
        return;
    };
    let metrics: Vec<&Row> = first
        .rows
        .iter()
        .filter(|r| {
            r.metric.starts_with("quality_")
                && cmp.pairs.iter().any(|p| {
                    p.rows
                        .iter()
                        .any(|x| x.metric == r.metric && (x.a.is_some() || x.b.is_some()))
                })
        })
        .collect();
    if metrics.is_empty() {
        return;
    }
    d.heading(3, c.quality);
    let mut head = vec![c.scenario_col.to_string(), first.a.clone()];
    head.extend(cmp.pairs.iter().map(|p| p.b.clone()));
    head.push(c.better_col.to_string());
    head.extend(
        cmp.pairs
            .iter()
            .map(|p| fill(c.paired_col, &[("a", &p.a), ("b", &p.b)])),
    );
    let mut align = vec![Align::Left];
    align.extend(std::iter::repeat_n(Align::Right, cmp.pairs.len() + 1));
    align.push(Align::Left);
    align.extend(std::iter::repeat_n(Align::Left, cmp.pairs.len()));
    let mut t = Table::new(head).aligned(align);
    for r in metrics {
        let label = c.label(&r.metric);
        let label = if r.metric == super::metric::MetricId::QualityAverage.key() {
            format!("**{label}**")
        } else {
            label
        };
        let mut vals = vec![r.a];
        vals.extend(cmp.pairs.iter().map(|p| {
            p.rows
                .iter()
                .find(|x| x.metric == r.metric)
                .and_then(|x| x.b)
        }));
        let mut cells = vec![label];
        let digits = if r.metric == super::compare::PASS_AT_1_KEY {
            3
        } else {
            2
        };
        cells.extend(vals.iter().map(|v| fmt(*v, digits)));
        cells.push(if cmp.pairs.len() == 1 {
            better_cell(r, first, c)
        } else {
            let names: Vec<&str> = std::iter::once(first.a.as_str())
                .chain(cmp.pairs.iter().map(|p| p.b.as_str()))
                .collect();
            match super::table::verdict_of(&vals, super::metric::Direction::Higher) {
                super::table::Verdict::NotComparable => "—".into(),
                super::table::Verdict::Tie => c.tie.into(),
                super::table::Verdict::Best(i) => names[i].to_string(),
            }
        });
        cells.extend(cmp.pairs.iter().map(|p| {
            p.rows
                .iter()
                .find(|x| x.metric == r.metric)
                .map_or("—".into(), |x| significance_cell(x, c))
        }));
        t.row(cells);
    }
    d.table(t);
}

/// The whole comparison document: title, who was compared and when, the comparison, and the
/// charts of the compared runs.
pub fn document(cmp: &Comparison, entries: &[Entry], lang: Lang, date: &str) -> Document {
    let c = catalog(lang);
    let names: Vec<String> = cmp
        .targets
        .iter()
        .map(|t| format!("{} (`{}`)", t.name, t.model))
        .collect();
    let mut d = Document::new(c.title, lang.tag());
    d.para(fill(
        c.intro,
        &[("targets", &names.join(", ")), ("date", date)],
    ));
    d.heading(2, c.summary);
    conclusion(&mut d, cmp, lang);
    section(&mut d, cmp, lang);
    super::charts::section(&mut d, entries, lang);
    d
}
