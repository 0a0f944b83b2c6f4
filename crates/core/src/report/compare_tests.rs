//! Comparison tests on hand-built reports: the seed's own table reproduced from its averages
//! (English and Korean snapshots, JSON), significance on samples, and a single target.

use super::compare::{Entry, compare};
use super::compare_doc;
use super::document::Exporter;
use super::markdown::Markdown;

/// The comparison as Markdown.
pub(super) fn render(cmp: &super::compare::Comparison, lang: Lang, date: &str) -> String {
    Markdown.export(&compare_doc::document(cmp, &[], lang, date))
}
use super::i18n::Lang;
use super::model::*;
use super::phase::*;
use super::quality::{QualityReport, ScenarioScore};
use super::resources::{GpuDeviceStats, GpuPhase, GpuReport};
use crate::spec::{Api, Endpoint};
use crate::stats::Summary;
use std::collections::BTreeMap;

fn mean(v: f64) -> Summary {
    Summary {
        n: 10,
        mean: Some(v),
        p50: Some(v),
        ..Default::default()
    }
}

fn phase(e2e: f64, tok_s: f64, mem: f64, util: f64) -> PhaseReport {
    PhaseReport {
        requests: 10,
        ok: 10,
        e2e_s: mean(e2e),
        e2e_tok_s: mean(tok_s),
        gpu: Some(GpuPhase {
            samples: 10,
            devices: vec![GpuDeviceStats {
                mem_used_pct: mean(mem),
                gpu_util_pct: mean(util),
                ..Default::default()
            }],
        }),
        ..Default::default()
    }
}

/// A target with the seed's averages: load, cold (TPS, mem, util), warm (time, TPS, mem, util)
/// and its four quality scores.
fn seed(name: &str, model: &str, quant: &str, v: [f64; 8], q: [f64; 4]) -> TargetReport {
    let scen = [
        "code-completion",
        "code-review",
        "architecture-design",
        "debugging",
    ];
    TargetReport {
        name: name.into(),
        api: Api::Openai,
        server_traits: crate::spec::ServerTraits {
            states_cached_tokens: true,
            ..Default::default()
        },
        url: "http://localhost:1".into(),
        model: model.into(),
        status: TargetStatus::Ok,
        error: None,
        managed: false,
        server_threads: None,
        server_version: None,
        model_check: Some(ModelCheck::Listed),
        model_info: ModelInfo {
            quantization: Some(quant.into()),
            ..Default::default()
        },
        load: Load {
            seconds: Some(v[0]),
            source: Some(LoadSource::Server),
            ..Default::default()
        },
        cold_verified: true,
        phases: Phases {
            cold: Some(phase(30.0, v[1], v[2], v[3])),
            warm: Some(phase(v[4], v[5], v[6], v[7])),
            ..Default::default()
        },
        workload: None,
        saturation: None,
        sweep_stop_reason: None,
        prompt_calibration: None,
        memory: Default::default(),
        attempts: Vec::new(),
        quality: Some(QualityReport {
            dataset: "builtin".into(),
            scenarios: scen
                .iter()
                .zip(q)
                .map(|(s, t)| {
                    (
                        s.to_string(),
                        ScenarioScore {
                            total_score: Some(t),
                            ..Default::default()
                        },
                    )
                })
                .collect(),
            average_total_score: Some(q.iter().sum::<f64>() / 4.0),
            ..Default::default()
        }),
    }
}

pub(super) fn settings() -> RunSettingsReport {
    RunSettingsReport {
        warm: 10,
        max_tokens: 256,
        temperature: 0.0,
        seed: 42,
        endpoint: Endpoint::Chat,
        prompts: "builtin".into(),
        prompt_count: 8,
        timeout_s: 600.0,
        profile: "sequential".into(),
        requests: None,
        duration_s: None,
        warmup: 0,
        slo: Default::default(),
        cold: 1,
        performance: true,
        workload: crate::spec::WorkloadKind::Chat,
        unique_prompts: true,
    }
}

pub(super) fn gpu() -> GpuReport {
    GpuReport {
        available: true,
        sample_hz: 10.0,
        ..Default::default()
    }
}

