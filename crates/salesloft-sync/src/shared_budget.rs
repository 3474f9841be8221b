//! [`StoreBudget`]: the client's [`SharedBudget`] kept in the store, so every gateway replica on one store
//! spends from one account of the team's SalesLoft budget (600 cost per minute, FACTS.md §2.1; DESIGN.md
//! "Why a gateway").
//!
//! The store keeps one row per team and per fixed window aligned to the Unix epoch, so replicas agree on the
//! window without talking to each other (`salesloft_store::budget`). SalesLoft's
//! `x-ratelimit-remaining-minute` (FACTS.md §2.3) corrects the row upwards, since other integrations of the
//! team spend from the same budget. A reserve (`budget.reserve_pct`) is kept unspent for them.

use std::time::Duration;

use futures::future::BoxFuture;
use salesloft_client::BoxError;
use salesloft_client::transport::SharedBudget;
use salesloft_store::{Spend, Store};

/// The team's budget in the store; see the module docs.
#[derive(Debug, Clone)]
pub struct StoreBudget {
    store: Store,
    team: String,
    limit: u32,
    reserve: u32,
    window: Duration,
}

impl StoreBudget {
    /// `limit` cost per `window` for `team` (the row's name), of which `reserve` is never spent by us.
    pub fn new(store: Store, team: impl Into<String>, limit: u32, reserve: u32, window: Duration) -> Self {
        Self { store, team: team.into(), limit, reserve: reserve.min(limit.saturating_sub(1)), window }
    }

    fn usable(&self) -> i64 {
        i64::from(self.limit - self.reserve)
    }
}

impl SharedBudget for StoreBudget {
    fn try_spend(&self, cost: u32) -> BoxFuture<'_, Result<Option<Duration>, BoxError>> {
        Box::pin(async move {
            // A request dearer than the whole usable budget is charged the whole budget (it waits for a fresh
            // window instead of never going out).
            let cost = i64::from(cost).min(self.usable());
            match self.store.budget().try_spend(&self.team, cost, self.usable(), self.window).await? {
                Spend::Granted { .. } => Ok(None),
                Spend::WaitUntil(until) => {
                    // To the nanosecond: a wait rounded down would wake just before the window rolls.
                    let nanos = (until - self.store.now()).whole_nanoseconds().max(0);
                    Ok(Some(Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))))
                }
            }
        })
    }

    fn observe_remaining(&self, remaining: u32) -> BoxFuture<'_, Result<(), BoxError>> {
        Box::pin(async move {
            // What SalesLoft has left minus our reserve is what we may still spend.
            let remaining = i64::from(remaining.saturating_sub(self.reserve)).min(self.usable());
            self.store.budget().observe_remaining(&self.team, remaining, self.usable(), self.window).await?;
            Ok(())
        })
    }
}
