//! The HTTP front: the router and the per-request pipeline for `/v2` and `/oauth`.
//!
//! Order of the pipeline, outermost first: outage window (`/v2` only) → scripted faults (latency, status,
//! dropped connection) → bearer auth (401) → cost budget (429, rate headers) → body parsing → the resource
//! handler (after bulk jobs caught up with the clock) → webhook dispatch → stats and request log. Faults come before auth because they stand for
//! failures in front of SalesLoft's application (load balancer, network), which carry no rate headers.
//!
//! Connections are served by [`serve`]: HTTP/1.1 with a header read timeout and, for bodies, a body read
//! timeout (both [`crate::SimConfig::read_timeout`]), so a slow or silent client cannot hold a connection;
//! each request carries the peer address for the control API's loopback check.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::body::Params;
use crate::bulk;
use crate::clock::{Micros, format_timestamp};
use crate::control;
use crate::errors::{ApiError, error_response, json_response};
use crate::faults::FaultResponse;
use crate::oauth::Authenticated;
use crate::query::{Query, page_number};
use crate::rate_limit::Decision;
use crate::records::Render;
use crate::routes::{self, ApiRequest, Ctx};
use crate::state::Shared;
use crate::stats::{AuthKind, RequestRecord, redact_query, truncate_for_log};
use crate::webhooks;

/// FACTS.md §1.5: the exact body for a request without a bearer token.
pub const MISSING_TOKEN_MESSAGE: &str =
    "No Bearer Token attached to request, please see documentation at developers.salesloft.com";

/// The simulator's router.
pub fn router(shared: Arc<Shared>) -> Router {
    let control =
        control::router().route_layer(axum::middleware::from_fn_with_state(Arc::clone(&shared), control::guard));
    Router::new().nest("/__sim", control).fallback(entry).with_state(shared)
}

/// Accepts connections on `listener` and serves `app` on each until `stop` resolves, then lets open
/// connections finish. A connection whose request header does not arrive within `read_timeout` is closed.
/// After a failed accept it backs off on `shared`'s clock.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shared: Arc<Shared>,
    read_timeout: Duration,
    stop: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Out of file descriptors and the like: back off a little instead of spinning.
                    tracing::warn!(%error, "simulator could not accept a connection");
                    shared.clock.sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
            request
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(read_timeout);
        let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(%error, "simulator connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// What the request log needs, filled in along the pipeline.
struct Trace {
    cost: u32,
    auth: AuthKind,
    rate_limited: bool,
}

async fn entry(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let is_api = path == "/v2" || path.starts_with("/v2/");
    let is_oauth = path.starts_with("/oauth/");
    if !is_api && !is_oauth {
        return error_response(StatusCode::NOT_FOUND, "Not Found");
    }
    let raw_query = parts.uri.query().map(str::to_owned);
    let page = page_number(raw_query.as_deref());
    let mut trace = Trace { cost: 0, auth: AuthKind::None, rate_limited: false };

    let outage = if is_api { shared.faults.outage(shared.clock.now_micros()) } else { None };
    let response = match outage {
        Some(status) => status_response(status, None, None),
        None => {
            let action = shared.faults.next(parts.method.as_str(), &path);
            if let Some(latency) = action.latency {
                shared.clock.sleep(latency).await;
            }
            match action.respond {
                Some(FaultResponse::Drop) => {
                    finish(&shared, &parts, raw_query.as_deref(), page, 0, &trace);
                    return dropped_connection();
                }
                Some(FaultResponse::DropAfter) => {
                    let served = if is_api {
                        serve_api(&shared, &parts, body, raw_query.as_deref(), page, &mut trace).await
                    } else {
                        serve_oauth(&shared, &parts, body, raw_query.as_deref()).await
                    };
                    finish(&shared, &parts, raw_query.as_deref(), page, served.status().as_u16(), &trace);
                    return dropped_connection();
                }
                Some(FaultResponse::Status { status, retry_after, body }) => status_response(status, retry_after, body),
                None if is_api => serve_api(&shared, &parts, body, raw_query.as_deref(), page, &mut trace).await,
                None => serve_oauth(&shared, &parts, body, raw_query.as_deref()).await,
            }
        }
    };
    finish(&shared, &parts, raw_query.as_deref(), page, response.status().as_u16(), &trace);
    response
}

fn finish(shared: &Shared, parts: &Parts, raw_query: Option<&str>, page: u64, status: u16, trace: &Trace) {
    let record = RequestRecord {
        method: truncate_for_log(parts.method.as_str()),
        path: truncate_for_log(parts.uri.path()),
        query: truncate_for_log(&redact_query(raw_query)),
        status,
        cost: trace.cost,
        page,
        at: format_timestamp(shared.clock.now_micros(), 0),
        auth: trace.auth,
    };
    let route = routes::route_label(&parts.method, parts.uri.path());
    shared.recorder.record(route, record, trace.rate_limited, shared.config.request_log_capacity);
}

async fn serve_api(
    shared: &Arc<Shared>,
    parts: &Parts,
    body: Body,
    raw_query: Option<&str>,
    page: u64,
    trace: &mut Trace,
) -> Response {
    let now = shared.clock.now_micros();
    let authorization = parts.headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok());
    let user_id = match shared.oauth.authenticate(authorization, now) {
        Authenticated::Ok { kind, user_id } => {
            trace.auth = kind;
            user_id
        }
        Authenticated::Missing => {
            trace.auth = AuthKind::None;
            return error_response(StatusCode::UNAUTHORIZED, MISSING_TOKEN_MESSAGE);
        }
        Authenticated::Invalid => {
            trace.auth = AuthKind::Invalid;
            return error_response(StatusCode::UNAUTHORIZED, &shared.config.invalid_token_message);
        }
    };

    let cost = routes::cost(&shared.config, parts.uri.path(), page);
    trace.cost = cost;
    let remaining = match shared.rate.charge(now, cost, shared.budget()) {
        Decision::Allowed { remaining, .. } => remaining,
        Decision::Limited { remaining, retry_after_secs, .. } => {
            trace.rate_limited = true;
            let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, &shared.config.rate_limited_message);
            rate_headers(response.headers_mut(), cost, remaining);
            if shared.config.send_retry_after {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            return response;
        }
    };

    let mut response = match read_params(shared, parts, body).await {
        Err(error) => error.into_response(),
        Ok(params) => match routes::segments(parts.uri.path()) {
            None => ApiError::NotFound.into_response(),
            Some(segments) => {
                // Bulk jobs progress with the clock: apply what is due before serving, so every request sees
                // the state as of now.
                bulk::catch_up(shared);
                let query = Query::parse(raw_query);
                let ctx = Ctx {
                    config: &shared.config,
                    render: Render { base: &shared.base_url, offset_minutes: shared.config.utc_offset_minutes },
                    now,
                    user_id,
                    query: &query,
                };
                let outcome =
                    routes::handle(&shared.data, &ctx, ApiRequest { method: &parts.method, segments, params });
                webhooks::dispatch(shared, outcome.events);
                if routes::may_start_bulk_job(&parts.method, parts.uri.path()) {
                    bulk::wake(shared);
                }
                outcome.response
            }
        },
    };
    rate_headers(response.headers_mut(), cost, remaining);
    response
}