pub(super) fn seed_pair() -> (TargetReport, TargetReport) {
    (
        seed(
            "Ollama",
            "qwen2.5-coder:32b",
            "F16",
            [16.31, 30.14, 90.41, 68.50, 23.73, 26.29, 90.44, 81.50],
            [2.0, 2.0, 3.2, 2.0],
        ),
        seed(
            "vLLM",
            "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ",
            "AWQ",
            [13.99, 20.41, 96.97, 87.50, 25.53, 21.52, 96.80, 90.09],
            [1.6, 0.4, 3.6, 2.0],
        ),
    )
}

pub(super) fn entries<'a>(
    a: &'a TargetReport,
    b: &'a TargetReport,
    s: &'a RunSettingsReport,
    g: &'a GpuReport,
) -> Vec<Entry<'a>> {
    [a, b]
        .into_iter()
        .map(|t| Entry {
            label: t.name.clone(),
            source: format!("{}/report.json", t.name.to_lowercase()),
            target: t,
            settings: s,
            gpu: g,
            samples: BTreeMap::new(),
            runs: Vec::new(),
        })
        .collect()
}

#[test]
fn the_seed_table_is_reproduced_with_its_deltas() {
    let (a, b) = seed_pair();
    let (s, g) = (settings(), gpu());
    let cmp = compare(&entries(&a, &b, &s, &g));
    let delta = |id: &str| {
        let r = cmp.rows.iter().find(|r| r.metric == id).unwrap();
        (r.delta.unwrap() * 100.0).round() / 100.0
    };
    let want = [
        ("load_s", -2.32),
        ("cold_tok_s", -9.73),
        ("cold_gpu_mem_pct", 6.56),
        ("cold_gpu_util_pct", 19.00),
        ("warm_e2e_s", 1.80),
        ("warm_tok_s", -4.77),
        ("warm_gpu_mem_pct", 6.36),
        ("warm_gpu_util_pct", 8.59),
    ];
    for (id, d) in want {
        assert_eq!(delta(id), d, "{id}");
    }
    let row = |id: &str| cmp.rows.iter().find(|r| r.metric == id).unwrap();
    assert_eq!(row("load_s").better.as_deref(), Some("b"));
    assert_eq!(row("warm_tok_s").better.as_deref(), Some("a"));
    assert_eq!(
        row("warm_gpu_util_pct").better,
        None,
        "utilisation is not goodness"
    );
    // No per-request samples in hand-built reports: nothing is called significant.
    assert_eq!(row("load_s").significant, None);
    let qa = row("quality_average");
    assert_eq!((qa.a, qa.b), (Some(2.3), Some(1.9)));
    assert_eq!(row("quality_debugging").better.as_deref(), Some("tie"));
    assert!(
        cmp.caveats
            .iter()
            .map(|c| super::i18n::catalog(Lang::Ko).render(c))
            .any(|c| c.contains("F16") && c.contains("AWQ"))
    );
    assert_eq!(cmp.recommendations.len(), 4);
    let md = render(&cmp, Lang::Ko, "2025-03-28");
    for word in [
        "초기 로딩 시간 (초)",
        "초기 로딩 TPS (토큰/초)",
        "초기 로딩 GPU 메모리 (%)",
        "초기 로딩 GPU 사용률 (%)",
        "연속 응답 시간 (초)",
        "연속 응답 TPS (토큰/초)",
        "연속 응답 GPU 메모리 (%)",
        "연속 응답 GPU 사용률 (%)",
        "비교",
        "더 나은 쪽",
        "평균 점수",
        "−2.32 초 (더 빠름)",
        "+19.00 % (더 높음)",
    ] {
        assert!(md.contains(word), "{word} missing:\n{md}");
    }
    // Not significant, so not bold.
    assert!(!md.contains("**−2.32"), "{md}");
    insta::assert_snapshot!("seed_ko", md);
    insta::assert_snapshot!(
        "seed_en",
        render(&compare(&entries(&a, &b, &s, &g)), Lang::En, "2025-03-28")
    );
    insta::assert_snapshot!(
        "seed_json",
        serde_json::to_string_pretty(&compare(&entries(&a, &b, &s, &g))).unwrap()
    );
}

