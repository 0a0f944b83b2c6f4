//! The `servebench` binary: parse the command line, run, print, exit with a meaningful code.
//!
//! Exit codes: 0 all targets measured; 1 a target failed entirely (or results could not be
//! written; `gpu`: no GPU can be read); 2 invalid input (flags, plan, prompts); 130
//! interrupted by Ctrl-C.

mod args;
mod gate;
mod gpu;
mod history;
mod output_cli;
mod progress;
mod run_cmd;
mod stdout;

use clap::Parser;
use std::process::ExitCode;

/// One socket per stream: lift the soft open-files limit to the hard one so a 1,000-stream
/// profile does not fail on a default limit of 1,024.
fn raise_open_files_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
    {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

fn main() -> ExitCode {
    // The sandbox helper: restrict this fresh process, then exec the program (see eval::sandbox).
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(servebench_engine::eval::sandbox::HELPER_ARG) {
        eprintln!(
            "{}",
            servebench_engine::eval::sandbox::helper_main(&argv[2..])
        );
        return ExitCode::from(126);
    }
    let args = args::Cli::parse();
    raise_open_files_limit();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("servebench: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match args.command {
        args::Command::Gpu(g) => gpu::run(&g),
        args::Command::History(h) => rt.block_on(history::history_cmd(h)),
        args::Command::Gate(g) => rt.block_on(gate::gate_cmd(g)),
        args::Command::Compare(c) => match output_cli::compare_cmd(&c) {
            Ok(()) => ExitCode::SUCCESS,
            Err(f) => output_cli::exit(f),
        },
        args::Command::Report(r) => match output_cli::report_cmd(&r) {
            Ok(()) => ExitCode::SUCCESS,
            Err(f) => output_cli::exit(f),
        },
        args::Command::Run(_) | args::Command::Eval(_) | args::Command::Capacity(_) => {
            let job = match args.command {
                args::Command::Run(run) => run.into_job(),
                args::Command::Capacity(c) => c.into_job(),
                args::Command::Eval(eval) => eval.into_job(),
                _ => unreachable!("handled above"),
            };
            let job = match job {
                Ok(j) => j,
                Err(e) => {
                    eprintln!("servebench: {e:#}");
                    return ExitCode::from(2);
                }
            };
            match rt.block_on(run_cmd::run_job(job)) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("servebench: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
