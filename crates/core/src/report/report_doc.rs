//! The run report's document: the seed's comparison table (one column per target and, with two
//! or more targets, which is better), the comparison, load and sweep tables, coding quality,
//! per-target details with percentiles, failure counts and resources, the charts, and the
//! definitions. Markdown and HTML both render it.

use super::compare::{Comparison, Entry};
use super::document::{Document, Table};
use super::i18n::{Lang, catalog, headline_label};
use super::metric::{Direction, HEADLINE, TIE_RELATIVE};
use super::model::{LoadStep, Report, TargetReport, TargetStatus, WorkloadReport};
use super::phase::PhaseReport;
use super::phase_doc::reasoning_line;
use super::table::{Verdict, fmt, verdict, verdict_of};
use crate::spec::WorkloadKind;
use crate::stats::Summary;

/// The report in `lang`, with its comparison of targets (deltas, significance, caveats,
/// recommendations) after the summary and the charts of `entries` at the end. The
/// measurement details are in English in every language; a Korean report says so.
pub fn document(
    r: &Report,
    cmp: Option<&Comparison>,
    entries: &[Entry],
    lang: Lang,
    date: &str,
) -> Document {
    let mut d = match (lang, cmp) {
        (Lang::En, _) | (_, None) => {
            let mut d = english(r, cmp);
            d.lang = lang.tag();
            d
        }
        (_, Some(c)) => {
            let mut d = super::compare_doc::document(c, &[], lang, date);
            d.rule();
            d.callout(catalog(lang).details_in_english);
            d.append(english(r, None));
            d.lang = lang.tag();
            d
        }
    };
    if r.settings.performance {
        super::charts::section(&mut d, entries, lang);
        definitions(&mut d);
        let team = |f: fn(&super::team::TeamReport) -> bool| {
            r.targets.iter().any(|t| t.team().is_some_and(f))
        };
        if r.targets.iter().any(|t| t.autocomplete().is_some())
            || team(|t| t.autocomplete.is_some())
        {
            super::autocomplete_doc::definitions(&mut d);
        }
        if r.targets
            .iter()
            .any(|t| t.sessions().is_some() || !t.sessions_sweep().is_empty())
            || team(|t| t.chat.is_some() || t.agent.is_some())
        {
            super::sessions_doc::definitions(&mut d);
        }
    }
    d
}

fn english(r: &Report, cmp: Option<&Comparison>) -> Document {
    let mut d = Document::new("servebench report", "en");
    let s = &r.settings;
    if !s.performance {
        // `servebench eval`: quality only.
        d.para(format!(
            "Quality evaluation {} with servebench {} (no performance phases).",
            r.created_at, r.servebench_version
        ));
        if r.interrupted {
            d.callout(
                "**Interrupted**: the run was stopped before it finished; scores cover what was graded.",
            );
        }
        super::quality_doc::section(&mut d, &r.targets);
        for t in r
            .targets
            .iter()
            .filter(|t| t.status == TargetStatus::Failed)
        {
            d.item(format!(
                "**{} failed**: {}",
                t.name,
                t.error.as_deref().unwrap_or("unknown error")
            ));
        }
        return d;
    }
    d.para(header(r));
    if r.interrupted {
        d.callout(
            "**Interrupted**: the run was stopped before it finished; figures cover what completed.",
        );
    }
    // The chat workload's summary is its cold and warm table; every other workload's section
    // below is its summary (the cold and warm rows would all be empty).
    if s.workload == WorkloadKind::Chat {
        d.heading(2, "Summary");
        if let Some(c) = cmp {
            super::compare_doc::conclusion(&mut d, c, Lang::En);
        }
        d.table(summary_table(&r.targets));
        cache_callout(&mut d, r);
        noise_callout(&mut d, &r.targets);
        if r.targets.len() < 2 {
            d.para("One target: nothing to compare it with, so no winner is named.");
        } else {
            d.para(format!(
                "\"Better\" names the best value; differences under {:.0} % are called a tie. These are point estimates from sequential single-stream requests, not significance tests.",
                TIE_RELATIVE * 100.0
            ));
        }
    }
    if let Some(c) = cmp.filter(|c| c.targets.len() >= 2) {
        d.heading(2, "Comparison");
        super::compare_doc::section(&mut d, c, Lang::En);
    }
    super::resources_doc::gpu_paragraph(&mut d, &r.gpu);
    load_sections(&mut d, &r.targets, !r.settings.slo.is_empty());
    super::autocomplete_doc::section(&mut d, &r.targets);
    super::sessions_doc::section(&mut d, &r.targets);
    super::ladder_doc::section(&mut d, &r.targets);
    super::team_doc::section(&mut d, &r.targets);
    super::capacity_doc::section(&mut d, &r.targets);
    super::quality_doc::section(&mut d, &r.targets);
    let sources: std::collections::BTreeSet<_> =
        r.targets.iter().filter_map(|t| t.load.source).collect();
    if sources.len() > 1 {
        d.para(
            "Load times were measured differently (server-reported model load vs. servebench's spawn → API ready): compare them with care.",
        );
    }
    for t in &r.targets {
        target_section(&mut d, t);
    }
    d
}

