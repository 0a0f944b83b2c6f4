//! The real grader, for tests that grade answers directly: this build's servebench binary as
//! the sandbox helper, the first interpreter the sandbox can run, and inline code tasks.

use servebench_engine::eval::grade::Grader;
use servebench_engine::eval::sandbox::{Limits, Sandbox, find_python};
use servebench_engine::eval::suite::{self, Task};
use std::path::PathBuf;

/// A grader under `limits`.
pub async fn grader(limits: Limits) -> Grader {
    let sandbox = Sandbox::new(PathBuf::from(env!("CARGO_BIN_EXE_servebench")), limits);
    let (python, layers) = find_python(&sandbox, None).await.unwrap();
    Grader {
        sandbox,
        python,
        layers,
    }
}

/// A HumanEval-format code task (`t/0`).
pub fn code_task(prompt: &str, entry: &str, test: &str) -> Task {
    suite::parse_humaneval(
        &serde_json::json!({"task_id": "t/0", "prompt": prompt, "entry_point": entry, "test": test})
            .to_string(),
        "inline",
        "tasks",
    )
    .unwrap()
    .remove(0)
}
