//! The outermost layer: one `tracing` span per logical call and the `metrics` facade.
//!
//! The crate only *emits* through the `metrics` facade; whoever installs a recorder (the `slprod` service,
//! a test) chooses the exporter. Histogram buckets are the recorder's business, so
//! [`LATENCY_BUCKETS`] is offered for it: it brackets the checklist's p99 baselines, 300 ms for reads and
//! 500 ms for writes (anchors.md §0, checklist "p99 tracked"). Call [`describe_metrics`] once after installing
//! the recorder to attach units and help texts.
//!
//! Labels are bounded: `endpoint` is the request's static operation name (`people.list`), never a path with an
//! id, and `status` is a status code or one of a few words for calls that got no answer
//! ([`status_label`]).

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

use crate::Error;

/// Requests by `endpoint`, `method`, `status` (one per logical call, after retries).
pub const REQUESTS_TOTAL: &str = "salesloft_requests_total";
/// Every HTTP response SalesLoft sent, retried attempts included, by `status` (the code) and `class`
/// (`2xx` … `5xx`). A 5xx storm that retries hide from callers shows here (issue 10: "count responses,
/// retries included"); the alerts on 5xx and 429 read it.
pub const RESPONSES_TOTAL: &str = "salesloft_responses_total";
/// Authentication failures by `kind`: `api_key_401` (a 401 to an API key), `401_after_refresh` (a 401 to a
/// token refreshed for the call), `refresh_failed` (the token endpoint refused or failed), `invalid_grant`
/// (the refresh token was refused: revoked or rotated away — FACTS.md §1.3). Each one needs a person; the
/// P1 alert `SalesloftAuthFailure` fires on any.
pub const AUTH_FAILURES_TOTAL: &str = "salesloft_auth_failures_total";
/// The `kind` labels of [`AUTH_FAILURES_TOTAL`].
pub const AUTH_FAILURE_KINDS: &[&str] = &["api_key_401", "401_after_refresh", "refresh_failed", "invalid_grant"];
/// The statuses whose [`RESPONSES_TOTAL`] series exist from the start at 0 (see [`describe_metrics`]).
pub const WATCHED_STATUSES: &[u16] = &[200, 401, 429, 500, 502, 503, 504];
/// Latency of a logical call in seconds, by `endpoint`, `method` (includes retries and waits).
pub const REQUEST_DURATION_SECONDS: &str = "salesloft_request_duration_seconds";
/// Retries by `endpoint`, `reason` (`throttled`, `server_error`, `timeout`, `transport`, `connect`).
pub const RETRIES_TOTAL: &str = "salesloft_retries_total";
/// Rate-limit cost charged by SalesLoft (`x-ratelimit-endpoint-cost`), by `endpoint`.
pub const COST_TOTAL: &str = "salesloft_cost_total";
/// Team budget left this minute as last reported (`x-ratelimit-remaining-minute`).
pub const RATELIMIT_REMAINING: &str = "salesloft_ratelimit_remaining";
/// Cost of the last request of an endpoint (`x-ratelimit-endpoint-cost`), by `endpoint`.
pub const RATELIMIT_ENDPOINT_COST: &str = "salesloft_ratelimit_endpoint_cost";
/// OAuth token refreshes by `outcome` (`ok`, `error`, `store_error`) and `trigger` (`proactive`, `unauthorized`, `initial`).
pub const TOKEN_REFRESHES_TOTAL: &str = "salesloft_token_refreshes_total";
/// Circuit state: 0 closed, 1 half-open, 2 open.
pub const CIRCUIT_STATE: &str = "salesloft_circuit_state";
/// Time a call waited for rate budget before an attempt, in seconds, by `endpoint` (histogram).
pub const BUDGET_WAIT_SECONDS: &str = "salesloft_budget_wait_seconds";

/// Histogram buckets for [`REQUEST_DURATION_SECONDS`], dense around the 0.3 s / 0.5 s baselines.
pub const LATENCY_BUCKETS: &[f64] = &[0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.0, 5.0];

