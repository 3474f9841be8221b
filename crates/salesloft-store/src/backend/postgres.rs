//! PostgreSQL backend, for several replicas sharing one store.
//!
//! Transactions run at READ COMMITTED with explicit row locks (`SELECT … FOR UPDATE`, `INSERT … ON CONFLICT`),
//! which serialize exactly the rows that need it without SERIALIZABLE's retry storms. Inbox claims use
//! `FOR UPDATE SKIP LOCKED` so workers never queue behind each other. Durability is the server's:
//! `synchronous_commit=on` (the default) flushes the WAL before a commit returns.
//!
//! Migrations run in one transaction under an advisory lock, so replicas starting together migrate once.
//! With `?schema=NAME` every table lives in that schema (created if missing) via the connection's
//! `search_path`.

use std::str::FromStr as _;

use sqlx::Row as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgQueryResult};
use time::OffsetDateTime;

use super::{Backend, SCHEMA_VERSION, WriteTx, micros};
use crate::error::{Result, StoreError};
use crate::inbox::{Inserted, PreparedDelivery};
use crate::{StoreOptions, StoreUrl};

impl Backend for sqlx::Postgres {
    const ROW_LOCKS: bool = true;

    async fn begin_write(pool: &sqlx::PgPool) -> Result<WriteTx<Self>, sqlx::Error> {
        Ok(WriteTx::new(pool.begin().await?, None))
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }
}

const MIGRATIONS: [(i64, &str); 2] = [
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../migrations/postgres/0002_inbox_dispatch.sql")),
];

/// Advisory lock key serializing migrations of one database ("slprod" in ASCII).
const MIGRATION_LOCK: i64 = 0x736c_7072_6f64;

pub(crate) async fn open(
    url: &StoreUrl,
    conn: &str,
    schema: Option<&str>,
    options: &StoreOptions,
) -> Result<sqlx::PgPool> {
    let target = url.to_string();
    let mut connect = PgConnectOptions::from_str(conn)
        // sqlx's parse errors can quote the URL; say only what we know.
        .map_err(|_| StoreError::InvalidUrl { url: target.clone(), reason: "not a valid PostgreSQL URL".into() })?;
    if let Some(schema) = schema {
        connect = connect.options([("search_path", schema)]);
    }
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections.max(2))
        .acquire_timeout(options.busy_timeout)
        // A connection killed server-side (restart, pg_terminate_backend) is noticed here and replaced, instead
        // of failing the next statement.
        .test_before_acquire(true)
        .connect_with(connect)
        .await
        .map_err(|e| StoreError::Open { target: target.clone(), detail: StoreError::from(e).to_string() })?;
    if let Err(error) = migrate(&pool, &target, schema).await {
        pool.close().await;
        return Err(error);
    }
    Ok(pool)
}

async fn migrate(pool: &sqlx::PgPool, target: &str, schema: Option<&str>) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await?;
    if let Some(schema) = schema {
        // `schema` was checked to be a plain lowercase identifier by StoreUrl::parse.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}"))).execute(&mut *tx).await?;
    }
    let has_meta: bool =
        sqlx::query("SELECT to_regclass('slprod_meta') IS NOT NULL").fetch_one(&mut *tx).await?.try_get(0)?;
    let version: i64 = if has_meta {
        let row =
            sqlx::query("SELECT value FROM slprod_meta WHERE key = 'schema_version'").fetch_optional(&mut *tx).await?;
        match row {
            Some(row) => row.try_get::<String, _>(0)?.parse().map_err(|_| StoreError::NotOurDatabase {
                target: target.to_owned(),
                detail: "slprod_meta holds an unreadable schema_version".into(),
            })?,
            None => 0,
        }
    } else {
        let tables: Vec<String> = sqlx::query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() \
             ORDER BY table_name LIMIT 6",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
        if !tables.is_empty() {
            return Err(StoreError::NotOurDatabase {
                target: target.to_owned(),
                detail: format!(
                    "schema holds other tables [{}] and no salesloft-prod marker (use ?schema=NAME for a schema of \
                     our own)",
                    tables.join(", ")
                ),
            });
        }
        0
    };
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew { found: version, supported: SCHEMA_VERSION });
    }
    for (to, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > version) {
        sqlx::raw_sql(*sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::Migration { version: *to, detail: StoreError::from(e).to_string() })?;
        sqlx::query(
            "INSERT INTO slprod_meta (key, value) VALUES ('schema_version', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(to.to_string())
        .execute(&mut *tx)
        .await?;
    }
    if !has_meta {
        sqlx::query("INSERT INTO slprod_meta (key, value) VALUES ('application', 'salesloft-prod')")
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn check_integrity(pool: &sqlx::PgPool) -> Result<()> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

pub(crate) async fn inbox_insert_batch(
    pool: &sqlx::PgPool,
    batch: &[PreparedDelivery],
    now: OffsetDateTime,
) -> Result<Vec<Inserted>> {
    let keys: Vec<&str> = batch.iter().map(|d| d.dedup_key.as_str()).collect();
    let types: Vec<&str> = batch.iter().map(|d| d.event_type.as_str()).collect();
    let ids: Vec<Option<&str>> = batch.iter().map(|d| d.resource_id.as_deref()).collect();
    let bodies: Vec<&[u8]> = batch.iter().map(|d| d.body.as_slice()).collect();
    let resources: Vec<Option<&str>> = batch.iter().map(|d| d.resource_key.as_deref()).collect();
    // One statement per batch (a round trip per row would cap a loopback server at ~20k rows/s). DO NOTHING
    // tolerates duplicates within the batch: only the first occurrence is inserted.
    let rows = sqlx::query(
        "INSERT INTO webhook_inbox (dedup_key, event_type, resource_id, body, received_at, state, attempts, \
         available_at, resource_key) \
         SELECT d.k, d.t, d.r, d.b, $5, 'pending', 0, $5, d.rk \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bytea[], $6::text[]) \
         WITH ORDINALITY AS d(k, t, r, b, rk, n) \
         ORDER BY d.n ON CONFLICT (dedup_key) DO NOTHING RETURNING id, dedup_key",
    )
    .bind(&keys)
    .bind(&types)
    .bind(&ids)
    .bind(&bodies)
    .bind(micros(now))
    .bind(&resources)
    .fetch_all(pool)
    .await?;
    let mut new_ids = std::collections::HashMap::with_capacity(rows.len());
    for row in &rows {
        new_ids.insert(row.try_get::<String, _>("dedup_key")?, row.try_get::<i64, _>("id")?);
    }
    Ok(PreparedDelivery::outcomes(batch, new_ids))
}
