//! The two database backends. `ops.rs` is written once and compiled into both `sqlite` and `postgres` with a
//! `DB` type alias, so every behaviour has one implementation; only opening, migrating, the group-commit batch
//! insert and a few dialect details (`FOR UPDATE`, `BEGIN IMMEDIATE`) differ.
//!
//! Times are stored as `BIGINT` microseconds since the Unix epoch (UTC) in both backends: it compares, indexes
//! and round-trips identically everywhere, and needs no sqlx `time` feature.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::time::Duration;

use time::OffsetDateTime;

/// A write transaction. On SQLite it also holds the process-wide write gate of its database file: writers of
/// one process queue on a fair async mutex instead of meeting in SQLite's busy handler, which polls with sleeps
/// of up to 100 ms and would put those sleeps into the inbox's acknowledgement latency. Writers in other
/// processes still meet in the busy handler (`busy_timeout`).
pub(crate) struct WriteTx<DB: sqlx::Database> {
    tx: sqlx::Transaction<'static, DB>,
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl<DB: sqlx::Database> WriteTx<DB> {
    pub(crate) fn new(tx: sqlx::Transaction<'static, DB>, gate: Option<tokio::sync::OwnedMutexGuard<()>>) -> Self {
        Self { tx, _gate: gate }
    }

    /// The connection, as an executor for queries inside the transaction.
    pub(crate) fn conn(&mut self) -> &mut DB::Connection {
        &mut self.tx
    }

    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Ends a transaction that wrote nothing worth keeping (rolled back before the gate is released, so the
    /// next writer does not find the file still locked).
    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

/// The open connection pool.
#[derive(Debug)]
pub(crate) enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Current schema version (both backends share the numbering).
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// `PRAGMA application_id` of salesloft-prod SQLite files: ASCII "SLPD". Lets `file(1)` and our open check tell
/// our databases from others (https://www.sqlite.org/pragma.html#pragma_application_id).
pub(crate) const SQLITE_APPLICATION_ID: i64 = 0x534C_5044;

pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn dur_micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
