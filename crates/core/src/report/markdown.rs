//! Markdown exporter: the seed's comparison table (one column per target and, with two or more
//! targets, which is better), then per-target details with percentiles and failure counts.

use super::i18n::headline_label;
use super::metric::{Direction, HEADLINE, TIE_RELATIVE};
use super::model::{LoadStep, PhaseReport, Report, TargetReport, TargetStatus};
use super::table::{Verdict, fmt, verdict, verdict_of};
use crate::stats::Summary;
use std::fmt::Write;

/// Render the whole report.
pub fn render(r: &Report) -> String {
    render_with(r, None)
}

/// Render the whole report with its comparison of targets (deltas, significance, caveats,
/// recommendations) after the summary.
pub fn render_with(r: &Report, cmp: Option<&super::compare::Comparison>) -> String {
    let mut o = String::new();
    let s = &r.settings;
    let _ = writeln!(o, "# servebench report\n");
    if !s.performance {
        // `servebench eval`: quality only.
        let _ = writeln!(
            o,
            "Quality evaluation {} with servebench {} (no performance phases).",
            r.created_at, r.servebench_version
        );
        if r.interrupted {
            let _ = writeln!(
                o,
                "\n> **Interrupted**: the run was stopped before it finished; scores cover what was graded."
            );
        }
        super::quality_md::section(&mut o, &r.targets);
        for t in r
            .targets
            .iter()
            .filter(|t| t.status == TargetStatus::Failed)
        {
            let _ = writeln!(
                o,
                "\n- **{} failed**: {}",
                t.name,
                t.error.as_deref().unwrap_or("unknown error")
            );
        }
        return o;
    }
    let _ = writeln!(
        o,
        "Run {} with servebench {}: {} warm requests per target, max_tokens {}, temperature {}, seed {}, prompts: {} ({}).\n",
        r.created_at,
        r.servebench_version,
        s.warm,
        s.max_tokens,
        s.temperature,
        s.seed,
        s.prompts,
        s.prompt_count
    );
    if r.interrupted {
        let _ = writeln!(
            o,
            "> **Interrupted**: the run was stopped before it finished; figures cover what completed.\n"
        );
    }
    let _ = writeln!(o, "## Summary\n");
    o.push_str(&summary_table(&r.targets));
    if r.targets.len() < 2 {
        let _ = writeln!(
            o,
            "\nOne target: nothing to compare it with, so no winner is named."
        );
    } else {
        let _ = writeln!(
            o,
            "\n\"Better\" names the best value; differences under {:.0} % are called a tie. These are point estimates from sequential single-stream requests, not significance tests.",
            TIE_RELATIVE * 100.0
        );
    }
    if let Some(c) = cmp.filter(|c| c.targets.len() >= 2) {
        let _ = writeln!(o, "\n## Comparison");
        super::compare_md::section(&mut o, c, super::i18n::Lang::En);
    }
    super::resources_md::gpu_paragraph(&mut o, &r.gpu);
    load_sections(&mut o, &r.targets);
    super::quality_md::section(&mut o, &r.targets);
    let sources: std::collections::BTreeSet<_> =
        r.targets.iter().filter_map(|t| t.load.source).collect();
    if sources.len() > 1 {
        let _ = writeln!(
            o,
            "\nLoad times were measured differently (server-reported model load vs. servebench's spawn → API ready): compare them with care."
        );
    }
    for t in &r.targets {
        o.push('\n');
        target_section(&mut o, t);
    }
    o.push_str(DEFINITIONS);
    o
}

/// The headline table: one column per target, plus "Better" with two or more targets.
pub fn summary_table(targets: &[TargetReport]) -> String {
    let mut o = String::new();
    let many = targets.len() >= 2;
    let mut head = vec!["Metric (unit)".to_string()];
    head.extend(
        targets
            .iter()
            .map(|t| format!("{} (`{}`)", t.name, t.model)),
    );
    if many {
        head.push("Better".into());
    }
    row(&mut o, &head);
    row(
        &mut o,
        &head.iter().map(|_| "---".to_string()).collect::<Vec<_>>(),
    );
    for &id in HEADLINE {
        let m = id.def();
        let label = match m.direction.phrase() {
            Some(dir) => format!("{} ({}; {dir})", headline_label(id), m.unit),
            None => format!("{} ({})", headline_label(id), m.unit),
        };
        let mut cells = vec![label];
        cells.extend(targets.iter().map(|t| fmt((m.value)(t), m.digits)));
        if many {
            cells.push(match verdict(id, targets) {
                Verdict::NotComparable => "—".into(),
                Verdict::Tie => "tie".into(),
                Verdict::Best(i) => targets[i].name.clone(),
            });
        }
        row(&mut o, &cells);
    }
    let mut failed = vec!["Failed requests (cold + warm)".to_string()];
    failed.extend(targets.iter().map(|t| {
        let phases = [&t.phases.cold, &t.phases.warm];
        let (f, n) = phases
            .iter()
            .flat_map(|p| p.as_ref())
            .fold((0, 0), |(f, n), p| (f + p.failed, n + p.requests));
        format!("{f} of {n}")
    }));
    if many {
        failed.push(String::new());
    }
    row(&mut o, &failed);
    o
}

