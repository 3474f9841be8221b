//! The request pipeline, outermost to innermost: telemetry → circuit breaker → retry → rate budget → auth →
//! HTTP (DESIGN.md "Request pipeline"). Retry sits outside auth so a retried attempt picks up a refreshed
//! token.

pub mod request;

pub use request::{ApiRequest, ApiResponse, IdempotencyKey, RateLimitInfo, page_cost};
