//! JSON exporter: the report model as pretty JSON (the public contract,
//! `schema/report.schema.json`).

use super::model::Report;

/// Serialise a report.
pub fn to_string(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("report model always serialises") + "\n"
}

/// Parse a report written by [`to_string`].
pub fn from_str(text: &str) -> serde_json::Result<Report> {
    serde_json::from_str(text)
}
