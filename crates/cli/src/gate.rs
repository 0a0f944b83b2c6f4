//! `servebench gate`: a candidate against a baseline on the conditions of `--fail-on`; exit 1
//! only when a change is past its threshold and significant, 2 for an expression that does
//! not parse or a run that cannot be found. Prints every check; `--junit FILE` writes them as
//! JUnit XML for CI systems.

use clap::Args;
use servebench_engine::record::RequestRecord;
use servebench_engine::report::Report;
use servebench_engine::report::compare::Entry;
use servebench_engine::report::gate::{self, Verdict};
use servebench_engine::runs::entry;
use servebench_engine::store::{Location, Store, default_location};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `servebench gate` arguments.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// The baseline: `label:KEY=VALUE` or `label:VALUE` (the newest stored run with that
    /// label), a stored run's id, a run directory or its report.json.
    #[arg(long)]
    pub baseline: String,
    /// The candidate, as the baseline.
    #[arg(long)]
    pub candidate: String,
    /// Conditions, comma-separated: `warm_ttft_s.p95 > +10%, quality.pass_at_1 < -0.03,
    /// capacity.developers < -1` (a registry id with `.mean`/`.median`/`.pNN`; `%`: a share
    /// of the baseline; each pointing the way its metric gets worse).
    #[arg(long, value_parser = |s: &str| gate::parse(s).map(|_| s.to_string()).map_err(|e| e.to_string()))]
    pub fail_on: String,
    /// Also write the checks as JUnit XML (one test case per check).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// The history store the labels and ids are looked up in [default:
    /// ~/.local/share/servebench/history.sqlite].
    #[arg(
        long,
        env = "SERVEBENCH_STORE",
        hide_env_values = true,
        value_name = "FILE|URL"
    )]
    pub store: Option<String>,
}

/// A run to gate: its report and request records, and how it was named.
struct Side {
    name: String,
    report: Report,
    /// `None`: a report without its journal (no per-request samples).
    records: Option<Vec<RequestRecord>>,
    /// A repeated run's repeats (reports and journals), every one; empty for a run of its
    /// own.
    repeats: Vec<(Report, Vec<RequestRecord>)>,
}

/// Find `spec`: a run directory or report file, else a label or id in the store.
async fn resolve(spec: &str, store: &Option<String>) -> Result<Side, String> {
    let path = Path::new(spec);
    if path.exists() {
        // Read as every command reads a report: its schema checked, an older one upgraded.
        let run = servebench_engine::runs::load(path).map_err(|e| e.to_string())?;
        return Ok(Side {
            name: spec.to_string(),
            repeats: run
                .repeats
                .into_iter()
                .map(|r| (r.report, r.records.unwrap_or_default()))
                .collect(),
            report: run.report,
            records: run.records,
        });
    }
    let loc = match store.as_deref().map(Location::parse) {
        None => default_location(),
        Some(l) => l?,
    };
    let st = Store::open(&loc).await.map_err(|e| e.to_string())?;
    let id = match spec.strip_prefix("label:") {
        Some(l) => {
            let (key, value) = match l.split_once('=') {
                Some((k, v)) => (Some(k), v),
                None => (None, l),
            };
            st.newest_labelled(key, value)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    format!(
                        "`{spec}`: no stored run carries that label in {}",
                        st.describe()
                    )
                })?
        }
        None => spec.to_string(),
    };
    let (report, records) = st
        .load(&id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "`{spec}`: not a run directory, a report file, a label: or a run id in {} (`servebench history list`)",
                st.describe()
            )
        })?;
    // A run of a `--repeat` set stands for its whole set: the repeats that finished (one
    // stopped by Ctrl-C is left out, as the set's repeats.json leaves it out).
    let set = st.repeat_set(&id).await.map_err(|e| e.to_string())?;
    let mut repeats = Vec::new();
    let mut left_out = 0;
    for other in set.iter().filter(|_| set.len() > 1) {
        match st.load(other).await.map_err(|e| e.to_string())? {
            Some(r) if r.0.interrupted => left_out += 1,
            Some(r) => repeats.push(r),
            None => {}
        }
    }
    Ok(Side {
        name: match (repeats.len(), left_out) {
            (0 | 1, 0) => format!("{spec} ({id})"),
            (n, 0) => format!("{spec} ({id}, one of a set of {n} repeats)"),
            (n, i) => format!(
                "{spec} ({id}, one of a set of {n} finished repeats; {i} interrupted, left out)"
            ),
        },
        report,
        records: Some(records),
        repeats,
    })
}

