//! The history store: every finished `run`, `eval` and `capacity` kept in one database — a
//! SQLite file by default ([`default_location`]), PostgreSQL for a team (`postgres://…`) —
//! under the same versioned migrations ([`MIGRATIONS`]). A run is written in one transaction
//! from its directory ([`run::StoredRun`]): a write cut short leaves nothing, the same run
//! written twice is kept once, and a store written by a newer servebench is refused.
//!
//! sqlx's `Any` driver speaks to both databases through one code path (one schema, one set
//! of queries with `$N` placeholders, which SQLite accepts too).

pub mod run;

use run::StoredRun;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Row, SqlSafeStr};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The schema, one migration per version; portable SQL (no autoincrement, `BIGINT`,
/// `DOUBLE PRECISION`, `TEXT`): the same tables in SQLite and PostgreSQL.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "store_meta, runs, labels, targets, metrics, requests, answers",
        "CREATE TABLE store_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        stored_at TEXT NOT NULL,
        command TEXT NOT NULL,
        servebench_version TEXT NOT NULL,
        report_schema BIGINT NOT NULL,
        interrupted BIGINT NOT NULL,
        source_dir TEXT NOT NULL,
        report_json TEXT NOT NULL
    );
    CREATE INDEX runs_created_at ON runs (created_at);
    CREATE TABLE run_labels (
        run_id TEXT NOT NULL REFERENCES runs (id),
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    );
    CREATE TABLE run_targets (
        run_id TEXT NOT NULL REFERENCES runs (id),
        target TEXT NOT NULL,
        api TEXT NOT NULL,
        model TEXT NOT NULL,
        server_version TEXT,
        quantization TEXT,
        status TEXT NOT NULL,
        PRIMARY KEY (run_id, target)
    );
    CREATE TABLE metrics (
        run_id TEXT NOT NULL REFERENCES runs (id),
        target TEXT NOT NULL,
        metric TEXT NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (run_id, target, metric)
    );
    CREATE TABLE requests (
        run_id TEXT NOT NULL REFERENCES runs (id),
        seq BIGINT NOT NULL,
        target TEXT NOT NULL,
        phase TEXT NOT NULL,
        outcome TEXT NOT NULL,
        record_json TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    CREATE TABLE answers (
        run_id TEXT NOT NULL REFERENCES runs (id),
        seq BIGINT NOT NULL,
        target TEXT NOT NULL,
        task_id TEXT NOT NULL,
        result_json TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    );",
    ),
    (
        2,
        "runs.repeat_group, runs.repeat_index: the repeats of one --repeat set",
        "ALTER TABLE runs ADD COLUMN repeat_group TEXT;
    ALTER TABLE runs ADD COLUMN repeat_index BIGINT;
    CREATE INDEX runs_repeat_group ON runs (repeat_group);",
    ),
];

/// The newest schema version this servebench knows.
pub fn schema_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Where the store is: `--store`, else `SERVEBENCH_STORE`, else [`default_location`].
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    /// A SQLite file (created with its directory when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://user@host/db`; the password from `PGPASSWORD` or the URL,
    /// never printed).
    Postgres(String),
}

impl Location {
    /// `postgres://…` / `postgresql://…` (any case), `sqlite://PATH`, `sqlite:PATH`, or a file
    /// path; another `scheme://` is refused, naming only the scheme (the rest may hold a
    /// password).
    pub fn parse(s: &str) -> Result<Location, String> {
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(Location::Postgres(s.to_string()));
        }
        for prefix in ["sqlite://", "sqlite:"] {
            if lower.starts_with(prefix) {
                return Ok(Location::Sqlite(PathBuf::from(&s[prefix.len()..])));
            }
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(format!(
                "--store {scheme}://…: not a store: use a SQLite file path or postgres://user@host/db"
            ));
        }
        Ok(Location::Sqlite(PathBuf::from(s)))
    }

    /// How it is named in messages: the file, or the PostgreSQL host and database (never the
    /// user's password).
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(u) => match url::Url::parse(u) {
                Ok(url) => format!(
                    "postgres://{}:{}{}",
                    url.host_str().unwrap_or("localhost"),
                    url.port().unwrap_or(5432),
                    url.path()
                ),
                Err(_) => "a postgres URL that does not parse".into(),
            },
        }
    }
}

