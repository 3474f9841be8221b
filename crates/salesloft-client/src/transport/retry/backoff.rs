//! Retry delays: capped exponential backoff with full jitter, and a server floor.
//!
//! `delay(n) = rand(0, min(cap, base · 2ⁿ))` for the n-th retry (n = 0 for the first), the AWS "full jitter"
//! scheme that smithy-rs `calculate_exponential_backoff` implements. Defaults follow the AWS SDKs' standard
//! mode: base 500 ms (`THROTTLING_RETRY_DELAY_BASE`), cap 20 s (`MAXIMUM_RETRY_DELAY`) — anchors.md §2. A
//! server's `Retry-After` is a floor, never shortened by jitter ([`Backoff::delay_with_floor`]).
//!
//! The random source is a seedable `fastrand::Rng` so tests are deterministic; [`Jitter::None`] gives the
//! plain exponential ceiling, which tests use to assert exact, growing delays.

use std::time::Duration;

/// How to randomise a delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// `rand(0, ceiling)` — spreads retries of many clients best (default).
    #[default]
    Full,
    /// `ceiling/2 + rand(0, ceiling/2)` — never shorter than half the ceiling.
    Equal,
    /// Exactly the ceiling.
    None,
}

/// Backoff parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Ceiling of the first retry's delay.
    pub base: Duration,
    /// Largest ceiling.
    pub cap: Duration,
    /// Randomisation.
    pub jitter: Jitter,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { base: Duration::from_millis(500), cap: Duration::from_secs(20), jitter: Jitter::Full }
    }
}

impl Backoff {
    /// The ceiling of the `retry`-th retry (0-based): `min(cap, base · 2^retry)`, without overflow.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base.checked_mul(factor).unwrap_or(Duration::MAX).min(self.cap)
    }

    /// The delay before the `retry`-th retry (0-based).
    pub fn delay(&self, retry: u32, rng: &mut fastrand::Rng) -> Duration {
        let ceiling = self.ceiling(retry);
        match self.jitter {
            Jitter::Full => ceiling.mul_f64(rng.f64()),
            Jitter::Equal => ceiling / 2 + (ceiling / 2).mul_f64(rng.f64()),
            Jitter::None => ceiling,
        }
    }

    /// [`Backoff::delay`], but never less than `floor` (the server's `Retry-After`).
    pub fn delay_with_floor(&self, retry: u32, floor: Option<Duration>, rng: &mut fastrand::Rng) -> Duration {
        let delay = self.delay(retry, rng);
        match floor {
            Some(floor) => delay.max(floor),
            None => delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ceilings_double_until_the_cap() {
        let backoff = Backoff::default();
        let table =
            [(0, 500), (1, 1000), (2, 2000), (3, 4000), (5, 16_000), (6, 20_000), (40, 20_000), (u32::MAX, 20_000)];
        for (retry, millis) in table {
            assert_eq!(backoff.ceiling(retry), Duration::from_millis(millis), "retry {retry}");
        }
    }

    #[test]
    fn no_jitter_gives_the_ceiling_and_a_floor_wins() {
        let backoff = Backoff { jitter: Jitter::None, ..Backoff::default() };
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(backoff.delay(1, &mut rng), Duration::from_secs(1));
        assert_eq!(backoff.delay_with_floor(0, Some(Duration::from_secs(7)), &mut rng), Duration::from_secs(7));
        assert_eq!(backoff.delay_with_floor(1, Some(Duration::from_millis(10)), &mut rng), Duration::from_secs(1));
    }

    #[test]
    fn same_seed_same_delays() {
        let backoff = Backoff::default();
        let run = |seed| {
            let mut rng = fastrand::Rng::with_seed(seed);
            (0..5).map(|n| backoff.delay(n, &mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
    }

    proptest! {
        #[test]
        fn full_jitter_stays_within_zero_and_the_ceiling(seed: u64, retry in 0u32..64, base_ms in 1u64..5_000, cap_ms in 1u64..60_000) {
            let backoff = Backoff { base: Duration::from_millis(base_ms), cap: Duration::from_millis(cap_ms), jitter: Jitter::Full };
            let mut rng = fastrand::Rng::with_seed(seed);
            let delay = backoff.delay(retry, &mut rng);
            prop_assert!(delay <= backoff.ceiling(retry), "delay {:?} > ceiling {:?}", delay, backoff.ceiling(retry));
            prop_assert!(delay <= backoff.cap);
        }

        #[test]
        fn equal_jitter_is_at_least_half_the_ceiling(seed: u64, retry in 0u32..64) {
            let backoff = Backoff { jitter: Jitter::Equal, ..Backoff::default() };
            let mut rng = fastrand::Rng::with_seed(seed);
            let delay = backoff.delay(retry, &mut rng);
            prop_assert!(delay >= backoff.ceiling(retry) / 2 && delay <= backoff.ceiling(retry));
        }

        #[test]
        fn a_floor_is_never_undercut(seed: u64, retry in 0u32..10, floor_ms in 0u64..120_000) {
            let backoff = Backoff::default();
            let mut rng = fastrand::Rng::with_seed(seed);
            let floor = Duration::from_millis(floor_ms);
            prop_assert!(backoff.delay_with_floor(retry, Some(floor), &mut rng) >= floor);
        }
    }
}
