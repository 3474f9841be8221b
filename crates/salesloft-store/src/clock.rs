//! Injected wall-clock time: the workspace's one clock (`salesloft-clock`), re-exported.
//!
//! Lock expiry, lease timeouts, key and inbox retention and the budget window all read the time through
//! [`Clock::now_utc`], and the lock and open retry polls sleep on [`Clock::sleep`], so tests drive a
//! [`ManualClock`] forward instead of sleeping (STYLE.md "Time and I/O are injected"). Stored times are
//! wall-clock (not monotonic) because they are compared across processes and replicas.

use std::time::Duration;

use time::OffsetDateTime;

pub use salesloft_clock::{Clock, ClockInstant, SharedClock, Sleep, SystemClock};

/// The workspace's [`salesloft_clock::ManualClock`], started at a fixed wall time (the store's tests fix
/// the date); clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(salesloft_clock::ManualClock);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self(salesloft_clock::ManualClock::starting_at(start))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.0.advance(by);
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: OffsetDateTime) {
        self.0.set(to);
    }

    /// The shared workspace clock underneath, to hand to the client or the simulator.
    pub fn inner(&self) -> &salesloft_clock::ManualClock {
        &self.0
    }
}

impl Clock for ManualClock {
    fn now(&self) -> ClockInstant {
        self.0.now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        self.0.sleep(duration)
    }

    fn unix_time(&self) -> Duration {
        self.0.unix_time()
    }

    fn now_utc(&self) -> OffsetDateTime {
        self.0.now_utc()
    }
}
