//! Sync checkpoints' SQL (front: [`crate::checkpoints`]): one JSON text per name.

use sqlx::Pool;
use time::OffsetDateTime;

use crate::backend::{Arg as _, Backend, micros};
use crate::error::Result;

/// The stored JSON text of checkpoint `name`.
pub(crate) async fn get<B: Backend>(pool: &Pool<B>, name: &str) -> Result<Option<String>> {
    let row =
        sqlx::query("SELECT value FROM checkpoints WHERE name = $1").arg(name).fetch_optional(B::pool(pool)).await?;
    Ok(row.map(|row| B::read(&row, "value")).transpose()?)
}

/// Inserts or replaces checkpoint `name`.
pub(crate) async fn put<B: Backend>(pool: &Pool<B>, name: &str, value: &str, now: OffsetDateTime) -> Result<()> {
    let mut tx = B::begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO checkpoints (name, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .arg(name)
    .arg(value)
    .arg(micros(now))
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes checkpoint `name`; whether it existed.
pub(crate) async fn delete<B: Backend>(pool: &Pool<B>, name: &str) -> Result<bool> {
    let mut tx = B::begin_write(pool).await?;
    let done = sqlx::query("DELETE FROM checkpoints WHERE name = $1").arg(name).execute(tx.conn()).await?;
    tx.commit().await?;
    Ok(B::rows_affected(&done) == 1)
}
