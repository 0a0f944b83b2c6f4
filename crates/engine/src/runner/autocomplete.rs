//! The IDE-autocomplete phase: size the windows in the server's tokens, probe that it reads the
//! suffix, then let the simulated developers type ([`crate::load::typing`]) — each keystroke
//! after the debounce sends a fill-in-the-middle request, the next keystroke drops it — while
//! the server's running requests are sampled (`/slots` or a running-request gauge), so the time
//! it takes to stop an abandoned request and the tokens it generated for it can be told. Every
//! request is published and journalled as it ends; the phase's numbers come from
//! [`crate::report::autocomplete`].

use super::attempt::Attempt;
use super::ctx::Abort;
use super::error::TargetError;
use super::phase::{Part, PhaseRun};
use super::watch::Watch;
use crate::backend::{Client, GenParams};
use crate::fim::{Editor, llama_vscode};
use crate::fim::{Fim, Method};
use crate::load::driver::{Call, Fills, Job, Out, RequestCtx, Schedule, Step};
use crate::load::typing::{self, Keystroke, Planned, Typing};
use crate::plan::{Autocomplete, FimStop};
use crate::record::{Outcome, Phase, RequestRecord, TokenSource};
use crate::report::autocomplete::{
    AutocompleteReport, Cancel, CorpusInfo, DRAIN_S, FimWindows, InfillReport, InfillResult,
    SEED_TAG, SlotView, Stop, Stopping, SuffixProbe, Wasted, stopping, stops_from_running,
    stops_from_slots,
};
use crate::report::build::Window;
use crate::report::finding::{Finding, FindingCode};
use crate::server_metrics::{self, Role};
use crate::telemetry::now_unix_s;
use futures_util::future::BoxFuture;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

/// Characters of the corpus the windows are measured on.
const SIZING_CHARS: usize = 16_000;

/// See [`DRAIN_S`].
const DRAIN: Duration = Duration::from_secs(DRAIN_S);

/// vLLM's counter of generated tokens counts every token of aborted requests too (the others'
/// are not known to), so wasted work is read from it where it is served.
fn waste_counter() -> &'static str {
    server_metrics::VLLM
        .name_of(Role::Generated)
        .unwrap_or("vllm:generation_tokens_total")
}

/// Where the server's running requests are read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    /// llama.cpp `/slots`: per task, with the tokens decoded for it.
    Slots,
    /// A gauge in `/metrics`.
    Running(&'static str),
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Slots => "slots",
            Source::Running(_) => "running",
        }
    }
}

/// Readings of the server taken during the phase.
#[derive(Default)]
struct Readings {
    slots: Vec<(f64, Vec<SlotView>)>,
    running: Vec<(f64, f64)>,
}

/// What the client did, for attributing the server's readings.
#[derive(Default)]
struct ClientLog {
    /// `(t, +1)` at each send, `(t, −1)` at each end or drop.
    inflight: Vec<(f64, i64)>,
    /// Every request the client abandoned (superseded, or dropped at the end).
    cancels: Vec<Cancel>,
    /// Of those, the ones dropped unanswered at the end of the run.
    dropped_at_end: u64,
}

/// The developers as jobs: job `d` is developer `d` typing through their keystrokes, each
/// pause after the debounce sending a fill-in-the-middle request that the next keystroke drops.
pub(super) struct Typists {
    method: Method,
    params: GenParams,
    /// Every developer's keystrokes and planned requests, fixed by the seed up front.
    schedules: Vec<(Vec<Keystroke>, Vec<Planned>)>,
    /// How long they type.
    duration: Duration,
    log: Mutex<ClientLog>,
}

impl Job for Typists {
    fn count(&self) -> Option<u64> {
        Some(self.schedules.len() as u64)
    }

    /// Developers that come and go type from the keystroke scripts in turn.
    fn cycles(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, ctx: &'a RequestCtx, call: Call, out: &'a Out) -> BoxFuture<'a, ()> {
        Box::pin(developer(self, ctx, call, out))
    }
}

