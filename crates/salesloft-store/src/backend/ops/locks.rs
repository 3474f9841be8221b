//! Named leases' SQL (front: [`crate::locks`]): one row per lock in `locks`, whose fence grows on every take.

use std::time::Duration;

use sqlx::Pool;
use time::OffsetDateTime;

use crate::backend::{Arg as _, Backend, dur_micros, from_micros, micros};
use crate::error::Result;
use crate::locks::{LockGuard, LockInfo};

/// Takes lock `name` if free, lapsed or held by `take_over_from`; the guard carries the new fence.
pub(crate) async fn try_acquire<B: Backend>(
    pool: &Pool<B>,
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
    let mut tx = B::begin_write(pool).await?;
    let row = sqlx::query(
        "INSERT INTO locks (name, holder, token, fence, acquired_at, expires_at) VALUES ($1, $2, $3, 1, $4, $5) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = excluded.token, \
         fence = locks.fence + 1, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at \
         WHERE locks.expires_at <= excluded.acquired_at OR locks.holder = $6 RETURNING fence",
    )
    .arg(name)
    .arg(holder)
    .arg(token)
    .arg(now_us)
    .arg(until_us)
    .arg(take_over_from)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    row.map(|row| {
        Ok(LockGuard {
            name: name.to_owned(),
            holder: holder.to_owned(),
            token: token.to_owned(),
            fence: B::read(&row, "fence")?,
            expires_at: from_micros(until_us),
        })
    })
    .transpose()
}

/// Extends a held lock; its new expiry, or `None` if it was lost.
pub(crate) async fn renew<B: Backend>(
    pool: &Pool<B>,
    guard: &LockGuard,
    ttl: Duration,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>> {
    let until_us = micros(now).saturating_add(dur_micros(ttl));
    let mut tx = B::begin_write(pool).await?;
    let done = sqlx::query("UPDATE locks SET expires_at = $3 WHERE name = $1 AND token = $2")
        .arg(&guard.name)
        .arg(&guard.token)
        .arg(until_us)
        .execute(tx.conn())
        .await
        .map(|done| B::rows_affected(&done))?;
    tx.commit().await?;
    Ok((done == 1).then(|| from_micros(until_us)))
}

/// Releases a held lock (keeping its row, so the fence keeps growing); whether it was still ours.
pub(crate) async fn release<B: Backend>(pool: &Pool<B>, guard: &LockGuard) -> Result<bool> {
    let mut tx = B::begin_write(pool).await?;
    let done = sqlx::query("UPDATE locks SET expires_at = 0, token = '' WHERE name = $1 AND token = $2")
        .arg(&guard.name)
        .arg(&guard.token)
        .execute(tx.conn())
        .await
        .map(|done| B::rows_affected(&done))?;
    tx.commit().await?;
    Ok(done == 1)
}

/// Who holds lock `name` now, if anyone.
pub(crate) async fn holder<B: Backend>(pool: &Pool<B>, name: &str, now: OffsetDateTime) -> Result<Option<LockInfo>> {
    let row = sqlx::query("SELECT holder, fence, expires_at FROM locks WHERE name = $1 AND expires_at > $2")
        .arg(name)
        .arg(micros(now))
        .fetch_optional(B::pool(pool))
        .await?;
    row.map(|row| {
        Ok(LockInfo {
            holder: B::read(&row, "holder")?,
            fence: B::read(&row, "fence")?,
            expires_at: from_micros(B::read(&row, "expires_at")?),
        })
    })
    .transpose()
}