/// The report's first line: when, by which servebench, and what the run sent, in the terms of
/// its workload.
fn header(r: &Report) -> String {
    let s = &r.settings;
    let run = format!(
        "Run {} with servebench {}",
        r.created_at, r.servebench_version
    );
    let first = |f: fn(&TargetReport) -> Option<String>| r.targets.iter().find_map(f);
    let what = match s.workload {
        WorkloadKind::Chat | WorkloadKind::Quality => {
            return format!(
                "{run}: {} warm requests per target, max_tokens {}, temperature {}, seed {}, prompts: {} ({}).",
                s.warm, s.max_tokens, s.temperature, s.seed, s.prompts, s.prompt_count
            );
        }
        WorkloadKind::Autocomplete => first(|t| {
            let a = t.autocomplete()?;
            Some(format!(
                "the IDE-autocomplete workload, {} developers typing for {:.0} s through {} files (fill-in-the-middle by {}, windows {} + {} tokens)",
                a.developers,
                a.duration_s,
                a.corpus.files,
                a.fim_method,
                a.windows.prefix_tokens,
                a.windows.suffix_tokens
            ))
        })
        .unwrap_or_else(|| "the IDE-autocomplete workload".into()),
        WorkloadKind::Sessions => first(|t| {
            let x = t.sessions().or(t.sessions_sweep().first())?;
            Some(format!(
                "the sessions workload, {} sessions from {} offered as {}, think time {}",
                x.sessions, x.source, x.load, x.think_time
            ))
        })
        .unwrap_or_else(|| "the sessions workload".into()),
        WorkloadKind::Context => first(|t| {
            let l = t.ladder()?;
            Some(format!(
                "the long-context ladder, {} lengths up to {} tokens",
                l.steps.len(),
                l.steps.last().map_or(0, |s| s.tokens)
            ))
        })
        .unwrap_or_else(|| "the long-context ladder".into()),
        WorkloadKind::Team => first(|t| {
            let m = t.team()?;
            Some(format!(
                "the team mix, {} at once for {:.0} s",
                m.describe(),
                m.duration_s
            ))
        })
        .unwrap_or_else(|| "the team mix".into()),
    };
    format!(
        "{run}: {what} against each target; max_tokens {}, temperature {}, seed {}.",
        s.max_tokens, s.temperature, s.seed
    )
}

