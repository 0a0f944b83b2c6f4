//! The one report builder: [`build`] turns journalled records (`requests.jsonl`,
//! `quality.jsonl`) plus the [`Facts`] gathered during the run into the [`Report`]. `servebench
//! run` feeds each attempt's records into a [`Builder`] as they finish, asks it for each step's
//! numbers, and ends the attempt with [`Builder::target`]; `servebench report --from-journal`
//! streams the journals into the same builder and ends with [`Builder::finish`] over the facts
//! read back from `report.json` (or `run.json` for a killed run). Records are kept per attempt,
//! so a fallback's numbers never pool with those of the model that failed before it. Every number derived from
//! records — phase statistics, rates, goodput, SLO pass rates, saturation, the behind-schedule
//! warning, quality scores — is computed here and nowhere else.
//!
//! Facts are what records cannot tell: settings, GPU devices, each target's probe, model facts,
//! loads, attempts, memory and error, and per measured window (a phase or sweep step) its
//! telemetry and schedule.

use super::finding::{Finding, FindingCode};
use super::{
    LoadStep, PhaseReport, PhaseStats, QualityReport, Report, TargetReport, WorkloadReport,
    saturation, score,
};
use crate::quality_record::TaskResult;
use crate::record::{Phase, RequestRecord};
use crate::spec::Slo;
use std::collections::BTreeMap;

/// An open-loop step whose sends fell behind schedule by more than this share of the
/// scheduled span gets a warning.
pub const BEHIND_SCHEDULE: f64 = 0.10;

/// Which window a record belongs to: target, attempt, phase, sweep step.
type Key = (String, u32, PhaseKey, Option<u32>);

/// One attempt at a target: its records are kept apart from other attempts' (a fallback's
/// numbers never pool with those of the model that failed before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Who<'a> {
    /// The target's name.
    pub target: &'a str,
    /// 0: the plan's model; k: its k-th fallback.
    pub attempt: u32,
}

/// The phases a report has statistics for, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PhaseKey {
    Cold,
    Warm,
    Load,
    Sweep,
}

impl PhaseKey {
    fn of(p: Phase) -> Option<PhaseKey> {
        match p {
            Phase::Cold => Some(PhaseKey::Cold),
            Phase::Warm => Some(PhaseKey::Warm),
            Phase::Load => Some(PhaseKey::Load),
            Phase::Sweep => Some(PhaseKey::Sweep),
            // Warm-up requests are excluded from every number; quality answers and judge
            // calls are scored from `quality.jsonl`.
            // Autocomplete, session, ladder and team records are counted by their own
            // accumulators.
            Phase::Warmup
            | Phase::Quality
            | Phase::Judge
            | Phase::Autocomplete
            | Phase::Session
            | Phase::Ladder
            | Phase::Team => None,
        }
    }
}

/// What a load phase or sweep step was asked to be, and how long it ran.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedule {
    /// `concurrency:8`, `rate:20:poisson`.
    pub profile: String,
    /// Closed-loop streams.
    pub concurrency: Option<u32>,
    /// Open-loop rate, req/s.
    pub rate: Option<f64>,
    /// Step start → last response end, s (the driver's own clock).
    pub duration_s: f64,
}

/// The facts of one measured window: its telemetry, and for a load step its schedule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    /// GPU readings.
    pub gpu: Option<super::GpuPhase>,
    /// Energy over the window.
    pub energy: Option<super::energy::Energy>,
    /// The server's process tree.
    pub server_process: Option<super::ProcessPhase>,
    /// The server's own metrics.
    pub server_metrics: Option<super::ServerMetricsPhase>,
    /// The load the step was asked for; `None` for cold and warm.
    pub schedule: Option<Schedule>,
    /// Findings that do not come from records (none today; kept so a rebuild keeps them).
    pub notes: Vec<Finding>,
}

impl Window {
    /// The telemetry and schedule of a finished step.
    pub fn of_step(s: &LoadStep) -> Window {
        Window {
            schedule: Some(Schedule {
                profile: s.profile.clone(),
                concurrency: s.concurrency,
                rate: s.rate,
                duration_s: s.duration_s,
            }),
            notes: s
                .findings
                .iter()
                // Recomputed from the records (a version-1 sentence of it is a text finding).
                .filter(|f| !matches!(f.code, FindingCode::BehindSchedule | FindingCode::Text))
                .cloned()
                .collect(),
            ..Window::of_phase(&s.phase)
        }
    }

