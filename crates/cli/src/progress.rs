//! Progress display: a bar per phase on a terminal, plain lines otherwise (CI logs, pipes).

use indicatif::{ProgressBar, ProgressStyle};
use servebench_engine::backend::in_flight::InFlight;
use servebench_engine::events::{Event, Observer};
use servebench_engine::metrics::RequestMetrics;
use servebench_engine::record::{Outcome, RequestRecord};
use servebench_engine::report::capacity::ClassSlos;
use servebench_engine::spec::Class;
use servebench_engine::stats::Summary;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Plain output says a phase is still alive when nothing finished for this long.
const QUIET: Duration = Duration::from_secs(10);

/// What the heartbeat knows: the phase under way and when a line was last printed.
#[derive(Default)]
struct Beat {
    /// `[target] phase` while a phase runs.
    phase: Option<String>,
    since: Option<Instant>,
    last: Option<Instant>,
}

/// A thread that, in plain output, prints "still running" when a phase has been quiet for
/// [`QUIET`] (a long request in flight shows that it is alive). Stops when dropped.
struct Heartbeat {
    beat: Arc<Mutex<Beat>>,
    stop: Arc<AtomicBool>,
}

impl Heartbeat {
    fn start() -> Heartbeat {
        let beat = Arc::new(Mutex::new(Beat::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (beat.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                let Ok(mut g) = b.lock() else { return };
                let (Some(phase), Some(since), Some(last)) = (g.phase.clone(), g.since, g.last)
                else {
                    continue;
                };
                if last.elapsed() >= QUIET {
                    eprintln!(
                        "{phase}: still running, {:.0} s into the phase, {:.0} s since the last line",
                        since.elapsed().as_secs_f64(),
                        last.elapsed().as_secs_f64()
                    );
                    g.last = Some(Instant::now());
                }
            }
        });
        Heartbeat { beat, stop }
    }

    fn set(&self, phase: Option<String>) {
        if let Ok(mut g) = self.beat.lock() {
            let now = Instant::now();
            g.since = phase.as_ref().map(|_| now);
            g.phase = phase;
            g.last = Some(now);
        }
    }

