//! servebench's integration and end-to-end tests, one binary (ripgrep's layout): the harness
//! in [`common`] is compiled once, and every module below is a file of tests by subject.
//! `e2e_llamacpp`, `e2e_vllm` and `model_parts` need the real servers and models from `make venv`
//! and `make vllm`:
//! they are built with the `e2e` feature, which `make test` enables.

mod common;

mod autocomplete;
mod capacity;
mod capacity_quality;
mod cli;
mod compare;
#[cfg(feature = "e2e")]
mod e2e_llamacpp;
#[cfg(feature = "e2e")]
mod e2e_vllm;
mod eval;
mod faults;
mod gate;
mod history;
mod hostile;
mod load;
mod long_context;
mod managed;
mod mock_timing;
#[cfg(feature = "e2e")]
mod model_parts;
mod ollama_cold;
mod prompt_cache;
mod reliability;
mod repeats;
mod sandbox;
mod sessions;
mod sessions_sources;
mod stats_props;
mod team;
mod telemetry;
mod trace;
mod vllm_recorded;
mod wire_fixtures;
