//! The one clock of salesloft-prod.
//!
//! Every policy that depends on time — token expiry, backoff and `Retry-After`, the circuit breaker's open
//! interval, the cost budget's minute window, the store's lock expiry and its lock and open retry polls, the
//! sync journal's lock and lease waits and its lease renewals, the simulator's record timestamps, outage windows, latency faults and webhook retries — reads it through
//! [`Clock`], so tests drive a [`ManualClock`] (or run [`SystemClock`] under `tokio::time::pause()`) instead of
//! sleeping (STYLE.md "Time and I/O are injected").
//!
//! A clock gives two times: a monotonic [`Clock::now`] for intervals and deadlines inside one process, and a
//! wall time ([`Clock::unix_time`], [`Clock::now_utc`]) for anything stored or compared across processes and
//! replicas (token expiry, lock leases, timestamps).
//!
//! Use [`SystemClock`] in production; use [`ManualClock`] in tests that talk to real sockets (tokio's paused
//! time auto-advances while a loopback request is in flight and can fire I/O timeouts), and
//! `tokio::time::pause()` with [`SystemClock`] for tests without I/O.
#![warn(missing_docs)]

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

/// A monotonic instant measured from an arbitrary origin fixed by the clock.
pub type ClockInstant = Duration;

/// The future a [`Clock::sleep`] returns.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of monotonic time, wall time and sleeps.
pub trait Clock: Send + Sync + Debug + 'static {
    /// Monotonic time elapsed since this clock's origin.
    fn now(&self) -> ClockInstant;

    /// Waits for `duration` of this clock's time.
    fn sleep(&self, duration: Duration) -> Sleep;

    /// Wall-clock time as a duration since the Unix epoch (zero before the epoch).
    fn unix_time(&self) -> Duration;

    /// Wall-clock time as a UTC date and time.
    fn now_utc(&self) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + self.unix_time()
    }
}

/// A cheaply clonable handle to a clock.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock: monotonic time and sleeps from `tokio::time` (so it follows `tokio::time::pause()`), wall
/// time from the operating system.
#[derive(Debug, Clone)]
pub struct SystemClock {
    origin: tokio::time::Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is now.
    pub fn new() -> Self {
        Self::default()
    }

    /// A shareable handle to a new system clock.
    pub fn shared() -> SharedClock {
        Arc::new(Self::default())
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self { origin: tokio::time::Instant::now() }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> ClockInstant {
        tokio::time::Instant::now().saturating_duration_since(self.origin)
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }

    fn unix_time(&self) -> Duration {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
    }

    fn now_utc(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A virtual clock for tests: it only moves when told to ([`ManualClock::advance`], [`ManualClock::set`]) or
/// when something sleeps on it. `sleep` returns at once (after one yield) and moves the clock forward by the
/// requested duration; every requested sleep is recorded so a test can assert the waits a policy asked for.
/// Clones share the same time.
///
/// Its wall time starts where the constructor says ([`ManualClock::new`]: the real wall time of its creation;
/// [`ManualClock::starting_at`]: a fixed instant) and moves with its monotonic time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualState>>,
}

#[derive(Debug)]
struct ManualState {
    now: Duration,
    wall_origin: OffsetDateTime,
    sleeps: Vec<Duration>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::starting_at(OffsetDateTime::now_utc())
    }
}

impl ManualClock {
    /// A clock at monotonic time zero whose wall time starts at the real wall time of its creation.
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock at monotonic time zero whose wall time starts at `start`.
    pub fn starting_at(start: OffsetDateTime) -> Self {
        Self {
            inner: Arc::new(Mutex::new(ManualState { now: Duration::ZERO, wall_origin: start, sleeps: Vec::new() })),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ManualState> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves the clock (monotonic and wall time) forward without recording a sleep.
    pub fn advance(&self, by: Duration) {
        self.state().now += by;
    }

    /// Sets the wall time to `to`; monotonic time does not move (it never goes backwards).
    pub fn set(&self, to: OffsetDateTime) {
        let mut state = self.state();
        state.wall_origin = to - state.now;
    }

    /// Every sleep requested so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state().sleeps.clone()
    }

    /// A shareable handle to this clock.
    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> ClockInstant {
        self.state().now
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        {
            let mut state = self.state();
            state.now += duration;
            state.sleeps.push(duration);
        }
        // Yield once so concurrent tasks interleave as they would around a real sleep.
        Box::pin(tokio::task::yield_now())
    }

    fn unix_time(&self) -> Duration {
        let since_epoch = self.now_utc() - OffsetDateTime::UNIX_EPOCH;
        Duration::try_from(since_epoch).unwrap_or_default()
    }

    fn now_utc(&self) -> OffsetDateTime {
        let state = self.state();
        state.wall_origin + state.now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[tokio::test]
    async fn manual_clock_records_sleeps_and_advances() {
        let clock = ManualClock::new();
        clock.sleep(Duration::from_secs(2)).await;
        clock.advance(Duration::from_secs(1));
        clock.sleep(Duration::from_millis(500)).await;
        assert_eq!(clock.now(), Duration::from_millis(3500));
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(2), Duration::from_millis(500)]);
    }

    #[tokio::test]
    async fn manual_wall_time_moves_with_the_clock() {
        let clock = ManualClock::new();
        let start = clock.unix_time();
        clock.sleep(Duration::from_secs(60)).await;
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.unix_time() - start, Duration::from_secs(61));
    }

    #[test]
    fn manual_clock_set_moves_wall_time_only() {
        let clock = ManualClock::starting_at(datetime!(2026-11-28 04:00:00 UTC));
        clock.advance(Duration::from_secs(30));
        assert_eq!(clock.now_utc(), datetime!(2026-11-28 04:00:30 UTC));
        clock.set(datetime!(2026-11-28 05:00:00 UTC));
        assert_eq!(clock.now_utc(), datetime!(2026-11-28 05:00:00 UTC));
        assert_eq!(clock.now(), Duration::from_secs(30));
        assert_eq!(clock.unix_time(), Duration::from_secs(1_795_842_000));
    }

    #[tokio::test(start_paused = true)]
    async fn system_clock_follows_paused_tokio_time() {
        let clock = SystemClock::new();
        clock.sleep(Duration::from_secs(90)).await;
        assert_eq!(clock.now(), Duration::from_secs(90));
    }
}
