//! The request pipeline, outermost to innermost: telemetry → circuit breaker → retry → rate budget → auth →
//! HTTP (DESIGN.md "Request pipeline"). Retry sits outside auth so a retried attempt picks up a refreshed
//! token.

pub mod http;
pub mod pipeline;
pub mod request;

pub use pipeline::Pipeline;
pub use request::{ApiRequest, ApiResponse, IdempotencyKey, RateLimitInfo, page_cost};

/// Reads `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3); `None` when absent or malformed.
pub fn retry_after(headers: &::http::HeaderMap) -> Option<std::time::Duration> {
    let value = headers.get(::http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(std::time::Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}
