//! The gateway's own idempotent write endpoints under `/api/`: `POST /api/people/upsert` ([`people`]) and
//! `POST /api/cadence_memberships` ([`cadence_memberships`]).
//!
//! Use them instead of the `/v2/` proxy when a caller may repeat a request (a retry after a timeout, a job that
//! reruns): SalesLoft has no idempotency header (FACTS.md §5.2), so a repeated `POST /v2/people` through the
//! proxy can create a second person, while a repeat here replays the first answer. Both endpoints follow
//! Stripe's idempotency contract (research/anchors.md §3) on the store's ledger (`salesloft_store::Ledger`):
//!
//! | situation | status | body / headers |
//! |---|---|---|
//! | missing or wrong internal token (the admin token included) | 401 | `{"error"}`, `WWW-Authenticate: Bearer` |
//! | no `Idempotency-Key`, or not 1–255 printable ASCII characters | 400 | `{"error"}` |
//! | body is not JSON, not an object, has an unknown field or a bad value | 400 | `{"error"}` naming the field |
//! | pause switch on (or unreadable) | 503 | `{"error", "paused"}`; nothing sent, ledger untouched |
//! | key first used with another body | 409 | `{"error"}` |
//! | key in flight (another request holds its live lease) | 409 | `{"error"}`, `Retry-After` (≥ 1 s) |
//! | done | 201 / 200 | endpoint's body (see [`people`], [`cadence_memberships`]) |
//! | SalesLoft refused it (422, or 409) | same status | `{"error", "errors"}`: stored and replayed |
//! | key already answered (done or refused) | the stored status | the stored body, `Idempotent-Replayed: true` |
//! | transient failure (5xx after retries, breaker open, 429 spent, timeout) | 502 / 503 / 504 / 429 | `{"error"}`, `Retry-After` when known; the lease is released so a retry with the same key proceeds (an in-doubt create is looked up before anything is sent again) |
//! | the store failed | 503 | `{"error"}`; retry with the same key |
//!
//! Keys are namespaced per endpoint in the ledger ([`ledger_key`]): the same key on the two endpoints names
//! two requests. They are not namespaced per token, so a caller keeps its keys across a token rotation. A
//! key is kept for the store's key retention (24 h by default); reusing it later is a new request, as at
//! Stripe. The fingerprint is the SHA-256 of the body's canonical JSON ([`fingerprint`]), so key order and
//! whitespace do not matter. Every mutation sent to SalesLoft gets one audit record, written in the same
//! store transaction as its ledger step.

pub mod cadence_memberships;
pub mod people;

use std::time::Duration;

use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode};
use salesloft_client::Error;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::Shared;
use crate::metrics::{PAUSED_REFUSALS_TOTAL, UPSERTS_TOTAL};
use crate::respond;

/// The request header that carries the caller's idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The response header set (to `true`) on a replayed answer.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
/// Longest accepted `Idempotency-Key`: Stripe's limit (research/anchors.md §3).
pub const MAX_KEY_LEN: usize = 255;

/// Who is calling: `internal-token-N` for the N-th internal token of a rotation (as the proxy names callers
/// in the audit log), `insecure-dev` when no internal token is configured under `--insecure-dev`; `None` for
/// a missing or wrong token, the admin token included (401).
pub(crate) fn caller(shared: &Shared, headers: &HeaderMap) -> Option<String> {
    match crate::auth::bearer(headers).map(|token| shared.config.internal_tokens.position(token)) {
        Some(Some(index)) => Some(format!("internal-token-{index}")),
        _ if shared.config.insecure_dev && shared.config.internal_tokens.is_empty() => Some("insecure-dev".into()),
        _ => None,
    }
}

/// The caller's `Idempotency-Key`: 1–255 printable ASCII characters (space to `~`), else the reason it is
/// refused (a 400).
pub fn idempotency_key(headers: &HeaderMap) -> Result<&str, &'static str> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Err("the Idempotency-Key header is required");
    };
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_KEY_LEN {
        return Err("the Idempotency-Key must be 1-255 characters");
    }
    if !bytes.iter().all(|b| (0x20..=0x7e).contains(b)) {
        return Err("the Idempotency-Key must be printable ASCII");
    }
    value.to_str().map_err(|_| "the Idempotency-Key must be printable ASCII")
}

