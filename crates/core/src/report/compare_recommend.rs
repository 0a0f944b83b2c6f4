//! The comparison's recommendations: one per use (interactive, throughput, memory, quality),
//! each naming a target only where the runs can tell them apart, with its reasons as typed
//! messages.

use super::compare_caveats::shaky;
use super::compare_model::*;
use super::compare_same::paired_scores;
use super::i18n::{Code, Message};
use super::metric::MetricId;
use super::quality_stats::PairedTest;
use super::significance::{self, Stat};

pub(crate) fn recommendations(entries: &[Entry]) -> Vec<Recommendation> {
    let mut out = performance_recommendations(entries);
    // A recommendation on speed that rests on an unstable or contradicted measurement says so.
    let shaky = shaky(entries);
    if !shaky.is_empty() {
        for r in out.iter_mut().filter(|r| r.choice.is_some()) {
            r.reason
                .push(Message::new(Code::WhyUnstable).with("x", shaky.join(", ")));
        }
    }
    out.extend(quality_recommendation(entries));
    out
}

fn performance_recommendations(entries: &[Entry]) -> Vec<Recommendation> {
    let pick = |vals: Vec<Option<f64>>, lower: bool| -> Option<(usize, f64)> {
        let have: Vec<(usize, f64)> = vals
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
            .collect();
        if have.len() < 2 {
            return None;
        }
        have.into_iter().min_by(|x, y| {
            let o = x.1.total_cmp(&y.1);
            if lower { o } else { o.reverse() }
        })
    };
    let mut out = Vec::new();
    // Interactive: lowest warm TTFT p50, tested against the runner-up.
    let ttft: Vec<Option<f64>> = entries
        .iter()
        .map(|e| metric_value(e, MetricId::WarmTtftS))
        .collect();
    out.push(match pick(ttft.clone(), true) {
        None => Recommendation {
            scenario: "interactive".into(),
            choice: None,
            reason: vec![Message::new(Code::WhyMissing).word("what", Code::WhatTtft)],
        },
        Some((i, v)) => {
            let mut reason = vec![
                Message::new(Code::WhyInteractive)
                    .with("x", &entries[i].label)
                    .with("v", format!("{v:.3}")),
            ];
            let runner_up = ttft
                .iter()
                .enumerate()
                .filter(|(j, x)| *j != i && x.is_some())
                .min_by(|a, b| a.1.unwrap_or(f64::MAX).total_cmp(&b.1.unwrap_or(f64::MAX)))
                .map(|(j, _)| j);
            if let Some(j) = runner_up {
                let t = match (
                    entries[i].samples.get(MetricId::WarmTtftS.key()),
                    entries[j].samples.get(MetricId::WarmTtftS.key()),
                ) {
                    (Some(a), Some(b)) => significance::test(b, a, Stat::Median).significant,
                    _ => false,
                };
                if !t {
                    reason.push(Message::new(Code::WhyNotSignificant).with("x", &entries[i].label));
                }
            }
            Recommendation {
                scenario: "interactive".into(),
                choice: Some(entries[i].label.clone()),
                reason,
            }
        }
    });
    // Throughput: saturation when every target's sweep saturated; else the best throughput
    // under load when every target ran under load; never single-stream numbers against load
    // data some target has (they can say the opposite: vLLM loses single-stream and doubles
    // llama.cpp at 8 streams); single-stream only where no target ran under load.
    let sat: Vec<Option<f64>> = entries
        .iter()
        .map(|e| e.target.saturation.as_ref().map(|s| s.output_tok_s))
        .collect();
    let peak: Vec<Option<f64>> = entries
        .iter()
        .map(|e| {
            let p = &e.target.phases;
            p.load
                .iter()
                .chain(&p.sweep)
                .filter_map(|s| s.phase.output_tok_s)
                .reduce(f64::max)
        })
        .collect();
    // Every target searched its capacity: the team-level answer is the throughput one.
    if let Some(cap) = super::compare_load::capacity(entries)
        .filter(|c| c.targets.len() == entries.len() && entries.len() > 1)
    {
        let best = &cap.targets[0];
        out.push(Recommendation {
            scenario: "throughput".into(),
            choice: (best.developers > 0).then(|| best.name.clone()),
            reason: cap.verdict.into_iter().collect(),
        });
        return finish(out, entries);
    }
    let (vals, what) = if sat.iter().all(Option::is_some) {
        (sat, Code::WhatSaturation)
    } else if peak.iter().all(Option::is_some) {
        (peak, Code::WhatLoadPeak)
    } else if peak.iter().any(Option::is_some) {
        (vec![None; entries.len()], Code::WhatLoadAll)
    } else {
        (
            entries
                .iter()
                .map(|e| e.target.phases.warm.as_ref().and_then(|p| p.output_tok_s))
                .collect(),
            Code::WhatSingleStream,
        )
    };
    out.push(match pick(vals, false) {
        None => Recommendation {
            scenario: "throughput".into(),
            choice: None,
            reason: vec![Message::new(Code::WhyMissing).word("what", what)],
        },
        Some((i, v)) => Recommendation {
            scenario: "throughput".into(),
            choice: Some(entries[i].label.clone()),
            reason: vec![
                Message::new(Code::WhyThroughput)
                    .with("x", &entries[i].label)
                    .word("what", what)
                    .with("v", format!("{v:.1}")),
            ],
        },
    });
    finish(out, entries)
}