fn target_section(o: &mut String, t: &TargetReport) {
    let _ = writeln!(o, "## {}\n", t.name);
    let _ = writeln!(
        o,
        "- API: {} at {}{}\n- Model: `{}`",
        t.api,
        t.url,
        if t.managed {
            " (started by servebench)"
        } else {
            ""
        },
        t.model
    );
    let mi = &t.model_info;
    let or_unstated = |v: Option<String>| v.unwrap_or_else(|| "not stated by the server".into());
    let _ = writeln!(
        o,
        "- Quantisation: {}; parameters: {}; context length: {}; family: {}",
        or_unstated(mi.quantization.clone()),
        or_unstated(
            mi.parameter_count
                .map(|n| n.to_string())
                .or(mi.parameter_size.clone())
        ),
        or_unstated(mi.context_length.map(|n| n.to_string())),
        or_unstated(mi.family.clone()),
    );
    if let Some(v) = &t.server_version {
        let _ = writeln!(o, "- Server version: {v}");
    }
    let load = match (t.load.seconds, t.load.source) {
        (Some(s), Some(src)) => format!(
            "{s:.2} s ({})",
            match src {
                super::model::LoadSource::Server => "reported by the server",
                super::model::LoadSource::Launch => "spawn → API ready, timed by servebench",
            }
        ),
        _ => "not measured: the server was already running and cannot be made to reload".into(),
    };
    let _ = writeln!(o, "- Load time: {load}");
    let _ = writeln!(
        o,
        "- Cold start verified: {}",
        if t.cold_verified {
            "yes"
        } else {
            "no — the first request may have hit an already-loaded model"
        }
    );
    if t.status == TargetStatus::Failed {
        let _ = writeln!(
            o,
            "- **Failed**: {}",
            t.error.as_deref().unwrap_or("unknown error")
        );
    }
    super::resources_md::target_lines(o, t);
    let phases = [("cold", &t.phases.cold), ("warm", &t.phases.warm)];
    if phases.iter().all(|(_, p)| p.is_none()) {
        return;
    }
    let _ = writeln!(
        o,
        "\n| Phase | Metric (unit) | n | mean | p50 | p90 | p99 | max |"
    );
    let _ = writeln!(o, "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (name, p) in phases {
        let Some(p) = p else { continue };
        for (label, s, d) in dists(p) {
            let c = |v: Option<f64>| fmt(v, d);
            let _ = writeln!(
                o,
                "| {name} | {label} | {} | {} | {} | {} | {} | {} |",
                s.n,
                c(s.mean),
                c(s.p50),
                c(s.p90),
                c(s.p99),
                c(s.max)
            );
        }
    }
    o.push('\n');
    for (name, p) in phases {
        let Some(p) = p else { continue };
        let kinds: Vec<String> = p
            .failures
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        let _ = writeln!(
            o,
            "- {name}: {} requests, {} ok, {} failed{}; output tokens counted by {}; phase output {} tok/s over {:.2} s",
            p.requests,
            p.ok,
            p.failed,
            if kinds.is_empty() {
                String::new()
            } else {
                format!(" ({})", kinds.join(", "))
            },
            p.token_source.as_deref().unwrap_or("—"),
            fmt(p.output_tok_s, 1),
            p.wall_s
        );
    }
    let mut res: Vec<(String, &PhaseReport)> = phases
        .iter()
        .filter_map(|(n, p)| Some((n.to_string(), p.as_ref()?)))
        .collect();
    res.extend(t.phases.load.iter().map(|l| (l.profile.clone(), &l.phase)));
    res.extend(
        t.phases
            .sweep
            .iter()
            .map(|l| (format!("sweep {}", l.profile), &l.phase)),
    );
    super::resources_md::phase_table(o, &res);
}

