//! The comparison's answers under load: the capacity each target serves at the team's
//! objectives (from `servebench capacity`), whether the difference is significant, which
//! stack to use by team size, and — where the reports hold sweeps or load steps — throughput
//! and latency set side by side at every load both measured, with the crossover named. A
//! single-stream figure never stands in for these when they exist.

use super::compare_load_model::*;
use super::compare_model::Entry;
use super::i18n::{Code, Message};
use super::metric::is_tie;
use super::model::WorkloadReport;

/// The capacities, when at least one compared report ran the search.
pub fn capacity(entries: &[Entry]) -> Option<CapacityComparison> {
    let mut targets: Vec<CapacityOf> = entries
        .iter()
        .filter_map(|e| match &e.target.workload {
            Some(WorkloadReport::Capacity(c)) => Some(CapacityOf {
                name: e.label.clone(),
                developers: c.capacity.developers,
                low: c.capacity.low,
                high: c.capacity.high,
                broke_first: c.broke_first.as_ref().map(|b| {
                    [
                        b.class.to_string(),
                        b.metric.to_string(),
                        format!("{:.3}", b.value),
                        format!("{:.3}", b.limit),
                    ]
                }),
            }),
            _ => None,
        })
        .collect();
    if targets.is_empty() {
        return None;
    }
    targets.sort_by_key(|t| std::cmp::Reverse(t.developers));
    let verdict = match targets.as_slice() {
        [best, next, ..] => {
            // Apart when the leader's low end is above the runner-up's high end.
            let apart = next.high.is_some_and(|h| best.low > h);
            Some(
                Message::new(if apart {
                    Code::CapSignificant
                } else {
                    Code::CapOverlap
                })
                .with("x", &best.name)
                .with("y", &next.name),
            )
        }
        _ => None,
    };
    Some(CapacityComparison {
        bands: bands(&targets),
        verdict,
        targets,
    })
}

/// Team-size bands from the point capacities (`targets` most first): each band ends at a
/// target's capacity, and holds every target whose capacity reaches it.
fn bands(targets: &[CapacityOf]) -> Vec<SizeBand> {
    let mut edges: Vec<u32> = targets
        .iter()
        .map(|t| t.developers)
        .filter(|n| *n > 0)
        .collect();
    edges.sort_unstable();
    edges.dedup();
    let mut out = Vec::new();
    let mut from = 1;
    for to in edges {
        out.push(SizeBand {
            from,
            to: Some(to),
            serve: targets
                .iter()
                .filter(|t| t.developers >= to)
                .map(|t| t.name.clone())
                .collect(),
        });
        from = to + 1;
    }
    out.push(SizeBand {
        from,
        to: None,
        serve: Vec::new(),
    });
    out
}

/// The load-by-load comparisons of the baseline with each other target that shares loads
/// with it.
pub fn loads(entries: &[Entry]) -> Vec<LoadComparison> {
    let Some(a) = entries.first() else {
        return Vec::new();
    };
    entries[1..]
        .iter()
        .filter_map(|b| load_pair(a, b))
        .collect()
}

/// A step's load key: streams, or a rate in milli-req/s (rates match to 0.001 req/s).
fn key(s: &super::model::LoadStep) -> Option<(u8, u64)> {
    match (s.concurrency, s.rate) {
        (Some(c), _) => Some((0, u64::from(c))),
        (None, Some(r)) => Some((1, (r * 1000.0).round() as u64)),
        _ => None,
    }
}

/// A target's load and sweep steps by load.
fn steps<'a>(e: &Entry<'a>) -> std::collections::BTreeMap<(u8, u64), &'a super::model::LoadStep> {
    let p = &e.target.phases;
    p.load
        .iter()
        .chain(&p.sweep)
        .filter_map(|s| key(s).map(|k| (k, s)))
        .collect()
}

fn load_pair(a: &Entry, b: &Entry) -> Option<LoadComparison> {
    let (sa, sb) = (steps(a), steps(b));
    let rows: Vec<LoadRow> = sa
        .iter()
        .filter_map(|(k, x)| sb.get(k).map(|y| (x, y)))
        .map(|(x, y)| {
            let (ta, tb) = (x.phase.output_tok_s, y.phase.output_tok_s);
            let ahead = match (ta, tb) {
                (Some(p), Some(q)) if !is_tie(p, q) => {
                    Some(if p > q { &a.label } else { &b.label }.clone())
                }
                _ => None,
            };
            LoadRow {
                concurrency: x.concurrency,
                rate: x.concurrency.is_none().then_some(x.rate).flatten(),
                a_tok_s: ta,
                b_tok_s: tb,
                a_ttft_p90_s: x.phase.ttft_s.p90,
                b_ttft_p90_s: y.phase.ttft_s.p90,
                ahead,
            }
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    Some(LoadComparison {
        a: a.label.clone(),
        b: b.label.clone(),
        crossover: crossover(&rows),
        rows,
    })
}

/// The first change of leader over the loads (ties skipped), or that one leads throughout.
fn crossover(rows: &[LoadRow]) -> Option<Message> {
    let led: Vec<(&LoadRow, &String)> = rows
        .iter()
        .filter_map(|r| r.ahead.as_ref().map(|x| (r, x)))
        .collect();
    let (first_row, first) = *led.first()?;
    let (streams, from) = load_of(first_row);
    let unit = if streams {
        Code::UnitStreams
    } else {
        Code::UnitRate
    };
    match led.iter().find(|(_, x)| *x != first) {
        Some((r, y)) => Some(
            Message::new(Code::Crossover)
                .with("x", first)
                .with("from", from)
                .with("y", *y)
                .with("to", load_of(r).1)
                .word("unit", unit),
        ),
        None => Some(Message::new(Code::NoCrossover).with("x", first)),
    }
}
