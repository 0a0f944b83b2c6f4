//! The JSON contracts in `schema/` (generated from the types, see `servebench_core::schema`),
//! checked against real output.

use serde_json::Value;

/// The checked-in schema `file` (`report.schema.json`, `comparison.schema.json`,
/// `requests.schema.json`, `quality.schema.json`).
fn schema(file: &str) -> Value {
    let path =
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema")).join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Every violation of `schema/<file>` in `value`.
pub fn violations(file: &str, value: &Value) -> Vec<String> {
    let v = jsonschema::validator_for(&schema(file)).unwrap();
    v.iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// `value` follows `schema/<file>`.
pub fn assert_follows(file: &str, value: &Value) {
    let errors = violations(file, value);
    assert!(errors.is_empty(), "{value} violates {file}: {errors:#?}");
}

/// Every line of the JSONL file at `path` follows `schema/<file>`; returns how many lines.
pub fn assert_jsonl_follows(file: &str, path: &std::path::Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    for line in text.lines() {
        assert_follows(file, &serde_json::from_str(line).unwrap());
    }
    text.lines().count()
}

/// Validate a report JSON value against `schema/report.schema.json`.
pub fn assert_schema_valid(report: &Value) {
    assert_follows("report.schema.json", report);
}

/// Every violation of `schema/report.schema.json` in `report`.
pub fn schema_errors(report: &Value) -> Vec<String> {
    violations("report.schema.json", report)
}
