//! The audit log's SQL (front: [`crate::audit`]): appending under the chain head's row lock, reading, and
//! feeding the stored records to the pure chain check ([`crate::audit::ChainCheck`]).

use futures::TryStreamExt as _;
use sqlx::Pool;
use time::OffsetDateTime;

use crate::audit::{AuditKey, AuditRecord, ChainCheck, ChainHead, PreparedEntry, VerifyReport, record_hash};
use crate::backend::{Arg as _, Backend, WriteTx, from_micros, micros, row_lock};
use crate::error::Result;

const AUDIT_COLUMNS: &str = "seq, at, actor, operation, resource, request, response_status, idempotency_key, \
                             correlation_id, prev_hash, hash";

/// A stored record from its row.
fn audit_row<B: Backend>(row: &B::Row) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: B::read(row, "seq")?,
        at: from_micros(B::read(row, "at")?),
        actor: B::read(row, "actor")?,
        operation: B::read(row, "operation")?,
        resource: B::read(row, "resource")?,
        request: B::read(row, "request")?,
        response_status: B::read(row, "response_status")?,
        idempotency_key: B::read(row, "idempotency_key")?,
        correlation_id: B::read(row, "correlation_id")?,
        prev_hash: B::read(row, "prev_hash")?,
        hash: B::read(row, "hash")?,
    })
}

/// Appends `entry` inside `tx` (the ledger's steps append in their own transaction).
pub(crate) async fn append_in<B: Backend>(
    tx: &mut WriteTx<B>,
    entry: &PreparedEntry,
    now: OffsetDateTime,
) -> Result<AuditRecord> {
    // The head row is the chain's serialization point: on PostgreSQL `FOR UPDATE` makes concurrent appenders
    // queue here and each reads the head its predecessor committed.
    let head = sqlx::query(row_lock!(B, "SELECT seq, hash FROM audit_head WHERE id = 1", " FOR UPDATE"))
        .fetch_one(tx.conn())
        .await?;
    let head_seq: i64 = B::read(&head, "seq")?;
    let prev_hash: String = B::read(&head, "hash")?;
    let at = micros(now);
    let hash = record_hash(&prev_hash, at, entry, entry.key.as_ref());
    let seq = head_seq + 1;
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, operation, resource, request, response_status, idempotency_key, \
         correlation_id, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .arg(seq)
    .arg(at)
    .arg(&entry.actor)
    .arg(&entry.operation)
    .arg(&entry.resource)
    .arg(&entry.request)
    .arg(entry.response_status)
    .arg(&entry.idempotency_key)
    .arg(&entry.correlation_id)
    .arg(&prev_hash)
    .arg(&hash)
    .execute(tx.conn())
    .await?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .arg(seq)
        .arg(&hash)
        .execute(tx.conn())
        .await?;
    Ok(AuditRecord {
        seq,
        at: from_micros(at),
        actor: entry.actor.clone(),
        operation: entry.operation.clone(),
        resource: entry.resource.clone(),
        request: entry.request.clone(),
        response_status: entry.response_status,
        idempotency_key: entry.idempotency_key.clone(),
        correlation_id: entry.correlation_id.clone(),
        prev_hash,
        hash,
    })
}

/// Appends `entry` in a transaction of its own; returns the stored record.
pub(crate) async fn append<B: Backend>(
    pool: &Pool<B>,
    entry: &PreparedEntry,
    now: OffsetDateTime,
) -> Result<AuditRecord> {
    let mut tx = B::begin_write(pool).await?;
    let record = append_in(&mut tx, entry, now).await?;
    tx.commit().await?;
    Ok(record)
}

/// The chain head as the store recorded it (`audit_head`).
pub(crate) async fn head<B: Backend>(pool: &Pool<B>) -> Result<ChainHead> {
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(B::pool(pool)).await?;
    Ok(ChainHead { seq: B::read(&head, "seq")?, hash: B::read(&head, "hash")? })
}

/// Streams the log through the pure chain check, looking up a broken link's predecessor when it asks.
pub(crate) async fn verify<B: Backend>(
    pool: &Pool<B>,
    key: Option<&AuditKey>,
    anchored: Option<&str>,
) -> Result<VerifyReport> {
    let head = head(pool).await?;
    let mut check = ChainCheck::new(key, anchored);
    {
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq");
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(B::pool(pool));
        while let Some(row) = rows.try_next().await? {
            if !check.push(audit_row::<B>(&row)?) {
                break;
            }
        }
    }
    let predecessor: Option<i64> = match check.needs_predecessor() {
        Some(hash) => sqlx::query("SELECT seq FROM audit_log WHERE hash = $1")
            .arg(hash)
            .fetch_optional(B::pool(pool))
            .await?
            .map(|row| B::read(&row, "seq"))
            .transpose()?,
        None => None,
    };
    Ok(check.finish(&head, predecessor))
}

/// Writes every record, in sequence order, as a JSON line; returns how many.
pub(crate) async fn export<B: Backend>(pool: &Pool<B>, out: &mut (dyn std::io::Write + Send)) -> Result<u64> {
    let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq");
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(B::pool(pool));
    let mut written = 0u64;
    while let Some(row) = rows.try_next().await? {
        let line = audit_row::<B>(&row)?.to_json_line()?;
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        written += 1;
    }
    out.flush()?;
    Ok(written)
}

/// Records with `seq >= from`, at most `limit`, in order.
pub(crate) async fn records<B: Backend>(pool: &Pool<B>, from: i64, limit: i64) -> Result<Vec<AuditRecord>> {
    let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).arg(from).arg(limit).fetch_all(B::pool(pool)).await?;
    rows.iter().map(audit_row::<B>).collect()
}