/// Load phase and sweep tables, and which stack wins at each load.
fn load_sections(o: &mut String, targets: &[TargetReport]) {
    let loaded: Vec<&TargetReport> = targets.iter().filter(|t| t.phases.load.is_some()).collect();
    if !loaded.is_empty() {
        let _ = writeln!(o, "\n## Load phase\n");
        step_table(
            o,
            loaded
                .iter()
                .map(|t| (t.name.as_str(), t.phases.load.as_ref().expect("filtered"))),
        );
    }
    let swept: Vec<&TargetReport> = targets
        .iter()
        .filter(|t| !t.phases.sweep.is_empty())
        .collect();
    for t in &swept {
        let _ = writeln!(o, "\n## Sweep: {}\n", t.name);
        step_table(o, t.phases.sweep.iter().map(|s| (t.name.as_str(), s)));
        let sat = match &t.saturation {
            Some(s) => format!(
                "Saturation: concurrency {} at {:.1} output tok/s (the smallest step after which throughput grows by less than 10 %).",
                s.concurrency, s.output_tok_s
            ),
            None => format!(
                "Saturation: not reached up to concurrency {}.",
                t.phases
                    .sweep
                    .last()
                    .and_then(|s| s.concurrency)
                    .unwrap_or(0)
            ),
        };
        let _ = writeln!(o, "\n{sat}");
        if let Some(r) = &t.sweep_stop_reason {
            let _ = writeln!(o, "The sweep stopped early: {r}.");
        }
    }
    if swept.len() >= 2 {
        let _ = writeln!(o, "\n## Which stack wins at each load (output tok/s)\n");
        let mut levels: Vec<u32> = swept
            .iter()
            .flat_map(|t| t.phases.sweep.iter().filter_map(|s| s.concurrency))
            .collect();
        levels.sort_unstable();
        levels.dedup();
        let mut head = vec!["Concurrency".to_string()];
        head.extend(swept.iter().map(|t| t.name.clone()));
        head.push("Better".into());
        row(o, &head);
        row(
            o,
            &head.iter().map(|_| "---".to_string()).collect::<Vec<_>>(),
        );
        for c in levels {
            let vals: Vec<Option<f64>> = swept
                .iter()
                .map(|t| {
                    t.phases
                        .sweep
                        .iter()
                        .find(|s| s.concurrency == Some(c))?
                        .phase
                        .output_tok_s
                })
                .collect();
            let mut cells = vec![c.to_string()];
            cells.extend(vals.iter().map(|v| fmt(*v, 1)));
            cells.push(match verdict_of(&vals, Direction::Higher) {
                Verdict::NotComparable => "—".into(),
                Verdict::Tie => "tie".into(),
                Verdict::Best(i) => swept[i].name.clone(),
            });
            row(o, &cells);
        }
    }
}

fn step_table<'a>(o: &mut String, steps: impl Iterator<Item = (&'a str, &'a LoadStep)>) {
    let head = [
        "Target",
        "Load",
        "Requests (failed)",
        "req/s",
        "Output tok/s",
        "TTFT p50 (s)",
        "TTFT p99 (s)",
        "TTFT p99 from schedule (s)",
        "TPOT p50 (s)",
        "TPOT p99 (s)",
        "Goodput (req/s)",
        "SLO pass",
    ];
    row(o, &head.map(String::from));
    row(o, &head.map(|_| "---".to_string()));
    let mut warnings = Vec::new();
    for (name, s) in steps {
        let p = &s.phase;
        let load = match (s.concurrency, s.rate) {
            (Some(c), _) => format!("concurrency {c}"),
            (None, Some(r)) => format!("{r} req/s ({})", s.profile),
            _ => s.profile.clone(),
        };
        row(
            o,
            &[
                name.to_string(),
                load.clone(),
                format!("{} ({})", p.requests, p.failed),
                fmt(s.request_rate_rps, 2),
                fmt(p.output_tok_s, 1),
                fmt(p.ttft_s.p50, 3),
                fmt(p.ttft_s.p99, 3),
                fmt(p.ttft_from_schedule_s.p99, 3),
                fmt(p.tpot_s.p50, 4),
                fmt(p.tpot_s.p99, 4),
                fmt(s.goodput_rps, 2),
                s.slo_pass_rate
                    .map_or("—".into(), |r| format!("{:.0} %", r * 100.0)),
            ],
        );
        warnings.extend(s.warnings.iter().map(|w| format!("{name}, {load}: {w}")));
        if !p.failures.is_empty() {
            let kinds: Vec<String> = p
                .failures
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            warnings.push(format!("{name}, {load}: failures {}", kinds.join(", ")));
        }
    }
    for w in warnings {
        let _ = writeln!(o, "\n- {w}");
    }
}

