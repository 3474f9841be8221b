//! The two database backends. Every store operation is written once, generic over [`Backend`], in one module
//! per concept under [`ops`]; `sqlite` and `postgres` hold what differs: opening, migrating, the group-commit
//! batch insert, and the [`Backend`] impl (how a write transaction begins, and the row-lock dialect).
//!
//! Times are stored as `BIGINT` microseconds since the Unix epoch (UTC) in both backends: it compares, indexes
//! and round-trips identically everywhere, and needs no sqlx `time` feature.

pub(crate) mod ops;
pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::future::Future;
use std::time::Duration;

use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Type};
use time::OffsetDateTime;

/// What the operations in [`ops`] need from a database: sqlx's [`Database`], the value types they bind and
/// read, and the few places where SQLite and PostgreSQL differ.
///
/// sqlx states "this database binds `i64`" as a bound on `i64`, which a generic function would have to repeat;
/// written as supertraits of the backend ([`Binds`], [`Reads`]) they come with `B: Backend` for free.
pub(crate) trait Backend:
    Database<Arguments: IntoArguments<Self>>
    + Executors
    + for<'a> Binds<'a, i64>
    + for<'a> Binds<'a, bool>
    + for<'a> Binds<'a, Option<i64>>
    + for<'a> Binds<'a, &'a str>
    + for<'a> Binds<'a, &'a String>
    + for<'a> Binds<'a, Option<&'a str>>
    + for<'a> Binds<'a, &'a Option<String>>
    + for<'a> Binds<'a, &'a [u8]>
    + Reads<i64>
    + Reads<bool>
    + Reads<String>
    + Reads<Option<i64>>
    + Reads<Option<String>>
    + Reads<Vec<u8>>
{
    /// Whether `SELECT … FOR UPDATE` / `FOR SHARE` / `SKIP LOCKED` take row locks (PostgreSQL). SQLite has no
    /// row locks: its `BEGIN IMMEDIATE` already serializes writers.
    const ROW_LOCKS: bool;

    /// Begins a write transaction (on SQLite: queued on the in-process write gate, then `BEGIN IMMEDIATE`).
    fn begin_write(pool: &Pool<Self>) -> impl Future<Output = Result<WriteTx<Self>, sqlx::Error>> + Send;

    /// How many rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

/// The pool and a connection as executors: sqlx states "a connection executes queries" as a bound on
/// `&mut Connection` for every lifetime, which generic code would have to repeat; this blanket impl carries it.
pub(crate) trait Executors: Database {
    /// The pool as an executor.
    fn pool(pool: &Pool<Self>) -> impl Executor<'_, Database = Self>;

    /// A connection as an executor.
    fn conn(conn: &mut Self::Connection) -> impl Executor<'_, Database = Self>;
}

impl<B: Database> Executors for B
where
    for<'c> &'c mut B::Connection: Executor<'c, Database = B>,
{
    fn pool(pool: &Pool<B>) -> impl Executor<'_, Database = B> {
        pool
    }

    fn conn(conn: &mut B::Connection) -> impl Executor<'_, Database = B> {
        conn
    }
}

/// The database can bind a `T` (which may borrow for `'q`) as a query parameter.
pub(crate) trait Binds<'q, T>: Database {
    /// `query.bind(value)`.
    fn bind_to(query: Query<'_, Self, Self::Arguments>, value: T) -> Query<'_, Self, Self::Arguments>;
}

impl<'q, B: Database, T> Binds<'q, T> for B
where
    T: Encode<'q, B> + Type<B>,
{
    fn bind_to(query: Query<'_, Self, Self::Arguments>, value: T) -> Query<'_, Self, Self::Arguments> {
        query.bind(value)
    }
}

/// The database can read a column as a `T`.
pub(crate) trait Reads<T>: Database {
    /// `row.try_get(column)`.
    fn read(row: &Self::Row, column: &str) -> Result<T, sqlx::Error>;
}

impl<B: Database, T> Reads<T> for B
where
    T: for<'r> Decode<'r, B> + Type<B>,
    for<'c> &'c str: ColumnIndex<B::Row>,
{
    fn read(row: &Self::Row, column: &str) -> Result<T, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }
}

/// `.arg(value)` on a query of any backend: [`Query::bind`] with the bound that [`Backend`] carries.
pub(crate) trait Arg<B: Database>: Sized {
    /// Binds the next parameter.
    fn arg<'q, T>(self, value: T) -> Self
    where
        B: Binds<'q, T>;
}

impl<B: Database> Arg<B> for Query<'_, B, B::Arguments> {
    fn arg<'q, T>(self, value: T) -> Self
    where
        B: Binds<'q, T>,
    {
        B::bind_to(self, value)
    }
}

/// The same SQL with the row-lock clause that `B` needs: `row_lock!(B, "SELECT …", " FOR UPDATE")` appends the
/// clause on PostgreSQL and leaves it off on SQLite; `row_lock!(B, "UPDATE … (SELECT …", " FOR UPDATE SKIP
/// LOCKED", ") RETURNING …")` puts it in the middle. Both texts are `&'static str`, so each stays one prepared
/// statement.
macro_rules! row_lock {
    ($b:ty, $sql:expr, $lock:expr) => {
        if <$b as $crate::backend::Backend>::ROW_LOCKS { concat!($sql, $lock) } else { $sql }
    };
    ($b:ty, $head:expr, $lock:expr, $tail:expr) => {
        if <$b as $crate::backend::Backend>::ROW_LOCKS { concat!($head, $lock, $tail) } else { concat!($head, $tail) }
    };
}
pub(crate) use row_lock;

/// A write transaction. On SQLite it also holds the process-wide write gate of its database file: writers of
/// one process queue on a fair async mutex instead of meeting in SQLite's busy handler, which polls with sleeps
/// of up to 100 ms and would put those sleeps into the inbox's acknowledgement latency. Writers in other
/// processes still meet in the busy handler (`busy_timeout`).
pub(crate) struct WriteTx<DB: sqlx::Database> {
    tx: sqlx::Transaction<'static, DB>,
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl<DB: Backend> WriteTx<DB> {
    pub(crate) fn new(tx: sqlx::Transaction<'static, DB>, gate: Option<tokio::sync::OwnedMutexGuard<()>>) -> Self {
        Self { tx, _gate: gate }
    }

    /// The connection, as an executor for queries inside the transaction.
    pub(crate) fn conn(&mut self) -> impl Executor<'_, Database = DB> {
        DB::conn(&mut self.tx)
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
pub(crate) const SCHEMA_VERSION: i64 = 2;

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
