// Every store operation, written once. This file is `include!`d by `sqlite.rs` and `postgres.rs`, each of
// which defines `type DB`, `begin_write` and the dialect macros `lock_rows!` (appends ` FOR UPDATE` on
// PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serializes writers) and `skip_locked!`.
//
// Every write, even a single statement, goes through `begin_write`, so on SQLite it queues on the in-process
// write gate instead of meeting another local writer in SQLite's sleeping busy handler.

use std::time::Duration;

use futures::TryStreamExt as _;
use serde_json::Value;
use time::OffsetDateTime;

use crate::audit::{AuditKey, AuditRecord, ChainCheck, ChainHead, PreparedEntry, VerifyReport, record_hash};
use crate::backend::{dur_micros, from_micros, micros};
use crate::budget::{Spend, window_start};
use crate::error::{Result, StoreError};
use crate::inbox::{InboxCounts, InboxItem};
use crate::ledger::{Begin, BeginOptions, Lease, LedgerRecord, Phase, may_move};
use crate::locks::{LockGuard, LockInfo};
use crate::pause::PauseInfo;

type Pool = sqlx::Pool<DB>;
type Tx = crate::backend::WriteTx<DB>;
type DbRow = <DB as sqlx::Database>::Row;

// ---------------------------------------------------------------------------------------------- ledger

const LEDGER_COLUMNS: &str = "key, fingerprint, phase, result, lock_token, locked_by, locked_until, attempts, created_at, updated_at";