/// The ledger key of `key` on `endpoint`: `gateway:<endpoint>:<key>`, or, when that would pass the ledger's
/// 255-character limit, `gateway:<endpoint>:sha256:<hex of the key>`.
pub fn ledger_key(endpoint: &str, key: &str) -> String {
    let plain = format!("gateway:{endpoint}:{key}");
    if plain.len() <= salesloft_store::ledger::MAX_KEY_LEN {
        plain
    } else {
        format!("gateway:{endpoint}:sha256:{}", hex::encode(Sha256::digest(key.as_bytes())))
    }
}

/// SHA-256 (hex) of the canonical JSON of `body` (object keys sorted, `salesloft_sync::canonical_json`).
pub fn fingerprint(body: &Value) -> String {
    hex::encode(Sha256::digest(salesloft_sync::canonical_json(body).as_bytes()))
}

/// Whole seconds from `now` until `until`, rounded up, at least 1: the `Retry-After` of a key in flight.
pub fn retry_after_secs(until: OffsetDateTime, now: OffsetDateTime) -> u64 {
    let left = (until - now).as_seconds_f64().ceil();
    if left.is_finite() && left > 1.0 { left as u64 } else { 1 }
}

/// The answer to a request that SalesLoft refused definitively, from its ledger record
/// (`salesloft_sync::failure_record`): the recorded status (422 when none) and `{"error", "errors"}`. The
/// first answer and every replay are built by this one function, so they are the same.
pub fn refusal_answer(recorded: &Value) -> (StatusCode, Value) {
    let status = recorded
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    let mut body = json!({"error": recorded.get("error").cloned().unwrap_or(Value::Null)});
    if let Some(errors) = recorded.get("errors") {
        body["errors"] = errors.clone();
    }
    (status, body)
}

/// Whether the ledger records `error` as the key's failed result (replayed forever after): SalesLoft's
/// 422 and 409, which repeating the same request cannot change. Everything else releases the lease.
pub fn is_definitive(error: &Error) -> bool {
    matches!(error, Error::Validation { .. }) || error.status().is_some_and(|s| s.as_u16() == 409 || s.as_u16() == 422)
}

/// Counts one answer of `endpoint` with `outcome` ([`UPSERTS_TOTAL`]).
pub(crate) fn count(endpoint: &'static str, outcome: &'static str) {
    metrics::counter!(UPSERTS_TOTAL, "endpoint" => endpoint, "outcome" => outcome).increment(1);
}

/// `status` with `body`, marked `Idempotent-Replayed: true` when `replayed`.
pub(crate) fn answer(status: StatusCode, body: Value, replayed: bool) -> Response {
    let mut response = respond::json(status, body);
    if replayed {
        response.headers_mut().insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    response
}

/// 409 for a key in flight, with `Retry-After` until its lease ends.
pub(crate) fn in_progress(until: OffsetDateTime, now: OffsetDateTime) -> Response {
    let mut response = respond::error(
        StatusCode::CONFLICT,
        "a request with this Idempotency-Key is in progress; retry after Retry-After seconds",
    );
    with_retry_after(&mut response, Duration::from_secs(retry_after_secs(until, now)));
    response
}

/// 409 for a key first used with another body.
pub(crate) fn conflict() -> Response {
    respond::error(
        StatusCode::CONFLICT,
        "this Idempotency-Key was used with a different request body; use a new key for a new request",
    )
}

/// 503 for a store that failed: nothing is known to be sent, the caller retries with the same key.
pub(crate) fn store_failed(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "the store failed during an idempotent request");
    let mut response = respond::error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the store is unavailable; retry with the same Idempotency-Key",
    );
    with_retry_after(&mut response, Duration::from_secs(1));
    response
}