    /// The telemetry of a finished phase.
    pub fn of_phase(p: &PhaseReport) -> Window {
        Window {
            gpu: p.gpu.clone(),
            energy: p.energy.clone(),
            server_process: p.server_process.clone(),
            server_metrics: p.server_metrics.clone(),
            schedule: None,
            notes: Vec::new(),
        }
    }

    /// Put this window's telemetry on `p`.
    pub fn attach(&self, p: &mut PhaseReport) {
        p.gpu = self.gpu.clone();
        let tokens = p.output_tok_s.map_or(0.0, |r| r * p.wall_s);
        p.energy = self.energy.clone().map(|e| e.with_tokens(tokens));
        p.server_process = self.server_process.clone();
        p.server_metrics = self.server_metrics.clone();
    }
}

/// What one target's report holds that its records cannot tell.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetFacts {
    /// The target without anything derived from records: identity, probe, model facts,
    /// loads, attempts, memory, error and sweep stop reason.
    target: TargetReport,
    windows: BTreeMap<(PhaseKey, Option<u32>), Window>,
    /// The quality settings and judge summaries (the scores come from records).
    quality: Option<QualityReport>,
    /// The attempt whose records are the target's numbers.
    attempt: u32,
    /// Report only the phases the windows name (facts of a finished attempt), not every
    /// phase with records (facts of a run killed before its report).
    only_measured: bool,
}

impl TargetFacts {
    /// The facts of a target's report: its statistics are dropped, so [`Builder::target`]
    /// must recompute every one of them. A target with attempts was measured, and its last
    /// attempt is the one reported; one without (the `run.json` written at the start) takes
    /// every phase its records show.
    pub fn of(t: &TargetReport) -> TargetFacts {
        let measured = !t.attempts.is_empty();
        TargetFacts {
            attempt: t.attempts.len().saturating_sub(1) as u32,
            only_measured: measured,
            ..TargetFacts::gathered(t)
        }
    }

    /// The facts of attempt `attempt` as the runner gathered them: only the phases it
    /// reported.
    pub fn of_attempt(t: &TargetReport, attempt: u32) -> TargetFacts {
        TargetFacts {
            attempt,
            only_measured: true,
            ..TargetFacts::gathered(t)
        }
    }

    /// These facts with the workload's own facts (what the run's workload found besides its
    /// records), as the workload handed them over.
    pub fn with_workload(mut self, workload: Option<super::WorkloadReport>) -> TargetFacts {
        self.target.workload = workload;
        self
    }

    fn who(&self) -> Who<'_> {
        Who {
            target: &self.target.name,
            attempt: self.attempt,
        }
    }

    fn gathered(t: &TargetReport) -> TargetFacts {
        let mut windows = BTreeMap::new();
        if let Some(p) = &t.phases.cold {
            windows.insert((PhaseKey::Cold, None), Window::of_phase(p));
        }
        if let Some(p) = &t.phases.warm {
            windows.insert((PhaseKey::Warm, None), Window::of_phase(p));
        }
        if let Some(s) = &t.phases.load {
            windows.insert((PhaseKey::Load, None), Window::of_step(s));
        }
        for (k, s) in t.phases.sweep.iter().enumerate() {
            windows.insert((PhaseKey::Sweep, Some(k as u32)), Window::of_step(s));
        }
        let mut target = t.clone();
        // The chat phases come from records and windows; the workload's report stays as its
        // facts (settings, server readings), its record numbers recomputed.
        target.phases = super::Phases::default();
        target.saturation = None;
        let quality = target.quality.take();
        TargetFacts {
            target,
            windows,
            quality,
            attempt: 0,
            only_measured: false,
        }
    }

    fn window(&self, phase: PhaseKey, step: Option<u32>) -> Option<&Window> {
        self.windows.get(&(phase, step))
    }
}

/// Everything a report holds that its records cannot tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The report without its targets: settings, GPU, versions, whether it was interrupted.
    run: Report,
    targets: Vec<TargetFacts>,
}

impl Facts {
    /// The facts of a report (a finished `report.json`, or the `run.json` written at the
    /// start): its statistics are dropped, so [`build`] must recompute every one of them.
    pub fn of(report: &Report) -> Facts {
        Facts {
            run: Report {
                targets: Vec::new(),
                ..report.clone()
            },
            targets: report.targets.iter().map(TargetFacts::of).collect(),
        }
    }
}

