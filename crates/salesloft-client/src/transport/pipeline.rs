//! The composed pipeline: [`Pipeline::execute`] runs one logical call through every layer.
//!
//! ```no_run
//! # async fn demo() -> Result<(), salesloft_client::Error> {
//! use std::sync::Arc;
//! use salesloft_client::transport::{ApiRequest, FileTokenStore, OAuthConfig, Pipeline, RetryConfig};
//! use secrecy::SecretString;
//!
//! // API key, everything else default (3 attempts, breaker, 600/min budget).
//! let simple = Pipeline::with_api_key("https://api.salesloft.com/v2", SecretString::from("ak…".to_string()))?;
//!
//! // OAuth with a token file, custom retry settings.
//! let oauth = OAuthConfig::new(
//!     salesloft_client::transport::auth::SALESLOFT_TOKEN_URL,
//!     "client-id",
//!     SecretString::from("client-secret".to_string()),
//! );
//! let pipeline = Pipeline::builder("https://api.salesloft.com/v2")
//!     .oauth(oauth, Arc::new(FileTokenStore::new("/var/lib/slprod/tokens.json")))
//!     .retry(RetryConfig { max_attempts: 3, ..RetryConfig::default() })
//!     .build()?;
//! let me = pipeline.execute(ApiRequest::new("me.get", http::Method::GET, "me")).await?;
//! println!("{} cost {:?}", me.status, me.rate.endpoint_cost);
//! # let _ = simple; Ok(()) }
//! ```
//!
//! One call, step by step: open a `salesloft.call` span → ask the breaker → reserve rate budget (waiting if
//! needed) → get a bearer (refreshing if near expiry) → send → settle the budget from the rate headers → tell
//! the breaker → on 401 refresh once and repeat once → classify → either return, or draw on the retry budget,
//! sleep the backoff (at least `Retry-After`) and go again. This file only composes the layers: the attempt
//! loop and its policies live in [`super::retry`], each layer in its own module. A 422 is logged at `warn` with the redacted
//! request payload before it is returned as [`Error::Validation`].

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use secrecy::SecretString;
use tracing::Instrument;
use tracing::field::Empty;

use super::auth::{Authenticator, Credentials, OAuthConfig, TokenStore};
use super::breaker::{AttemptOutcome, BreakerConfig, CircuitBreaker, CircuitState};
use super::http::{HttpConfig, HttpTransport, RawResponse};
use super::rate_budget::{BudgetSnapshot, RateBudget, RateBudgetConfig, Settlement};
use super::request::{ApiRequest, ApiResponse, RateLimitInfo};
use super::retry::{Attempt, AttemptOnce, AttemptResult, RetryAction, RetryConfig, RetryLoop, classify};
use super::shared_budget::SharedBudget;
use super::telemetry;
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::error::{Error, FieldErrors, ValidationError};
use crate::redact::{RedactionConfig, Redactor};

/// Settings of every layer; `Default` is the production configuration.
#[derive(Debug, Clone, Default)]
pub struct PipelineConfig {
    /// Connect and per-attempt timeouts.
    pub http: HttpConfig,
    /// Attempts, backoff, retry budget.
    pub retry: RetryConfig,
    /// Circuit breaker thresholds.
    pub breaker: BreakerConfig,
    /// Cost budget per window.
    pub rate_budget: RateBudgetConfig,
    /// What the 422 log hides.
    pub redaction: RedactionConfig,
}

/// Builds a [`Pipeline`]: `Pipeline::builder(base_url).api_key(k)` or `.oauth(config, store)`, optional
/// `.clock(..)` and layer settings, then `.build()`.
#[derive(Debug)]
#[must_use = "call .build()"]
pub struct PipelineBuilder {
    shared_budget: Option<Arc<dyn SharedBudget>>,
    base_url: String,
    credentials: Option<Credentials>,
    clock: Option<SharedClock>,
    config: PipelineConfig,
}

impl PipelineBuilder {
    /// Authenticates with an API key.
    pub fn api_key(mut self, key: SecretString) -> Self {
        self.credentials = Some(Credentials::ApiKey(key));
        self
    }

