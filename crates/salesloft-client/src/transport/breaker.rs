//! The circuit breaker: closed → open → half-open → closed, over a count window.
//!
//! **Unit of evidence: one attempt.** The breaker is asked before every attempt and told its outcome, as in
//! Polly's standard HTTP pipeline where the breaker sits inside the retry (anchors.md §2, "Retry → Circuit
//! breaker → Attempt timeout"). During an outage this opens the breaker after fewer requests than counting
//! logical calls would (each call makes up to 3 attempts), and a retry that finds the breaker open stops at
//! once instead of sleeping towards a dead service. The pipeline returns [`crate::Error::CircuitOpen`] only
//! when *no* attempt of the call was sent; otherwise it returns the last real failure, whose
//! `may_have_been_sent` the idempotency ledger depends on.
//!
//! **What counts.** Failures are 5xx answers, timeouts and transport errors. A 429 is a budget signal, not
//! ill health (DESIGN.md "Request pipeline"), and is [`AttemptOutcome::Ignored`]; other 4xx prove the service
//! is up and count as successes.
//!
//! **Defaults** ([`BreakerConfig::default`]): a window of the last 20 attempts that opens at ≥ 50 % failures
//! once ≥ 10 attempts are in it (resilience4j's 50 % rate with a smaller window, because a SalesLoft
//! integration makes at most ~10 calls/s under its 600/min budget — FACTS.md §2.1 — so resilience4j's 100-call
//! window would take minutes to fill), or after 5 consecutive failures; it stays open 30 s (between Polly's
//! 5 s and resilience4j's 60 s), then admits 3 probes; 3 successes close it, any failure reopens it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::{ClockInstant, SharedClock};

/// Breaker thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// Set to `false` to never open (the state still reports `Closed`).
    pub enabled: bool,
    /// How many recent attempts the failure rate is computed over.
    pub window: usize,
    /// Attempts the window must hold before the failure rate can open the breaker.
    pub minimum_calls: usize,
    /// Failure rate (0..=1) at or above which the breaker opens.
    pub failure_rate: f64,
    /// Consecutive failures that open the breaker regardless of the window.
    pub consecutive_failures: u32,
    /// How long the breaker stays open before admitting probes.
    pub open_for: Duration,
    /// Probes admitted (and successes needed to close) in half-open.
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window: 20,
            minimum_calls: 10,
            failure_rate: 0.5,
            consecutive_failures: 5,
            open_for: Duration::from_secs(30),
            half_open_probes: 3,
        }
    }
}

/// The breaker's state, as exported by the `salesloft_circuit_state` gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls flow; outcomes are counted.
    Closed,
    /// A few probes are allowed through to test recovery.
    HalfOpen,
    /// Calls fail fast without being sent.
    Open,
}

impl CircuitState {
    /// The gauge value: 0 closed, 1 half-open, 2 open.
    pub fn as_gauge(self) -> f64 {
        match self {
            CircuitState::Closed => 0.0,
            CircuitState::HalfOpen => 1.0,
            CircuitState::Open => 2.0,
        }
    }
}

/// How one attempt went, from the breaker's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The service answered sensibly (2xx, or a 4xx other than 429).
    Success,
    /// 5xx, timeout or transport failure.
    Failure,
    /// Says nothing about health (429, or an attempt abandoned before an answer).
    Ignored,
}

impl AttemptOutcome {
    /// Classifies an HTTP status.
    pub fn from_status(status: http::StatusCode) -> Self {
        if status == http::StatusCode::TOO_MANY_REQUESTS {
            AttemptOutcome::Ignored
        } else if status.is_server_error() {
            AttemptOutcome::Failure
        } else {
            AttemptOutcome::Success
        }
    }
}

#[derive(Debug)]
struct State {
    state: CircuitState,
    window: VecDeque<bool>,
    consecutive_failures: u32,
    opened_at: ClockInstant,
    probes_in_flight: u32,
    probe_successes: u32,
}

/// A thread-safe circuit breaker driven by an injected clock. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    clock: SharedClock,
    state: Arc<Mutex<State>>,
}

