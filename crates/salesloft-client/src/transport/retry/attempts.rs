//! The attempt loop: runs one logical call's attempts and applies the retry decisions between them.
//!
//! **Where retry sits.** The pipeline is telemetry → **retry** → breaker → rate budget → auth → HTTP (see
//! [`crate::transport`]). Retry is outside the breaker so the breaker judges every attempt, not every logical
//! call (Polly's order: "Retry → Circuit breaker → Attempt timeout", anchors.md §2), and a retry that finds
//! the breaker open stops at once instead of sleeping towards a dead service. Retry is outside the rate budget
//! so each attempt pays for itself and waits for budget like any other request, and outside auth so a retried
//! attempt picks up a refreshed token. Telemetry is outside retry so a call's span and latency cover all its
//! attempts and sleeps.
//!
//! The loop knows nothing of those layers: the caller passes an [`AttemptOnce`] whose every call makes one attempt
//! and reports an [`Attempt`], and the loop decides between them — out of attempts, `Retry-After` too long, retry budget
//! spent, or sleep the backoff (at least the server's floor) on the injected clock and go again.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use super::{RetryAction, RetryBudget, RetryConfig, RetryReason};
use crate::clock::SharedClock;
use crate::error::Error;
use crate::transport::request::ApiResponse;
use crate::transport::telemetry;

/// What one attempt came to, as the attempt loop needs to know it.
#[derive(Debug)]
pub enum Attempt {
    /// The call is over: an answer, or an error no retry can help (a failed refresh, an oversized body).
    Final(Result<ApiResponse, Error>),
    /// Repeat at once without counting an attempt: a 401 after which the token was refreshed (the repeat is
    /// not a retry — FACTS.md §1.5).
    Repeat,
    /// The breaker refused the attempt; nothing was sent. `retry_in` is how long it stays open.
    CircuitOpen {
        /// Time until the breaker admits probes.
        retry_in: Duration,
    },
    /// The attempt was sent and failed; `action` is the classifier's verdict on it.
    Failed {
        /// Retry or not, and the server's floor for the delay.
        action: RetryAction,
        /// The failure, returned if this is the last attempt.
        error: Error,
    },
}

/// One attempt of a call, made by the layers inside retry; [`RetryLoop::run`] calls it once per attempt.
pub trait AttemptOnce: Send {
    /// Makes one attempt and says what it came to.
    fn attempt(&mut self) -> impl Future<Output = Attempt> + Send;
}

/// The retry layer's state: settings, the shared retry budget, the jitter RNG and the clock it sleeps on.
#[derive(Debug)]
pub struct RetryLoop {
    config: RetryConfig,
    budget: RetryBudget,
    rng: Mutex<fastrand::Rng>,
    clock: SharedClock,
}

impl RetryLoop {
    /// A loop with `config`, sleeping on `clock`; the jitter RNG is seeded from [`RetryConfig::seed`].
    pub fn new(config: RetryConfig, clock: SharedClock) -> Self {
        let rng = match config.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Self { budget: RetryBudget::new(config.budget), config, rng: Mutex::new(rng), clock }
    }

    /// Tokens left in the retry budget.
    pub fn tokens(&self) -> u32 {
        self.budget.available()
    }

    /// The settings.
    pub fn config(&self) -> &RetryConfig {
        &self.config
    }

