//! The team mix (`--workload team`): several kinds of work — developers typing with
//! autocomplete, chat sessions, agent sessions, the prompt set — sent at once against one
//! server for one phase. Every record carries its [`Class`]; the report has each class's own
//! numbers (its requests' latencies, and for autocomplete and sessions their workload's whole
//! report) beside the mixed phase as the server saw it (running, waiting, KV cache over the
//! phase).

use super::autocomplete::{AutocompleteReport, AutocompleteStats};
use super::phase::{PhaseReport, PhaseStats};
use super::sessions::{SessionsReport, SessionsStats};
use crate::record::{Outcome, RequestRecord};
use crate::spec::{Class, Slo};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many of one class ran at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClassMix {
    /// The kind of work.
    pub class: Class,
    /// Developers typing (autocomplete), sessions at once (chat, agent) or closed-loop streams
    /// (prompts).
    pub count: u32,
}

/// One class's requests over the mixed phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClassReport {
    /// The kind of work.
    pub class: Option<Class>,
    /// Its requests' statistics: every request whose answer was waited for (autocomplete:
    /// not the ones dropped at the next keystroke, counted in `superseded`).
    pub phase: PhaseReport,
    /// Autocomplete requests dropped at the next keystroke (the editor's doing, not a failure).
    #[serde(default)]
    pub superseded: u64,
    /// Requests sent (superseded ones included) per second of the phase.
    pub request_rate_rps: Option<f64>,
}

/// The team mix of one target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TeamReport {
    /// What ran at once, in report order.
    pub mix: Vec<ClassMix>,
    /// Phase start → last request end, s.
    pub duration_s: f64,
    /// Every class's requests, side by side, in the order of `mix`.
    pub classes: Vec<ClassReport>,
    /// Every request of the phase together, with the phase's telemetry: the server's running
    /// and waiting requests and KV-cache use are in its `server_metrics`.
    pub phase: PhaseReport,
    /// The autocomplete class as its workload reports it (sent, completed, cancelled, wasted
    /// tokens, time to stop).
    pub autocomplete: Option<AutocompleteReport>,
    /// The chat class as the sessions workload reports it (per-turn cache reuse, findings).
    pub chat: Option<SessionsReport>,
    /// The agent class as the sessions workload reports it.
    pub agent: Option<SessionsReport>,
}

impl TeamReport {
    /// How many of `class` ran (0: none).
    pub fn count(&self, class: Class) -> u32 {
        self.mix
            .iter()
            .find(|m| m.class == class)
            .map_or(0, |m| m.count)
    }

