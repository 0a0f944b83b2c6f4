//! The serving metrics servebench reads from a server's Prometheus `/metrics`, named once, per
//! server, by the [`Role`] each plays. Everything else — the scraper, the workloads that read a
//! counter before and after, the report's resource tables — asks for a role, never a name.
//!
//! A dialect lists the servers whose metrics it may meet (an OpenAI-compatible target can be
//! vLLM, llama.cpp, SGLang or TGI; Ollama serves none). The order of [`ALL`] is the order of
//! preference when a scrape holds two names for one role.
//!
//! `vllm:kv_cache_usage_perc` is a 0–1 fraction despite its name (1 = the whole KV pool).
//! llama.cpp's `*_tokens_seconds` throughput gauges reset on every scrape, so its rates are
//! derived from the counters instead.

use std::collections::BTreeMap;

/// What a serving metric tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Requests being processed now (a gauge).
    Running,
    /// Requests queued, not yet processed (a gauge).
    Waiting,
    /// KV-cache usage, 0–1 (a gauge).
    KvUsage,
    /// Prompt tokens processed (a counter).
    PromptTokens,
    /// Seconds spent processing prompts (a counter).
    PromptSeconds,
    /// Tokens generated, aborted requests' included (a counter).
    Generated,
    /// Seconds spent generating (a counter).
    GeneratedSeconds,
    /// Decode steps (a counter).
    Decodes,
    /// Prompt tokens looked up in the prefix cache (a counter).
    PrefixQueries,
    /// Prompt tokens found in the prefix cache (a counter).
    PrefixHits,
    /// Requests preempted (a counter).
    Preemptions,
}

/// A gauge (a level now) or a counter (a running total).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A level, read as mean and max over a phase.
    Gauge,
    /// A running total, read as its increase and rate over a phase.
    Counter,
}

/// How several label sets of one metric (vLLM's engines, models) become one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Add them (requests, tokens).
    Sum,
    /// Take the largest (usage fractions).
    Max,
}

/// One metric of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerMetric {
    /// Its name in `/metrics`.
    pub name: &'static str,
    /// What it tells.
    pub role: Role,
    /// Gauge or counter.
    pub kind: Kind,
    /// How its label sets combine.
    pub combine: Combine,
}

/// A server and the metrics of it servebench reads.
#[derive(Debug, PartialEq, Eq)]
pub struct Server {
    /// The server's name.
    pub name: &'static str,
    /// Its name as a reader knows it (`vLLM`, `llama.cpp`).
    pub label: &'static str,
    /// Its metrics, by preference within a role.
    pub metrics: &'static [ServerMetric],
}

impl Server {
    /// This server's name for `role` (its preferred one).
    pub fn name_of(&self, role: Role) -> Option<&'static str> {
        self.metrics.iter().find(|m| m.role == role).map(|m| m.name)
    }
}

const fn m(name: &'static str, role: Role, kind: Kind, combine: Combine) -> ServerMetric {
    ServerMetric {
        name,
        role,
        kind,
        combine,
    }
}

use Combine::{Max, Sum};
use Kind::{Counter, Gauge};

/// vLLM (V1 engine names; `gpu_cache_usage_perc` is the V0 name of the KV gauge).
pub const VLLM: Server = Server {
    name: "vllm",
    label: "vLLM",
    metrics: &[
        m("vllm:kv_cache_usage_perc", Role::KvUsage, Gauge, Max),
        m("vllm:gpu_cache_usage_perc", Role::KvUsage, Gauge, Max),
        m("vllm:num_requests_running", Role::Running, Gauge, Sum),
        m("vllm:num_requests_waiting", Role::Waiting, Gauge, Sum),
        m(
            "vllm:num_preemptions_total",
            Role::Preemptions,
            Counter,
            Sum,
        ),
        m("vllm:prompt_tokens_total", Role::PromptTokens, Counter, Sum),
        m(
            "vllm:generation_tokens_total",
            Role::Generated,
            Counter,
            Sum,
        ),
        m(
            "vllm:prefix_cache_queries_total",
            Role::PrefixQueries,
            Counter,
            Sum,
        ),
        m(
            "vllm:prefix_cache_hits_total",
            Role::PrefixHits,
            Counter,
            Sum,
        ),
    ],
};