/// What `servebench run` prints when it finishes: the headline table with its callouts, each
/// swept target's saturation point and the comparison's caveats — for an autocomplete run its
/// section, and for a quality-only run the quality section.
pub fn summary(r: &Report, cmp: Option<&Comparison>) -> Document {
    let mut d = Document::fragment("en");
    if r.targets.iter().all(|t| t.status == TargetStatus::Failed) {
        // Nothing was measured: the errors say everything, and they are printed on their own.
        return d;
    }
    if r.targets
        .iter()
        .any(|t| matches!(t.workload, Some(WorkloadReport::Capacity(_))))
    {
        // The capacity search replaces the chat phases: its own section says it all.
        super::capacity_doc::section(&mut d, &r.targets);
    } else if r.targets.iter().any(|t| t.team().is_some()) {
        // The team mix replaces the chat phases: its own section says it all.
        super::team_doc::section(&mut d, &r.targets);
    } else if r.targets.iter().any(|t| t.autocomplete().is_some()) {
        // The autocomplete workload replaces the chat phases: its own table says it all.
        super::autocomplete_doc::section(&mut d, &r.targets);
    } else if r
        .targets
        .iter()
        .any(|t| t.sessions().is_some() || !t.sessions_sweep().is_empty())
    {
        // So does the sessions workload.
        super::sessions_doc::section(&mut d, &r.targets);
    } else if r.targets.iter().any(|t| t.ladder().is_some()) {
        // And the context ladder.
        super::ladder_doc::section(&mut d, &r.targets);
    } else if r.settings.performance {
        if let Some(c) = cmp {
            super::compare_doc::conclusion(&mut d, c, Lang::En);
        }
        d.table(summary_table(&r.targets));
        cache_callout(&mut d, r);
        noise_callout(&mut d, &r.targets);
        for t in r.targets.iter().filter(|t| !t.phases.sweep.is_empty()) {
            d.item(match &t.saturation {
                Some(s) => format!(
                    "{}: saturated at concurrency {} ({:.1} output tok/s)",
                    t.name, s.concurrency, s.output_tok_s
                ),
                None if rate_ramp(t) => format!(
                    "{}: a rate ramp (saturation is judged on concurrency sweeps)",
                    t.name
                ),
                None => format!("{}: not saturated within the sweep", t.name),
            });
        }
        if let Some(c) = cmp.filter(|c| !c.caveats.is_empty() && c.targets.len() >= 2) {
            let words = super::i18n::catalog(Lang::En);
            d.para(format!("**{}:**", words.caveats));
            for cav in &c.caveats {
                d.item(words.render(cav));
            }
        }
    } else {
        super::quality_doc::section(&mut d, &r.targets);
    }
    d
}

/// Prompt-cache hits the run did not ask for, beside the summary: the TTFT of those phases
/// does not measure prompt processing.
fn cache_callout(d: &mut Document, r: &Report) {
    for t in &r.targets {
        for (phase, hits, of) in super::model::cache_hits(t) {
            let asked = if r.settings.unique_prompts {
                "although every prompt was made unique"
            } else {
                "prompts were sent as they are (--allow-prompt-cache)"
            };
            d.callout(format!(
                "**Prompt cache**: {hits} of {of} {phase} requests of {} were cache hits (more than half of the prompt from the server's cache; {asked}): their TTFT does not measure prompt processing.",
                t.name
            ));
        }
    }
}

