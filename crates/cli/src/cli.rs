//! Command-line interface (clap derive) and its conversion into a library run job.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use servebench_engine::load::profile::{Profile, Slo};
use servebench_engine::load::synthetic::LengthDist;
use servebench_engine::plan::{Api, Endpoint, Plan, RunOverrides, RunSettings, TargetSpec};
use servebench_engine::prompts::{self, Prompt};
use std::path::PathBuf;

/// Benchmark and compare LLM serving stacks (Ollama, vLLM, llama.cpp, SGLang, TGI, any
/// OpenAI-compatible server): load time, TTFT, throughput, and more.
#[derive(Debug, Parser)]
#[command(name = "servebench", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure one server (flags) or every target of a plan file, cold and warm.
    Run(Box<RunArgs>),
    /// Grade the code one server (or every target of a plan) writes: HumanEval pass@k and the
    /// built-in scenarios, run in a sandbox.
    Eval(Box<crate::eval_cli::EvalArgs>),
    /// Compare finished runs: deltas, significance, caveats and recommendations (Markdown,
    /// JSON or HTML; English or Korean). The first report is the baseline.
    Compare(crate::output_cli::CompareArgs),
    /// Re-render a finished run as Markdown, HTML, CSV (one row per request) or JSON.
    Report(crate::output_cli::ReportArgs),
    /// List the NVIDIA GPUs servebench can read and print a few live readings, or say why
    /// there are none (exit 1).
    Gpu(GpuArgs),
}

/// `servebench gpu` arguments.
#[derive(Debug, Args)]
pub struct GpuArgs {
    /// Live readings to print.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub samples: u32,
    /// Seconds between readings.
    #[arg(long, default_value_t = 0.5)]
    pub interval: f64,
}

/// API dialect.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ApiArg {
    /// OpenAI-compatible /v1 (vLLM, llama.cpp, SGLang, TGI, ...).
    Openai,
    /// Ollama's native /api.
    Ollama,
}

/// OpenAI endpoint.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EndpointArg {
    /// /v1/chat/completions.
    Chat,
    /// /v1/completions.
    Completions,
}

/// One target described by flags (the quick form, without a plan).
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// API dialect of the server (quick form, without a plan).
    #[arg(long, value_enum)]
    pub api: Option<ApiArg>,
    /// Base URL of the server, e.g. http://localhost:8000.
    #[arg(long)]
    pub url: Option<String>,
    /// Model name to request.
    #[arg(long)]
    pub model: Option<String>,
    /// Label for the target in reports (default: the api).
    #[arg(long)]
    pub name: Option<String>,
    /// Pid of the (unmanaged) server whose process tree CPU and memory are sampled.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Environment variable holding the API key (sent as a Bearer token; never logged). With
    /// a plan, it applies to targets that name none.
    #[arg(long)]
    pub api_key_env: Option<String>,
}

/// The plan: from a file, or one target from the quick-form flags; `overrides` applied.
pub fn build_plan(
    command: &str,
    file: Option<&PathBuf>,
    t: TargetArgs,
    overrides: &RunOverrides,
) -> anyhow::Result<Plan> {
    let quick = t.api.is_some()
        || t.url.is_some()
        || t.model.is_some()
        || t.name.is_some()
        || t.server_pid.is_some();
    match (file, quick) {
        (Some(p), true) => bail!(
            "{}: --api/--url/--model/--name/--server-pid describe one target; with a plan file, put them in [[targets]]",
            p.display()
        ),
        (Some(p), false) => {
            let mut plan = Plan::from_file(p, overrides)?;
            for target in plan.targets.iter_mut().filter(|x| x.api_key_env.is_none()) {
                target.api_key_env = t.api_key_env.clone();
            }
            Ok(plan)
        }
        (None, _) => {
            let (Some(api), Some(url), Some(model)) = (t.api, t.url, t.model) else {
                bail!(
                    "{command} needs a plan file, or all of --api, --url and --model (e.g. --api openai --url http://localhost:8000 --model NAME)"
                );
            };
            let api = match api {
                ApiArg::Openai => Api::Openai,
                ApiArg::Ollama => Api::Ollama,
            };
            let mut settings = RunSettings::default();
            overrides.apply(&mut settings);
            let plan = Plan {
                settings,
                targets: vec![TargetSpec {
                    server_pid: t.server_pid,
                    api_key_env: t.api_key_env,
                    ..TargetSpec::new(
                        &t.name.unwrap_or_else(|| api.to_string()),
                        api,
                        &url,
                        &model,
                    )
                }],
            };
            plan.validate()?;
            Ok(plan)
        }
    }
}

/// Load the quality tasks of `plan`, if any, and point the sandbox at this binary.
pub fn prepare_quality(plan: &mut Plan) -> anyhow::Result<()> {
    if let Some(q) = &mut plan.settings.quality {
        q.settings.helper = Some(
            std::env::current_exe().context("cannot find the servebench binary for the sandbox")?,
        );
        q.load()?;
    }
    Ok(())
}

/// The output directory: as given, else `servebench-results/<YYYYMMDD_HHMMSS>/`.
pub fn out_dir(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        PathBuf::from("servebench-results")
            .join(chrono::Local::now().format("%Y%m%d_%H%M%S").to_string())
    })
}

