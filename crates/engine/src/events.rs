//! What the engine tells the outside while it runs. The progress display and the journal
//! subscribe as [`Observer`]s; the engine itself never prints.

use crate::record::{Phase, RequestRecord};
use crate::report::TargetReport;

/// Something that happened during a run.
#[derive(Debug)]
pub enum Event<'a> {
    /// Work on a target begins.
    TargetStarted {
        /// Target name.
        target: &'a str,
    },
    /// A step that is not a measured request (launching, unloading, probing).
    Note {
        /// Target name.
        target: &'a str,
        /// What is happening.
        message: String,
    },
    /// A phase begins with `total` requests.
    PhaseStarted {
        /// Target name.
        target: &'a str,
        /// Phase.
        phase: Phase,
        /// Requests planned.
        total: u64,
    },
    /// A request finished (successfully or not).
    RequestFinished(&'a RequestRecord),
    /// A phase ended.
    PhaseFinished {
        /// Target name.
        target: &'a str,
        /// Phase.
        phase: Phase,
    },
    /// A capacity step begins (or is extended): what the live view shows beside the requests.
    CapacityStep {
        /// Target name.
        target: &'a str,
        /// The step's number (the records' `step`).
        step: u32,
        /// Team size.
        developers: u32,
        /// Developers expected active per class (team size × share).
        active: Vec<(crate::spec::Class, f64)>,
        /// How long this run of the step lasts (warm-up included), s.
        span_s: f64,
        /// What each class is held to.
        slo: &'a crate::report::capacity::ClassSlos,
        /// Seconds the search has run so far.
        search_s: f64,
        /// The search's time budget, s.
        budget_s: Option<f64>,
        /// The target's requests in flight, per class, as they change.
        in_flight: std::sync::Arc<crate::backend::in_flight::InFlight>,
    },
    /// A quality answer was graded (and, later, judged).
    TaskGraded(&'a crate::quality_record::TaskResult),
    /// A target is done; its report is final.
    TargetFinished(&'a TargetReport),
}

/// A subscriber to run events. An error aborts the run (e.g. the journal cannot be written).
pub trait Observer {
    /// Handle one event.
    fn on_event(&mut self, event: &Event<'_>) -> std::io::Result<()>;
}

impl Observer for Vec<Box<dyn Observer + Send>> {
    fn on_event(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        self.iter_mut().try_for_each(|o| o.on_event(event))
    }
}
