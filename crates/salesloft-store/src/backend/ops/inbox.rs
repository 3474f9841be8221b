//! The webhook inbox's SQL (front: [`crate::inbox`]): claiming, finishing and reaping deliveries. The
//! group-commit insert differs per backend and lives in `sqlite.rs` / `postgres.rs`.

use std::time::Duration;

use sqlx::Pool;
use time::OffsetDateTime;

use crate::backend::{Arg as _, Backend, dur_micros, from_micros, micros, row_lock};
use crate::error::Result;
use crate::inbox::{InboxCounts, InboxEntry, InboxItem, Inserted, PreparedDelivery};

/// Claims the oldest available delivery for `visibility` (skipping rows other workers hold, on PostgreSQL).
pub(crate) async fn claim<B: Backend>(
    pool: &Pool<B>,
    claim: &str,
    visibility: Duration,
    now: OffsetDateTime,
) -> Result<Option<InboxItem>> {
    let now_us = micros(now);
    let mut tx = B::begin_write(pool).await?;
    let row = sqlx::query(row_lock!(
        B,
        "UPDATE webhook_inbox SET state = 'processing', claimed_by = $1, available_at = $2, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM webhook_inbox WHERE state IN ('pending', 'processing') AND available_at <= $3 \
         ORDER BY available_at, id LIMIT 1",
        " FOR UPDATE SKIP LOCKED",
        ") RETURNING id, dedup_key, event_type, resource_id, body, received_at, attempts"
    ))
    .arg(claim)
    .arg(now_us.saturating_add(dur_micros(visibility)))
    .arg(now_us)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    row.map(|row| {
        Ok(InboxItem {
            id: B::read(&row, "id")?,
            dedup_key: B::read(&row, "dedup_key")?,
            event_type: B::read(&row, "event_type")?,
            resource_id: B::read(&row, "resource_id")?,
            body: B::read(&row, "body")?,
            received_at: from_micros(B::read(&row, "received_at")?),
            attempts: B::read(&row, "attempts")?,
            claim: claim.to_owned(),
        })
    })
    .transpose()
}

/// Records a claimed delivery's end (`processed`, retry later, or `dead`) if the claim is still ours.
pub(crate) async fn finish<B: Backend>(
    pool: &Pool<B>,
    item: &InboxItem,
    state: &str,
    error: Option<&str>,
    retry_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<bool> {
    let mut tx = B::begin_write(pool).await?;
    let done = sqlx::query(
        "UPDATE webhook_inbox SET state = $1, last_error = $2, available_at = $3, finished_at = $4, \
         claimed_by = NULL WHERE id = $5 AND claimed_by = $6",
    )
    .arg(state)
    .arg(error)
    .arg(micros(retry_at.unwrap_or(now)))
    .arg(micros(now))
    .arg(item.id)
    .arg(&item.claim)
    .execute(tx.conn())
    .await
    .map(|done| B::rows_affected(&done))?;
    tx.commit().await?;
    Ok(done == 1)
}

/// Stores a delivery straight into the `dead` state with `error` (a dead letter: kept for inspection, never
/// handed to a worker); a second one with the same dedup key is a duplicate.
pub(crate) async fn dead_letter<B: Backend>(
    pool: &Pool<B>,
    delivery: &PreparedDelivery,
    error: &str,
    now: OffsetDateTime,
) -> Result<Inserted> {
    let now_us = micros(now);
    let mut tx = B::begin_write(pool).await?;
    let row = sqlx::query(
        "INSERT INTO webhook_inbox (dedup_key, event_type, resource_id, body, received_at, state, attempts, \
         available_at, last_error, finished_at) VALUES ($1, $2, $3, $4, $5, 'dead', 0, $6, $7, $8) \
         ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
    )
    .arg(&delivery.dedup_key)
    .arg(&delivery.event_type)
    .arg(delivery.resource_id.as_deref())
    .arg(delivery.body.as_slice())
    .arg(now_us)
    .arg(now_us)
    .arg(error)
    .arg(now_us)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    match row {
        Some(row) => Ok(Inserted::New(B::read(&row, "id")?)),
        None => Ok(Inserted::Duplicate),
    }
}

/// Deletes finished deliveries received before `cutoff`.
pub(crate) async fn reap<B: Backend>(pool: &Pool<B>, cutoff: OffsetDateTime) -> Result<u64> {
    let mut tx = B::begin_write(pool).await?;
    let affected = sqlx::query("DELETE FROM webhook_inbox WHERE received_at < $1 AND state IN ('processed', 'dead')")
        .arg(micros(cutoff))
        .execute(tx.conn())
        .await
        .map(|done| B::rows_affected(&done))?;
    tx.commit().await?;
    Ok(affected)
}

/// How many deliveries are in each state.
pub(crate) async fn counts<B: Backend>(pool: &Pool<B>) -> Result<InboxCounts> {
    let rows =
        sqlx::query("SELECT state, COUNT(*) AS n FROM webhook_inbox GROUP BY state").fetch_all(B::pool(pool)).await?;
    let mut counts = InboxCounts::default();
    for row in rows {
        let n: i64 = B::read(&row, "n")?;
        match <B as crate::backend::Reads<String>>::read(&row, "state")?.as_str() {
            "pending" => counts.pending = n,
            "processing" => counts.processing = n,
            "processed" => counts.processed = n,
            _ => counts.dead += n,
        }
    }
    Ok(counts)
}

/// Up to `limit` deliveries with an id above `after`, in id order (without their bodies).
pub(crate) async fn list<B: Backend>(pool: &Pool<B>, after: i64, limit: i64) -> Result<Vec<InboxEntry>> {
    let rows = sqlx::query(
        "SELECT id, dedup_key, event_type, resource_id, received_at, state, attempts, last_error \
         FROM webhook_inbox WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .arg(after)
    .arg(limit)
    .fetch_all(B::pool(pool))
    .await?;
    rows.iter()
        .map(|row| {
            Ok(InboxEntry {
                id: B::read(row, "id")?,
                event: B::read(row, "event_type")?,
                dedup_key: B::read(row, "dedup_key")?,
                resource_id: B::read(row, "resource_id")?,
                received_at: from_micros(B::read(row, "received_at")?),
                state: B::read(row, "state")?,
                attempts: B::read(row, "attempts")?,
                last_error: B::read(row, "last_error")?,
            })
        })
        .collect()
}
