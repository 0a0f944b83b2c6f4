//! The command line (clap derive), one module per job: [`target`] (a target from flags, the
//! plan, the run job every command becomes), [`run`] and [`eval`] (their flags and their
//! conversion into a [`target::RunJob`]); `compare` and `report` take theirs from
//! [`crate::output_cli`]. Modules depend one way: `mod` → `run`, `eval` → `target`.

pub mod eval;
pub mod run;
pub mod target;

use clap::{Args, Parser, Subcommand};

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
    Run(Box<run::RunArgs>),
    /// Grade the code one server (or every target of a plan) writes: HumanEval pass@k and the
    /// built-in scenarios, run in a sandbox.
    Eval(Box<eval::EvalArgs>),
    /// Find how many developers each target serves at the team's SLOs: team sizes 1, 2, 4, …
    /// then bisection, the boundary repeated, a 95 % interval, which class breaks first.
    Capacity(Box<run::CapacityArgs>),
    /// Compare finished runs: deltas, significance, caveats and recommendations (Markdown,
    /// JSON or HTML; English or Korean). The first report is the baseline.
    Compare(crate::output_cli::CompareArgs),
    /// Re-render a finished run as Markdown, HTML, CSV (one row per request) or JSON.
    Report(crate::output_cli::ReportArgs),
    /// The history store: list, show and import finished runs.
    History(crate::history::HistoryArgs),
    /// Fail CI on a regression: a candidate against a baseline on the conditions of
    /// --fail-on; exit 1 only when a change is past its threshold and significant.
    Gate(crate::gate::GateArgs),
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