    /// Authenticates with OAuth tokens kept in `store` (which must already hold a token set for the
    /// refresh-token grant; the client-credentials grant starts empty).
    pub fn oauth(mut self, config: OAuthConfig, store: Arc<dyn TokenStore>) -> Self {
        self.credentials = Some(Credentials::OAuth(config, store));
        self
    }

    /// Sets the credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Injects the clock every policy reads (default [`SystemClock`]); tests pass a
    /// [`crate::clock::ManualClock`].
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: PipelineConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the HTTP timeouts.
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.config.http = http;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.config.retry = retry;
        self
    }

    /// Sets the circuit breaker.
    pub fn breaker(mut self, breaker: BreakerConfig) -> Self {
        self.config.breaker = breaker;
        self
    }

    /// Sets the rate budget.
    pub fn rate_budget(mut self, rate_budget: RateBudgetConfig) -> Self {
        self.config.rate_budget = rate_budget;
        self
    }

    /// Sets what the 422 log hides.
    pub fn redaction(mut self, redaction: RedactionConfig) -> Self {
        self.config.redaction = redaction;
        self
    }

    /// Caps the bytes read from one response body (default 16 MiB,
    /// [`crate::transport::DEFAULT_MAX_BODY_BYTES`]); a longer body fails with [`Error::BodyTooLarge`].
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.config.http.max_body_bytes = bytes;
        self
    }

    /// The longest `Retry-After` slept through (default 5 minutes); a longer one fails the call with
    /// [`Error::RetryAfterTooLong`].
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.config.retry.max_retry_after = max;
        self
    }

    /// Spends every attempt's cost from `budget` too, shared with other processes (gateway replicas); see
    /// [`super::shared_budget`].
    pub fn shared_budget(mut self, budget: Arc<dyn SharedBudget>) -> Self {
        self.shared_budget = Some(budget);
        self
    }

    /// Builds the pipeline; fails with [`Error::Construction`] on a bad base URL or OAuth token URL (plain
    /// `http://` is refused except for loopback hosts — [`super::url_policy`]) or missing credentials.
    pub fn build(self) -> Result<Pipeline, Error> {
        let credentials = self
            .credentials
            .ok_or_else(|| Error::Construction { reason: "no credentials: call .api_key(..) or .oauth(..)".into() })?;
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock::default()));
        let http = HttpTransport::new(&self.base_url, self.config.http)?;
        if let Credentials::OAuth(oauth, _) = &credentials {
            // The token form carries the client secret and the refresh token: same rule as the base URL.
            super::url_policy::require_secure_url(&oauth.token_url, "OAuth token URL")?;
        }
        let config = self.config;
        Ok(Pipeline {
            inner: Arc::new(Inner {
                auth: Authenticator::new(credentials, http.clone(), clock.clone()),
                http,
                breaker: CircuitBreaker::new(config.breaker, clock.clone()),
                budget: RateBudget::new(config.rate_budget, clock.clone()),
                retry: RetryLoop::new(config.retry, clock.clone()),
                redactor: Redactor::new(config.redaction),
                shared_budget: self.shared_budget,
                clock,
            }),
        })
    }
}

/// Executes requests against one SalesLoft API root through every resilience layer. Cheap to clone; clones
/// share tokens, breaker, budgets.
#[derive(Debug, Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: HttpTransport,
    auth: Authenticator,
    breaker: CircuitBreaker,
    budget: RateBudget,
    retry: RetryLoop,
    redactor: Redactor,
    shared_budget: Option<Arc<dyn SharedBudget>>,
    clock: SharedClock,
}

/// The pipeline's state for health checks and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineState {
    /// Circuit breaker state.
    pub circuit: CircuitState,
    /// Rate budget.
    pub budget: BudgetSnapshot,
    /// Tokens left in the retry budget.
    pub retry_tokens: u32,
    /// When the held OAuth access token expires: `(unix seconds, seconds from now)`, negative once past (the
    /// next call refreshes it). `None` with an API key, or before the first token is loaded.
    pub token_expiry: Option<(u64, i64)>,
    /// The OAuth grant was refused and nobody else had rotated it: a new authorisation is needed
    /// (`slprod auth login`); refreshing has stopped.
    pub needs_reauthorization: bool,
}

