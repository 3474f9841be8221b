//! The rate budget: a cost-weighted, per-minute limiter that makes callers **wait for budget instead of
//! collecting 429s**.
//!
//! SalesLoft charges each request a cost (1 by default, 3/8/10/30 for deep pages) against a team budget of
//! 600 per minute shared by every integration of the team, and reports `x-ratelimit-endpoint-cost` and
//! `x-ratelimit-remaining-minute` on every response (FACTS.md §2.1–2.3). The limiter:
//!
//! 1. **reserves** the expected cost before an attempt ([`RateBudget::acquire`]): the cost SalesLoft last
//!    charged for the same operation and page tier, else the published table
//!    ([`crate::transport::page_cost`]). When the local estimate cannot pay, it sleeps on the injected clock
//!    until the window resets.
//! 2. **corrects** from each response ([`RateBudget::settle`]): the actual endpoint cost is learned and the
//!    difference refunded; the server's remaining minus what is still in flight becomes the estimate when it is
//!    lower (another integration spent budget). A 429 sets the estimate to 0 until `Retry-After` passes.
//!
//! **The window.** SalesLoft's window is believed to be a fixed calendar minute (tap-salesloft computes
//! `61 - Date.seconds`; FACTS.md §2.3, unconfirmed), but the client cannot see the boundary. The local window
//! starts at the first request; the server's window containing that instant began no later, so the local
//! window never resets *before* the server's (conservative). It is re-aligned whenever the server shows its
//! boundary: a 429's `Retry-After` places the end exactly, and a reported remaining that jumps up by more than a
//! quarter of the limit above the estimate means the server reset, so the local window restarts there. Under
//! sustained load each local window spends exactly one limit, so misalignment costs no throughput.
//!
//! **Headroom.** [`RateBudgetConfig::reserve_fraction`] keeps part of the team budget unspent for other
//! integrations of the team (default 0: the estimate already follows what others spend).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;

use super::request::RateLimitInfo;
use crate::clock::{ClockInstant, SharedClock};

/// Budget settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateBudgetConfig {
    /// `false` disables waiting (responses are still recorded).
    pub enabled: bool,
    /// Cost per window (SalesLoft: 600 — FACTS.md §2.1).
    pub limit: u32,
    /// Window length (SalesLoft: one minute).
    pub window: Duration,
    /// Fraction of `limit` left unspent for other integrations of the team (0.0–1.0).
    pub reserve_fraction: f64,
}

impl Default for RateBudgetConfig {
    fn default() -> Self {
        Self { enabled: true, limit: 600, window: Duration::from_secs(60), reserve_fraction: 0.0 }
    }
}

/// A point-in-time view of the budget, for metrics and health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSnapshot {
    /// The configured limit per window.
    pub limit: u32,
    /// The local estimate of what is left this window (after in-flight reservations).
    pub remaining: u32,
    /// Cost reserved by attempts still in flight.
    pub in_flight: u32,
    /// Time until the local window resets.
    pub resets_in: Duration,
    /// The last `x-ratelimit-remaining-minute` SalesLoft reported.
    pub last_reported_remaining: Option<u32>,
}

#[derive(Debug)]
struct State {
    window_end: Option<ClockInstant>,
    epoch: u64,
    remaining: i64,
    in_flight: i64,
    learned: HashMap<(&'static str, u32), u32>,
    last_reported: Option<u32>,
    /// The window in which "budget low" was last logged, so it is logged once per window.
    low_logged_epoch: Option<u64>,
}

/// The shared cost budget. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct RateBudget {
    config: RateBudgetConfig,
    clock: SharedClock,
    state: Arc<Mutex<State>>,
}

