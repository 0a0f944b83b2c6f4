//! The plan loader: any text either parses into a validated plan or gives a one-line error
//! with a position; it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_engine::plan::{Plan, RunOverrides};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = Plan::from_toml(text, Path::new("fuzz.toml"), &RunOverrides::default()) {
        assert!(!e.to_string().contains('\n'), "errors are one line: {e}");
    }
});
