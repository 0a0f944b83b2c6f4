//! The capacity search (`servebench capacity`): the team mix run at one team size after
//! another, each developer coming and going per class on the team model's on/off periods,
//! until [`crate::report::capacity::next_size`] says the boundary is measured. Each step runs
//! a warm-up that is not judged, then `step_s` measured; a class with too few answered
//! requests to judge its percentile gets the step extended. Every step's records are
//! journalled as they finish (phase `team`, `step` = the step's number), and each step's
//! verdict is noted as it is reached.

use super::attempt::Attempt;
use super::capacity_journal::StepJournal;
use super::ctx::Abort;
use super::phase::{Part, PhaseRun};
use super::sessions::Conversations;
use super::watch::Watch;
use crate::load::driver::{OnOff, Prompts, Schedule, Step};
use crate::plan::Team;
use crate::prompts::PromptTags;
use crate::record::{Outcome, Phase, RequestRecord};
use crate::report::capacity::{
    CapacityStep, ClassNumbers, ClassVerdict, MIN_SAMPLES, Next, SearchSettings, estimate, judge,
    next_size,
};
use crate::report::capacity_quality::QualityAtCapacity;
use crate::report::capacity_report::{AtCapacity, CapacityReport};
use crate::report::energy::Energy;
use crate::report::interference::Interference;
use crate::report::phase::PhaseStats;
use crate::spec::{Class, Slo};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

/// Sessions prepared per class for the whole search: each on period starts new ones.
const SESSIONS_PER_CLASS: u32 = 256;

/// One class's records of a step, after its warm-up.
#[derive(Default)]
struct Tally {
    stats: Option<PhaseStats>,
    good: u64,
}