/// Noise called noise, beside the summary: an unstable warm phase, and two summaries of the
/// same targets (per-request mean, phase throughput) that name different better sides.
fn noise_callout(d: &mut Document, targets: &[TargetReport]) {
    use super::metric::MetricId;
    for t in targets {
        if let Some((cpu, threads)) = super::model::cpu_starved(t) {
            d.callout(format!(
                "**CPU-starved**: {} was started with {threads} thread(s) but its process got only {cpu:.0} % CPU on average while warm (under {:.0} % of {threads} × 100 %): the machine was busy, and its speed is the machine's, not the stack's.",
                t.name,
                super::model::CPU_STARVED * 100.0
            ));
        }
        if let Some((spread, cv)) = t.phases.warm.as_ref().and_then(super::phase::instability) {
            d.callout(format!(
                "**Unstable**: {}'s warm latencies — the slowest request took {spread:.0}× the median (coefficient of variation {cv:.1}; thresholds {}× and {}). A busy machine or a stalled server: its means and its phase throughput are a few slow requests' numbers; rerun before deciding on them.",
                t.name,
                super::phase::UNSTABLE_MAX_OVER_MEDIAN,
                super::phase::UNSTABLE_CV
            ));
        }
    }
    let best = |id: MetricId| match verdict(id, targets) {
        Verdict::Best(i) => Some(i),
        _ => None,
    };
    if let (Some(mean), Some(phase)) = (best(MetricId::WarmTokS), best(MetricId::WarmOutputTokS))
        && mean != phase
    {
        d.callout(format!(
            "**The two throughput rows disagree**: Warm TPS (the mean of each request's rate) calls {} better, warm throughput (all tokens / the phase's wall time) calls {} better. A few very slow requests dominate the wall time while the mean hides them: the distribution is unstable, and neither row alone describes it.",
            targets[mean].name, targets[phase].name
        ));
    }
}

/// A large count with its unit and every digit: `134.5 M (134,515,008)`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let (v, unit) = match n {
        n if n >= 1_000_000_000 => (n as f64 / 1e9, " B"),
        n if n >= 1_000_000 => (n as f64 / 1e6, " M"),
        n if n >= 1_000 => (n as f64 / 1e3, " k"),
        _ => return grouped,
    };
    format!("{v:.1}{unit} ({grouped})")
}

/// One line on what the server said about its prompt cache in a phase; `None` when it said
/// nothing (see [`cache_unknown`]).
fn cache_line(name: &str, p: &PhaseReport) -> Option<String> {
    let c = p.prompt_cache.as_ref()?;
    Some(format!(
        "{name}: prompt cache {} of {} prompt tokens ({:.0} %), {} cache hit{} in {} requests",
        c.cached_tokens,
        c.prompt_tokens,
        if c.prompt_tokens > 0 {
            c.cached_tokens as f64 / c.prompt_tokens as f64 * 100.0
        } else {
            0.0
        },
        c.hits,
        if c.hits == 1 { "" } else { "s" },
        c.reported
    ))
}

/// Why a target's prompt cache is not known, when no phase stated it.
fn cache_unknown(t: &TargetReport) -> String {
    if !t.server_traits.states_cached_tokens {
        "Prompt cache: not known — Ollama states no cached count (its prompt_eval_count includes cached tokens; only prompt_eval_duration shrinks)".into()
    } else {
        "Prompt cache: not stated by the server (vLLM states it only with --enable-prompt-tokens-details; llama.cpp always does)".into()
    }
}

