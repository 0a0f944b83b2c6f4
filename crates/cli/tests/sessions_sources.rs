//! The sessions workload's sources against the mock: ShareGPT sessions of every human turn,
//! agent sessions that grow by a file read and ask for long outputs (fitted to a short server
//! context), and chat over a repository whose later sessions find the shared context cached.

use crate::common::*;
use crate::sessions::{fast, previous, records, run_sessions, sessions};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A corpus of `n` small Python files under `dir/repo`.
fn corpus(dir: &Path, n: usize) -> PathBuf {
    let c = dir.join("repo");
    std::fs::create_dir(&c).unwrap();
    for k in 0..n {
        std::fs::write(
            c.join(format!("m{k}.py")),
            format!("def f{k}(x):\n    return x + {k}\n\n").repeat(30),
        )
        .unwrap();
    }
    c
}

/// ShareGPT: every human turn of a conversation is a turn of its session (not just the first),
/// its `system` turn the system message, and the history carries the server's replies, not
/// the answers recorded in the file.
#[tokio::test(flavor = "multi_thread")]
async fn sharegpt_conversations_are_sessions_of_all_their_human_turns() {
    let m = mock_openai(MockCfg {
        tokens: 3,
        ..fast()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sharegpt.json");
    std::fs::write(
        &p,
        r#"[{"id": "c1", "conversations": [
              {"from": "system", "value": "be terse"},
              {"from": "human", "value": "first question"},
              {"from": "gpt", "value": "recorded answer one"},
              {"from": "human", "value": "second question"},
              {"from": "gpt", "value": "recorded answer two"},
              {"from": "human", "value": "third question"}]},
            {"id": "c2", "conversations": [
              {"from": "human", "value": "only question"},
              {"from": "gpt", "value": "recorded"}]},
            {"id": "c3", "conversations": [{"from": "gpt", "value": "no human turn"}]}]"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = run_sessions(
        "openai",
        &m.url(),
        &out,
        &["--sharegpt", p.to_str().unwrap(), "--profile", "sessions:1"],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let bodies = m.bodies();
    assert_eq!(bodies.len(), 4, "three turns of c1, one of c2");
    let msgs = |k: usize| bodies[k]["messages"].as_array().unwrap().clone();
    let last = msgs(2);
    let roles: Vec<&str> = last.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "user", "assistant", "user"]
    );
    assert!(last[0]["content"].as_str().unwrap().ends_with("be terse"));
    assert_eq!(last[2]["content"], " t0 t1 t2", "the server's reply");
    assert_eq!(last[3]["content"], "second question");
    assert_eq!(last[5]["content"], "third question");
    let r = read_report(&out);
    let s = sessions(&r);
    assert_eq!(
        s["source"].as_str().unwrap(),
        format!("sharegpt:{}", p.display())
    );
    assert_eq!(
        (s["sessions"].as_u64(), s["completed"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(s["by_turn"].as_array().unwrap().len(), 3);
}

/// Agent sessions: a long code context, then every turn inserts a file read and asks for a
/// long output (1,024 tokens unless `--max-tokens`), so each turn's prompt is its previous
/// prompt, the reply and the insert.
#[tokio::test(flavor = "multi_thread")]
async fn agent_sessions_grow_by_a_file_read_and_ask_for_long_outputs() {
    let m = mock_openai(MockCfg {
        prompt_cache: Some(CacheMock::Prefix),
        tokens: 5,
        ..fast()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(dir.path(), 4);
    for (extra, want) in [(vec![], 1024), (vec!["--max-tokens", "64"], 64)] {
        let out = dir.path().join(format!("out{want}"));
        let mut args = vec![
            "--workload",
            "sessions",
            "--sessions",
            "agent",
            "--corpus",
            corpus.to_str().unwrap(),
            "--context-tokens",
            "300",
            "--insert-tokens",
            "80",
            "--turns",
            "3",
            "--session-count",
            "2",
            "--profile",
            "sessions:2",
            "--think-time",
            "const:0",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let before = m.bodies().len();
        let o = run_quick("openai", &m.url(), "mock-model", &args).await;
        assert_eq!(o.code, 0, "{}", o.stderr);
        let bodies: Vec<Value> = m.bodies()[before..]
            .iter()
            .filter(|b| b["messages"].as_array().is_some_and(|m| m.len() > 1))
            .cloned()
            .collect();
        assert_eq!(bodies.len(), 6, "2 sessions of 3 turns");
        for b in &bodies {
            assert_eq!(b["max_tokens"], want, "{}", b["max_tokens"]);
            let msgs = b["messages"].as_array().unwrap();
            assert!(
                msgs[0]["content"]
                    .as_str()
                    .unwrap()
                    .contains("coding agent")
            );
            let user = msgs.last().unwrap()["content"].as_str().unwrap();
            assert!(user.contains("Tool result read_file(m"), "{user}");
        }
        let recs = records(&out);
        for r in recs.iter().filter(|r| r.session.unwrap().turn > 1) {
            let st = r.session.unwrap();
            // The history (prompt + 5-token reply) plus a file read of at least 40 words.
            let prev = previous(&recs, r);
            let (n, h) = (r.input_tokens.unwrap(), prev.input_tokens.unwrap() + 5);
            assert!(n > h + 40, "turn {}: {n} tokens after {h}", st.turn);
            assert_eq!(r.cached_prompt_tokens, Some(h), "the whole history cached");
        }
        let rep = read_report(&out);
        let s = sessions(&rep);
        assert!(s["source"].as_str().unwrap().starts_with("agent:"));
        assert!(
            s["context_tokens"].as_u64() == Some(300),
            "{}",
            s["context_tokens"]
        );
    }
}

/// Agent sessions on a server with a short context: the default 8,000 tokens of context are cut
/// to half of it, so the first turn fits instead of being refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_default_agent_context_is_fitted_to_the_servers() {
    let m = mock_openai(MockCfg {
        prompt_cache: Some(CacheMock::Prefix),
        max_model_len: 1000,
        ctx_limit: Some(1000),
        tokens: 5,
        ..fast()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run_sessions(
        "openai",
        &m.url(),
        &out,
        &[
            "--sessions",
            "agent",
            "--insert-tokens",
            "50",
            "--turns",
            "1",
            "--session-count",
            "1",
        ],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rep = read_report(&out);
    let s = sessions(&rep);
    assert_eq!(s["context_tokens"].as_u64(), Some(500), "{s}");
    assert_eq!(s["completed"].as_u64(), Some(1), "{s}");
    let recs = records(&out);
    let n = recs[0].input_tokens.unwrap();
    assert!((450..1000).contains(&n), "turn 1 counted {n} tokens");
}

/// Chat over a repository, one session after another: each later first turn finds the shared
/// context in the mock's prefix cache, and no finding says otherwise.
#[tokio::test(flavor = "multi_thread")]
async fn later_sessions_find_the_shared_repository_context_cached() {
    let m = mock_openai(MockCfg {
        prompt_cache: Some(CacheMock::Prefix),
        tokens: 5,
        ..fast()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(dir.path(), 3);
    let out = dir.path().join("out");
    let o = run_sessions(
        "openai",
        &m.url(),
        &out,
        &[
            "--sessions",
            "repo",
            "--corpus",
            corpus.to_str().unwrap(),
            "--context-tokens",
            "200",
            "--turns",
            "1",
            "--session-count",
            "3",
            "--profile",
            "sessions:1",
        ],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rep = read_report(&out);
    let s = sessions(&rep);
    let c = &s["cache"];
    assert_eq!(
        (c["context_turns"].as_u64(), c["context_misses"].as_u64()),
        (Some(2), Some(0)),
        "{c}"
    );
    assert!(
        s["findings"].as_array().unwrap().is_empty(),
        "{}",
        s["findings"]
    );
}