    fn printed(&self) {
        if let Ok(mut g) = self.beat.lock() {
            g.last = Some(Instant::now());
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The capacity search's live view: the step under way, and what each class has seen in it
/// against its objective (from the requests as they finish).
struct Live {
    target: String,
    step: u32,
    developers: u32,
    active: Vec<(Class, f64)>,
    started: Instant,
    span_s: f64,
    slo: ClassSlos,
    search_started: Instant,
    budget_s: Option<f64>,
    /// Per class: first-token times (from the keystroke for autocomplete), and failures.
    seen: BTreeMap<Class, (Vec<f64>, u64)>,
    /// The target's requests in flight, per class.
    in_flight: Arc<InFlight>,
    shown: Option<Instant>,
}

/// How often plain output prints the live view.
const LIVE_EVERY: Duration = Duration::from_secs(5);

fn mmss(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    format!("{}m{:02}s", s / 60, s % 60)
}

impl Live {
    fn add(&mut self, r: &RequestRecord) {
        let (Some(class), true) = (r.class, r.step == Some(self.step)) else {
            return;
        };
        if r.outcome == Outcome::Superseded {
            return;
        }
        let e = self.seen.entry(class).or_default();
        if !r.outcome.is_ok() {
            e.1 += 1;
            return;
        }
        let m = RequestMetrics::of(r);
        let t = if class == Class::Autocomplete {
            m.ttft_from_schedule_s
        } else {
            m.ttft_s
        };
        e.0.extend(t);
    }

    /// `[t] capacity step 3, 4 developers: 12 s of 24 left | search 3m05s, 6m55s left |
    /// autocomplete (2.0 active, 1 in flight) 31 answered, TTFT p90 0.42 s / 3.0 ok | chat …`.
    fn line(&self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let search = self.search_started.elapsed().as_secs_f64();
        let mut out = format!(
            "[{}] capacity step {}, {} developer{}: {} left of {} | search {}{}",
            self.target,
            self.step,
            self.developers,
            if self.developers == 1 { "" } else { "s" },
            mmss(self.span_s - elapsed),
            mmss(self.span_s),
            mmss(search),
            self.budget_s
                .map_or(String::new(), |b| format!(", {} left", mmss(b - search)))
        );
        for (class, active) in &self.active {
            let (times, failed) = self.seen.get(class).cloned().unwrap_or_default();
            let limit = self.slo.of(*class).ttft_p90_s;
            let p90 = Summary::of(times.iter().copied()).p90;
            let verdict = match (p90, limit) {
                (Some(p), Some(l)) if times.len() >= 10 => {
                    if p <= l {
                        "ok"
                    } else {
                        "OVER"
                    }
                }
                _ => "too few to judge",
            };
            out.push_str(&format!(
                " | {class} ({active:.1} active, {} in flight) {} answered{}, TTFT p90 {} / {} {verdict}",
                self.in_flight.of(Some(*class)),
                times.len(),
                if failed > 0 {
                    format!(", {failed} failed")
                } else {
                    String::new()
                },
                p90.map_or("—".into(), |p| format!("{p:.2} s")),
                limit.map_or("—".into(), |l| format!("{l} s")),
            ));
        }
        out
    }
}

/// Observer that shows progress on stderr.
pub struct Progress {
    /// The capacity search's step under way.
    live: Option<Live>,
    tty: bool,
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
    failed: u64,
    last_line: Option<std::time::Instant>,
    verbose: bool,
    /// Cold loads per target (`--cold N`), and the one under way.
    cold_loads: u32,
    cold_k: u32,
    /// What the current phase is called in lines: `warm`, `cold load 2/3`, `sweep step 1`.
    label: String,
    /// Plain output only (a bar ticks on its own).
    heartbeat: Option<Heartbeat>,
}

impl Progress {
    /// Progress on stderr; `verbose` prints every request as a line (no bar, no thinning).
    /// `cold_loads` is the run's `--cold N`.
    pub fn new(verbose: bool, cold_loads: u32) -> Progress {
        let tty = std::io::stderr().is_terminal() && !verbose;
        Progress {
            live: None,
            heartbeat: (!tty).then(Heartbeat::start),
            cold_loads,
            cold_k: 0,
            label: String::new(),
            verbose,
            tty,
            bar: None,
            total: 0,
            done: 0,
            failed: 0,
            last_line: None,
        }
    }

    fn line(&self, s: String) {
        match &self.bar {
            Some(b) => b.println(s),
            None => eprintln!("{s}"),
        }
        self.printed();
    }

    fn printed(&self) {
        if let Some(h) = &self.heartbeat {
            h.printed();
        }
    }
}

impl Observer for Progress {
    fn on_event(&mut self, e: &Event<'_>) -> std::io::Result<()> {
        match e {
            Event::TargetStarted { target } => {
                self.cold_k = 0;
                self.line(format!("[{target}] starting"))
            }
            Event::Note { target, message } => self.line(format!("[{target}] {message}")),
            Event::PhaseStarted {
                target,
                phase,
                total,
            } => {
                self.total = *total;
                self.done = 0;
                self.failed = 0;
                self.label = match phase {
                    servebench_engine::record::Phase::Cold => {
                        self.cold_k += 1;
                        format!("cold load {}/{}", self.cold_k, self.cold_loads.max(1))
                    }
                    p => p.to_string(),
                };
                if let Some(h) = &self.heartbeat {
                    h.set(Some(format!("[{target}] {}", self.label)));
                }
                if self.tty {
                    // A duration-bounded step has no known total: count instead of a bar.
                    let (bar, template) = match *total {
                        0 => (
                            ProgressBar::new_spinner(),
                            "{prefix} {spinner} {pos} requests {msg}",
                        ),
                        n => (
                            ProgressBar::new(n),
                            "{prefix} [{bar:30}] {pos}/{len} {elapsed} {msg}",
                        ),
                    };
                    bar.set_style(
                        ProgressStyle::with_template(template)
                            .expect("static template")
                            .progress_chars("=> "),
                    );
                    bar.set_prefix(format!("[{target}] {}", self.label));
                    // Ticks on its own, so a long request in flight shows the time passing.
                    bar.enable_steady_tick(std::time::Duration::from_secs(1));
                    self.bar = Some(bar);
                }
            }
            Event::CapacityStep {
                target,
                step,
                developers,
                active,
                span_s,
                slo,
                search_s,
                budget_s,
                in_flight,
            } => {
                self.live = Some(Live {
                    target: target.to_string(),
                    step: *step,
                    developers: *developers,
                    active: active.clone(),
                    started: Instant::now(),
                    span_s: *span_s,
                    slo: **slo,
                    search_started: Instant::now() - Duration::from_secs_f64(*search_s),
                    budget_s: *budget_s,
                    seen: BTreeMap::new(),
                    in_flight: in_flight.clone(),
                    shown: None,
                });
            }
            Event::RequestFinished(r) if self.live.is_some() && r.class.is_some() => {
                // A capacity step: the live view instead of a line per request.
                let Some(live) = self.live.as_mut() else {
                    return Ok(());
                };
                live.add(r);
                let failed = !r.outcome.is_ok() && r.outcome != Outcome::Superseded;
                match &self.bar {
                    Some(b) => {
                        b.inc(1);
                        b.set_message(live.line());
                    }
                    None => {
                        let due = live.shown.is_none_or(|t| t.elapsed() >= LIVE_EVERY);
                        if failed {
                            eprintln!(
                                "[{}] capacity step {} request FAILED {}: {}",
                                r.target,
                                live.step,
                                r.outcome,
                                r.error.as_deref().unwrap_or("")
                            );
                        }
                        if due || self.verbose {
                            eprintln!("{}", live.line());
                            live.shown = Some(Instant::now());
                        }
                        self.printed();
                    }
                }
            }
            Event::RequestFinished(r) => {
                self.done += 1;
                let m = RequestMetrics::of(r);
                let detail = if r.outcome.is_ok() {
                    format!(
                        "ok ttft {:.3} s, e2e {:.3} s, {} tokens, {:.1} tok/s",
                        m.ttft_s.unwrap_or(f64::NAN),
                        m.e2e_s.unwrap_or(f64::NAN),
                        r.output_tokens.unwrap_or(0),
                        m.e2e_tok_s.unwrap_or(f64::NAN)
                    )
                } else if r.outcome == Outcome::Superseded {
                    // The developer typed on: the editor's doing, not the server's failure.
                    format!(
                        "superseded after {:.3} s, {} tokens received",
                        r.end.as_secs_f64(),
                        r.chunk_arrivals.len()
                    )
                } else {
                    self.failed += 1;
                    format!("FAILED {}: {}", r.outcome, r.error.as_deref().unwrap_or(""))
                };
                match &self.bar {
                    Some(b) => {
                        b.inc(1);
                        b.set_message(detail);
                    }
                    None => {
                        // Plain lines: every failure, the last request, else one a second.
                        let due = self
                            .last_line
                            .is_none_or(|t| t.elapsed().as_secs_f64() >= 1.0);
                        // A superseded request is the editor's doing: thinned like a success.
                        let failed = !r.outcome.is_ok() && r.outcome != Outcome::Superseded;
                        if self.verbose || failed || self.done == self.total || due {
                            let total = if self.total == 0 {
                                "?".to_string()
                            } else {
                                self.total.to_string()
                            };
                            let phase = match r.step {
                                Some(k) => format!("{} step {k}", self.label),
                                None => self.label.clone(),
                            };
                            eprintln!("[{}] {phase} {}/{total} {detail}", r.target, self.done);
                            self.last_line = Some(std::time::Instant::now());
                            self.printed();
                        }
                    }
                }
            }
            Event::PhaseFinished { target, phase } => {
                if let Some(h) = &self.heartbeat {
                    h.set(None);
                }
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                    eprintln!(
                        "[{target}] {phase}: {} requests, {} failed",
                        b.position(),
                        self.failed
                    );
                }
            }
            Event::TaskGraded(r) => {
                let g = &r.graded;
                let what = match &r.judge {
                    Some(j) => format!(
                        "judged {}: {}",
                        r.task_id,
                        j.score.map_or("no [[score]]".into(), |s| format!("{s}"))
                    ),
                    None => format!(
                        "graded {}{}: {:?} (accuracy {:.2}){}",
                        r.task_id,
                        if r.rerun { " (rerun)" } else { "" },
                        g.verdict,
                        g.accuracy,
                        // The reason may quote the answer: escaped, so it cannot forge lines.
                        g.reason.as_deref().map_or(String::new(), |x| format!(
                            " — {}",
                            servebench_core::text::escape_controls(x)
                        ))
                    ),
                };
                match &self.bar {
                    Some(b) => b.set_message(what),
                    None => eprintln!("[{}] {what}", r.target),
                }
                self.printed();
            }
            Event::TargetFinished(t) => {
                self.live = None;
                // The error itself is printed once, when the run ends.
                let status = if t.error.is_some() { "failed" } else { "done" };
                self.line(format!("[{}] {status}", t.name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_line_shows_each_class_in_flight_and_its_objective() {
        let in_flight = Arc::new(InFlight::default());
        let held: Vec<_> = (0..3).map(|_| in_flight.enter(Some(Class::Chat))).collect();
        let _typing = in_flight.enter(Some(Class::Autocomplete));
        let mut live = Live {
            target: "vllm".into(),
            step: 3,
            developers: 4,
            active: vec![(Class::Autocomplete, 1.2), (Class::Chat, 0.4)],
            started: Instant::now(),
            span_s: 34.0,
            slo: ClassSlos::default(),
            search_started: Instant::now(),
            budget_s: Some(600.0),
            seen: BTreeMap::new(),
            in_flight: in_flight.clone(),
            shown: None,
        };
        live.seen.insert(Class::Chat, (vec![0.5; 12], 1));
        let line = live.line();
        assert!(
            line.starts_with("[vllm] capacity step 3, 4 developers: 0m34s left of 0m34s")
                && line.contains("autocomplete (1.2 active, 1 in flight) 0 answered")
                && line.contains(
                    "chat (0.4 active, 3 in flight) 12 answered, 1 failed, TTFT p90 0.50 s / 2 s ok"
                ),
            "{line}"
        );
        drop(held);
        assert!(live.line().contains("chat (0.4 active, 0 in flight)"));
    }
}