/// The headline table: one column per target, plus "Better" with two or more targets.
pub fn summary_table(targets: &[TargetReport]) -> Table {
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
    let mut table = Table::new(head);
    for &id in HEADLINE {
        let m = id.def();
        let label = match m.direction.phrase() {
            Some(dir) => format!("{} ({}; {dir})", headline_label(id), m.unit),
            None => format!("{} ({})", headline_label(id), m.unit),
        };
        let mut cells = vec![label];
        cells.extend(targets.iter().map(|t| {
            let v = fmt((m.value)(t), m.digits);
            // A cold value that may be a cache hit on an already-loaded model says so.
            if id.key().starts_with("cold_") && !t.cold_verified && (m.value)(t).is_some() {
                format!("{v} (unverified cold)")
            } else {
                v
            }
        }));
        if many {
            cells.push(match verdict(id, targets) {
                Verdict::NotComparable => "—".into(),
                Verdict::Tie => "tie".into(),
                Verdict::Best(i) => targets[i].name.clone(),
            });
        }
        table.row(cells);
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
    table.row(failed);
    table
}

fn target_section(d: &mut Document, t: &TargetReport) {
    d.heading(2, t.name.clone());
    d.item(format!(
        "API: {} at {}{}",
        t.api,
        t.url,
        if t.managed {
            " (started by servebench)"
        } else {
            ""
        }
    ));
    d.item(format!("Model: `{}`", t.model));
    if t.model_check == Some(super::model::ModelCheck::Unverified) {
        d.item(
            "**Could not verify the model name**: the server lists no models, so it may be serving another model under this name",
        );
    }
    let mi = &t.model_info;
    let or_unstated = |v: Option<String>| v.unwrap_or_else(|| "not stated by the server".into());
    d.item(format!(
        "Quantisation: {}; parameters: {}; context length: {}; family: {}",
        or_unstated(mi.quantization.clone()),
        or_unstated(mi.parameter_count.map(count).or(mi.parameter_size.clone())),
        or_unstated(mi.context_length.map(|n| n.to_string())),
        or_unstated(mi.family.clone()),
    ));
    if let Some(v) = &t.server_version {
        d.item(format!("Server version: {v}"));
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
    d.item(format!("Load time: {load}"));
    d.item(format!(
        "Cold start verified: {}",
        if t.cold_verified {
            "yes"
        } else {
            "no — the first request may have hit an already-loaded model"
        }
    ));
    if t.status == TargetStatus::Failed {
        d.item(format!(
            "**Failed**: {}",
            t.error.as_deref().unwrap_or("unknown error")
        ));
    }
    super::resources_doc::target_lines(d, t);
    let phases = [("cold", &t.phases.cold), ("warm", &t.phases.warm)];
    if phases.iter().all(|(_, p)| p.is_none()) {
        return;
    }
    let mut table = Table::new(
        [
            "Phase",
            "Metric (unit)",
            "n",
            "mean",
            "p50",
            "p90",
            "p99",
            "max",
        ]
        .map(String::from)
        .to_vec(),
    );
    for (name, p) in phases {
        let Some(p) = p else { continue };
        for (label, s, digits) in dists(p) {
            let c = |v: Option<f64>| fmt(v, digits);
            table.row(vec![
                name.to_string(),
                label.to_string(),
                s.n.to_string(),
                c(s.mean),
                c(s.p50),
                c(s.p90),
                c(s.p99),
                c(s.max),
            ]);
        }
    }
    d.table(table);
    for (name, p) in phases {
        let Some(p) = p else { continue };
        let kinds: Vec<String> = p
            .failures
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        d.item(format!(
            "{name}: {} request{}, {} ok, {} failed{}; output tokens counted by {}; phase output {} tok/s over {:.2} s",
            p.requests,
            if p.requests == 1 { "" } else { "s" },
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
        ));
        if let Some(line) = cache_line(name, p) {
            d.item(line);
        }
        if let Some(line) = reasoning_line(name, p) {
            d.item(line);
        }
    }
    if phases
        .iter()
        .flat_map(|(_, p)| p.as_ref())
        .all(|p| p.prompt_cache.is_none())
    {
        d.item(cache_unknown(t));
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
    super::resources_doc::phase_table(d, &res);
    super::resources_doc::energy_note(d, &res);
}

/// Load phase and sweep tables, and which stack wins at each load.
fn load_sections(d: &mut Document, targets: &[TargetReport], slo_set: bool) {
    let loaded: Vec<&TargetReport> = targets.iter().filter(|t| t.phases.load.is_some()).collect();
    if !loaded.is_empty() {
        d.heading(2, "Load phase");
        step_table(
            d,
            loaded
                .iter()
                .map(|t| (t.name.as_str(), t.phases.load.as_ref().expect("filtered"))),
            slo_set,
        );
    }
    let swept: Vec<&TargetReport> = targets
        .iter()
        .filter(|t| !t.phases.sweep.is_empty())
        .collect();
    for t in &swept {
        d.heading(2, format!("Sweep: {}", t.name));
        step_table(
            d,
            t.phases.sweep.iter().map(|s| (t.name.as_str(), s)),
            slo_set,
        );
        let sat = match &t.saturation {
            Some(s) => format!(
                "Saturation: concurrency {} at {:.1} output tok/s (the smallest step after which throughput grows by less than 10 %).",
                s.concurrency, s.output_tok_s
            ),
            None if rate_ramp(t) => "Saturation is judged on concurrency steps; on a rate ramp, compare each step's req/s with the rate it offered, and its TTFT from schedule.".to_string(),
            None => format!(
                "Saturation: not reached up to concurrency {}.",
                t.phases
                    .sweep
                    .last()
                    .and_then(|s| s.concurrency)
                    .unwrap_or(0)
            ),
        };
        match &t.sweep_stop_reason {
            Some(r) => d.para(format!("{sat} The sweep stopped early: {r}.")),
            None => d.para(sat),
        }
    }
    if swept.len() >= 2 {
        d.heading(2, "Which stack wins at each load (output tok/s)");
        // A step's load: its concurrency, or the rate a rate ramp offered.
        let level = |s: &LoadStep| match (s.concurrency, s.rate) {
            (Some(c), _) => Some((0u8, f64::from(c))),
            (None, Some(r)) => Some((1, r)),
            _ => None,
        };
        let mut levels: Vec<(u8, f64)> = swept
            .iter()
            .flat_map(|t| t.phases.sweep.iter().filter_map(level))
            .collect();
        levels.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        levels.dedup();
        let all_concurrency = levels.iter().all(|l| l.0 == 0);
        let mut head = vec![
            if all_concurrency {
                "Concurrency"
            } else {
                "Load"
            }
            .to_string(),
        ];
        head.extend(swept.iter().map(|t| t.name.clone()));
        head.push("Better".into());
        let mut table = Table::new(head);
        for l in levels {
            let vals: Vec<Option<f64>> = swept
                .iter()
                .map(|t| {
                    t.phases
                        .sweep
                        .iter()
                        .find(|s| level(s) == Some(l))?
                        .phase
                        .output_tok_s
                })
                .collect();
            let mut cells = vec![match l {
                (0, c) if all_concurrency => format!("{c}"),
                (0, c) => format!("concurrency {c}"),
                (_, r) => format!("rate {r} req/s"),
            }];
            cells.extend(vals.iter().map(|v| fmt(*v, 1)));
            cells.push(match verdict_of(&vals, Direction::Higher) {
                Verdict::NotComparable => "—".into(),
                Verdict::Tie => "tie".into(),
                Verdict::Best(i) => swept[i].name.clone(),
            });
            table.row(cells);
        }
        d.table(table);
    }
}

/// Whether `t`'s sweep is a rate ramp (steps with an offered rate, no concurrency).
fn rate_ramp(t: &TargetReport) -> bool {
    t.phases.sweep.iter().any(|s| s.concurrency.is_none())
}

/// Load steps in a table; without an SLO, goodput and the pass rate say "no SLO set" (every
/// successful request would count).
fn step_table<'a>(
    d: &mut Document,
    steps: impl Iterator<Item = (&'a str, &'a LoadStep)>,
    slo_set: bool,
) {
    let mut table = Table::new(
        [
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
        ]
        .map(String::from)
        .to_vec(),
    );
    let mut warnings = Vec::new();
    for (name, s) in steps {
        let p = &s.phase;
        let load = match (s.concurrency, s.rate) {
            (Some(c), _) => format!("concurrency {c}"),
            (None, Some(r)) => format!("{r} req/s ({})", s.profile),
            _ => s.profile.clone(),
        };
        table.row(vec![
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
            if slo_set {
                fmt(s.goodput_rps, 2)
            } else {
                "no SLO set".into()
            },
            match (slo_set, s.slo_pass_rate) {
                (false, _) => "no SLO set".into(),
                (true, r) => r.map_or("—".into(), |r| format!("{:.0} %", r * 100.0)),
            },
        ]);
        warnings.extend(
            s.findings
                .iter()
                .map(|w| format!("{name}, {load}: {}", w.render(Lang::En))),
        );
        if !p.failures.is_empty() {
            let kinds: Vec<String> = p
                .failures
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            warnings.push(format!("{name}, {load}: failures {}", kinds.join(", ")));
        }
    }
    d.table(table);
    for w in warnings {
        d.item(w);
    }
    d.end_list();
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

fn definitions(d: &mut Document) {
    d.heading(2, "Definitions");
    for line in [
        "TTFT: send → first chunk carrying generated text, reasoning included (what a server's prefill and scheduling cost). Time to first answer token: send → first chunk of the answer after any reasoning (what a user waits for); time to first reasoning token: send → first reasoning chunk.",
        "E2E (response time): send → last chunk carrying generated text.",
        "TPOT: (E2E − TTFT) / (output tokens − 1). ITL: gaps between content chunks, pooled.",
        "Decode rate: (output tokens − 1) / (E2E − TTFT). E2E rate (\"TPS\"): output tokens / E2E.",
        "Phase output tok/s: all output tokens of successful requests / phase wall time.",
        "Failed requests are counted under their kind and never averaged into the distributions.",
    ] {
        d.item(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::Exporter;
    use crate::report::fixtures::{report, target};
    use crate::report::markdown::Markdown;
    use crate::report::model::*;
    use crate::report::quality::*;
    use crate::spec::Api;
    use std::collections::BTreeMap;

    fn md(r: &Report) -> String {
        Markdown.export(&document(r, None, &[], Lang::En, ""))
    }

    #[test]
    fn the_html_holds_every_section_and_table_the_markdown_holds() {
        use crate::report::html::Html;
        let mut t = target("vllm", Api::Openai, 1.0);
        t.phases.load = t.phases.sweep.first().cloned();
        let doc = document(
            &report(vec![t, target("ollama", Api::Ollama, 1.5)]),
            None,
            &[],
            Lang::En,
            "",
        );
        let (md, html) = (Markdown.export(&doc), Html.export(&doc));
        let headings: Vec<(usize, &str)> = md
            .lines()
            .filter(|l| l.starts_with('#'))
            .map(|l| {
                let text = l.trim_start_matches('#');
                (l.len() - text.len(), text.trim())
            })
            .collect();
        assert!(headings.len() >= 8, "{headings:?}");
        for (level, text) in headings {
            let tag = format!("<h{level}>{}</h{level}>", crate::report::svg::esc(text));
            assert!(html.contains(&tag), "{tag} missing from the HTML");
        }
        let md_tables = md
            .lines()
            .filter(|l| l.starts_with("| ---") || l.starts_with("| :---"))
            .count();
        assert_eq!(html.matches("<table>").count(), md_tables);
        assert!(md_tables >= 6, "{md_tables} tables");
    }

    #[test]
    fn without_an_slo_goodput_says_no_slo_set_and_an_unverified_cold_is_marked() {
        let mut t = target("vllm", Api::Openai, 1.0);
        t.cold_verified = false;
        let r = report(vec![t]);
        let text = md(&r);
        assert!(text.contains("| no SLO set | no SLO set |"), "{text}");
        assert!(!text.contains("| 100 % |"), "{text}");
        assert!(text.contains(" (unverified cold) |"), "{text}");
        let mut with = r.clone();
        with.settings.slo.ttft_s = Some(0.5);
        let text = md(&with);
        assert!(
            !text.contains("no SLO set") && text.contains("| 50 % |"),
            "{text}"
        );
    }

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
        insta::assert_snapshot!(md(&report(vec![fast, slow])));
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
        insta::assert_snapshot!(md(&report(vec![t])));
    }
}
