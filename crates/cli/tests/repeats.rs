//! `--repeat N` against mocks: every repeat is a run of its own (stored as one set), and
//! `repeats.json` holds per metric the runs' values, their mean, 95 % t-interval and CV
//! (recomputed here from each repeat's report) beside the pooled per-request samples; `gate`
//! and `compare` test two repeated runs at the run level and say so (a +30 % first token
//! fails, a second set of the same mock passes); a version-1 history store is upgraded with
//! its runs kept, in SQLite and in PostgreSQL.

use crate::common::bin::servebench;
use crate::common::mock::MockCfg;
use crate::common::openai::mock_openai;
use crate::common::schema::assert_follows;
use crate::gate::TTFT_MS;
use crate::history::quick_run;
use serde_json::Value;
use servebench_engine::report::metric::MetricId;
use servebench_engine::store::{Filter, Location, Store};

/// Warm requests per repeat.
const WARM: u32 = 10;

/// A set of `n` repeats of `WARM` warm requests against a mock answering its first token
/// after `ttft_ms`, into `dir/name`, recorded in `db` with `label`.
async fn repeated(
    dir: &std::path::Path,
    name: &str,
    n: u32,
    ttft_ms: u64,
    db: &std::path::Path,
    label: &str,
) -> (std::path::PathBuf, crate::common::bin::Out) {
    let n = n.to_string();
    crate::gate::run_against(dir, name, ttft_ms, WARM, &["--repeat", &n], db, label).await
}