/// The default store: `$XDG_DATA_HOME/servebench/history.sqlite`, else
/// `~/.local/share/servebench/history.sqlite`.
pub fn default_location() -> Location {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    Location::Sqlite(base.join("servebench").join("history.sqlite"))
}

/// Why the store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Not reachable, refused, or not a database.
    #[error("cannot open the history store {at}: {why}")]
    Open {
        /// The store, named without its password.
        at: String,
        /// What went wrong and what to check.
        why: String,
    },
    /// Written by a newer servebench.
    #[error(
        "the history store {at} has schema version {found}, written by a newer servebench ({by}); this servebench ({ours}) knows up to version {known}: upgrade servebench, or use another store (--store)"
    )]
    Newer {
        /// The store.
        at: String,
        /// Its schema version.
        found: i64,
        /// The newest this servebench knows.
        known: i64,
        /// The servebench that wrote it, as it said.
        by: String,
        /// This servebench's version.
        ours: String,
    },
    /// A query failed.
    #[error("history store {at}: {why}")]
    Query {
        /// The store.
        at: String,
        /// The database's error.
        why: String,
    },
}

/// An open store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    at: String,
}

/// Whether a run was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Stored now.
    New,
    /// Already there (the same id): nothing written.
    AlreadyStored,
}

/// One run in a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// Its id.
    pub id: String,
    /// When it ran (the report's `created_at`).
    pub created_at: String,
    /// `run`, `eval` or `capacity`.
    pub command: String,
    /// Its targets.
    pub targets: Vec<String>,
    /// Its labels.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// What `history list` keeps.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Runs with this target.
    pub target: Option<String>,
    /// Runs created at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Runs carrying every one of these labels.
    pub labels: Vec<(String, String)>,
}

fn q(at: &str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    move |e| StoreError::Query {
        at: at.to_string(),
        why: e.to_string(),
    }
}

impl Store {
    /// Open (and create or upgrade) the store at `loc`; a store written by a newer servebench
    /// is refused before anything is changed.
    pub async fn open(loc: &Location) -> Result<Store, StoreError> {
        Store::open_upto(loc, schema_version()).await
    }

