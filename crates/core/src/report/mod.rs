//! The report: a pure model ([`model`]) built from request records by one builder ([`build`]);
//! the comparison ([`compare`]); and the documents a report or comparison says
//! ([`report_doc`], [`compare_doc`], built once in the chosen language over [`document`]), each
//! written by one exporter per markup ([`markdown`], [`html`]). The JSON ([`json`]) and CSV
//! ([`csv_out`]) exports serialise the model and the records. Exporters never compute
//! statistics or choose what to say.

pub mod autocomplete;
pub mod autocomplete_doc;
pub mod build;
pub mod capacity;
pub mod capacity_doc;
pub mod capacity_quality;
pub mod capacity_report;
pub mod charts;
pub mod compare;
pub mod compare_caveats;
pub mod compare_doc;
pub mod compare_load;
pub mod compare_load_doc;
pub mod compare_load_model;
#[cfg(test)]
mod compare_load_tests;
pub mod compare_model;
pub mod compare_recommend;
#[cfg(test)]
mod compare_run_level_tests;
pub mod compare_same;
#[cfg(test)]
mod compare_tests;
pub mod csv_out;
pub mod document;
pub mod energy;
pub mod finding;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod format;
pub mod gate;
pub mod html;
pub mod i18n;
pub mod interference;
pub mod json;
pub mod ladder;
pub mod ladder_doc;
pub mod lang;
pub mod markdown;
pub mod message;
pub mod metric;
pub mod model;
pub mod phase;
pub mod phase_doc;
pub mod quality;
pub mod quality_doc;
pub mod quality_stats;
pub mod repeats;
pub mod report_doc;
pub mod resources;
pub mod resources_doc;
pub mod run_level;
pub mod score;
pub mod sessions;
pub mod sessions_doc;
pub mod significance;
pub mod svg;
pub mod table;
pub mod team;
pub mod team_doc;
pub mod trend;

pub use model::*;
pub use phase::*;
pub use quality::*;
pub use resources::*;