impl Attempt<'_, '_> {
    /// Search for the largest team size meeting every class's objectives, and put the search
    /// in the target's report.
    pub(super) async fn capacity(&mut self, team: &Team, watch: &Watch<'_>) -> Result<(), Abort> {
        let started = Instant::now();
        let search = team.search;
        let classes = team.developer.classes();
        self.note(format!(
            "capacity: a developer is {} of the time; steps of {:.0} s after {:.0} s of warm-up, the boundary measured {} times{}",
            classes
                .iter()
                .map(|c| format!(
                    "{:.0} % {c} (on {:.0} s at a time)",
                    100.0 * team.developer.share(*c),
                    team.developer.on_s(*c)
                ))
                .collect::<Vec<_>>()
                .join(", "),
            search.step_s,
            search.warmup_s,
            search.repeats,
            search
                .budget_s
                .map_or(String::new(), |b| format!(", within {:.0} s", b))
        ))?;
        // The sessions once for the whole search; each step tags them afresh.
        let mut sessions = BTreeMap::new();
        for (class, ss) in [(Class::Chat, &team.chat), (Class::Agent, &team.agent)] {
            if team.developer.share(class) > 0.0 {
                let mut ss = ss.clone();
                ss.count = ss.count.max(SESSIONS_PER_CLASS);
                let prepared = self
                    .prepare_sessions(&ss, &format!("capacity {class}"), watch)
                    .await?;
                sessions.insert(class, prepared);
            }
        }
        let settings = SearchSettings {
            repeats: search.repeats,
            max_developers: search.max_developers,
        };
        // Steps a previous, interrupted search of this target in this directory finished
        // (`--resume`): the search goes on from them.
        let journal = StepJournal::at(self.ctx.out_dir);
        let (mut steps, mut next_k) = journal.resume(&self.spec.name);
        if !steps.is_empty() {
            self.note(format!(
                "capacity: resuming after {} finished step{} ({})",
                steps.len(),
                if steps.len() == 1 { "" } else { "s" },
                steps
                    .iter()
                    .map(|s| s.developers.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))?;
        }
        let (mut budget_exhausted, mut interrupted) = (false, false);
        let mut undecided = None;
        loop {
            let n = match next_size(&steps, &settings) {
                Next::Measure(n) => n,
                Next::Done => break,
                Next::Undecided(n) => {
                    let why = format!(
                        "{} steps at {n} developer{} had no class with {MIN_SAMPLES} answered requests (steps of {:.0} s, each extended up to {} times): lengthen [team.search] step_s or max_extensions, or raise the shares in [team.developer]",
                        search.repeats,
                        if n == 1 { "" } else { "s" },
                        search.step_s,
                        search.max_extensions
                    );
                    self.note(format!("capacity: undecided: {why}"))?;
                    undecided = Some(why);
                    break;
                }
            };
            let repeat = steps.iter().filter(|s| s.developers == n).count() as u32;
            if let Some(b) = search.budget_s {
                let need = search.warmup_s + search.step_s;
                if started.elapsed().as_secs_f64() + need > b {
                    budget_exhausted = true;
                    self.note(format!(
                        "capacity: the budget of {b:.0} s is spent ({:.0} s used; the next step needs {need:.0} s): the interval is what was measured",
                        started.elapsed().as_secs_f64()
                    ))?;
                    break;
                }
            }
            let k = next_k;
            next_k += 1;
            self.note(format!(
                "capacity step {k}: {n} developer{}{}",
                if n == 1 { "" } else { "s" },
                if repeat > 0 {
                    format!(" (repeat {repeat})")
                } else {
                    String::new()
                }
            ))?;
            let step = self
                .capacity_step(
                    team,
                    &sessions,
                    (n, repeat, k),
                    (None, None),
                    started,
                    watch,
                )
                .await?;
            if self.ctx.cancel.is_cancelled() {
                interrupted = true;
                break;
            }
            self.note(verdict_line(&step))?;
            journal
                .append(&self.spec.name, team, k, &step)
                .map_err(|e| {
                    Abort::Target(super::error::TargetError::Capacity(format!(
                        "cannot write {}: {e}",
                        journal.path.display()
                    )))
                })?;
            steps.push(step);
        }
        let capacity = estimate(&steps);
        let broke_first = CapacityReport::broke_first(&steps, capacity.developers);
        let mut interference = Vec::new();
        let interference_note = if !search.interference {
            Some("not asked for ([team.search] interference = false)".to_string())
        } else if interrupted {
            Some("the search was interrupted".to_string())
        } else if classes.len() < 2 {
            Some("one class only: nothing to interfere with it".to_string())
        } else if capacity.developers == 0 {
            Some("a capacity of 0: no size to measure it at".to_string())
        } else {
            let n = capacity.developers;
            let need = classes.len() as f64 * (search.warmup_s + search.step_s);
            match search.budget_s {
                Some(b) if budget_exhausted || started.elapsed().as_secs_f64() + need > b => {
                    Some(format!(
                        "the budget of {b:.0} s leaves no time for the {} steps alone ({need:.0} s)",
                        classes.len()
                    ))
                }
                _ => {
                    for class in &classes {
                        let k = next_k;
                        next_k += 1;
                        self.note(format!(
                            "capacity step {k}: {class} alone at {n} developer{} (interference)",
                            if n == 1 { "" } else { "s" }
                        ))?;
                        let alone = self
                            .capacity_step(
                                team,
                                &sessions,
                                (n, 0, k),
                                (Some(*class), None),
                                started,
                                watch,
                            )
                            .await?;
                        if self.ctx.cancel.is_cancelled() {
                            interrupted = true;
                            break;
                        }
                        if let Some(v) = alone.classes.into_iter().next() {
                            let i = Interference::of(v, n, &steps);
                            self.note(format!("interference: {}", i.describe()))?;
                            interference.push(i);
                        }
                    }
                    interrupted.then(|| "the search was interrupted".to_string())
                }
            }
        };
        let (quality, quality_note) = match self.ctx.plan.settings.quality.as_ref() {
            None => (None, None),
            Some(_) if self.ctx.grader.is_none() => (None, None),
            Some(_) if interrupted => (None, Some("the search was interrupted".to_string())),
            Some(_) if capacity.developers == 0 => (
                None,
                Some("a capacity of 0: no team to ask the tasks beside".to_string()),
            ),
            Some(_)
                if search.budget_s.is_some_and(|b| {
                    budget_exhausted
                        || started.elapsed().as_secs_f64() + search.warmup_s + search.step_s > b
                }) =>
            {
                (
                    None,
                    Some(format!(
                        "the budget of {:.0} s leaves no time for a step with the tasks",
                        search.budget_s.unwrap_or_default()
                    )),
                )
            }
            Some(q) => {
                let k = next_k;
                let n = capacity.developers;
                self.note(format!(
                    "capacity step {k}: the {} quality tasks one at a time beside {n} developer{}",
                    q.tasks.len(),
                    if n == 1 { "" } else { "s" }
                ))?;
                let mut asking = Asking {
                    prompts: crate::eval::first_asks(&q.tasks, &q.settings),
                    records: Vec::new(),
                };
                let team_step = self
                    .capacity_step(
                        team,
                        &sessions,
                        (n, 0, k),
                        (None, Some(&mut asking)),
                        started,
                        watch,
                    )
                    .await?;
                if self.ctx.cancel.is_cancelled() {
                    interrupted = true;
                }
                self.note(verdict_line(&team_step))?;
                let at = asking.at_capacity(n, team_step);
                self.answered_at_capacity = Some(crate::eval::AnsweredUnderLoad {
                    label: at.label.clone(),
                    records: asking.records,
                });
                (Some(at), None)
            }
        };
        let at_capacity = AtCapacity::of(&steps, capacity.developers, self.spec.cost_per_hour);
        let report = CapacityReport {
            developer: team.developer,
            slo: team.slo,
            step_s: search.step_s,
            warmup_s: search.warmup_s,
            repeats: search.repeats,
            broke_first,
            steps,
            budget_exhausted,
            interrupted,
            search_s: started.elapsed().as_secs_f64(),
            capacity,
            interference,
            interference_note,
            at_capacity,
            undecided,
            quality,
            quality_note,
        };
        self.note(format!("capacity: {}", report.describe()))?;
        if let Some(a) = &report.at_capacity {
            self.note(format!("capacity: {}", a.describe()))?;
        }
        self.workload = Some(crate::report::WorkloadReport::Capacity(report));
        if self.ctx.cancel.is_cancelled() {
            return Err(Abort::Cancelled);
        }
        Ok(())
    }

    /// One team size: the warm-up and the measured step, extended while a class is short of
    /// samples, judged class by class. `only`: that class alone, the others off; `asking`:
    /// the quality tasks asked one at a time beside the team from the end of the warm-up,
    /// the step going on until every task was asked.
    /// `(n, repeat, k)`: the team size, which measurement of it, the step's number;
    /// `started`: when the search began (for the live view).
    async fn capacity_step(
        &mut self,
        team: &Team,
        sessions: &BTreeMap<Class, super::sessions::SessionsRun>,
        (n, repeat, k): (u32, u32, u32),
        (only, mut asking): (Option<Class>, Option<&mut Asking>),
        started: Instant,
        watch: &Watch<'_>,
    ) -> Result<CapacityStep, Abort> {
        let dev = team.developer;
        let runs = |c: Class| dev.share(c) > 0.0 && only.is_none_or(|o| o == c);
        let classes: Vec<Class> = dev.classes().into_iter().filter(|c| runs(*c)).collect();
        let search = team.search;
        let mut tallies: BTreeMap<Class, Tally> = BTreeMap::new();
        let mut active: BTreeMap<Class, (f64, f64)> = BTreeMap::new();
        let (mut measured_s, mut extensions) = (0.0, 0u32);
        let mut output_tokens = 0u64;
        // Each run of the step (the first and its extensions), summed at the end.
        let mut energy: Vec<Option<Energy>> = Vec::new();
        let slo_of = |c: Class| team.slo.of(c);
        // The tasks' answers keep their numbering over the step's extensions.
        let asks_ctx = Arc::new(self.request_ctx(Phase::Quality).at_step(Some(k)));
        loop {
            let first = extensions == 0 && measured_s == 0.0;
            let warmup = if first { search.warmup_s } else { 0.0 };
            let span = Duration::from_secs_f64(warmup + search.step_s);
            self.obs.on_event(&crate::events::Event::CapacityStep {
                target: &self.spec.name,
                step: k,
                developers: n,
                active: classes
                    .iter()
                    .map(|c| (*c, f64::from(n) * dev.share(*c)))
                    .collect(),
                span_s: span.as_secs_f64(),
                slo: &team.slo,
                search_s: started.elapsed().as_secs_f64(),
                budget_s: search.budget_s,
                in_flight: self.client.in_flight(),
            })?;
            let seed = self.ctx.plan.settings.seed ^ (u64::from(k) << 20) ^ u64::from(extensions);
            let mut parts = Vec::new();
            let mut onoffs = Vec::new();
            let step_of = |class: Class| {
                let o = OnOff {
                    streams: n,
                    on_s: dev.on_s(class),
                    off_s: dev.off_s(class),
                    seed: seed ^ (class as u64).wrapping_mul(0x51_7C_C1_B7),
                    active_us: Arc::new(AtomicU64::new(0)),
                };
                (
                    Step {
                        schedule: Schedule::OnOff(o.clone()),
                        requests: None,
                        duration: Some(span),
                    },
                    o,
                )
            };
            for (class, prepared) in sessions.iter().filter(|(c, _)| runs(**c)) {
                let job = Arc::new(Conversations::new(
                    prepared.sessions.clone(),
                    prepared.settings.think,
                    self.ctx.plan.settings.seed ^ *class as u64 ^ u64::from(k),
                ));
                let mut ctx = self
                    .request_ctx(Phase::Team)
                    .of_class(*class)
                    .at_step(Some(k));
                ctx.tags = ctx.tags.map(|_| PromptTags::fresh());
                let (step, o) = step_of(*class);
                onoffs.push((*class, o));
                parts.push(Part {
                    ctx: Arc::new(ctx),
                    job,
                    step,
                });
            }
            if runs(Class::Prompts) {
                let (step, o) = step_of(Class::Prompts);
                onoffs.push((Class::Prompts, o));
                parts.push(Part {
                    ctx: Arc::new(
                        self.request_ctx(Phase::Team)
                            .of_class(Class::Prompts)
                            .at_step(Some(k)),
                    ),
                    job: Arc::new(Prompts {
                        prompts: self.ctx.prompts.clone(),
                        offset: 0,
                    }),
                    step,
                });
            }
            let mut typing = None;
            if runs(Class::Autocomplete) {
                let mut ac = team.typing.clone();
                ac.developers = n;
                // A team's autocomplete as an editor sends it, unless the plan says otherwise.
                ac.typing
                    .editor
                    .get_or_insert(crate::fim::Editor::LlamaVscode);
                ac.duration_s = span.as_secs_f64();
                let t = self
                    .prepare_typing(&ac, !parts.is_empty(), seed, watch)
                    .await?;
                let (step, o) = step_of(Class::Autocomplete);
                onoffs.push((Class::Autocomplete, o));
                parts.push(Part {
                    ctx: Arc::new(
                        self.request_ctx(Phase::Team)
                            .of_class(Class::Autocomplete)
                            .at_step(Some(k)),
                    ),
                    job: t.job.clone(),
                    step,
                });
                typing = Some(t);
            }
            let asked_before = asking.as_ref().map_or(0, |a| a.records.len());
            if let Some(a) = asking.as_ref().filter(|a| a.left() > 0) {
                parts.push(Part {
                    ctx: asks_ctx.clone(),
                    job: Arc::new(AfterWarmup {
                        asks: crate::load::driver::Asks {
                            prompts: a.remaining(),
                        },
                        from: tokio::time::Instant::now() + Duration::from_secs_f64(warmup),
                    }),
                    step: Step {
                        schedule: Schedule::Closed(1),
                        requests: None,
                        duration: Some(span),
                    },
                });
            }
            let settle = typing.as_mut().map(|t| t.settle());
            let judged_from = crate::backend::stream::unix_at(
                tokio::time::Instant::now().into_std() + Duration::from_secs_f64(warmup),
            );
            let mut add = |r: &RequestRecord| {
                if r.phase == Phase::Quality {
                    if let Some(a) = asking.as_mut() {
                        a.records.push(r.clone());
                    }
                    return;
                }
                let Some(class) = r.class else { return };
                if r.outcome == Outcome::Superseded || r.sent_unix_s < judged_from {
                    return;
                }
                if r.outcome.is_ok() {
                    output_tokens += r.output_tokens.unwrap_or(0);
                }
                let t = tallies.entry(class).or_default();
                t.stats
                    .get_or_insert_with(|| PhaseStats::new(Slo::default()))
                    .add(r);
                if good(r, class, &slo_of(class)) {
                    t.good += 1;
                }
            };
            let done = self
                .run_phase(
                    PhaseRun {
                        phase: Phase::Team,
                        total: 0,
                        parts,
                        settle,
                    },
                    watch,
                    &mut add,
                )
                .await?;
            energy.push(done.resources.energy_since(judged_from, watch.tel));
            drop(typing);
            measured_s += search.step_s;
            for (class, o) in &onoffs {
                let a = active.entry(*class).or_default();
                a.0 += o.active_mean(span).unwrap_or(0.0) * span.as_secs_f64();
                a.1 += span.as_secs_f64();
            }
            if self.ctx.cancel.is_cancelled() {
                break;
            }
            let short = classes.iter().any(|&c| {
                !tallies
                    .get(&c)
                    .and_then(|t| t.stats.as_ref())
                    .is_some_and(|s| ClassNumbers::of(c, &s.report()).judgeable())
            });
            let budget_spent = search
                .budget_s
                .is_some_and(|b| started.elapsed().as_secs_f64() + search.step_s > b);
            if let Some(a) = asking.as_ref()
                && a.left() > 0
                && budget_spent
            {
                self.note(format!(
                    "capacity step {k}: the budget is spent with {} of {} tasks asked beside the team: the rest are not paired",
                    a.records.len(),
                    a.prompts.len()
                ))?;
                break;
            } else if let Some(a) = asking.as_ref()
                && a.left() > 0
                && a.records.len() > asked_before
            {
                self.note(format!(
                    "capacity step {k}: {} of {} tasks asked: the team goes on for {:.0} s more",
                    a.records.len(),
                    a.prompts.len(),
                    search.step_s
                ))?;
                extensions += 1;
                continue;
            }
            if !short || extensions >= search.max_extensions {
                break;
            }
            extensions += 1;
            self.note(format!(
                "capacity step {k}: too few requests in a class to judge its 90th percentile: extended by {:.0} s ({extensions} of {})",
                search.step_s, search.max_extensions
            ))?;
        }
        let classes = classes
            .into_iter()
            .map(|class| {
                let t = tallies.remove(&class).unwrap_or_default();
                let report = t.stats.map(|s| s.report()).unwrap_or_default();
                let numbers = ClassNumbers::of(class, &report);
                let (checks, not_judged) = judge(class, &numbers, &slo_of(class));
                let (on, span) = active.get(&class).copied().unwrap_or_default();
                ClassVerdict {
                    class,
                    requests: numbers.requests,
                    failed: numbers.failed,
                    active_mean: (span > 0.0).then(|| on / span),
                    active_expected: f64::from(n) * dev.share(class),
                    ttft_p90_s: numbers.ttft_p90_s,
                    tpot_p90_s: numbers.tpot_p90_s,
                    goodput_rps: (measured_s > 0.0).then(|| t.good as f64 / measured_s),
                    checks,
                    not_judged,
                }
            })
            .collect();
        Ok(CapacityStep {
            developers: n,
            repeat,
            duration_s: measured_s,
            extensions,
            classes,
            met: false,
            margin: None,
            output_tok_s: (measured_s > 0.0).then(|| output_tokens as f64 / measured_s),
            energy: Energy::total(energy),
        }
        .conclude())
    }
}

/// The quality tasks asked beside the team at the capacity found: their prompts, and each
/// answer's record as it finished (a failed request included: a failed answer).
struct Asking {
    prompts: Vec<(crate::prompts::Prompt, crate::backend::GenParams)>,
    records: Vec<RequestRecord>,
}

impl Asking {
    /// Tasks not asked yet.
    fn left(&self) -> usize {
        self.prompts.len().saturating_sub(self.records.len())
    }

