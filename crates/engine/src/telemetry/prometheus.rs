//! The server's own view, from its Prometheus `/metrics` (text exposition format 0.0.4):
//! a small parser, and the values of the serving metrics servebench reads
//! ([`crate::server_metrics`] names them, by server and role).
//!
//! Hand-written rather than a crate: only sample lines are needed (`name{labels} value`), the
//! format is tiny and stable, and the parser must never fail a run on an odd line (it skips it).

pub use crate::server_metrics::Kind;
use crate::server_metrics::{self, Combine, Server, ServerMetric};
use std::collections::BTreeMap;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    /// Metric name (`vllm:num_requests_running`).
    pub name: String,
    /// Label pairs in order.
    pub labels: Vec<(String, String)>,
    /// Value.
    pub value: f64,
}

/// Parse exposition text; comments, blank and unparseable lines are skipped.
pub fn parse(text: &str) -> Vec<MetricSample> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MetricSample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        let (parsed, after) = parse_labels(r)?;
        labels = parsed;
        rest = after;
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(MetricSample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// Parse `k="v",k2="v2"}` (after the `{`); returns the pairs and the text after `}`.
fn parse_labels(mut s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start_matches([' ', ',']);
        if let Some(after) = s.strip_prefix('}') {
            return Some((out, after));
        }
        let eq = s.find('=')?;
        let key = s[..eq].trim().to_string();
        s = s[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '"' => break i,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        };
        out.push((key, value));
        s = &s[end + 1..];
    }
}

/// The metrics of `servers` present in `samples`, each combined over its label sets.
pub fn known_values(
    samples: &[MetricSample],
    servers: &[&'static Server],
) -> BTreeMap<&'static str, f64> {
    let mut out = BTreeMap::new();
    for &ServerMetric { name, combine, .. } in server_metrics::metrics(servers) {
        let values: Vec<f64> = samples
            .iter()
            .filter(|s| s.name == name && s.value.is_finite())
            .map(|s| s.value)
            .collect();
        if values.is_empty() {
            continue;
        }
        let v = match combine {
            Combine::Sum => values.iter().sum(),
            Combine::Max => values.iter().copied().fold(f64::MIN, f64::max),
        };
        out.insert(name, v);
    }
    out
}

/// The kind of a known metric.
pub fn kind(name: &str) -> Option<Kind> {
    server_metrics::by_name(name).map(|m| m.kind)
}

/// vLLM's KV-cache configuration (`vllm:cache_config_info` labels), when it exposes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CacheConfig {
    /// Share of GPU memory vLLM reserves up front (`gpu_memory_utilization`).
    pub gpu_memory_utilization: Option<f64>,
    /// KV-cache blocks on the GPU.
    pub num_gpu_blocks: Option<u64>,
    /// Tokens per block.
    pub block_size: Option<u64>,
    /// Bytes of the KV pool (`kv_cache_memory_bytes`; on a CPU build, `VLLM_CPU_KVCACHE_SPACE`
    /// of host memory).
    pub kv_cache_memory_bytes: Option<u64>,
}

impl CacheConfig {
    /// Read it from a scrape; `None` when the server does not expose it.
    pub fn from_samples(samples: &[MetricSample]) -> Option<CacheConfig> {
        let s = samples
            .iter()
            .find(|s| s.name == "vllm:cache_config_info")?;
        let label = |k: &str| {
            s.labels
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        Some(CacheConfig {
            gpu_memory_utilization: label("gpu_memory_utilization").and_then(|v| v.parse().ok()),
            num_gpu_blocks: label("num_gpu_blocks").and_then(|v| v.parse().ok()),
            block_size: label("block_size").and_then(|v| v.parse().ok()),
            kv_cache_memory_bytes: label("kv_cache_memory_bytes").and_then(|v| v.parse().ok()),
        })
    }

    /// Tokens the KV pool holds (blocks × block size).
    pub fn kv_tokens(&self) -> Option<u64> {
        Some(self.num_gpu_blocks? * self.block_size?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_with_escapes_commas_and_timestamps() {
        let s = parse(
            "# HELP x y\nx{a=\"1,2\",b=\"q\\\"uote\",} 3.5 1700000000\ny 7\nbad line\nz{a=\"1\"} +Inf\n",
        );
        assert_eq!(s.len(), 3);
        assert_eq!(
            s[0].labels,
            vec![("a".into(), "1,2".into()), ("b".into(), "q\"uote".into())]
        );
        assert_eq!(s[0].value, 3.5);
        assert_eq!((s[1].name.as_str(), s[1].value), ("y", 7.0));
        assert!(s[2].value.is_infinite());
    }

    #[test]
    fn combining_label_sets() {
        let s = parse(
            "vllm:num_requests_running{engine=\"0\"} 3\nvllm:num_requests_running{engine=\"1\"} 4\n\
             vllm:kv_cache_usage_perc{engine=\"0\"} 0.2\nvllm:kv_cache_usage_perc{engine=\"1\"} 0.5\n",
        );
        let v = known_values(&s, crate::server_metrics::ALL);
        assert_eq!(v["vllm:num_requests_running"], 7.0);
        assert_eq!(v["vllm:kv_cache_usage_perc"], 0.5);
    }
}
