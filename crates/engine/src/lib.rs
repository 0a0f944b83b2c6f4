//! servebench's engine: the plan, the API dialects, the load driver, prompts, managed servers,
//! telemetry, quality evaluation and its sandbox, the runner, the journals, and reading
//! finished runs back. The pure model it fills and renders is [`servebench_core`], re-exported
//! here under its module names.
//!
//! Data flows one way: a [`plan::Plan`] names targets; the [`runner`] drives each through its
//! phases with a [`backend::Client`], producing [`record::RequestRecord`]s; the pure
//! [`report`] builder summarises them ([`stats`], [`metrics`]) into the report, whose
//! documents the exporters write as Markdown and HTML (and the model as JSON).

pub use servebench_core::{metrics, quality_record, record, report, server_metrics, spec, stats};

pub mod backend;
pub mod eval;
pub mod events;
pub mod fim;
pub mod journal;
pub mod load;
pub mod modelfile;
pub mod plan;
pub mod prompts;
pub mod rundir;
pub mod runner;
pub mod runs;
pub mod server;
pub mod store;
pub mod telemetry;
