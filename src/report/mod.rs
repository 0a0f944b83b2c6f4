//! The report: a pure model computed from request records ([`model`]) and one exporter per
//! format ([`json`], [`markdown`]). Exporters never compute statistics; they format the model.

pub mod json;
pub mod markdown;
pub mod model;
pub mod table;

pub use model::*;
