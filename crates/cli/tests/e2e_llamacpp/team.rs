//! The team mix against the real llama.cpp server with the real coding model: a developer
//! typing, a chat session, an agent session and a prompt stream at once on one server; every
//! class is served while the others are, and each class's count in the report is what it sent.

use super::{CODER, start_model_server};
use crate::common::*;
use servebench_engine::load::sessions::Think;
use servebench_engine::plan::Workload;
use servebench_engine::plan::{Api, Team, TeamMix};
use servebench_engine::record::Phase;
use servebench_engine::spec::Class;

#[tokio::test(flavor = "multi_thread")]
async fn a_team_mix_on_the_real_server_serves_every_class_at_once() {
    let _serial = SERIAL.lock().await;
    let port = launch_port();
    // Four slots: one per class.
    let _server = start_model_server(port, 2, 4, CODER).await;
    let url = format!("http://127.0.0.1:{port}");
    let mix = TeamMix {
        autocomplete: 1,
        chat: 1,
        agent: 1,
        prompts: 1,
    };
    let mut team = Team::new(mix, 30.0);
    // Two cores read about 80 prompt tokens a second (see the autocomplete e2e test): small
    // windows and contexts, and one key a second, so every class gets answers in 30 s.
    team.typing.prefix_tokens = 48;
    team.typing.suffix_tokens = 16;
    team.typing.max_tokens = 16;
    team.typing.typing.chars_per_s = 1.0;
    for s in [&mut team.chat, &mut team.agent] {
        s.context_tokens = Some(200);
        s.insert_tokens = 60;
        s.output_tokens = Some(24);
        s.turns = Some(3);
        s.think = Think::Const(1.0);
    }
    team.load()
        .expect("the default corpus (Python's standard library)");
    let (r, recs) = run_targets(vec![target("qwen", Api::Llamacpp, &url, CODER)], 0, |s| {
        s.seed = 7;
        s.max_tokens = 24;
        s.workload = Workload::Team(team.clone());
    })
    .await;
    let t = &r.targets[0];
    assert!(t.error.is_none(), "{:?}", t.error);
    let tr = t.team().expect("a team phase");
    eprintln!(
        "real llama.cpp, Qwen2.5-Coder-0.5B Q4_K_M, 2 threads, 4 slots, {} for {:.1} s:",
        tr.describe(),
        tr.duration_s
    );
    eprintln!(
        "| class | sent | ok | failed | superseded | TTFT p50 (s) | TTFT p90 (s) | E2E p50 (s) | E2E p90 (s) | output tok/s | failures |"
    );
    for c in &tr.classes {
        let p = &c.phase;
        eprintln!(
            "| {} | {} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} | {:?} |",
            c.class.unwrap(),
            p.requests + c.superseded,
            p.ok,
            p.failed,
            c.superseded,
            p.ttft_s.p50.unwrap_or(f64::NAN),
            p.ttft_s.p90.unwrap_or(f64::NAN),
            p.e2e_s.p50.unwrap_or(f64::NAN),
            p.e2e_s.p90.unwrap_or(f64::NAN),
            p.output_tok_s.unwrap_or(f64::NAN),
            p.failures
        );
    }
    let m = tr.phase.server_metrics.as_ref();
    eprintln!(
        "server: running {:?}, waiting {:?}",
        m.and_then(|m| m.gauges.get("llamacpp:requests_processing")),
        m.and_then(|m| m.gauges.get("llamacpp:requests_deferred"))
    );
    let team_recs: Vec<_> = recs.iter().filter(|r| r.phase == Phase::Team).collect();
    let mut spans = Vec::new();
    for c in &tr.classes {
        let class = c.class.unwrap();
        let mine: Vec<_> = team_recs
            .iter()
            .filter(|r| r.class == Some(class))
            .collect();
        assert_eq!(
            c.phase.requests + c.superseded,
            mine.len() as u64,
            "{class}"
        );
        assert!(!mine.is_empty(), "{class} sent nothing");
        if class != Class::Autocomplete {
            assert!(c.phase.ok >= 1, "{class}: {:?}", c.phase.failures);
        }
        let start = mine.iter().map(|r| r.sent_unix_s).fold(f64::MAX, f64::min);
        let end = mine
            .iter()
            .map(|r| r.sent_unix_s + r.end.as_secs_f64())
            .fold(f64::MIN, f64::max);
        spans.push((start, end));
    }
    let latest_start = spans.iter().map(|s| s.0).fold(f64::MIN, f64::max);
    let earliest_end = spans.iter().map(|s| s.1).fold(f64::MAX, f64::min);
    assert!(latest_start < earliest_end, "{spans:?}");
    assert_eq!(
        tr.autocomplete.as_ref().unwrap().fim_method,
        "infill",
        "the autocomplete class fills on /infill"
    );
}
