//! Injected time.
//!
//! Every policy that depends on time (token expiry, backoff, the circuit breaker's open interval, the cost
//! budget's minute window) reads it through [`Clock`], so tests drive a [`ManualClock`] instead of sleeping
//! (STYLE.md "Time and I/O are injected"). Production code uses [`SystemClock`], which is tokio's clock and
//! therefore also honours `tokio::time::pause()`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;

/// A monotonic instant measured from an arbitrary origin fixed by the clock.
pub type ClockInstant = Duration;

/// A source of monotonic time and of sleeps.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Time elapsed since this clock's origin.
    fn now(&self) -> ClockInstant;
    /// Waits for `duration` of this clock's time.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
    /// Wall-clock time as a duration since the Unix epoch. Token expiry is stored as wall time (a token
    /// saved by one process is read by another), so it is compared against this, not [`Clock::now`].
    fn unix_time(&self) -> Duration {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
    }
}

/// A cheaply clonable handle to a clock.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock: `tokio::time`, so it also follows tokio's paused time in tests.
#[derive(Debug, Clone)]
pub struct SystemClock {
    origin: tokio::time::Instant,
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

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A virtual clock for tests: `sleep` returns at once and moves the clock forward by the requested
/// duration, and every requested sleep is recorded so a test can assert the waits a policy asked for.
///
/// It works with real sockets (unlike tokio's paused time, whose auto-advance can fire I/O timeouts while
/// a loopback request is in flight). Its wall time ([`Clock::unix_time`]) starts at the real wall time of its
/// creation and moves with it, so token expiry follows the virtual clock too.
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualState>>,
}

impl Default for ManualClock {
    fn default() -> Self {
        let wall_origin = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Self { inner: Arc::new(Mutex::new(ManualState { now: Duration::ZERO, wall_origin, sleeps: Vec::new() })) }
    }
}

#[derive(Debug)]
struct ManualState {
    now: Duration,
    wall_origin: Duration,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    /// A clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward without recording a sleep.
    pub fn advance(&self, by: Duration) {
        let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        state.now += by;
    }

    /// Every sleep requested so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).sleeps.clone()
    }

    /// A shareable handle to this clock.
    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> ClockInstant {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).now
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        {
            let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            state.now += duration;
            state.sleeps.push(duration);
        }
        // Yield once so concurrent tasks interleave as they would around a real sleep.
        Box::pin(tokio::task::yield_now())
    }

    fn unix_time(&self) -> Duration {
        let state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        state.wall_origin + state.now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