/// Permission for one attempt; report its outcome with [`BreakerPermit::record`]. Dropping it unrecorded
/// counts as [`AttemptOutcome::Ignored`] (frees a half-open probe slot).
#[derive(Debug)]
pub struct BreakerPermit {
    breaker: CircuitBreaker,
    probe: bool,
    recorded: bool,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig, clock: SharedClock) -> Self {
        let state = State {
            state: CircuitState::Closed,
            window: VecDeque::with_capacity(config.window),
            consecutive_failures: 0,
            opened_at: Duration::ZERO,
            probes_in_flight: 0,
            probe_successes: 0,
        };
        super::telemetry::record_circuit_state(CircuitState::Closed.as_gauge());
        Self { config, clock, state: Arc::new(Mutex::new(state)) }
    }

    /// The current state (an open breaker whose interval has passed reports `HalfOpen`).
    pub fn state(&self) -> CircuitState {
        let mut state = self.lock();
        self.maybe_half_open(&mut state);
        state.state
    }

    /// Asks to send one attempt: a permit, or `Err(retry_in)` when the breaker is open (or half-open with all
    /// probe slots taken).
    pub fn admit(&self) -> Result<BreakerPermit, Duration> {
        if !self.config.enabled {
            return Ok(BreakerPermit { breaker: self.clone(), probe: false, recorded: false });
        }
        let mut state = self.lock();
        self.maybe_half_open(&mut state);
        match state.state {
            CircuitState::Closed => Ok(BreakerPermit { breaker: self.clone(), probe: false, recorded: false }),
            CircuitState::Open => {
                let elapsed = self.clock.now().saturating_sub(state.opened_at);
                Err(self.config.open_for.saturating_sub(elapsed))
            }
            CircuitState::HalfOpen => {
                if state.probes_in_flight + state.probe_successes < self.config.half_open_probes.max(1) {
                    state.probes_in_flight += 1;
                    Ok(BreakerPermit { breaker: self.clone(), probe: true, recorded: false })
                } else {
                    // Probes are out; ask again shortly.
                    Err(Duration::from_millis(100))
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn maybe_half_open(&self, state: &mut State) {
        if state.state == CircuitState::Open && self.clock.now().saturating_sub(state.opened_at) >= self.config.open_for
        {
            self.transition(state, CircuitState::HalfOpen);
        }
    }

    fn transition(&self, state: &mut State, to: CircuitState) {
        if state.state == to {
            return;
        }
        tracing::warn!(from = ?state.state, to = ?to, "salesloft circuit breaker changed state");
        state.state = to;
        state.probes_in_flight = 0;
        state.probe_successes = 0;
        match to {
            CircuitState::Open => state.opened_at = self.clock.now(),
            CircuitState::Closed => {
                state.window.clear();
                state.consecutive_failures = 0;
            }
            CircuitState::HalfOpen => {}
        }
        super::telemetry::record_circuit_state(to.as_gauge());
    }

    fn record(&self, probe: bool, outcome: AttemptOutcome) {
        if !self.config.enabled {
            return;
        }
        let mut state = self.lock();
        if probe {
            state.probes_in_flight = state.probes_in_flight.saturating_sub(1);
            if state.state != CircuitState::HalfOpen {
                return; // the breaker moved on while this probe was out
            }
            match outcome {
                AttemptOutcome::Failure => self.transition(&mut state, CircuitState::Open),
                AttemptOutcome::Success => {
                    state.probe_successes += 1;
                    if state.probe_successes >= self.config.half_open_probes.max(1) {
                        self.transition(&mut state, CircuitState::Closed);
                    }
                }
                AttemptOutcome::Ignored => {}
            }
            return;
        }
        if state.state != CircuitState::Closed {
            return; // an attempt admitted before the breaker opened
        }
        let failed = match outcome {
            AttemptOutcome::Ignored => return,
            AttemptOutcome::Failure => true,
            AttemptOutcome::Success => false,
        };
        if state.window.len() == self.config.window.max(1) {
            state.window.pop_front();
        }
        state.window.push_back(failed);
        state.consecutive_failures = if failed { state.consecutive_failures + 1 } else { 0 };
        let calls = state.window.len();
        let failures = state.window.iter().filter(|f| **f).count();
        let rate_trips =
            calls >= self.config.minimum_calls.max(1) && failures as f64 >= self.config.failure_rate * calls as f64;
        let streak_trips =
            self.config.consecutive_failures > 0 && state.consecutive_failures >= self.config.consecutive_failures;
        if failed && (rate_trips || streak_trips) {
            self.transition(&mut state, CircuitState::Open);
        }
    }
}

impl BreakerPermit {
    /// Reports the attempt's outcome.
    pub fn record(mut self, outcome: AttemptOutcome) {
        self.recorded = true;
        self.breaker.record(self.probe, outcome);
    }
}

impl Drop for BreakerPermit {
    fn drop(&mut self) {
        if !self.recorded {
            self.breaker.record(self.probe, AttemptOutcome::Ignored);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use AttemptOutcome::{Failure as F, Ignored as I, Success as S};

    fn breaker(clock: &ManualClock) -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig::default(), clock.shared())
    }

    fn feed(breaker: &CircuitBreaker, outcomes: &[AttemptOutcome]) {
        for outcome in outcomes {
            if let Ok(permit) = breaker.admit() {
                permit.record(*outcome);
            }
        }
    }

    #[test]
    fn state_after_sequences() {
        let mut s9f1 = vec![S; 9];
        s9f1.push(F);
        let mut alternating = Vec::new();
        for _ in 0..10 {
            alternating.extend([S, F]);
        }
        let mut mostly_ok = vec![S; 12];
        mostly_ok.extend([F, F, F, F, S, F, F, F, F]);
        let table: Vec<(&str, Vec<AttemptOutcome>, CircuitState)> = vec![
            ("no calls", vec![], CircuitState::Closed),
            ("4 failures in a row", vec![F; 4], CircuitState::Closed),
            ("5 failures in a row", vec![F; 5], CircuitState::Open),
            ("429s never count", vec![I; 50], CircuitState::Closed),
            ("429s between failures do not reset the streak", vec![F, F, I, F, F, I, F], CircuitState::Open),
            ("one failure in ten", s9f1, CircuitState::Closed),
            ("50 % over 20", alternating, CircuitState::Open),
            ("8 of 20 failed, streak broken", mostly_ok, CircuitState::Closed),
        ];
        for (name, outcomes, expected) in table {
            let clock = ManualClock::new();
            let b = breaker(&clock);
            feed(&b, &outcomes);
            assert_eq!(b.state(), expected, "{name}: expected {expected:?}");
        }
    }

    #[test]
    fn open_fails_fast_then_half_open_probes_close_it() {
        let clock = ManualClock::new();
        let b = breaker(&clock);
        feed(&b, &[F; 5]);
        clock.advance(Duration::from_secs(10));
        assert_eq!(b.admit().err(), Some(Duration::from_secs(20)), "open: retry_in = open_for - elapsed");
        clock.advance(Duration::from_secs(20));
        assert_eq!(b.state(), CircuitState::HalfOpen);
        let probes: Vec<_> = (0..3).map(|_| b.admit().expect("3 probes admitted")).collect();
        assert!(b.admit().is_err(), "a 4th concurrent probe is refused");
        for probe in probes {
            probe.record(S);
        }
        assert_eq!(b.state(), CircuitState::Closed);
        feed(&b, &[F; 4]);
        assert_eq!(b.state(), CircuitState::Closed, "closing clears the streak and the window");
    }

    #[test]
    fn failed_probe_reopens_and_dropped_probe_frees_its_slot() {
        let clock = ManualClock::new();
        let b = breaker(&clock);
        feed(&b, &[F; 5]);
        clock.advance(Duration::from_secs(30));
        drop(b.admit().expect("probe"));
        let probe = b.admit().expect("slot freed by the dropped probe");
        probe.record(F);
        assert_eq!(b.state(), CircuitState::Open);
        assert_eq!(b.admit().err(), Some(Duration::from_secs(30)), "reopened for a full interval");
    }

    #[test]
    fn disabled_breaker_never_opens() {
        let clock = ManualClock::new();
        let b = CircuitBreaker::new(BreakerConfig { enabled: false, ..BreakerConfig::default() }, clock.shared());
        feed(&b, &[F; 50]);
        assert!(b.admit().is_ok());
    }

    #[test]
    fn statuses_map_to_outcomes() {
        use http::StatusCode;
        let table = [
            (StatusCode::OK, S),
            (StatusCode::NOT_FOUND, S),
            (StatusCode::UNPROCESSABLE_ENTITY, S),
            (StatusCode::TOO_MANY_REQUESTS, I),
            (StatusCode::INTERNAL_SERVER_ERROR, F),
            (StatusCode::SERVICE_UNAVAILABLE, F),
        ];
        for (status, expected) in table {
            assert_eq!(AttemptOutcome::from_status(status), expected, "{status}");
        }
    }
}