/// The autocomplete workload ready to run: the developers, what was measured before them, and
/// the reader of the server's running requests (started).
pub(super) struct TypingRun {
    pub job: Arc<Typists>,
    /// Requests the developers will send, for progress.
    pub planned: u64,
    /// What is known before anything is typed.
    facts: AutocompleteReport,
    source: Option<Source>,
    readings: Arc<Mutex<Readings>>,
    generated_before: Option<f64>,
    stop_sampling: CancellationToken,
    /// Stops the server reader if the run ends without settling (an error, a dropped phase).
    _stop_on_drop: tokio_util::sync::DropGuard,
    sampler: Option<tokio::task::JoinHandle<()>>,
    poll_s: f64,
    cancel: CancellationToken,
}

impl TypingRun {
    /// Once the developers stop: give the server time to let go of what it still runs, then
    /// stop reading it.
    pub fn settle(&mut self) -> BoxFuture<'static, ()> {
        let (source, readings, poll) = (self.source, self.readings.clone(), self.poll_s);
        let (stop, sampler, cancel) = (
            self.stop_sampling.clone(),
            self.sampler.take(),
            self.cancel.clone(),
        );
        Box::pin(async move {
            if source.is_some() {
                let until = Instant::now() + DRAIN;
                while Instant::now() < until && !cancel.is_cancelled() {
                    if idle(&readings) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_secs_f64(poll)).await;
                }
            }
            stop.cancel();
            if let Some(s) = sampler {
                let _ = s.await;
            }
        })
    }
}

impl Attempt<'_, '_> {
    /// Run the autocomplete workload and put its facts in the target's report.
    pub(super) async fn autocomplete(
        &mut self,
        ac: &Autocomplete,
        watch: &Watch<'_>,
    ) -> Result<(), Abort> {
        let mut typing = self
            .prepare_typing(ac, false, self.ctx.plan.settings.seed, watch)
            .await?;
        let mut completed_tokens = 0u64;
        let start = Instant::now();
        let run = PhaseRun {
            phase: Phase::Autocomplete,
            total: typing.planned,
            parts: vec![Part {
                ctx: Arc::new(self.request_ctx(Phase::Autocomplete)),
                job: typing.job.clone(),
                step: Step {
                    schedule: Schedule::Closed(ac.developers),
                    requests: None,
                    duration: None,
                },
            }],
            settle: Some(typing.settle()),
        };
        let done = self
            .run_phase(run, watch, &mut |rec| {
                if rec.outcome.is_ok() {
                    completed_tokens += rec.output_tokens.unwrap_or(0);
                }
            })
            .await?;
        let typed_s = done.duration().min(start.elapsed()).as_secs_f64();
        let window = done.resources.window(watch.tel);
        let method = typing.job.method;
        let mut facts = self
            .typing_facts(typing, completed_tokens, typed_s, &window)
            .await;
        if let (Some(inf), Some(grader)) = (&ac.infill, self.ctx.grader) {
            facts.infill = Some(self.infill(inf, method, grader, watch).await?);
        }
        self.workload = Some(crate::report::WorkloadReport::Autocomplete(facts));
        Ok(())
    }

