//! [`StoreBudget`]: the client's [`SharedBudget`] kept in the store, so every gateway replica on one store
//! spends from one account of the team's SalesLoft budget (600 cost per minute, FACTS.md §2.1; DESIGN.md
//! "Why a gateway").
//!
//! The store keeps one row per team and per fixed window aligned to the Unix epoch, so replicas agree on the
//! window without talking to each other (`salesloft_store::budget`). SalesLoft's
//! `x-ratelimit-remaining-minute` (FACTS.md §2.3) corrects the row upwards, since other integrations of the
//! team spend from the same budget. A reserve (`budget.reserve_pct`) is kept unspent for them.
//!
//! **Chunks.** One store transaction per request would make the store the gateway's bottleneck (a write and
//! often an fsync per proxied call). With [`StoreBudget::with_chunk`] a replica takes cost from the row a
//! chunk at a time and spends it locally until the chunk is used or the window ends. A chunk is spent in the
//! row the moment it is taken, so the replicas together can never overspend; what a replica leaves unused
//! at the end of a window is only lost to the others for that window, which is why chunks stay small (the
//! default of `slprod serve` is 10 of the 600). Near the end of a window, when a whole chunk no longer fits,
//! the request's own cost is asked for, so the last of the budget is still usable. When half a chunk is left,
//! the next chunk is taken in the background, so a request waits for the store only when the replica holds
//! nothing (its first request of a window, or a burst faster than the store answers).
//!
//! The server's remaining figure is written to the row only when it is below what the row last said was left:
//! otherwise the row already knows at least as much spend, and the write would change nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use salesloft_client::BoxError;
use salesloft_client::transport::SharedBudget;
use salesloft_store::{Spend, Store};
use time::OffsetDateTime;

/// The team's budget in the store; see the module docs.
#[derive(Debug, Clone)]
pub struct StoreBudget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    team: String,
    limit: u32,
    reserve: u32,
    window: Duration,
    chunk: u32,
    local: Mutex<Local>,
    /// A background refill is under way (one at a time).
    refilling: AtomicBool,
}

/// What this replica holds of the current window.
#[derive(Debug, Default)]
struct Local {
    /// End of the window the held cost belongs to; nothing is held after it.
    window_end: Option<OffsetDateTime>,
    /// Cost taken from the row and not yet spent.
    held: i64,
    /// What the row said was left after our last grant in this window (to skip useless corrections).
    row_remaining: Option<i64>,
}

impl StoreBudget {
    /// `limit` cost per `window` for `team` (the row's name), of which `reserve` is never spent by us. Takes
    /// cost from the row one request at a time; see [`StoreBudget::with_chunk`].
    pub fn new(store: Store, team: impl Into<String>, limit: u32, reserve: u32, window: Duration) -> Self {
        Self::build(store, team.into(), limit, reserve, window, 1)
    }

    /// Takes cost from the row `chunk` at a time (at least 1, at most the usable budget) and spends it
    /// locally; see the module docs. Call it before the budget is used: what is held so far is dropped.
    pub fn with_chunk(self, chunk: u32) -> Self {
        let i = &self.inner;
        Self::build(i.store.clone(), i.team.clone(), i.limit, i.reserve, i.window, chunk)
    }

    fn build(store: Store, team: String, limit: u32, reserve: u32, window: Duration, chunk: u32) -> Self {
        let reserve = reserve.min(limit.saturating_sub(1));
        let inner = Inner {
            store,
            team,
            limit,
            reserve,
            window,
            chunk: chunk.clamp(1, (limit - reserve).max(1)),
            local: Mutex::new(Local::default()),
            refilling: AtomicBool::new(false),
        };
        Self { inner: Arc::new(inner) }
    }

    /// Takes the next chunk in the background when half of one is left, so requests do not wait for it.
    fn refill_ahead(&self, now: OffsetDateTime) {
        let inner = &self.inner;
        let low = {
            let local = inner.local.lock().unwrap_or_else(|e| e.into_inner());
            inner.chunk > 1 && local.held * 2 < i64::from(inner.chunk)
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if !low || inner.refilling.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = self.inner.clone();
        runtime.spawn(async move {
            let chunk = i64::from(inner.chunk);
            match inner.store.budget().try_spend(&inner.team, chunk, inner.usable(), inner.window).await {
                Ok(Spend::Granted { remaining }) => inner.hold(chunk, 0, remaining, now),
                // Spent, or the store is unreachable: the next request asks itself and waits or logs.
                Ok(Spend::WaitUntil(_)) => {}
                Err(error) => tracing::debug!(%error, "budget chunk not taken ahead"),
            }
            inner.refilling.store(false, Ordering::Release);
        });
    }
}

impl Inner {
    fn usable(&self) -> i64 {
        i64::from(self.limit - self.reserve)
    }