    /// [`Store::open`], creating or upgrading the schema only up to `version` — a store as
    /// an older servebench left it (the upgrade tests start from one).
    #[doc(hidden)]
    pub async fn open_upto(loc: &Location, version: i64) -> Result<Store, StoreError> {
        install_default_drivers();
        let at = loc.describe();
        let url = match loc {
            Location::Sqlite(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                        at: at.clone(),
                        why: format!("cannot create {}: {e}", dir.display()),
                    })?;
                }
                // An absolute, percent-encoded path: `#`, `?`, `%` and spaces in a file name
                // stay in the file name.
                let abs = std::path::absolute(p).map_err(|e| StoreError::Open {
                    at: at.clone(),
                    why: format!("cannot resolve {}: {e}", p.display()),
                })?;
                let file = url::Url::from_file_path(&abs).map_err(|()| StoreError::Open {
                    at: at.clone(),
                    why: format!("{} is not a file path", abs.display()),
                })?;
                format!("sqlite://{}?mode=rwc", file.path())
            }
            Location::Postgres(u) => u.clone(),
        };
        let sqlite = matches!(loc, Location::Sqlite(_));
        let pool = AnyPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(std::time::Duration::from_secs(15))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // Writers from other processes wait their turn instead of failing.
                        sqlx::query("PRAGMA busy_timeout = 30000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| StoreError::Open {
                at: at.clone(),
                why: open_hint(loc, &e),
            })?;
        let store = Store { pool, at };
        store.refuse_newer().await?;
        store.migrate(version).await?;
        // The newest servebench that wrote the store (named when an older one is refused).
        sqlx::query(
            "INSERT INTO store_meta (key, value) VALUES ('written_by', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(env!("CARGO_PKG_VERSION"))
        .execute(&store.pool)
        .await
        .map_err(q(&store.at))?;
        Ok(store)
    }

    /// The store, as messages name it.
    pub fn describe(&self) -> &str {
        &self.at
    }

    /// Refuse a store whose schema is newer than this servebench's.
    async fn refuse_newer(&self) -> Result<(), StoreError> {
        let found: Option<i64> = match sqlx::query("SELECT MAX(version) AS v FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await
        {
            Ok(row) => row.try_get::<Option<i64>, _>("v").ok().flatten(),
            // No migrations table: a new store.
            Err(_) => None,
        };
        let known = schema_version();
        match found {
            Some(found) if found > known => {
                let by = sqlx::query("SELECT value FROM store_meta WHERE key = 'written_by'")
                    .fetch_optional(&self.pool)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|r| r.try_get::<String, _>(0).ok())
                    .map_or_else(
                        || "version unknown".to_string(),
                        |v| format!("servebench {v}"),
                    );
                Err(StoreError::Newer {
                    at: self.at.clone(),
                    found,
                    known,
                    by,
                    ours: format!("servebench {}", env!("CARGO_PKG_VERSION")),
                })
            }
            _ => Ok(()),
        }
    }

    /// Create or upgrade the schema.
    async fn migrate(&self, upto: i64) -> Result<(), StoreError> {
        let migrations = MIGRATIONS
            .iter()
            .filter(|m| m.0 <= upto)
            .map(|(v, d, sql)| {
                Migration::new(
                    *v,
                    (*d).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect();
        let migrator = Migrator::with_migrations(migrations);
        // Two servebench processes opening a new SQLite store at once both try to apply a
        // migration (sqlx's migration lock is PostgreSQL's advisory lock; SQLite has none):
        // the loser's transaction rolls back, and running again finds the migration applied.
        let mut tries = 0;
        loop {
            match migrator.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(_) if tries < 4 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100 * tries)).await;
                }
                Err(e) => {
                    return Err(StoreError::Query {
                        at: self.at.clone(),
                        why: format!("cannot create or upgrade its schema: {e}"),
                    });
                }
            }
        }
    }

    /// Write `run` in one transaction; a run already stored (same id) is left as it is.
    pub async fn record(&self, run: &StoredRun) -> Result<Recorded, StoreError> {
        let err = q(&self.at);
        let mut tx = self.pool.begin().await.map_err(&err)?;
        let stored_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let inserted = sqlx::query(
            "INSERT INTO runs (id, created_at, stored_at, command, servebench_version, report_schema, interrupted, source_dir, report_json, repeat_group, repeat_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&run.id)
        .bind(utc_millis(&run.report.created_at))
        .bind(&stored_at)
        .bind(&run.command)
        .bind(&run.report.servebench_version)
        .bind(i64::from(run.report.schema_version))
        .bind(i64::from(run.report.interrupted))
        .bind(&run.source_dir)
        .bind(&run.report_json)
        .bind(run.report.repeat.as_ref().map(|r| r.group.clone()))
        .bind(run.report.repeat.as_ref().map(|r| i64::from(r.index)))
        .execute(&mut *tx)
        .await
        .map_err(&err)?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await.map_err(&err)?;
            return Ok(Recorded::AlreadyStored);
        }
        for (k, v) in &run.labels {
            sqlx::query("INSERT INTO run_labels (run_id, key, value) VALUES ($1, $2, $3)")
                .bind(&run.id)
                .bind(k)
                .bind(v)
                .execute(&mut *tx)
                .await
                .map_err(&err)?;
        }
        for t in &run.report.targets {
            sqlx::query(
                "INSERT INTO run_targets (run_id, target, api, model, server_version, quantization, status)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&run.id)
            .bind(&t.name)
            .bind(t.api.to_string())
            .bind(&t.model)
            .bind(t.server_version.clone())
            .bind(t.model_info.quantization.clone())
            .bind(format!("{:?}", t.status).to_lowercase())
            .execute(&mut *tx)
            .await
            .map_err(&err)?;
        }
        for (target, metric, value) in &run.metrics {
            sqlx::query(
                "INSERT INTO metrics (run_id, target, metric, value) VALUES ($1, $2, $3, $4)",
            )
            .bind(&run.id)
            .bind(target)
            .bind(metric)
            .bind(*value)
            .execute(&mut *tx)
            .await
            .map_err(&err)?;
        }
        for (seq, r) in run.requests.iter().enumerate() {
            let json = serde_json::to_string(r).expect("a record serialises");
            sqlx::query(
                "INSERT INTO requests (run_id, seq, target, phase, outcome, record_json) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&run.id)
            .bind(seq as i64)
            .bind(&r.target)
            .bind(r.phase.to_string())
            .bind(r.outcome.kind())
            .bind(json)
            .execute(&mut *tx)
            .await
            .map_err(&err)?;
        }
        for (seq, a) in run.answers.iter().enumerate() {
            let json = serde_json::to_string(a).expect("an answer serialises");
            sqlx::query(
                "INSERT INTO answers (run_id, seq, target, task_id, result_json) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&run.id)
            .bind(seq as i64)
            .bind(&a.target)
            .bind(&a.task_id)
            .bind(json)
            .execute(&mut *tx)
            .await
            .map_err(&err)?;
        }
        tx.commit().await.map_err(&err)?;
        Ok(Recorded::New)
    }

    /// Runs matching `f`, newest first.
    pub async fn list(&self, f: &Filter) -> Result<Vec<RunRow>, StoreError> {
        let err = q(&self.at);
        // Three queries whatever the number of runs (a team's store across a network pays a
        // round trip per query): the runs, then their labels and targets by the same filter.
        const MATCHING: &str = "SELECT id FROM runs
             WHERE (CAST($1 AS TEXT) IS NULL OR created_at >= $1)
               AND (CAST($2 AS TEXT) IS NULL OR EXISTS
                    (SELECT 1 FROM run_targets t WHERE t.run_id = runs.id AND t.target = $2))";
        let fetch = |sql: String| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(f.since.clone())
                .bind(f.target.clone())
                .fetch_all(&self.pool)
        };
        let rows = fetch(format!(
            "SELECT id, created_at, command FROM runs WHERE id IN ({MATCHING})
             ORDER BY created_at DESC, id DESC"
        ))
        .await
        .map_err(&err)?;
        let mut labels: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for r in fetch(format!(
            "SELECT run_id, key, value FROM run_labels WHERE run_id IN ({MATCHING})"
        ))
        .await
        .map_err(&err)?
        {
            labels
                .entry(r.try_get(0).map_err(&err)?)
                .or_default()
                .insert(r.try_get(1).map_err(&err)?, r.try_get(2).map_err(&err)?);
        }
        let mut targets: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in fetch(format!(
            "SELECT run_id, target FROM run_targets WHERE run_id IN ({MATCHING}) ORDER BY target"
        ))
        .await
        .map_err(&err)?
        {
            targets
                .entry(r.try_get(0).map_err(&err)?)
                .or_default()
                .push(r.try_get(1).map_err(&err)?);
        }
        let mut out = Vec::new();
        for row in rows {
            let id: String = row.try_get("id").map_err(&err)?;
            let labels = labels.remove(&id).unwrap_or_default();
            if !f
                .labels
                .iter()
                .all(|(k, v)| labels.get(k).is_some_and(|x| x == v))
            {
                continue;
            }
            out.push(RunRow {
                targets: targets.remove(&id).unwrap_or_default(),
                created_at: row.try_get("created_at").map_err(&err)?,
                command: row.try_get("command").map_err(&err)?,
                id,
                labels,
            });
        }
        Ok(out)
    }

    async fn labels(
        &self,
        id: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        let err = q(&self.at);
        let rows = sqlx::query("SELECT key, value FROM run_labels WHERE run_id = $1")
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(&err)?;
        rows.iter()
            .map(|r| Ok((r.try_get(0).map_err(&err)?, r.try_get(1).map_err(&err)?)))
            .collect()
    }

    async fn targets(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let err = q(&self.at);
        let rows = sqlx::query("SELECT target FROM run_targets WHERE run_id = $1 ORDER BY target")
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(&err)?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(&err))
            .collect()
    }

    /// One run: its row, metrics (`(target, metric, value)`), and its counts of requests and
    /// answers; `None` when no run has that id.
    pub async fn show(&self, id: &str) -> Result<Option<ShownRun>, StoreError> {
        let err = q(&self.at);
        let Some(row) = sqlx::query("SELECT id, created_at, command FROM runs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(&err)?
        else {
            return Ok(None);
        };
        let run = RunRow {
            id: id.to_string(),
            created_at: row.try_get("created_at").map_err(&err)?,
            command: row.try_get("command").map_err(&err)?,
            targets: self.targets(id).await?,
            labels: self.labels(id).await?,
        };
        let metrics = sqlx::query(
            "SELECT target, metric, value FROM metrics WHERE run_id = $1 ORDER BY target, metric",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(&err)?
        .iter()
        .map(|r| {
            Ok((
                r.try_get(0).map_err(&err)?,
                r.try_get(1).map_err(&err)?,
                r.try_get(2).map_err(&err)?,
            ))
        })
        .collect::<Result<Vec<(String, String, f64)>, StoreError>>()?;
        let count = |table: &'static str| {
            let pool = self.pool.clone();
            let err = q(&self.at);
            async move {
                let sql = match table {
                    "requests" => "SELECT COUNT(*) FROM requests WHERE run_id = $1",
                    _ => "SELECT COUNT(*) FROM answers WHERE run_id = $1",
                };
                sqlx::query(sql)
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .and_then(|r| r.try_get::<i64, _>(0))
                    .map_err(err)
            }
        };
        Ok(Some(ShownRun {
            requests: count("requests").await?,
            answers: count("answers").await?,
            run,
            metrics,
        }))
    }
}

impl Store {
    /// Rows of any table whose run is not stored (a consistency check: always 0).
    pub async fn orphans(&self) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM requests WHERE run_id NOT IN (SELECT id FROM runs))
                  + (SELECT COUNT(*) FROM answers WHERE run_id NOT IN (SELECT id FROM runs))
                  + (SELECT COUNT(*) FROM metrics WHERE run_id NOT IN (SELECT id FROM runs))
                  + (SELECT COUNT(*) FROM run_labels WHERE run_id NOT IN (SELECT id FROM runs))
                  + (SELECT COUNT(*) FROM run_targets WHERE run_id NOT IN (SELECT id FROM runs))",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(q(&self.at))?;
        row.try_get::<i64, _>(0).map_err(q(&self.at))
    }
}