/// llama.cpp's `llama-server` (with `--metrics`).
pub const LLAMACPP: Server = Server {
    name: "llama.cpp",
    label: "llama.cpp",
    metrics: &[
        m("llamacpp:requests_processing", Role::Running, Gauge, Sum),
        m("llamacpp:requests_deferred", Role::Waiting, Gauge, Sum),
        m("llamacpp:kv_cache_usage_ratio", Role::KvUsage, Gauge, Max),
        m(
            "llamacpp:prompt_tokens_total",
            Role::PromptTokens,
            Counter,
            Sum,
        ),
        m(
            "llamacpp:prompt_seconds_total",
            Role::PromptSeconds,
            Counter,
            Sum,
        ),
        m(
            "llamacpp:tokens_predicted_total",
            Role::Generated,
            Counter,
            Sum,
        ),
        m(
            "llamacpp:tokens_predicted_seconds_total",
            Role::GeneratedSeconds,
            Counter,
            Sum,
        ),
        m("llamacpp:n_decode_total", Role::Decodes, Counter, Sum),
    ],
};

/// SGLang.
pub const SGLANG: Server = Server {
    name: "sglang",
    label: "SGLang",
    metrics: &[
        m("sglang:num_running_reqs", Role::Running, Gauge, Sum),
        m("sglang:num_queue_reqs", Role::Waiting, Gauge, Sum),
        m("sglang:token_usage", Role::KvUsage, Gauge, Max),
    ],
};

/// Hugging Face TGI.
pub const TGI: Server = Server {
    name: "tgi",
    label: "TGI",
    metrics: &[
        m("tgi_batch_current_size", Role::Running, Gauge, Sum),
        m("tgi_queue_size", Role::Waiting, Gauge, Sum),
    ],
};

/// Every server servebench knows, in order of preference.
pub const ALL: &[&Server] = &[&VLLM, &LLAMACPP, &SGLANG, &TGI];

/// Every metric of `servers`.
pub fn metrics(servers: &[&'static Server]) -> impl Iterator<Item = &'static ServerMetric> {
    servers.iter().flat_map(|s| s.metrics.iter())
}

/// The metric named `name`, among every known server's.
pub fn by_name(name: &str) -> Option<&'static ServerMetric> {
    metrics(ALL).find(|m| m.name == name)
}

/// The names that play `role`, by preference.
pub fn names(role: Role) -> impl Iterator<Item = &'static str> {
    metrics(ALL).filter(move |m| m.role == role).map(|m| m.name)
}

/// The first value in `values` (keyed by metric name) that plays `role`.
pub fn first<K: std::borrow::Borrow<str> + Ord, V>(
    values: &BTreeMap<K, V>,
    role: Role,
) -> Option<&V> {
    names(role).find_map(|n| values.get(n))
}

/// Every value in `values` that plays `role`.
pub fn all<K: std::borrow::Borrow<str> + Ord, V>(
    values: &BTreeMap<K, V>,
    role: Role,
) -> impl Iterator<Item = &V> {
    names(role).filter_map(|n| values.get(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_written_once_and_counters_end_in_total() {
        let mut seen = std::collections::BTreeSet::new();
        for m in metrics(ALL) {
            assert!(seen.insert(m.name), "{} twice", m.name);
            if m.kind == Kind::Counter {
                assert!(m.name.ends_with("_total"), "{}", m.name);
            }
        }
    }

    #[test]
    fn a_role_is_read_by_preference() {
        let v = BTreeMap::from([
            ("llamacpp:requests_processing".to_string(), 2.0),
            ("vllm:num_requests_running".to_string(), 3.0),
        ]);
        assert_eq!(first(&v, Role::Running), Some(&3.0));
        assert_eq!(all(&v, Role::Running).count(), 2);
        assert_eq!(first(&v, Role::Waiting), None);
        assert_eq!(
            VLLM.name_of(Role::Generated),
            Some("vllm:generation_tokens_total")
        );
    }
}
