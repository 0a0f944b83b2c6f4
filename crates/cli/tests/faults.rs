//! Failed requests are recorded with their kind, counted, never averaged in; the run goes on.

use crate::common::*;
use servebench_engine::plan::Api;
use servebench_engine::record::Outcome;

async fn run_with(
    api: Api,
    faults: Vec<Fault>,
    warm: u32,
) -> (
    servebench_engine::report::Report,
    Vec<servebench_engine::record::RequestRecord>,
) {
    let cfg = MockCfg {
        tokens: 6,
        faults,
        ..Default::default()
    };
    let m = match api {
        Api::Openai => mock_openai(cfg).await,
        Api::Ollama => mock_ollama(cfg).await,
        Api::Llamacpp => unreachable!("the fault tests run on the OpenAI and Ollama mocks"),
    };
    run_targets(vec![target("t", api, &m.url(), "mock-model")], warm, |_| {}).await
}

#[tokio::test]
async fn every_fault_kind_is_recorded_and_the_run_continues() {
    for api in [Api::Openai, Api::Ollama] {
        // Request 0 is cold; warm requests 1..=6 carry one fault each, 7 is clean.
        let faults = vec![
            Fault::None,
            Fault::Http(500),
            Fault::CutAfter(3),
            Fault::ResetAfter(2),
            Fault::MalformedAfter(2),
            Fault::ErrorAfter(1),
            Fault::Http(503),
            Fault::None,
        ];
        let (r, recs) = run_with(api, faults, 7).await;
        let t = &r.targets[0];
        assert_eq!(
            t.status,
            servebench_engine::report::TargetStatus::Ok,
            "{api}: {:?}",
            t.error
        );
        let w = t.phases.warm.as_ref().unwrap();
        assert_eq!((w.requests, w.ok, w.failed), (7, 1, 6), "{api}");
        for kind in [
            "http_500",
            "stream_cut",
            "malformed_event",
            "server_error",
            "http_503",
        ] {
            assert!(
                w.failures.contains_key(kind),
                "{api}: {kind} missing in {:?}",
                w.failures
            );
        }
        assert_eq!(w.failures.values().sum::<u64>(), 6);
        assert_eq!(
            w.failures["stream_cut"], 2,
            "{api}: clean cut and reset are both stream_cut"
        );
        // Only the one successful warm request is in the distributions.
        assert_eq!(w.ttft_s.n, 1);
        assert_eq!(w.output_tokens.mean, Some(6.0));
        // recs[0] is the cold request; recs[i] carries faults[i].
        let cut = &recs[2];
        assert_eq!(cut.outcome.kind(), "stream_cut");
        assert_eq!(
            cut.chunk_arrivals.len(),
            3,
            "{api}: what arrived before the cut is kept"
        );
        assert!(
            recs[1].error.as_deref().unwrap().contains("HTTP 500"),
            "{:?}",
            recs[1].error
        );
        assert_eq!(
            recs[3].outcome.kind(),
            "stream_cut",
            "{api}: a reset connection"
        );
        assert_eq!(recs[4].outcome.kind(), "malformed_event");
        assert_eq!(recs[5].outcome.kind(), "server_error");
        assert!(
            recs[5].error.as_deref().unwrap().contains("error"),
            "{:?}",
            recs[5].error
        );
        assert_eq!(recs[6].outcome, Outcome::Http(503));
        assert!(recs[7].outcome.is_ok());
    }
}

#[tokio::test]
async fn a_target_whose_every_request_fails_is_failed() {
    let (r, _) = run_with(Api::Openai, vec![Fault::Http(500); 4], 3).await;
    let t = &r.targets[0];
    assert_eq!(t.status, servebench_engine::report::TargetStatus::Failed);
    assert!(
        t.error
            .as_deref()
            .unwrap()
            .contains("all 4 requests failed"),
        "{:?}",
        t.error
    );
    assert_eq!(t.phases.warm.as_ref().unwrap().failures["http_500"], 3);
}

/// Regression (seen in `make demo` against llama.cpp): a keep-alive connection the server had
/// closed was reused, and the request was recorded as `stream_cut` although the server never
/// saw it. It must be re-sent on a fresh connection and measured from that send.
#[tokio::test]
async fn a_pooled_connection_the_server_closed_is_resent_on_a_fresh_one() {
    use servebench_engine::backend::{Client, GenParams, RequestMeta};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let arrivals = Arc::new(AtomicUsize::new(0));
    let seen = arrivals.clone();
    tokio::spawn(async move {
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            let seen = seen.clone();
            tokio::spawn(async move {
                // Serve one request, then read the next and close without answering.
                for served in 0.. {
                    let mut buf = Vec::new();
                    let mut tmp = [0u8; 4096];
                    let (head_end, len) = loop {
                        let n = conn.read(&mut tmp).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&tmp[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                            let len = head
                                .lines()
                                .find_map(|l| {
                                    l.strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap())
                                })
                                .unwrap_or(0);
                            break (i + 4, len);
                        }
                    };
                    while buf.len() < head_end + len {
                        let n = conn.read(&mut tmp).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&tmp[..n]);
                    }
                    seen.fetch_add(1, Ordering::SeqCst);
                    if served == 1 {
                        return;
                    }
                    let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    conn.write_all(resp.as_bytes()).await.unwrap();
                }
            });
        }
    });
    let client = Client::new(Api::Openai, &format!("http://{addr}"), "m");
    let params = GenParams {
        max_tokens: 4,
        temperature: 0.0,
        seed: 1,
        endpoint: servebench_engine::plan::Endpoint::Chat,
        timeout: std::time::Duration::from_secs(10),
        ttft_timeout: None,
        retries: 0,
        stop: &[],
    };
    let prompt = &servebench_engine::prompts::builtin()[0];
    let cancel = tokio_util::sync::CancellationToken::new();
    for index in 0..3 {
        let meta = RequestMeta {
            target: "t",
            phase: servebench_engine::record::Phase::Warm,
            step: None,
            attempt: 0,
            class: None,
            index,
            scheduled: std::time::Instant::now(),
        };
        let rec = client.generate(prompt, &params, meta, &cancel).await;
        assert!(
            rec.outcome.is_ok(),
            "request {index}: {:?} {:?}",
            rec.outcome,
            rec.error
        );
        assert_eq!(rec.text, "hi");
    }
    // Requests 1 and 2 each reached a closing connection first, then a fresh one.
    assert_eq!(arrivals.load(Ordering::SeqCst), 5);
}