impl Store {
    /// A stored run's report and request records (in journal order); `None` when no run has
    /// that id.
    pub async fn load(
        &self,
        id: &str,
    ) -> Result<Option<(crate::report::Report, Vec<crate::record::RequestRecord>)>, StoreError>
    {
        let err = q(&self.at);
        let Some(row) = sqlx::query("SELECT report_json FROM runs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(&err)?
        else {
            return Ok(None);
        };
        let bad = |e: serde_json::Error| StoreError::Query {
            at: self.at.clone(),
            why: format!("run {id} does not read back: {e}"),
        };
        let report =
            serde_json::from_str(&row.try_get::<String, _>(0).map_err(&err)?).map_err(bad)?;
        let records =
            sqlx::query("SELECT record_json FROM requests WHERE run_id = $1 ORDER BY seq")
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(&err)?
                .iter()
                .map(|r| {
                    let text: String = r.try_get(0).map_err(&err)?;
                    serde_json::from_str(&text).map_err(bad)
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some((report, records)))
    }

    /// Every run of the `--repeat` set run `id` belongs to, by repeat (`id` itself among
    /// them); empty when it was not repeated.
    pub async fn repeat_set(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let err = q(&self.at);
        let rows = sqlx::query(
            "SELECT r.id FROM runs r JOIN runs me ON me.repeat_group = r.repeat_group
             WHERE me.id = $1 ORDER BY r.repeat_index, r.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(&err)?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(&err))
            .collect()
    }

    /// The newest run carrying label `key=value` (any key with that value when `key` is
    /// `None`).
    pub async fn newest_labelled(
        &self,
        key: Option<&str>,
        value: &str,
    ) -> Result<Option<String>, StoreError> {
        let err = q(&self.at);
        let row = sqlx::query(
            "SELECT r.id FROM runs r JOIN run_labels l ON l.run_id = r.id
             WHERE l.value = $1 AND (CAST($2 AS TEXT) IS NULL OR l.key = $2)
             ORDER BY r.created_at DESC, r.id DESC LIMIT 1",
        )
        .bind(value)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(&err)?;
        row.map(|r| r.try_get::<String, _>(0).map_err(&err))
            .transpose()
    }
}

/// One stored run, for `history show`.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownRun {
    /// Its listing row.
    pub run: RunRow,
    /// `(target, metric id, value)`.
    pub metrics: Vec<(String, String, f64)>,
    /// Request records stored.
    pub requests: i64,
    /// Graded answers stored.
    pub answers: i64,
}

/// What to check when a store does not open: the host for PostgreSQL (the password is never
/// repeated), the file for SQLite.
fn open_hint(loc: &Location, e: &sqlx::Error) -> String {
    let detail = match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(d) => d.message().to_string(),
        other => other.to_string(),
    };
    let lower = detail.to_ascii_lowercase();
    match loc {
        Location::Postgres(_) if lower.contains("certificate") || lower.contains("handshake") => {
            format!(
                "{detail}: check the server's TLS certificate: name its CA with sslrootcert=FILE in the URL (or add it to the system's CA store); sslmode=verify-full checks the host name too"
            )
        }
        Location::Postgres(_) if lower.contains("no encryption") => format!(
            "{detail}: check the user and database; if the server takes this user over TLS only, add sslmode=verify-full&sslrootcert=FILE (its CA) to the URL"
        ),
        Location::Postgres(_) => format!(
            "{detail}: check that PostgreSQL runs there and accepts this user (the password comes from the URL or PGPASSWORD)"
        ),
        Location::Sqlite(p) => format!(
            "{detail}: check that {} is a writable SQLite file",
            p.display()
        ),
    }
}