/// Records accumulated per window, streaming: a long run never holds them all.
#[derive(Debug, Clone)]
pub struct Builder {
    slo: Slo,
    phases: BTreeMap<Key, PhaseStats>,
    quality: BTreeMap<String, Vec<TaskResult>>,
    /// Autocomplete records per (target, attempt).
    autocomplete: BTreeMap<(String, u32), super::autocomplete::AutocompleteStats>,
    /// Session records per (target, attempt).
    sessions: BTreeMap<(String, u32, Option<u32>), super::sessions::SessionsStats>,
    /// Ladder records per (target, attempt).
    ladder: BTreeMap<(String, u32), super::ladder::LadderStats>,
    /// Team-mix records per (target, attempt).
    team: BTreeMap<(String, u32), super::team::TeamStats>,
}

impl Builder {
    /// An empty builder judging goodput against `slo`.
    pub fn new(slo: Slo) -> Builder {
        Builder {
            slo,
            phases: BTreeMap::new(),
            quality: BTreeMap::new(),
            autocomplete: BTreeMap::new(),
            sessions: BTreeMap::new(),
            ladder: BTreeMap::new(),
            team: BTreeMap::new(),
        }
    }

    /// Add one finished request (warm-up, quality and judge requests are not counted).
    pub fn add(&mut self, r: &RequestRecord) {
        if r.phase == Phase::Autocomplete {
            self.autocomplete
                .entry((r.target.clone(), r.attempt))
                .or_default()
                .add(r);
        }
        if r.phase == Phase::Ladder {
            self.ladder
                .entry((r.target.clone(), r.attempt))
                .or_default()
                .add(r);
        }
        if r.phase == Phase::Team {
            self.team
                .entry((r.target.clone(), r.attempt))
                .or_insert_with(|| super::team::TeamStats::new(self.slo))
                .add(r);
        }
        if r.phase == Phase::Session {
            self.sessions
                .entry((r.target.clone(), r.attempt, r.step))
                .or_default()
                .add(r);
        }
        if let Some(p) = PhaseKey::of(r.phase) {
            self.phases
                .entry((r.target.clone(), r.attempt, p, r.step))
                .or_insert_with(|| PhaseStats::new(self.slo))
                .add(r);
        }
    }

    /// Add one graded quality answer; a later line for the same answer (the journal writes
    /// it again once a judge has scored it) replaces the earlier one.
    pub fn add_quality(&mut self, r: &TaskResult) {
        let same = |a: &TaskResult| {
            (&a.scenario, &a.task_id, a.sample, a.rerun, &a.under_load)
                == (&r.scenario, &r.task_id, r.sample, r.rerun, &r.under_load)
        };
        let answers = self.quality.entry(r.target.clone()).or_default();
        match answers.iter_mut().find(|a| same(a)) {
            Some(a) => *a = r.clone(),
            None => answers.push(r.clone()),
        }
    }

    fn stats(&self, who: Who<'_>, phase: PhaseKey, step: Option<u32>) -> Option<&PhaseStats> {
        self.phases
            .get(&(who.target.to_string(), who.attempt, phase, step))
    }

    /// A cold or warm phase's report with its window's telemetry; `None` before any record.
    pub fn phase(
        &self,
        who: Who<'_>,
        phase: Phase,
        window: Option<&Window>,
    ) -> Option<PhaseReport> {
        let key = PhaseKey::of(phase)?;
        let s = self.stats(who, key, None)?;
        let mut p = match key {
            PhaseKey::Cold => s.cold_report(),
            _ => s.report(),
        };
        if let Some(w) = window {
            w.attach(&mut p);
        }
        Some(p)
    }