    /// Everything before the developers type: size the windows in the server's tokens, probe
    /// that it reads the suffix, fix every developer's keystrokes by `seed`, and start reading
    /// the server's running requests.
    /// `shared`: other classes of a team mix run on the server at the same time, so only a
    /// per-request source (`/slots`, whose tasks carry each request's seed) can tell the
    /// developers' work from theirs: the running-request gauge and the generated-token counter
    /// count every class and are not read.
    pub(super) async fn prepare_typing(
        &mut self,
        ac: &Autocomplete,
        shared: bool,
        seed: u64,
        watch: &Watch<'_>,
    ) -> Result<TypingRun, Abort> {
        let fim_err = |m: String| Abort::Target(TargetError::Fim(m));
        let corpus = ac
            .corpus
            .clone()
            .ok_or_else(|| fim_err("the autocomplete corpus was not loaded".into()))?;
        let method = Method::choose(
            self.client.capabilities().traits.fim,
            &self.spec.model,
            ac.template,
        )
        .map_err(fim_err)?;
        let sample: String = corpus
            .files
            .iter()
            .flat_map(|(_, t)| t.chars())
            .take(SIZING_CHARS)
            .collect();
        let (cpt, measured_with) = self
            .client
            .chars_per_token(&sample)
            .await
            .map_err(|e| Abort::Target(e.into()))?;
        let t = Typing {
            prefix_chars: (f64::from(ac.prefix_tokens) * cpt).round() as usize,
            suffix_chars: (f64::from(ac.suffix_tokens) * cpt).round() as usize,
            ..ac.typing.clone()
        };
        self.note(format!(
            "autocomplete: {} developers for {:.0} s through {} files, {} (windows {} + {} tokens at {cpt:.2} characters per token by {measured_with})",
            ac.developers,
            ac.duration_s,
            corpus.files.len(),
            method.name(),
            ac.prefix_tokens,
            ac.suffix_tokens
        ))?;
        let params = match t.editor.unwrap_or_default() {
            Editor::Window => GenParams {
                max_tokens: ac.max_tokens,
                stop: ac.stop.stops(),
                ..self.ctx.params
            },
            // llama.vscode asks for 128 tokens and sets no stop strings.
            Editor::LlamaVscode => GenParams {
                max_tokens: llama_vscode::N_PREDICT,
                stop: &[],
                ..self.ctx.params
            },
        };
        let probe = self.suffix_probe(method, &params, watch).await?;
        if !probe.honoured {
            self.note(format!(
                "warning: the server answered the same with two different suffixes: it ignores the suffix ({})",
                method.name()
            ))?;
        }

        // Every developer's keystrokes and requests, fixed by the seed before anything is sent.
        let texts = corpus.texts();
        let duration = Duration::from_secs_f64(ac.duration_s);
        let debounce = Duration::from_secs_f64(t.debounce_s);
        let schedules: Vec<(Vec<Keystroke>, Vec<Planned>)> = (0..ac.developers)
            .map(|d| {
                let keys = typing::keystrokes(&texts, &t, seed, u64::from(d), duration);
                let plan = typing::plan(&keys, debounce);
                (keys, plan)
            })
            .collect();
        let keystrokes: usize = schedules.iter().map(|(k, _)| k.len()).sum();
        let planned: usize = schedules.iter().map(|(_, p)| p.len()).sum();

        // A server with no /metrics has no /slots either (Ollama): nothing to detect.
        let source = match self.client.capabilities().servers.is_empty() {
            true => None,
            false => detect(self.client)
                .await
                .filter(|s| !shared || *s == Source::Slots),
        };
        let counter = |m: &Option<std::collections::BTreeMap<&str, f64>>| {
            m.as_ref().and_then(|m| m.get(waste_counter()).copied())
        };
        let generated_before = match shared {
            true => None,
            false => counter(&self.client.metrics().await),
        };
        let readings = Arc::new(Mutex::new(Readings::default()));
        let stop_sampling = CancellationToken::new();
        let sampler = source.map(|s| {
            tokio::spawn(read_server(
                self.client.clone(),
                s,
                Duration::from_secs_f64(ac.poll_s),
                readings.clone(),
                stop_sampling.clone(),
            ))
        });

        let facts = AutocompleteReport {
            developers: ac.developers,
            duration_s: ac.duration_s,
            debounce_s: match t.editor.unwrap_or_default() {
                Editor::Window => t.debounce_s,
                Editor::LlamaVscode => 0.0,
            },
            editor: t.editor.unwrap_or_default().name().into(),
            fim_method: method.name(),
            windows: FimWindows {
                prefix_tokens: ac.prefix_tokens,
                suffix_tokens: ac.suffix_tokens,
                chars_per_token: cpt,
                measured_with: measured_with.into(),
            },
            max_tokens: params.max_tokens,
            stop: params.stop.iter().map(|s| s.to_string()).collect(),
            corpus: CorpusInfo {
                path: corpus.dir.display().to_string(),
                files: corpus.files.len(),
                chars: corpus.chars(),
            },
            suffix_probe: Some(probe),
            keystrokes: keystrokes as u64,
            ..Default::default()
        };
        Ok(TypingRun {
            job: Arc::new(Typists {
                method,
                params,
                schedules,
                duration,
                log: Mutex::new(ClientLog::default()),
            }),
            planned: planned as u64,
            facts,
            source,
            readings,
            generated_before,
            _stop_on_drop: stop_sampling.clone().drop_guard(),
            stop_sampling,
            sampler,
            poll_s: ac.poll_s,
            cancel: self.ctx.cancel.clone(),
        })
    }