/// `servebench run` arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Plan file (TOML) with [[targets]] and an optional [run] table.
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Warm requests per target [default: 10].
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub warm: Option<u32>,
    /// Generation limit per request [default: 256].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_tokens: Option<u32>,
    /// Output directory [default: servebench-results/<YYYYMMDD_HHMMSS>/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// OpenAI endpoint to use [default: chat].
    #[arg(long, value_enum)]
    pub endpoint: Option<EndpointArg>,
    /// Prompt file, JSONL: {"prompt": ...} or {"messages": [...]} per line [default: built-in coding prompts].
    #[arg(long)]
    pub prompts: Option<PathBuf>,
    /// Sampling seed [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Sampling temperature, 0..=2 [default: 0].
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Whole-request time limit in seconds [default: 600].
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Send → first-token limit in seconds; a server that accepts and never answers is
    /// recorded as a timeout after it [default: only --timeout].
    #[arg(long)]
    pub ttft_timeout: Option<f64>,
    /// Re-send a request answered HTTP 429 or 503 up to N times, waiting as its Retry-After
    /// says (else 0.25 s, doubling); retried requests are marked [default: 0, failures counted].
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub retries: Option<u32>,
    /// Load after the warm phase: sequential | concurrency:N | rate:R:poisson | rate:R:constant |
    /// rate:R:gamma:B | sweep | sweep:N,N,... [default: sequential].
    #[arg(long, value_parser = |s: &str| s.parse::<Profile>().map_err(|e| e.to_string()))]
    pub profile: Option<Profile>,
    /// Requests per load phase or sweep step [default: max(16, 4 × concurrency); rate: 30 s worth].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,
    /// Seconds per load phase or sweep step (stops sending after it; with --requests, whichever comes first).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Warm-up requests before each load phase or sweep step, excluded from its numbers [default: 0].
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Objectives for goodput, seconds from the scheduled time: ttft=0.5,tpot=0.05,e2e=10.
    #[arg(long, value_parser = |s: &str| s.parse::<Slo>())]
    pub slo: Option<Slo>,
    /// ShareGPT-format JSON (or JSONL) prompt file; the first human turn of each conversation.
    #[arg(long)]
    pub sharegpt: Option<PathBuf>,
    /// Synthetic prompts of this many server tokens: N, uniform:a:b or normal:mean:sd
    /// (calibrated per target with its /tokenize or usage).
    #[arg(long, value_parser = |s: &str| s.parse::<LengthDist>())]
    pub input_tokens: Option<LengthDist>,
    /// Ask for exactly this many output tokens (ignore_eos/min_tokens; num_predict on Ollama):
    /// N, uniform:a:b or normal:mean:sd. Whether the server honoured it is reported.
    #[arg(long, value_parser = |s: &str| s.parse::<LengthDist>())]
    pub output_tokens: Option<LengthDist>,
    /// Cold loads per target: managed servers are stopped and started again, Ollama models
    /// unloaded and reloaded; the load time reported is their median [default: 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub cold: Option<u32>,
    /// GPU and server-process readings per second, (0, 100] [default: 10].
    #[arg(long)]
    pub sample_hz: Option<f64>,
    /// Print every request as a line, and the request headers (credentials redacted).
    #[arg(long, short)]
    pub verbose: bool,
    /// Also grade coding quality after the performance phases: builtin, humaneval or a
    /// HumanEval-format JSONL(.gz) file (see `servebench eval` for the knobs).
    #[arg(long, value_parser = |s: &str| s.parse::<servebench_engine::eval::suite::Dataset>())]
    pub quality: Option<servebench_engine::eval::suite::Dataset>,
}

/// A validated run: the plan, its prompts and where results go.
pub struct RunJob {
    pub verbose: bool,
    pub plan: Plan,
    pub prompts: Vec<Prompt>,
    pub out_dir: PathBuf,
}

impl TryFrom<RunArgs> for RunJob {
    type Error = anyhow::Error;

    fn try_from(a: RunArgs) -> anyhow::Result<RunJob> {
        let overrides = RunOverrides {
            warm: a.warm,
            max_tokens: a.max_tokens,
            seed: a.seed,
            temperature: a.temperature,
            endpoint: a.endpoint.map(|e| match e {
                EndpointArg::Chat => Endpoint::Chat,
                EndpointArg::Completions => Endpoint::Completions,
            }),
            prompts: a.prompts.clone(),
            timeout_s: a.timeout,
            out: a.out.clone(),
            profile: a.profile.clone(),
            requests: a.requests,
            duration_s: a.duration,
            warmup: a.warmup,
            slo: a.slo,
            sharegpt: a.sharegpt.clone(),
            input_tokens: a.input_tokens,
            output_tokens: a.output_tokens,
            cold: a.cold,
            ttft_timeout_s: a.ttft_timeout,
            retries: a.retries,
            sample_hz: a.sample_hz,
            quality: a.quality.clone(),
        };
        let mut plan = build_plan("run", a.plan.as_ref(), a.target, &overrides)?;
        prepare_quality(&mut plan)?;
        let s = &plan.settings;
        let prompts = match (&s.prompts, &s.sharegpt) {
            (Some(p), _) => prompts::load(p).context("--prompts")?,
            (None, Some(p)) => prompts::load_sharegpt(p).context("--sharegpt")?,
            (None, None) => prompts::builtin(),
        };
        let out_dir = out_dir(plan.settings.out.clone());
        Ok(RunJob {
            verbose: a.verbose,
            plan,
            prompts,
            out_dir,
        })
    }
}
