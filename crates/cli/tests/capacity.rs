//! The capacity search (`servebench capacity`) against a mock with K generation slots and
//! fixed per-request times, where the largest team size meeting the SLOs is known by hand;
//! a team of one that already breaks them; and the `[team]` table's bad inputs.

use crate::common::bin::{read_report, servebench};
use crate::common::mock::MockCfg;
use crate::common::openai::mock_openai;
use std::time::Duration;

/// A plan of one target whose developers only send the prompt set, back to back, always on
/// (share 1), held to a first-token objective of `ttft_s`.
fn plan(url: &str, ttft_s: f64, extra: &str) -> String {
    format!(
        r#"[run]
max_tokens = 8

[team.developer]
prompts = 1.0

[team.slo.prompts]
ttft_p90_s = {ttft_s}
tpot_p90_s = 1.0

[team.search]
step_s = 2.0
warmup_s = 0.5
repeats = 2
max_developers = 16
{extra}
[[targets]]
name = "mock"
api = "openai"
url = "{url}"
model = "mock-model"
"#
    )
}

async fn capacity(
    dir: &std::path::Path,
    toml: &str,
) -> (crate::common::bin::Out, std::path::PathBuf) {
    let p = dir.join("plan.toml");
    std::fs::write(&p, toml).unwrap();
    let out = dir.join("out");
    let o = servebench(&[
        "capacity",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    (o, out)
}

/// K = 2 slots, 40 ms to the first token and 8 tokens 5 ms apart (≈ 75 ms a request): up to
/// 2 developers every request starts at once (TTFT ≈ 40 ms); from 3, a third of them wait
/// for a slot (≈ 75 ms more), so the 90th percentile is ≈ 115 ms. With a 70 ms objective the
/// capacity is 2 by hand; the search must find it within ±1, with an interval holding it.
#[tokio::test(flavor = "multi_thread")]
async fn the_search_finds_the_slot_count_of_a_k_slot_server() {
    let m = mock_openai(MockCfg {
        ttft: Duration::from_millis(40),
        per_token: Duration::from_millis(5),
        tokens: 8,
        slots: Some(2),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (o, out) = capacity(dir.path(), &plan(&m.url(), 0.07, "")).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = read_report(&out);
    assert_eq!(r["targets"][0]["workload"]["kind"], "capacity");
    let c = &r["targets"][0]["workload"]["report"];
    let dev = c["capacity"]["developers"].as_u64().unwrap();
    let (lo, hi) = (
        c["capacity"]["low"].as_u64().unwrap(),
        c["capacity"]["high"].as_u64().unwrap(),
    );
    assert!((1..=3).contains(&dev), "capacity {dev}: {}", o.stderr);
    assert!(lo <= 2 && 2 <= hi, "interval {lo}–{hi} must hold 2");
    let steps = c["steps"].as_array().unwrap();
    let sizes: Vec<u64> = steps
        .iter()
        .map(|s| s["developers"].as_u64().unwrap())
        .collect();
    assert_eq!(&sizes[..3], &[1, 2, 4], "doubling first: {sizes:?}");
    // Every class-step measured the team model's concurrency: always on, so N at once.
    for s in steps {
        let n = s["developers"].as_f64().unwrap();
        let a = s["classes"][0]["active_mean"].as_f64().unwrap();
        assert!((a - n).abs() < 0.05 * n, "{n} developers, {a} active");
    }
    assert_eq!(c["broke_first"]["class"], "prompts");
    assert_eq!(c["broke_first"]["metric"], "ttft_p90");
    assert!(o.stderr.contains("capacity:"), "{}", o.stderr);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("## Capacity")
            && md.contains(&format!("mock: {dev} developers (95 % interval")),
        "{md}"
    );
    std::fs::write("/tmp/capacity-report.md", &md).ok();
    std::fs::write("/tmp/capacity-stderr.txt", &o.stderr).ok();
}

/// A team of one already breaking the objectives is a capacity of 0, with the class and the
/// numbers that broke it — not an error.
#[tokio::test(flavor = "multi_thread")]
async fn one_developer_breaking_the_slos_is_capacity_zero() {
    let m = mock_openai(MockCfg {
        ttft: Duration::from_millis(40),
        per_token: Duration::from_millis(5),
        tokens: 8,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (o, out) = capacity(dir.path(), &plan(&m.url(), 0.01, "")).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = read_report(&out);
    assert_eq!(r["targets"][0]["workload"]["kind"], "capacity");
    let c = &r["targets"][0]["workload"]["report"];
    assert_eq!(c["capacity"]["developers"], 0);
    assert_eq!(c["broke_first"]["class"], "prompts");
    let v = c["broke_first"]["value"].as_f64().unwrap();
    assert!(v >= 0.04, "TTFT p90 {v}");
    assert_eq!(c["broke_first"]["limit"], 0.01);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_team_table_is_exit_2_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let bad_key =
        plan("http://127.0.0.1:9", 0.5, "").replace("prompts = 1.0", "prompts = 1.0\ncoffee = 0.2");
    let (o, _) = capacity(dir.path(), &bad_key).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("plan.toml:6:1") && o.stderr.contains("coffee"),
        "{}",
        o.stderr
    );
    let bad_slo =
        plan("http://127.0.0.1:9", 0.5, "").replace("ttft_p90_s = 0.5", "ttft_p90_s = \"fast\"");
    let (o, _) = capacity(dir.path(), &bad_slo).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("plan.toml:8:14") && o.stderr.contains("expected a number"),
        "{}",
        o.stderr
    );
    let bad_share = plan("http://127.0.0.1:9", 0.5, "").replace("prompts = 1.0", "prompts = 1.5");
    let (o, _) = capacity(dir.path(), &bad_share).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("prompts") && o.stderr.contains("0..=1"),
        "{}",
        o.stderr
    );
}