    /// The workload's facts once the developers stopped and the server settled: how it
    /// stopped abandoned requests and the work it wasted on them.
    pub(super) async fn typing_facts(
        &mut self,
        typing: TypingRun,
        completed_tokens: u64,
        typed_s: f64,
        window: &Window,
    ) -> AutocompleteReport {
        let counter = |m: &Option<std::collections::BTreeMap<&str, f64>>| {
            m.as_ref().and_then(|m| m.get(waste_counter()).copied())
        };
        let generated_after = match typing.generated_before {
            Some(_) => counter(&self.client.metrics().await),
            None => None,
        };
        let log = std::mem::take(&mut *typing.job.log.lock().expect("client log"));
        let r = std::mem::take(&mut *typing.readings.lock().expect("readings"));
        let source = typing.source;
        let (stops, started_after_drop): (Vec<Stop>, _) = match source {
            Some(Source::Slots) => stops_from_slots(&log.cancels, &r.slots),
            Some(Source::Running(_)) => (
                stops_from_running(&log.cancels, &log.inflight, &r.running),
                None,
            ),
            None => (vec![Stop::Unknown; log.cancels.len()], None),
        };
        let wasted = wasted(
            source,
            &stops,
            typing.generated_before,
            generated_after,
            completed_tokens,
        );
        let mut facts = AutocompleteReport {
            duration_s: typed_s.min(typing.facts.duration_s),
            dropped_at_end: log.dropped_at_end,
            wasted,
            stopping: Stopping {
                started_after_drop,
                ..stopping(source.map(Source::name), typing.poll_s, &stops)
            },
            ..typing.facts
        };
        window.attach(&mut facts.shown);
        if let Some(p) = facts.suffix_probe.as_ref().filter(|p| !p.honoured) {
            facts
                .findings
                .push(Finding::new(FindingCode::SuffixIgnored).with(
                    "answer",
                    format!("{:?}", p.answers.first().map(String::as_str).unwrap_or("")),
                ));
        }
        facts
    }

