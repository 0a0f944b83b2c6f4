//! CSV exporter: one row per request of a run's journal, for spreadsheets. Times in seconds;
//! empty cells where a metric does not apply (a failed request has no TTFT). The record's own
//! columns come first, then one column per entry of the per-request metric registry
//! ([`REQUEST_METRICS`]), in its order.

use crate::metrics::{REQUEST_METRICS, RequestMetrics};
use crate::record::RequestRecord;

/// The record's own columns, before the metrics.
pub const RECORD_COLUMNS: [&str; 15] = [
    "target",
    "phase",
    "step",
    "attempt",
    "cold_load",
    "index",
    "prompt_id",
    "sent_unix_s",
    "outcome",
    "error",
    "input_tokens",
    "cached_prompt_tokens",
    "output_tokens",
    "token_source",
    "class",
];

/// The header row: the record's columns, then every per-request metric's key.
pub fn columns() -> Vec<&'static str> {
    RECORD_COLUMNS
        .iter()
        .copied()
        .chain(REQUEST_METRICS.iter().map(|m| m.key))
        .collect()
}

/// Render `records` as CSV.
pub fn render(records: &[RequestRecord]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(columns());
    let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
    let int = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
    // Each cold request is its own load (`--cold N`): number them per target and attempt.
    let mut cold_loads: std::collections::BTreeMap<(&str, u32), u64> = Default::default();
    for r in records {
        let cold_load = (r.phase == crate::record::Phase::Cold).then(|| {
            let k = cold_loads
                .entry((r.target.as_str(), r.attempt))
                .or_default();
            *k += 1;
            *k
        });
        let m = RequestMetrics::of(r);
        let ok = r.outcome.is_ok();
        let mut row = vec![
            r.target.clone(),
            r.phase.to_string(),
            r.step.map_or(String::new(), |s| s.to_string()),
            r.attempt.to_string(),
            int(cold_load),
            r.index.to_string(),
            r.prompt_id.clone(),
            format!("{:.6}", r.sent_unix_s),
            r.outcome.kind(),
            r.error.clone().unwrap_or_default(),
            int(r.input_tokens),
            int(r.cached_prompt_tokens),
            int(r.output_tokens),
            r.token_source
                .map_or(String::new(), |t| format!("{t:?}").to_lowercase()),
            r.class.map_or(String::new(), |c| c.to_string()),
        ];
        row.extend(REQUEST_METRICS.iter().map(|d| {
            if ok || d.of_failed {
                num((d.value)(&m))
            } else {
                String::new()
            }
        }));
        let _ = w.write_record(row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Outcome, Phase};
    use std::time::Duration;

    #[test]
    fn every_row_has_a_cell_per_column_and_a_failure_only_its_send_lag() {
        let ok = RequestRecord::streamed(
            "t",
            Phase::Warm,
            0,
            vec![Duration::from_millis(100), Duration::from_millis(150)],
        );
        let failed = RequestRecord {
            outcome: Outcome::Http(500),
            ..RequestRecord::streamed("t", Phase::Warm, 1, vec![])
        };
        let text = render(&[ok, failed]);
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
        let head = &rows[0];
        assert_eq!(head.len(), RECORD_COLUMNS.len() + REQUEST_METRICS.len());
        assert!(rows.iter().all(|r| r.len() == head.len()));
        let col = |k: &str| head.iter().position(|h| *h == k).unwrap();
        assert_eq!(rows[1][col("ttft_s")], "0.100000");
        assert_eq!(rows[2][col("ttft_s")], "");
        assert_eq!(rows[2][col("schedule_lag_s")], "0.000000");
    }
}
