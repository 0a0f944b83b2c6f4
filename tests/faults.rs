//! Failed requests are recorded with their kind, counted, never averaged in; the run goes on.

mod common;
use common::*;
use servebench::plan::Api;
use servebench::record::Outcome;

async fn run_with(
    api: Api,
    faults: Vec<Fault>,
    warm: u32,
) -> (
    servebench::report::Report,
    Vec<servebench::record::RequestRecord>,
) {
    let cfg = MockCfg {
        tokens: 6,
        faults,
        ..Default::default()
    };
    let m = match api {
        Api::Openai => mock_openai(cfg).await,
        Api::Ollama => mock_ollama(cfg).await,
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
            servebench::report::TargetStatus::Ok,
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
    assert_eq!(t.status, servebench::report::TargetStatus::Failed);
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
