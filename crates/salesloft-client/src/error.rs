//! The client's one error type.
//!
//! Each variant says *where* the call failed and whether the request **may have been sent** to SalesLoft
//! (after smithy-rs `SdkError`): the idempotency ledger needs that distinction to know whether an in-doubt
//! create must be reconciled before it is sent again. API error bodies keep SalesLoft's shapes: a singular
//! `error` string (401/403/404) or an `errors` field map (422) — FACTS.md §3.

use std::collections::BTreeMap;
use std::time::Duration;

use http::StatusCode;

/// An underlying error of a layer the client does not name (the store's `StoreError`, an I/O error), kept as
/// an error's `source` so callers can downcast it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Field → messages, as in SalesLoft's 422 body `{"errors":{"email_address":["is already taken"]}}`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// A 422 validation failure: the field errors SalesLoft returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Field → messages.
    pub errors: FieldErrors,
    /// The singular `error` string, when the 422 used that shape instead (FACTS.md §1.4 scoped fields).
    pub message: Option<String>,
}

impl ValidationError {
    /// True when `field` was rejected because the value is already used on the team (unique email or domain).
    /// SalesLoft's wording is unconfirmed ("is already taken" in the docs, "has already been taken" in Rails),
    /// so this matches on "taken" — FACTS.md §3, §11.
    pub fn is_taken(&self, field: &str) -> bool {
        self.errors.get(field).is_some_and(|messages| messages.iter().any(|m| m.contains("taken")))
    }
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(message) = &self.message {
            return write!(f, "{message}");
        }
        let mut first = true;
        for (field, messages) in &self.errors {
            if !first {
                write!(f, "; ")?;
            }
            first = false;
            write!(f, "{field} {}", messages.join(", "))?;
        }
        Ok(())
    }
}

