//! The shared rate budget's SQL (front: [`crate::budget`]): one row per team holding the current window's
//! start and spend.

use std::time::Duration;

use sqlx::Pool;
use time::OffsetDateTime;

use crate::backend::{Arg as _, Backend, WriteTx, dur_micros, from_micros, micros, row_lock};
use crate::budget::{Spend, window_start};
use crate::error::Result;

/// Locks (creating if needed) `team`'s row and returns `(window_start, spent)` moved to the current window.
async fn team_row<B: Backend>(
    tx: &mut WriteTx<B>,
    team: &str,
    window: Duration,
    now: OffsetDateTime,
) -> Result<(i64, i64, bool)> {
    let current = window_start(micros(now), dur_micros(window));
    sqlx::query("INSERT INTO rate_budget (team, window_start, spent) VALUES ($1, $2, 0) ON CONFLICT (team) DO NOTHING")
        .arg(team)
        .arg(current)
        .execute(tx.conn())
        .await?;
    let row = sqlx::query(row_lock!(B, "SELECT window_start, spent FROM rate_budget WHERE team = $1", " FOR UPDATE"))
        .arg(team)
        .fetch_one(tx.conn())
        .await?;
    let start: i64 = B::read(&row, "window_start")?;
    let spent: i64 = B::read(&row, "spent")?;
    // Never move a window backwards: a replica whose clock lags must not reopen a spent window.
    Ok(if current > start { (current, 0, true) } else { (start, spent, false) })
}

/// Stores `team`'s window start and spend (its row is locked by [`team_row`]).
async fn write_row<B: Backend>(tx: &mut WriteTx<B>, team: &str, start: i64, spent: i64) -> Result<()> {
    sqlx::query("UPDATE rate_budget SET window_start = $2, spent = $3 WHERE team = $1")
        .arg(team)
        .arg(start)
        .arg(spent)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Spends `cost` from `team`'s window if it fits, else says when the window ends.
pub(crate) async fn spend<B: Backend>(
    pool: &Pool<B>,
    team: &str,
    cost: i64,
    limit: i64,
    window: Duration,
    now: OffsetDateTime,
) -> Result<Spend> {
    let mut tx = B::begin_write(pool).await?;
    let (start, spent, moved) = team_row(&mut tx, team, window, now).await?;
    let outcome = if spent + cost <= limit {
        write_row(&mut tx, team, start, spent + cost).await?;
        Spend::Granted { remaining: limit - spent - cost }
    } else {
        if moved {
            write_row(&mut tx, team, start, spent).await?;
        }
        Spend::WaitUntil(from_micros(start.saturating_add(dur_micros(window))))
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Raises the window's spend to what the server says is used (`limit - remaining`); never lowers it.
pub(crate) async fn observe<B: Backend>(
    pool: &Pool<B>,
    team: &str,
    remaining: i64,
    limit: i64,
    window: Duration,
    now: OffsetDateTime,
) -> Result<()> {
    let mut tx = B::begin_write(pool).await?;
    let (start, spent, _) = team_row(&mut tx, team, window, now).await?;
    write_row(&mut tx, team, start, spent.max(limit - remaining.clamp(0, limit))).await?;
    tx.commit().await?;
    Ok(())
}

/// The current window's start and spend, without writing.
pub(crate) async fn current<B: Backend>(
    pool: &Pool<B>,
    team: &str,
    window: Duration,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, i64)> {
    let current = window_start(micros(now), dur_micros(window));
    let row = sqlx::query("SELECT window_start, spent FROM rate_budget WHERE team = $1")
        .arg(team)
        .fetch_optional(B::pool(pool))
        .await?;
    let (start, spent) = match row {
        Some(row) => (
            <B as crate::backend::Reads<i64>>::read(&row, "window_start")?,
            <B as crate::backend::Reads<i64>>::read(&row, "spent")?,
        ),
        None => (current, 0),
    };
    Ok(if current > start { (from_micros(current), 0) } else { (from_micros(start), spent) })
}