    /// A load phase's or sweep step's report: its statistics, rates, goodput and SLO pass
    /// rate, from its records and its window; `None` before any record.
    pub fn load_step(
        &self,
        who: Who<'_>,
        phase: Phase,
        step: Option<u32>,
        window: Option<&Window>,
    ) -> Option<LoadStep> {
        let stats = self.stats(who, PhaseKey::of(phase)?, step)?;
        let mut report = stats.report();
        let schedule = window.and_then(|w| w.schedule.clone());
        let d = schedule.as_ref().map_or(report.wall_s, |s| s.duration_s);
        let per_s = |n: u64| (d > 0.0).then(|| n as f64 / d);
        let mut findings = window.map(|w| w.notes.clone()).unwrap_or_default();
        let rate = schedule.as_ref().and_then(|s| s.rate);
        if let (Some(r), Some(lag), Some(span)) =
            (rate, report.schedule_lag_s.max, stats.scheduled_span_s())
            && lag > BEHIND_SCHEDULE * span
        {
            findings.push(
                Finding::new(FindingCode::BehindSchedule)
                    .with("rate", r)
                    .with("lag_s", format!("{lag:.3}"))
                    .with("span_s", format!("{span:.3}"))
                    .with("pct", format!("{:.0}", BEHIND_SCHEDULE * 100.0)),
            );
        }
        if let Some(w) = window {
            w.attach(&mut report);
        }
        let (profile, concurrency) = match schedule {
            Some(s) => (s.profile, s.concurrency),
            None => (
                match step {
                    Some(k) => format!("sweep step {k}"),
                    None => String::new(),
                },
                None,
            ),
        };
        Some(LoadStep {
            profile,
            concurrency,
            rate,
            duration_s: d,
            request_rate_rps: per_s(report.ok),
            send_rate_rps: stats.send_rate_rps(),
            goodput_rps: per_s(stats.slo_met()),
            slo_pass_rate: (report.requests > 0)
                .then(|| stats.slo_met() as f64 / report.requests as f64),
            findings,
            phase: report,
        })
    }

    /// The sweep steps of `target` measured so far, in step order.
    fn sweep(&self, f: &TargetFacts) -> Vec<LoadStep> {
        let who = f.who();
        self.phases
            .keys()
            .filter(|(t, a, p, _)| t == who.target && *a == who.attempt && *p == PhaseKey::Sweep)
            .filter_map(|(_, _, _, step)| {
                let w = f.window(PhaseKey::Sweep, *step);
                if f.only_measured && w.is_none() {
                    return None;
                }
                self.load_step(who, Phase::Sweep, *step, w)
            })
            .collect()
    }

    /// One target's report: its statistics from its records, on top of its facts.
    /// `default_profile` names a load phase whose schedule is not among the facts.
    pub fn target(&self, f: &TargetFacts, default_profile: &str) -> TargetReport {
        let mut t = f.target.clone();
        let name = t.name.clone();
        let who = f.who();
        // With `only_measured`, a phase is reported only when the run reported it: the
        // records of a phase an attempt abandoned (a failed first request) stay out.
        let w = |p: PhaseKey| f.window(p, None);
        let keep = |p: PhaseKey| !f.only_measured || w(p).is_some();
        t.phases.cold = keep(PhaseKey::Cold)
            .then(|| self.phase(who, Phase::Cold, w(PhaseKey::Cold)))
            .flatten();
        t.phases.warm = keep(PhaseKey::Warm)
            .then(|| self.phase(who, Phase::Warm, w(PhaseKey::Warm)))
            .flatten();
        t.phases.load = keep(PhaseKey::Load)
            .then(|| self.load_step(who, Phase::Load, None, w(PhaseKey::Load)))
            .flatten()
            .map(|mut s| {
                if s.profile.is_empty() {
                    s.profile = default_profile.to_string();
                }
                s
            });
        t.phases.sweep = self.sweep(f);
        t.workload = self.workload(f, t.server_traits.truncates_silently);
        t.saturation = saturation(&t.phases.sweep);
        t.quality = self.quality_of(&name, f.quality.as_ref(), f.only_measured);
        // Quality at the capacity is scored from the graded answers, as the report's is.
        if let (Some(WorkloadReport::Capacity(c)), Some(q)) = (&mut t.workload, &t.quality) {
            c.score_quality(q);
        }
        t
    }

