//! The autocomplete workload against the real llama.cpp server with the real coding model:
//! requests are sent and dropped on the keystroke, some complete, and `/slots` shows each
//! abandoned task let go (named by its seed).

use super::{CODER, start_model_server};
use crate::common::*;
use servebench_engine::plan::Workload;
use servebench_engine::plan::{Api, Autocomplete, FimStop, Infill};
use servebench_engine::record::{Outcome, Phase};

#[tokio::test(flavor = "multi_thread")]
async fn autocomplete_on_the_real_server_cancels_on_the_keystroke_and_frees_the_slot() {
    let _serial = SERIAL.lock().await;
    let port = launch_port();
    let _server = start_model_server(port, 2, 1, CODER).await;
    let url = format!("http://127.0.0.1:{port}");
    // Two cores read about 80 prompt tokens a second and llama.cpp runs every queued request,
    // abandoned or not: at a real typing speed the queue only grows and nothing completes (see
    // the closing note of issue 14). One key a second and small windows let the server keep
    // up with most keystrokes, so there are completions and cancels both.
    let mut ac = Autocomplete {
        developers: 1,
        duration_s: 20.0,
        prefix_tokens: 48,
        suffix_tokens: 16,
        max_tokens: 16,
        typing: servebench_engine::load::typing::Typing {
            chars_per_s: 1.0,
            ..Default::default()
        },
        // And the completion quality on the same path: eight single-line infilling tasks.
        infill: Some(Infill {
            span: FimStop::Line,
            eval: servebench_engine::eval::EvalSettings {
                helper: Some(std::path::PathBuf::from(env!("CARGO_BIN_EXE_servebench"))),
                ..Default::default()
            },
            tasks: Vec::new(),
        }),
        infill_limit: Some(8),
        ..Autocomplete::default()
    };
    ac.load()
        .expect("the default corpus (Python's standard library)");
    ac.infill.as_mut().unwrap().load(Some(8)).unwrap();
    let (r, recs) = run_targets(vec![target("qwen", Api::Llamacpp, &url, CODER)], 0, |s| {
        s.seed = 7;
        s.workload = Workload::Autocomplete(ac.clone());
    })
    .await;
    let t = &r.targets[0];
    assert!(t.error.is_none(), "{:?}", t.error);
    let a = t.autocomplete().unwrap();
    eprintln!(
        "real llama.cpp, Qwen2.5-Coder-0.5B, 1 developer 20 s at 1 key/s, windows 48+16: sent {}, completed {}, cancelled {}, failed {}; TTFT p50 {:?} s, from keystroke p50 {:?} s; stopping {:?}; wasted {:?}",
        a.sent,
        a.completed,
        a.cancelled,
        a.failed,
        a.shown.ttft_s.p50,
        a.ttft_from_keystroke_s.p50,
        a.stopping,
        a.wasted
    );
    assert_eq!(a.fim_method, "infill");
    assert!(a.suffix_probe.as_ref().unwrap().honoured, "{a:?}");
    let ac_recs: Vec<_> = recs
        .iter()
        .filter(|r| r.phase == Phase::Autocomplete)
        .collect();
    assert_eq!(ac_recs.len() as u64, a.sent);
    assert_eq!(
        ac_recs
            .iter()
            .filter(|r| r.outcome == Outcome::Superseded)
            .count() as u64,
        a.cancelled
    );
    assert!(a.completed >= 1 && a.cancelled >= 1, "{a:?}");
    // Cancelled requests free their slot: every abandoned task /slots showed running was let
    // go before sampling ended, and the slot is idle now.
    let s = &a.stopping;
    assert_eq!(s.source.as_deref(), Some("slots"));
    assert!(s.measured >= 1, "{s:?}");
    assert_eq!(s.never_stopped, 0, "{s:?}");
    assert!(
        s.started_after_drop.is_some(),
        "/slots names each request by its seed"
    );
    assert_eq!(a.wasted.source, "slots");
    // The infilling tasks were asked on /infill and graded: HumanEval/0-7 with a line out.
    let q = a.infill.as_ref().expect("infilling graded");
    eprintln!(
        "Qwen2.5-Coder-0.5B HumanEval/0-7 line infilling on /infill: pass@1 {:?} {:?}, exact {:?} {:?}",
        q.pass_at_1, q.pass_ci, q.exact_match, q.exact_ci
    );
    assert_eq!(q.tasks, 8);
    assert_eq!(
        q.results.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        (0..8)
            .map(|i| format!("HumanEval/{i}:line"))
            .collect::<Vec<_>>()
    );
    assert_eq!(q.failed_requests, 0);
    assert!(q.passed >= 1, "{q:?}");
    assert!(q.pass_ci.is_some() && q.exact_ci.is_some());
    assert_eq!(
        recs.iter().filter(|r| r.phase == Phase::Quality).count(),
        8,
        "each fill journalled"
    );
    let slots: serde_json::Value = reqwest::get(format!("{url}/slots"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        slots
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["is_processing"] == false),
        "{slots}"
    );
}