#[test]
fn significance_comes_from_samples_and_decides_the_bold() {
    let (a, b) = seed_pair();
    let (s, g) = (settings(), gpu());
    let mut e = entries(&a, &b, &s, &g);
    let n = |base: f64| {
        (0..20)
            .map(|i| base + 0.01 * f64::from(i % 4))
            .collect::<Vec<_>>()
    };
    e[0].samples.insert("warm_e2e_s".into(), n(23.73));
    e[1].samples.insert("warm_e2e_s".into(), n(25.53));
    e[0].samples.insert("warm_tok_s".into(), n(26.0));
    e[1].samples.insert("warm_tok_s".into(), vec![26.0, 26.01]);
    let cmp = compare(&e);
    let row = |id: &str| cmp.rows.iter().find(|r| r.metric == id).unwrap();
    assert_eq!(row("warm_e2e_s").significant, Some(true));
    assert_eq!(
        row("warm_tok_s").significant,
        Some(false),
        "too few samples"
    );
    let md = render(&cmp, Lang::En, "today");
    assert!(md.contains("**+1.80 s (slower)**"), "{md}");
    assert!(md.contains("too few samples (n = 20 / 2)"), "{md}");
}

#[test]
fn the_comparison_json_is_the_same_in_every_language() {
    // It once held finished prose in the chosen language, so --lang changed the JSON.
    let (a, b) = seed_pair();
    let (s, g) = (settings(), gpu());
    let cmp = compare(&entries(&a, &b, &s, &g));
    let json = serde_json::to_value(&cmp).unwrap();
    assert!(json.get("lang").is_none());
    let text = json.to_string();
    assert!(
        !text.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c)),
        "Korean in {text}"
    );
    assert!(!cmp.caveats.is_empty() && !cmp.recommendations.is_empty());
    // The words come only when rendered.
    let (en, ko) = (
        render(&cmp, Lang::En, "today"),
        render(&cmp, Lang::Ko, "today"),
    );
    assert_ne!(en, ko);
    assert!(ko.contains("F16") && en.contains("F16"));
}

#[test]
fn a_single_target_gets_no_recommendations() {
    let (a, _) = seed_pair();
    let (s, g) = (settings(), gpu());
    let e = vec![Entry {
        label: "Ollama".into(),
        source: "r.json".into(),
        target: &a,
        settings: &s,
        gpu: &g,
        samples: BTreeMap::new(),
        runs: Vec::new(),
    }];
    let cmp = compare(&e);
    assert!(cmp.recommendations.is_empty() && cmp.rows.is_empty());
    let md = render(&cmp, Lang::Ko, "today");
    assert!(md.contains("대상이 하나뿐이므로 비교할 수 없으며"), "{md}");
}

#[test]
fn a_low_p_that_is_not_significant_says_why_in_its_cell() {
    let c = super::i18n::catalog(Lang::En);
    let row = super::compare::Row {
        metric: "warm_e2e_s".into(),
        unit: "s".into(),
        a: Some(1.0),
        b: Some(1.1),
        delta: Some(0.1),
        delta_pct: Some(10.0),
        better: Some("a".into()),
        significant: Some(false),
        p_value: Some(0.026),
        ci95: Some([-0.01, 0.3]),
        n_a: Some(20),
        n_b: Some(20),
        test: None,
    };
    assert_eq!(
        compare_doc::significance_cell(&row, c),
        "no: p = 0.026, but the 95 % interval of the difference (-0.0100 … 0.3000) includes 0"
    );
    let plain = super::compare::Row {
        p_value: Some(0.4),
        ..row.clone()
    };
    assert_eq!(compare_doc::significance_cell(&plain, c), "no (p = 0.400)");
}

