//! The history store, as a real SQLite file: every finished run recorded with its labels,
//! metrics and records; `history list`, `show` and `import`; concurrent writers; a store that
//! cannot be reached, or was written by a newer servebench; labels that do not parse.

use crate::common::bin::{read_report, servebench};
use crate::common::mock::MockCfg;
use crate::common::openai::mock_openai;
use servebench_engine::store::{Filter, Location, Store};

/// `servebench run` of `warm` requests against the mock at `url` into `out`, with `extra`
/// arguments (`--store …`, `--no-store`, `--label …`).
pub(crate) async fn quick_run(
    url: &str,
    out: &std::path::Path,
    warm: u32,
    extra: &[&str],
) -> crate::common::bin::Out {
    let warm = warm.to_string();
    let mut args = vec![
        "run",
        "--api",
        "openai",
        "--url",
        url,
        "--model",
        "mock-model",
        "--warm",
        &warm,
        "--max-tokens",
        "4",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    servebench(&args).await
}

/// `servebench run` against a quick mock into `out`, recorded in `db` with `labels`.
async fn run_into(url: &str, out: &std::path::Path, db: &std::path::Path, labels: &[&str]) {
    let mut extra = vec!["--store", db.to_str().unwrap()];
    for l in labels {
        extra.extend(["--label", l]);
    }
    let o = quick_run(url, out, 4, &extra).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("History: stored as "), "{}", o.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_run_is_recorded_with_its_labels_metrics_and_records() {
    let m = mock_openai(MockCfg::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let out = dir.path().join("out");
    run_into(&m.url(), &out, &db, &["team=infra", "server=mock-1"]).await;
    let other = dir.path().join("other");
    run_into(&m.url(), &other, &db, &["team=infra", "server=mock-2"]).await;
    // Listing by label finds the one run; by team both.
    let o = servebench(&[
        "history",
        "list",
        "--store",
        db.to_str().unwrap(),
        "--label",
        "server=mock-1",
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("1 run(s)") && o.stdout.contains("server=mock-1"),
        "{}",
        o.stdout
    );
    let store = Store::open(&Location::Sqlite(db.clone())).await.unwrap();
    let team = store
        .list(&Filter {
            labels: vec![("team".into(), "infra".into())],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(team.len(), 2);
    let run = team
        .iter()
        .find(|r| r.labels["server"] == "mock-1")
        .unwrap();
    // The run's own labels: servebench's version, the command, the machine.
    assert_eq!(run.labels["command"], "run");
    assert_eq!(run.labels["servebench_version"], env!("CARGO_PKG_VERSION"));
    assert!(run.labels.contains_key("cpu") && run.labels.contains_key("gpu"));
    assert_eq!(run.targets, vec!["openai".to_string()]);
    // Every journalled request is stored, and the headline metrics are the report's.
    let shown = store.show(&run.id).await.unwrap().unwrap();
    let journalled = std::fs::read_to_string(out.join("requests.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(shown.requests as usize, journalled);
    let report = read_report(&out);
    let ttft = report["targets"][0]["phases"]["warm"]["ttft_s"]["p50"]
        .as_f64()
        .unwrap();
    let stored = shown
        .metrics
        .iter()
        .find(|(t, m, _)| t == "openai" && m == "warm_ttft_s")
        .map(|x| x.2)
        .unwrap();
    assert_eq!(stored, ttft);
    let o = servebench(&["history", "show", &run.id, "--store", db.to_str().unwrap()]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("| openai | warm_ttft_s |"),
        "{}",
        o.stdout
    );
    let o = servebench(&["history", "show", "nope", "--store", db.to_str().unwrap()]).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
}

/// Copies of one finished run under other directory names are other runs: eight imported at
/// once into one SQLite file lose nothing; importing them again stores nothing twice.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_imports_lose_nothing_and_a_run_is_kept_once() {
    let m = mock_openai(MockCfg::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("runs").join("first");
    std::fs::create_dir_all(first.parent().unwrap()).unwrap();
    let o = quick_run(&m.url(), &first, 3, &["--no-store"]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        !o.stderr.contains("History:"),
        "--no-store stored: {}",
        o.stderr
    );
    for k in 0..7 {
        let copy = dir.path().join("runs").join(format!("copy{k}"));
        std::fs::create_dir(&copy).unwrap();
        for f in ["report.json", "requests.jsonl"] {
            std::fs::copy(first.join(f), copy.join(f)).unwrap();
        }
    }
    let db = dir.path().join("team.sqlite");
    let runs: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let imports = runs.iter().map(|r| {
        let (r, db) = (r.clone(), db.clone());
        tokio::spawn(async move {
            servebench(&[
                "history",
                "import",
                r.to_str().unwrap(),
                "--store",
                db.to_str().unwrap(),
            ])
            .await
        })
    });
    for o in futures_util::future::join_all(imports).await {
        let o = o.unwrap();
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    let store = Store::open(&Location::Sqlite(db.clone())).await.unwrap();
    let all = store.list(&Filter::default()).await.unwrap();
    assert_eq!(all.len(), 8, "{all:?}");
    for r in &all {
        let s = store.show(&r.id).await.unwrap().unwrap();
        assert!(s.requests >= 3, "{}: {} requests", r.id, s.requests);
    }
    // The directory of runs, again: every one already there.
    let o = servebench(&[
        "history",
        "import",
        dir.path().join("runs").to_str().unwrap(),
        "--store",
        db.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout.matches("already stored").count(),
        8,
        "{}",
        o.stdout
    );
    // Nothing finished under a path: exit 2, said.
    let o = servebench(&[
        "history",
        "import",
        dir.path().to_str().unwrap(),
        "--store",
        db.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("no finished run"), "{}", o.stderr);
}

/// A store that cannot be reached never costs the run: the run's files are written, exit 0,
/// and one line names the host (never the password) and the command that stores it later.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_store_never_costs_the_run() {
    let m = mock_openai(MockCfg::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let port = crate::common::ports::dead_port();
    let url = format!("postgres://bench:s3cret-pw@127.0.0.1:{port}/history");
    let o = quick_run(&m.url(), &out, 2, &["--store", &url]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(out.join("report.json").is_file());
    let line = o
        .stderr
        .lines()
        .find(|l| l.contains("history"))
        .unwrap_or_else(|| panic!("no history line: {}", o.stderr));
    assert!(
        line.contains(&format!("127.0.0.1:{port}"))
            && line.contains("servebench history import")
            && line.contains(out.to_str().unwrap()),
        "{line}"
    );
    assert!(
        !o.stderr.contains("s3cret-pw"),
        "the password was printed: {}",
        o.stderr
    );
}

/// A store whose schema is newer than this servebench's is refused, naming both versions; a
/// label without `=` is exit 2.
#[tokio::test(flavor = "multi_thread")]
async fn a_newer_store_and_a_bad_label_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    drop(Store::open(&Location::Sqlite(db.clone())).await.unwrap());
    // A later servebench's migration, as sqlx records it.
    let o = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (7, 'future', 1, x'00', 0)\"); c.execute(\"UPDATE store_meta SET value = '9.9.9' WHERE key = 'written_by'\"); c.commit()",
            db.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = servebench(&["history", "list", "--store", db.to_str().unwrap()]).await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("schema version 7")
            && o.stderr.contains("knows up to version 2")
            && o.stderr
                .contains("written by a newer servebench (servebench 9.9.9)")
            && o.stderr
                .contains(&format!("servebench {}", env!("CARGO_PKG_VERSION"))),
        "{}",
        o.stderr
    );
    let o = servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        "http://127.0.0.1:9",
        "--model",
        "m",
        "--label",
        "team",
    ])
    .await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("`team` is not a label: use KEY=VALUE"),
        "{}",
        o.stderr
    );
    // Another scheme is refused, naming the scheme alone (the rest may hold a password).
    for cmd in [
        &["history", "list"][..],
        &[
            "run",
            "--api",
            "openai",
            "--url",
            "http://127.0.0.1:9",
            "--model",
            "m",
        ][..],
    ] {
        let mut args = cmd.to_vec();
        args.extend(["--store", "mysql://bench:pw-123@db/h"]);
        let o = servebench(&args).await;
        assert_eq!(o.code, 2, "{}", o.stderr);
        assert!(
            o.stderr.contains("--store mysql://…: not a store"),
            "{}",
            o.stderr
        );
        assert!(!o.stderr.contains("pw-123"), "{}", o.stderr);
    }
}

/// A write killed (`kill -9`) halfway leaves the store as it was: the run is either whole or
/// absent, and no request row outlives its run; importing again stores it whole.
#[tokio::test(flavor = "multi_thread")]
async fn a_write_killed_halfway_leaves_nothing_half_written() {
    let m = mock_openai(MockCfg::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("big");
    let o = quick_run(&m.url(), &run, 3, &["--no-store"]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    // A journal long enough that storing it takes a while (≈ 6 s for 40,000 records in a debug
    // build; reading them takes well under the 2 s before the kill).
    let journal = std::fs::read_to_string(run.join("requests.jsonl")).unwrap();
    std::fs::write(
        run.join("requests.jsonl"),
        journal.repeat(40_000 / journal.lines().count()),
    )
    .unwrap();
    let lines = std::fs::read_to_string(run.join("requests.jsonl"))
        .unwrap()
        .lines()
        .count() as i64;
    let db = dir.path().join("h.sqlite");
    drop(Store::open(&Location::Sqlite(db.clone())).await.unwrap());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_servebench"))
        .env("SERVEBENCH_STORE", crate::common::bin::TEST_STORE)
        .args([
            "history",
            "import",
            run.to_str().unwrap(),
            "--store",
            db.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    child.kill().await.unwrap();
    let killed = child.wait_with_output().await.unwrap();
    let store = Store::open(&Location::Sqlite(db.clone())).await.unwrap();
    let after_kill = store.list(&Filter::default()).await.unwrap();
    eprintln!(
        "killed after 2 s: {} run(s) stored ({})",
        after_kill.len(),
        String::from_utf8_lossy(&killed.stdout).trim()
    );
    for r in &after_kill {
        assert_eq!(store.show(&r.id).await.unwrap().unwrap().requests, lines);
    }
    assert_eq!(store.orphans().await.unwrap(), 0, "rows without their run");
    let t = std::time::Instant::now();
    let o = servebench(&[
        "history",
        "import",
        run.to_str().unwrap(),
        "--store",
        db.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    eprintln!(
        "a whole import of {lines} records: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let all = store.list(&Filter::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        store.show(&all[0].id).await.unwrap().unwrap().requests,
        lines
    );
}

/// The real PostgreSQL server `make test` starts (`scripts/postgres.sh`): a database of its
/// own for the calling test, created fresh.
pub(crate) async fn postgres_database(name: &str) -> String {
    use sqlx::Connection;
    let admin = std::env::var("SERVEBENCH_TEST_POSTGRES").expect(
        "SERVEBENCH_TEST_POSTGRES is not set: `make test` starts PostgreSQL (or: export SERVEBENCH_TEST_POSTGRES=$(scripts/postgres.sh start))",
    );
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(&admin).await.unwrap();
    let db = format!("servebench_test_{name}_{}", std::process::id());
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .unwrap();
    }
    // `postgres://user:pw@host:port/postgres` → the same server, this database.
    let (server, _) = admin.rsplit_once('/').unwrap();
    format!("{server}/{db}")
}

/// The same runs stored in SQLite and in PostgreSQL read back identical (listing, labels,
/// metrics, record counts), each created from empty by the same migrations; a wrong password
/// is one line naming the host, never the password.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs the PostgreSQL server `make test` starts (--features e2e)"
)]
async fn the_same_runs_read_back_identical_from_sqlite_and_postgresql() {
    let pg = postgres_database("identical").await;
    let m = mock_openai(MockCfg::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let mut runs = Vec::new();
    for (k, label) in ["server=a", "server=b"].iter().enumerate() {
        let out = dir.path().join(format!("run{k}"));
        run_into(&m.url(), &out, &db, &[label, "team=infra"]).await;
        runs.push(out);
    }
    // The same directories into PostgreSQL, with the labels they were run with.
    for (out, label) in runs.iter().zip(["server=a", "server=b"]) {
        let o = servebench(&[
            "history",
            "import",
            out.to_str().unwrap(),
            "--store",
            &pg,
            "--label",
            label,
            "--label",
            "team=infra",
        ])
        .await;
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    let lite = Store::open(&Location::Sqlite(db)).await.unwrap();
    let post = Store::open(&Location::parse(&pg).unwrap()).await.unwrap();
    // Recorded as it finished, a SQLite run also carries the machine's CPU and git commit;
    // imported, the PostgreSQL one cannot know them: compare the rest.
    let strip = |mut rows: Vec<servebench_engine::store::RunRow>| {
        for r in &mut rows {
            r.labels.remove("cpu");
            r.labels.remove("git_commit");
        }
        rows
    };
    let (a, b) = (
        strip(lite.list(&Filter::default()).await.unwrap()),
        strip(post.list(&Filter::default()).await.unwrap()),
    );
    assert_eq!(a.len(), 2);
    assert_eq!(a, b);
    for r in &a {
        let (x, y) = (
            lite.show(&r.id).await.unwrap().unwrap(),
            post.show(&r.id).await.unwrap().unwrap(),
        );
        assert_eq!(
            (x.metrics, x.requests, x.answers),
            (y.metrics, y.requests, y.answers)
        );
    }
    let filtered = post
        .list(&Filter {
            target: Some("openai".into()),
            since: Some("2000-01-01T00:00:00.000Z".into()),
            labels: vec![("server".into(), "b".into())],
        })
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
    // A wrong password: one line naming the host and what to check, never the password.
    let wrong = pg.replace(":servebench@", ":not-the-password@");
    let o = servebench(&["history", "list", "--store", &wrong]).await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(o.stderr.trim().lines().count(), 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("127.0.0.1:15432") && o.stderr.contains("password authentication failed"),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains("not-the-password"), "{}", o.stderr);
    drop(post);
    drop_postgres_database(&pg).await;
}

/// Drop a database [`postgres_database`] made.
pub(crate) async fn drop_postgres_database(url: &str) {
    use sqlx::Connection;
    let admin = std::env::var("SERVEBENCH_TEST_POSTGRES").unwrap();
    let (_, db) = url.rsplit_once('/').unwrap();
    let mut c = sqlx::AnyConnection::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
    )))
    .execute(&mut c)
    .await
    .unwrap();
}

/// `history trend`: a metric over the stored runs, oldest first, the run whose labels or
/// settings changed marked; CSV, Markdown, and a self-contained HTML page with the chart
/// (opened in a real browser by `make test`).
#[tokio::test(flavor = "multi_thread")]
async fn a_trend_marks_the_run_whose_setting_changed() {
    let m = mock_openai(MockCfg::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    for (k, label) in ["server=mock-1", "server=mock-1", "server=mock-2"]
        .iter()
        .enumerate()
    {
        run_into(&m.url(), &dir.path().join(format!("run{k}")), &db, &[label]).await;
    }
    let trend = |format: &'static str| {
        let db = db.clone();
        async move {
            servebench(&[
                "history",
                "trend",
                "warm_ttft_s.p90",
                "--target",
                "openai",
                "--format",
                format,
                "--store",
                db.to_str().unwrap(),
            ])
            .await
        }
    };
    let o = trend("csv").await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rows: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(rows.len(), 4, "{}", o.stdout);
    assert!(
        rows[1].ends_with(",\"\"") && rows[2].ends_with(",\"\""),
        "{}",
        o.stdout
    );
    assert!(rows[3].contains("server=mock-1 → mock-2"), "{}", o.stdout);
    let v: f64 = rows[1].split(',').nth(3).unwrap().parse().unwrap();
    assert!(v > 0.0 && v < 1.0, "a TTFT p90 in seconds: {v}");
    let o = trend("md").await;
    assert!(o.stdout.contains("| openai | 3 |"), "{}", o.stdout);
    let html = dir.path().join("trend.html");
    let o = servebench(&[
        "history",
        "trend",
        "warm_ttft_s.p90",
        "--format",
        "html",
        "--out",
        html.to_str().unwrap(),
        "--store",
        db.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("run (oldest first)"));
    if cfg!(feature = "e2e") {
        crate::compare::check_in_browser(&html, dir.path(), 1);
    }
    let o = servebench(&[
        "history",
        "trend",
        "warm_ttft",
        "--store",
        db.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 2, "{}", o.stderr);
}

/// A team's PostgreSQL across a network is reached over TLS with its certificate checked:
/// `make test`'s server refuses the role `servebench_tls` on any connection without TLS
/// (`scripts/postgres.sh`), so a run stored as that role was stored over TLS; without the
/// server's CA (`sslrootcert`) the certificate is refused, in one line that names the host,
/// says what to check and never shows the password.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs the PostgreSQL server `make test` starts (--features e2e)"
)]
async fn a_team_server_is_reached_over_tls_with_its_certificate_checked() {
    use sqlx::Connection;
    let admin = std::env::var("SERVEBENCH_TEST_POSTGRES").expect("make test sets it");
    let ca = std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/postgres.sh"
    ))
    .arg("ca")
    .output()
    .unwrap();
    assert!(
        ca.status.success(),
        "{}",
        String::from_utf8_lossy(&ca.stderr)
    );
    let ca = String::from_utf8(ca.stdout).unwrap().trim().to_string();
    sqlx::any::install_default_drivers();
    let db = format!("servebench_test_tls_{}", std::process::id());
    let mut c = sqlx::AnyConnection::connect(&admin).await.unwrap();
    // Databases an earlier run of this test left (it stopped before its clean-up) would keep
    // the role from being dropped.
    let left: Vec<String> = sqlx::query(
        "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
         WHERE r.rolname = 'servebench_tls'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap()
    .iter()
    .map(|r| sqlx::Row::get(r, 0))
    .collect();
    for old in left {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {old} WITH (FORCE)"
        )))
        .execute(&mut c)
        .await
        .unwrap();
    }
    for sql in [
        format!("DROP DATABASE IF EXISTS {db}"),
        "DROP ROLE IF EXISTS servebench_tls".to_string(),
        "CREATE ROLE servebench_tls LOGIN PASSWORD 'tls-pw-7'".to_string(),
        format!("CREATE DATABASE {db} OWNER servebench_tls"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .unwrap();
    }
    // `postgres://user:pw@HOST:PORT/postgres` → HOST:PORT.
    let (_, host) = admin.rsplit_once('@').unwrap();
    let (host, _) = host.rsplit_once('/').unwrap();
    let base = format!("postgres://servebench_tls:tls-pw-7@{host}/{db}");
    let list = |url: String| async move { servebench(&["history", "list", "--store", &url]).await };
    // Without TLS: refused by the server, and said how to fix it.
    let o = list(format!("{base}?sslmode=disable")).await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("over TLS only, add sslmode=verify-full"),
        "{}",
        o.stderr
    );
    // TLS, but the server's CA unknown (the system's store): the certificate is refused.
    let o = list(format!("{base}?sslmode=verify-full")).await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains(&format!("postgres://{host}/{db}"))
            && o.stderr.contains("sslrootcert=FILE")
            && o.stderr.trim().lines().count() == 1,
        "{}",
        o.stderr
    );
    for out in [&o.stderr, &o.stdout] {
        assert!(!out.contains("tls-pw-7"), "{out}");
    }
    // With its CA: a run is stored over TLS, and read back.
    let url = format!("{base}?sslmode=verify-full&sslrootcert={ca}");
    let m = mock_openai(MockCfg::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let o = quick_run(&m.url(), &dir.path().join("run"), 2, &["--store", &url]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("History: stored as "), "{}", o.stderr);
    let o = list(url.clone()).await;
    assert!(o.stdout.contains("1 run(s) in"), "{}", o.stdout);
    let mut tls = sqlx::AnyConnection::connect(&url).await.unwrap();
    let row = sqlx::query("SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut tls)
        .await
        .unwrap();
    let version: String = sqlx::Row::get(&row, 0);
    assert!(version.starts_with("TLSv1."), "{version}");
    drop(tls);
    drop_postgres_database(&format!("{}/{db}", admin.rsplit_once('/').unwrap().0)).await;
    sqlx::query("DROP ROLE IF EXISTS servebench_tls")
        .execute(&mut c)
        .await
        .unwrap();
}
