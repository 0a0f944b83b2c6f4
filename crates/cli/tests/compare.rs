//! `servebench compare` and `servebench report` on real runs against mocks: significance
//! told apart from noise, every format and language, bad input, and the HTML rendered in a
//! real headless Chromium.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

async fn run_one(dir: &Path, name: &str, url: &str) -> PathBuf {
    let out = dir.join(name);
    let o = servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        url,
        "--model",
        "mock-model",
        "--name",
        name,
        "--warm",
        "12",
        "--max-tokens",
        "8",
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    out
}

fn mock(ttft_ms: u64) -> MockCfg {
    MockCfg {
        ttft: Duration::from_millis(ttft_ms),
        per_token: Duration::from_millis(5),
        tokens: 8,
        ..Default::default()
    }
}

/// The comparison JSON's row of metric `id`.
pub(crate) fn row<'a>(cmp: &'a Value, id: &str) -> &'a Value {
    cmp["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == id)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn clearly_different_ttft_is_significant_and_the_same_mock_is_not() {
    // Its two runs of the same mock must see the same machine.
    let _serial = SERIAL.lock().await;
    let fast = mock_openai(mock(60)).await;
    let slow = mock_openai(mock(240)).await;
    let dir = tempfile::tempdir().unwrap();
    let a = run_one(dir.path(), "fast", &fast.url()).await;
    let b = run_one(dir.path(), "slow", &slow.url()).await;
    let a2 = run_one(dir.path(), "fast-again", &fast.url()).await;

    let o = servebench(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "json",
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let cmp: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_follows("comparison.schema.json", &cmp);
    let t = row(&cmp, "warm_ttft_s");
    assert_eq!(t["better"], "a");
    assert_eq!(t["significant"], true, "{t}");
    let d = t["delta"].as_f64().unwrap();
    assert!((d - 0.180).abs() < 0.05, "delta {d} vs injected 0.180");
    assert_eq!(t["n_a"], 12);

    let o = servebench(&[
        "compare",
        a.to_str().unwrap(),
        a2.to_str().unwrap(),
        "--format",
        "json",
    ])
    .await;
    let same: Value = serde_json::from_str(&o.stdout).unwrap();
    let t = row(&same, "warm_ttft_s");
    assert_eq!(t["significant"], false, "{t}");
    assert_ne!(t["better"], "b", "{t}");

    // Markdown: the significant winner is bold; a tie or noise is not.
    let o = servebench(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]).await;
    assert!(o.stdout.contains("**+0.1"), "{}", o.stdout);
    let o = servebench(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--lang",
        "ko",
    ])
    .await;
    assert!(
        o.stdout.contains("연속 응답 시간 (초)") && o.stdout.contains("더 나은 쪽"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("권장 사용 시나리오"), "{}", o.stdout);
    // Three reports: the first is the baseline of every pair.
    let o = servebench(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        a2.to_str().unwrap(),
        "--format",
        "json",
    ])
    .await;
    let three: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(three["pairs"].as_array().unwrap().len(), 2);
    assert_eq!(three["pairs"][1]["a"], "fast");

    // report: CSV one row per request, JSON the report, HTML self-contained.
    let o = servebench(&["report", b.to_str().unwrap(), "--format", "csv"]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 1 + 13, "header + cold + 12 warm");
    assert!(lines[0].starts_with("target,phase,step,attempt,cold_load,index,prompt_id"));
    assert!(
        lines[1].contains(",cold,,0,1,0,"),
        "the cold request is load 1: {}",
        lines[1]
    );
    let o = servebench(&["report", b.to_str().unwrap(), "--format", "json"]).await;
    let r: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_schema_valid(&r);
    let html_path = dir.path().join("cmp.html");
    let o = servebench(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "html",
        "--out",
        html_path.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("<svg"));
    assert!(!html.contains("<script"), "no script is needed to read it");
    assert!(!html.contains("src=\"http"), "no network resources");
    if cfg!(feature = "e2e") {
        check_in_browser(&html_path, dir.path(), 4);
    } else {
        eprintln!("HTML not opened in a browser: `make test` does (--features e2e)");
    }
}