/// What one call did, for its span.
#[derive(Debug, Default)]
struct CallTrace {
    attempts: u32,
    cost: u32,
    remaining: Option<u32>,
}

impl Pipeline {
    /// A builder for `base_url`, the API root including the version (`https://api.salesloft.com/v2`).
    pub fn builder(base_url: impl Into<String>) -> PipelineBuilder {
        PipelineBuilder {
            base_url: base_url.into(),
            credentials: None,
            clock: None,
            config: PipelineConfig::default(),
            shared_budget: None,
        }
    }

    /// A pipeline for `base_url` using `api_key` as the bearer credential, every layer at its default.
    pub fn with_api_key(base_url: &str, api_key: SecretString) -> Result<Self, Error> {
        Self::builder(base_url).api_key(api_key).build()
    }

    /// The API root.
    pub fn base_url(&self) -> &str {
        self.inner.http.base_url()
    }

    /// The clock every policy of this pipeline reads: callers that wait between calls (a bulk job's polls)
    /// wait on it too, so tests on a `ManualClock` never sleep.
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// Breaker state, budget and retry tokens now.
    pub fn state(&self) -> PipelineState {
        PipelineState {
            circuit: self.inner.breaker.state(),
            budget: self.inner.budget.snapshot(),
            retry_tokens: self.inner.retry.tokens(),
            token_expiry: self.inner.auth.token_expiry(),
            needs_reauthorization: self.inner.auth.needs_reauthorization(),
        }
    }

    /// Saves a rotated OAuth token set whose earlier save failed (see [`super::auth`]), now, without waiting
    /// for the background retry. Call it before the process exits: a set held only in memory dies with the
    /// process, and SalesLoft has already revoked the older refresh token. `Ok` when nothing is pending (API
    /// keys included); the store's error when the set still cannot be saved.
    pub async fn save_pending_tokens(&self) -> Result<(), Error> {
        self.inner.auth.save_pending().await
    }

    /// Sends `request` and returns its 2xx answer, or the typed error for anything else (after the retries,
    /// refresh and waits described in the module docs).
    pub async fn execute(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        let span = tracing::info_span!(
            "salesloft.call",
            operation = request.operation,
            method = %request.method,
            status = Empty,
            attempts = Empty,
            cost = Empty,
            remaining = Empty,
        );
        let inner = self.inner.clone();
        async move {
            let started = inner.clock.now();
            let mut trace = CallTrace::default();
            let result = inner.run(&request, &mut trace).await;
            let status = telemetry::status_label(&result.as_ref().map(|r| r.status));
            let span = tracing::Span::current();
            span.record("status", status.as_str());
            span.record("attempts", trace.attempts);
            span.record("cost", trace.cost);
            if let Some(remaining) = trace.remaining {
                span.record("remaining", remaining);
            }
            telemetry::record_call(
                request.operation,
                &request.method,
                status,
                inner.clock.now().saturating_sub(started).as_secs_f64(),
            );
            result
        }
        .instrument(span)
        .await
    }
}

/// One logical call, as the retry layer sees it: each [`AttemptOnce::attempt`] goes through the inner layers.
struct Call<'a> {
    inner: &'a Inner,
    request: &'a ApiRequest,
    trace: &'a mut CallTrace,
    refreshed_after_401: bool,
}

impl AttemptOnce for Call<'_> {
    async fn attempt(&mut self) -> Attempt {
        self.inner.attempt(self.request, self.trace, &mut self.refreshed_after_401).await
    }
}

impl Inner {
    fn retry_after(&self, headers: &http::HeaderMap) -> Option<Duration> {
        super::retry::retry_after(headers, self.clock.as_ref())
    }

    /// The retry layer around [`Inner::attempt`] (the loop and its policy live in [`super::retry::attempts`]).
    async fn run(&self, request: &ApiRequest, trace: &mut CallTrace) -> Result<ApiResponse, Error> {
        let mut call = Call { inner: self, request, trace, refreshed_after_401: false };
        self.retry.run(request.operation, || self.budget.resets_in(), &mut call).await
    }

