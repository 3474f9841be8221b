//! The rate budget shared by several processes (gateway replicas): SalesLoft's budget (600 cost per minute,
//! FACTS.md §2.1) belongs to the team, so replicas must spend from one account of it, not each from their
//! own. The client names the trait and the store implements it (as with [`crate::journal::UpsertJournal`]):
//! `salesloft_sync::StoreBudget` keeps it in one row of the store that every replica spends from.
//!
//! The pipeline asks it after the local [`super::rate_budget`] reserved an attempt's cost and before the
//! attempt is sent: granted → send; not enough left → sleep the wait on the pipeline's clock and ask again.
//! After each answer it passes on `x-ratelimit-remaining-minute` (FACTS.md §2.3), since the server is the
//! source of truth (other integrations of the team spend too). A shared budget that cannot be reached (store
//! down) is logged and the local budget alone applies: pacing is a courtesy to the team, and refusing every
//! call because the store hiccuped would be worse.

use std::time::Duration;

use futures::future::BoxFuture;

use crate::error::BoxError;

/// A cost budget shared with other processes; see the module docs.
pub trait SharedBudget: Send + Sync + std::fmt::Debug + 'static {
    /// Spends `cost`: `Ok(None)` when granted, `Ok(Some(wait))` when not enough is left and the caller should
    /// ask again after `wait` (nothing was spent).
    fn try_spend(&self, cost: u32) -> BoxFuture<'_, Result<Option<Duration>, BoxError>>;

    /// Records what SalesLoft reported as left in the current window (`x-ratelimit-remaining-minute`).
    fn observe_remaining(&self, remaining: u32) -> BoxFuture<'_, Result<(), BoxError>>;
}