    /// Ask every infilling task once, greedy, on the workload's FIM path, and grade each fill
    /// in the sandbox. Records are journalled as `quality`; a failed request is a failed task.
    async fn infill(
        &mut self,
        inf: &crate::plan::Infill,
        method: Method,
        grader: &crate::eval::grade::Grader,
        watch: &Watch<'_>,
    ) -> Result<InfillReport, Abort> {
        let (span, params) = match inf.span {
            // One line: stop at its end, and put the newline back.
            FimStop::Line => (
                "line",
                GenParams {
                    max_tokens: 64,
                    stop: FimStop::Line.stops(),
                    temperature: 0.0,
                    ..self.ctx.params
                },
            ),
            // A block: the model's own end of the middle ends it.
            FimStop::Block => (
                "block",
                GenParams {
                    max_tokens: 256,
                    stop: &[],
                    temperature: 0.0,
                    ..self.ctx.params
                },
            ),
        };
        self.note(format!(
            "autocomplete: HumanEval {span} infilling, {} tasks by {}",
            inf.tasks.len(),
            method.name()
        ))?;
        let fims = inf
            .tasks
            .iter()
            .map(|t| (t.fim.clone(), t.id.clone()))
            .collect();
        let recs = self
            .fills(Phase::Quality, fims, method, params, watch)
            .await?;
        let mut results = Vec::new();
        let mut failed = 0;
        for (t, rec) in inf.tasks.iter().zip(recs) {
            if !rec.outcome.is_ok() {
                failed += 1;
                results.push(InfillResult {
                    id: t.id.clone(),
                    passed: false,
                    exact: false,
                    error: Some(format!(
                        "{}: {}",
                        rec.outcome,
                        rec.error.as_deref().unwrap_or("")
                    )),
                });
                continue;
            }
            let fill = match inf.span {
                FimStop::Line => format!("{}\n", rec.text.trim_end_matches('\n')),
                FimStop::Block => rec.text.clone(),
            };
            let g = crate::eval::infill::grade(grader, t, &fill).await;
            let passed = g.verdict == crate::quality_record::Verdict::Pass;
            results.push(InfillResult {
                id: t.id.clone(),
                passed,
                exact: crate::eval::infill::exact_match(t, &fill),
                error: (!passed).then(|| g.reason.unwrap_or_else(|| "failed".into())),
            });
        }
        Ok(InfillReport::of(span, results, failed))
    }

    /// Fill `fims` one after another as a phase of `phase` (the phase runner publishes and
    /// journals each record); the records in order, or why the dialect cannot ask.
    async fn fills(
        &mut self,
        phase: Phase,
        fims: Vec<(Fim, String)>,
        method: Method,
        params: GenParams,
        watch: &Watch<'_>,
    ) -> Result<Vec<RequestRecord>, Abort> {
        let job = Arc::new(Fills {
            fims,
            method,
            params,
            refused: Mutex::new(Vec::new()),
        });
        let step = Step {
            schedule: Schedule::Closed(1),
            requests: None,
            duration: None,
        };
        let run = PhaseRun {
            phase,
            total: job.fims.len() as u64,
            parts: vec![Part {
                ctx: Arc::new(self.request_ctx(phase)),
                job: job.clone(),
                step,
            }],
            settle: None,
        };
        let mut recs = Vec::new();
        self.run_phase(run, watch, &mut |r| recs.push(r.clone()))
            .await?;
        if let Some(why) = job.refused.lock().expect("refused").first() {
            return Err(Abort::Target(TargetError::Fim(why.clone())));
        }
        if self.ctx.cancel.is_cancelled() {
            return Err(Abort::Cancelled);
        }
        Ok(recs)
    }

