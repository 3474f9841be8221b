//! The team's shared rate budget: one row per team that every replica spends from, so several replicas stay
//! inside SalesLoft's one per-team budget (600 cost per minute, DESIGN.md "Why a gateway").
//!
//! Windows are fixed and aligned to multiples of the window length since the Unix epoch, so every replica
//! agrees on the window without coordination. [`Budget::observe_remaining`] corrects the row from the
//! `x-ratelimit-remaining-minute` header, because the server is the source of truth (other integrations of the
//! same team spend from it too).

use std::time::Duration;

use time::OffsetDateTime;

use crate::{Result, Store, StoreError};

/// Outcome of [`Budget::try_spend`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// Spent; this much is left in the window.
    Granted {
        /// Remaining cost in the current window.
        remaining: i64,
    },
    /// Not enough left; the window resets at this time.
    WaitUntil(OffsetDateTime),
}

/// Handle on the shared budget.
#[derive(Debug, Clone)]
pub struct Budget {
    store: Store,
}

impl Budget {
    pub(crate) fn new(store: Store) -> Self {
        Self { store }
    }

    /// Atomically spends `cost` from `team`'s budget of `limit` per `window`, or says when the window resets.
    pub async fn try_spend(&self, team: &str, cost: i64, limit: i64, window: Duration) -> Result<Spend> {
        check(cost, limit, window)?;
        let now = self.store.now();
        dispatch!(self.store, budget::spend(team, cost, limit, window, now))
    }

    /// Raises the spent amount to at least `limit - remaining` (never lowers it), from the server's
    /// remaining-budget header.
    pub async fn observe_remaining(&self, team: &str, remaining: i64, limit: i64, window: Duration) -> Result<()> {
        check(0, limit, window)?;
        let now = self.store.now();
        dispatch!(self.store, budget::observe(team, remaining, limit, window, now))
    }

    /// `(window_start, spent)` for `team` in the current window.
    pub async fn current(&self, team: &str, window: Duration) -> Result<(OffsetDateTime, i64)> {
        check(0, 1, window)?;
        let now = self.store.now();
        dispatch!(self.store, budget::current(team, window, now))
    }
}

fn check(cost: i64, limit: i64, window: Duration) -> Result<()> {
    if cost < 0 || limit <= 0 || cost > limit || window.is_zero() {
        return Err(StoreError::BudgetArguments { cost, limit, window });
    }
    Ok(())
}

/// Start of the fixed window containing `now_us`.
pub(crate) fn window_start(now_us: i64, window_us: i64) -> i64 {
    now_us - now_us.rem_euclid(window_us.max(1))
}