    /// One attempt through breaker → rate budget → auth → HTTP, classified for the retry layer.
    async fn attempt(&self, request: &ApiRequest, trace: &mut CallTrace, refreshed_after_401: &mut bool) -> Attempt {
        let operation = request.operation;
        let idempotent = request.is_idempotent();
        let permit = match self.breaker.admit() {
            Ok(permit) => permit,
            Err(retry_in) => return Attempt::CircuitOpen { retry_in },
        };
        let (reservation, mut waited) = self.budget.acquire(operation, request.expected_cost()).await;
        waited += self.spend_shared(reservation.cost()).await;
        if !waited.is_zero() {
            telemetry::record_budget_wait(operation, waited.as_secs_f64());
        }
        let bearer = match self.auth.bearer().await {
            Ok(bearer) => bearer,
            Err(error) => {
                self.budget.settle(reservation, Settlement::NotSent);
                return Attempt::Final(Err(error));
            }
        };
        trace.attempts += 1;
        match self.http.send(request, &bearer.token).await {
            Ok(raw) => {
                let status = raw.status;
                telemetry::record_response(status);
                let rate = RateLimitInfo::from_headers(&raw.headers);
                let retry_after = self.retry_after(&raw.headers);
                self.budget.settle(reservation, Settlement::Answered { status, rate, retry_after });
                self.observe_shared(rate.remaining_minute).await;
                telemetry::record_rate(operation, rate.endpoint_cost, rate.remaining_minute);
                tracing::debug!(
                    status = status.as_u16(),
                    endpoint_cost = rate.endpoint_cost,
                    remaining_minute = rate.remaining_minute,
                    retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
                    "salesloft rate-limit headers"
                );
                trace.cost += rate.endpoint_cost.unwrap_or(0);
                trace.remaining = rate.remaining_minute.or(trace.remaining);
                permit.record(AttemptOutcome::from_status(status));

                if status == StatusCode::UNAUTHORIZED {
                    // A 401 to an API key, or to a token refreshed for this very call, needs a person (the
                    // alert SalesloftAuthFailure); the first 401 to an OAuth token is the expected refresh.
                    if !self.auth.can_refresh() {
                        telemetry::record_auth_failure("api_key_401");
                    } else if *refreshed_after_401 {
                        telemetry::record_auth_failure("401_after_refresh");
                    }
                }
                if status == StatusCode::UNAUTHORIZED && self.auth.can_refresh() && !*refreshed_after_401 {
                    // Refresh once and repeat once; the repeat is not a retry (FACTS.md §1.5).
                    *refreshed_after_401 = true;
                    tracing::info!("SalesLoft answered 401; refreshing the token once");
                    return match self.auth.refresh_after_unauthorized(bearer.generation).await {
                        Ok(_) => Attempt::Repeat,
                        Err(error) => Attempt::Final(Err(error)),
                    };
                }
                let action = classify(idempotent, AttemptResult::Response { status, headers: &raw.headers }, |h| {
                    self.retry_after(h)
                });
                if request.any_status && !status.is_success() && action == RetryAction::NoRetry {
                    // A proxy's call: SalesLoft's final answer goes back as it came (status, headers, body).
                    return Attempt::Final(Ok(ApiResponse {
                        status,
                        rate,
                        headers: raw.headers,
                        body: raw.body,
                        attempts: trace.attempts,
                    }));
                }
                let error =
                    match into_result_redacted(operation, raw, trace.attempts, &self.redactor, self.clock.as_ref()) {
                        Ok(response) => return Attempt::Final(Ok(response)),
                        Err(error) => error,
                    };
                if let Error::Validation { error: validation, .. } = &error {
                    self.log_validation(request, validation);
                }
                Attempt::Failed { action, error }
            }
            Err(error @ Error::BodyTooLarge { status, .. }) => {
                // Answered, but unusable: a repeat would get the same oversized answer, so it is final.
                self.budget.settle(reservation, Settlement::Unknown);
                permit.record(AttemptOutcome::from_status(status));
                Attempt::Final(Err(error))
            }
            Err(error) => {
                let (settlement, result) = match &error {
                    Error::Dispatch { connect: true, .. } => {
                        (Settlement::NotSent, AttemptResult::Transport { connect: true })
                    }
                    Error::Dispatch { connect: false, .. } => {
                        (Settlement::Unknown, AttemptResult::Transport { connect: false })
                    }
                    _ => (Settlement::Unknown, AttemptResult::Timeout),
                };
                self.budget.settle(reservation, settlement);
                permit.record(AttemptOutcome::Failure);
                Attempt::Failed { action: classify(idempotent, result, |h| self.retry_after(h)), error }
            }
        }
    }

