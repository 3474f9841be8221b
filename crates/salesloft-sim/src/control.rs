//! The control API under `/__sim/` (docs/simulator.md): faults, outage, clock, tokens, stats, request log,
//! webhook deliveries, reset, and the bulk-job controls (hold a job in `executing`, process records now). JSON in and out; never charged, never counted in stats.
//!
//! Access ([`guard`]): without [`crate::SimConfig::control_token`] only loopback callers are answered (403
//! otherwise), since the API can mint tokens and rewrite the simulator's state; with a token every caller
//! must send `Authorization: Bearer <token>` (401 otherwise), compared in constant time.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::bulk;
use crate::clock::format_timestamp;
use crate::errors::{error_response, json_response, no_content};
use crate::faults::FaultRule;
use crate::oauth::secret_eq;
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
        .route("/bulk_jobs/{id}/stuck", post(hold_bulk_job).delete(release_bulk_job))
        .route("/bulk_jobs/{id}/process", post(process_bulk_job))
        .fallback(|| async { error_response(StatusCode::NOT_FOUND, "Not Found") })
}

/// Admits a control request: a bearer equal to the control token when one is configured, else a loopback
/// peer. A request without a known peer address counts as remote.
pub async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    match &shared.config.control_token {
        Some(expected) => {
            let presented = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim());
            if !presented.is_some_and(|token| secret_eq(token, expected)) {
                let mut response = error_response(StatusCode::UNAUTHORIZED, "control API token required");
                response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
                return response;
            }
        }
        None => {
            let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
            if !peer.is_some_and(|peer| is_loopback(&peer)) {
                return error_response(
                    StatusCode::FORBIDDEN,
                    "the control API answers loopback callers only; start the simulator with --control-token",
                );
            }
        }
    }
    next.run(request).await
}

/// 127.0.0.0/8, ::1 and IPv4-mapped loopback.
fn is_loopback(peer: &SocketAddr) -> bool {
    match peer.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
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
    // Bulk jobs run on this clock: apply what became due, so the next read sees it.
    bulk::catch_up(&shared);
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
    let mut stats = serde_json::to_value(shared.recorder.stats()).unwrap_or_default();
    let sizes = shared.oauth.sizes(&shared.config, shared.clock.now_micros());
    if let Some(object) = stats.as_object_mut() {
        object.insert("oauth_state".to_owned(), serde_json::to_value(sizes).unwrap_or_default());
    }
    ok(stats)
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

/// `{"data": <job>}` for a known bulk job, 404 otherwise.
fn bulk_job_answer(shared: &Shared, id: i64, known: bool) -> Response {
    match bulk::job_json(shared, id).filter(|_| known) {
        Some(job) => json_response(StatusCode::OK, format!("{{\"data\":{job}}}")),
        None => error_response(StatusCode::NOT_FOUND, "no such bulk job"),
    }
}

async fn hold_bulk_job(State(shared): State<Arc<Shared>>, Path(id): Path<i64>) -> Response {
    let known = bulk::set_stuck(&shared, id, true);
    bulk_job_answer(&shared, id, known)
}

async fn release_bulk_job(State(shared): State<Arc<Shared>>, Path(id): Path<i64>) -> Response {
    let known = bulk::set_stuck(&shared, id, false);
    bulk_job_answer(&shared, id, known)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcessBody {
    records: Option<u64>,
}

async fn process_bulk_job(State(shared): State<Arc<Shared>>, Path(id): Path<i64>, bytes: Bytes) -> Response {
    let body: ProcessBody = match parse(&bytes) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let known = bulk::process_now(&shared, id, body.records.unwrap_or(u64::MAX));
    bulk_job_answer(&shared, id, known)
}

async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    shared.reset();
    no_content()
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use axum::http::{Request, StatusCode, header};
    use tower::ServiceExt as _;

    use crate::SimConfig;

    async fn status(config: SimConfig, peer: Option<&str>, bearer: Option<&str>) -> StatusCode {
        let shared = Arc::new(
            crate::build_shared(config, "http://127.0.0.1:9", Arc::new(crate::clock::SystemClock::default()))
                .expect("state"),
        );
        let mut request = Request::get("/__sim/stats");
        if let Some(token) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let mut request = request.body(Body::empty()).expect("request");
        if let Some(peer) = peer {
            let peer: SocketAddr = peer.parse().expect("address");
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        crate::server::router(shared).oneshot(request).await.expect("infallible").status()
    }

    #[tokio::test]
    async fn without_a_token_only_loopback_callers_are_answered() {
        let table = [
            (Some("127.0.0.1:5000"), StatusCode::OK),
            (Some("127.8.9.10:5000"), StatusCode::OK),
            (Some("[::1]:5000"), StatusCode::OK),
            (Some("[::ffff:127.0.0.1]:5000"), StatusCode::OK),
            (Some("192.0.2.7:5000"), StatusCode::FORBIDDEN),
            (Some("[2001:db8::1]:5000"), StatusCode::FORBIDDEN),
            (None, StatusCode::FORBIDDEN),
        ];
        for (peer, expected) in table {
            assert_eq!(status(SimConfig::default(), peer, None).await, expected, "peer {peer:?}");
        }
    }

    #[tokio::test]
    async fn with_a_token_every_caller_must_present_it() {
        let config = SimConfig { control_token: Some("ctl-token".to_owned()), ..SimConfig::default() };
        let table = [
            (Some("192.0.2.7:5000"), Some("ctl-token"), StatusCode::OK),
            (Some("192.0.2.7:5000"), None, StatusCode::UNAUTHORIZED),
            (Some("192.0.2.7:5000"), Some("ctl-tokem"), StatusCode::UNAUTHORIZED),
            (Some("192.0.2.7:5000"), Some("ctl-token-longer"), StatusCode::UNAUTHORIZED),
            (Some("127.0.0.1:5000"), None, StatusCode::UNAUTHORIZED),
            (Some("127.0.0.1:5000"), Some("ctl-token"), StatusCode::OK),
        ];
        for (peer, bearer, expected) in table {
            assert_eq!(status(config.clone(), peer, bearer).await, expected, "peer {peer:?}, bearer {bearer:?}");
        }
    }
}