fn entries(side: &Side) -> Vec<Entry<'_>> {
    side.report
        .targets
        .iter()
        .filter_map(|t| {
            let e = entry(
                &t.name,
                &side.name,
                &side.report,
                &t.name,
                side.records.as_deref(),
            )?;
            if side.repeats.is_empty() {
                return Some(e);
            }
            let runs = side
                .repeats
                .iter()
                .filter_map(|(r, recs)| entry(&t.name, &side.name, r, &t.name, Some(recs)))
                .collect();
            Some(e.with_runs(runs))
        })
        .collect()
}

/// `servebench gate …`.
pub async fn gate_cmd(a: GateArgs) -> ExitCode {
    let conditions = gate::parse(&a.fail_on).expect("checked by the parser");
    let (base, cand) = match (
        resolve(&a.baseline, &a.store).await,
        resolve(&a.candidate, &a.store).await,
    ) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("servebench: gate: {e}");
            return ExitCode::from(2);
        }
    };
    // A condition on per-request samples cannot be tested without the journal: said, not
    // passed quietly.
    let needs_samples = conditions.iter().any(|c| {
        matches!(c.metric, gate::GateMetric::Registry(id, _)
            if matches!(id.def().samples, servebench_engine::report::metric::Samples::Requests(..)))
    });
    for side in [&base, &cand] {
        if needs_samples && side.records.is_none() {
            eprintln!(
                "servebench: gate: {} has no requests.jsonl beside its report: its per-request samples are needed to test the conditions (gate the run directory, or a stored run)",
                side.name
            );
            return ExitCode::from(2);
        }
    }
    let checks = gate::check(&conditions, &entries(&base), &entries(&cand));
    if checks.is_empty() {
        eprintln!(
            "servebench: gate: the baseline and the candidate have no target in common (by name): nothing to check"
        );
        return ExitCode::from(2);
    }
    let f = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.4}"));
    let mut out = format!(
        "Baseline: {}\nCandidate: {}\n\n| Target | Condition | Baseline | Candidate | Change | 95 % interval | p | Test | Verdict |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
        base.name, cand.name
    );
    for c in &checks {
        let pct = c.condition.ends_with('%');
        let change = |d: f64| {
            if pct {
                format!("{:+.1} %", d * 100.0)
            } else {
                format!("{d:+.4}")
            }
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            c.target,
            c.condition,
            f(c.baseline),
            f(c.candidate),
            c.change.map_or("—".into(), change),
            c.interval.map_or("—".into(), |[lo, hi]| format!(
                "{} … {}",
                change(lo),
                change(hi)
            )),
            c.p_value.map_or("—".into(), |p| format!("{p:.3}")),
            c.test,
            match c.verdict {
                Verdict::Pass => "pass",
                Verdict::NotSignificant => "past the threshold, not significant",
                Verdict::Untested => "past the threshold, untested",
                Verdict::Fail => "**FAIL**",
                Verdict::NotMeasured => "not measured",
            }
        ));
    }
    let failed: Vec<&gate::Check> = checks
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .collect();
    out.push_str(&format!(
        "\n{} checks, {} failed (a change fails only past its threshold and significant by the test shown). {}\n",
        checks.len(),
        failed.len(),
        match (base.repeats.len(), cand.repeats.len()) {
            (b, c) if b >= 2 && c >= 2 => format!(
                "Both sides were repeated ({b} and {c} runs): each side's value is the mean of its runs' values, tested with Welch's t over runs (run-level) where the runs vary, else as single runs are; a candidate repeat that lost what every baseline run measured fails."
            ),
            (b, c) if b >= 2 || c >= 2 => format!(
                "Only one side was repeated ({b} and {c} runs): the repeated side's value is the mean of its runs' values, tested per-request against the other (its repeats' requests pooled); repeat both for run-level checks."
            ),
            _ => "Neither side was repeated: per-request tests on each run's requests (repeat the plan with --repeat for run-level checks).".to_string(),
        }
    ));
    print!("{out}");
    if let Some(path) = &a.junit
        && let Err(e) = std::fs::write(path, gate::junit(&checks))
    {
        eprintln!("servebench: gate: cannot write {}: {e}", path.display());
        return ExitCode::from(1);
    }
    for c in &failed {
        eprintln!("servebench: gate: {}", gate::describe(c));
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
