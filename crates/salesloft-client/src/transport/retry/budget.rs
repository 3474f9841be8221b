//! The retry budget: a token bucket that stops retry storms.
//!
//! Every retry withdraws tokens; a retry after a timeout withdraws more (a timed-out service is the most
//! likely to be overloaded); every call that succeeds at its first attempt deposits one, and a call that
//! succeeds after retrying gives back what its last retry cost. When the bucket cannot pay, the call fails
//! with [`crate::Error::RetryBudgetExhausted`] instead of retrying. Numbers are the AWS SDKs' standard retry
//! quota: capacity 500, retry 5, timeout retry 10, no-retry increment 1 (anchors.md §2, aws-sdk-go-v2
//! `retry/standard.go`) — so after ~100 consecutive failed retries the client stops retrying until successes
//! refill it.

use std::sync::{Arc, Mutex};

/// Retry-budget parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryBudgetConfig {
    /// Bucket size (and initial content).
    pub capacity: u32,
    /// Tokens one retry costs.
    pub retry_cost: u32,
    /// Tokens a retry after a timeout costs.
    pub timeout_retry_cost: u32,
    /// Tokens a first-attempt success deposits.
    pub success_increment: u32,
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        Self { capacity: 500, retry_cost: 5, timeout_retry_cost: 10, success_increment: 1 }
    }
}

/// A shared retry budget. Cheap to clone; clones share the bucket.
#[derive(Debug, Clone)]
pub struct RetryBudget {
    config: RetryBudgetConfig,
    tokens: Arc<Mutex<u32>>,
}

impl RetryBudget {
    /// A full bucket.
    pub fn new(config: RetryBudgetConfig) -> Self {
        Self { config, tokens: Arc::new(Mutex::new(config.capacity)) }
    }

    /// Tokens left.
    pub fn available(&self) -> u32 {
        *self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Withdraws the cost of one retry; `Some(cost)` when granted (keep it for [`RetryBudget::on_success`]),
    /// `None` when the bucket cannot pay.
    pub fn try_acquire(&self, timeout: bool) -> Option<u32> {
        let cost = if timeout { self.config.timeout_retry_cost } else { self.config.retry_cost };
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if *tokens < cost {
            return None;
        }
        *tokens -= cost;
        Some(cost)
    }

    /// Records a successful call: refunds `last_retry_cost` when the success came from a retry, else deposits
    /// the success increment. Never exceeds the capacity.
    pub fn on_success(&self, last_retry_cost: Option<u32>) {
        let deposit = last_retry_cost.unwrap_or(self.config.success_increment);
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        *tokens = tokens.saturating_add(deposit).min(self.config.capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_table() {
        // (name, steps, expected tokens) where a step is ('r' retry, 't' timeout retry, 's' success, 'S' success after a retry costing 5)
        let small = RetryBudgetConfig { capacity: 20, ..RetryBudgetConfig::default() };
        let table = [
            ("full at start", "", 20),
            ("two retries", "rr", 10),
            ("timeout costs double", "t", 10),
            ("successes never overfill", "sss", 20),
            ("success after retry refunds it", "rS", 20),
            ("drained", "rrrr", 0),
            ("refused when empty", "rrrrr", 0),
            ("first-attempt successes trickle back", "rrrrss", 2),
        ];
        for (name, steps, expected) in table {
            let budget = RetryBudget::new(small);
            for step in steps.chars() {
                match step {
                    'r' => {
                        budget.try_acquire(false);
                    }
                    't' => {
                        budget.try_acquire(true);
                    }
                    's' => budget.on_success(None),
                    _ => budget.on_success(Some(5)),
                }
            }
            assert_eq!(budget.available(), expected, "{name}: expected {expected}");
        }
    }

    #[test]
    fn refusal_is_reported() {
        let budget = RetryBudget::new(RetryBudgetConfig { capacity: 9, ..RetryBudgetConfig::default() });
        assert_eq!(budget.try_acquire(false), Some(5));
        assert_eq!(budget.try_acquire(false), None, "4 tokens cannot pay a retry of 5");
        assert_eq!(budget.try_acquire(true), None);
    }
}
