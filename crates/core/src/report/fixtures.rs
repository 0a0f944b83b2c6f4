//! Report values for tests: a target with every phase and a report around targets, shared by
//! the exporters' snapshot tests and the builder's property test.

use crate::report::model::*;
use crate::report::phase::*;
use crate::report::resources::*;
use crate::spec::{Api, Endpoint, NativeFim, ServerTraits};
use crate::stats::Summary;
use std::collections::BTreeMap;

pub(crate) fn summary(mean: f64) -> Summary {
    Summary {
        n: 10,
        mean: Some(mean),
        stddev: Some(mean / 10.0),
        min: Some(mean * 0.8),
        p50: Some(mean),
        p90: Some(mean * 1.1),
        p95: Some(mean * 1.15),
        p99: Some(mean * 1.2),
        max: Some(mean * 1.3),
    }
}

pub(crate) fn phase(scale: f64, failed: u64) -> PhaseReport {
    PhaseReport {
        requests: 10,
        ok: 10 - failed,
        failed,
        failures: if failed > 0 {
            BTreeMap::from([("http_500".to_string(), failed)])
        } else {
            BTreeMap::new()
        },
        token_source: Some("server".into()),
        wall_s: 20.0 * scale,
        output_tok_s: Some(50.0 / scale),
        ttft_s: summary(0.1 * scale),
        tpot_s: summary(0.02 * scale),
        itl_s: summary(0.02 * scale),
        e2e_s: summary(2.0 * scale),
        output_tokens: summary(100.0),
        input_tokens: summary(40.0),
        decode_tok_s: summary(50.0 / scale),
        e2e_tok_s: summary(48.0 / scale),
        server_decode_tok_s: summary(51.0 / scale),
        schedule_lag_s: summary(0.0),
        ttft_from_schedule_s: summary(0.1 * scale),
        e2e_from_schedule_s: summary(2.0 * scale),
        output_length: None,
        prompt_cache: None,
        reasoning: None,
        energy: None,
        gpu: Some(GpuPhase {
            samples: 10,
            devices: vec![GpuDeviceStats {
                index: 0,
                mem_used_bytes: summary(56.0 * f64::from(1u32 << 30)),
                mem_used_pct: summary(70.0),
                gpu_util_pct: summary(60.0 / scale),
                power_w: summary(300.0),
                ..Default::default()
            }],
        }),
        server_process: Some(ProcessPhase {
            pid: 42,
            samples: 10,
            cpu_pct: summary(100.0 * scale),
            rss_bytes: summary(2.0 * f64::from(1u32 << 30)),
        }),
        server_metrics: Some(ServerMetricsPhase {
            scrapes: 3,
            gauges: BTreeMap::from([
                ("vllm:kv_cache_usage_perc".to_string(), summary(0.25)),
                ("vllm:num_requests_running".to_string(), summary(1.0)),
                ("vllm:num_requests_waiting".to_string(), summary(0.0)),
            ]),
            ..Default::default()
        }),
    }
}

pub(crate) fn target(name: &str, api: Api, scale: f64) -> TargetReport {
    TargetReport {
        name: name.into(),
        api,
        // What each dialect states (the engine's `Capabilities::traits`).
        server_traits: ServerTraits {
            states_cached_tokens: api != Api::Ollama,
            truncates_silently: api == Api::Ollama,
            reports_models_context: api == Api::Ollama,
            fim: match api {
                Api::Ollama => NativeFim::Suffix,
                Api::Llamacpp => NativeFim::Infill,
                Api::Openai => NativeFim::None,
            },
        },
        url: "http://localhost:1".into(),
        model: "m".into(),
        status: TargetStatus::Ok,
        error: None,
        managed: api == Api::Openai,
        server_threads: None,
        server_version: Some("1.0".into()),
        model_check: Some(ModelCheck::Listed),
        model_info: ModelInfo {
            quantization: Some("Q4_K_M".into()),
            parameter_count: Some(3_000_000_000),
            context_length: Some(4096),
            ..Default::default()
        },
        load: Load {
            seconds: Some(1.5 * scale),
            source: Some(if api == Api::Ollama {
                LoadSource::Server
            } else {
                LoadSource::Launch
            }),
            launch_s: None,
            samples: Vec::new(),
        },
        cold_verified: true,
        phases: Phases {
            cold: Some(phase(scale, 0)),
            warm: Some(phase(scale, if scale > 1.0 { 2 } else { 0 })),
            load: None,
            sweep: [1, 2, 4, 8]
                .iter()
                .map(|&c| LoadStep {
                    phase: PhaseReport {
                        output_tok_s: Some(50.0 / scale * f64::from(c.min(4))),
                        ..phase(scale, 0)
                    },
                    profile: format!("concurrency:{c}"),
                    concurrency: Some(c),
                    duration_s: 10.0,
                    request_rate_rps: Some(f64::from(c.min(4)) / scale),
                    goodput_rps: Some(f64::from(c.min(2)) / scale),
                    slo_pass_rate: Some(if c > 2 { 0.5 } else { 1.0 }),
                    ..Default::default()
                })
                .collect(),
        },
        workload: None,
        saturation: Some(Saturation {
            concurrency: 4,
            output_tok_s: 200.0 / scale,
        }),
        sweep_stop_reason: None,
        prompt_calibration: None,
        memory: MemoryReport::default(),
        attempts: Vec::new(),
        quality: None,
    }
}

pub(crate) fn report(targets: Vec<TargetReport>) -> Report {
    Report {
        schema_version: SCHEMA_VERSION,
        servebench_version: "0.0.0-test".into(),
        created_at: "2026-01-01T00:00:00+00:00".into(),
        interrupted: false,
        settings: RunSettingsReport {
            warm: 10,
            max_tokens: 256,
            temperature: 0.0,
            seed: 42,
            endpoint: Endpoint::Chat,
            prompts: "builtin".into(),
            prompt_count: 8,
            timeout_s: 600.0,
            profile: "sweep:1,2,4,8".into(),
            requests: Some(16),
            duration_s: None,
            warmup: 0,
            slo: Default::default(),
            cold: 1,
            performance: true,
            workload: crate::spec::WorkloadKind::Chat,
            unique_prompts: true,
        },
        gpu: GpuReport {
            available: true,
            reason: None,
            sample_hz: 10.0,
            devices: vec![GpuDevice {
                index: 0,
                name: "NVIDIA H100 80GB HBM3".into(),
                uuid: None,
                mem_total_bytes: Some(80 << 30),
            }],
            baseline: None,
            timeline: Vec::new(),
        },
        targets,
        repeat: None,
    }
}
