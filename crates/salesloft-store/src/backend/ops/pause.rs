//! The pause switch's SQL (front: [`crate::pause`]): one row, `pause_flag.id = 1`.

use sqlx::Pool;
use time::OffsetDateTime;

use crate::backend::{Arg as _, Backend, WriteTx, from_micros, micros, row_lock};
use crate::error::Result;
use crate::pause::PauseInfo;

/// Sets or clears the switch.
pub(crate) async fn set<B: Backend>(
    pool: &Pool<B>,
    paused: bool,
    by: &str,
    reason: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let mut tx = B::begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO pause_flag (id, paused, set_by, reason, set_at) VALUES (1, $1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET paused = excluded.paused, set_by = excluded.set_by, \
         reason = excluded.reason, set_at = excluded.set_at",
    )
    .arg(paused)
    .arg(by)
    .arg(reason)
    .arg(micros(now))
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The switch, if on.
pub(crate) async fn get<B: Backend>(pool: &Pool<B>) -> Result<Option<PauseInfo>> {
    let row = sqlx::query("SELECT paused, set_by, reason, set_at FROM pause_flag WHERE id = 1")
        .fetch_optional(B::pool(pool))
        .await?;
    row.map(|row| info::<B>(&row)).transpose().map(Option::flatten)
}

/// The switch as read inside `tx` — share-locked on PostgreSQL, so a concurrent [`set`] waits for `tx` — if on.
/// The ledger's *request sent* step reads it here, in its own transaction.
pub(crate) async fn get_in<B: Backend>(tx: &mut WriteTx<B>) -> Result<Option<PauseInfo>> {
    let row =
        sqlx::query(row_lock!(B, "SELECT paused, set_by, reason, set_at FROM pause_flag WHERE id = 1", " FOR SHARE"))
            .fetch_optional(tx.conn())
            .await?;
    row.map(|row| info::<B>(&row)).transpose().map(Option::flatten)
}

/// The switch from its row, if on.
fn info<B: Backend>(row: &B::Row) -> Result<Option<PauseInfo>> {
    if !<B as crate::backend::Reads<bool>>::read(row, "paused")? {
        return Ok(None);
    }
    Ok(Some(PauseInfo {
        by: B::read(row, "set_by")?,
        reason: B::read(row, "reason")?,
        since: from_micros(B::read(row, "set_at")?),
    }))
}
