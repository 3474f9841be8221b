//! The request pipeline, outermost to innermost: [`telemetry`] → [`retry`] → [`breaker`] → [`rate_budget`] →
//! [`auth`] → [`http`], composed in [`pipeline`] (DESIGN.md "Request pipeline", README.md). Retry sits outside
//! the breaker so the breaker judges every attempt (Polly's order, see [`breaker`]), outside the rate budget
//! so every attempt pays and waits for its cost, and outside auth so a retried attempt picks up a refreshed
//! token; [`retry::attempts`] explains the choice in full.
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
pub mod shared_budget;
pub mod telemetry;
pub mod url_policy;

pub use auth::{
    Credentials, FileTokenStore, GrantLock, MemoryTokenStore, OAuthConfig, OAuthGrant, RefreshSkew,
    SALESLOFT_TOKEN_URL, TokenSet, TokenStore,
};
pub use breaker::{BreakerConfig, CircuitState};
pub use http::{DEFAULT_MAX_BODY_BYTES, HttpConfig};
pub use pipeline::{Pipeline, PipelineBuilder, PipelineConfig, PipelineState};
pub use rate_budget::{BudgetSnapshot, RateBudgetConfig};
pub use request::{ApiRequest, ApiResponse, IdempotencyKey, RateLimitInfo, RawBody, page_cost};
pub use retry::{
    Backoff, DEFAULT_MAX_RETRY_AFTER, Jitter, RetryBudgetConfig, RetryConfig, retry_after, retry_after_at,
};
pub use shared_budget::SharedBudget;