    /// Ask the same prefix with two suffixes that call for different fills; journalled as
    /// warm-up records. A request the server refuses (no FIM tokens, no template) fails the
    /// target with what to do.
    async fn suffix_probe(
        &mut self,
        method: Method,
        params: &GenParams,
        watch: &Watch<'_>,
    ) -> Result<SuffixProbe, Abort> {
        let prefix = "def greeting():\n    return \"";
        let suffixes = [
            "\"\n\n\nassert greeting() == \"good morning, Alice\"\n",
            "\"\n\n\nassert greeting() == \"see you next week, Bob\"\n",
        ];
        let fims = suffixes
            .iter()
            .map(|suffix| {
                let fim = Fim {
                    prefix: prefix.into(),
                    suffix: (*suffix).into(),
                    extra: Default::default(),
                    ..Default::default()
                };
                (fim, "suffix-probe".to_string())
            })
            .collect();
        let p = GenParams {
            max_tokens: 16,
            ..*params
        };
        let recs = self.fills(Phase::Warmup, fims, method, p, watch).await?;
        let mut answers = Vec::new();
        for rec in &recs {
            // A 4xx naming a field of the request (`body.stop`) is the request's fault, not the
            // model's inability.
            let detail = rec.error.as_deref().unwrap_or("");
            if matches!(rec.outcome, crate::record::Outcome::Http(400..=499))
                && detail.contains("body.")
            {
                return Err(Abort::Target(TargetError::Fim(format!(
                    "the server refused servebench's fill-in-the-middle request by {} as invalid ({}: {detail}): this is servebench's request, not the model — please report it",
                    method.name(),
                    rec.outcome
                ))));
            }
            if !rec.outcome.is_ok() {
                return Err(Abort::Target(TargetError::Fim(format!(
                    "model {} cannot fill in the middle by {} ({}: {}): serve a model with FIM tokens, or pass --fim-template NAME to send a raw prompt in its template",
                    self.spec.model,
                    method.name(),
                    rec.outcome,
                    rec.error.as_deref().unwrap_or("no detail")
                ))));
            }
            answers.push(rec.text.chars().take(80).collect::<String>());
        }
        if answers.len() < 2 {
            return Err(Abort::Cancelled);
        }
        Ok(SuffixProbe {
            honoured: answers[0] != answers[1],
            answers,
        })
    }
}

/// The source of running requests this server offers.
async fn detect(c: &Client) -> Option<Source> {
    if c.slots().await.is_some() {
        return Some(Source::Slots);
    }
    let m = c.metrics().await?;
    server_metrics::names(Role::Running)
        .find(|g| m.contains_key(g))
        .map(Source::Running)
}

/// Read the server every `every` until `stop`.
async fn read_server(
    c: Client,
    s: Source,
    every: Duration,
    out: Arc<Mutex<Readings>>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        match s {
            Source::Slots => {
                if let Some(v) = c.slots().await {
                    out.lock().expect("readings").slots.push((now_unix_s(), v));
                }
            }
            Source::Running(g) => {
                if let Some(v) = c.metrics().await.and_then(|m| m.get(g).copied()) {
                    out.lock()
                        .expect("readings")
                        .running
                        .push((now_unix_s(), v));
                }
            }
        }
    }
}

/// Whether the latest reading shows nothing running.
fn idle(r: &Mutex<Readings>) -> bool {
    let r = r.lock().expect("readings");
    let slots = r.slots.last().map(|(_, s)| s.iter().all(|x| !x.processing));
    let running = r.running.last().map(|(_, v)| *v < 0.5);
    slots.or(running).unwrap_or(false)
}

/// The wasted-work facts: vLLM's counter where it is served, else the abandoned tasks' tokens
/// from `/slots`, else what reached the client.
fn wasted(
    source: Option<Source>,
    stops: &[Stop],
    before: Option<f64>,
    after: Option<f64>,
    completed: u64,
) -> Wasted {
    if let (Some(b), Some(a)) = (before, after) {
        let generated = (a - b).max(0.0).round() as u64;
        return Wasted {
            source: "server_counter".into(),
            tokens: Some(generated.saturating_sub(completed)),
            generated_tokens: Some(generated),
            share: None,
            note: Some(format!(
                "{} rose by {generated} in the phase; {completed} of those tokens reached completed requests",
                waste_counter()
            )),
        };
    }
    if source == Some(Source::Slots) {
        let mut tokens = 0;
        let mut unattributed = 0;
        for s in stops {
            match s {
                Stop::After(_, Some(n)) | Stop::Never(Some(n)) => tokens += n,
                _ => unattributed += 1,
            }
        }
        return Wasted {
            source: "slots".into(),
            tokens: Some(tokens),
            generated_tokens: None,
            share: None,
            note: Some(format!(
                "each abandoned task's n_decoded when /slots last showed it (a lower bound by up to one reading interval of decoding); {unattributed} of {} abandoned requests were never seen running (discarded before a slot took them, or started and ended between two readings) and are not counted. Prompt processing is not in this number: the time to stop shows it. llama.cpp's tokens_predicted_total cannot tell this: it counts only requests that finish",
                stops.len()
            )),
        };
    }
    Wasted {
        source: "client_received".into(),
        tokens: None,
        generated_tokens: None,
        share: None,
        note: Some(
            "the server reports no tokens for abandoned requests (Ollama's eval_count arrives only with a finished stream): the number is what reached the client before it left, a lower bound".into(),
        ),
    }
}