    fn window_end(&self, now: OffsetDateTime) -> OffsetDateTime {
        let window_us = i64::try_from(self.window.as_micros()).unwrap_or(i64::MAX).max(1);
        let now_us = i64::try_from(now.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX);
        let end_us = (now_us - now_us.rem_euclid(window_us)).saturating_add(window_us);
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(end_us) * 1_000).unwrap_or(now)
    }

    /// Spends `cost` from what this replica holds, if it holds enough of the current window.
    fn spend_held(&self, cost: i64, now: OffsetDateTime) -> bool {
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        if local.window_end.is_none_or(|end| now >= end) {
            *local = Local::default();
        }
        if local.held >= cost {
            local.held -= cost;
            return true;
        }
        false
    }

    /// Keeps `taken - cost` of a grant asked for at `now` (read *before* asking: if the window rolled while
    /// the store answered, the grant is charged to the old window and expires unused, which wastes a little
    /// and never overspends; reading the time after would risk the opposite).
    fn hold(&self, taken: i64, cost: i64, remaining: i64, now: OffsetDateTime) {
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        let end = self.window_end(now);
        match local.window_end {
            // Already holding a later window's cost: this grant belongs to a window that is over.
            Some(current) if current > end => return,
            Some(current) if current == end => {}
            _ => *local = Local { window_end: Some(end), ..Local::default() },
        }
        local.held += taken - cost;
        local.row_remaining = Some(remaining);
    }

