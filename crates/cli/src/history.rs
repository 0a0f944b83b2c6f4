//! `servebench history` (list, show, import the runs kept in the history store) and the
//! recording of every finished `run`, `eval` and `capacity` into it. A store that cannot be
//! reached never costs the run: its files are written first, and the error is printed with
//! the `history import` command that stores them later.

use crate::args::target::{StoreArgs, label_parser};
use clap::{Args, Subcommand};
use servebench_engine::report::{gate, trend};
use servebench_engine::runs::entry;
use servebench_engine::store::run::{StoredRun, host_labels};
use servebench_engine::store::{Filter, Location, Recorded, Store, default_location};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `servebench history` arguments.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: HistoryCommand,
    /// The history store: a SQLite file, or postgres://user@host/db [default:
    /// ~/.local/share/servebench/history.sqlite].
    #[arg(
        long,
        global = true,
        env = "SERVEBENCH_STORE",
        hide_env_values = true,
        value_name = "FILE|URL"
    )]
    pub store: Option<String>,
}

/// What to do with the history.
#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// The stored runs, newest first.
    List {
        /// Runs with this target.
        #[arg(long)]
        target: Option<String>,
        /// Runs from the last `30d`, `12h` or `90m`, or since a date (`2026-12-01`) or an
        /// RFC 3339 time.
        #[arg(long, value_parser = since_parser)]
        since: Option<String>,
        /// Runs carrying this label (repeatable; all must match).
        #[arg(long = "label", value_name = "KEY=VALUE", value_parser = label_parser)]
        labels: Vec<(String, String)>,
    },
    /// One stored run: its labels, targets and headline metrics.
    Show {
        /// The run's id (from `history list`).
        id: String,
    },
    /// A metric over the stored runs, per target, oldest first; runs whose settings or labels
    /// differ from the run before are marked with what changed.
    Trend {
        /// The metric: a registry id (with .mean, .median or .pNN for per-request samples),
        /// quality.pass_at_1 or capacity.developers.
        #[arg(value_parser = |s: &str| gate::parse_metric(s).map(|_| s.to_string()).map_err(|e| e.to_string()))]
        metric: String,
        /// This target only.
        #[arg(long)]
        target: Option<String>,
        /// Runs from the last `30d`, `12h` or `90m`, or since a date or RFC 3339 time.
        #[arg(long, value_parser = since_parser)]
        since: Option<String>,
        /// Runs carrying this label (repeatable; all must match).
        #[arg(long = "label", value_name = "KEY=VALUE", value_parser = label_parser)]
        labels: Vec<(String, String)>,
        /// md (a table), html (a self-contained page with the chart) or csv.
        #[arg(long, value_enum, default_value_t = TrendFormat::Md)]
        format: TrendFormat,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Store finished runs made before the store existed (or when it could not be reached):
    /// a run directory, or a directory of them (`servebench-results/`).
    Import {
        /// Run directories, or directories holding them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// A label on every imported run (repeatable).
        #[arg(long = "label", value_name = "KEY=VALUE", value_parser = label_parser)]
        labels: Vec<(String, String)>,
    },
}

/// How `history trend` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TrendFormat {
    /// Markdown: the table.
    Md,
    /// A self-contained HTML page: the chart and the table.
    Html,
    /// CSV: one row per run and target.
    Csv,
}

/// `30d`/`12h`/`90m` back from now, a date or an RFC 3339 time, as the reports' UTC
/// `created_at` is written (so the two compare as strings).
fn since_parser(s: &str) -> Result<String, String> {
    let fmt =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let t = s.trim();
    for (unit, of) in [
        (
            'd',
            chrono::TimeDelta::try_days as fn(i64) -> Option<chrono::TimeDelta>,
        ),
        ('h', chrono::TimeDelta::try_hours),
        ('m', chrono::TimeDelta::try_minutes),
    ] {
        if let Some(n) = t.strip_suffix(unit).and_then(|n| n.parse::<i64>().ok()) {
            return n
                .ge(&0)
                .then(|| of(n))
                .flatten()
                .and_then(|d| chrono::Utc::now().checked_sub_signed(d))
                .map(fmt)
                .ok_or_else(|| format!("`{s}` is out of range: use e.g. 30d, 12h or 90m"));
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(fmt(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()));
    }
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| fmt(d.with_timezone(&chrono::Utc)))
        .map_err(|_| {
            format!("`{s}` is not a time: use 30d, 12h, 90m, 2026-12-01 or an RFC 3339 time")
        })
}

/// Record the finished run in `dir` as `args` says (nothing with `--no-store`); prints what
/// happened, never fails the run.
pub async fn record_run(dir: &Path, args: &StoreArgs) {
    let Ok(Some(loc)) = args.location() else {
        // `--no-store`; a bad `--store` was refused before the run.
        return;
    };
    let mut labels = host_labels();
    labels.extend(args.labels.iter().cloned());
    let stored = async {
        let run = StoredRun::from_dir(dir, &labels).map_err(|e| e.to_string())?;
        let store = Store::open(&loc).await.map_err(|e| e.to_string())?;
        let done = store.record(&run).await.map_err(|e| e.to_string())?;
        Ok::<_, String>((run.id, done, store.describe().to_string()))
    }
    .await;
    match stored {
        Ok((id, Recorded::New, at)) => eprintln!("History: stored as {id} in {at}"),
        Ok((id, Recorded::AlreadyStored, at)) => eprintln!("History: {id} was already in {at}"),
        Err(e) => eprintln!(
            "servebench: history: {e}; the run's files are in {d}: store them later with `servebench history import {d}`",
            d = dir.display()
        ),
    }
}