    /// Runs `attempts` until it gives a final answer or the retry policy says stop. `throttle_floor` is the
    /// wait for a 429 without `Retry-After` (the rate budget's window reset — FACTS.md §2.4).
    ///
    /// A call whose breaker refuses before anything was sent fails with [`Error::CircuitOpen`]; one refused
    /// after a failed attempt returns that failure, whose `may_have_been_sent` the ledger depends on.
    pub async fn run(
        &self,
        operation: &'static str,
        throttle_floor: impl Fn() -> Duration,
        attempts: &mut impl AttemptOnce,
    ) -> Result<ApiResponse, Error> {
        let max_attempts = self.config.max_attempts.max(1);
        // Attempts that count against `max_attempts`, and all attempts sent (a repeat after 401 included).
        let mut counted = 0u32;
        let mut sent = 0u32;
        let mut last_retry_cost = None;
        let mut last_error: Option<Error> = None;
        loop {
            let (action, error) = match attempts.attempt().await {
                Attempt::Final(result) => {
                    if result.is_ok() {
                        self.budget.on_success(last_retry_cost);
                    }
                    return result;
                }
                Attempt::Repeat => {
                    sent += 1;
                    continue;
                }
                Attempt::CircuitOpen { retry_in } => {
                    return Err(
                        last_error.unwrap_or_else(|| Error::CircuitOpen { operation: operation.to_string(), retry_in })
                    );
                }
                Attempt::Failed { action, error } => {
                    sent += 1;
                    counted += 1;
                    (action, error)
                }
            };
            let RetryAction::Retry { reason, min_delay } = action else {
                return Err(error);
            };
            let min_delay = min_delay.filter(|_| self.config.honour_retry_after);
            if counted >= max_attempts {
                tracing::debug!(attempts = sent, "not retrying: out of attempts");
                return Err(error);
            }
            if let Some(asked) = min_delay.filter(|asked| *asked > self.config.max_retry_after) {
                // Sleeping for hours on a server's word would stall every caller behind this one; fail with
                // what the server asked so an operator can decide (FACTS.md §2.4: Retry-After is not even
                // documented, so an extreme value is more likely a fault than a plan).
                tracing::warn!(
                    attempts = sent,
                    retry_after_s = asked.as_secs(),
                    max_s = self.config.max_retry_after.as_secs(),
                    "not retrying: Retry-After is longer than the configured maximum"
                );
                return Err(Error::RetryAfterTooLong {
                    operation: operation.to_string(),
                    retry_after: asked,
                    max: self.config.max_retry_after,
                    last: Box::new(error),
                });
            }
            let Some(cost) = self.budget.try_acquire(reason == RetryReason::Timeout) else {
                tracing::warn!(attempts = sent, "not retrying: retry budget exhausted");
                return Err(Error::RetryBudgetExhausted {
                    operation: operation.to_string(),
                    attempts: sent,
                    last: Box::new(error),
                });
            };
            last_retry_cost = Some(cost);
            // A 429 without Retry-After waits for the budget window to reset (FACTS.md §2.4).
            let floor = match (reason, min_delay) {
                (RetryReason::Throttled, None) => Some(throttle_floor()),
                (_, floor) => floor,
            };
            let delay = {
                let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                self.config.backoff.delay_with_floor(counted - 1, floor, &mut rng)
            };
            telemetry::record_retry(operation, reason.label());
            tracing::info!(
                attempt = sent,
                reason = reason.label(),
                delay_ms = delay.as_millis() as u64,
                error = %error,
                "retrying SalesLoft call"
            );
            last_error = Some(error);
            self.clock.sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::transport::retry::RetryBudgetConfig;

    fn server_error() -> Attempt {
        Attempt::Failed {
            action: RetryAction::Retry { reason: RetryReason::ServerError, min_delay: None },
            error: Error::Api {
                operation: "t".into(),
                status: http::StatusCode::SERVICE_UNAVAILABLE,
                message: "down".into(),
                errors: Default::default(),
            },
        }
    }

    /// Plays `script` in order, then keeps answering with `then`.
    struct Scripted<F: FnMut() -> Attempt + Send> {
        script: std::vec::IntoIter<Attempt>,
        then: F,
        calls: u32,
    }

    impl<F: FnMut() -> Attempt + Send> AttemptOnce for Scripted<F> {
        async fn attempt(&mut self) -> Attempt {
            self.calls += 1;
            self.script.next().unwrap_or_else(|| (self.then)())
        }
    }

    fn scripted<F: FnMut() -> Attempt + Send>(script: Vec<Attempt>, then: F) -> Scripted<F> {
        Scripted { script: script.into_iter(), then, calls: 0 }
    }

    fn retry_loop(clock: &ManualClock, config: RetryConfig) -> RetryLoop {
        RetryLoop::new(RetryConfig { seed: Some(7), ..config }, clock.shared())
    }

    #[tokio::test]
    async fn stops_after_max_attempts_and_sleeps_between_them_on_the_clock() {
        let clock = ManualClock::new();
        let retries = retry_loop(&clock, RetryConfig::default());
        let mut attempts = scripted(vec![], server_error);
        let result = retries.run("t", || Duration::ZERO, &mut attempts).await;
        assert!(matches!(result, Err(Error::Api { .. })), "{result:?}");
        assert_eq!(attempts.calls, 3);
        assert_eq!(clock.sleeps().len(), 2, "one sleep between each pair of attempts: {:?}", clock.sleeps());
    }

    #[tokio::test]
    async fn a_repeat_is_not_counted_and_a_refused_first_attempt_is_circuit_open() {
        let clock = ManualClock::new();
        let retries = retry_loop(&clock, RetryConfig { max_attempts: 1, ..RetryConfig::default() });
        let mut attempts =
            scripted(vec![Attempt::Repeat], || Attempt::CircuitOpen { retry_in: Duration::from_secs(5) });
        let result = retries.run("t", || Duration::ZERO, &mut attempts).await;
        assert!(matches!(result, Err(Error::CircuitOpen { retry_in, .. }) if retry_in == Duration::from_secs(5)));
        assert!(clock.sleeps().is_empty());
    }

    #[tokio::test]
    async fn a_breaker_that_opens_after_a_failure_returns_the_failure() {
        let clock = ManualClock::new();
        let retries = retry_loop(&clock, RetryConfig::default());
        let mut attempts = scripted(vec![server_error()], || Attempt::CircuitOpen { retry_in: Duration::from_secs(5) });
        let result = retries.run("t", || Duration::ZERO, &mut attempts).await;
        assert!(matches!(result, Err(Error::Api { .. })), "{result:?}");
    }

    #[tokio::test]
    async fn a_throttle_without_retry_after_waits_for_the_budget_window() {
        let clock = ManualClock::new();
        let retries = retry_loop(&clock, RetryConfig { max_attempts: 2, ..RetryConfig::default() });
        let throttled = || Attempt::Failed {
            action: RetryAction::Retry { reason: RetryReason::Throttled, min_delay: None },
            error: Error::RateLimited { operation: "t".into(), retry_after: None },
        };
        let _ = retries.run("t", || Duration::from_secs(42), &mut scripted(vec![], throttled)).await;
        let sleeps = clock.sleeps();
        assert_eq!(sleeps.len(), 1);
        assert!(sleeps[0] >= Duration::from_secs(42), "{sleeps:?}");
    }

    #[tokio::test]
    async fn an_empty_retry_budget_stops_retrying() {
        let clock = ManualClock::new();
        let budget = RetryBudgetConfig { capacity: 7, ..RetryBudgetConfig::default() };
        let retries = retry_loop(&clock, RetryConfig { budget, max_attempts: u32::MAX, ..RetryConfig::default() });
        let result = retries.run("t", || Duration::ZERO, &mut scripted(vec![], server_error)).await;
        assert!(matches!(result, Err(Error::RetryBudgetExhausted { attempts: 2, .. })), "{result:?}");
        assert_eq!(clock.sleeps().len(), 1, "the budget paid for one retry (5 of 7 tokens)");
    }

    #[tokio::test]
    async fn retry_after_is_the_floor_of_the_delay_unless_it_is_not_honoured() {
        let unavailable = || Attempt::Failed {
            action: RetryAction::Retry { reason: RetryReason::ServerError, min_delay: Some(Duration::from_secs(30)) },
            error: match server_error() {
                Attempt::Failed { error, .. } => error,
                _ => unreachable!("server_error is a failure"),
            },
        };
        for (honour, expect_floor) in [(true, true), (false, false)] {
            let clock = ManualClock::new();
            let config = RetryConfig { max_attempts: 2, honour_retry_after: honour, ..RetryConfig::default() };
            let _ = retry_loop(&clock, config).run("t", || Duration::ZERO, &mut scripted(vec![], unavailable)).await;
            let sleeps = clock.sleeps();
            assert_eq!(sleeps.len(), 1);
            assert_eq!(sleeps[0] >= Duration::from_secs(30), expect_floor, "honour {honour}: {sleeps:?}");
        }
    }
}
