//! The retry classifier: a pure function from (is the request safe to repeat?, what happened) to a
//! [`RetryAction`]. It knows nothing about attempts, budgets or delays (smithy-rs `ClassifyRetry`, vector's
//! `RetryLogic` — rust_stack.md §3).
//!
//! The rules, each from a checklist item or a fact:
//! - **429** is retried for every method, after at least `Retry-After` when present: a throttled request was
//!   refused, not executed (FACTS.md §2.4; Polly and failsafe-go honour `Retry-After` — anchors.md §2).
//! - **5xx** (except 501 and 505, which a repeat cannot fix), **408**, **timeouts** and **transport errors
//!   after connecting** are retried only when the request is idempotent (GET/PUT/DELETE, or a POST with an
//!   idempotency key): the first attempt may have taken effect, and SalesLoft has no idempotency header
//!   (FACTS.md §5.2). A 503's `Retry-After` is a floor too.
//! - **Connect errors** are retried for any method: the request certainly never left (smithy
//!   `DispatchFailure` with `is_connect`).
//! - **401** is not retried here: the auth layer refreshes once and repeats once (FACTS.md §1.5).
//! - Every other 4xx, including 422, is final.

use std::time::Duration;

use http::{HeaderMap, StatusCode};

/// What happened to one attempt.
#[derive(Debug, Clone, Copy)]
pub enum AttemptResult<'a> {
    /// SalesLoft answered.
    Response {
        /// Status.
        status: StatusCode,
        /// Headers (for `Retry-After`).
        headers: &'a HeaderMap,
    },
    /// No answer in time; the request may have been processed.
    Timeout,
    /// The connection failed. `connect` is true when it failed while connecting (certainly not sent).
    Transport {
        /// Failed while connecting.
        connect: bool,
    },
}

/// Why an attempt is retried (also the `reason` label of `salesloft_retries_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    /// 429.
    Throttled,
    /// 5xx or 408.
    ServerError,
    /// No answer in time.
    Timeout,
    /// Connection dropped after sending may have begun.
    Transport,
    /// Connection could not be established.
    Connect,
}

impl RetryReason {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            RetryReason::Throttled => "throttled",
            RetryReason::ServerError => "server_error",
            RetryReason::Timeout => "timeout",
            RetryReason::Transport => "transport",
            RetryReason::Connect => "connect",
        }
    }
}

/// The classifier's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAction {
    /// Final: return this outcome.
    NoRetry,
    /// Try again, waiting at least `min_delay` (the server's `Retry-After`) when given.
    Retry {
        /// Why.
        reason: RetryReason,
        /// A floor on the delay, from the server.
        min_delay: Option<Duration>,
    },
}

