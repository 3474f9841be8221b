//! Keeps a row's ledger lease and email lock alive while one call to SalesLoft runs.
//!
//! Leases are extended by every ledger step, but a single call can outlast the lease (90 s, brandur's lock
//! timeout): the rate budget makes it wait for the next window, a 429's `Retry-After` is honoured, a slow
//! answer runs into its timeout, and retries add up. If the lease lapsed meanwhile, a rerun could take the row
//! over and send the same mutation again. So while a call runs, [`guard`]:
//!
//! - renews the lease every [`LeaseTiming::renew_every`] (a third of the lease) alongside the call, in the same
//!   task (no spawned task outlives the call);
//! - stops the call as soon as a renewal says the lease was taken over: the call future is dropped, so no
//!   further attempt (retry) is sent, and the row ends with an error before anything more goes out;
//! - bounds the call with a deadline of [`LeaseTiming::deadline`] (two thirds of the lease) after the last
//!   successful renewal: if renewals keep failing (store unreachable), the call ends while the lease it was
//!   started under still holds.
//!
//! The outcome of a call stopped this way is unknown (it may have landed): the row stays in doubt and a rerun
//! reconciles it by looking the person up first.

use std::future::Future;
use std::time::Duration;

use futures::future::BoxFuture;
use salesloft_client::Error;
use salesloft_clock::{Clock, ClockInstant, Sleep};
use salesloft_store::StoreError;

/// When a [`guard`] renews and when it gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    /// Time between renewals.
    pub renew_every: Duration,
    /// How long the call may run past the last successful renewal (or its start); below the lease.
    pub deadline: Duration,
}

impl LeaseTiming {
    /// Renew every third of `ttl`; end the call two thirds of `ttl` after the last renewal.
    pub fn for_ttl(ttl: Duration) -> Self {
        Self {
            renew_every: (ttl / 3).max(Duration::from_millis(1)),
            deadline: (ttl * 2 / 3).max(Duration::from_millis(1)),
        }
    }
}

