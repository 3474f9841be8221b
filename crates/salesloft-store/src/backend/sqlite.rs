//! SQLite backend: one file, WAL, `synchronous=FULL`, writers serialized with `BEGIN IMMEDIATE`.
//!
//! Why these settings:
//! - WAL lets readers run while one writer commits, across processes on one host.
//! - `synchronous=FULL` fsyncs the WAL at every commit, so a committed write survives power loss; NORMAL in WAL
//!   mode survives an application crash but may lose the last commits on power loss
//!   (<https://www.sqlite.org/pragma.html#pragma_synchronous>). The inbox acknowledges deliveries only after
//!   commit, so it needs FULL; group commit pays for it.
//! - `BEGIN IMMEDIATE` takes the write lock when the transaction starts, so two writers never both read and
//!   then fail to upgrade (SQLITE_BUSY mid-transaction cannot be retried by busy_timeout); `busy_timeout` makes
//!   a second writer — in this or another process — wait instead of failing.
//! - `application_id` marks our files; a database with other tables and no marker is refused.

use std::path::Path;

use sqlx::Row as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult, SqliteSynchronous};
use time::OffsetDateTime;

use super::{Backend, SCHEMA_VERSION, SQLITE_APPLICATION_ID, WriteTx, micros};
use crate::clock::Clock;
use crate::error::{Result, StoreError};
use crate::inbox::{Inserted, PreparedDelivery};
use crate::{StoreOptions, StoreUrl};

impl Backend for sqlx::Sqlite {
    const ROW_LOCKS: bool = false;

    async fn begin_write(pool: &sqlx::SqlitePool) -> Result<WriteTx<Self>, sqlx::Error> {
        begin_write(pool).await
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}

async fn begin_write(pool: &sqlx::SqlitePool) -> Result<WriteTx<sqlx::Sqlite>, sqlx::Error> {
    let gate = write_gate(pool.connect_options().get_filename()).lock_owned().await;
    Ok(WriteTx::new(pool.begin_with("BEGIN IMMEDIATE").await?, Some(gate)))
}

/// The in-process write gate of one database file (see [`super::WriteTx`]).
fn write_gate(path: &Path) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    type Gate = std::sync::Arc<tokio::sync::Mutex<()>>;
    static GATES: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<std::path::PathBuf, Gate>>> =
        std::sync::OnceLock::new();
    let gates = GATES.get_or_init(Default::default);
    let mut gates = gates.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    gates.entry(path.to_path_buf()).or_default().clone()
}

const MIGRATIONS: [(i64, &str); 2] = [
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../../migrations/sqlite/0002_inbox_dispatch.sql")),
];

/// Opens (creating if missing) and migrates the database, retrying while another process holds it busy.
///
/// `busy_timeout` alone is not enough while several processes open a new file together: switching a fresh
/// file to WAL needs an exclusive lock, and when SQLite sees that waiting could deadlock it returns
/// SQLITE_BUSY at once without calling the busy handler (<https://www.sqlite.org/c3ref/busy_handler.html>).
/// Opening and migrating are idempotent (the migration runs in one `BEGIN IMMEDIATE` transaction), so the
/// whole open is retried with growing pauses until `busy_timeout` has passed.
pub(crate) async fn open(url: &StoreUrl, path: &Path, options: &StoreOptions) -> Result<sqlx::SqlitePool> {
    retry_while_busy(options.clock.as_ref(), options.busy_timeout, || open_once(url, path, options)).await
}

