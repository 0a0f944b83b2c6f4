//! CSV exporter: one row per request of a run's journal, for spreadsheets. Times in seconds;
//! empty cells where a metric does not apply (a failed request has no TTFT).

use crate::metrics::RequestMetrics;
use crate::record::RequestRecord;

/// The header row.
pub const COLUMNS: [&str; 22] = [
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
    "ttft_s",
    "tpot_s",
    "e2e_s",
    "decode_tok_s",
    "e2e_tok_s",
    "input_tokens",
    "cached_prompt_tokens",
    "output_tokens",
    "token_source",
    "schedule_lag_s",
    "ttft_from_schedule_s",
    "e2e_from_schedule_s",
];

/// Render `records` as CSV.
pub fn render(records: &[RequestRecord]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(COLUMNS);
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
        let only_ok = |v: Option<f64>| if ok { num(v) } else { String::new() };
        let _ = w.write_record([
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
            only_ok(m.ttft_s),
            only_ok(m.tpot_s),
            only_ok(m.e2e_s),
            only_ok(m.decode_tok_s),
            only_ok(m.e2e_tok_s),
            int(r.input_tokens),
            int(r.cached_prompt_tokens),
            int(r.output_tokens),
            r.token_source
                .map_or(String::new(), |t| format!("{t:?}").to_lowercase()),
            format!("{:.6}", m.schedule_lag_s),
            only_ok(m.ttft_from_schedule_s),
            only_ok(m.e2e_from_schedule_s),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
