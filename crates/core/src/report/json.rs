//! JSON exporter: the report model as pretty JSON (the public contract,
//! `schema/report.schema.json`).

use super::model::Report;

/// Serialise a report.
pub fn to_string(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("report model always serialises") + "\n"
}