    /// The mix in words: `autocomplete 4, chat 2, agent 1`.
    pub fn describe(&self) -> String {
        self.mix
            .iter()
            .map(|m| format!("{} {}", m.class, m.count))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The team records of one attempt, accumulated one at a time.
#[derive(Debug, Clone)]
pub struct TeamStats {
    all: PhaseStats,
    classes: BTreeMap<Class, PhaseStats>,
    superseded: BTreeMap<Class, u64>,
    autocomplete: AutocompleteStats,
    chat: SessionsStats,
    agent: SessionsStats,
    slo: Slo,
}

impl TeamStats {
    /// Empty, judging goodput against `slo`.
    pub fn new(slo: Slo) -> TeamStats {
        TeamStats {
            all: PhaseStats::new(slo),
            classes: BTreeMap::new(),
            superseded: BTreeMap::new(),
            autocomplete: AutocompleteStats::default(),
            chat: SessionsStats::default(),
            agent: SessionsStats::default(),
            slo,
        }
    }

    /// Add one finished request of the mix.
    pub fn add(&mut self, r: &RequestRecord) {
        let Some(class) = r.class else {
            return;
        };
        if r.outcome == Outcome::Superseded {
            *self.superseded.entry(class).or_default() += 1;
        } else {
            self.all.add(r);
            self.classes
                .entry(class)
                .or_insert_with(|| PhaseStats::new(self.slo))
                .add(r);
        }
        match class {
            Class::Autocomplete => self.autocomplete.add(r),
            Class::Chat => self.chat.add(r),
            Class::Agent => self.agent.add(r),
            Class::Prompts => {}
        }
    }

    /// `facts` (what the run knew: the mix, its duration, the phase's telemetry and each
    /// workload's server facts) with every record-derived number filled in.
    pub fn report(&self, facts: &TeamReport) -> TeamReport {
        let d = facts.duration_s;
        let classes = facts
            .mix
            .iter()
            .map(|m| {
                let phase = self
                    .classes
                    .get(&m.class)
                    .map(PhaseStats::report)
                    .unwrap_or_default();
                let superseded = self.superseded.get(&m.class).copied().unwrap_or(0);
                ClassReport {
                    class: Some(m.class),
                    request_rate_rps: (d > 0.0).then(|| (phase.requests + superseded) as f64 / d),
                    superseded,
                    phase,
                }
            })
            .collect();
        let mut phase = self.all.report();
        phase.gpu = facts.phase.gpu.clone();
        phase.server_process = facts.phase.server_process.clone();
        phase.server_metrics = facts.phase.server_metrics.clone();
        TeamReport {
            classes,
            phase,
            autocomplete: facts
                .autocomplete
                .as_ref()
                .map(|f| self.autocomplete.report(f)),
            chat: facts.chat.as_ref().map(|f| self.chat.report(f)),
            agent: facts.agent.as_ref().map(|f| self.agent.report(f)),
            ..facts.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Phase, SessionTurn};
    use std::time::Duration;

    fn rec(class: Class, i: u64, ms: u64) -> RequestRecord {
        RequestRecord {
            class: Some(class),
            session: matches!(class, Class::Chat | Class::Agent).then_some(SessionTurn {
                session: i,
                turn: 1,
            }),
            ..RequestRecord::streamed(
                "t",
                Phase::Team,
                i,
                vec![Duration::from_millis(ms), Duration::from_millis(ms + 10)],
            )
        }
    }

    #[test]
    fn each_class_counts_its_own_records_and_the_phase_counts_them_all() {
        let mut s = TeamStats::new(Slo::default());
        for i in 0..5 {
            s.add(&rec(Class::Autocomplete, i, 50));
        }
        s.add(&RequestRecord {
            outcome: Outcome::Superseded,
            ..rec(Class::Autocomplete, 5, 50)
        });
        for i in 0..3 {
            s.add(&rec(Class::Chat, i, 400));
        }
        s.add(&rec(Class::Prompts, 0, 300));
        // A record of no class is not the mix's.
        s.add(&RequestRecord::streamed("t", Phase::Warm, 0, vec![]));
        let facts = TeamReport {
            mix: vec![
                ClassMix {
                    class: Class::Autocomplete,
                    count: 2,
                },
                ClassMix {
                    class: Class::Chat,
                    count: 1,
                },
                ClassMix {
                    class: Class::Prompts,
                    count: 1,
                },
            ],
            duration_s: 2.0,
            autocomplete: Some(AutocompleteReport::default()),
            chat: Some(SessionsReport::default()),
            ..Default::default()
        };
        let r = s.report(&facts);
        let counts: Vec<(u64, u64)> = r
            .classes
            .iter()
            .map(|c| (c.phase.requests, c.phase.ok))
            .collect();
        assert_eq!(counts, [(5, 5), (3, 3), (1, 1)]);
        assert_eq!(r.classes[0].superseded, 1);
        assert_eq!(r.phase.requests, 9);
        assert_eq!(r.classes[0].request_rate_rps, Some(3.0));
        assert!((r.classes[1].phase.ttft_s.p50.unwrap() - 0.4).abs() < 1e-9);
        let a = r.autocomplete.as_ref().unwrap();
        assert_eq!((a.sent, a.cancelled), (6, 1));
        assert_eq!(r.chat.as_ref().unwrap().turns.requests, 3);
        assert_eq!(r.agent, None);
        assert_eq!(r.count(Class::Chat), 1);
        assert_eq!(r.count(Class::Agent), 0);
    }
}