fn ledger_row(row: &DbRow) -> Result<(LedgerRecord, Option<String>)> {
    let result: Option<String> = row.try_get("result")?;
    let result = result
        .map(|text| serde_json::from_str::<Value>(&text))
        .transpose()
        .map_err(|e| StoreError::StoredJson { what: "ledger result".into(), detail: e.to_string() })?;
    let locked_until: Option<i64> = row.try_get("locked_until")?;
    let record = LedgerRecord {
        key: row.try_get("key")?,
        fingerprint: row.try_get("fingerprint")?,
        phase: Phase::parse(&row.try_get::<String, _>("phase")?)?,
        result,
        locked_by: row.try_get("locked_by")?,
        locked_until: locked_until.map(from_micros),
        attempts: row.try_get("attempts")?,
        created_at: from_micros(row.try_get("created_at")?),
        updated_at: from_micros(row.try_get("updated_at")?),
    };
    Ok((record, row.try_get("lock_token")?))
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn ledger_begin(
    pool: &Pool,
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
    let lease = |attempt: i64| Lease {
        key: key.to_owned(),
        holder: holder.to_owned(),
        token: token.to_owned(),
        ttl,
        attempt,
    };
    let mut tx = begin_write(pool).await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys \
         (key, fingerprint, phase, lock_token, locked_by, locked_until, attempts, created_at, updated_at) \
         VALUES ($1, $2, 'started', $3, $4, $5, 1, $6, $6) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(fingerprint)
    .bind(token)
    .bind(holder)
    .bind(until_us)
    .bind(now_us)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if inserted == 1 {
        tx.commit().await?;
        return Ok(Begin::New(lease(1)));
    }
    let row = sqlx::query(lock_rows!(
        "SELECT key, fingerprint, phase, result, lock_token, locked_by, locked_until, attempts, created_at, \
         updated_at FROM idempotency_keys WHERE key = $1"
    ))
    .bind(key)
    .fetch_one(tx.conn())
    .await?;
    let (record, lock_token) = ledger_row(&row)?;
    let taken_over = options.take_over_from.is_some()
        && record.locked_by.as_deref() == options.take_over_from.as_deref();
    let lock_live = lock_token.is_some()
        && record.locked_until.is_some_and(|until| until > now)
        && !taken_over;
    if record.created_at + retention <= now && !lock_live {
        // Past retention but not reaped yet: a reused expired key is a new request (Stripe prunes at 24 h).
        sqlx::query(
            "UPDATE idempotency_keys SET fingerprint = $2, phase = 'started', result = NULL, lock_token = $3, \
             locked_by = $4, locked_until = $5, attempts = 1, created_at = $6, updated_at = $6 WHERE key = $1",
        )
        .bind(key)
        .bind(fingerprint)
        .bind(token)
        .bind(holder)
        .bind(until_us)
        .bind(now_us)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        return Ok(Begin::New(lease(1)));
    }
    let settled = if record.fingerprint != fingerprint {
        Some(Begin::Conflict)
    } else {
        match record.phase {
            Phase::Completed => Some(Begin::Completed(
                record.result.clone().unwrap_or(Value::Null),
            )),
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
    let phase = if record.phase == Phase::Failed {
        Phase::Started
    } else {
        record.phase
    };
    sqlx::query(
        "UPDATE idempotency_keys SET phase = $6, result = CASE WHEN $6 = phase THEN result ELSE NULL END, \
         lock_token = $2, locked_by = $3, locked_until = $4, attempts = attempts + 1, updated_at = $5 \
         WHERE key = $1",
    )
    .bind(key)
    .bind(token)
    .bind(holder)
    .bind(until_us)
    .bind(now_us)
    .bind(phase.as_str())
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(Begin::Resume {
        phase,
        lease: lease(record.attempts + 1),
    })
}

pub(crate) async fn ledger_step(
    pool: &Pool,
    lease: &Lease,
    phase: Phase,
    result: Option<&str>,
    audit: Option<&PreparedEntry>,
    refuse_if_paused: bool,
    now: OffsetDateTime,
) -> Result<()> {
    let now_us = micros(now);
    let mut tx = begin_write(pool).await?;
    // Audit first, then the ledger row: the same order in every transaction that takes both, so PostgreSQL
    // cannot deadlock (ledger_begin takes only the ledger row).
    if let Some(entry) = audit {
        audit_append_tx(&mut tx, entry, now).await?;
    }
    let row = sqlx::query(lock_rows!(
        "SELECT phase, lock_token FROM idempotency_keys WHERE key = $1"
    ))
    .bind(&lease.key)
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else {
        return Err(StoreError::LeaseLost {
            what: "idempotency key",
            name: lease.key.clone(),
        });
    };
    let current = Phase::parse(&row.try_get::<String, _>("phase")?)?;
    let token: Option<String> = row.try_get("lock_token")?;
    if token.as_deref() != Some(lease.token.as_str()) {
        return Err(StoreError::LeaseLost {
            what: "idempotency key",
            name: lease.key.clone(),
        });
    }
    if refuse_if_paused {
        // Read in this transaction (and share-locked on PostgreSQL, so `pause_set` waits for it): a step that
        // commits *request sent* committed before the switch was set, and none commits after.
        let pause = sqlx::query(share_rows!(
            "SELECT paused, set_by, reason FROM pause_flag WHERE id = 1"
        ))
        .fetch_optional(tx.conn())
        .await?;
        if let Some(pause) = pause
            && pause.try_get::<bool, _>("paused")?
        {
            let by: String = pause.try_get("set_by")?;
            let reason: String = pause.try_get("reason")?;
            tx.rollback().await?;
            return Err(StoreError::Paused { by, reason });
        }
    }
    if !may_move(current, phase) {
        return Err(StoreError::PhaseBackwards {
            key: lease.key.clone(),
            from: current,
            to: phase,
        });
    }
    if matches!(phase, Phase::Completed | Phase::Failed) {
        sqlx::query(
            "UPDATE idempotency_keys SET phase = $2, result = $3, lock_token = NULL, locked_until = NULL, \
             updated_at = $4 WHERE key = $1",
        )
        .bind(&lease.key)
        .bind(phase.as_str())
        .bind(result)
        .bind(now_us)
        .execute(tx.conn())
        .await?;
    } else {
        sqlx::query("UPDATE idempotency_keys SET phase = $2, locked_until = $3, updated_at = $4 WHERE key = $1")
            .bind(&lease.key)
            .bind(phase.as_str())
            .bind(now_us.saturating_add(dur_micros(lease.ttl)))
            .bind(now_us)
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn ledger_release(pool: &Pool, lease: &Lease, now: OffsetDateTime) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let done = sqlx::query(
        "UPDATE idempotency_keys SET lock_token = NULL, locked_until = NULL, updated_at = $3 \
         WHERE key = $1 AND lock_token = $2",
    )
    .bind(&lease.key)
    .bind(&lease.token)
    .bind(micros(now))
    .execute(tx.conn())
    .await?
    .rows_affected();
    tx.commit().await?;
    if done == 1 {
        Ok(())
    } else {
        Err(StoreError::LeaseLost {
            what: "idempotency key",
            name: lease.key.clone(),
        })
    }
}

pub(crate) async fn ledger_renew(pool: &Pool, lease: &Lease, now: OffsetDateTime) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let done = sqlx::query(
        "UPDATE idempotency_keys SET locked_until = $3 WHERE key = $1 AND lock_token = $2",
    )
    .bind(&lease.key)
    .bind(&lease.token)
    .bind(micros(now).saturating_add(dur_micros(lease.ttl)))
    .execute(tx.conn())
    .await?
    .rows_affected();
    tx.commit().await?;
    if done == 1 {
        Ok(())
    } else {
        Err(StoreError::LeaseLost {
            what: "idempotency key",
            name: lease.key.clone(),
        })
    }
}

pub(crate) async fn ledger_get(pool: &Pool, key: &str) -> Result<Option<LedgerRecord>> {
    let sql = format!("SELECT {LEDGER_COLUMNS} FROM idempotency_keys WHERE key = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(key)
        .fetch_optional(pool)
        .await?;
    row.map(|row| ledger_row(&row).map(|(record, _)| record))
        .transpose()
}

pub(crate) async fn ledger_in_doubt(
    pool: &Pool,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<LedgerRecord>> {
    let sql = format!(
        "SELECT {LEDGER_COLUMNS} FROM idempotency_keys WHERE phase IN ('started', 'request_sent') \
         AND (locked_until IS NULL OR locked_until <= $1) ORDER BY updated_at, key LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(micros(now))
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| ledger_row(row).map(|(record, _)| record))
        .collect()
}

pub(crate) async fn ledger_reap(
    pool: &Pool,
    cutoff: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<u64> {
    let mut tx = begin_write(pool).await?;
    let affected = sqlx::query(
        "DELETE FROM idempotency_keys WHERE created_at < $1 AND (locked_until IS NULL OR locked_until <= $2)",
    )
    .bind(micros(cutoff))
    .bind(micros(now))
    .execute(tx.conn())
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(affected)
}

// ---------------------------------------------------------------------------------------------- audit

const AUDIT_COLUMNS: &str = "seq, at, actor, operation, resource, request, response_status, idempotency_key, \
                             correlation_id, prev_hash, hash";

fn audit_row(row: &DbRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.try_get("seq")?,
        at: from_micros(row.try_get("at")?),
        actor: row.try_get("actor")?,
        operation: row.try_get("operation")?,
        resource: row.try_get("resource")?,
        request: row.try_get("request")?,
        response_status: row.try_get("response_status")?,
        idempotency_key: row.try_get("idempotency_key")?,
        correlation_id: row.try_get("correlation_id")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

async fn audit_append_tx(
    tx: &mut Tx,
    entry: &PreparedEntry,
    now: OffsetDateTime,
) -> Result<AuditRecord> {
    // The head row is the chain's serialization point: on PostgreSQL `FOR UPDATE` makes concurrent appenders
    // queue here and each reads the head its predecessor committed.
    let head = sqlx::query(lock_rows!("SELECT seq, hash FROM audit_head WHERE id = 1"))
        .fetch_one(tx.conn())
        .await?;
    let head_seq: i64 = head.try_get("seq")?;
    let prev_hash: String = head.try_get("hash")?;
    let at = micros(now);
    let hash = record_hash(&prev_hash, at, entry, entry.key.as_ref());
    let seq = head_seq + 1;
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, operation, resource, request, response_status, idempotency_key, \
         correlation_id, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(seq)
    .bind(at)
    .bind(&entry.actor)
    .bind(&entry.operation)
    .bind(&entry.resource)
    .bind(&entry.request)
    .bind(entry.response_status)
    .bind(&entry.idempotency_key)
    .bind(&entry.correlation_id)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(tx.conn())
    .await?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&hash)
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

pub(crate) async fn audit_append(
    pool: &Pool,
    entry: &PreparedEntry,
    now: OffsetDateTime,
) -> Result<AuditRecord> {
    let mut tx = begin_write(pool).await?;
    let record = audit_append_tx(&mut tx, entry, now).await?;
    tx.commit().await?;
    Ok(record)
}

pub(crate) async fn audit_head(pool: &Pool) -> Result<ChainHead> {
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await?;
    Ok(ChainHead {
        seq: head.try_get("seq")?,
        hash: head.try_get("hash")?,
    })
}

pub(crate) async fn audit_verify(
    pool: &Pool,
    key: Option<&AuditKey>,
    anchored: Option<&str>,
) -> Result<VerifyReport> {
    let head = audit_head(pool).await?;
    let mut check = ChainCheck::new(key, anchored);
    {
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq");
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(pool);
        while let Some(row) = rows.try_next().await? {
            if !check.push(audit_row(&row)?) {
                break;
            }
        }
    }
    let predecessor: Option<i64> = match check.needs_predecessor() {
        Some(hash) => sqlx::query("SELECT seq FROM audit_log WHERE hash = $1")
            .bind(hash)
            .fetch_optional(pool)
            .await?
            .map(|row| row.try_get("seq"))
            .transpose()?,
        None => None,
    };
    Ok(check.finish(&head, predecessor))
}

pub(crate) async fn audit_export(
    pool: &Pool,
    out: &mut (dyn std::io::Write + Send),
) -> Result<u64> {
    let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq");
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(pool);
    let mut written = 0u64;
    while let Some(row) = rows.try_next().await? {
        let line = audit_row(&row)?.to_json_line()?;
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        written += 1;
    }
    out.flush()?;
    Ok(written)
}

pub(crate) async fn audit_records(pool: &Pool, from: i64, limit: i64) -> Result<Vec<AuditRecord>> {
    let sql =
        format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(from)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(audit_row).collect()
}

// ---------------------------------------------------------------------------------------------- locks

pub(crate) async fn lock_try_acquire(
    pool: &Pool,
    name: &str,
    holder: &str,
    token: &str,
    ttl: Duration,
    take_over_from: Option<&str>,
    now: OffsetDateTime,
) -> Result<Option<LockGuard>> {
    let now_us = micros(now);
    let until_us = now_us.saturating_add(dur_micros(ttl));
    // One statement, atomic on both backends: insert, or take over a lapsed lease. A released lock keeps its
    // row (expires_at = 0) so the fence keeps growing.
    let mut tx = begin_write(pool).await?;
    let row = sqlx::query(
        "INSERT INTO locks (name, holder, token, fence, acquired_at, expires_at) VALUES ($1, $2, $3, 1, $4, $5) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = excluded.token, \
         fence = locks.fence + 1, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at \
         WHERE locks.expires_at <= excluded.acquired_at OR locks.holder = $6 RETURNING fence",
    )
    .bind(name)
    .bind(holder)
    .bind(token)
    .bind(now_us)
    .bind(until_us)
    .bind(take_over_from)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    row.map(|row| {
        Ok(LockGuard {
            name: name.to_owned(),
            holder: holder.to_owned(),
            token: token.to_owned(),
            fence: row.try_get("fence")?,
            expires_at: from_micros(until_us),
        })
    })
    .transpose()
}

pub(crate) async fn lock_renew(
    pool: &Pool,
    guard: &LockGuard,
    ttl: Duration,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>> {
    let until_us = micros(now).saturating_add(dur_micros(ttl));
    let mut tx = begin_write(pool).await?;
    let done = sqlx::query("UPDATE locks SET expires_at = $3 WHERE name = $1 AND token = $2")
        .bind(&guard.name)
        .bind(&guard.token)
        .bind(until_us)
        .execute(tx.conn())
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok((done == 1).then(|| from_micros(until_us)))
}

pub(crate) async fn lock_release(pool: &Pool, guard: &LockGuard) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let done =
        sqlx::query("UPDATE locks SET expires_at = 0, token = '' WHERE name = $1 AND token = $2")
            .bind(&guard.name)
            .bind(&guard.token)
            .execute(tx.conn())
            .await?
            .rows_affected();
    tx.commit().await?;
    Ok(done == 1)
}

pub(crate) async fn lock_holder(
    pool: &Pool,
    name: &str,
    now: OffsetDateTime,
) -> Result<Option<LockInfo>> {
    let row = sqlx::query(
        "SELECT holder, fence, expires_at FROM locks WHERE name = $1 AND expires_at > $2",
    )
    .bind(name)
    .bind(micros(now))
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(LockInfo {
            holder: row.try_get("holder")?,
            fence: row.try_get("fence")?,
            expires_at: from_micros(row.try_get("expires_at")?),
        })
    })
    .transpose()
}

// ---------------------------------------------------------------------------------------------- inbox

pub(crate) async fn inbox_claim(
    pool: &Pool,
    claim: &str,
    visibility: Duration,
    now: OffsetDateTime,
) -> Result<Option<InboxItem>> {
    let now_us = micros(now);
    let mut tx = begin_write(pool).await?;
    let row = sqlx::query(skip_locked!(
        "UPDATE webhook_inbox SET state = 'processing', claimed_by = $1, available_at = $2, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM webhook_inbox WHERE state IN ('pending', 'processing') AND available_at <= $3 \
         ORDER BY available_at, id LIMIT 1",
        ") RETURNING id, dedup_key, event_type, resource_id, body, received_at, attempts"
    ))
    .bind(claim)
    .bind(now_us.saturating_add(dur_micros(visibility)))
    .bind(now_us)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    row.map(|row| {
        Ok(InboxItem {
            id: row.try_get("id")?,
            dedup_key: row.try_get("dedup_key")?,
            event_type: row.try_get("event_type")?,
            resource_id: row.try_get("resource_id")?,
            body: row.try_get("body")?,
            received_at: from_micros(row.try_get("received_at")?),
            attempts: row.try_get("attempts")?,
            claim: claim.to_owned(),
        })
    })
    .transpose()
}

pub(crate) async fn inbox_finish(
    pool: &Pool,
    item: &InboxItem,
    state: &str,
    error: Option<&str>,
    retry_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let done = sqlx::query(
        "UPDATE webhook_inbox SET state = $1, last_error = $2, available_at = $3, finished_at = $4, \
         claimed_by = NULL WHERE id = $5 AND claimed_by = $6",
    )
    .bind(state)
    .bind(error)
    .bind(micros(retry_at.unwrap_or(now)))
    .bind(micros(now))
    .bind(item.id)
    .bind(&item.claim)
    .execute(tx.conn())
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(done == 1)
}

pub(crate) async fn inbox_reap(pool: &Pool, cutoff: OffsetDateTime) -> Result<u64> {
    let mut tx = begin_write(pool).await?;
    let affected = sqlx::query(
        "DELETE FROM webhook_inbox WHERE received_at < $1 AND state IN ('processed', 'dead')",
    )
    .bind(micros(cutoff))
    .execute(tx.conn())
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(affected)
}

pub(crate) async fn inbox_counts(pool: &Pool) -> Result<InboxCounts> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM webhook_inbox GROUP BY state")
        .fetch_all(pool)
        .await?;
    let mut counts = InboxCounts::default();
    for row in rows {
        let n: i64 = row.try_get("n")?;
        match row.try_get::<String, _>("state")?.as_str() {
            "pending" => counts.pending = n,
            "processing" => counts.processing = n,
            "processed" => counts.processed = n,
            _ => counts.dead += n,
        }
    }
    Ok(counts)
}

// ---------------------------------------------------------------------------------------------- checkpoints

pub(crate) async fn checkpoint_get(pool: &Pool, name: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT value FROM checkpoints WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|row| row.try_get("value")).transpose()?)
}

pub(crate) async fn checkpoint_put(
    pool: &Pool,
    name: &str,
    value: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO checkpoints (name, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(value)
    .bind(micros(now))
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn checkpoint_delete(pool: &Pool, name: &str) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let done = sqlx::query("DELETE FROM checkpoints WHERE name = $1")
        .bind(name)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------------------------------------- pause

pub(crate) async fn pause_set(
    pool: &Pool,
    paused: bool,
    by: &str,
    reason: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO pause_flag (id, paused, set_by, reason, set_at) VALUES (1, $1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET paused = excluded.paused, set_by = excluded.set_by, \
         reason = excluded.reason, set_at = excluded.set_at",
    )
    .bind(paused)
    .bind(by)
    .bind(reason)
    .bind(micros(now))
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn pause_get(pool: &Pool) -> Result<Option<PauseInfo>> {
    let row = sqlx::query("SELECT paused, set_by, reason, set_at FROM pause_flag WHERE id = 1")
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    if !row.try_get::<bool, _>("paused")? {
        return Ok(None);
    }
    Ok(Some(PauseInfo {
        by: row.try_get("set_by")?,
        reason: row.try_get("reason")?,
        since: from_micros(row.try_get("set_at")?),
    }))
}

// ---------------------------------------------------------------------------------------------- budget

/// Locks (creating if needed) `team`'s row and returns `(window_start, spent)` moved to the current window.
async fn budget_row(
    tx: &mut Tx,
    team: &str,
    window: Duration,
    now: OffsetDateTime,
) -> Result<(i64, i64, bool)> {
    let current = window_start(micros(now), dur_micros(window));
    sqlx::query("INSERT INTO rate_budget (team, window_start, spent) VALUES ($1, $2, 0) ON CONFLICT (team) DO NOTHING")
        .bind(team)
        .bind(current)
        .execute(tx.conn())
        .await?;
    let row = sqlx::query(lock_rows!(
        "SELECT window_start, spent FROM rate_budget WHERE team = $1"
    ))
    .bind(team)
    .fetch_one(tx.conn())
    .await?;
    let start: i64 = row.try_get("window_start")?;
    let spent: i64 = row.try_get("spent")?;
    // Never move a window backwards: a replica whose clock lags must not reopen a spent window.
    Ok(if current > start {
        (current, 0, true)
    } else {
        (start, spent, false)
    })
}

async fn budget_write(tx: &mut Tx, team: &str, start: i64, spent: i64) -> Result<()> {
    sqlx::query("UPDATE rate_budget SET window_start = $2, spent = $3 WHERE team = $1")
        .bind(team)
        .bind(start)
        .bind(spent)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub(crate) async fn budget_spend(
    pool: &Pool,
    team: &str,
    cost: i64,
    limit: i64,
    window: Duration,
    now: OffsetDateTime,
) -> Result<Spend> {
    let mut tx = begin_write(pool).await?;
    let (start, spent, moved) = budget_row(&mut tx, team, window, now).await?;
    let outcome = if spent + cost <= limit {
        budget_write(&mut tx, team, start, spent + cost).await?;
        Spend::Granted {
            remaining: limit - spent - cost,
        }
    } else {
        if moved {
            budget_write(&mut tx, team, start, spent).await?;
        }
        Spend::WaitUntil(from_micros(start.saturating_add(dur_micros(window))))
    };
    tx.commit().await?;
    Ok(outcome)
}

pub(crate) async fn budget_observe(
    pool: &Pool,
    team: &str,
    remaining: i64,
    limit: i64,
    window: Duration,
    now: OffsetDateTime,
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let (start, spent, _) = budget_row(&mut tx, team, window, now).await?;
    budget_write(
        &mut tx,
        team,
        start,
        spent.max(limit - remaining.clamp(0, limit)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn budget_current(
    pool: &Pool,
    team: &str,
    window: Duration,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, i64)> {
    let current = window_start(micros(now), dur_micros(window));
    let row = sqlx::query("SELECT window_start, spent FROM rate_budget WHERE team = $1")
        .bind(team)
        .fetch_optional(pool)
        .await?;
    let (start, spent) = match row {
        Some(row) => (
            row.try_get::<i64, _>("window_start")?,
            row.try_get::<i64, _>("spent")?,
        ),
        None => (current, 0),
    };
    Ok(if current > start {
        (from_micros(current), 0)
    } else {
        (from_micros(start), spent)
    })
}
