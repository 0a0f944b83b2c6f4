//! The comparison's answers under load on hand-built reports: the capacity lead with its
//! verdict and team-size bands (English and Korean), the throughput recommendation following
//! capacity, and the load-by-load table with its crossover.

use super::capacity::{Check, ClassSlos, Developer, Estimate, SloMetric};
use super::capacity_report::CapacityReport;
use super::compare::compare;
use super::compare_tests::{entries, gpu, render, seed_pair, settings};
use super::i18n::Lang;
use super::model::*;
use super::phase::PhaseReport;
use crate::spec::Class;
use crate::stats::Summary;

fn searched(t: &mut TargetReport, developers: u32, low: u32, high: Option<u32>) {
    t.workload = Some(WorkloadReport::Capacity(CapacityReport {
        developer: Developer::default(),
        slo: ClassSlos::default(),
        step_s: 30.0,
        warmup_s: 5.0,
        repeats: 3,
        capacity: Estimate {
            developers,
            low,
            high,
            method: "test".into(),
        },
        broke_first: Some(Check {
            class: Class::Autocomplete,
            metric: SloMetric::TtftP90,
            value: 0.61,
            limit: 0.5,
            ratio: 1.22,
        }),
        steps: vec![],
        budget_exhausted: false,
        interrupted: false,
        search_s: 600.0,
        interference: vec![],
        interference_note: None,
        at_capacity: None,
        undecided: None,
        quality: None,
        quality_note: None,
    }));
}

#[test]
fn the_comparison_leads_with_capacity_and_recommends_by_team_size() {
    let (mut a, mut b) = seed_pair();
    searched(&mut a, 4, 3, Some(5));
    searched(&mut b, 14, 12, Some(16));
    let (s, g) = (settings(), gpu());
    let cmp = compare(&entries(&a, &b, &s, &g));
    let cap = cmp.capacity.as_ref().expect("capacity compared");
    assert_eq!(cap.targets[0].name, "vLLM");
    let bands: Vec<(u32, Option<u32>, usize)> = cap
        .bands
        .iter()
        .map(|b| (b.from, b.to, b.serve.len()))
        .collect();
    assert_eq!(bands, [(1, Some(4), 2), (5, Some(14), 1), (15, None, 0)]);
    let en = render(&cmp, Lang::En, "today");
    let lead = en
        .find("Capacity at the team's objectives")
        .expect("a capacity lead");
    assert!(
        lead < en.find("Conclusion").unwrap_or(usize::MAX)
            && lead < en.find("| Metric").unwrap_or(usize::MAX),
        "{en}"
    );
    for want in [
        "vLLM: 14 developers (95 % interval 12–16)",
        "Ollama: 4 developers (95 % interval 3–5); autocomplete breaks first, on TTFT p90 (0.610 against 0.500)",
        "vLLM serves more developers than Ollama: their 95 % intervals do not overlap (significant).",
        "By team size: up to 4 developers: either (vLLM, Ollama); 5–14 developers: vLLM; more than 14: no stack measured",
    ] {
        assert!(en.contains(want), "missing {want:?} in\n{en}");
    }
    let ko = render(&cmp, Lang::Ko, "today");
    assert!(
        ko.contains("vLLM: 개발자 14명 (95 % 구간 12–16)") && ko.contains("팀 규모별"),
        "{ko}"
    );
    // The throughput recommendation is the capacity, not a single-stream figure.
    let r = cmp
        .recommendations
        .iter()
        .find(|r| r.scenario == "throughput")
        .unwrap();
    assert_eq!(r.choice.as_deref(), Some("vLLM"));
    // Overlapping intervals: not told apart.
    searched(&mut a, 11, 9, Some(13));
    let cmp = compare(&entries(&a, &b, &s, &g));
    let en = render(&cmp, Lang::En, "today");
    assert!(
        en.contains("vLLM and Ollama: their 95 % intervals overlap"),
        "{en}"
    );
}

fn step(concurrency: u32, tok_s: f64, ttft_p90: f64) -> LoadStep {
    LoadStep {
        phase: PhaseReport {
            output_tok_s: Some(tok_s),
            ttft_s: Summary {
                n: 10,
                p90: Some(ttft_p90),
                ..Summary::default()
            },
            ..PhaseReport::default()
        },
        profile: format!("concurrency:{concurrency}"),
        concurrency: Some(concurrency),
        ..LoadStep::default()
    }
}

#[test]
fn sweeps_are_compared_at_the_loads_both_measured_with_the_crossover_named() {
    let (mut a, mut b) = seed_pair();
    a.phases.sweep = vec![step(1, 29.7, 0.5), step(2, 33.0, 0.9), step(4, 37.0, 2.1)];
    // b measured 1, 4 and 8: 2 and 8 are not shared; at 1 a leads, at 4 b.
    b.phases.sweep = vec![step(1, 14.5, 0.2), step(4, 58.0, 0.4), step(8, 75.4, 0.7)];
    let (s, g) = (settings(), gpu());
    let cmp = compare(&entries(&a, &b, &s, &g));
    let l = &cmp.loads[0];
    let loads: Vec<Option<u32>> = l.rows.iter().map(|r| r.concurrency).collect();
    assert_eq!(loads, [Some(1), Some(4)]);
    assert_eq!(l.rows[0].ahead.as_deref(), Some("Ollama"));
    assert_eq!(l.rows[1].ahead.as_deref(), Some("vLLM"));
    let en = render(&cmp, Lang::En, "today");
    assert!(
        en.contains("vLLM vs Ollama, step by step at the loads both measured")
            && en.contains("Ollama ahead at concurrency 1, vLLM from concurrency 4 on."),
        "{en}"
    );
    let ko = render(&cmp, Lang::Ko, "today");
    assert!(
        ko.contains("동시 요청 1에서는 Ollama가 앞서고, 동시 요청 4부터는 vLLM가 앞섭니다."),
        "{ko}"
    );
    // Within 2 % is a tie, and one leader throughout is said so.
    b.phases.sweep = vec![step(1, 29.4, 0.2), step(4, 30.0, 0.4)];
    let cmp = compare(&entries(&a, &b, &s, &g));
    assert_eq!(cmp.loads[0].rows[0].ahead, None);
    let en = render(&cmp, Lang::En, "today");
    assert!(
        en.contains("Ollama ahead at every load both measured."),
        "{en}"
    );
}
