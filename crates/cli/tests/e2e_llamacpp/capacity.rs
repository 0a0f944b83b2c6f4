//! The capacity search against the real llama.cpp server (SmolLM2-135M, 2 threads): the same
//! team — developers sending the prompt set back to back, held to a first-token objective — on
//! one slot and on two. Two slots batch what one slot queues, so the 2-slot capacity is not
//! lower; the comparison of the two runs leads with the capacities.

use super::start_server;
use crate::common::*;
use servebench_engine::plan::{Api, Workload};
use servebench_engine::report::WorkloadReport;

#[tokio::test(flavor = "multi_thread")]
async fn two_slots_serve_no_fewer_developers_than_one() {
    let _serial = SERIAL.lock().await;
    let (p1, p2) = (launch_port(), launch_port());
    let _one = start_server(p1, 2, 1).await;
    let _two = start_server(p2, 2, 2).await;
    let mut team = prompts_capacity(0.7);
    team.search.step_s = 4.0;
    team.search.warmup_s = 1.0;
    team.search.repeats = 2;
    team.search.max_developers = 32;
    let started = std::time::Instant::now();
    let (r, _) = run_targets(
        vec![
            target(
                "one-slot",
                Api::Llamacpp,
                &format!("http://127.0.0.1:{p1}"),
                "smollm2-135m",
            ),
            target(
                "two-slots",
                Api::Llamacpp,
                &format!("http://127.0.0.1:{p2}"),
                "smollm2-135m",
            ),
        ],
        0,
        |s| {
            s.max_tokens = 16;
            s.workload = Workload::Team(team);
        },
    )
    .await;
    let mut found = Vec::new();
    for t in &r.targets {
        assert!(t.error.is_none(), "{}: {:?}", t.name, t.error);
        let Some(WorkloadReport::Capacity(c)) = &t.workload else {
            panic!("{}: no capacity report", t.name)
        };
        eprintln!(
            "real llama.cpp {}: {} in {:.0} s over {} steps; {}",
            t.name,
            c.describe(),
            c.search_s,
            c.steps.len(),
            c.steps
                .iter()
                .map(|s| format!(
                    "{}:{:.3}",
                    s.developers,
                    s.classes[0].ttft_p90_s.unwrap_or(f64::NAN)
                ))
                .collect::<Vec<_>>()
                .join(" ")
        );
        found.push(c.capacity.developers);
    }
    eprintln!("both searches: {:.0} s", started.elapsed().as_secs_f64());
    // The comparison of the two leads with their capacities.
    let entries: Vec<servebench_engine::report::compare::Entry> = r
        .targets
        .iter()
        .map(|t| servebench_engine::report::compare::Entry {
            label: t.name.clone(),
            source: "in-process".into(),
            target: t,
            settings: &r.settings,
            gpu: &r.gpu,
            samples: Default::default(),
            runs: Vec::new(),
        })
        .collect();
    let cmp = servebench_engine::report::compare::compare(&entries);
    let cap = cmp.capacity.as_ref().expect("the capacities compared");
    assert_eq!(cap.targets.len(), 2);
    eprintln!(
        "{}",
        servebench_engine::report::i18n::catalog(servebench_engine::report::i18n::Lang::En)
            .render_all(&cap.verdict.clone().into_iter().collect::<Vec<_>>())
    );
    assert!(found[0] >= 1, "one slot serves nobody: {found:?}");
    assert!(found[1] >= found[0], "two slots serve fewer: {found:?}");
}

/// Quality at the capacity on the real server (SmolLM2-135M, two slots): after the search,
/// four code-completion tasks asked one at a time beside a team of the capacity's size, then
/// alone; every task is paired, and each answer beside the team overlapped the team's
/// requests.
#[tokio::test(flavor = "multi_thread")]
async fn quality_at_the_capacity_pairs_every_task_with_its_answer_alone() {
    use servebench_engine::eval::EvalSettings;
    use servebench_engine::eval::suite::{self, Dataset};
    use servebench_engine::record::Phase;
    let _serial = SERIAL.lock().await;
    let port = launch_port();
    let _server = start_server(port, 2, 2).await;
    let mut team = prompts_capacity(2.0);
    team.search.step_s = 4.0;
    team.search.warmup_s = 1.0;
    team.search.repeats = 1;
    team.search.max_developers = 2;
    team.search.interference = false;
    let scen = vec!["code-completion".to_string()];
    let settings = EvalSettings {
        scenarios: Some(scen.clone()),
        limit: Some(4),
        max_tokens: 160,
        helper: Some(std::path::PathBuf::from(env!("CARGO_BIN_EXE_servebench"))),
        ..Default::default()
    };
    let tasks = suite::load(&Dataset::Builtin, Some(&scen), Some(4)).unwrap();
    let started = std::time::Instant::now();
    let (r, recs) = run_targets(
        vec![target(
            "two-slots",
            Api::Llamacpp,
            &format!("http://127.0.0.1:{port}"),
            "smollm2-135m",
        )],
        0,
        |s| {
            s.max_tokens = 16;
            s.workload = Workload::Team(team);
            s.quality = Some(servebench_engine::plan::Quality { settings, tasks });
        },
    )
    .await;
    let t = &r.targets[0];
    assert!(t.error.is_none(), "{:?}", t.error);
    assert_schema_valid(&serde_json::to_value(&r).unwrap());
    let Some(WorkloadReport::Capacity(c)) = &t.workload else {
        panic!("no capacity report")
    };
    let q = c.quality.as_ref().expect("quality at the capacity");
    eprintln!(
        "real llama.cpp, quality at the capacity ({:.0} s in all): {}; {}",
        started.elapsed().as_secs_f64(),
        c.describe(),
        q.describe()
    );
    assert_eq!(q.developers, c.capacity.developers);
    assert_eq!((q.asked, q.answered), (4, 4));
    let l = t
        .quality
        .as_ref()
        .and_then(|q| q.under_load.as_ref())
        .expect("the answers beside the team in the quality report");
    assert_eq!((l.profile.as_str(), l.answers), (q.label.as_str(), 4));
    assert_eq!(l.drift.compared, 4);
    // Every answer beside the team overlapped some request of the team.
    let span = |r: &servebench_engine::record::RequestRecord| {
        (r.sent_unix_s, r.sent_unix_s + r.end.as_secs_f64())
    };
    let team_spans: Vec<(f64, f64)> = recs
        .iter()
        .filter(|r| r.phase == Phase::Team)
        .map(span)
        .collect();
    let beside: Vec<(f64, f64)> = recs
        .iter()
        .filter(|r| r.phase == Phase::Quality && r.step.is_some())
        .map(span)
        .collect();
    assert_eq!(beside.len(), 4);
    for a in &beside {
        assert!(
            team_spans.iter().any(|b| a.0 < b.1 && b.0 < a.1),
            "an answer beside the team overlapped none of its requests: {a:?}"
        );
    }
}
