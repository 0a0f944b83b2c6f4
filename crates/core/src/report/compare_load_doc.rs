//! The comparison document's answers under load, in English or Korean: the capacity lead (each
//! target's developers with the interval, the verdict, which stack by team size) and the
//! load-by-load tables with their crossover.

use super::compare_load_model::{CapacityComparison, LoadComparison, SizeBand, load_of};
use super::compare_model::Comparison;
use super::document::{Document, Table};
use super::i18n::{Catalog, Lang, catalog, fill};
use super::table::fmt;

/// The capacity lead: a line per target, the verdict and the team-size bands.
pub fn capacity_lead(d: &mut Document, cmp: &Comparison, lang: Lang) {
    let Some(cap) = &cmp.capacity else { return };
    let c = catalog(lang);
    d.para(format!("**{}:**", c.cap_heading));
    for t in &cap.targets {
        let mut line = fill(
            c.cap_line,
            &[
                ("x", &t.name),
                ("n", &t.developers.to_string()),
                ("interval", &t.interval()),
            ],
        );
        if let Some([class, metric, v, limit]) = &t.broke_first {
            line.push_str("; ");
            line.push_str(&fill(
                c.cap_broke,
                &[
                    ("class", class),
                    ("metric", metric),
                    ("v", v),
                    ("limit", limit),
                ],
            ));
        }
        d.item(line);
    }
    if let Some(v) = &cap.verdict {
        d.item(c.render(v));
    }
    if cap.targets.len() > 1 {
        d.item(format!("{}: {}", c.cap_by_size, bands(c, cap)));
    }
    d.end_list();
}

/// `up to 4 developers: either (vllm, llamacpp); 5–14 developers: vllm; more than 14: …`.
fn bands(c: &Catalog, cap: &CapacityComparison) -> String {
    cap.bands
        .iter()
        .map(|b| band(c, b, cap.targets.len()))
        .collect::<Vec<_>>()
        .join("; ")
}

fn band(c: &Catalog, b: &SizeBand, targets: usize) -> String {
    let Some(to) = b.to else {
        return fill(c.band_beyond, &[("n", &(b.from - 1).to_string())]);
    };
    let range = if b.from == 1 {
        fill(c.band_upto, &[("to", &to.to_string())])
    } else {
        fill(
            c.band_range,
            &[("from", &b.from.to_string()), ("to", &to.to_string())],
        )
    };
    let who = if b.serve.len() > 1 && b.serve.len() == targets {
        fill(c.band_either, &[("x", &b.serve.join(", "))])
    } else {
        b.serve.join(", ")
    };
    format!("{range}: {who}")
}

/// The method behind the capacity lead, for the comparison's body.
pub fn capacity_method(d: &mut Document, cmp: &Comparison, lang: Lang) {
    if cmp.capacity.is_some() {
        d.para(catalog(lang).cap_method);
    }
}

/// One table per pair sharing loads, with the crossover under it.
pub fn loads_section(d: &mut Document, cmp: &Comparison, lang: Lang) {
    let c = catalog(lang);
    for l in &cmp.loads {
        d.heading(3, fill(c.load_heading, &[("a", &l.a), ("b", &l.b)]));
        d.table(load_table(c, l));
        if let Some(m) = &l.crossover {
            d.para(c.render(m));
        }
    }
}

fn load_table(c: &Catalog, l: &LoadComparison) -> Table {
    let head = fill(c.load_cols, &[("a", &l.a), ("b", &l.b)]);
    let mut t = Table::new(head.split('|').map(String::from).collect());
    for r in &l.rows {
        let (streams, n) = load_of(r);
        let load = fill(
            if streams { c.load_streams } else { c.load_rate },
            &[("n", &n)],
        );
        t.row(vec![
            load,
            fmt(r.a_tok_s, 1),
            fmt(r.b_tok_s, 1),
            fmt(r.a_ttft_p90_s, 3),
            fmt(r.b_ttft_p90_s, 3),
            r.ahead.clone().unwrap_or_else(|| c.tie_word.to_string()),
        ]);
    }
    t
}
