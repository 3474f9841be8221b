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
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn dur_micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
