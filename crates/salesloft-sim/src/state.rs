//! [`Shared`]: everything a running simulator holds, shared by the HTTP handlers and background tasks.

use std::sync::{PoisonError, RwLock};

use crate::clock::SimClock;
use crate::config::SimConfig;
use crate::faults::Faults;
use crate::oauth::OAuth;
use crate::rate_limit::{Budget, RateLimiter};
use crate::stats::Recorder;
use crate::store::TeamData;
use crate::webhooks::Webhooks;

/// The simulator's state. `Debug` shows the configuration (redacted) and the URL, never a key or token.
pub struct Shared {
    /// Configuration.
    pub config: SimConfig,
    /// API root, e.g. `http://127.0.0.1:4545/v2` (also the `_href` base).
    pub base_url: String,
    /// The clock.
    pub clock: SimClock,
    /// The team's records.
    pub data: RwLock<TeamData>,
    /// The team's budget.
    pub rate: RateLimiter,
    /// Scripted faults.
    pub faults: Faults,
    /// Stats and request log.
    pub recorder: Recorder,
    /// API keys and OAuth.
    pub oauth: OAuth,
    /// Webhook delivery.
    pub webhooks: Webhooks,
    /// The team's API keys (the first is [`crate::RunningSim::api_key`]).
    pub api_keys: Vec<String>,
    /// Wakes the bulk-job worker ([`crate::bulk::run_worker`]) when a job may have started.
    pub bulk_wake: tokio::sync::Notify,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .field("config", &self.config)
            .field("oauth", &self.oauth)
            .field("api_keys", &self.api_keys.len())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// The budget knobs.
    pub fn budget(&self) -> Budget {
        Budget {
            per_window: u64::from(self.config.budget_per_minute),
            window_micros: i64::try_from(self.config.minute.as_micros()).unwrap_or(i64::MAX).max(1),
            limited_consumes: self.config.rate_limited_consumes_budget,
        }
    }

    /// `POST /__sim/reset`: seeded data, no stats, logs, faults or outage, full budget; tokens kept.
    pub fn reset(&self) {
        let fresh = TeamData::seeded(&self.config);
        *self.data.write().unwrap_or_else(PoisonError::into_inner) = fresh;
        self.recorder.reset();
        self.faults.reset();
        self.rate.reset();
        self.webhooks.reset();
    }
}