    /// The workload's report: its facts with every number its records give filled in; a killed
    /// run's facts (`run.json`) have none but the team's mix, so its autocomplete or sessions
    /// records are reported on default facts.
    fn workload(&self, f: &TargetFacts, truncates_silently: bool) -> Option<WorkloadReport> {
        let key = (f.target.name.clone(), f.attempt);
        let sessions = |step| self.sessions.get(&(key.0.clone(), key.1, step));
        Some(match &f.target.workload {
            Some(WorkloadReport::Autocomplete(facts)) => WorkloadReport::Autocomplete(
                self.autocomplete
                    .get(&key)
                    .map_or_else(|| facts.clone(), |s| s.report(facts)),
            ),
            Some(WorkloadReport::Sessions(facts)) => WorkloadReport::Sessions(
                sessions(None).map_or_else(|| facts.clone(), |s| s.report(facts)),
            ),
            // A sweep's steps are facts of the run (their settings): each is rebuilt from its own.
            Some(WorkloadReport::SessionsSweep(steps)) => WorkloadReport::SessionsSweep(
                (0u32..)
                    .zip(steps)
                    .map(|(k, facts)| {
                        sessions(Some(k)).map_or_else(|| facts.clone(), |s| s.report(facts))
                    })
                    .collect(),
            ),
            // The ladder's steps are facts of the run: without them its records say nothing.
            Some(WorkloadReport::Context(facts)) => WorkloadReport::Context(
                self.ladder
                    .get(&key)
                    .map_or_else(|| facts.clone(), |s| s.report(facts, truncates_silently)),
            ),
            // The mix and its telemetry are facts; its classes' numbers come from records.
            Some(WorkloadReport::Team(facts)) => WorkloadReport::Team(
                self.team
                    .get(&key)
                    .map_or_else(|| facts.clone(), |s| s.report(facts)),
            ),
            // Each step was judged from its records as it ran; the steps are the facts.
            Some(WorkloadReport::Capacity(c)) => WorkloadReport::Capacity(c.clone()),
            None if f.only_measured => return None,
            None => match (self.autocomplete.get(&key), sessions(None)) {
                (Some(s), _) => WorkloadReport::Autocomplete(s.report(&Default::default())),
                (None, Some(s)) => WorkloadReport::Sessions(s.report(&Default::default())),
                (None, None) => return None,
            },
        })
    }

    /// The report: every target's statistics from its records, on top of `facts`.
    pub fn finish(&self, facts: &Facts) -> Report {
        let profile = facts.run.settings.profile.as_str();
        Report {
            targets: facts
                .targets
                .iter()
                .map(|t| self.target(t, profile))
                .collect(),
            ..facts.run.clone()
        }
    }

    /// Quality scores from the graded answers, with the settings and judge summaries of the
    /// facts; without answers, the facts' report as it was when it was measured (nothing
    /// for a target of a killed run that was never evaluated).
    fn quality_of(
        &self,
        target: &str,
        known: Option<&QualityReport>,
        measured: bool,
    ) -> Option<QualityReport> {
        let Some(results) = self.quality.get(target) else {
            return known.filter(|_| measured).cloned();
        };
        let known = known?;
        let mut results = results.clone();
        score::sort(&mut results);
        let mut q = score::report(known, &results);
        for (name, s) in &mut q.scenarios {
            s.judge = known.scenarios.get(name).and_then(|k| k.judge.clone());
        }
        Some(q)
    }
}

