//! What every phase of a target's run shares: the run context, why a phase stopped
//! ([`Abort`]), and the runner's limits. A leaf of the runner: its phases and its top level
//! both use it, and it uses neither.

use super::error::TargetError;
use crate::backend::GenParams;
use crate::plan::{Plan, TargetSpec};
use crate::prompts::Prompt;
use crate::report::GpuPhase;
use crate::telemetry::sampler::Telemetry;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long Ollama may take to drop a model after `keep_alive: 0`.
pub(super) const UNLOAD_WAIT: Duration = Duration::from_secs(60);
/// SIGTERM → SIGKILL grace for managed servers.
pub(super) const STOP_GRACE: Duration = Duration::from_secs(10);
/// Default spawn → ready limit for managed servers.
pub(super) const READY_TIMEOUT_S: f64 = 300.0;

/// Why a phase stopped early.
pub(super) enum Abort {
    /// The target failed.
    Target(TargetError),
    /// An observer (the journal) failed: the run stops.
    Io(std::io::Error),
    /// Ctrl-C or SIGTERM.
    Cancelled,
}

impl From<std::io::Error> for Abort {
    fn from(e: std::io::Error) -> Self {
        Abort::Io(e)
    }
}

/// Sweep steps when none are given: 1, 2, 4, … 1024, until saturation or an SLO break.
pub(super) const DEFAULT_SWEEP_MAX: u32 = 1024;
/// A default sweep stops when fewer than this share of requests meet the SLO.
pub(super) const SLO_BREAK_PASS_RATE: f64 = 0.9;

/// The run context of one target's phases.
pub(super) struct Ctx<'a> {
    pub plan: &'a Plan,
    pub prompts: Arc<[Prompt]>,
    pub out_dir: &'a Path,
    pub cancel: &'a CancellationToken,
    pub params: GenParams,
    pub telemetry: &'a Telemetry,
    pub gpu_baseline: Option<&'a GpuPhase>,
    pub grader: Option<&'a crate::eval::grade::Grader>,
    /// The run's prompt tags (`None` with `--allow-prompt-cache`).
    pub tags: Option<crate::prompts::PromptTags>,
    /// The attempt being measured (0: the plan's model, k: its k-th fallback).
    pub attempt: u32,
}

/// SIGTERM → SIGKILL grace of a target's server.
pub(super) fn stop_grace(spec: &TargetSpec) -> Duration {
    spec.stop_timeout_s
        .map_or(STOP_GRACE, Duration::from_secs_f64)
}