    /// The tasks not asked yet, in order.
    fn remaining(&self) -> Vec<(crate::prompts::Prompt, crate::backend::GenParams)> {
        let asked: std::collections::BTreeSet<&str> =
            self.records.iter().map(|r| r.prompt_id.as_str()).collect();
        self.prompts
            .iter()
            .filter(|(p, _)| !asked.contains(p.id.as_str()))
            .cloned()
            .collect()
    }

    /// What the report says of them (scored once the answers are graded).
    fn at_capacity(&self, n: u32, team: CapacityStep) -> QualityAtCapacity {
        let ok: Vec<&RequestRecord> = self.records.iter().filter(|r| r.outcome.is_ok()).collect();
        let tokens: Vec<f64> = ok
            .iter()
            .filter_map(|r| r.output_tokens)
            .map(|t| t as f64)
            .collect();
        QualityAtCapacity {
            developers: n,
            label: format!("team of {n} developer{}", if n == 1 { "" } else { "s" }),
            asked: self.records.len(),
            answered: ok.len(),
            output_tokens_mean: (!tokens.is_empty())
                .then(|| tokens.iter().sum::<f64>() / tokens.len() as f64),
            team,
            pass_at_1: None,
            pass_at_1_alone: None,
            p_value: None,
            significant: None,
            usd_per_correct_solution: None,
            not_priced: None,
        }
    }
}

/// The tasks asked one at a time from `from` on (the end of the step's warm-up).
struct AfterWarmup {
    asks: crate::load::driver::Asks,
    from: tokio::time::Instant,
}

impl crate::load::driver::Job for AfterWarmup {
    fn count(&self) -> Option<u64> {
        self.asks.count()
    }