/// Classifies one attempt. `idempotent` says whether repeating the request is safe
/// ([`crate::transport::ApiRequest::is_idempotent`]); `retry_after` parses the `Retry-After` header.
pub fn classify(
    idempotent: bool,
    result: AttemptResult<'_>,
    retry_after: impl Fn(&HeaderMap) -> Option<Duration>,
) -> RetryAction {
    match result {
        AttemptResult::Response { status, headers } => {
            if status == StatusCode::TOO_MANY_REQUESTS {
                return RetryAction::Retry { reason: RetryReason::Throttled, min_delay: retry_after(headers) };
            }
            let transient = status == StatusCode::REQUEST_TIMEOUT
                || (status.is_server_error()
                    && status != StatusCode::NOT_IMPLEMENTED
                    && status != StatusCode::HTTP_VERSION_NOT_SUPPORTED);
            if transient && idempotent {
                RetryAction::Retry { reason: RetryReason::ServerError, min_delay: retry_after(headers) }
            } else {
                RetryAction::NoRetry
            }
        }
        AttemptResult::Timeout if idempotent => RetryAction::Retry { reason: RetryReason::Timeout, min_delay: None },
        AttemptResult::Transport { connect: true } => {
            RetryAction::Retry { reason: RetryReason::Connect, min_delay: None }
        }
        AttemptResult::Transport { connect: false } if idempotent => {
            RetryAction::Retry { reason: RetryReason::Transport, min_delay: None }
        }
        AttemptResult::Timeout | AttemptResult::Transport { .. } => RetryAction::NoRetry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RetryAction::{NoRetry, Retry};
    use RetryReason::*;

    fn headers(retry_after: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert(http::header::RETRY_AFTER, value.parse().expect("header value"));
        }
        headers
    }

    #[test]
    fn classification_table() {
        let none = headers(None);
        let two = headers(Some("2"));
        let secs = |s| Some(Duration::from_secs(s));
        fn response(code: u16, headers: &HeaderMap) -> AttemptResult<'_> {
            AttemptResult::Response { status: StatusCode::from_u16(code).expect("status"), headers }
        }
        // (name, idempotent, result, expected)
        let table: Vec<(&str, bool, AttemptResult<'_>, RetryAction)> = vec![
            ("200", true, response(200, &none), NoRetry),
            ("204", false, response(204, &none), NoRetry),
            ("400", true, response(400, &none), NoRetry),
            ("401 is auth's business", true, response(401, &none), NoRetry),
            ("403", true, response(403, &none), NoRetry),
            ("404", true, response(404, &none), NoRetry),
            ("408 idempotent", true, response(408, &none), Retry { reason: ServerError, min_delay: None }),
            ("408 POST", false, response(408, &none), NoRetry),
            ("422", true, response(422, &none), NoRetry),
            ("429 GET", true, response(429, &none), Retry { reason: Throttled, min_delay: None }),
            ("429 POST w/ Retry-After", false, response(429, &two), Retry { reason: Throttled, min_delay: secs(2) }),
            ("500 GET", true, response(500, &none), Retry { reason: ServerError, min_delay: None }),
            ("500 POST without key", false, response(500, &none), NoRetry),
            ("501", true, response(501, &none), NoRetry),
            ("502", true, response(502, &none), Retry { reason: ServerError, min_delay: None }),
            ("503 Retry-After", true, response(503, &two), Retry { reason: ServerError, min_delay: secs(2) }),
            ("504", true, response(504, &none), Retry { reason: ServerError, min_delay: None }),
            ("505", true, response(505, &none), NoRetry),
            ("timeout GET", true, AttemptResult::Timeout, Retry { reason: Timeout, min_delay: None }),
            ("timeout POST", false, AttemptResult::Timeout, NoRetry),
            (
                "connect POST",
                false,
                AttemptResult::Transport { connect: true },
                Retry { reason: Connect, min_delay: None },
            ),
            (
                "reset GET",
                true,
                AttemptResult::Transport { connect: false },
                Retry { reason: Transport, min_delay: None },
            ),
            ("reset POST", false, AttemptResult::Transport { connect: false }, NoRetry),
        ];
        for (name, idempotent, result, expected) in table {
            let got = classify(idempotent, result, |h| super::super::retry_after_at(h, std::time::Duration::ZERO));
            assert_eq!(got, expected, "{name}: expected {expected:?}, got {got:?}");
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn any_result() -> impl Strategy<Value = (Option<u16>, bool, bool)> {
            // (status or None for a transport failure, timeout-vs-transport, connect)
            (proptest::option::of(100u16..600), any::<bool>(), any::<bool>())
        }

        proptest! {
            /// A non-idempotent request is only ever retried when it certainly was not processed: a 429
            /// (rejected before work) or a failed connect.
            #[test]
            fn a_non_idempotent_request_is_retried_only_when_not_processed((status, timeout, connect) in any_result()) {
                let headers = HeaderMap::new();
                let result = match status {
                    Some(code) => AttemptResult::Response { status: StatusCode::from_u16(code).expect("valid"), headers: &headers },
                    None if timeout => AttemptResult::Timeout,
                    None => AttemptResult::Transport { connect },
                };
                match classify(false, result, |_| None) {
                    RetryAction::NoRetry => {}
                    RetryAction::Retry { reason, .. } => {
                        prop_assert!(matches!(reason, RetryReason::Throttled | RetryReason::Connect), "{reason:?} for {result:?}");
                    }
                }
            }

            /// Success, redirects and every 4xx but 408/429 are final, whatever the request and headers.
            #[test]
            fn answers_other_than_408_429_and_5xx_are_final(code in 100u16..500, idempotent in any::<bool>(), hint in proptest::option::of(0u64..10_000)) {
                prop_assume!(code != 408 && code != 429);
                let headers = HeaderMap::new();
                let status = StatusCode::from_u16(code).expect("valid");
                let action = classify(idempotent, AttemptResult::Response { status, headers: &headers }, |_| hint.map(Duration::from_secs));
                prop_assert_eq!(action, RetryAction::NoRetry);
            }

            /// The server's hint is passed through as the floor for every retried answer, never invented.
            #[test]
            fn a_retried_answer_carries_exactly_the_server_hint(code in 400u16..600, idempotent in any::<bool>(), hint in proptest::option::of(0u64..10_000)) {
                let headers = HeaderMap::new();
                let status = StatusCode::from_u16(code).expect("valid");
                let action = classify(idempotent, AttemptResult::Response { status, headers: &headers }, |_| hint.map(Duration::from_secs));
                if let RetryAction::Retry { min_delay, .. } = action {
                    prop_assert_eq!(min_delay, hint.map(Duration::from_secs));
                }
            }

            /// Idempotence only ever adds retries: what a POST retries, a GET retries too, for the same reason.
            #[test]
            fn idempotence_is_monotonic((status, timeout, connect) in any_result()) {
                let headers = HeaderMap::new();
                let result = match status {
                    Some(code) => AttemptResult::Response { status: StatusCode::from_u16(code).expect("valid"), headers: &headers },
                    None if timeout => AttemptResult::Timeout,
                    None => AttemptResult::Transport { connect },
                };
                let unsafe_verdict = classify(false, result, |_| None);
                if unsafe_verdict != RetryAction::NoRetry {
                    prop_assert_eq!(classify(true, result, |_| None), unsafe_verdict);
                }
            }
        }
    }
}