fn dists(p: &PhaseReport) -> [(&'static str, &Summary, usize); 7] {
    [
        ("TTFT (s)", &p.ttft_s, 3),
        ("TPOT (s)", &p.tpot_s, 4),
        ("ITL (s)", &p.itl_s, 4),
        ("E2E (s)", &p.e2e_s, 3),
        ("Output tokens", &p.output_tokens, 0),
        ("Decode rate (tok/s)", &p.decode_tok_s, 1),
        ("E2E rate (tok/s)", &p.e2e_tok_s, 1),
    ]
}

fn row(o: &mut String, cells: &[String]) {
    let _ = writeln!(
        o,
        "| {} |",
        cells
            .iter()
            .map(|c| c.replace('|', "\\|"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
}

const DEFINITIONS: &str = "
## Definitions

- TTFT: send → first chunk carrying generated text.
- E2E (response time): send → last chunk carrying generated text.
- TPOT: (E2E − TTFT) / (output tokens − 1). ITL: gaps between content chunks, pooled.
- Decode rate: (output tokens − 1) / (E2E − TTFT). E2E rate (\"TPS\"): output tokens / E2E.
- Phase output tok/s: all output tokens of successful requests / phase wall time.
- Failed requests are counted under their kind and never averaged into the distributions.
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{report, target};
    use crate::report::model::*;
    use crate::report::quality::*;
    use crate::spec::Api;
    use std::collections::BTreeMap;

    #[test]
    fn two_targets_snapshot() {
        let mut slow = target("ollama", Api::Ollama, 1.5);
        slow.load.seconds = Some(1.5 * 1.01); // within 2 %: a tie, not a win
        slow.load.samples = [1.4, 1.515, 1.6]
            .map(|seconds| LoadSample {
                seconds,
                source: LoadSource::Server,
                verified: true,
                cold_ttft_s: Some(1.7),
            })
            .to_vec();
        let mut fast = target("vllm", Api::Openai, 1.0);
        fast.attempts = vec![
            Attempt {
                model: "Qwen-32B-FP16".into(),
                url: fast.url.clone(),
                status: AttemptStatus::Oom,
                error: Some("server exited with exit status: 1 before it was ready".into()),
                log_tail: vec!["torch.OutOfMemoryError: CUDA out of memory".into()],
            },
            Attempt {
                model: "m".into(),
                url: fast.url.clone(),
                status: AttemptStatus::Ok,
                error: None,
                log_tail: Vec::new(),
            },
        ];
        fast.memory = crate::report::explain_memory(&crate::report::MemoryFacts {
            weights: Some((19 << 30, "safetensors files".into())),
            server_mem_max: Some(72 << 30),
            device_total: Some(80 << 30),
            preallocated_fraction: Some(0.9),
            kv_cache_usage_max: Some(0.25),
            kv_cache_tokens: Some(466_016),
            gpu_available: true,
            ..Default::default()
        });
        let quality = |scale: f64| {
            let score = |t: f64| ScenarioScore {
                tasks: 10,
                answers: 20,
                passed: (10.0 * t / 5.0) as usize,
                failed: 10 - (10.0 * t / 5.0) as usize,
                total_score: Some(t),
                accuracy: Some(t),
                consistency: Some(5.0),
                code_quality: Some(4.0),
                clarity: Some(4.5),
                ..Default::default()
            };
            QualityReport {
                dataset: "builtin".into(),
                tasks: 40,
                samples: 1,
                max_tokens: 768,
                pass_at_1: Some(0.6 / scale),
                pass_at_k: BTreeMap::from([("1".to_string(), 0.6 / scale)]),
                scenarios: BTreeMap::from([
                    ("code-completion".to_string(), score(3.0 / scale)),
                    ("debugging".to_string(), score(2.0)),
                ]),
                average_total_score: Some((3.0 / scale + 2.0) / 2.0),
                sandbox: Some("rlimits, seccomp, landlock FullyEnforced, uid 65534".into()),
                ..Default::default()
            }
        };
        fast.quality = Some(quality(1.0));
        slow.quality = Some(quality(1.5));
        insta::assert_snapshot!(render(&report(vec![fast, slow])));
    }

    #[test]
    fn single_failed_target_snapshot() {
        let mut t = target("vllm", Api::Openai, 1.0);
        t.status = TargetStatus::Failed;
        t.error = Some("vllm: nothing is listening at http://localhost:1".into());
        t.phases = Phases::default();
        t.saturation = None;
        t.load = Load::default();
        t.cold_verified = false;
        t.model_info = ModelInfo::default();
        insta::assert_snapshot!(render(&report(vec![t])));
    }
}
