//! `servebench eval`: its arguments and their conversion into a quality-only run.

use super::target::{RunJob, TargetArgs, api_parser, build_plan, out_dir, prepare_quality};
use anyhow::{Context, bail};
use clap::Args;
use servebench_engine::eval::suite::{Dataset, PromptStyle, SCENARIOS};
use servebench_engine::eval::{EvalSettings, JudgeSpec};
use servebench_engine::plan::{Api, Quality, RunOverrides};
use std::path::PathBuf;

/// `servebench eval` arguments.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Plan file (TOML): every target is evaluated (managed ones are started).
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub history: super::target::StoreArgs,
    /// builtin (the four scenarios), humaneval (164 tasks) or a HumanEval-format JSONL(.gz).
    #[arg(long, default_value = "builtin", value_parser = |s: &str| s.parse::<Dataset>())]
    pub dataset: Dataset,
    /// Answers per task; pass@k for k up to this. With 1, each task is asked once more to
    /// measure consistency.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub samples: u32,
    /// Sampling temperature, 0..=2.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Only the first N tasks of each scenario.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Built-in scenarios to run, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Option<Vec<String>>,
    /// Graders running at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: u64,
    /// Generation limit per answer (large enough for whole functions).
    #[arg(long, default_value_t = 768, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_tokens: u32,
    /// How HumanEval-format tasks are asked: servebench (complete the function, explain
    /// briefly) or qwen (the Qwen2.5-Coder report's EvalPlus prompt: its system prompt, a
    /// pre-filled ```python fence, stop at the closing fence).
    #[arg(long, default_value = "servebench", value_parser = |s: &str| s.parse::<PromptStyle>())]
    pub prompt_style: PromptStyle,
    /// Ask every task once more while the server is under this load (concurrency:N or
    /// rate:R), and report pass@1 under load, paired with the sequential answers, and drift.
    #[arg(long, value_parser = super::run::quality_load_parser)]
    pub quality_load: Option<servebench_engine::load::profile::Profile>,
    /// Sampling seed of the first sample (sample i uses seed + i).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Whole-request time limit, seconds.
    #[arg(long, default_value_t = 600.0)]
    pub timeout: f64,
    /// Wall-clock limit per graded program, seconds.
    #[arg(long, default_value_t = 10.0)]
    pub task_timeout: f64,
    /// Python 3 for the graders [default: /usr/bin/python3, else python3 on PATH].
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Output directory [default: servebench-results/<YYYYMMDD_HHMMSS>/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A target of the plan that judges design answers instead of being evaluated.
    #[arg(long)]
    pub judge: Option<String>,
    /// Judge model's server (quick form), with --judge-model.
    #[arg(long)]
    pub judge_url: Option<String>,
    /// Judge model (quick form).
    #[arg(long)]
    pub judge_model: Option<String>,
    /// Judge API dialect (quick form).
    #[arg(long, value_parser = api_parser(), default_value = "openai")]
    pub judge_api: Api,
}

// A method rather than `TryFrom<EvalArgs> for RunJob`: an impl belongs to its type's module, and
// `target` (where `RunJob` lives) must not depend on the commands built on it.
impl EvalArgs {
    /// The validated run job these arguments describe.
    pub fn into_job(self) -> anyhow::Result<RunJob> {
        let a = self;
        a.history.location().map_err(|e| anyhow::anyhow!(e))?;
        if !(0.0..=2.0).contains(&a.temperature) {
            bail!("--temperature {} out of range: use 0..=2", a.temperature);
        }
        for (flag, v) in [("--timeout", a.timeout), ("--task-timeout", a.task_timeout)] {
            if !(v > 0.0 && v <= 86_400.0) {
                bail!("{flag} {v} out of range: use (0, 86400] seconds");
            }
        }
        if let Some(bad) = a
            .scenarios
            .iter()
            .flatten()
            .find(|s| !SCENARIOS.contains(&s.as_str()))
        {
            bail!(
                "--scenarios: unknown scenario {bad:?}: use any of {}",
                SCENARIOS.join(", ")
            );
        }
        let overrides = RunOverrides {
            out: a.out.clone(),
            ..Default::default()
        };
        let mut plan = build_plan("eval", a.plan.as_ref(), a.target, &overrides)?;
        let judge = match (&a.judge, &a.judge_url, &a.judge_model) {
            (Some(name), None, None) => {
                let Some(i) = plan.targets.iter().position(|t| &t.name == name) else {
                    bail!("--judge {name}: no target of that name in the plan");
                };
                let t = plan.targets.remove(i);
                if plan.targets.is_empty() {
                    bail!("--judge {name}: the plan has no other target to evaluate");
                }
                Some(JudgeSpec {
                    api: t.api,
                    url: t.url,
                    model: t.model,
                })
            }
            (None, Some(url), Some(model)) => {
                servebench_engine::plan::validate_url(url)
                    .map_err(|m| anyhow::anyhow!("--judge-url {url:?} {m}"))?;
                Some(JudgeSpec {
                    api: a.judge_api,
                    url: url.clone(),
                    model: model.clone(),
                })
            }
            (None, None, None) => None,
            _ => bail!(
                "give either --judge TARGET (a plan target) or both --judge-url and --judge-model"
            ),
        };
        plan.settings.workload = servebench_engine::plan::Workload::Quality;
        plan.settings.quality = Some(Quality {
            settings: EvalSettings {
                dataset: a.dataset,
                scenarios: a.scenarios,
                limit: a.limit.map(|n| n as usize),
                samples: a.samples,
                temperature: a.temperature,
                max_tokens: a.max_tokens,
                jobs: a.jobs as usize,
                seed: a.seed,
                timeout_s: a.timeout,
                task_timeout_s: a.task_timeout,
                judge,
                prompt_style: a.prompt_style,
                load: a.quality_load,
                python: a.python,
                helper: None,
            },
            tasks: Vec::new(),
        });
        prepare_quality(&mut plan).context("--dataset")?;
        let out_dir = out_dir(plan.settings.out.clone());
        Ok(RunJob {
            verbose: false,
            plan,
            prompts: Vec::new(),
            out_dir,
            resume: false,
            repeat: 1,
            store: a.history.clone(),
        })
    }
}