    /// Waits until the shared budget (if any) grants `cost`; returns the time waited. An unreachable shared
    /// budget is logged and skipped (the local budget still applies — [`super::shared_budget`]).
    async fn spend_shared(&self, cost: u32) -> Duration {
        let Some(shared) = &self.shared_budget else {
            return Duration::ZERO;
        };
        let mut waited = Duration::ZERO;
        loop {
            match shared.try_spend(cost).await {
                Ok(None) => return waited,
                Ok(Some(wait)) => {
                    let wait = wait.max(Duration::from_millis(1));
                    tracing::debug!(wait_ms = wait.as_millis() as u64, "waiting for the team's shared rate budget");
                    self.clock.sleep(wait).await;
                    waited += wait;
                }
                Err(error) => {
                    tracing::warn!(%error, "the shared rate budget is unreachable; pacing on this process's budget alone");
                    return waited;
                }
            }
        }
    }

    /// Passes SalesLoft's remaining-budget header on to the shared budget (if any).
    async fn observe_shared(&self, remaining: Option<u32>) {
        if let (Some(shared), Some(remaining)) = (&self.shared_budget, remaining)
            && let Err(error) = shared.observe_remaining(remaining).await
        {
            tracing::warn!(%error, "could not record SalesLoft's remaining budget in the shared budget");
        }
    }

    /// Logs a 422 with the request payload, secrets removed and PII masked (checklist "422 logged with
    /// request payload").
    fn log_validation(&self, request: &ApiRequest, validation: &ValidationError) {
        let payload = request.body.as_ref().map(|body| self.redactor.redact_json(body).to_string()).unwrap_or_default();
        let query = self.redactor.redact_query(&request.query);
        let errors = serde_json::to_value(&validation.errors).unwrap_or_default();
        let errors = self.redactor.redact_json(&errors);
        // The path may hold an email or a token (a lookup by value); it goes through the text redactor too.
        let path = self.redactor.redact_text(&request.path);
        tracing::warn!(
            operation = request.operation,
            method = %request.method,
            path = %path,
            field_errors = %errors,
            message = validation.message.as_deref().unwrap_or(""),
            payload = %payload,
            query = ?query,
            "SalesLoft rejected the request (422)"
        );
    }
}

/// Turns one raw answer into a success or SalesLoft's typed error (FACTS.md §3: singular `error` on
/// 401/403/404, an `errors` field map on 422), with every message redacted by the default [`Redactor`].
/// A 429's `Retry-After` date is read against `clock`.
pub fn into_result(operation: &str, raw: RawResponse, attempts: u32, clock: &dyn Clock) -> Result<ApiResponse, Error> {
    into_result_redacted(operation, raw, attempts, &Redactor::default(), clock)
}

/// [`into_result`] with `redactor` applied to everything taken from the body: SalesLoft's `error` string, the
/// 422 field messages (which may echo the rejected value) and the excerpt of a body that is not JSON. An
/// error's `Display` ends up in logs and reports, so it must never carry a secret or unmasked PII.
pub fn into_result_redacted(
    operation: &str,
    raw: RawResponse,
    attempts: u32,
    redactor: &Redactor,
    clock: &dyn Clock,
) -> Result<ApiResponse, Error> {
    let rate = RateLimitInfo::from_headers(&raw.headers);
    if raw.status.is_success() {
        return Ok(ApiResponse { status: raw.status, headers: raw.headers, body: raw.body, rate, attempts });
    }
    let (message, errors) = parse_error_body(&raw.body, redactor);
    let operation = operation.to_string();
    Err(match raw.status {
        StatusCode::UNPROCESSABLE_ENTITY => Error::Validation { operation, error: ValidationError { errors, message } },
        StatusCode::UNAUTHORIZED => {
            Error::Unauthorized { operation, message: message.unwrap_or_else(|| "unauthorized".into()) }
        }
        StatusCode::TOO_MANY_REQUESTS => {
            Error::RateLimited { operation, retry_after: super::retry::retry_after(&raw.headers, clock) }
        }
        status => {
            Error::Api { operation, status, message: message.unwrap_or_else(|| excerpt(&raw.body, redactor)), errors }
        }
    })
}