/// Open the HTML in headless Chromium: it must load without errors, render the charts and
/// produce a screenshot (at least `svgs` charts in its DOM). Part of `make test` (`--features e2e`), where a missing Chromium fails.
pub(crate) fn check_in_browser(html: &Path, dir: &Path, svgs: usize) {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new("which")
                .arg(b)
                .output()
                .is_ok_and(|o| o.status.success())
        });
    let Some(browser) = browser else {
        panic!("no chromium: `apt-get install chromium` (.ci/run does)");
    };
    let shot = dir.join("shot.png");
    let url = format!("file://{}", html.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1280,2400",
    ];
    let o = std::process::Command::new(browser)
        .args(common)
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{browser} failed: {stderr}");
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 20_000, "screenshot only {size} bytes: {stderr}");
    let dom = std::process::Command::new(browser)
        .args(common)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.matches("<svg").count() >= svgs,
        "charts missing from the DOM"
    );
    assert!(dom.contains("<table"), "tables missing from the DOM");
    eprintln!(
        "HTML rendered by {browser}: screenshot {size} bytes at {}",
        shot.display()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_reports_are_named_and_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("notes.json");
    std::fs::write(&junk, "{\"hello\": 1}").unwrap();
    let other = dir.path().join("other.json");
    std::fs::write(&other, "not json at all").unwrap();
    let o = servebench(&["compare", junk.to_str().unwrap(), other.to_str().unwrap()]).await;
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains(&format!(
            "{} is not a servebench report (no schema_version)",
            junk.display()
        )),
        "{}",
        o.stderr
    );
    let future = dir.path().join("future.json");
    std::fs::write(
        &future,
        "{\"schema_version\": 9, \"servebench_version\": \"9.0.0\"}",
    )
    .unwrap();
    let o = servebench(&["report", future.to_str().unwrap()]).await;
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains(
            "schema_version 9 (written by servebench 9.0.0); this servebench reads versions 1 to 3"
        ),
        "{}",
        o.stderr
    );
    let m = mock_openai(mock(10)).await;
    let a = run_one(dir.path(), "a", &m.url()).await;
    // The same run twice is compared once (#12: counting it twice doubled every target): one
    // target is then nothing to compare.
    let o = servebench(&["compare", a.to_str().unwrap(), a.to_str().unwrap()]).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("is given twice: it is compared once"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("one target, nothing to compare it with"),
        "{}",
        o.stderr
    );
    let b = run_one(dir.path(), "b", &m.url()).await;
    let o = servebench(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        a.to_str().unwrap(),
        "--format",
        "json",
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let cmp: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(
        cmp["targets"].as_array().unwrap().len(),
        2,
        "no doubled target"
    );
}

/// `compare` takes what a user has: one run holding two targets, a killed run (rebuilt from
/// its journal as `report` does), and report files beside run directories; one target alone
/// is refused with what to give instead.
#[tokio::test(flavor = "multi_thread")]
async fn compare_takes_one_run_with_two_targets_and_killed_runs() {
    let (fast, slow) = (mock_openai(mock(20)).await, mock_openai(mock(60)).await);
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "[run]\nwarm = 4\nmax_tokens = 8\n\n[[targets]]\nname = \"fast\"\napi = \"openai\"\nurl = \"{}\"\nmodel = \"mock-model\"\n\n[[targets]]\nname = \"slow\"\napi = \"openai\"\nurl = \"{}\"\nmodel = \"mock-model\"\n",
            fast.url(),
            slow.url()
        ),
    )
    .unwrap();
    let both = dir.path().join("both");
    let o = servebench(&[
        "run",
        plan.to_str().unwrap(),
        "--out",
        both.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = servebench(&["compare", both.to_str().unwrap(), "--format", "json"]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let cmp: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(cmp["targets"][0]["name"], "fast");
    assert_eq!(cmp["targets"][1]["name"], "slow");

    // A killed run: no report.json, only run.json and the journal.
    let one = run_one(dir.path(), "one", &fast.url()).await;
    let killed = dir.path().join("killed");
    std::fs::create_dir(&killed).unwrap();
    for f in ["run.json", "requests.jsonl"] {
        std::fs::copy(one.join(f), killed.join(f)).unwrap();
    }
    let o = servebench(&[
        "compare",
        killed.to_str().unwrap(),
        one.join("report.json").to_str().unwrap(),
        "--format",
        "json",
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("rebuilt from its journal"),
        "{}",
        o.stderr
    );
    let cmp: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(cmp["targets"].as_array().unwrap().len(), 2);

    let o = servebench(&["compare", one.to_str().unwrap()]).await;
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("one target, nothing to compare it with"),
        "{}",
        o.stderr
    );
}