/// Everything that can go wrong with a SalesLoft call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be built (bad argument, bad base URL). Never sent.
    #[error("could not build the request: {reason}")]
    Construction {
        /// What was wrong.
        reason: String,
    },

    /// No response arrived in time. The request may have been sent.
    #[error("{operation}: timed out")]
    Timeout {
        /// The logical operation, e.g. `people.create`.
        operation: String,
    },

    /// The connection failed before a response arrived (refused, reset, dropped). The request may have been
    /// sent unless `connect` is true.
    #[error("{operation}: transport failure: {message}")]
    Dispatch {
        /// The logical operation.
        operation: String,
        /// The transport's description (never contains a token).
        message: String,
        /// True when the failure happened while connecting, so the request was certainly not sent.
        connect: bool,
    },

    /// SalesLoft answered 422: the payload was rejected. The request was sent and had no effect.
    #[error("{operation}: validation failed (422): {error}")]
    Validation {
        /// The logical operation.
        operation: String,
        /// The field errors.
        error: ValidationError,
    },

    /// SalesLoft answered 401 even after one refresh (or with an API key): the credential is bad or revoked.
    #[error("{operation}: unauthorized (401): {message}")]
    Unauthorized {
        /// The logical operation.
        operation: String,
        /// SalesLoft's `error` string.
        message: String,
    },

    /// SalesLoft answered 429 and the retry policy gave up.
    #[error("{operation}: rate limited (429), retry after {retry_after:?}")]
    RateLimited {
        /// The logical operation.
        operation: String,
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },

    /// Any other non-success answer (403, 404, 5xx after retries, …). The request was sent.
    #[error("{operation}: SalesLoft answered {status}: {message}")]
    Api {
        /// The logical operation.
        operation: String,
        /// The HTTP status.
        status: StatusCode,
        /// SalesLoft's `error` string, or a short excerpt of the body.
        message: String,
        /// SalesLoft's `errors` field map, when present.
        errors: FieldErrors,
    },

    /// The circuit breaker is open: SalesLoft is failing and the call was not sent.
    #[error("{operation}: circuit open, failing fast (retry in {retry_in:?})")]
    CircuitOpen {
        /// The logical operation.
        operation: String,
        /// When the breaker will let a probe through.
        retry_in: Duration,
    },

    /// The retry budget is spent (too many retries recently): the call failed without a further attempt.
    #[error("{operation}: retry budget exhausted after {attempts} attempt(s): {last}")]
    RetryBudgetExhausted {
        /// The logical operation.
        operation: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: Box<Error>,
    },

    /// The response body did not match the expected shape. `path` names the JSON path that failed,
    /// e.g. `data[3].email_address`.
    #[error("{operation}: could not decode the response at `{path}`: {message}")]
    Decode {
        /// The logical operation.
        operation: String,
        /// The JSON path that failed.
        path: String,
        /// What was wrong.
        message: String,
    },

    /// The response body was longer than the configured cap ([`crate::transport::HttpConfig::max_body_bytes`],
    /// 16 MiB by default); reading stopped at the cap. The request was sent and answered (a mutation may have
    /// taken effect); repeating it would most likely get the same answer, so it is not retried.
    #[error("{operation}: SalesLoft answered {status} with a body over the {limit}-byte limit; not read")]
    BodyTooLarge {
        /// The logical operation.
        operation: String,
        /// The status of the answer.
        status: StatusCode,
        /// The cap in bytes.
        limit: usize,
    },

    /// The server asked to retry after longer than the configured maximum
    /// ([`crate::transport::RetryConfig::max_retry_after`], 5 minutes by default), so the call failed instead of
    /// sleeping that long. `last` is the answer that carried the `Retry-After`.
    #[error(
        "{operation}: SalesLoft asked to retry after {}s, longer than the {}s maximum; not waiting: {last}",
        retry_after.as_secs(),
        max.as_secs()
    )]
    RetryAfterTooLong {
        /// The logical operation.
        operation: String,
        /// What the server asked for (`Retry-After`).
        retry_after: Duration,
        /// The configured maximum.
        max: Duration,
        /// The answer that carried it (a 429 or 503).
        last: Box<Error>,
    },

    /// Obtaining or refreshing an OAuth token failed (e.g. `invalid_grant`: the refresh token was revoked).
    #[error("authentication failed: {message}")]
    Auth {
        /// OAuth error code (`invalid_grant`, `invalid_client`, …) when the server sent one.
        code: Option<String>,
        /// A description that never contains a token.
        message: String,
    },

    /// The durable journal (idempotency ledger, locks, audit log) failed or refused the operation. When it
    /// fails after a mutation was sent, the mutation may have landed; the ledger entry stays in doubt and a
    /// rerun reconciles it.
    ///
    /// `source` keeps the underlying error (the store's `StoreError` when the store failed), so a caller can
    /// `downcast_ref` it; `message` is what `Display` shows.
    #[error("journal: {message}")]
    Journal {
        /// What went wrong (never contains a token).
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// The pause switch (the rollback switch in the store) is on: the journal refused to mark the mutation
    /// sent, so it was not sent. Rerun after the switch is lifted.
    #[error("syncs are paused (by {by}: {reason}); the mutation was not sent")]
    Paused {
        /// Who set the switch.
        by: String,
        /// Why.
        reason: String,
    },

    /// Reading the token store (or taking its lock) failed. A rotated token set that cannot be *saved* does not
    /// produce this error: SalesLoft has already revoked the older refresh token (FACTS.md §1.3), so the new
    /// set is used from memory while its save is retried (`salesloft_token_save_failures_total`).
    ///
    /// `source` keeps the underlying error (an I/O error of the token file, the store's `StoreError` for a
    /// token store kept in the store) for `downcast_ref`; `message` is what `Display` shows, and never holds a
    /// token.
    #[error("token store: {message}")]
    TokenStore {
        /// What went wrong (never contains a token).
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// A keyset walk stopped because SalesLoft's answers could not be read without risking a missing
    /// record (out of order, outside the filters asked for, a tie group that never settles, or one that
    /// needs a page above 100). Only reads are affected: nothing was sent that changes data.
    #[error("pagination: {reason}")]
    Pagination {
        /// What the answers did.
        reason: String,
    },
}

impl Error {
    /// A [`Error::Journal`] without an underlying error.
    pub fn journal(message: impl Into<String>) -> Self {
        Error::Journal { message: message.into(), source: None }
    }

    /// A [`Error::TokenStore`] without an underlying error.
    pub fn token_store(message: impl Into<String>) -> Self {
        Error::TokenStore { message: message.into(), source: None }
    }

    /// A [`Error::TokenStore`] that keeps `source` (shown in `message` as well, as before).
    pub fn token_store_caused_by(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::TokenStore { message: message.into(), source: Some(source.into()) }
    }

    /// Whether SalesLoft may have received (and acted on) the request.
    ///
    /// `false` only when the request certainly never left the process or was certainly refused without
    /// effect.
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            Error::Construction { .. } | Error::CircuitOpen { .. } | Error::Auth { .. } | Error::TokenStore { .. } => {
                false
            }
            Error::Pagination { .. } | Error::Paused { .. } => false,
            Error::Dispatch { connect, .. } => !connect,
            Error::Validation { .. } | Error::Unauthorized { .. } | Error::RateLimited { .. } => false,
            Error::Api { status, .. } => status.is_server_error(),
            Error::Timeout { .. } | Error::Decode { .. } | Error::Journal { .. } => true,
            // Answered: a 4xx had no effect; anything else may have (a 2xx certainly did).
            Error::BodyTooLarge { status, .. } => !status.is_client_error(),
            Error::RetryBudgetExhausted { last, .. } | Error::RetryAfterTooLong { last, .. } => {
                last.may_have_been_sent()
            }
        }
    }

    /// The HTTP status SalesLoft answered with, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Validation { .. } => Some(StatusCode::UNPROCESSABLE_ENTITY),
            Error::Unauthorized { .. } => Some(StatusCode::UNAUTHORIZED),
            Error::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            Error::Api { status, .. } | Error::BodyTooLarge { status, .. } => Some(*status),
            Error::RetryBudgetExhausted { last, .. } | Error::RetryAfterTooLong { last, .. } => last.status(),
            _ => None,
        }
    }

    /// The validation details of a 422, if this is one.
    pub fn validation(&self) -> Option<&ValidationError> {
        match self {
            Error::Validation { error, .. } => Some(error),
            Error::RetryBudgetExhausted { last, .. } | Error::RetryAfterTooLong { last, .. } => last.validation(),
            _ => None,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taken_matches_both_wordings() {
        for wording in ["is already taken", "has already been taken"] {
            let error = ValidationError {
                errors: [("email_address".to_string(), vec![wording.to_string()])].into(),
                message: None,
            };
            assert!(error.is_taken("email_address"), "{wording}");
            assert!(!error.is_taken("domain"));
        }
    }

    #[test]
    fn only_certainly_unsent_failures_say_not_sent() {
        let refused = Error::Dispatch { operation: "x".into(), message: "refused".into(), connect: true };
        let reset = Error::Dispatch { operation: "x".into(), message: "reset".into(), connect: false };
        assert!(!refused.may_have_been_sent());
        assert!(reset.may_have_been_sent());
        assert!(Error::Timeout { operation: "x".into() }.may_have_been_sent());
    }
}