/// Runs `call` while `renew` keeps its lease alive; see the module docs. `operation` names the call in errors.
/// Renewal intervals and the deadline are measured on `clock`.
pub async fn guard<T, C, R>(
    operation: &str,
    call: C,
    mut renew: R,
    timing: LeaseTiming,
    clock: &dyn Clock,
) -> Result<T, Error>
where
    C: Future<Output = Result<T, Error>>,
    R: FnMut() -> BoxFuture<'static, Result<(), StoreError>>,
{
    tokio::pin!(call);
    let mut deadline = clock.sleep(timing.deadline);
    // Between renewals: the wait for the next one. During a renewal: when it started, and the renewal.
    let mut next_renewal: Option<Sleep> = Some(clock.sleep(timing.renew_every));
    let mut renewal: Option<(ClockInstant, BoxFuture<'static, Result<(), StoreError>>)> = None;
    loop {
        let renewal_due = async {
            match next_renewal.as_mut() {
                Some(wait) => wait.await,
                None => std::future::pending().await,
            }
        };
        let renewal_done = async {
            match renewal.as_mut() {
                Some((_, pending)) => pending.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            result = &mut call => return result,
            outcome = renewal_done => {
                let started = renewal.take().map(|(started, _)| started).unwrap_or_else(|| clock.now());
                match outcome {
                    Ok(()) => deadline = clock.sleep((started + timing.deadline).saturating_sub(clock.now())),
                    Err(StoreError::LeaseLost { what, name }) => {
                        return Err(Error::Journal {
                            message: format!(
                                "{operation}: the row's {what} lease was taken over while the call ran; stopped \
                                 before sending anything more (the row stays in doubt: {name})"
                            ), source: None });
                    }
                    Err(error) => {
                        tracing::warn!(%error, operation, "could not renew the row's lease; will try again");
                    }
                }
                next_renewal = Some(clock.sleep(timing.renew_every));
            }
            () = renewal_due => {
                next_renewal = None;
                renewal = Some((clock.now(), renew()));
            }
            () = &mut deadline => {
                tracing::warn!(operation, "the call outlasted its deadline below the row's lease; stopping it");
                return Err(Error::Timeout { operation: format!("{operation} (deadline below the row's lease)") });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use futures::FutureExt as _;
    use salesloft_clock::SystemClock;

    use super::*;

    const TTL: Duration = Duration::from_secs(90);

    /// A lease on a [`SystemClock`] in paused tokio time: `renew` moves its expiry to now + TTL, unless it was
    /// lost after `lost_after` renewals.
    #[derive(Clone)]
    struct FakeLease {
        clock: SystemClock,
        expires: Arc<Mutex<ClockInstant>>,
        renewals: Arc<AtomicUsize>,
        lost_after: Option<usize>,
        failing: bool,
    }

    impl FakeLease {
        fn new(clock: &SystemClock, lost_after: Option<usize>, failing: bool) -> Self {
            Self {
                clock: clock.clone(),
                expires: Arc::new(Mutex::new(clock.now() + TTL)),
                renewals: Arc::new(AtomicUsize::new(0)),
                lost_after,
                failing,
            }
        }

        fn renewer(&self) -> impl FnMut() -> BoxFuture<'static, Result<(), StoreError>> {
            let lease = self.clone();
            move || {
                let lease = lease.clone();
                async move {
                    // A store round trip takes a moment.
                    lease.clock.sleep(Duration::from_millis(20)).await;
                    let n = lease.renewals.fetch_add(1, Ordering::SeqCst) + 1;
                    if lease.lost_after.is_some_and(|after| n > after) {
                        return Err(StoreError::LeaseLost { what: "idempotency key", name: "k".into() });
                    }
                    if lease.failing {
                        return Err(StoreError::ConnectionLost { detail: "store down".into() });
                    }
                    *lease.expires.lock().expect("lock") = lease.clock.now() + TTL;
                    Ok(())
                }
                .boxed()
            }
        }

        fn live(&self) -> bool {
            self.clock.now() < *self.expires.lock().expect("lock")
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_longer_than_the_lease_keeps_it_alive() {
        let clock = SystemClock::new();
        let lease = FakeLease::new(&clock, None, false);
        let probe = lease.clone();
        // Five minutes of budget waits and Retry-After: more than three leases long.
        let call = async move {
            for _ in 0..30 {
                probe.clock.sleep(Duration::from_secs(10)).await;
                assert!(probe.live(), "the lease lapsed under the call at {:?}", probe.clock.now());
            }
            Ok::<_, Error>("sent")
        };
        let result = guard("people.create", call, lease.renewer(), LeaseTiming::for_ttl(TTL), &clock).await;
        assert_eq!(result.expect("the call completes"), "sent");
        assert!(lease.renewals.load(Ordering::SeqCst) >= 9, "renewed every 30 s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_lease_stops_the_call_before_anything_more_is_sent() {
        let clock = SystemClock::new();
        let lease = FakeLease::new(&clock, Some(1), false);
        let sent_again = Arc::new(AtomicBool::new(false));
        let flag = sent_again.clone();
        let started = clock.now();
        let waits = clock.clone();
        // The first attempt waits out a 120 s Retry-After, then a retry would go out.
        let call = async move {
            waits.sleep(Duration::from_secs(120)).await;
            flag.store(true, Ordering::SeqCst);
            Ok::<_, Error>(())
        };
        let result = guard("people.create", call, lease.renewer(), LeaseTiming::for_ttl(TTL), &clock).await;
        match result {
            Err(Error::Journal { message, .. }) => assert!(message.contains("taken over"), "{message}"),
            other => panic!("expected the lost lease to stop the call, got {other:?}"),
        }
        assert!(!sent_again.load(Ordering::SeqCst), "no retry was sent after the lease was lost");
        let stopped = clock.now() - started;
        assert!(stopped <= Duration::from_secs(61), "stopped at the renewal that found it lost, got {stopped:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn failing_renewals_end_the_call_before_the_lease_lapses() {
        let clock = SystemClock::new();
        let lease = FakeLease::new(&clock, None, true);
        let probe = lease.clone();
        let waits = clock.clone();
        let call = async move {
            waits.sleep(Duration::from_secs(600)).await;
            Ok::<_, Error>(())
        };
        let result = guard("people.update", call, lease.renewer(), LeaseTiming::for_ttl(TTL), &clock).await;
        assert!(matches!(result, Err(Error::Timeout { .. })), "got {result:?}");
        assert!(probe.live(), "the call ended while the lease it started under still held");
    }
}
