//! One attempt at a target: what it talks to, the run context, and the state its phases fill.
//! A leaf of the runner: the attempt's sequence ([`super::measure`]), the phase runner
//! ([`super::phase`]) and the workloads add methods to it; it uses none of them.

use super::ctx::{Abort, Ctx};
use crate::backend::Client;
use crate::events::{Event, Observer};
use crate::plan::TargetSpec;
use crate::report::TargetReport;
use crate::report::build::{Builder, Who};
use crate::server::ManagedServer;
use crate::telemetry::prometheus::CacheConfig;

/// One attempt at a target: what it talks to, the run context, and the state its phases fill.
/// [`measure`] runs its phases in order: launch, identify, prompts, cold, warm, load, quality.
pub(super) struct Attempt<'a, 'o> {
    pub(super) spec: &'a TargetSpec,
    pub(super) client: &'a Client,
    pub(super) ctx: Ctx<'a>,
    pub(super) obs: &'o mut dyn Observer,
    pub(super) t: &'a mut TargetReport,
    /// This attempt's records and graded answers: every statistic of `t` comes from it.
    pub(super) built: Builder,
    pub(super) server: &'a mut Option<ManagedServer>,
    /// The managed server's log file name.
    pub(super) log_name: &'a str,
    /// Spawn → ready of each launch, s.
    pub(super) launches: Vec<f64>,
    /// vLLM's KV-cache configuration, from its `/metrics`.
    pub(super) cache: Option<CacheConfig>,
    /// What the run's workload found besides its records (its settings, the server's
    /// readings), handed over by the workload as its own type; the report is built from it and
    /// the records.
    pub(super) workload: Option<crate::report::WorkloadReport>,
    /// The quality tasks' answers asked beside the team at the capacity found, graded with
    /// the quality evaluation that follows.
    pub(super) answered_at_capacity: Option<crate::eval::AnsweredUnderLoad>,
}

impl Attempt<'_, '_> {
    /// This attempt, as the builder keys its records.
    pub(super) fn who(&self) -> Who<'_> {
        Who {
            target: &self.spec.name,
            attempt: self.ctx.attempt,
        }
    }

    pub(super) fn note(&mut self, message: String) -> Result<(), Abort> {
        Ok(self.obs.on_event(&Event::Note {
            target: &self.spec.name,
            message,
        })?)
    }
}