/// Runs `attempt` until it returns anything but [`StoreError::Busy`], pausing 5 ms, 10 ms, … (at most 200 ms)
/// between tries on `clock`; the last `Busy` is returned once the next pause would end past `budget`.
async fn retry_while_busy<T, F, Fut>(clock: &dyn Clock, budget: std::time::Duration, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let deadline = clock.now() + budget;
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        match attempt().await {
            Err(StoreError::Busy { detail }) => {
                if clock.now() + pause > deadline {
                    return Err(StoreError::Busy { detail });
                }
                clock.sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

async fn open_once(url: &StoreUrl, path: &Path, options: &StoreOptions) -> Result<sqlx::SqlitePool> {
    let target = url.to_string();
    if path.is_dir() {
        return Err(StoreError::Open { target, detail: "the path is a directory".into() });
    }
    create_private(path).map_err(|e| StoreError::Open { target: target.clone(), detail: e.to_string() })?;
    let mut connect = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(options.busy_timeout)
        .foreign_keys(true)
        // A 32 MiB page cache and memory-mapped reads: without them the inbox benchmark spent a third of its
        // CPU copying pages out of the kernel's page cache.
        .pragma("cache_size", "-32768")
        .pragma("mmap_size", "268435456");
    if let Some(pages) = options.sqlite_max_page_count {
        connect = connect.pragma("max_page_count", pages.to_string());
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(options.max_connections.max(2))
        .acquire_timeout(options.busy_timeout)
        .connect_with(connect)
        .await
        .map_err(|e| open_error(&target, e))?;
    if let Err(error) = migrate(&pool, &target).await {
        pool.close().await;
        return Err(error);
    }
    Ok(pool)
}

/// Creates the database file with mode 0600 (owner only) if it does not exist yet: the store holds personal
/// data (audit records, webhook bodies). SQLite creates the `-wal` and `-shm` files with the database file's
/// permissions, so they are private too. An existing file keeps its permissions.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

/// Connecting runs the WAL pragma, which is the first read of the file: map "not a database" and "corrupt"
/// to their own errors, with the redacted target.
fn open_error(target: &str, error: sqlx::Error) -> StoreError {
    match StoreError::from(error) {
        StoreError::NotOurDatabase { detail, .. } => StoreError::NotOurDatabase { target: target.to_owned(), detail },
        StoreError::ConnectionLost { detail } | StoreError::Database { detail } => {
            StoreError::Open { target: target.to_owned(), detail }
        }
        other => other,
    }
}

async fn migrate(pool: &sqlx::SqlitePool, target: &str) -> Result<()> {
    let mut tx = begin_write(pool).await.map_err(|e| open_error(target, e))?;
    let app_id: i64 = sqlx::query("PRAGMA application_id").fetch_one(tx.conn()).await?.try_get(0)?;
    let version: i64 = sqlx::query("PRAGMA user_version").fetch_one(tx.conn()).await?.try_get(0)?;
    let tables: Vec<String> =
        sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .fetch_all(tx.conn())
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
    if app_id != SQLITE_APPLICATION_ID && (app_id != 0 || !tables.is_empty()) {
        let shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
        return Err(StoreError::NotOurDatabase {
            target: target.to_owned(),
            detail: format!(
                "an SQLite database with application_id {app_id:#x} and tables [{}]{}",
                shown.join(", "),
                if tables.len() > shown.len() { ", …" } else { "" }
            ),
        });
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew { found: version, supported: SCHEMA_VERSION });
    }
    for (to, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > version) {
        sqlx::raw_sql(*sql)
            .execute(tx.conn())
            .await
            .map_err(|e| StoreError::Migration { version: *to, detail: StoreError::from(e).to_string() })?;
        // PRAGMA values cannot be bound; both are integers from constants.
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA user_version = {to}"))).execute(tx.conn()).await?;
    }
    if app_id == 0 {
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA application_id = {SQLITE_APPLICATION_ID}")))
            .execute(tx.conn())
            .await?;
        sqlx::query("INSERT INTO slprod_meta (key, value) VALUES ('application', 'salesloft-prod')")
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn check_integrity(pool: &sqlx::SqlitePool) -> Result<()> {
    let rows = sqlx::query("PRAGMA quick_check").fetch_all(pool).await?;
    let problems: Vec<String> =
        rows.iter().filter_map(|row| row.try_get::<String, _>(0).ok()).filter(|line| line != "ok").collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Corrupt { detail: problems.into_iter().take(3).collect::<Vec<_>>().join("; ") })
    }
}

/// Rows per multi-row INSERT, largest first; a batch is cut greedily into these so that only four statement
/// texts exist and all stay in sqlx's per-connection prepared-statement cache. 7 parameters a row keeps the
/// largest under SQLite's 32 766-parameter limit. Parameters are anonymous `?`: for numbered `$N` ones sqlx
/// looks each name up with `sqlite3_bind_parameter_name`, a linear scan, which made binding quadratic (13 % of
/// the benchmark's CPU at 256 rows).
const CHUNKS: [usize; 4] = [256, 32, 4, 1];

fn insert_sql(rows: usize) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        CHUNKS
            .iter()
            .map(|&n| {
                let values: Vec<String> =
                    (0..n).map(|_| "(?, ?, ?, ?, ?, 'pending', 0, ?, ?)".to_owned()).collect();
                format!(
                    "INSERT INTO webhook_inbox (dedup_key, event_type, resource_id, body, received_at, state, \
                     attempts, available_at, resource_key) VALUES {} ON CONFLICT (dedup_key) DO NOTHING RETURNING id, dedup_key",
                    values.join(", ")
                )
            })
            .collect()
    });
    let index = CHUNKS.iter().position(|&n| n == rows).unwrap_or(CHUNKS.len() - 1);
    &all[index]
}