/// Registers units and help texts of every metric this crate emits (call once after installing a recorder),
/// and creates at 0 the series the alerts watch ([`AUTH_FAILURES_TOTAL`] of every kind, [`RESPONSES_TOTAL`]
/// of the [`WATCHED_STATUSES`]): Prometheus' `increase()` needs a sample before the first event, so a counter
/// that first appears at 1 would hide the first auth failure from the alert.
pub fn describe_metrics() {
    describe_counter!(REQUESTS_TOTAL, "SalesLoft API calls by endpoint, method and final status");
    describe_counter!(RESPONSES_TOTAL, "SalesLoft HTTP responses by status and class, retried attempts included");
    describe_counter!(AUTH_FAILURES_TOTAL, "SalesLoft authentication failures by kind");
    for kind in AUTH_FAILURE_KINDS {
        counter!(AUTH_FAILURES_TOTAL, "kind" => *kind).increment(0);
    }
    for status in WATCHED_STATUSES {
        counter!(RESPONSES_TOTAL, "status" => status.to_string(), "class" => status_class(*status)).increment(0);
    }
    describe_histogram!(
        REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "SalesLoft call latency including retries, by endpoint, method and class (read/write)"
    );
    describe_counter!(RETRIES_TOTAL, "Retried SalesLoft attempts by reason");
    describe_counter!(COST_TOTAL, "Rate-limit cost charged by SalesLoft (x-ratelimit-endpoint-cost)");
    describe_gauge!(RATELIMIT_REMAINING, "Team rate budget left this minute (x-ratelimit-remaining-minute)");
    describe_gauge!(RATELIMIT_ENDPOINT_COST, "Last reported cost of an endpoint (x-ratelimit-endpoint-cost)");
    describe_counter!(TOKEN_REFRESHES_TOTAL, "OAuth token refreshes by outcome and trigger");
    describe_counter!(
        super::auth::TOKEN_SAVE_FAILURES_TOTAL,
        "Failed saves of a rotated OAuth token set (the set is kept in memory and the save retried)"
    );
    describe_gauge!(
        super::auth::REAUTHORIZATION_REQUIRED,
        "1 while the OAuth connection needs re-authorisation (slprod auth login), else 0"
    );
    describe_gauge!(CIRCUIT_STATE, "Circuit breaker state: 0 closed, 1 half-open, 2 open");
    describe_histogram!(BUDGET_WAIT_SECONDS, Unit::Seconds, "Time waited for rate budget before an attempt");
}

/// The `status` label of a finished call: the HTTP status when SalesLoft answered, else a word.
pub fn status_label(result: &Result<http::StatusCode, &Error>) -> String {
    match result {
        Ok(status) => status.as_u16().to_string(),
        Err(error) => match error.status() {
            Some(status) => status.as_u16().to_string(),
            None => match error {
                Error::Timeout { .. } => "timeout".into(),
                Error::Dispatch { .. } => "transport".into(),
                Error::CircuitOpen { .. } => "circuit_open".into(),
                Error::Auth { .. } | Error::TokenStore { .. } => "auth_error".into(),
                Error::Decode { .. } => "decode_error".into(),
                _ => "error".into(),
            },
        },
    }
}

/// The latency class of a method: `read` (GET, HEAD, OPTIONS) or `write`. The checklist's baselines differ
/// per class (300 ms reads, 500 ms writes — DESIGN.md MON-5), so the latency histogram carries it as a label and
/// a p99 per class is one query.
pub fn latency_class(method: &http::Method) -> &'static str {
    if matches!(*method, http::Method::GET | http::Method::HEAD | http::Method::OPTIONS) { "read" } else { "write" }
}