#[test]
fn unverified_cold_values_are_marked_in_every_format() {
    let (mut a, b) = seed_pair();
    a.cold_verified = false;
    let (s, g) = (settings(), gpu());
    let e = entries(&a, &b, &s, &g);
    let cmp = compare(&e);
    assert!(!cmp.targets[0].cold_verified && cmp.targets[1].cold_verified);
    let doc = compare_doc::document(&cmp, &e, Lang::En, "today");
    let md = Markdown.export(&doc);
    let cold_row = md
        .lines()
        .find(|l| l.starts_with("| Cold TPS") || l.contains("(unverified cold)"))
        .unwrap_or_default();
    assert!(cold_row.contains("(unverified cold)"), "{md}");
    let warm_marked = md
        .lines()
        .filter(|l| l.contains("(unverified cold)"))
        .any(|l| l.to_lowercase().contains("warm"));
    assert!(!warm_marked, "only cold values are marked: {md}");
    let html = super::html::Html.export(&doc);
    assert!(html.contains("(unverified cold)"));
    let ko = render(&cmp, Lang::Ko, "today");
    assert!(ko.contains("(초기 로딩 미확인)"), "{ko}");
}

/// The seed's busy-machine demo: two requests of one target took 100× the median, its mean
/// TPS still looked better while its phase throughput was far worse. Each is called what it
/// is: an unstable distribution, two rows that disagree, and recommendations that say they
/// rest on it.
#[test]
fn noise_is_called_noise() {
    let (mut a, mut b) = seed_pair();
    let warm = |t: &mut TargetReport| t.phases.warm.as_mut().unwrap().clone();
    let (mut wa, mut wb) = (warm(&mut a), warm(&mut b));
    wa.e2e_tok_s = mean(36.7);
    wa.output_tok_s = Some(36.2);
    wb.e2e_tok_s = mean(60.8);
    wb.output_tok_s = Some(5.9);
    wb.e2e_s = Summary {
        n: 10,
        mean: Some(33.8),
        p50: Some(1.6),
        max: Some(164.0),
        stddev: Some(63.0),
        ..Default::default()
    };
    a.phases.warm = Some(wa);
    b.phases.warm = Some(wb);
    let (s, g) = (settings(), gpu());
    let e = entries(&a, &b, &s, &g);
    let cmp = compare(&e);
    let codes: Vec<String> = cmp
        .caveats
        .iter()
        .map(|c| {
            serde_json::to_value(c.code)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(codes.contains(&"cav_unstable".to_string()), "{codes:?}");
    assert!(
        codes.contains(&"cav_contradiction".to_string()),
        "{codes:?}"
    );
    for r in cmp
        .recommendations
        .iter()
        .filter(|r| r.scenario != "quality")
    {
        let why: Vec<String> = r
            .reason
            .iter()
            .map(|m| {
                serde_json::to_value(m.code)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert!(
            r.choice.is_none() || why.contains(&"why_unstable".to_string()),
            "{}: {why:?}",
            r.scenario
        );
    }
    let md = render(&cmp, Lang::En, "today");
    assert!(
        md.contains("the slowest request took 102× the median"),
        "{md}"
    );
    assert!(
        md.contains("calls vLLM better but the phase throughput calls Ollama better"),
        "{md}"
    );
    // The same targets in a run report: beside the summary table.
    let r = super::fixtures::report(vec![a, b]);
    let doc = super::report_doc::document(&r, None, &[], Lang::En, "");
    let md = Markdown.export(&doc);
    assert!(md.contains("> **Unstable**: vLLM's warm latencies"), "{md}");
    assert!(
        md.contains("> **The two throughput rows disagree**"),
        "{md}"
    );
}

/// The busy-machine demo's 2-thread server at 96–106 % CPU: starved, and said so.
#[test]
fn a_server_that_got_less_cpu_than_its_threads_is_called_starved() {
    let (a, mut b) = seed_pair();
    b.server_threads = Some(2);
    let w = b.phases.warm.as_mut().unwrap();
    w.server_process = Some(super::resources::ProcessPhase {
        cpu_pct: mean(101.0),
        ..Default::default()
    });
    let (s, g) = (settings(), gpu());
    let cmp = compare(&entries(&a, &b, &s, &g));
    let md = render(&cmp, Lang::En, "today");
    assert!(
        md.contains(
            "vLLM: the server was started with 2 thread(s) but its process got only 101 % CPU"
        ),
        "{md}"
    );
    let r = super::fixtures::report(vec![a.clone(), b.clone()]);
    let md = Markdown.export(&super::report_doc::document(&r, None, &[], Lang::En, ""));
    assert!(
        md.contains("> **CPU-starved**: vLLM was started with 2 thread(s)"),
        "{md}"
    );
    // Enough CPU: nothing said.
    b.phases
        .warm
        .as_mut()
        .unwrap()
        .server_process
        .as_mut()
        .unwrap()
        .cpu_pct = mean(190.0);
    assert_eq!(super::model::cpu_starved(&b), None);
}

/// `tasks` code tasks of HumanEval; task i passes when `pass(i)`, and its answer is
/// `answer(i)`.
fn with_tasks(
    t: &mut TargetReport,
    tasks: usize,
    pass: impl Fn(usize) -> bool,
    answer: impl Fn(usize) -> String,
) {
    let q = t.quality.as_mut().unwrap();
    q.per_task = (0..tasks)
        .map(|i| super::quality::TaskOutcome {
            scenario: "humaneval".into(),
            task_id: format!("HumanEval/{i}"),
            code: true,
            answers: 1,
            passed: usize::from(pass(i)),
            score: if pass(i) { 5.0 } else { 0.0 },
            total: Some(if pass(i) { 5.0 } else { 0.0 }),
            answer: answer(i),
        })
        .collect();
    let passed = (0..tasks).filter(|i| pass(*i)).count();
    q.pass_at_1 = Some(passed as f64 / tasks as f64);
    q.scenarios.insert(
        "humaneval".into(),
        ScenarioScore {
            total_score: Some(5.0 * passed as f64 / tasks as f64),
            ..Default::default()
        },
    );
}

fn pass_row(cmp: &super::compare::Comparison) -> &super::compare::Row {
    cmp.rows
        .iter()
        .find(|r| r.metric == super::compare::PASS_AT_1_KEY)
        .expect("a pass@1 row")
}

#[test]
fn quality_differences_are_tested_task_by_task() {
    let (mut a, mut b) = seed_pair();
    let (s, g) = (settings(), gpu());
    // 40 tasks: a passes 0..10, b passes 0..20 — ten tasks only b passes, none only a.
    with_tasks(&mut a, 40, |i| i < 10, |i| format!("a{i}"));
    with_tasks(&mut b, 40, |i| i < 20, |i| format!("b{i}"));
    let cmp = compare(&entries(&a, &b, &s, &g));
    let r = pass_row(&cmp);
    assert_eq!(r.test.as_deref(), Some("mcnemar-exact"));
    assert_eq!(r.n_a, Some(40));
    assert!((r.p_value.unwrap() - 2.0 / 1024.0).abs() < 1e-12, "{r:?}");
    assert_eq!(r.significant, Some(true));
    let c = super::i18n::catalog(Lang::En);
    let cell = compare_doc::significance_cell(r, c);
    assert!(
        cell.starts_with("yes (McNemar exact by task, n = 40, p = 0.002)"),
        "{cell}"
    );
    // The same pass count on different tasks: no difference to see.
    with_tasks(&mut b, 40, |i| (10..20).contains(&i), |i| format!("b{i}"));
    let cmp = compare(&entries(&a, &b, &s, &g));
    let r = pass_row(&cmp);
    assert_eq!(r.significant, Some(false));
    assert_eq!(r.p_value, Some(1.0), "10 only a, 10 only b: {r:?}");
    let md = render(&cmp, Lang::En, "2026-12-02");
    assert!(md.contains("no (McNemar exact by task, n = 40"), "{md}");
}

#[test]
fn a_quality_table_without_per_task_data_says_not_testable() {
    // The seed's table: averages only (2.3 vs 1.9), no per-task outcomes.
    let (a, b) = seed_pair();
    let (s, g) = (settings(), gpu());
    let cmp = compare(&entries(&a, &b, &s, &g));
    let avg = cmp
        .rows
        .iter()
        .find(|r| r.metric == "quality_average")
        .unwrap();
    assert_eq!(avg.test.as_deref(), Some("untestable"));
    assert_eq!(avg.significant, None);
    for lang in [Lang::En, Lang::Ko] {
        let md = render(&cmp, lang, "2026-12-02");
        let c = super::i18n::catalog(lang);
        assert!(md.contains(c.untestable), "{lang:?}: {md}");
    }
    // The quality recommendation says the lead is not confirmed.
    let rec = cmp
        .recommendations
        .iter()
        .find(|r| r.scenario == "quality")
        .unwrap();
    assert!(
        rec.reason
            .iter()
            .any(|m| m.code == super::i18n::Code::WhyUntestable),
        "{rec:?}"
    );
    // Equal averages name no winner (the demo once said "vllm has the highest average quality
    // score (1.64 of 5)" of two 1.64s).
    let (mut a, mut b) = seed_pair();
    a.quality.as_mut().unwrap().average_total_score = Some(1.64);
    b.quality.as_mut().unwrap().average_total_score = Some(1.64);
    let cmp = compare(&entries(&a, &b, &s, &g));
    let rec = cmp
        .recommendations
        .iter()
        .find(|r| r.scenario == "quality")
        .unwrap();
    assert_eq!(rec.choice, None, "{rec:?}");
    assert_eq!(rec.reason[0].code, super::i18n::Code::WhyQualityTie);
}

#[test]
fn the_same_model_section_says_which_explanation_the_data_support() {
    let (mut a, mut b) = seed_pair();
    b.model = a.model.clone();
    let (s, g) = (settings(), gpu());
    // Identical greedy answers, identical verdicts: alike.
    with_tasks(
        &mut a,
        30,
        |i| i % 2 == 0,
        |i| format!("def f(): pass # {i}"),
    );
    with_tasks(
        &mut b,
        30,
        |i| i % 2 == 0,
        |i| format!("def f(): pass # {i}"),
    );
    let cmp = compare(&entries(&a, &b, &s, &g));
    let same = &cmp.same_model[0];
    assert_eq!(same.scenarios[0].identical, 30);
    assert_eq!(same.finding.code, super::i18n::Code::SameAlike);
    // Answers that part at character 9 and five more passes on b: the model bits differ.
    with_tasks(
        &mut b,
        30,
        |i| i % 2 == 0 || i < 20,
        |i| format!("def f(): return {i}"),
    );
    let cmp = compare(&entries(&a, &b, &s, &g));
    let same = &cmp.same_model[0];
    assert_eq!(same.scenarios[0].identical, 0);
    assert_eq!(same.scenarios[0].first_divergence_median, Some(9.0));
    assert_eq!(same.finding.code, super::i18n::Code::SameQuality);
    let t = same.paired.as_ref().unwrap().table.unwrap();
    assert_eq!((t.both, t.only_a, t.only_b, t.neither), (15, 0, 10, 5));
    // Different text, same verdicts: different text, not different quality.
    with_tasks(
        &mut b,
        30,
        |i| i % 2 == 0,
        |i| format!("def f(): return {i}"),
    );
    let cmp = compare(&entries(&a, &b, &s, &g));
    assert_eq!(cmp.same_model[0].finding.code, super::i18n::Code::SameText);
    // What differs though the model is the same: the quantisation each states.
    a.model_info.quantization = Some("Q4_K - Medium".into());
    b.model_info.quantization = Some("bfloat16".into());
    let cmp = compare(&entries(&a, &b, &s, &g));
    let differs = &cmp.same_model[0].differs;
    assert_eq!(differs.len(), 1, "{differs:?}");
    assert_eq!(differs[0].code, super::i18n::Code::SameDiffersQuant);
    for lang in [Lang::En, Lang::Ko] {
        let md = render(&cmp, lang, "2026-12-02");
        assert!(
            md.contains("Q4_K - Medium") && md.contains("bfloat16"),
            "{md}"
        );
    }
    for lang in [Lang::En, Lang::Ko] {
        let md = render(&cmp, lang, "2026-12-02");
        let c = super::i18n::catalog(lang);
        assert!(md.contains(c.same_heading), "{lang:?}: {md}");
    }
    // Different models: no such section.
    let (a, b) = seed_pair();
    assert!(compare(&entries(&a, &b, &s, &g)).same_model.is_empty());
}

#[test]
fn grader_errors_make_every_document_say_pass_at_1_is_over_fewer_tasks() {
    // Five code tasks, one answer each plus its rerun; the grader failed on both answers of two.
    let results: Vec<crate::quality_record::TaskResult> = (0..5)
        .flat_map(|t| [false, true].map(move |rerun| (t, rerun)))
        .map(|(t, rerun)| {
            let graded = if t < 2 {
                crate::quality_record::Graded::error("grader did not start".into())
            } else {
                crate::quality_record::Graded::text(
                    crate::quality_record::Verdict::Pass,
                    None,
                    1.0,
                    4.0,
                )
            };
            crate::quality_record::TaskResult {
                target: "vLLM".into(),
                scenario: "humaneval".into(),
                task_id: format!("HumanEval/{t}"),
                sample: 0,
                rerun,
                code: true,
                answer: "x".into(),
                request: "ok".into(),
                e2e_s: Some(1.0),
                graded,
                judge: None,
                under_load: None,
            }
        })
        .collect();
    let settings_q = QualityReport {
        dataset: "humaneval".into(),
        tasks: 5,
        samples: 1,
        ..Default::default()
    };
    let q = super::score::report(&settings_q, &results);
    assert_eq!((q.errors, q.code_tasks, q.code_tasks_scored), (4, 5, 3));
    assert_eq!(q.pass_at_1, Some(1.0));
    let (a, mut b) = seed_pair();
    b.quality = Some(q);
    let r = super::fixtures::report(vec![b.clone()]);
    let md = Markdown.export(&super::report_doc::document(&r, None, &[], Lang::En, ""));
    assert!(
        md.contains("pass@1 is over 3 of 5 code tasks"),
        "the report says nothing of the grader errors:\n{md}"
    );
    let (s, g) = (settings(), gpu());
    let cmp = compare(&entries(&a, &b, &s, &g));
    let en = render(&cmp, Lang::En, "today");
    assert!(
        en.contains("vLLM: 4 answer(s) could not be graded (servebench's own failure, not the model's): its pass@1 is over 3 of 5 code tasks."),
        "{en}"
    );
    let ko = render(&cmp, Lang::Ko, "today");
    assert!(
        ko.contains("pass@1은 코드 과제 5개 중 3개에 대한 값입니다"),
        "{ko}"
    );
    // No error: nothing said.
    b.quality.as_mut().unwrap().errors = 0;
    let cmp = compare(&entries(&a, &b, &s, &g));
    assert!(!render(&cmp, Lang::En, "today").contains("could not be graded"));
}

/// No throughput recommendation contradicts load data in the reports: single-stream numbers
/// say one thing, the sweeps (not saturated) the opposite, and the sweeps decide; with load
/// data for only one target, there is no throughput recommendation.
#[test]
fn the_throughput_recommendation_follows_the_load_data_present() {
    let (mut a, mut b) = seed_pair();
    let step = |tok_s: f64| LoadStep {
        phase: PhaseReport {
            output_tok_s: Some(tok_s),
            ..PhaseReport::default()
        },
        ..LoadStep::default()
    };
    // a wins single-stream (warm output), b under load.
    a.phases.warm.as_mut().unwrap().output_tok_s = Some(29.7);
    b.phases.warm.as_mut().unwrap().output_tok_s = Some(14.5);
    a.phases.sweep = vec![step(29.7), step(37.0)];
    b.phases.sweep = vec![step(14.5), step(75.4)];
    let (s, g) = (settings(), gpu());
    let throughput = |a: &TargetReport, b: &TargetReport| {
        let cmp = compare(&entries(a, b, &s, &g));
        cmp.recommendations
            .into_iter()
            .find(|r| r.scenario == "throughput")
            .unwrap()
    };
    let r = throughput(&a, &b);
    assert_eq!(r.choice.as_deref(), Some("vLLM"), "{r:?}");
    let en = render_reason(&r);
    assert!(en.contains("75.4") && en.contains("under load"), "{en}");
    // Load data for one target only: no choice, and the reason says why.
    b.phases.sweep.clear();
    let r = throughput(&a, &b);
    assert_eq!(r.choice, None, "{r:?}");
    assert!(render_reason(&r).contains("load data for every target"));
}

fn render_reason(r: &super::compare::Recommendation) -> String {
    super::i18n::catalog(Lang::En).render_all(&r.reason)
}
