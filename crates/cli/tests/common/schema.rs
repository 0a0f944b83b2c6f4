//! The report's JSON Schema, checked against real output.

use serde_json::Value;

/// Validate a report JSON value against `schema/report.schema.json`.
pub fn assert_schema_valid(report: &Value) {
    let errors = schema_errors(report);
    assert!(errors.is_empty(), "report violates the schema: {errors:#?}");
}

/// Every violation of `schema/report.schema.json` in `report`.
pub fn schema_errors(report: &Value) -> Vec<String> {
    let schema: Value =
        serde_json::from_str(include_str!("../../../../schema/report.schema.json")).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    v.iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}
