//! The `servebench` binary, run as a user runs it.

use serde_json::Value;

/// Exit code and output of one `servebench` process.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the binary with `args`.
/// The history store every run the tests start records into (unless a test names its own
/// with `--store`): one SQLite file under the build's temporary directory, shared by the
/// tests running at once — never the user's own store.
pub const TEST_STORE: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/history-of-tests.sqlite");

pub async fn servebench(args: &[&str]) -> Out {
    let o = tokio::process::Command::new(env!("CARGO_BIN_EXE_servebench"))
        .env("SERVEBENCH_STORE", TEST_STORE)
        .args(args)
        .output()
        .await
        .unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    }
}

/// Write `toml` as `plan.toml` in `dir`, run it into `dir/out`; returns the output and out dir.
pub async fn run_plan(dir: &std::path::Path, toml: &str) -> (Out, std::path::PathBuf) {
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, toml).unwrap();
    let out = dir.join("out");
    let o = servebench(&[
        "run",
        plan.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    (o, out)
}

/// `report.json` in `dir`.
pub fn read_report(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// `servebench run` in the quick form: `--api API --url URL --model MODEL`, then `extra`.
pub async fn run_quick(api: &str, url: &str, model: &str, extra: &[&str]) -> Out {
    let mut args = vec!["run", "--api", api, "--url", url, "--model", model];
    args.extend_from_slice(extra);
    servebench(&args).await
}