/// `t` as every stored time is written — RFC 3339 in UTC with milliseconds
/// (`2026-12-07T14:52:31.481Z`) — so that times compare as text (`--since`, newest first)
/// whatever offset or precision the report was written with; `t` itself when it does not
/// parse.
fn utc_millis(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t).map_or_else(
        |_| t.to_string(),
        |d| {
            d.with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        },
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn stored_times_compare_as_text_whatever_they_were_written_with() {
        // Seconds with an offset (reports before milliseconds), and another zone.
        let a = super::utc_millis("2026-01-01T00:00:00+00:00");
        let b = super::utc_millis("2026-01-01T00:00:00.500Z");
        let c = super::utc_millis("2026-01-01T09:00:01+09:00");
        assert_eq!(a, "2026-01-01T00:00:00.000Z");
        assert_eq!(c, "2026-01-01T00:00:01.000Z");
        // In time order as text; as written, 09:00:00+09:00 (00:00:00 UTC) sorted after
        // 00:00:00.500Z.
        assert!(a < b && b < c);
        assert!("2026-01-01T09:00:00+09:00" > "2026-01-01T00:00:00.500Z");
        assert!(super::utc_millis("2026-01-01T09:00:00+09:00") < b);
        assert_eq!(super::utc_millis("yesterday"), "yesterday");
    }
}
