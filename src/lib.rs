//! servebench: benchmark and compare LLM serving stacks (Ollama, vLLM, llama.cpp, SGLang, TGI,
//! any OpenAI-compatible server) on load time, latency, throughput and more.
//!
//! Data flows one way: a [`plan::Plan`] names targets; the [`runner`] drives each through its
//! phases with a [`backend::Client`], producing [`record::RequestRecord`]s; the pure
//! [`report`] model summarises them ([`stats`], [`metrics`]); exporters write JSON and Markdown.

pub mod backend;
pub mod eval;
pub mod events;
pub mod journal;
pub mod load;
pub mod metrics;
pub mod modelfile;
pub mod plan;
pub mod prompts;
pub mod record;
pub mod report;
pub mod runner;
pub mod runs;
pub mod server;
pub mod stats;
pub mod telemetry;