    fn wait(&self, until: OffsetDateTime) -> Duration {
        // To the nanosecond: a wait rounded down would wake just before the window rolls.
        let nanos = (until - self.store.now()).whole_nanoseconds().max(0);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl SharedBudget for StoreBudget {
    fn try_spend(&self, cost: u32) -> BoxFuture<'_, Result<Option<Duration>, BoxError>> {
        Box::pin(async move {
            let this = &self.inner;
            // A request dearer than the whole usable budget is charged the whole budget (it waits for a fresh
            // window instead of never going out).
            let cost = i64::from(cost).min(this.usable());
            let now = this.store.now();
            if this.spend_held(cost, now) {
                self.refill_ahead(now);
                return Ok(None);
            }
            let budget = this.store.budget();
            let chunk = i64::from(this.chunk).max(cost);
            let mut outcome = budget.try_spend(&this.team, chunk, this.usable(), this.window).await?;
            let mut taken = chunk;
            if chunk > cost && matches!(outcome, Spend::WaitUntil(_)) {
                // A whole chunk no longer fits this window; the request's own cost may.
                outcome = budget.try_spend(&this.team, cost, this.usable(), this.window).await?;
                taken = cost;
            }
            match outcome {
                Spend::Granted { remaining } => {
                    this.hold(taken, cost, remaining, now);
                    Ok(None)
                }
                Spend::WaitUntil(until) => Ok(Some(this.wait(until))),
            }
        })
    }

    fn observe_remaining(&self, remaining: u32) -> BoxFuture<'_, Result<(), BoxError>> {
        Box::pin(async move {
            let this = &self.inner;
            // What SalesLoft has left minus our reserve is what we may still spend.
            let remaining = i64::from(remaining.saturating_sub(this.reserve)).min(this.usable());
            let now = this.store.now();
            {
                let mut local = this.local.lock().unwrap_or_else(|e| e.into_inner());
                let current = local.window_end.is_some_and(|end| now < end);
                match local.row_remaining {
                    // The row already counts at least this much spend: writing would change nothing.
                    Some(known) if current && remaining >= known => return Ok(()),
                    _ if current => local.row_remaining = Some(remaining),
                    _ => {}
                }
            }
            this.store.budget().observe_remaining(&this.team, remaining, this.usable(), this.window).await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use salesloft_store::{ManualClock, StoreOptions, StoreUrl};

    use super::*;

    const WINDOW: Duration = Duration::from_secs(60);

    async fn store(dir: &std::path::Path, clock: &ManualClock) -> Store {
        let url = StoreUrl::parse(&format!("sqlite://{}", dir.join("s.sqlite").display())).expect("url");
        let options = StoreOptions { clock: Arc::new(clock.clone()), ..StoreOptions::default() };
        salesloft_store::open_with(&url, options).await.expect("store")
    }

    async fn spent(store: &Store) -> i64 {
        store.budget().current("team", WINDOW).await.expect("row").1
    }

    #[tokio::test]
    async fn chunks_cut_store_writes_and_two_replicas_never_overspend() {
        let dir = tempfile::tempdir().expect("dir");
        let clock = ManualClock::new(time::macros::datetime!(2026-11-30 12:00:30 UTC));
        let store = store(dir.path(), &clock).await;
        let a = StoreBudget::new(store.clone(), "team", 100, 0, WINDOW).with_chunk(10);
        let b = StoreBudget::new(store.clone(), "team", 100, 0, WINDOW).with_chunk(10);
        for _ in 0..5 {
            assert_eq!(a.try_spend(1).await.expect("a"), None);
        }
        assert_eq!(spent(&store).await, 10, "one chunk taken for five requests");
        let mut granted = 5;
        // Both replicas spend until refused: together they never get more than the budget.
        loop {
            let (ra, rb) = (a.try_spend(1).await.expect("a"), b.try_spend(1).await.expect("b"));
            granted += u32::from(ra.is_none()) + u32::from(rb.is_none());
            if ra.is_some() && rb.is_some() {
                break;
            }
        }
        assert_eq!(granted, 100, "every unit of the budget is usable, and no more");
        assert_eq!(spent(&store).await, 100);
    }

    #[tokio::test]
    async fn the_last_units_of_a_window_are_usable_though_a_chunk_no_longer_fits() {
        let dir = tempfile::tempdir().expect("dir");
        let clock = ManualClock::new(time::macros::datetime!(2026-11-30 12:00:30 UTC));
        let store = store(dir.path(), &clock).await;
        store.budget().try_spend("team", 95, 100, WINDOW).await.expect("others");
        let a = StoreBudget::new(store.clone(), "team", 100, 0, WINDOW).with_chunk(10);
        for _ in 0..5 {
            assert_eq!(a.try_spend(1).await.expect("a"), None);
        }
        assert!(a.try_spend(1).await.expect("a").is_some(), "the window is spent");
    }

    #[tokio::test]
    async fn held_cost_expires_with_its_window() {
        let dir = tempfile::tempdir().expect("dir");
        let clock = ManualClock::new(time::macros::datetime!(2026-11-30 12:00:30 UTC));
        let store = store(dir.path(), &clock).await;
        let a = StoreBudget::new(store.clone(), "team", 100, 0, WINDOW).with_chunk(10);
        assert_eq!(a.try_spend(1).await.expect("a"), None);
        clock.advance(WINDOW);
        assert_eq!(a.try_spend(1).await.expect("a"), None);
        assert_eq!(spent(&store).await, 10, "the new window's row was charged a fresh chunk");
    }

    #[tokio::test]
    async fn the_servers_remaining_figure_is_written_only_when_it_says_more_was_spent() {
        let dir = tempfile::tempdir().expect("dir");
        let clock = ManualClock::new(time::macros::datetime!(2026-11-30 12:00:30 UTC));
        let store = store(dir.path(), &clock).await;
        let a = StoreBudget::new(store.clone(), "team", 100, 0, WINDOW).with_chunk(10);
        assert_eq!(a.try_spend(1).await.expect("a"), None);
        a.observe_remaining(99).await.expect("observe");
        assert_eq!(spent(&store).await, 10, "the row already counts the chunk");
        a.observe_remaining(50).await.expect("observe");
        assert_eq!(spent(&store).await, 50, "others spent: the row is corrected");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_next_chunk_is_taken_ahead_so_requests_do_not_wait_for_the_store() {
        let dir = tempfile::tempdir().expect("dir");
        let clock = ManualClock::new(time::macros::datetime!(2026-11-30 12:00:30 UTC));
        let store = store(dir.path(), &clock).await;
        let a = StoreBudget::new(store.clone(), "team", 100, 0, WINDOW).with_chunk(10);
        for _ in 0..5 {
            assert_eq!(a.try_spend(1).await.expect("a"), None);
        }
        assert_eq!(spent(&store).await, 10, "half a chunk left: nothing taken ahead yet");
        assert_eq!(a.try_spend(1).await.expect("a"), None);
        // Less than half a chunk left: the next one is taken in the background.
        let mut waited = 0;
        while spent(&store).await < 20 {
            waited += 1;
            assert!(waited < 10_000, "the chunk was never taken ahead");
            tokio::task::yield_now().await;
        }
        assert_eq!(spent(&store).await, 20);
        assert_eq!(a.inner.local.lock().expect("local").held, 14, "4 left of the first chunk and a whole second one");
    }
}
