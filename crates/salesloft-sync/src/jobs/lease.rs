//! The lease a job holds while it runs (`job:<name>` in the store's locks), renewed in the background.
//!
//! Renewal follows [`LeaseTiming::for_ttl`] (the same timing as [`crate::lease_keeper`]): renew every third of
//! the lease. Two things end it early, and the run learns of both through its state ([`LeaseState`], also
//! sent as [`super::JobEvent::Lease`]):
//!
//! - a renewal answers [`StoreError::LeaseLost`]: another replica holds the job now. The run stops at its next
//!   safe point (pull: after the page being fetched is checkpointed; push: after the rows in flight).
//! - renewals keep failing (store unreachable) until [`LeaseTiming::deadline`] (two thirds of the lease) after
//!   the last good one: the run is cut off at once, while the lease it started under still holds, so no other
//!   replica can have taken the job yet. Cutting a run off is safe too: a pull resumes from its checkpoint and
//!   cuts the file back to it; a push row cut off mid-call is in doubt and the ledger reconciles it.

use std::sync::Arc;
use std::time::Duration;

use salesloft_clock::SharedClock;
use salesloft_store::{LockGuard, Store, StoreError};
use tokio::sync::{Mutex, watch};

use crate::lease_keeper::LeaseTiming;

/// How a held lease stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseState {
    /// Held and renewed.
    Held,
    /// Taken over by another holder: stop at the next safe point.
    Lost(String),
    /// Renewals failed until the deadline below the lease: stop now.
    Expiring(String),
}

/// A job's lease and its renewal task.
#[derive(Debug)]
pub(crate) struct JobLease {
    store: Store,
    guard: Arc<Mutex<LockGuard>>,
    state: watch::Receiver<LeaseState>,
    renewer: tokio::task::JoinHandle<()>,
}

impl JobLease {
    /// Takes `name` for `ttl` if it is free; `Ok(None)` if another holder has it.
    pub(crate) async fn try_take(
        store: &Store,
        name: &str,
        holder: &str,
        ttl: Duration,
        clock: SharedClock,
    ) -> Result<Option<Self>, StoreError> {
        let Some(guard) = store.locks().try_acquire(name, holder, ttl).await? else {
            return Ok(None);
        };
        let guard = Arc::new(Mutex::new(guard));
        let (tx, state) = watch::channel(LeaseState::Held);
        // The first wait starts now, not when the task is first polled, so renewals are timed from the take.
        let first = clock.sleep(LeaseTiming::for_ttl(ttl).renew_every);
        let renewer = tokio::spawn(renew(store.clone(), guard.clone(), ttl, clock, first, tx));
        Ok(Some(Self { store: store.clone(), guard, state, renewer }))
    }

    /// The lease's state, updated by the renewal task.
    pub(crate) fn state(&self) -> watch::Receiver<LeaseState> {
        self.state.clone()
    }

    /// Stops renewing and releases the lease (unless it was taken over already).
    pub(crate) async fn release(self) {
        self.renewer.abort();
        // Aborting a task that holds the guard's mutex (mid-renewal) frees it when the task is dropped.
        let _ = self.renewer.await;
        let guard = self.guard.lock().await.clone();
        let name = guard.name.clone();
        match self.store.locks().release(guard).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(lease = %name, "the job's lease was taken over before it was released"),
            // The lease lapses on its own after its ttl.
            Err(error) => tracing::warn!(lease = %name, %error, "could not release the job's lease; it will lapse"),
        }
    }
}

/// Renews the lease every third of `ttl` until it is lost or renewals fail past the deadline.
async fn renew(
    store: Store,
    guard: Arc<Mutex<LockGuard>>,
    ttl: Duration,
    clock: SharedClock,
    first: salesloft_clock::Sleep,
    state: watch::Sender<LeaseState>,
) {
    let timing = LeaseTiming::for_ttl(ttl);
    let mut last_renewed = clock.now();
    let mut wait = first;
    loop {
        wait.await;
        wait = clock.sleep(timing.renew_every);
        let result = {
            let mut guard = guard.lock().await;
            store.locks().renew(&mut guard, ttl).await
        };
        match result {
            Ok(()) => last_renewed = clock.now(),
            Err(StoreError::LeaseLost { name, .. }) => {
                tracing::warn!(lease = %name, "the job's lease was taken over; stopping at the next safe point");
                let _ = state.send(LeaseState::Lost(format!("the lease {name} was taken over by another holder")));
                return;
            }
            Err(error) => {
                let since = clock.now().saturating_sub(last_renewed);
                if since >= timing.deadline {
                    tracing::error!(%error, "cannot renew the job's lease; stopping the run before it lapses");
                    let _ = state.send(LeaseState::Expiring(format!(
                        "the lease could not be renewed for {}s ({error}); stopped before it lapsed",
                        since.as_secs()
                    )));
                    return;
                }
                tracing::warn!(%error, "could not renew the job's lease; will try again");
            }
        }
    }
}
