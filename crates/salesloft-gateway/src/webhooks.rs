//! The webhook receiver, `POST /webhooks/salesloft`.
//!
//! SalesLoft POSTs the bare resource object as JSON, names the event in `x-salesloft-event` and signs the raw
//! body: `x-salesloft-signature` = hex HMAC-SHA1 keyed by the subscription's callback token (FACTS.md §6.2).
//! There is no event id and no timestamp, so the inbox deduplicates by `(event, resource id, updated_at)`, or
//! a hash of event and body ([`salesloft_store::Delivery::dedup_key`]). SalesLoft retries a failing delivery
//! three more times 15 s apart (FACTS.md §6.2), so a replay is normal and must be acknowledged.
//!
//! In order: a body over `webhooks.max_body_bytes` gets 413 (before anything is read past the limit); a
//! missing or wrong signature under every current secret gets 401 and nothing is stored; a verified body that
//! is not JSON gets 400 and is kept as a dead letter for inspection; otherwise the delivery is committed
//! through the inbox's group-commit writer *before* the 200, and a replay gets 200 without a second row. A
//! store failure gets 503, so SalesLoft delivers again.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use salesloft_store::{Delivery, Inserted};
use serde_json::json;

use crate::Shared;
use crate::metrics::{WEBHOOK_DELIVERIES_TOTAL, WEBHOOK_VERIFICATION_FAILURES_TOTAL};
use crate::respond;

/// The signature header (FACTS.md §6.2).
pub const SIGNATURE_HEADER: &str = "x-salesloft-signature";
/// The event type header (FACTS.md §6.2).
pub const EVENT_HEADER: &str = "x-salesloft-event";
/// The event type stored when SalesLoft sent none.
pub const UNKNOWN_EVENT: &str = "unknown";

/// `POST /webhooks/salesloft`.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let secrets = &shared.config.webhook_secrets;
    let open = shared.config.insecure_dev && secrets.is_empty();
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let verified = open || signature.is_some_and(|signature| secrets.verify_signature(&body, signature));
    if !verified {
        metrics::counter!(WEBHOOK_VERIFICATION_FAILURES_TOTAL).increment(1);
        tracing::warn!(signed = signature.is_some(), bytes = body.len(), "webhook refused: bad or missing signature");
        return respond::error(StatusCode::UNAUTHORIZED, "missing or invalid x-salesloft-signature");
    }
    let event = headers
        .get(EVENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(UNKNOWN_EVENT)
        .to_string();
    let delivery = Delivery::new(event.clone(), body.to_vec());

    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
        let reason = format!("the body is not JSON: {error}");
        return match shared.store.inbox().dead_letter(delivery, &reason).await {
            Ok(_) => {
                metrics::counter!(WEBHOOK_DELIVERIES_TOTAL, "outcome" => "dead_letter").increment(1);
                respond::error(StatusCode::BAD_REQUEST, format!("{reason}; kept as a dead letter"))
            }
            Err(error) => {
                tracing::error!(%error, event, "a malformed webhook could not be kept as a dead letter");
                respond::error(StatusCode::SERVICE_UNAVAILABLE, "the inbox is unavailable")
            }
        };
    }

    match shared.inbox.submit(delivery).await {
        Ok(Inserted::New(id)) => {
            metrics::counter!(WEBHOOK_DELIVERIES_TOTAL, "outcome" => "new").increment(1);
            shared.wake.notify();
            respond::json(StatusCode::OK, json!({"stored": true, "duplicate": false, "id": id}))
        }
        Ok(Inserted::Duplicate) => {
            metrics::counter!(WEBHOOK_DELIVERIES_TOTAL, "outcome" => "duplicate").increment(1);
            respond::json(StatusCode::OK, json!({"stored": true, "duplicate": true}))
        }
        Err(error) => {
            tracing::error!(%error, event, "webhook not stored; answering 503 so SalesLoft delivers it again");
            respond::error(StatusCode::SERVICE_UNAVAILABLE, "the inbox is unavailable; deliver again")
        }
    }
}