/// Reads and parses the body of a write; reads nothing for other methods.
async fn read_params(shared: &Shared, parts: &Parts, body: Body) -> Result<Params, ApiError> {
    if !routes::is_write(&parts.method) {
        return Ok(Params::default());
    }
    let bytes = read_body(body, shared.config.max_body_bytes, shared.config.read_timeout).await?;
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    Params::parse(content_type, &bytes)
}

async fn read_body(body: Body, limit: usize, timeout: Duration) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(read) => read.map_err(|_| ApiError::PayloadTooLarge),
        Err(_) => Err(ApiError::RequestTimeout),
    }
}

/// FACTS.md §2.3: the two documented headers on every response that passed auth.
fn rate_headers(headers: &mut HeaderMap, cost: u32, remaining: u64) {
    headers.insert("x-ratelimit-endpoint-cost", HeaderValue::from(cost));
    headers.insert("x-ratelimit-remaining-minute", HeaderValue::from(remaining));
}

async fn serve_oauth(shared: &Arc<Shared>, parts: &Parts, body: Body, raw_query: Option<&str>) -> Response {
    let now: Micros = shared.clock.now_micros();
    match (parts.method.clone(), parts.uri.path()) {
        (Method::GET, "/oauth/authorize") => {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_str(raw_query.unwrap_or_default()).unwrap_or_default();
            match shared.oauth.authorize(&shared.config, &Params::from_pairs(pairs), now) {
                Ok(location) => {
                    let mut response = Response::new(Body::empty());
                    *response.status_mut() = StatusCode::FOUND;
                    match HeaderValue::from_str(&location) {
                        Ok(value) => {
                            response.headers_mut().insert(header::LOCATION, value);
                            response
                        }
                        Err(_) => error_response(StatusCode::BAD_REQUEST, "invalid_redirect_uri"),
                    }
                }
                Err((status, body)) => json_response(status, body.to_string()),
            }
        }
        (Method::POST, "/oauth/token") => {
            let bytes = match read_body(body, shared.config.max_body_bytes, shared.config.read_timeout).await {
                Ok(bytes) => bytes,
                Err(error) => return error.into_response(),
            };
            let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
            let Ok(params) = Params::parse(content_type, &bytes) else {
                let body = serde_json::json!({"error": "invalid_request", "error_description": "The request body could not be parsed."});
                return json_response(StatusCode::BAD_REQUEST, body.to_string());
            };
            let answer = shared.oauth.token(&shared.config, &parts.headers, &params, now);
            shared.recorder.bump(|stats| {
                stats.tokens_issued += u64::from(answer.issued);
                stats.refreshes += u64::from(answer.refreshed);
                stats.revoked_refresh_presented += u64::from(answer.revoked_refresh);
            });
            let mut response = json_response(answer.status, answer.body.to_string());
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        _ => error_response(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// A scripted status answer: the given body, or `{"error": "<reason phrase>"}`.
fn status_response(status: u16, retry_after: Option<String>, body: Option<serde_json::Value>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut response = match body {
        Some(body) => json_response(status, body.to_string()),
        None => error_response(status, status.canonical_reason().unwrap_or("Error")),
    };
    if let Some(value) = retry_after.and_then(|text| HeaderValue::from_str(&text).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A response whose body fails at once. hyper writes the head together with the first body bytes, so it
/// closes the connection without sending anything: curl says "Empty reply from server" and reqwest's
/// `send()` fails with a transport error.
fn dropped_connection() -> Response {
    let failing =
        futures::stream::once(async { Err::<Bytes, std::io::Error>(std::io::Error::other("dropped by fault rule")) });
    let mut response = Response::new(Body::from_stream(failing));
    response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from_static("1024"));
    response
}
