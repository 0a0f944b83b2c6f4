//! `run`, `eval` and `capacity`: claim the run directory, run the plan, write the report,
//! print the summary, record the run in the history store, exit with the run's code. With
//! `--repeat N` the whole plan runs N times, each repeat a run directory of its own
//! (`OUT/repeat-K`, stored as it finishes, its managed servers started afresh as for a cold
//! load), then `OUT/repeats.json`, `.md` and `.html`: per metric, the mean over runs with its
//! 95 % t-interval and CV beside the pooled per-request distributions.

use crate::args::target::RunJob;
use crate::{history, progress, stdout};
use servebench_engine::report::document::Exporter;
use servebench_engine::report::html::Html;
use servebench_engine::report::markdown::Markdown;
use servebench_engine::report::repeats::{self, REPEATS_FILE, RepeatInput, RepeatOf};
use servebench_engine::report::{TargetStatus, report_doc};
use servebench_engine::rundir::{RunDir, RunDirError};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

pub async fn run_job(job: RunJob) -> anyhow::Result<ExitCode> {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        // SIGINT (Ctrl-C) or SIGTERM (kill, a CI timeout): stop scheduling, cancel what is in
        // flight, stop the servers, write the report. A second signal quits at once; the
        // journal is whole either way (one write per line).
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        eprintln!(
            "servebench: interrupted: finishing up and writing the report (signal again to quit at once)"
        );
        on_signal.cancel();
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        std::process::exit(130);
    });
    if job.repeat > 1 {
        return run_set(&job, &cancel).await;
    }
    run_once(&job, &job.out_dir, None, &cancel).await
}

/// Run the plan once into `out` (repeat `repeat` of a set, when it is one), write its files,
/// print its summary and record it in the history store.
async fn run_once(
    job: &RunJob,
    out: &std::path::Path,
    repeat: Option<RepeatOf>,
    cancel: &CancellationToken,
) -> anyhow::Result<ExitCode> {
    let claimed = if job.resume {
        RunDir::resume(out, &job.plan, job.prompts.len())
    } else {
        RunDir::create(out, &job.plan, job.prompts.len())
    };
    let (mut dir, mut observers) = match claimed {
        Ok(d) => d,
        Err(e @ (RunDirError::Used(_) | RunDirError::NotResumable { .. })) => {
            eprintln!("servebench: {e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(r) = &repeat {
        dir.mark_repeat(r.clone())?;
    }
    observers.push(Box::new(progress::Progress::new(
        job.verbose,
        job.plan.settings.cold,
    )));
    let mut report =
        servebench_engine::runner::run(&job.plan, &job.prompts, out, &mut observers, cancel)
            .await?;
    report.repeat = repeat;
    let written = dir.finish(&report)?;
    let summary = format!(
        "{}\nReport: {}\n        {}\nRequests: {}\n",
        Markdown.export(&report_doc::summary(&report, Some(&written.comparison))),
        written.md.display(),
        written.json.display(),
        written.journal.display()
    );
    stdout::print(&summary)?;
    if let Some(dir) = written.json.parent() {
        history::record_run(dir, &job.store).await;
    }
    for t in report
        .targets
        .iter()
        .filter(|t| t.status == TargetStatus::Failed)
    {
        eprintln!(
            "servebench: target failed: {}",
            t.error.as_deref().unwrap_or("unknown error")
        );
    }
    Ok(if report.interrupted {
        ExitCode::from(130)
    } else if report
        .targets
        .iter()
        .any(|t| t.status == TargetStatus::Failed)
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Run the set of `job.repeat` repeats into `job.out_dir`.
pub async fn run_set(job: &RunJob, cancel: &CancellationToken) -> anyhow::Result<ExitCode> {
    let set = &job.out_dir;
    if std::fs::read_dir(set).is_ok_and(|mut entries| entries.next().is_some()) {
        eprintln!(
            "servebench: {} is not empty: a repeated run needs a new directory (give another --out)",
            set.display()
        );
        return Ok(ExitCode::from(2));
    }
    let n = job.repeat;
    // Unique enough to group a set's runs in a shared store: the time to the millisecond and
    // this process.
    let group = format!(
        "{}-{:x}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        std::process::id()
    );
    let mut worst = ExitCode::SUCCESS;
    let mut dirs = Vec::new();
    for k in 1..=n {
        if cancel.is_cancelled() {
            break;
        }
        eprintln!("servebench: repeat {k} of {n}");
        let name = format!("repeat-{k}");
        let repeat = RepeatOf {
            group: group.clone(),
            index: k,
            of: n,
        };
        let code = run_once(job, &set.join(&name), Some(repeat), cancel).await?;
        if code == ExitCode::from(2) {
            return Ok(code);
        }
        if code != ExitCode::SUCCESS {
            worst = code;
        }
        dirs.push(name);
        if code == ExitCode::from(130) {
            break;
        }
    }
    // Interrupted between two repeats (while one was being stored, say): still interrupted.
    if cancel.is_cancelled() {
        worst = ExitCode::from(130);
    }
    // The finished repeats (an interrupted one's numbers are partial: left out, and named).
    let runs: Vec<(String, servebench_engine::runs::Run)> = dirs
        .iter()
        .map(|d| Ok((d.clone(), servebench_engine::runs::load(&set.join(d))?)))
        .collect::<Result<_, servebench_engine::runs::RunsError>>()?;
    let left_out: Vec<String> = runs
        .iter()
        .filter(|(_, r)| r.report.interrupted)
        .map(|(d, _)| d.clone())
        .collect();
    let inputs: Vec<RepeatInput> = runs
        .iter()
        .filter(|(_, r)| !r.report.interrupted)
        .map(|(d, r)| RepeatInput {
            dir: d,
            report: &r.report,
            records: r.records.as_deref().unwrap_or_default(),
        })
        .collect();
    if inputs.is_empty() {
        eprintln!("servebench: no repeat finished: no repeats.json written");
        return Ok(worst);
    }
    let summary = repeats::summarize(&group, n, &inputs, left_out);
    let doc = repeats::document(&summary);
    let json = set.join(REPEATS_FILE);
    std::fs::write(
        &json,
        serde_json::to_string_pretty(&summary).expect("serialises") + "\n",
    )?;
    let md = set.join("repeats.md");
    std::fs::write(&md, Markdown.export(&doc))?;
    std::fs::write(set.join("repeats.html"), Html.export(&doc))?;
    crate::stdout::print(&format!(
        "{}\nRepeats: {}\n         {}\n",
        Markdown.export(&doc),
        md.display(),
        json.display()
    ))?;
    Ok(worst)
}