/// Cost reserved for one attempt; hand it back through [`RateBudget::settle`]. Dropping it unsettled (a
/// cancelled call) settles it as [`Settlement::Unknown`], so the in-flight count never leaks.
#[derive(Debug)]
#[must_use = "settle the reservation"]
pub struct Reservation {
    budget: Option<RateBudget>,
    key: (&'static str, u32),
    cost: u32,
    epoch: u64,
}

impl Reservation {
    /// The reserved cost.
    pub fn cost(&self) -> u32 {
        self.cost
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(budget) = self.budget.take() {
            budget.apply(self.key, self.cost, self.epoch, Settlement::Unknown);
        }
    }
}

/// How an attempt's reservation ended.
#[derive(Debug, Clone, Copy)]
pub enum Settlement {
    /// SalesLoft answered.
    Answered {
        /// Status.
        status: StatusCode,
        /// Rate-limit headers.
        rate: RateLimitInfo,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
    },
    /// No answer: the request may have been charged; the reservation is kept.
    Unknown,
    /// Certainly not sent (connect error, no credential): the reservation is refunded.
    NotSent,
}

impl RateBudget {
    /// A full budget.
    pub fn new(config: RateBudgetConfig, clock: SharedClock) -> Self {
        let state = State {
            window_end: None,
            epoch: 0,
            remaining: i64::from(config.limit),
            in_flight: 0,
            learned: HashMap::new(),
            last_reported: None,
            low_logged_epoch: None,
        };
        Self { config, clock, state: Arc::new(Mutex::new(state)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn window(&self) -> Duration {
        self.config.window.max(Duration::from_millis(1))
    }

    fn reserve(&self) -> i64 {
        (f64::from(self.config.limit) * self.config.reserve_fraction.clamp(0.0, 1.0)).ceil() as i64
    }

    /// Starts the window at the first use and rolls it forward when it has passed. The window is kept as its
    /// end instant so a `Retry-After` can place it anywhere, including before the clock's origin.
    fn roll(&self, state: &mut State, now: ClockInstant) {
        let window = self.window();
        let end = *state.window_end.get_or_insert(now + window);
        if now >= end {
            let behind = now - end;
            let windows = (behind.as_nanos() / window.as_nanos()) as u32 + 1;
            state.window_end = Some(end + window * windows);
            state.remaining = i64::from(self.config.limit);
            state.epoch += 1;
        }
    }

    fn time_left(&self, state: &State, now: ClockInstant) -> Duration {
        match state.window_end {
            Some(end) => end.saturating_sub(now),
            None => Duration::ZERO,
        }
    }

    /// The cost `operation` is expected to charge: what SalesLoft charged last time for the same page tier,
    /// else the published table value `expected`.
    pub fn expected_cost(&self, operation: &'static str, expected: u32) -> u32 {
        self.lock().learned.get(&(operation, expected)).copied().unwrap_or(expected)
    }

    /// Reserves the cost of one attempt, sleeping until the window resets while the budget cannot pay.
    /// Returns the reservation and the time waited.
    pub async fn acquire(&self, operation: &'static str, expected: u32) -> (Reservation, Duration) {
        let mut waited = Duration::ZERO;
        loop {
            let wait = {
                let mut state = self.lock();
                let now = self.clock.now();
                self.roll(&mut state, now);
                let key = (operation, expected);
                let cost = state.learned.get(&key).copied().unwrap_or(expected);
                let usable = state.remaining - self.reserve();
                let full = i64::from(self.config.limit) - self.reserve();
                // A request dearer than the whole budget goes out on a fresh window rather than never.
                let affordable = usable >= i64::from(cost) || (i64::from(cost) > full && usable >= full);
                if !self.config.enabled || affordable {
                    state.remaining -= i64::from(cost);
                    state.in_flight += i64::from(cost);
                    return (Reservation { budget: Some(self.clone()), key, cost, epoch: state.epoch }, waited);
                }
                self.time_left(&state, now).max(Duration::from_millis(1))
            };
            tracing::debug!(operation, wait_ms = wait.as_millis() as u64, "waiting for SalesLoft rate budget");
            self.clock.sleep(wait).await;
            waited += wait;
        }
    }

    /// Ends a reservation with what the response said.
    pub fn settle(&self, mut reservation: Reservation, settlement: Settlement) {
        reservation.budget = None;
        self.apply(reservation.key, reservation.cost, reservation.epoch, settlement);
    }

    fn apply(&self, key: (&'static str, u32), cost: u32, epoch: u64, settlement: Settlement) {
        let mut state = self.lock();
        let now = self.clock.now();
        self.roll(&mut state, now);
        let cost = i64::from(cost);
        state.in_flight = (state.in_flight - cost).max(0);
        let same_window = epoch == state.epoch;
        let (status, rate, retry_after) = match settlement {
            Settlement::Answered { status, rate, retry_after } => (status, rate, retry_after),
            Settlement::Unknown => return,
            Settlement::NotSent => {
                if same_window {
                    state.remaining += cost;
                }
                return;
            }
        };
        if let Some(actual) = rate.endpoint_cost {
            state.learned.insert(key, actual);
            if same_window {
                state.remaining += cost - i64::from(actual);
            }
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            // Nothing left until the server's window ends; Retry-After shows where that is.
            state.remaining = 0;
            if let Some(after) = retry_after {
                state.window_end = Some(now + after.min(self.window()));
            }
            return;
        }
        if let Some(reported) = rate.remaining_minute {
            state.last_reported = Some(reported);
            let low = u64::from(reported) * 10 < u64::from(self.config.limit);
            if low && state.low_logged_epoch != Some(state.epoch) {
                state.low_logged_epoch = Some(state.epoch);
                // Once per window, so an operator sees the team's budget (shared with every other
                // integration of the team — FACTS.md §2.1) running out without a line per request.
                tracing::info!(
                    remaining_minute = reported,
                    limit = self.config.limit,
                    "SalesLoft cost budget below 10 % for this minute; calls now wait for the next window"
                );
            }
            let estimate = i64::from(reported) - state.in_flight;
            let jump = i64::from(self.config.limit / 4).max(1);
            if estimate < state.remaining {
                state.remaining = estimate;
            } else if estimate > state.remaining + jump {
                // The server's window reset before ours: restart the local window here.
                state.window_end = Some(now + self.window());
                state.epoch += 1;
                state.remaining = estimate;
            }
        }
    }

    /// Ends a reservation without an answer ([`Settlement::Unknown`]); used when the attempt was abandoned.
    pub fn release(&self, reservation: Reservation) {
        self.settle(reservation, Settlement::Unknown);
    }

    /// Time until the local window resets (how long a 429 without `Retry-After` should wait).
    pub fn resets_in(&self) -> Duration {
        let mut state = self.lock();
        let now = self.clock.now();
        self.roll(&mut state, now);
        self.time_left(&state, now)
    }

    /// The current state.
    pub fn snapshot(&self) -> BudgetSnapshot {
        let mut state = self.lock();
        let now = self.clock.now();
        self.roll(&mut state, now);
        BudgetSnapshot {
            limit: self.config.limit,
            remaining: state.remaining.clamp(0, i64::from(u32::MAX)) as u32,
            in_flight: state.in_flight.clamp(0, i64::from(u32::MAX)) as u32,
            resets_in: self.time_left(&state, now),
            last_reported_remaining: state.last_reported,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};

    fn budget(limit: u32, clock: &ManualClock) -> RateBudget {
        RateBudget::new(RateBudgetConfig { limit, ..RateBudgetConfig::default() }, clock.shared())
    }

    fn ok(cost: Option<u32>, remaining: Option<u32>) -> Settlement {
        Settlement::Answered {
            status: StatusCode::OK,
            rate: RateLimitInfo { endpoint_cost: cost, remaining_minute: remaining },
            retry_after: None,
        }
    }

    #[tokio::test]
    async fn spends_then_waits_for_the_window() {
        let clock = ManualClock::new();
        let b = budget(10, &clock);
        for _ in 0..10 {
            let (r, waited) = b.acquire("people.list", 1).await;
            assert_eq!(waited, Duration::ZERO);
            b.settle(r, ok(Some(1), None));
        }
        clock.advance(Duration::from_secs(15));
        let (r, waited) = b.acquire("people.list", 1).await;
        assert_eq!(waited, Duration::from_secs(45), "expected to wait out the rest of the 60 s window");
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(45)]);
        b.settle(r, ok(Some(1), None));
        assert_eq!(b.snapshot().remaining, 9);
    }

    #[tokio::test]
    async fn correction_table() {
        // (name, limit, reserve cost, settlement, expected remaining afterwards)
        let too_many = |after: Option<u64>| Settlement::Answered {
            status: StatusCode::TOO_MANY_REQUESTS,
            rate: RateLimitInfo { endpoint_cost: None, remaining_minute: Some(0) },
            retry_after: after.map(Duration::from_secs),
        };
        let table: Vec<(&str, u32, u32, Settlement, u32)> = vec![
            ("header agrees", 600, 1, ok(Some(1), Some(599)), 599),
            ("no headers keep the local charge", 600, 1, ok(None, None), 599),
            ("others spent budget", 600, 1, ok(Some(1), Some(100)), 100),
            ("endpoint dearer than expected", 600, 1, ok(Some(3), None), 597),
            ("endpoint cheaper than expected", 600, 8, ok(Some(1), None), 599),
            ("429 empties the budget", 600, 1, too_many(Some(20)), 0),
            ("not sent is refunded", 600, 1, Settlement::NotSent, 600),
            ("no answer keeps the charge", 600, 1, Settlement::Unknown, 599),
        ];
        for (name, limit, cost, settlement, expected) in table {
            let clock = ManualClock::new();
            let b = budget(limit, &clock);
            let (r, _) = b.acquire("people.list", cost).await;
            b.settle(r, settlement);
            let got = b.snapshot().remaining;
            assert_eq!(got, expected, "{name}: expected remaining {expected}, got {got}");
        }
    }

    #[tokio::test]
    async fn learned_cost_prices_the_next_reservation() {
        let clock = ManualClock::new();
        let b = budget(600, &clock);
        let (r, _) = b.acquire("people.list", 1).await;
        b.settle(r, ok(Some(2), None));
        let (r, _) = b.acquire("people.list", 1).await;
        assert_eq!(r.cost(), 2, "expected the learned cost");
        b.release(r);
        let (r, _) = b.acquire("people.list", 30).await;
        assert_eq!(r.cost(), 30, "a different page tier keeps the table price");
        b.release(r);
    }

    #[tokio::test]
    async fn retry_after_realigns_the_window() {
        let clock = ManualClock::new();
        let b = budget(600, &clock);
        clock.advance(Duration::from_secs(5));
        let (r, _) = b.acquire("people.list", 1).await;
        clock.advance(Duration::from_secs(10));
        b.settle(
            r,
            Settlement::Answered {
                status: StatusCode::TOO_MANY_REQUESTS,
                rate: RateLimitInfo::default(),
                retry_after: Some(Duration::from_secs(7)),
            },
        );
        assert_eq!(b.resets_in(), Duration::from_secs(7), "the window now ends where the server said");
        let (r, waited) = b.acquire("people.list", 1).await;
        assert_eq!(waited, Duration::from_secs(7));
        b.release(r);
    }

    #[tokio::test]
    async fn a_server_reset_is_detected_from_a_jump() {
        let clock = ManualClock::new();
        let b = budget(600, &clock);
        let (r, _) = b.acquire("people.list", 1).await;
        b.settle(r, ok(Some(1), Some(10)));
        clock.advance(Duration::from_secs(30));
        let (r, _) = b.acquire("people.list", 1).await;
        b.settle(r, ok(Some(1), Some(599)));
        let snapshot = b.snapshot();
        assert_eq!(snapshot.remaining, 599);
        assert_eq!(snapshot.resets_in, Duration::from_secs(60), "the local window restarted at the jump");
    }

    #[tokio::test]
    async fn the_reserve_is_left_unspent() {
        let clock = ManualClock::new();
        let b = RateBudget::new(
            RateBudgetConfig { limit: 10, reserve_fraction: 0.2, ..RateBudgetConfig::default() },
            clock.shared(),
        );
        for _ in 0..8 {
            let (r, _) = b.acquire("people.list", 1).await;
            b.settle(r, ok(Some(1), None));
        }
        let (r, waited) = b.acquire("people.list", 1).await;
        assert_eq!(waited, Duration::from_secs(60), "2 of 10 are kept in reserve, so the 9th waits");
        b.release(r);
    }

    #[tokio::test]
    async fn reported_remaining_is_read_net_of_attempts_in_flight() {
        let clock = ManualClock::new();
        let b = budget(600, &clock);
        let (first, _) = b.acquire("people.list", 1).await;
        let (second, _) = b.acquire("people.list", 1).await;
        let (third, _) = b.acquire("people.list", 1).await;
        b.settle(first, ok(Some(1), Some(590)));
        assert_eq!(b.snapshot().remaining, 588, "590 reported minus 2 still in flight");
        b.release(second);
        b.release(third);
        assert_eq!(b.snapshot().in_flight, 0);
        let _ = clock.now();
    }

    #[tokio::test]
    async fn a_dropped_reservation_keeps_its_charge_but_leaves_flight() {
        let clock = ManualClock::new();
        let b = budget(600, &clock);
        let (r, _) = b.acquire("people.list", 3).await;
        drop(r);
        let snapshot = b.snapshot();
        assert_eq!((snapshot.remaining, snapshot.in_flight), (597, 0), "got {snapshot:?}");
    }

    #[tokio::test]
    async fn a_request_dearer_than_the_budget_still_goes_on_a_fresh_window() {
        let clock = ManualClock::new();
        let b = budget(20, &clock);
        let (r, waited) = b.acquire("people.list", 30).await;
        assert_eq!((r.cost(), waited), (30, Duration::ZERO));
        b.release(r);
    }
}