/// Reads `{"error": "..."}` and/or `{"errors": {field: [..]}}`, redacted; anything else yields nothing.
fn parse_error_body(body: &[u8], redactor: &Redactor) -> (Option<String>, FieldErrors) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, FieldErrors::new());
    };
    let message = value.get("error").and_then(|v| v.as_str()).map(|m| redactor.redact_text(m));
    let mut errors = FieldErrors::new();
    if let Some(map) = value.get("errors").and_then(|v| v.as_object()) {
        for (field, messages) in map {
            let list: Vec<String> = match messages {
                serde_json::Value::Array(items) => {
                    items.iter().map(|m| m.as_str().map(str::to_string).unwrap_or_else(|| m.to_string())).collect()
                }
                serde_json::Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            };
            // A message under a secret-named field (`{"password": ["hunter2 is too short"]}`) may echo the
            // secret itself: only a stock phrase ("is invalid", "can't be blank") is kept. The field name stays
            // either way, so the caller still knows what was rejected.
            let secret_field = redactor.is_secret_key(field);
            let list = list
                .iter()
                .map(|m| {
                    if secret_field && !is_stock_phrase(m) {
                        crate::redact::REDACTED.to_string()
                    } else {
                        redactor.redact_text(m)
                    }
                })
                .collect();
            errors.insert(field.clone(), list);
        }
    }
    (message, errors)
}

/// True for a validation message made only of lower-case words and numbers (Rails' "is too short (minimum is 8
/// characters)", "can't be blank"): nothing in it can be an echoed secret, which would mix case, digits and
/// letters, or symbols.
fn is_stock_phrase(message: &str) -> bool {
    message.split_whitespace().all(|word| {
        let word = word.trim_matches(|c: char| matches!(c, '(' | ')' | ',' | '.' | ';' | ':'));
        word.chars().all(|c| c.is_ascii_lowercase() || c == '\'' || c == '-')
            || word.chars().all(|c| c.is_ascii_digit())
    })
}

