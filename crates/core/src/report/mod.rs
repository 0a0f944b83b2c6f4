//! The report: a pure model computed from request records ([`model`]) and one exporter per
//! format ([`json`], [`markdown`]). Exporters never compute statistics; they format the model.

pub mod build;
pub mod compare;
pub mod compare_md;
#[cfg(test)]
mod compare_tests;
pub mod csv_out;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod html;
pub mod i18n;
pub mod json;
pub mod markdown;
pub mod metric;
pub mod model;
pub mod quality;
pub mod quality_md;
pub mod resources;
pub mod resources_md;
pub mod score;
pub mod significance;
pub mod svg;
pub mod table;

pub use model::*;
pub use quality::*;
pub use resources::*;
