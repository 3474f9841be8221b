//! The idempotency ledger's SQL (front: [`crate::ledger`]): one row per key in `idempotency_keys`, moved
//! through its phases under a lease token.

use std::time::Duration;

use serde_json::Value;
use sqlx::Pool;
use time::OffsetDateTime;

use crate::audit::PreparedEntry;
use crate::backend::{Arg as _, Backend, dur_micros, from_micros, micros, row_lock};
use crate::error::{Result, StoreError};
use crate::ledger::{Begin, BeginOptions, Lease, LedgerRecord, Phase, may_move};
use crate::pause::PauseInfo;

const LEDGER_COLUMNS: &str =
    "key, fingerprint, phase, result, lock_token, locked_by, locked_until, attempts, created_at, updated_at";

/// A ledger record and its lease token from its row.
fn ledger_row<B: Backend>(row: &B::Row) -> Result<(LedgerRecord, Option<String>)> {
    let result: Option<String> = B::read(row, "result")?;
    let result = result
        .map(|text| serde_json::from_str::<Value>(&text))
        .transpose()
        .map_err(|e| StoreError::StoredJson { what: "ledger result".into(), detail: e.to_string() })?;
    let locked_until: Option<i64> = B::read(row, "locked_until")?;
    let record = LedgerRecord {
        key: B::read(row, "key")?,
        fingerprint: B::read(row, "fingerprint")?,
        phase: Phase::parse(&<B as crate::backend::Reads<String>>::read(row, "phase")?)?,
        result,
        locked_by: B::read(row, "locked_by")?,
        locked_until: locked_until.map(from_micros),
        attempts: B::read(row, "attempts")?,
        created_at: from_micros(B::read(row, "created_at")?),
        updated_at: from_micros(B::read(row, "updated_at")?),
    };
    Ok((record, B::read(row, "lock_token")?))
}

/// Records a new key, or decides what an existing one means (replay, conflict, in progress, resume).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn begin<B: Backend>(
    pool: &Pool<B>,
    key: &str,
    fingerprint: &str,
    holder: &str,
    token: &str,
    ttl: Duration,
    retention: Duration,
    options: &BeginOptions,
    now: OffsetDateTime,
) -> Result<Begin> {
    let now_us = micros(now);
    let until_us = now_us.saturating_add(dur_micros(ttl));
    let lease =
        |attempt: i64| Lease { key: key.to_owned(), holder: holder.to_owned(), token: token.to_owned(), ttl, attempt };
    // A new entry's parameters, numbered alike by the INSERT and by the UPDATE that restarts an expired key.
    let fresh = |sql: &'static str| {
        sqlx::query::<B>(sql).arg(key).arg(fingerprint).arg(token).arg(holder).arg(until_us).arg(now_us)
    };
    let mut tx = B::begin_write(pool).await?;
    let inserted = fresh(
        "INSERT INTO idempotency_keys \
         (key, fingerprint, phase, lock_token, locked_by, locked_until, attempts, created_at, updated_at) \
         VALUES ($1, $2, 'started', $3, $4, $5, 1, $6, $6) ON CONFLICT (key) DO NOTHING",
    )
    .execute(tx.conn())
    .await
    .map(|done| B::rows_affected(&done))?;
    if inserted == 1 {
        tx.commit().await?;
        return Ok(Begin::New(lease(1)));
    }
    let row = sqlx::query(row_lock!(
        B,
        "SELECT key, fingerprint, phase, result, lock_token, locked_by, locked_until, attempts, created_at, \
         updated_at FROM idempotency_keys WHERE key = $1",
        " FOR UPDATE"
    ))
    .arg(key)
    .fetch_one(tx.conn())
    .await?;
    let (record, lock_token) = ledger_row::<B>(&row)?;
    let taken_over =
        options.take_over_from.is_some() && record.locked_by.as_deref() == options.take_over_from.as_deref();
    let lock_live = lock_token.is_some() && record.locked_until.is_some_and(|until| until > now) && !taken_over;
    if record.created_at + retention <= now && !lock_live {
        // Past retention but not reaped yet: a reused expired key is a new request (Stripe prunes at 24 h).
        fresh(
            "UPDATE idempotency_keys SET fingerprint = $2, phase = 'started', result = NULL, lock_token = $3, \
             locked_by = $4, locked_until = $5, attempts = 1, created_at = $6, updated_at = $6 WHERE key = $1",
        )
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        return Ok(Begin::New(lease(1)));
    }
    let settled = if record.fingerprint != fingerprint {
        Some(Begin::Conflict)
    } else {
        match record.phase {
            Phase::Completed => Some(Begin::Completed(record.result.clone().unwrap_or(Value::Null))),
            Phase::Failed if options.reopen_failed && !lock_live => None,
            Phase::Failed => Some(Begin::Failed(record.result.clone().unwrap_or(Value::Null))),
            Phase::Started | Phase::RequestSent if lock_live => Some(Begin::InProgress {
                holder: record.locked_by.clone().unwrap_or_default(),
                until: record.locked_until.unwrap_or(now),
            }),
            Phase::Started | Phase::RequestSent => None,
        }
    };
    if let Some(outcome) = settled {
        tx.rollback().await?;
        return Ok(outcome);
    }
    // A reopened failure starts over from *started* (a failure is recorded only for an answer that had no
    // effect, so nothing of it is in doubt).
    let phase = if record.phase == Phase::Failed { Phase::Started } else { record.phase };
    sqlx::query(
        "UPDATE idempotency_keys SET phase = $6, result = CASE WHEN $6 = phase THEN result ELSE NULL END, \
         lock_token = $2, locked_by = $3, locked_until = $4, attempts = attempts + 1, updated_at = $5 \
         WHERE key = $1",
    )
    .arg(key)
    .arg(token)
    .arg(holder)
    .arg(until_us)
    .arg(now_us)
    .arg(phase.as_str())
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(Begin::Resume { phase, lease: lease(record.attempts + 1) })
}