/// One developer (job `call.index`, starting at `call.at`): send each planned request at its
/// time, drop it at the next keystroke (or when the last one is still unanswered [`DRAIN`]
/// after typing ended).
async fn developer(job: &Typists, ctx: &RequestCtx, call: Call, out: &Out) {
    if job.schedules.is_empty() {
        return;
    }
    let d = call.index % job.schedules.len() as u64;
    if job.schedules[d as usize]
        .0
        .first()
        .is_some_and(|k| k.fim.editor == Editor::LlamaVscode)
    {
        return llama_vscode_developer(job, ctx, call, out).await;
    }
    let d = call.index % job.schedules.len() as u64;
    let (keys, plan) = &job.schedules[d as usize];
    let start = call.at;
    let give_up = start + job.duration + DRAIN;
    for p in plan {
        // A developer who stops typing (the end of an on period) sends nothing after it.
        if call.end.is_some_and(|e| start + p.send_at >= e) {
            break;
        }
        tokio::select! {
            _ = sleep_until(start + p.send_at) => {}
            _ = ctx.cancel.cancelled() => return,
        }
        let key = &keys[p.key];
        let drop_it = ctx.cancel.child_token();
        let index = ctx.next_index();
        let tag = SEED_TAG + index;
        let params = GenParams {
            seed: tag,
            ..job.params
        };
        // Latency from the schedule is latency from the keystroke, debounce included.
        let meta = ctx.meta(index, start + key.at);
        let id = format!("dev{d}:key{}", p.key);
        job.log
            .lock()
            .expect("client log")
            .inflight
            .push((now_unix_s(), 1));
        let fill = ctx
            .client
            .fill(&key.fim, job.method, &id, &params, meta, &drop_it);
        tokio::pin!(fill);
        let superseded = p.superseded_at.is_some();
        let next_key = sleep_until(p.superseded_at.map_or(give_up, |s| start + s));
        let mut dropped = None;
        let rec = tokio::select! {
            r = &mut fill => r,
            _ = next_key => {
                dropped = Some(now_unix_s());
                drop_it.cancel();
                fill.await
            }
        };
        let Ok(mut rec) = rec else { return };
        let mut log = job.log.lock().expect("client log");
        match dropped {
            Some(at) if rec.outcome == Outcome::Cancelled && !ctx.cancel.is_cancelled() => {
                rec.output_tokens = Some(rec.chunk_arrivals.len() as u64);
                rec.token_source = Some(TokenSource::Chunks);
                // What the server does with it after the drop is measured either way.
                log.cancels.push(Cancel {
                    sent: rec.sent_unix_s,
                    at,
                    tag: Some(tag),
                });
                if superseded {
                    rec.outcome = Outcome::Superseded;
                    rec.error = Some("superseded by the next keystroke".into());
                } else {
                    log.dropped_at_end += 1;
                    rec.outcome = Outcome::Timeout;
                    rec.error = Some(format!(
                        "unanswered {} s after the developers stopped typing; dropped at the end of the run",
                        DRAIN.as_secs()
                    ));
                }
                log.inflight.push((at, -1));
            }
            _ => log
                .inflight
                .push((rec.sent_unix_s + rec.end.as_secs_f64(), -1)),
        }
        drop(log);
        if out.send(rec).is_err() {
            return;
        }
    }
}

