//! The JSON contracts, generated from the Rust types with schemars (descriptions are the types'
//! `///` docs): `report.json`, the comparison JSON, one line of `requests.jsonl`, one line of
//! `quality.jsonl` and a repeated run's `repeats.json`. They describe what servebench *writes* (every field present, `null` where
//! not measured), and no object takes a field it does not document. The checked-in copies in
//! `schema/` are compared with these by a test; `SERVEBENCH_WRITE_SCHEMAS=1 cargo test -p
//! servebench-core schemas` rewrites them.

use crate::quality_record::TaskResult;
use crate::record::RequestRecord;
use crate::report::Report;
use crate::report::compare::Comparison;
use schemars::generate::{Contract, SchemaSettings};
use schemars::transform::{Transform, transform_subschemas};
use schemars::{JsonSchema, Schema};
use serde_json::Value;

/// One checked-in contract: its file name under `schema/` and how to make it.
pub struct SchemaFile {
    /// File name under `schema/`.
    pub file: &'static str,
    /// The generated schema.
    pub generate: fn() -> Value,
}

/// Every contract.
pub const CONTRACTS: &[SchemaFile] = &[
    SchemaFile {
        file: "report.schema.json",
        generate: report,
    },
    SchemaFile {
        file: "comparison.schema.json",
        generate: comparison,
    },
    SchemaFile {
        file: "requests.schema.json",
        generate: request_record,
    },
    SchemaFile {
        file: "quality.schema.json",
        generate: quality_record,
    },
    SchemaFile {
        file: "repeats.schema.json",
        generate: repeats,
    },
];

/// `report.json`.
pub fn report() -> Value {
    generate::<Report>(
        "servebench report",
        "report.json written by `servebench run`. Units are in field names: _s seconds, _bytes bytes, tok_s tokens per second. null means not measured or not stated by the server; nothing is guessed.",
    )
}

/// `servebench compare --format json`.
pub fn comparison() -> Value {
    generate::<Comparison>(
        "servebench comparison",
        "The comparison JSON written by `servebench compare --format json`: per-metric rows of baseline against each other target, caveats and recommendations.",
    )
}

/// One line of `requests.jsonl`.
pub fn request_record() -> Value {
    generate::<RequestRecord>(
        "servebench request record",
        "One line of requests.jsonl: one request, journalled as it finished. Times in seconds from the send unless named otherwise.",
    )
}

/// One line of `quality.jsonl`.
pub fn quality_record() -> Value {
    generate::<TaskResult>(
        "servebench quality record",
        "One line of quality.jsonl: one graded answer.",
    )
}

/// `repeats.json`.
pub fn repeats() -> Value {
    generate::<crate::report::repeats::RepeatsReport>(
        "servebench repeats",
        "repeats.json written by `servebench run --repeat N`: per target and metric, the runs' values, their mean with a 95 % Student-t interval and CV, and the per-request samples pooled over every run.",
    )
}

/// Objects take no field they do not document (`additionalProperties: false` wherever the
/// object lists its properties and says nothing else of extra ones).
#[derive(Clone)]
struct Closed;

impl Transform for Closed {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(obj) = schema.as_object_mut()
            && obj.contains_key("properties")
            && !obj.contains_key("additionalProperties")
        {
            obj.insert("additionalProperties".into(), Value::Bool(false));
        }
        transform_subschemas(self, schema);
    }
}

fn generate<T: JsonSchema>(title: &str, description: &str) -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.contract = Contract::Serialize;
    let mut schema = settings
        .with_transform(Closed)
        .into_generator()
        .into_root_schema_for::<T>();
    schema.insert("title".into(), title.into());
    schema.insert("description".into(), description.into());
    schema.to_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_checked_in_are_the_generated_ones() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema"));
        let write = std::env::var_os("SERVEBENCH_WRITE_SCHEMAS").is_some();
        for c in CONTRACTS {
            let text = serde_json::to_string_pretty(&(c.generate)()).expect("serialises") + "\n";
            let path = dir.join(c.file);
            if write {
                std::fs::write(&path, &text).expect("schema/ is writable");
            }
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == text,
                "{} differs from the schema generated from the types: run `SERVEBENCH_WRITE_SCHEMAS=1 cargo test -p servebench-core schemas` and commit it",
                path.display()
            );
        }
    }
}
