//! The request pipeline, outermost to innermost: [`telemetry`] → [`retry`] → [`breaker`] → [`rate_budget`] →
//! [`auth`] → [`http`], composed in [`pipeline`] (DESIGN.md "Request pipeline"). Retry sits outside auth so a
//! retried attempt picks up a refreshed token. The breaker is consulted per attempt (Polly's order, see
//! [`breaker`]), which is the one deliberate difference from DESIGN.md's listing.
//!
//! Build a [`Pipeline`] with [`Pipeline::builder`] (or [`Pipeline::with_api_key`]) and call
//! [`Pipeline::execute`] with an [`ApiRequest`]; every layer is on by default with the settings its module
//! documents.

pub mod auth;
pub mod breaker;
pub mod http;
pub mod pipeline;
pub mod rate_budget;
pub mod request;
pub mod retry;
pub mod telemetry;
pub mod url_policy;

pub use auth::{
    Credentials, FileTokenStore, MemoryTokenStore, OAuthConfig, OAuthGrant, RefreshSkew, TokenSet, TokenStore,
};
pub use breaker::{BreakerConfig, CircuitState};
pub use http::{DEFAULT_MAX_BODY_BYTES, HttpConfig};
pub use pipeline::{Pipeline, PipelineBuilder, PipelineConfig, PipelineState};
pub use rate_budget::{BudgetSnapshot, RateBudgetConfig};
pub use request::{ApiRequest, ApiResponse, IdempotencyKey, RateLimitInfo, page_cost};
pub use retry::{Backoff, DEFAULT_MAX_RETRY_AFTER, Jitter, RetryBudgetConfig, RetryConfig};

/// Reads `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3); `None` when absent or malformed.
/// A date is measured from the system's wall clock; see [`retry_after_at`] for an injected one.
pub fn retry_after(headers: &::http::HeaderMap) -> Option<std::time::Duration> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    retry_after_at(headers, now)
}

/// [`retry_after`] with the current Unix time given (from [`crate::clock::Clock::unix_time`]). A date in the
/// past means "now" (zero). The value is returned as the server sent it, however long: the pipeline refuses
/// to wait longer than [`RetryConfig::max_retry_after`] and reports [`crate::Error::RetryAfterTooLong`]
/// instead, so an operator sees what the server asked rather than a silent retry.
pub fn retry_after_at(headers: &::http::HeaderMap, now_unix: std::time::Duration) -> Option<std::time::Duration> {
    let value = headers.get(::http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    let delay = if let Ok(seconds) = value.parse::<u64>() {
        std::time::Duration::from_secs(seconds)
    } else {
        let when = httpdate::parse_http_date(value).ok()?;
        let when = when.duration_since(std::time::UNIX_EPOCH).ok()?;
        when.saturating_sub(now_unix)
    };
    Some(delay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn retry_after_table() {
        let now = Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        let table: [(Option<&str>, Option<Duration>); 8] = [
            (None, None),
            (Some("0"), Some(Duration::ZERO)),
            (Some(" 12 "), Some(Duration::from_secs(12))),
            (Some("Wed, 21 Oct 2015 07:28:30 GMT"), Some(Duration::from_secs(30))),
            (Some("Wed, 21 Oct 2015 07:27:00 GMT"), Some(Duration::ZERO)),
            (Some("soon"), None),
            (Some("999999999"), Some(Duration::from_secs(999_999_999))),
            (Some("99999999999999999999999"), None),
        ];
        for (value, expected) in table {
            let mut headers = ::http::HeaderMap::new();
            if let Some(v) = value {
                headers.insert(::http::header::RETRY_AFTER, v.parse().expect("header"));
            }
            assert_eq!(retry_after_at(&headers, now), expected, "Retry-After {value:?}");
        }
    }
}
