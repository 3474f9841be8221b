//! The team's cost budget (FACTS.md §2): a fixed window on the simulator clock (calendar minute by
//! default — the likeliest semantics, FACTS.md §2.3/§11), charged per request by page number.

use std::sync::{Mutex, PoisonError};

use crate::clock::Micros;

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Served; `remaining` is what is left in this window after the charge.
    Allowed {
        /// The request's cost.
        cost: u32,
        /// Budget left in this window.
        remaining: u64,
    },
    /// Over budget: 429.
    Limited {
        /// The request's cost.
        cost: u32,
        /// Budget left in this window.
        remaining: u64,
        /// Whole seconds until the next window, at least 1.
        retry_after_secs: u64,
    },
}

#[derive(Debug, Default)]
struct Window {
    index: i64,
    used: u64,
}

/// One team's budget.
#[derive(Debug, Default)]
pub struct RateLimiter {
    window: Mutex<Window>,
}

/// The limiter's knobs, read from [`crate::SimConfig`].
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Cost per window.
    pub per_window: u64,
    /// Window length.
    pub window_micros: i64,
    /// Whether a limited request still spends its cost (FACTS.md §11: unconfirmed, default no).
    pub limited_consumes: bool,
}

impl RateLimiter {
    /// Charges `cost` at `now`.
    pub fn charge(&self, now: Micros, cost: u32, budget: Budget) -> Decision {
        let window_micros = budget.window_micros.max(1);
        let index = now.div_euclid(window_micros);
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        if window.index != index {
            window.index = index;
            window.used = 0;
        }
        let remaining = budget.per_window.saturating_sub(window.used);
        if u64::from(cost) > remaining {
            if budget.limited_consumes {
                window.used = window.used.saturating_add(u64::from(cost));
            }
            let window_end = (index + 1).saturating_mul(window_micros);
            let wait = (window_end - now).max(0) as u64;
            return Decision::Limited {
                cost,
                remaining: budget.per_window.saturating_sub(window.used),
                retry_after_secs: wait.div_ceil(1_000_000).max(1),
            };
        }
        window.used += u64::from(cost);
        Decision::Allowed { cost, remaining: remaining - u64::from(cost) }
    }

    /// Refills the budget.
    pub fn reset(&self) {
        *self.window.lock().unwrap_or_else(PoisonError::into_inner) = Window::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Budget = Budget { per_window: 10, window_micros: 60_000_000, limited_consumes: false };

    #[test]
    fn spends_then_limits_then_refills_next_window() {
        let limiter = RateLimiter::default();
        let start = 600_000_000; // a window boundary
        assert_eq!(limiter.charge(start, 8, BUDGET), Decision::Allowed { cost: 8, remaining: 2 });
        assert_eq!(
            limiter.charge(start + 15_000_000, 3, BUDGET),
            Decision::Limited { cost: 3, remaining: 2, retry_after_secs: 45 }
        );
        assert_eq!(limiter.charge(start + 16_000_000, 2, BUDGET), Decision::Allowed { cost: 2, remaining: 0 });
        assert_eq!(limiter.charge(start + 60_000_000, 1, BUDGET), Decision::Allowed { cost: 1, remaining: 9 });
    }

    #[test]
    fn limited_requests_can_consume() {
        let limiter = RateLimiter::default();
        let budget = Budget { limited_consumes: true, ..BUDGET };
        limiter.charge(0, 9, budget);
        assert!(matches!(limiter.charge(1, 3, budget), Decision::Limited { remaining: 0, .. }));
    }
}
