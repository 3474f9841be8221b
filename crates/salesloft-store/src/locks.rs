//! Named locks that hold across processes and replicas: a lease row `(name, holder, token, fence, expires_at)`.
//!
//! Used per email for upserts (DESIGN.md "Upsert by email") and per connection for OAuth token refresh
//! (SalesLoft revokes every older refresh token on refresh, so refreshes must be serialized — FACTS.md §1.3).
//! A lease expires so that a dead holder cannot wedge a lock; a live holder renews it. Acquisition is one
//! `INSERT … ON CONFLICT DO UPDATE … WHERE expires_at <= now` statement, atomic on both backends. The `fence`
//! number grows with every acquisition, so downstream writes can reject a stale holder.
//!
//! There is no release on drop (that would need an async drop): call [`Locks::release`]; if the process dies,
//! the lease expires.

use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::{Result, Store, StoreError};

/// A held lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockGuard {
    /// Lock name.
    pub name: String,
    /// Holder (for messages).
    pub holder: String,
    pub(crate) token: String,
    /// Fencing number: strictly greater than any earlier holder's.
    pub fence: i64,
    /// When the lease lapses unless renewed.
    pub expires_at: OffsetDateTime,
}

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockInfo {
    /// Holder.
    pub holder: String,
    /// Fencing number.
    pub fence: i64,
    /// Lease expiry.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Handle on the locks.
#[derive(Debug, Clone)]
pub struct Locks {
    store: Store,
}

impl Locks {
    pub(crate) fn new(store: Store) -> Self {
        Self { store }
    }

    /// Takes `name` for `ttl` if it is free or its lease has lapsed; `None` if someone else holds it.
    pub async fn try_acquire(&self, name: &str, holder: &str, ttl: Duration) -> Result<Option<LockGuard>> {
        check(name, ttl)?;
        let now = self.store.now();
        let token = uuid::Uuid::new_v4().to_string();
        dispatch!(self.store, locks::try_acquire(name, holder, &token, ttl, None, now))
    }

    /// Takes `name` if it is free, its lease has lapsed, or it is held by `dead_holder` — a holder the caller
    /// has proven dead (its process is gone), whose lease need not be waited out. `None` if someone else holds
    /// it (including a new holder that took it since the caller looked).
    pub async fn try_take_over(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        dead_holder: &str,
    ) -> Result<Option<LockGuard>> {
        check(name, ttl)?;
        let now = self.store.now();
        let token = uuid::Uuid::new_v4().to_string();
        dispatch!(self.store, locks::try_acquire(name, holder, &token, ttl, Some(dead_holder), now))
    }

    /// Like [`Locks::try_acquire`], retrying (5 ms growing to 100 ms between tries) for up to `wait` of the
    /// store's clock; `None` if still held by someone else after that.
    pub async fn acquire(&self, name: &str, holder: &str, ttl: Duration, wait: Duration) -> Result<Option<LockGuard>> {
        let clock = &self.store.options().clock;
        let deadline = clock.now() + wait;
        let mut pause = Duration::from_millis(5);
        loop {
            if let Some(guard) = self.try_acquire(name, holder, ttl).await? {
                return Ok(Some(guard));
            }
            let now = clock.now();
            if now >= deadline {
                return Ok(None);
            }
            clock.sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Extends the lease to `now + ttl`; [`StoreError::LeaseLost`] if it was taken over.
    pub async fn renew(&self, guard: &mut LockGuard, ttl: Duration) -> Result<()> {
        let now = self.store.now();
        let until: Option<OffsetDateTime> = dispatch!(self.store, locks::renew(guard, ttl, now))?;
        match until {
            Some(until) => {
                guard.expires_at = until;
                Ok(())
            }
            None => Err(StoreError::LeaseLost { what: "lock", name: guard.name.clone() }),
        }
    }

    /// Releases the lock; `false` if it had already been taken over (the lease lapsed).
    pub async fn release(&self, guard: LockGuard) -> Result<bool> {
        dispatch!(self.store, locks::release(&guard))
    }

    /// The current live holder of `name`, if any.
    pub async fn holder(&self, name: &str) -> Result<Option<LockInfo>> {
        let now = self.store.now();
        dispatch!(self.store, locks::holder(name, now))
    }
}

/// Refuses an empty lock name ([`StoreError::EmptyLockName`]) and a zero ttl ([`StoreError::ZeroLockTtl`]).
fn check(name: &str, ttl: Duration) -> Result<()> {
    if name.is_empty() {
        return Err(StoreError::EmptyLockName);
    }
    if ttl.is_zero() {
        return Err(StoreError::ZeroLockTtl);
    }
    Ok(())
}