/// The first 200 characters of a body that is not SalesLoft's JSON, redacted. The redaction runs on the first
/// 4 KiB before cutting, so a credential straddling the 200th character is still recognised whole.
fn excerpt(body: &[u8], redactor: &Redactor) -> String {
    let head = &body[..body.len().min(4096)];
    let text = redactor.redact_text(&String::from_utf8_lossy(head));
    let mut out: String = text.chars().take(200).collect();
    if text.chars().count() > 200 || body.len() > head.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::redact::REDACTED;
    use bytes::Bytes;
    use http::HeaderMap;

    fn raw(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status: StatusCode::from_u16(status).expect("status"),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn error_mapping_table() {
        let cases: Vec<(u16, &str, &str)> = vec![
            (422, r#"{"errors":{"email_address":["is already taken"]}}"#, "validation"),
            (401, r#"{"error":"Invalid or expired token"}"#, "unauthorized"),
            (429, r#"{"error":"Rate limit exceeded"}"#, "rate_limited"),
            (404, r#"{"error":"Not Found"}"#, "api"),
            (503, "<html>down</html>", "api"),
        ];
        for (status, body, kind) in cases {
            let error = into_result("people.create", raw(status, body), 1, &ManualClock::new()).expect_err("non-2xx");
            let got = match &error {
                Error::Validation { error, .. } => {
                    assert!(error.is_taken("email_address"));
                    "validation"
                }
                Error::Unauthorized { .. } => "unauthorized",
                Error::RateLimited { .. } => "rate_limited",
                Error::Api { .. } => "api",
                _ => "other",
            };
            assert_eq!(got, kind, "status {status}: expected {kind}, got {error:?}");
        }
        assert!(into_result("x", raw(200, "{}"), 1, &ManualClock::new()).is_ok());
    }

    #[test]
    fn error_messages_and_bodies_are_redacted() {
        let key = "ak0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let html = format!("<html>upstream refused Authorization: Bearer tok-123 for {key} (jane@example.com)</html>");
        let cases: Vec<(u16, String)> = vec![
            (502, html),
            (403, r#"{"error":"token tok-123 of jane@example.com lacks people:write"}"#.replace("token ", "token=")),
            (401, r#"{"error":"Bearer tok-123 is revoked"}"#.to_string()),
            (
                422,
                r#"{"errors":{"email_address":["jane@example.com is already taken"],"password":["tok-123 is weak"]}}"#
                    .into(),
            ),
            (422, r#"{"error":"Requested scoped field(s) for jane@example.com: Bearer tok-123"}"#.into()),
        ];
        for (status, body) in cases {
            let error = into_result("people.create", raw(status, &body), 1, &ManualClock::new()).expect_err("non-2xx");
            let shown = format!("{error} {error:?}");
            for secret in ["tok-123", key, "jane@example.com"] {
                assert!(!shown.contains(secret), "{status}: {secret:?} survived in {shown}");
            }
            if status == 422 && body.contains("taken") {
                assert!(error.validation().is_some_and(|v| v.is_taken("email_address")), "{shown}");
                assert!(shown.contains("j***@example.com"), "{shown}");
            }
        }
    }

    #[test]
    fn secret_fields_keep_only_stock_phrases() {
        let body = r#"{"errors":{"password":["is too short (minimum is 8 characters)","Hunter2x is weak","can't be blank"],"callback_url":["https://h.example/cb?k=abc is not a valid URL"]}}"#;
        let error =
            into_result("webhook_subscriptions.create", raw(422, body), 1, &ManualClock::new()).expect_err("422");
        let errors = &error.validation().expect("a 422").errors;
        assert_eq!(
            errors["password"],
            vec!["is too short (minimum is 8 characters)".to_string(), REDACTED.into(), "can't be blank".into()]
        );
        assert_eq!(errors["callback_url"], vec![REDACTED.to_string()]);
    }

    #[test]
    fn garbage_bodies_become_typed_errors_with_what_could_be_read() {
        let nested = r#"{"errors":{"a":{"b":1}}}"#;
        for body in ["", "null", "[]", r#"{"errors":5}"#, nested, "\u{0}\u{ffff}"] {
            let expected_errors: FieldErrors = if body == nested {
                [("a".to_string(), vec![r#"{"b":1}"#.to_string()])].into_iter().collect()
            } else {
                FieldErrors::new()
            };
            match into_result("x", raw(500, body), 1, &ManualClock::new()) {
                Err(Error::Api { status, message, errors, .. }) => {
                    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "body {body:?}");
                    // No `error` string to show: the message is the body's excerpt.
                    assert_eq!(message, String::from_utf8_lossy(body.as_bytes()), "body {body:?}");
                    assert_eq!(errors, expected_errors, "body {body:?}");
                }
                other => panic!("500 with body {body:?}: expected Error::Api, got {other:?}"),
            }
            match into_result("x", raw(422, body), 1, &ManualClock::new()) {
                Err(Error::Validation { operation, error }) => {
                    assert_eq!(operation, "x");
                    assert_eq!(error.message, None, "body {body:?}");
                    assert_eq!(error.errors, expected_errors, "body {body:?}");
                }
                other => panic!("422 with body {body:?}: expected Error::Validation, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_pipeline_is_clone_send_sync() {
        fn assert_traits<T: Clone + Send + Sync + 'static>() {}
        assert_traits::<Pipeline>();
    }

    #[test]
    fn building_without_credentials_is_a_construction_error() {
        let error = Pipeline::builder("http://127.0.0.1:1/v2").build().expect_err("no credentials");
        assert!(matches!(error, Error::Construction { .. }), "got {error:?}");
        let error = Pipeline::with_api_key("not a url", SecretString::from("k".to_string())).expect_err("bad url");
        assert!(matches!(error, Error::Construction { .. }), "got {error:?}");
    }
}