/// One developer in llama.vscode: every keystroke asks for a completion at once unless one
/// is in flight; then the latest keystroke's request waits, checking every 150 ms, and is sent
/// when the one in flight has finished (an earlier waiting one is dropped unsent by the
/// editor). A sent request is never aborted: one answered after the next keystroke is recorded
/// as superseded (the editor no longer shows it) though the server did all its work.
async fn llama_vscode_developer(job: &Typists, ctx: &RequestCtx, call: Call, out: &Out) {
    let d = call.index % job.schedules.len() as u64;
    let keys = &job.schedules[d as usize].0;
    let start = call.at;
    let poll = Duration::from_secs_f64(llama_vscode::POLL_S);
    // The keystroke whose request goes next, and when it is sent.
    let mut next = keys.first().map(|k| (0usize, k.at));
    while let Some((i, send_at)) = next {
        if send_at >= job.duration || call.end.is_some_and(|e| start + send_at >= e) {
            break;
        }
        tokio::select! {
            _ = sleep_until(start + send_at) => {}
            _ = ctx.cancel.cancelled() => return,
        }
        let key = &keys[i];
        let index = ctx.next_index();
        let params = GenParams {
            seed: SEED_TAG + index,
            ..job.params
        };
        let meta = ctx.meta(index, start + key.at);
        let id = format!("dev{d}:key{i}");
        job.log
            .lock()
            .expect("client log")
            .inflight
            .push((now_unix_s(), 1));
        let never = ctx.cancel.child_token();
        let Ok(mut rec) = ctx
            .client
            .fill(&key.fim, job.method, &id, &params, meta, &never)
            .await
        else {
            return;
        };
        let done = tokio::time::Instant::now().saturating_duration_since(start);
        job.log
            .lock()
            .expect("client log")
            .inflight
            .push((rec.sent_unix_s + rec.end.as_secs_f64(), -1));
        // The keystrokes typed while it was in flight: the latest one's request waited.
        let latest = keys[i + 1..]
            .iter()
            .rposition(|k| k.at <= done)
            .map(|j| i + 1 + j);
        if latest.is_some() && rec.outcome.is_ok() {
            rec.outcome = Outcome::Superseded;
            rec.error = Some(
                "answered after the next keystroke: the editor no longer shows it (llama.vscode never aborts a sent request)".into(),
            );
        }
        next = match latest {
            Some(j) => {
                // Its next 150 ms check after the answer, unless a newer keystroke comes first
                // (that one finds nothing in flight and is sent at once).
                let waited = done.saturating_sub(keys[j].at);
                let checks = (waited.as_secs_f64() / poll.as_secs_f64()).ceil() as u32;
                let at = keys[j].at + poll * checks;
                match keys.get(j + 1) {
                    Some(k) if k.at < at => Some((j + 1, k.at)),
                    _ => Some((j, at)),
                }
            }
            None => keys[i + 1..]
                .iter()
                .position(|k| k.at > done)
                .map(|j| (i + 1 + j, keys[i + 1 + j].at)),
        };
        if out.send(rec).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasted_work_prefers_the_counter_then_slots_then_the_client() {
        let w = wasted(Some(Source::Slots), &[], Some(100.0), Some(160.0), 40);
        assert_eq!(
            (w.source.as_str(), w.tokens, w.generated_tokens),
            ("server_counter", Some(20), Some(60))
        );
        let stops = [
            Stop::After(0.1, Some(7)),
            Stop::Never(Some(5)),
            Stop::Unknown,
        ];
        let w = wasted(Some(Source::Slots), &stops, None, None, 40);
        assert_eq!((w.source.as_str(), w.tokens), ("slots", Some(12)));
        assert!(w.note.unwrap().contains("1 of 3"));
        let w = wasted(None, &stops, None, None, 40);
        assert_eq!((w.source.as_str(), w.tokens), ("client_received", None));
    }
}