/// The pause gate: `None` when mutations may go, else the 503 (nothing sent, the ledger untouched). An
/// unreadable switch refuses too (fail closed), as the proxy does.
pub(crate) async fn paused(shared: &Shared) -> Option<Response> {
    match shared.store.pause().paused().await {
        Ok(None) => None,
        Ok(Some(info)) => {
            metrics::counter!(PAUSED_REFUSALS_TOTAL).increment(1);
            Some(respond::json(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "paused: mutations are not sent to SalesLoft", "paused": respond::pause_info(&info)}),
            ))
        }
        Err(error) => {
            tracing::error!(%error, "cannot read the pause switch; refusing the mutation");
            Some(respond::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the pause switch cannot be read; mutations are refused until it can",
            ))
        }
    }
}

/// The paused answer for a pause set while the request was under way (the ledger refused to mark it sent).
pub(crate) fn paused_during(by: &str, reason: &str) -> Response {
    metrics::counter!(PAUSED_REFUSALS_TOTAL).increment(1);
    respond::json(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": "paused: mutations are not sent to SalesLoft", "paused": {"by": by, "reason": reason}}),
    )
}

/// The answer to a transient failure (the lease was released): the proxy's mapping — 503 + `Retry-After` for
/// an open breaker, 429 + `Retry-After` for a spent rate limit, 504 for a timeout, else SalesLoft's last
/// status or 502.
pub(crate) fn transient(error: &Error) -> Response {
    crate::proxy::from_error(error)
}

fn with_retry_after(response: &mut Response, wait: Duration) {
    if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(http::header::RETRY_AFTER, value);
    }
}

/// Reads the body as a JSON object, or says why not (a 400).
pub(crate) fn json_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the body must be a JSON object".to_string()),
        Err(error) => Err(format!("the body is not valid JSON: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_1_to_255_printable_ascii() {
        let mut headers = HeaderMap::new();
        assert!(idempotency_key(&headers).is_err(), "missing");
        for (value, ok) in [
            ("k", true),
            ("a b~!", true),
            (&"x".repeat(255)[..], true),
            (&"x".repeat(256)[..], false),
            ("", false),
            ("tab\there", false),
        ] {
            headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_str(value).expect("header"));
            assert_eq!(idempotency_key(&headers).is_ok(), ok, "{value:?}");
        }
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_bytes("é".as_bytes()).expect("header"));
        assert!(idempotency_key(&headers).is_err(), "non-ASCII");
    }

    #[test]
    fn ledger_keys_are_namespaced_and_fit_the_ledger() {
        assert_eq!(ledger_key("people.upsert", "k1"), "gateway:people.upsert:k1");
        assert_ne!(ledger_key("people.upsert", "k1"), ledger_key("cadence_memberships.create", "k1"));
        let long = "x".repeat(255);
        let key = ledger_key("people.upsert", &long);
        assert!(key.len() <= salesloft_store::ledger::MAX_KEY_LEN, "{key}");
        assert_ne!(key, ledger_key("people.upsert", &"y".repeat(255)));
    }

    #[test]
    fn fingerprints_ignore_key_order_but_not_values() {
        let a = json!({"email_address": "a@x.com", "first_name": "A"});
        let b: Value = serde_json::from_str(r#"{ "first_name":"A", "email_address":"a@x.com" }"#).expect("json");
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&json!({"email_address": "a@x.com", "first_name": "B"})));
    }

    #[test]
    fn retry_after_rounds_up_and_is_at_least_one_second() {
        let now = OffsetDateTime::UNIX_EPOCH;
        for (until, expected) in [
            (now + time::Duration::seconds(90), 90),
            (now + time::Duration::milliseconds(89_100), 90),
            (now + time::Duration::milliseconds(200), 1),
            (now - time::Duration::seconds(5), 1),
        ] {
            assert_eq!(retry_after_secs(until, now), expected, "{until}");
        }
    }

    #[test]
    fn refusals_keep_the_status_and_field_errors() {
        let recorded =
            json!({"error": "people.create: invalid", "status": 422, "errors": {"email_address": ["is invalid"]}});
        let (status, body) = refusal_answer(&recorded);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body, json!({"error": "people.create: invalid", "errors": {"email_address": ["is invalid"]}}));
        assert_eq!(refusal_answer(&json!({"error": "x", "status": 409})).0, StatusCode::CONFLICT);
    }
}