/// Moves a leased entry to `phase` (appending `audit` first, and refusing *request sent* while paused).
pub(crate) async fn step<B: Backend>(
    pool: &Pool<B>,
    lease: &Lease,
    phase: Phase,
    result: Option<&str>,
    audit: Option<&PreparedEntry>,
    refuse_if_paused: bool,
    now: OffsetDateTime,
) -> Result<()> {
    let now_us = micros(now);
    let mut tx = B::begin_write(pool).await?;
    // Audit first, then the ledger row: the same order in every transaction that takes both, so PostgreSQL
    // cannot deadlock (ledger_begin takes only the ledger row).
    if let Some(entry) = audit {
        super::audit::append_in(&mut tx, entry, now).await?;
    }
    let row = sqlx::query(row_lock!(B, "SELECT phase, lock_token FROM idempotency_keys WHERE key = $1", " FOR UPDATE"))
        .arg(&lease.key)
        .fetch_optional(tx.conn())
        .await?;
    let Some(row) = row else {
        return Err(StoreError::LeaseLost { what: "idempotency key", name: lease.key.clone() });
    };
    let current = Phase::parse(&<B as crate::backend::Reads<String>>::read(&row, "phase")?)?;
    let token: Option<String> = B::read(&row, "lock_token")?;
    if token.as_deref() != Some(lease.token.as_str()) {
        return Err(StoreError::LeaseLost { what: "idempotency key", name: lease.key.clone() });
    }
    if refuse_if_paused {
        // Read in this transaction (and share-locked on PostgreSQL, so `pause_set` waits for it): a step that
        // commits *request sent* committed before the switch was set, and none commits after.
        if let Some(PauseInfo { by, reason, .. }) = super::pause::get_in(&mut tx).await? {
            tx.rollback().await?;
            return Err(StoreError::Paused { by, reason });
        }
    }
    if !may_move(current, phase) {
        return Err(StoreError::PhaseBackwards { key: lease.key.clone(), from: current, to: phase });
    }
    if matches!(phase, Phase::Completed | Phase::Failed) {
        sqlx::query(
            "UPDATE idempotency_keys SET phase = $2, result = $3, lock_token = NULL, locked_until = NULL, \
             updated_at = $4 WHERE key = $1",
        )
        .arg(&lease.key)
        .arg(phase.as_str())
        .arg(result)
        .arg(now_us)
        .execute(tx.conn())
        .await?;
    } else {
        sqlx::query("UPDATE idempotency_keys SET phase = $2, locked_until = $3, updated_at = $4 WHERE key = $1")
            .arg(&lease.key)
            .arg(phase.as_str())
            .arg(now_us.saturating_add(dur_micros(lease.ttl)))
            .arg(now_us)
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Gives the lease back without changing the phase.
pub(crate) async fn release<B: Backend>(pool: &Pool<B>, lease: &Lease, now: OffsetDateTime) -> Result<()> {
    let mut tx = B::begin_write(pool).await?;
    let done = sqlx::query(
        "UPDATE idempotency_keys SET lock_token = NULL, locked_until = NULL, updated_at = $3 \
         WHERE key = $1 AND lock_token = $2",
    )
    .arg(&lease.key)
    .arg(&lease.token)
    .arg(micros(now))
    .execute(tx.conn())
    .await
    .map(|done| B::rows_affected(&done))?;
    tx.commit().await?;
    if done == 1 { Ok(()) } else { Err(StoreError::LeaseLost { what: "idempotency key", name: lease.key.clone() }) }
}

/// Extends the lease by its ttl from `now`.
pub(crate) async fn renew<B: Backend>(pool: &Pool<B>, lease: &Lease, now: OffsetDateTime) -> Result<()> {
    let mut tx = B::begin_write(pool).await?;
    let done = sqlx::query("UPDATE idempotency_keys SET locked_until = $3 WHERE key = $1 AND lock_token = $2")
        .arg(&lease.key)
        .arg(&lease.token)
        .arg(micros(now).saturating_add(dur_micros(lease.ttl)))
        .execute(tx.conn())
        .await
        .map(|done| B::rows_affected(&done))?;
    tx.commit().await?;
    if done == 1 { Ok(()) } else { Err(StoreError::LeaseLost { what: "idempotency key", name: lease.key.clone() }) }
}

/// The entry for `key`, if any.
pub(crate) async fn get<B: Backend>(pool: &Pool<B>, key: &str) -> Result<Option<LedgerRecord>> {
    let sql = format!("SELECT {LEDGER_COLUMNS} FROM idempotency_keys WHERE key = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).arg(key).fetch_optional(B::pool(pool)).await?;
    row.map(|row| ledger_row::<B>(&row).map(|(record, _)| record)).transpose()
}

/// Unfinished entries whose lease has lapsed, oldest first.
pub(crate) async fn in_doubt<B: Backend>(pool: &Pool<B>, now: OffsetDateTime, limit: i64) -> Result<Vec<LedgerRecord>> {
    let sql = format!(
        "SELECT {LEDGER_COLUMNS} FROM idempotency_keys WHERE phase IN ('started', 'request_sent') \
         AND (locked_until IS NULL OR locked_until <= $1) ORDER BY updated_at, key LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).arg(micros(now)).arg(limit).fetch_all(B::pool(pool)).await?;
    rows.iter().map(|row| ledger_row::<B>(row).map(|(record, _)| record)).collect()
}

/// Deletes unleased keys created before `cutoff`.
pub(crate) async fn reap<B: Backend>(pool: &Pool<B>, cutoff: OffsetDateTime, now: OffsetDateTime) -> Result<u64> {
    let mut tx = B::begin_write(pool).await?;
    let affected = sqlx::query(
        "DELETE FROM idempotency_keys WHERE created_at < $1 AND (locked_until IS NULL OR locked_until <= $2)",
    )
    .arg(micros(cutoff))
    .arg(micros(now))
    .execute(tx.conn())
    .await
    .map(|done| B::rows_affected(&done))?;
    tx.commit().await?;
    Ok(affected)
}
