//! The control API under `/__sim/` (docs/simulator.md): faults, outage, clock, tokens, stats, request log,
//! webhook deliveries, reset. No auth, JSON in and out; never charged, never counted in stats.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::clock::format_timestamp;
use crate::errors::{error_response, json_response, no_content};
use crate::faults::FaultRule;
use crate::query::Query;
use crate::state::Shared;

/// Routes under `/__sim`.
pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/faults", post(add_fault).delete(clear_faults))
        .route("/outage", post(start_outage).delete(end_outage))
        .route("/clock", post(advance_clock).get(read_clock))
        .route("/tokens", post(mint_token))
        .route("/stats", get(stats))
        .route("/requests", get(requests))
        .route("/webhooks/deliveries", get(deliveries))
        .route("/reset", post(reset))
        .fallback(|| async { error_response(StatusCode::NOT_FOUND, "Not Found") })
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Box<Response>> {
    let body: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    serde_json::from_slice(body)
        .map_err(|error| Box::new(error_response(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {error}"))))
}

fn ok(value: serde_json::Value) -> Response {
    json_response(StatusCode::OK, value.to_string())
}

async fn add_fault(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let rule: FaultRule = match parse(&bytes) {
        Ok(rule) => rule,
        Err(response) => return *response,
    };
    if let Err(message) = rule.validate() {
        return error_response(StatusCode::BAD_REQUEST, &message);
    }
    ok(json!({"id": shared.faults.add(rule)}))
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    shared.faults.clear();
    no_content()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutageBody {
    seconds: f64,
    status: Option<u16>,
}

async fn start_outage(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let outage: OutageBody = match parse(&bytes) {
        Ok(outage) => outage,
        Err(response) => return *response,
    };
    let status = outage.status.unwrap_or(503);
    if !(outage.seconds.is_finite() && outage.seconds > 0.0 && (100..=999).contains(&status)) {
        return error_response(StatusCode::BAD_REQUEST, "seconds must be positive and status an HTTP status");
    }
    let until = shared.clock.now_micros().saturating_add((outage.seconds * 1e6) as i64);
    shared.faults.start_outage(until, status);
    ok(json!({"until": format_timestamp(until, 0), "status": status}))
}

async fn end_outage(State(shared): State<Arc<Shared>>) -> Response {
    shared.faults.end_outage();
    no_content()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    advance_seconds: f64,
}

async fn advance_clock(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let body: ClockBody = match parse(&bytes) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    if !(body.advance_seconds.is_finite() && body.advance_seconds >= 0.0) {
        return error_response(StatusCode::BAD_REQUEST, "advance_seconds must be zero or positive");
    }
    shared.clock.advance_micros((body.advance_seconds * 1e6) as i64);
    read_clock(State(shared)).await
}

async fn read_clock(State(shared): State<Arc<Shared>>) -> Response {
    let now = shared.clock.now_micros();
    ok(json!({"now": format_timestamp(now, 0), "unix_micros": now}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    client_id: Option<String>,
    expires_in: Option<u64>,
    scope: Option<String>,
}

async fn mint_token(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let body: TokenBody = match parse(&bytes) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let client_id = body
        .client_id
        .or_else(|| shared.config.oauth_clients.first().map(|client| client.client_id.clone()))
        .unwrap_or_default();
    let scope = body.scope.unwrap_or_else(|| "default".to_owned());
    let now = shared.clock.now_micros();
    match shared.oauth.mint(&shared.config, &client_id, &scope, body.expires_in, now) {
        Some(answer) => {
            shared.recorder.bump(|stats| stats.tokens_issued += 1);
            json_response(answer.status, answer.body.to_string())
        }
        None => error_response(StatusCode::BAD_REQUEST, "unknown client_id"),
    }
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    ok(serde_json::to_value(shared.recorder.stats()).unwrap_or_default())
}

async fn requests(State(shared): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Response {
    let query = Query::parse(raw.as_deref());
    let limit = match query.int("limit") {
        Ok(limit) => limit.unwrap_or(100).clamp(0, 10_000) as usize,
        Err(_) => return error_response(StatusCode::BAD_REQUEST, "limit must be an integer"),
    };
    ok(serde_json::to_value(shared.recorder.recent(limit)).unwrap_or_default())
}

async fn deliveries(State(shared): State<Arc<Shared>>) -> Response {
    ok(serde_json::to_value(shared.webhooks.deliveries()).unwrap_or_default())
}

async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    shared.reset();
    no_content()
}