    fn run<'a>(
        &'a self,
        ctx: &'a crate::load::driver::RequestCtx,
        call: crate::load::driver::Call,
        out: &'a crate::load::driver::Out,
    ) -> futures_util::future::BoxFuture<'a, ()> {
        Box::pin(async move {
            tokio::time::sleep_until(self.from).await;
            let at = call.at.max(self.from);
            self.asks
                .run(ctx, crate::load::driver::Call { at, ..call }, out)
                .await;
        })
    }
}

/// Whether a request met its class's objectives (for goodput).
fn good(r: &RequestRecord, class: Class, slo: &crate::report::capacity::ClassSlo) -> bool {
    if !r.outcome.is_ok() {
        return false;
    }
    let m = crate::metrics::RequestMetrics::of(r);
    let ttft = if class == Class::Autocomplete {
        m.ttft_from_schedule_s
    } else {
        m.ttft_s
    };
    let ttft_ok = slo.ttft_p90_s.is_none_or(|l| ttft.is_some_and(|t| t <= l));
    let tpot_ok = slo
        .tpot_p90_s
        .is_none_or(|l| m.tpot_s.is_none_or(|t| t <= l));
    ttft_ok && tpot_ok
}

/// A step's verdict in one line: met or not, and each judged class's worst check.
fn verdict_line(s: &CapacityStep) -> String {
    let classes: Vec<String> = s
        .classes
        .iter()
        .map(|c| {
            if c.not_judged {
                return format!("{} not judged ({} requests)", c.class, c.requests);
            }
            match c.checks.iter().max_by(|a, b| a.ratio.total_cmp(&b.ratio)) {
                Some(w) => format!(
                    "{} {} {:.3} / {:.3} {}",
                    c.class,
                    w.metric,
                    w.value,
                    w.limit,
                    if w.met() { "ok" } else { "BROKEN" }
                ),
                None => format!("{} no checks", c.class),
            }
        })
        .collect();
    let verdict = if s.margin.is_none() {
        "cannot be judged against"
    } else if s.met {
        "meet"
    } else {
        "do not meet"
    };
    format!(
        "capacity: {} developers {verdict} the SLOs ({})",
        s.developers,
        classes.join("; ")
    )
}
