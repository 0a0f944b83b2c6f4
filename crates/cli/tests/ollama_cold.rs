//! The Ollama cold path: unload with `keep_alive: 0`, wait for `/api/ps` to drop the model,
//! then the first request pays the load, reported by the server as `load_duration`.

use crate::common::*;
use servebench_engine::plan::Api;
use servebench_engine::report::LoadSource;
use std::time::Duration;

#[tokio::test]
async fn unload_then_cold_request_reports_server_load_duration() {
    let cfg = MockCfg {
        load: Duration::from_millis(400),
        unload_lag: Duration::from_millis(300),
        ttft: Duration::from_millis(100),
        tokens: 8,
        ..Default::default()
    };
    let m = mock_ollama(cfg).await;
    let (r, recs) = run_targets(
        vec![target("ollama", Api::Ollama, &m.url(), "mock-model")],
        2,
        |_| {},
    )
    .await;
    let t = &r.targets[0];
    assert_eq!(t.error, None);
    assert!(t.cold_verified, "the unload was confirmed by /api/ps");
    assert_eq!(t.load.source, Some(LoadSource::Server));
    // The server's own figure, exactly as reported (nanoseconds → seconds).
    assert!(
        (t.load.seconds.unwrap() - 0.400).abs() < 1e-9,
        "{:?}",
        t.load
    );
    let cold = t.phases.cold.as_ref().unwrap();
    let warm = t.phases.warm.as_ref().unwrap();
    // The cold request waited for the load; warm ones did not.
    assert!(
        cold.ttft_s.p50.unwrap() >= 0.500 - 0.001,
        "cold ttft {:?}",
        cold.ttft_s.p50
    );
    assert!(
        warm.ttft_s.p50.unwrap() < 0.200,
        "warm ttft {:?}",
        warm.ttft_s.p50
    );
    assert_eq!(
        recs[0].server_timings.as_ref().unwrap().load,
        Some(Duration::from_millis(400))
    );
    // /api/ps after the cold load.
    assert_eq!(t.model_info.loaded_bytes, Some(3173515264));
    assert_eq!(t.model_info.loaded_vram_bytes, Some(3173515264));
}

#[tokio::test]
async fn unknown_ollama_model_fails_the_target_listing_available_models() {
    let m = mock_ollama(MockCfg::default()).await;
    let (r, recs) = run_targets(
        vec![target("ollama", Api::Ollama, &m.url(), "llama9:7b")],
        2,
        |_| {},
    )
    .await;
    let t = &r.targets[0];
    assert_eq!(t.status, servebench_engine::report::TargetStatus::Failed);
    let e = t.error.as_deref().unwrap();
    assert!(
        e.contains(&format!(
            "model llama9:7b not found on {}; available: mock-model",
            m.url()
        )),
        "{e}"
    );
    assert!(recs.is_empty());
}
