//! The sessions workload against the real llama.cpp server with the real coding model: a
//! 4-turn conversation over shared code reuses the server's prompt cache on every later turn
//! (`timings.cache_n`), and is faster for it than the same conversation with
//! `cache_prompt: false`; a prompt beyond the server's context is recorded as
//! `context_exceeded`.

use super::{CODER, start_model_server};
use crate::common::*;
use servebench_engine::load::profile::Profile;
use servebench_engine::load::sessions::{Settings, Source, Think};
use servebench_engine::plan::Workload;
use servebench_engine::plan::{Api, TargetSpec};
use servebench_engine::record::{Outcome, Phase, RequestRecord};

fn turns_of<'a>(recs: &'a [RequestRecord], target: &str) -> Vec<&'a RequestRecord> {
    let mut v: Vec<&RequestRecord> = recs
        .iter()
        .filter(|r| r.phase == Phase::Session && r.target == target)
        .collect();
    v.sort_by_key(|r| r.session.map(|s| s.turn));
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn a_four_turn_session_reuses_the_cache_and_is_faster_than_without_it() {
    let _serial = SERIAL.lock().await;
    let port = launch_port();
    let _server = start_model_server(port, 2, 1, CODER).await;
    let url = format!("http://127.0.0.1:{port}");
    let mut ss = Settings {
        source: Source::Repo,
        turns: Some(4),
        count: 1,
        context_tokens: Some(500),
        think: Think::Const(0.0),
        ..Settings::default()
    };
    ss.load()
        .expect("the default corpus (Python's standard library)");
    let uncached = TargetSpec {
        extra_body: Some(serde_json::json!({"cache_prompt": false})),
        ..target("uncached", Api::Llamacpp, &url, CODER)
    };
    let (r, recs) = run_targets(
        vec![target("cached", Api::Llamacpp, &url, CODER), uncached],
        0,
        |s| {
            s.max_tokens = 24;
            s.profile = Profile::Sessions(1);
            s.workload = Workload::Sessions(ss.clone());
        },
    )
    .await;
    for t in &r.targets {
        assert!(t.error.is_none(), "{}: {:?}", t.name, t.error);
    }
    let (c, u) = (turns_of(&recs, "cached"), turns_of(&recs, "uncached"));
    assert_eq!((c.len(), u.len()), (4, 4));
    for (a, b) in c.iter().zip(&u) {
        eprintln!(
            "turn {}: cached: prompt {:?}, cache_n {:?}, TTFT {:?}; cache_prompt false: prompt {:?}, cache_n {:?}, TTFT {:?}",
            a.session.unwrap().turn,
            a.input_tokens,
            a.cached_prompt_tokens,
            a.ttft,
            b.input_tokens,
            b.cached_prompt_tokens,
            b.ttft
        );
        assert_eq!((a.outcome, b.outcome), (Outcome::Ok, Outcome::Ok));
    }
    for k in 1..4 {
        let (a, b) = (c[k], u[k]);
        assert!(
            a.cached_prompt_tokens.unwrap() > 0,
            "turn {}: {:?}",
            k + 1,
            a.cached_prompt_tokens
        );
        assert_eq!(b.cached_prompt_tokens, Some(0), "turn {}", k + 1);
        assert!(
            a.ttft.unwrap() < b.ttft.unwrap(),
            "turn {}: cached TTFT {:?} not below uncached {:?}",
            k + 1,
            a.ttft,
            b.ttft
        );
    }
    let s = |name: &str| {
        r.targets
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.sessions().cloned())
            .unwrap()
    };
    let (sc, su) = (s("cached"), s("uncached"));
    eprintln!(
        "cached: hit rate {:?}, history reused {:?}; uncached: {:?}, findings {:?}",
        sc.cache.hit_rate, sc.cache.history_reuse, su.cache.hit_rate, su.findings
    );
    assert_eq!(sc.cache.source.as_deref(), Some("server"));
    assert!(sc.cache.history_reuse.unwrap() > 0.9, "{:?}", sc.cache);
    assert_eq!(sc.server_slots, Some(1));
    assert!(
        su.findings
            .iter()
            .any(|w| w.code == servebench_engine::report::finding::FindingCode::HistoryReprocessed),
        "{:?}",
        su.findings
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_beyond_the_servers_context_is_context_exceeded() {
    let _serial = SERIAL.lock().await;
    let port = launch_port();
    // scripts/llamacpp_server.py: a 2,048-token context by default.
    let _server = start_model_server(port, 2, 1, CODER).await;
    let url = format!("http://127.0.0.1:{port}");
    let mut ss = Settings {
        turns: Some(2),
        count: 1,
        context_tokens: Some(4_000),
        think: Think::Const(0.0),
        ..Settings::default()
    };
    ss.load().unwrap();
    let (r, recs) = run_targets(vec![target("qwen", Api::Llamacpp, &url, CODER)], 0, |s| {
        s.max_tokens = 8;
        s.workload = Workload::Sessions(ss.clone());
    })
    .await;
    let t = turns_of(&recs, "qwen");
    assert_eq!(t.len(), 1, "the session ends at the refused turn");
    assert_eq!(t[0].outcome, Outcome::ContextExceeded, "{:?}", t[0].error);
    let n = t[0]
        .input_tokens
        .expect("llama.cpp names the prompt length");
    assert!(n > 2048, "{n}");
    let s = r.targets[0].sessions().unwrap();
    assert_eq!((s.context_exceeded, s.ended_early), (1, 1));
    eprintln!("refused: {n} prompt tokens: {:?}", t[0].error);
}
