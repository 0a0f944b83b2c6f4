//! servebench's pure core: the value types every layer shares ([`spec`]), the records a run
//! journals ([`record`], [`quality_record`]), statistics ([`stats`]), per-request metrics
//! ([`metrics`]), and the report model with its comparison and exporters ([`report`]).
//!
//! Nothing here does I/O on the network or runs a runtime: this crate depends on no tokio,
//! reqwest, hyper or clap (`cargo tree -p servebench-core` shows it), so a report can be built,
//! compared and rendered anywhere.

pub mod metrics;
pub mod quality_record;
pub mod record;
pub mod report;
pub mod schema;
pub mod server_metrics;
pub mod spec;
pub mod stats;
pub mod text;