/// Records the end of one logical call.
pub(crate) fn record_call(endpoint: &'static str, method: &http::Method, status: String, seconds: f64) {
    let class = latency_class(method);
    let method = method.as_str().to_string();
    counter!(REQUESTS_TOTAL, "endpoint" => endpoint, "method" => method.clone(), "status" => status).increment(1);
    histogram!(REQUEST_DURATION_SECONDS, "endpoint" => endpoint, "method" => method, "class" => class).record(seconds);
}

/// The `class` label of a status: `1xx` … `5xx`, `other` outside 100..=599.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

/// Records one HTTP response from SalesLoft (every attempt, retried or not).
pub(crate) fn record_response(status: http::StatusCode) {
    let code = status.as_u16();
    counter!(RESPONSES_TOTAL, "status" => code.to_string(), "class" => status_class(code)).increment(1);
}

/// Records one authentication failure; `kind` is one of [`AUTH_FAILURE_KINDS`].
pub(crate) fn record_auth_failure(kind: &'static str) {
    debug_assert!(AUTH_FAILURE_KINDS.contains(&kind), "unknown auth failure kind {kind}");
    counter!(AUTH_FAILURES_TOTAL, "kind" => kind).increment(1);
}

/// Records one retry.
pub(crate) fn record_retry(endpoint: &'static str, reason: &'static str) {
    counter!(RETRIES_TOTAL, "endpoint" => endpoint, "reason" => reason).increment(1);
}

/// Records the rate-limit headers of one response.
pub(crate) fn record_rate(endpoint: &'static str, cost: Option<u32>, remaining: Option<u32>) {
    if let Some(cost) = cost {
        counter!(COST_TOTAL, "endpoint" => endpoint).increment(u64::from(cost));
        gauge!(RATELIMIT_ENDPOINT_COST, "endpoint" => endpoint).set(f64::from(cost));
    }
    if let Some(remaining) = remaining {
        gauge!(RATELIMIT_REMAINING).set(f64::from(remaining));
    }
}

/// Records a token refresh.
pub(crate) fn record_refresh(trigger: &'static str, outcome: &'static str) {
    counter!(TOKEN_REFRESHES_TOTAL, "trigger" => trigger, "outcome" => outcome).increment(1);
}

/// Publishes the circuit state.
pub(crate) fn record_circuit_state(value: f64) {
    gauge!(CIRCUIT_STATE).set(value);
}

/// Records time spent waiting for budget.
pub(crate) fn record_budget_wait(endpoint: &'static str, seconds: f64) {
    histogram!(BUDGET_WAIT_SECONDS, "endpoint" => endpoint).record(seconds);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_are_told_apart_by_method() {
        for (method, class) in [
            (http::Method::GET, "read"),
            (http::Method::HEAD, "read"),
            (http::Method::OPTIONS, "read"),
            (http::Method::POST, "write"),
            (http::Method::PUT, "write"),
            (http::Method::PATCH, "write"),
            (http::Method::DELETE, "write"),
        ] {
            assert_eq!(latency_class(&method), class, "{method}");
        }
    }

    #[test]
    fn buckets_bracket_the_baselines_and_are_sorted() {
        assert!(LATENCY_BUCKETS.windows(2).all(|w| w[0] < w[1]), "buckets must ascend: {LATENCY_BUCKETS:?}");
        for baseline in [0.3, 0.5] {
            assert!(LATENCY_BUCKETS.contains(&baseline), "missing bucket {baseline}");
        }
    }

    #[test]
    fn status_classes() {
        for (status, class) in [(200, "2xx"), (301, "3xx"), (401, "4xx"), (429, "4xx"), (503, "5xx"), (99, "other")] {
            assert_eq!(status_class(status), class, "{status}");
        }
    }

    #[test]
    fn status_labels() {
        let timeout = Error::Timeout { operation: "x".into() };
        let open = Error::CircuitOpen { operation: "x".into(), retry_in: std::time::Duration::ZERO };
        assert_eq!(status_label(&Ok(http::StatusCode::OK)), "200");
        assert_eq!(status_label(&Err(&timeout)), "timeout");
        assert_eq!(status_label(&Err(&open)), "circuit_open");
    }
}