/// The report from journalled records and the run's facts: what `servebench run` ends with
/// and what `servebench report --from-journal` computes.
pub fn build<'a>(
    records: impl IntoIterator<Item = &'a RequestRecord>,
    quality: impl IntoIterator<Item = &'a TaskResult>,
    facts: &Facts,
) -> Report {
    let mut b = Builder::new(facts.run.settings.slo);
    records.into_iter().for_each(|r| b.add(r));
    quality.into_iter().for_each(|r| b.add_quality(r));
    b.finish(facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality_record::{Graded, Verdict};
    use crate::record::Outcome;
    use crate::report::fixtures::{report, target};
    use crate::report::{JudgeScore, ScenarioScore};
    use crate::spec::Api;
    use proptest::prelude::*;
    use std::time::Duration;

    /// (phase 0–4: cold, warm, warm-up, load, sweep; sweep step; ok; chunks; gap ms; lag ms)
    type Req = (u8, u32, bool, usize, u64, u64);
    /// (scenario, task, sample, rerun, code, verdict 0–2, accuracy)
    type Answer = (u8, u8, u32, bool, bool, u8, f64);

    fn record(i: usize, &(phase, step, ok, chunks, gap, lag): &Req) -> RequestRecord {
        let phase = [
            Phase::Cold,
            Phase::Warm,
            Phase::Warmup,
            Phase::Load,
            Phase::Sweep,
        ][phase as usize];
        let arrivals = (1..=chunks as u64)
            .map(|k| Duration::from_millis(k * gap))
            .collect();
        let mut r = if ok {
            RequestRecord::streamed("t", phase, i as u64, arrivals)
        } else {
            RequestRecord::failed(
                "t",
                phase,
                i as u64,
                Outcome::Http(500),
                Duration::from_millis(gap),
            )
        };
        r.step = (phase == Phase::Sweep).then_some(step);
        r.sent_unix_s = 1000.0 + i as f64 * 0.37;
        r.schedule_lag = Duration::from_millis(lag);
        r
    }

    fn answer(&(scenario, task, sample, rerun, code, verdict, accuracy): &Answer) -> TaskResult {
        let verdict = [Verdict::Pass, Verdict::Fail, Verdict::Error][verdict as usize];
        TaskResult {
            target: "t".into(),
            scenario: ["code-completion", "architecture-design"][scenario as usize].into(),
            task_id: format!("task-{task}"),
            sample,
            rerun,
            code,
            answer: String::new(),
            request: "ok".into(),
            e2e_s: Some(1.0),
            graded: Graded::text(verdict, None, accuracy, 3.0),
            judge: None,
            // Some answers given under load: scored apart, rebuilt the same.
            under_load: (sample == 2 && !rerun).then(|| "concurrency:2".into()),
        }
    }

    /// A report to take the facts from: a target with cold, warm and sweep windows (GPU and
    /// server metrics attached), a quality run with a judge summary, and a rate profile.
    fn facts_source() -> Report {
        let mut t = target("t", Api::Openai, 1.0);
        t.phases.sweep.truncate(2);
        if let Some(s) = t.phases.sweep.get_mut(1) {
            s.rate = Some(4.0);
        }
        t.sweep_stop_reason = Some("saturated".into());
        t.quality = Some(QualityReport {
            dataset: "builtin".into(),
            tasks: 6,
            samples: 2,
            temperature: 0.2,
            max_tokens: 512,
            sandbox: Some("namespaces".into()),
            scenarios: BTreeMap::from([(
                "architecture-design".into(),
                ScenarioScore {
                    judge: Some(JudgeScore::default()),
                    ..Default::default()
                },
            )]),
            ..Default::default()
        });
        let mut r = report(vec![t]);
        r.settings.slo.ttft_s = Some(0.05);
        r
    }

    fn json<T: serde::Serialize + serde::de::DeserializeOwned>(v: &T) -> T {
        serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// What `report --from-journal` does to a finished run: the facts read back from its
        /// `report.json` and the records from its journals (both through JSON) build the same
        /// report again, for runs with every phase kind.
        #[test]
        fn a_report_rebuilt_from_its_journal_is_the_report(
            reqs in prop::collection::vec(
                (0u8..5, 0u32..3, prop::bool::weighted(0.8), 0usize..12, 1u64..40, 0u64..300),
                0..60,
            ),
            answers in prop::collection::vec(
                (0u8..2, 0u8..4, 0u32..3, any::<bool>(), any::<bool>(), 0u8..3, 0.0f64..=1.0),
                0..20,
            ),
        ) {
            let mut records: Vec<RequestRecord> =
                reqs.iter().enumerate().map(|(i, r)| record(i, r)).collect();
            // The runner numbers sweep steps 0, 1, 2, … and stops at the first step without
            // a record, so the steps present are always a prefix.
            let present: std::collections::BTreeSet<u32> =
                records.iter().filter_map(|r| r.step).collect();
            for r in &mut records {
                r.step = r.step.map(|k| present.range(..k).count() as u32);
            }
            let graded: Vec<TaskResult> = answers.iter().map(answer).collect();
            let original = build(&records, &graded, &Facts::of(&facts_source()));

            let (file, journal, quality) = (json(&original), json(&records), json(&graded));
            let rebuilt = build(&journal, &quality, &Facts::of(&file));
            prop_assert_eq!(
                serde_json::to_value(&rebuilt).unwrap(),
                serde_json::to_value(&original).unwrap()
            );

            // Not vacuous: each phase is there exactly when it has records, with its
            // window's telemetry, and warm-up requests count nowhere.
            let t = &original.targets[0];
            let has = |p: Phase| records.iter().any(|r| r.phase == p);
            prop_assert_eq!(t.phases.cold.is_some(), has(Phase::Cold));
            prop_assert_eq!(t.phases.warm.is_some(), has(Phase::Warm));
            prop_assert_eq!(t.phases.load.is_some(), has(Phase::Load));
            if let Some(c) = &t.phases.cold {
                prop_assert!(c.gpu.is_some());
            }
            let counted = |p: &PhaseReport| p.requests;
            let total: u64 = t.phases.cold.iter().chain(&t.phases.warm).map(counted).sum::<u64>()
                + t.phases.load.iter().chain(&t.phases.sweep).map(|s| counted(&s.phase)).sum::<u64>();
            prop_assert_eq!(total as usize, records.iter().filter(|r| r.phase != Phase::Warmup).count());
            prop_assert_eq!(t.sweep_stop_reason.as_deref(), Some("saturated"));
            prop_assert_eq!(t.quality.is_some(), !graded.is_empty());
        }
    }

    #[test]
    fn goodput_rates_and_the_behind_schedule_warning_come_from_the_records() {
        let recs: Vec<RequestRecord> = (0..4u32)
            .map(|i| RequestRecord {
                sent_unix_s: 10.0 + f64::from(i),
                // The last request was sent 2 s late on a 3 s schedule.
                schedule_lag: Duration::from_millis(if i == 3 { 2000 } else { 0 }),
                ..RequestRecord::streamed(
                    "t",
                    Phase::Load,
                    u64::from(i),
                    vec![Duration::from_millis(100 * (1 + u64::from(i)))],
                )
            })
            .collect();
        let slo = Slo {
            ttft_s: Some(0.25),
            ..Slo::default()
        };
        let mut b = Builder::new(slo);
        recs.iter().for_each(|r| b.add(r));
        let w = Window {
            schedule: Some(Schedule {
                profile: "rate:1".into(),
                concurrency: None,
                rate: Some(1.0),
                duration_s: 8.0,
            }),
            ..Window::default()
        };
        let who = Who {
            target: "t",
            attempt: 0,
        };
        let s = b.load_step(who, Phase::Load, None, Some(&w)).unwrap();
        assert_eq!(s.request_rate_rps, Some(4.0 / 8.0));
        // TTFT from schedule: 0.1, 0.2, 0.3, 2.4 s: two meet 0.25 s.
        assert_eq!(s.goodput_rps, Some(2.0 / 8.0));
        assert_eq!(s.slo_pass_rate, Some(0.5));
        assert_eq!(s.findings.len(), 1, "{:?}", s.findings);
        assert_eq!(s.findings[0].code, FindingCode::BehindSchedule);
        assert!(
            s.findings[0]
                .render(super::super::i18n::Lang::En)
                .starts_with("the client could not sustain 1 req/s")
        );
        // The warning is derived, not a fact: a rebuild does not carry it twice.
        assert_eq!(Window::of_step(&s).notes, Vec::<Finding>::new());
    }

    /// A fallback's numbers are its own: the records of the attempt that failed before it
    /// (same target name) stay out, and so does a phase the attempt never reported.
    #[test]
    fn a_fallback_is_reported_from_its_own_records_and_reported_phases_only() {
        let at = |attempt: u32, phase: Phase, i: u64, ok: bool| RequestRecord {
            attempt,
            ..if ok {
                RequestRecord::streamed("t", phase, i, vec![Duration::from_millis(100)])
            } else {
                RequestRecord::failed("t", phase, i, Outcome::Http(500), Duration::from_millis(5))
            }
        };
        let records = [
            at(0, Phase::Cold, 0, false),
            at(0, Phase::Warm, 0, false),
            at(1, Phase::Cold, 0, true),
            at(1, Phase::Warm, 0, true),
            at(1, Phase::Warm, 1, true),
        ];
        let mut source = facts_source();
        let t = &mut source.targets[0];
        t.quality = None;
        t.phases.sweep.clear();
        let attempt = |status| crate::report::Attempt {
            model: "m".into(),
            url: "u".into(),
            status,
            error: None,
            log_tail: Vec::new(),
        };
        t.attempts = vec![
            attempt(crate::report::AttemptStatus::Oom),
            attempt(crate::report::AttemptStatus::Ok),
        ];
        let r = build(&records, &[], &Facts::of(&source));
        let p = &r.targets[0].phases;
        let (cold, warm) = (p.cold.as_ref().unwrap(), p.warm.as_ref().unwrap());
        assert_eq!((cold.requests, cold.failed), (1, 0));
        assert_eq!((warm.requests, warm.failed), (2, 0));
        // The attempt reported no warm phase (it stopped after its cold request): its warm
        // records do not make one.
        source.targets[0].phases.warm = None;
        let r = build(&records, &[], &Facts::of(&source));
        assert!(r.targets[0].phases.warm.is_none());
        assert!(r.targets[0].phases.cold.is_some());
    }
}