/// `servebench history …`.
pub async fn history_cmd(a: HistoryArgs) -> ExitCode {
    let loc = match a.store.as_deref().map(Location::parse) {
        None => default_location(),
        Some(Ok(l)) => l,
        Some(Err(e)) => {
            eprintln!("servebench: {e}");
            return ExitCode::from(2);
        }
    };
    let store = match Store::open(&loc).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("servebench: {e}");
            return ExitCode::from(1);
        }
    };
    match a.command {
        HistoryCommand::List {
            target,
            since,
            labels,
        } => {
            list(
                &store,
                Filter {
                    target,
                    since,
                    labels,
                },
            )
            .await
        }
        HistoryCommand::Show { id } => show(&store, &id).await,
        HistoryCommand::Trend {
            metric,
            target,
            since,
            labels,
            format,
            out,
        } => {
            let f = Filter {
                target,
                since,
                labels,
            };
            match trend(&store, &metric, &f, format).await {
                Ok(text) => match out {
                    Some(path) => match std::fs::write(&path, text) {
                        Ok(()) => ExitCode::SUCCESS,
                        Err(e) => {
                            eprintln!("servebench: cannot write {}: {e}", path.display());
                            ExitCode::from(1)
                        }
                    },
                    None => {
                        print!("{text}");
                        ExitCode::SUCCESS
                    }
                },
                Err(e) => {
                    eprintln!("servebench: {e}");
                    ExitCode::from(1)
                }
            }
        }
        HistoryCommand::Import { paths, labels } => import(&store, &paths, &labels).await,
    }
}

/// `metric` over the runs `f` keeps, written as `format`.
async fn trend(
    store: &Store,
    metric: &str,
    f: &Filter,
    format: TrendFormat,
) -> Result<String, servebench_engine::store::StoreError> {
    use servebench_engine::report::document::Exporter;
    let m = gate::parse_metric(metric).expect("checked by the parser");
    let mut points = Vec::new();
    for r in store.list(f).await?.iter().rev() {
        let Some((report, records)) = store.load(&r.id).await? else {
            continue;
        };
        let settings = serde_json::to_value(&report.settings).unwrap_or_default();
        for t in &report.targets {
            if f.target.as_ref().is_some_and(|x| *x != t.name) {
                continue;
            }
            let e = entry(&t.name, &r.id, &report, &t.name, Some(&records))
                .expect("a target of this report");
            points.push(trend::Point {
                run: r.id.clone(),
                created_at: r.created_at.clone(),
                target: t.name.clone(),
                value: m.value(&e),
                settings: settings.clone(),
                labels: r.labels.clone(),
            });
        }
    }
    Ok(match format {
        TrendFormat::Md => {
            servebench_engine::report::markdown::Markdown.export(&trend::document(metric, &points))
        }
        TrendFormat::Html => {
            servebench_engine::report::html::Html.export(&trend::document(metric, &points))
        }
        TrendFormat::Csv => trend::csv(&points),
    })
}

async fn list(store: &Store, f: Filter) -> ExitCode {
    let runs = match store.list(&f).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("servebench: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = String::from(
        "| Run | Created | Command | Targets | Labels |\n| --- | --- | --- | --- | --- |\n",
    );
    for r in &runs {
        let labels: Vec<String> = r
            .labels
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "command" | "cpu" | "git_commit"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.id,
            r.created_at,
            r.command,
            r.targets.join(", "),
            labels.join(" ")
        ));
    }
    out.push_str(&format!(
        "\n{} run(s) in {}\n",
        runs.len(),
        store.describe()
    ));
    print!("{out}");
    ExitCode::SUCCESS
}

async fn show(store: &Store, id: &str) -> ExitCode {
    let shown = match store.show(id).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            eprintln!(
                "servebench: no run {id} in {}: `servebench history list` shows the ids",
                store.describe()
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("servebench: {e}");
            return ExitCode::from(1);
        }
    };
    let r = &shown.run;
    let mut out = format!(
        "# Run {}\n\nCreated {} by `servebench {}`; targets {}; {} request records, {} graded answers.\n\nLabels: {}\n\n| Target | Metric | Value |\n| --- | --- | --- |\n",
        r.id,
        r.created_at,
        r.command,
        r.targets.join(", "),
        shown.requests,
        shown.answers,
        r.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (t, m, v) in &shown.metrics {
        out.push_str(&format!("| {t} | {m} | {v:.4} |\n"));
    }
    print!("{out}");
    ExitCode::SUCCESS
}

/// The finished runs under `path`: itself, or its subdirectories holding a `report.json`.
fn runs_under(path: &Path) -> Vec<PathBuf> {
    if path.join("report.json").is_file() {
        return vec![path.to_path_buf()];
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("report.json").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

async fn import(store: &Store, paths: &[PathBuf], labels: &[(String, String)]) -> ExitCode {
    let mut failed = false;
    // Every path checked before anything is stored.
    let found: Vec<Vec<PathBuf>> = paths.iter().map(|p| runs_under(p)).collect();
    if let Some((path, _)) = paths.iter().zip(&found).find(|(_, r)| r.is_empty()) {
        eprintln!(
            "servebench: {}: no finished run in it (no report.json here or in its subdirectories)",
            path.display()
        );
        return ExitCode::from(2);
    }
    for runs in found {
        for dir in runs {
            let result = match StoredRun::from_dir(&dir, labels) {
                Ok(run) => store
                    .record(&run)
                    .await
                    .map(|r| (run.id, r))
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match result {
                Ok((id, Recorded::New)) => println!("stored {id} ({})", dir.display()),
                Ok((id, Recorded::AlreadyStored)) => {
                    println!("already stored {id} ({})", dir.display())
                }
                Err(e) => {
                    failed = true;
                    eprintln!("servebench: {e}");
                }
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