fn read(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_run_summarises_every_metric_over_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let (set, o) = repeated(dir.path(), "set", 3, 40, &db, "set=base").await;
    assert!(
        o.stdout.contains("Repeats: 3 runs of one plan"),
        "{}",
        o.stdout
    );
    // Three runs of their own, each saying which repeat it is.
    let mut group = None;
    let mut ttft = Vec::new();
    for k in 1..=3u32 {
        let r = read(&set.join(format!("repeat-{k}/report.json")));
        assert_eq!(r["repeat"]["index"], k);
        assert_eq!(r["repeat"]["of"], 3);
        let g = r["repeat"]["group"].as_str().unwrap().to_string();
        assert_eq!(group.get_or_insert(g.clone()), &g, "one group");
        let report: servebench_engine::report::Report = serde_json::from_value(r).unwrap();
        ttft.push((MetricId::WarmTtftS.def().value)(&report.targets[0]).unwrap());
    }
    let summary = read(&set.join("repeats.json"));
    assert_follows("repeats.schema.json", &summary);
    assert_eq!(summary["planned"], 3);
    assert_eq!(summary["group"].as_str(), group.as_deref());
    let metrics = summary["targets"][0]["metrics"].as_array().unwrap();
    let m = metrics
        .iter()
        .find(|m| m["metric"] == "warm_ttft_s")
        .expect("warm TTFT summarised");
    // The runs' values are the repeats' own, and the interval and CV are recomputed here:
    // t(0.975, 2 df) = 4.302653.
    let values: Vec<f64> = m["run_level"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(values, ttft);
    let mean = ttft.iter().sum::<f64>() / 3.0;
    let sd = (ttft.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    let half = 4.302_653 * sd / 3f64.sqrt();
    let close = |a: &Value, b: f64| (a.as_f64().unwrap() - b).abs() < 1e-6 * b.abs().max(1e-3);
    assert!(close(&m["run_level"]["mean"], mean), "{m}");
    assert!(close(&m["run_level"]["ci95"][0], mean - half), "{m}");
    assert!(close(&m["run_level"]["ci95"][1], mean + half), "{m}");
    assert!(close(&m["run_level"]["cv"], sd / mean), "{m}");
    // The injected 40 ms, measured (within the mock-timing tests' 60 ms slack).
    assert!((0.039..0.100).contains(&mean), "mean TTFT {mean}");
    // Pooled: every repeat's warm requests.
    assert_eq!(m["pooled"]["n"], 3 * WARM);
    assert_eq!(m["missing"], 0);
    let md = std::fs::read_to_string(set.join("repeats.md")).unwrap();
    assert!(md.contains("| warm_ttft_s | s | 3 | 0 |"), "{md}");
    assert!(
        std::fs::read_to_string(set.join("repeats.html"))
            .unwrap()
            .contains("95 % interval")
    );
    // Stored as three runs of one set.
    let store = Store::open(&Location::Sqlite(db.clone())).await.unwrap();
    let runs = store.list(&Filter::default()).await.unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(store.repeat_set(&runs[0].id).await.unwrap().len(), 3);
    // `report` and `compare` read the set's directory too.
    let o = servebench(&["report", set.to_str().unwrap()]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    // A used directory is refused before anything runs.
    let m = mock_openai(MockCfg::default()).await;
    let o = quick_run(&m.url(), &set, 1, &["--repeat", "2", "--no-store"]).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("is not empty"), "{}", o.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn gate_and_compare_test_repeated_runs_at_the_run_level() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let (base, _) = repeated(dir.path(), "base", 3, TTFT_MS, &db, "branch=main").await;
    let (again, _) = repeated(dir.path(), "again", 3, TTFT_MS, &db, "branch=again").await;
    let (slow, _) = repeated(dir.path(), "slow", 3, TTFT_MS * 13 / 10, &db, "branch=pr").await;
    let fail_on = "warm_ttft_s > +10%, warm_e2e_s > +10%";
    // +30 % to the first token: fails, run-level, by directory and by label in the store.
    for (b, c) in [
        (
            base.to_str().unwrap().to_string(),
            slow.to_str().unwrap().to_string(),
        ),
        ("label:branch=main".into(), "label:branch=pr".into()),
    ] {
        let o = servebench(&[
            "gate",
            "--baseline",
            &b,
            "--candidate",
            &c,
            "--fail-on",
            fail_on,
            "--store",
            db.to_str().unwrap(),
        ])
        .await;
        assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
        assert!(
            o.stdout
                .contains("Welch's t over runs, run-level (3 and 3 runs)")
                && o.stdout
                    .contains("tested with Welch's t over runs (run-level)"),
            "{}",
            o.stdout
        );
        assert!(
            o.stderr.contains("warm_ttft_s > +10% (openai)"),
            "{}",
            o.stderr
        );
    }
    // A second set of the same mock: no failing on noise.
    let o = servebench(&[
        "gate",
        "--baseline",
        base.to_str().unwrap(),
        "--candidate",
        again.to_str().unwrap(),
        "--fail-on",
        fail_on,
    ])
    .await;
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    // A set against one run: per-request, and said.
    let single = base.join("repeat-1");
    let o = servebench(&[
        "gate",
        "--baseline",
        single.to_str().unwrap(),
        "--candidate",
        slow.to_str().unwrap(),
        "--fail-on",
        fail_on,
    ])
    .await;
    assert!(
        o.stdout.contains("Only one side was repeated"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("Mann–Whitney U"), "{}", o.stdout);
    // compare: every row over runs, tested by Welch's t, and the caveat says so.
    let o = servebench(&[
        "compare",
        base.to_str().unwrap(),
        slow.to_str().unwrap(),
        "--format",
        "json",
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let cmp: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_follows("comparison.schema.json", &cmp);
    let row = crate::compare::row(&cmp, "warm_ttft_s");
    assert_eq!(row["test"], "welch-t-runs", "{row}");
    assert_eq!(
        (row["n_a"].as_u64(), row["n_b"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(row["significant"], true, "{row}");
    let summary = read(&base.join("repeats.json"));
    let mean = summary["targets"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "warm_ttft_s")
        .unwrap()["run_level"]["mean"]
        .as_f64()
        .unwrap();
    assert!((row["a"].as_f64().unwrap() - mean).abs() < 1e-12, "{row}");
    let o = servebench(&["compare", base.to_str().unwrap(), slow.to_str().unwrap()]).await;
    assert!(
        o.stdout.contains("were each repeated (3 and 3 runs)")
            && o.stdout.contains("Welch's t over runs, 3 vs 3 runs"),
        "{}",
        o.stdout
    );
}

/// A store as servebench 0.1 before repeats left it (schema version 1) with a run in it,
/// opened by this servebench: upgraded to version 2, the run kept and read back, and a
/// repeated run stored beside it.
async fn upgrade_from_version_1(loc: Location, url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let m = mock_openai(MockCfg::default()).await;
    let out = dir.path().join("old");
    let o = quick_run(&m.url(), &out, 2, &["--no-store"]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let report = std::fs::read_to_string(out.join("report.json")).unwrap();
    drop(Store::open_upto(&loc, 1).await.unwrap());
    // The run as version 1's columns hold it, written by hand.
    {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
        sqlx::query(
            "INSERT INTO runs (id, created_at, stored_at, command, servebench_version, report_schema, interrupted, source_dir, report_json)
             VALUES ('old-run', '2000-01-01T00:00:00.000Z', '2000-01-01T00:00:01.000Z', 'run', '0.1.0', 3, 0, 'old', $1)",
        )
        .bind(&report)
        .execute(&mut c)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO run_labels (run_id, key, value) VALUES ('old-run', 'branch', 'v1')",
        )
        .execute(&mut c)
        .await
        .unwrap();
    }
    assert_eq!(schema_of(url).await, 1, "a version-1 store");
    let store = Store::open(&loc).await.unwrap();
    let runs = store.list(&Filter::default()).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, "old-run");
    assert_eq!(runs[0].labels.get("branch").map(String::as_str), Some("v1"));
    let (r, _) = store.load("old-run").await.unwrap().unwrap();
    assert_eq!(r.targets[0].name, "openai");
    assert!(store.repeat_set("old-run").await.unwrap().is_empty());
    drop(store);
    // A repeated run goes in beside it, as one set.
    let set = dir.path().join("set");
    let o = quick_run(
        &m.url(),
        &set,
        2,
        &["--repeat", "2", "--store", &url_or_path(&loc)],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let store = Store::open(&loc).await.unwrap();
    let runs = store.list(&Filter::default()).await.unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(store.repeat_set(&runs[0].id).await.unwrap().len(), 2);
    assert_eq!(
        schema_of(url).await,
        servebench_engine::store::schema_version()
    );
}

/// The schema version of the store at `url`, as its migrations table records it.
async fn schema_of(url: &str) -> i64 {
    use sqlx::Connection;
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::Row::get(
        &sqlx::query("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(&mut c)
            .await
            .unwrap(),
        0,
    )
}

fn url_or_path(loc: &Location) -> String {
    match loc {
        Location::Sqlite(p) => p.display().to_string(),
        Location::Postgres(u) => u.clone(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_1_sqlite_store_is_upgraded_with_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    upgrade_from_version_1(Location::Sqlite(db), &url).await;
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs the PostgreSQL server `make test` starts (--features e2e)"
)]
async fn a_version_1_postgresql_store_is_upgraded_with_its_runs() {
    let url = crate::history::postgres_database("upgrade").await;
    upgrade_from_version_1(Location::Postgres(url.clone()), &url).await;
    crate::history::drop_postgres_database(&url).await;
}

/// Each repeat starts its managed server afresh, as a cold load does: two repeats, two server
/// processes (this one exits at once, so both repeats fail — and are counted as failed runs,
/// not left out quietly).
#[tokio::test(flavor = "multi_thread")]
async fn every_repeat_starts_its_managed_server_afresh() {
    let port = crate::common::launch_port();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            r#"[[targets]]
name = "fresh"
api = "openai"
url = "http://127.0.0.1:{port}"
model = "m"
launch = ["sh", "-c", "echo PID=$$; exit 3"]
"#
        ),
    )
    .unwrap();
    let out = dir.path().join("set");
    let o = servebench(&[
        "run",
        plan.to_str().unwrap(),
        "--repeat",
        "2",
        "--no-store",
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    let pid = |k: u32| {
        let r = read(&out.join(format!("repeat-{k}/report.json")));
        r["targets"][0]["attempts"][0]["log_tail"][0]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (a, b) = (pid(1), pid(2));
    assert!(a.starts_with("PID=") && b.starts_with("PID="), "{a} {b}");
    assert_ne!(a, b, "one server process per repeat");
    let summary = read(&out.join("repeats.json"));
    assert_eq!(
        summary["targets"][0]["failed_runs"],
        serde_json::json!([1, 2])
    );
}
