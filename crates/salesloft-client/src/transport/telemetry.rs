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

/// Registers units and help texts of every metric this crate emits (call once after installing a recorder).
pub fn describe_metrics() {
    describe_counter!(REQUESTS_TOTAL, "SalesLoft API calls by endpoint, method and final status");
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
    fn status_labels() {
        let timeout = Error::Timeout { operation: "x".into() };
        let open = Error::CircuitOpen { operation: "x".into(), retry_in: std::time::Duration::ZERO };
        assert_eq!(status_label(&Ok(http::StatusCode::OK)), "200");
        assert_eq!(status_label(&Err(&timeout)), "timeout");
        assert_eq!(status_label(&Err(&open)), "circuit_open");
    }
}