pub(crate) async fn inbox_insert_batch(
    pool: &sqlx::SqlitePool,
    batch: &[PreparedDelivery],
    now: OffsetDateTime,
) -> Result<Vec<Inserted>> {
    let now_us = micros(now);
    let mut tx = begin_write(pool).await?;
    let mut new_ids = std::collections::HashMap::with_capacity(batch.len());
    let mut rest = batch;
    while !rest.is_empty() {
        let size = CHUNKS.iter().copied().find(|&n| n <= rest.len()).unwrap_or(1);
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let mut query = sqlx::query(sqlx::AssertSqlSafe(insert_sql(size)));
        for d in chunk {
            query = query
                .bind(&d.dedup_key)
                .bind(&d.event_type)
                .bind(&d.resource_id)
                .bind(&d.body)
                .bind(now_us)
                .bind(now_us)
                .bind(&d.resource_key);
        }
        // DO NOTHING skips a row whose key exists, including one inserted earlier in this batch.
        for row in query.fetch_all(tx.conn()).await? {
            new_ids.insert(row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?);
        }
    }
    tx.commit().await?;
    Ok(PreparedDelivery::outcomes(batch, new_ids))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::SystemClock;

    fn busy() -> StoreError {
        StoreError::Busy { detail: "database is locked".into() }
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_that_loses_a_race_is_retried_until_it_succeeds() {
        let mut tries = 0;
        let result = retry_while_busy(&SystemClock::new(), Duration::from_secs(10), || {
            tries += 1;
            let outcome = if tries < 4 { Err(busy()) } else { Ok(tries) };
            async move { outcome }
        })
        .await;
        assert_eq!(result.ok(), Some(4));
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_busy_past_the_timeout_is_reported_busy() {
        let start = tokio::time::Instant::now();
        let result: Result<()> =
            retry_while_busy(&SystemClock::new(), Duration::from_secs(1), || async { Err(busy()) }).await;
        assert!(matches!(result, Err(StoreError::Busy { .. })), "got {result:?}");
        let waited = start.elapsed();
        assert!(waited <= Duration::from_secs(1) && waited >= Duration::from_millis(800), "waited {waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_are_not_retried() {
        let mut tries = 0;
        let result: Result<()> = retry_while_busy(&SystemClock::new(), Duration::from_secs(10), || {
            tries += 1;
            async { Err(StoreError::Corrupt { detail: "bad page".into() }) }
        })
        .await;
        assert!(matches!(result, Err(StoreError::Corrupt { .. })));
        assert_eq!(tries, 1);
    }
}
