//! The retry layer's three separate decisions (smithy-rs `retries/`, tower `retry/` — rust_stack.md §3):
//! [`classifier`] (retry or not, and the server's floor), [`backoff`] (how long to wait) and [`budget`]
//! (whether retrying is still affordable), plus [`after`] (the server's `Retry-After` hint, read on the
//! injected clock). [`RetryConfig`] gathers their settings; [`attempts`] is the loop that applies them
//! between attempts, and its module docs say why retry sits outside the breaker, the budget and auth.
//!
//! At most 3 attempts by default (the checklist's "max 3 attempts"; AWS `DefaultMaxAttempts = 3`,
//! resilience4j `DEFAULT_MAX_ATTEMPTS = 3`, Google SRE "≤ 3 attempts" — anchors.md §2). A 401 refreshed once
//! by the auth layer is repeated once *in addition* (it is a credential problem, not a failure of the
//! service), and does not draw on the retry budget.

pub mod after;
pub mod attempts;
pub mod backoff;
pub mod budget;
pub mod classifier;

pub use after::{retry_after, retry_after_at};
pub use attempts::{Attempt, AttemptOnce, RetryLoop};
pub use backoff::{Backoff, Jitter};
pub use budget::{RetryBudget, RetryBudgetConfig};
pub use classifier::{AttemptResult, RetryAction, RetryReason, classify};

/// The longest `Retry-After` the pipeline waits out by default: 5 minutes. SalesLoft's budget window is one
/// minute (FACTS.md §2.1), so a longer hint is not a throttle the caller should sleep through silently.
pub const DEFAULT_MAX_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// Retry settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts per call including the first (1 disables retries). Default 3.
    pub max_attempts: u32,
    /// Delay policy.
    pub backoff: Backoff,
    /// Storm protection.
    pub budget: RetryBudgetConfig,
    /// Seed of the jitter RNG; `None` seeds from entropy. Set it in tests for reproducible delays.
    pub seed: Option<u64>,
    /// The longest server-requested wait (`Retry-After` on a 429 or 503) that is slept through before a
    /// retry; a longer one fails the call with [`crate::Error::RetryAfterTooLong`], which names the wait the
    /// server asked for. Default [`DEFAULT_MAX_RETRY_AFTER`].
    pub max_retry_after: std::time::Duration,
    /// Whether a server's `Retry-After` (on a 429 or 5xx) is the floor of the next delay (`retry.honour_retry_after`,
    /// default true). When false the computed backoff alone applies; a 429 then still waits for the budget
    /// window (FACTS.md §2.4), since retrying inside a spent window only collects more 429s.
    pub honour_retry_after: bool,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            backoff: Backoff::default(),
            budget: RetryBudgetConfig::default(),
            seed: None,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            honour_retry_after: true,
        }
    }
}