/// The memory recommendation after the others.
fn finish(mut out: Vec<Recommendation>, entries: &[Entry]) -> Vec<Recommendation> {
    let pick = |vals: Vec<Option<f64>>| -> Option<(usize, f64)> {
        let have: Vec<(usize, f64)> = vals
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
            .collect();
        (have.len() >= 2)
            .then(|| have.into_iter().min_by(|x, y| x.1.total_cmp(&y.1)))
            .flatten()
    };
    // Memory: least GPU memory the server held (or device memory in use while warm), else
    // the least device memory % while warm.
    let mem: Vec<Option<f64>> = entries
        .iter()
        .map(|e| {
            e.target
                .memory
                .reserved_bytes
                .map(|b| b as f64)
                .or_else(|| {
                    let g = e.target.phases.warm.as_ref()?.gpu.as_ref()?;
                    g.devices.iter().map(|d| d.mem_used_bytes.mean).sum()
                })
        })
        .collect();
    let pct: Vec<Option<f64>> = entries
        .iter()
        .map(|e| metric_value(e, MetricId::WarmGpuMemPct))
        .collect();
    out.push(match (pick(mem), pick(pct)) {
        (Some((i, v)), _) => Recommendation {
            scenario: "memory".into(),
            choice: Some(entries[i].label.clone()),
            reason: vec![
                Message::new(Code::WhyMemory)
                    .with("x", &entries[i].label)
                    .with("v", format!("{:.2}", v / (1u64 << 30) as f64)),
            ],
        },
        (None, Some((i, v))) => Recommendation {
            scenario: "memory".into(),
            choice: Some(entries[i].label.clone()),
            reason: vec![
                Message::new(Code::WhyMemoryPct)
                    .with("x", &entries[i].label)
                    .with("v", format!("{v:.1}")),
            ],
        },
        (None, None) => Recommendation {
            scenario: "memory".into(),
            choice: None,
            reason: vec![Message::new(Code::WhyMissing).word("what", Code::WhatGpuMem)],
        },
    });
    out
}

/// Quality: the highest average score.
fn quality_recommendation(entries: &[Entry]) -> Option<Recommendation> {
    let q: Vec<Option<f64>> = entries
        .iter()
        .map(|e| e.target.quality.as_ref()?.average_total_score)
        .collect();
    let have: Vec<(usize, f64)> = q
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let best = (have.len() >= 2)
        .then(|| have.into_iter().max_by(|x, y| x.1.total_cmp(&y.1)))
        .flatten();
    // A best score within the tie band of another names no winner.
    let tied = best.and_then(|(i, v)| {
        q.iter()
            .enumerate()
            .find(|(j, w)| *j != i && w.is_some_and(|w| super::metric::is_tie(v, w)))
            .map(|(j, _)| (i, j, v))
    });
    if let Some((i, j, v)) = tied {
        return Some(Recommendation {
            scenario: "quality".into(),
            choice: None,
            reason: vec![
                Message::new(Code::WhyQualityTie)
                    .with("x", &entries[i].label)
                    .with("y", &entries[j].label)
                    .with("v", format!("{v:.2}")),
            ],
        });
    }
    Some(match best {
        None => Recommendation {
            scenario: "quality".into(),
            choice: None,
            reason: vec![Message::new(Code::WhyMissing).word("what", Code::WhatQuality)],
        },
        Some((i, v)) => {
            let mut reason = vec![
                Message::new(Code::WhyQuality)
                    .with("x", &entries[i].label)
                    .with("v", format!("{v:.2}")),
            ];
            // Ahead by a margin the tasks do not confirm, or cannot test.
            let tests: Vec<Option<PairedTest>> = entries
                .iter()
                .enumerate()
                .filter(|(j, e)| *j != i && e.target.quality.is_some())
                .map(|(_, e)| paired_scores(&entries[i], e, |_| true))
                .collect();
            if tests.iter().any(Option::is_none) {
                reason.push(Message::new(Code::WhyUntestable).with("x", &entries[i].label));
            } else if tests.iter().flatten().any(|t| !t.significant) {
                reason.push(Message::new(Code::WhyNotSignificant).with("x", &entries[i].label));
            }
            Recommendation {
                scenario: "quality".into(),
                choice: Some(entries[i].label.clone()),
                reason,
            }
        }
    })
}
