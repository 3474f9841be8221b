//! `GET /health` and `GET /ready`.
//!
//! `/health` answers whether the gateway can do its job: SalesLoft reachable (a `GET /me` through the full
//! pipeline, with its latency), the store answering, the breaker not open; it also shows the pause switch
//! (paused is not unhealthy: reads and webhook intake go on). The `/me` probe is cached for
//! `gateway.health_cache_secs` ([`HealthCache`]) and concurrent probes share one call, so load balancers and
//! monitors polling `/health` cannot spend the team's budget (FACTS.md §2.1: `/me` costs 1 like any request).
//! So `/health` turns 503 within `health_cache_secs` of SalesLoft going down. 200 when healthy, 503 with the
//! reasons when not.
//!
//! `/ready` is for load balancers: 200 while serving, 503 before serving starts and while draining.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use http::{Method, StatusCode};
use salesloft_client::clock::{ClockInstant, SharedClock};
use salesloft_client::transport::{ApiRequest, CircuitState, Pipeline};
use serde::Serialize;
use serde_json::json;

use crate::{Shared, respond};

/// The outcome of one `GET /me` probe.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// SalesLoft answered 2xx.
    pub connected: bool,
    /// Time the probe took, in milliseconds (on the gateway's clock).
    pub latency_ms: u64,
    /// What went wrong, when not connected (redacted by the client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the probe ran, on the gateway's clock.
    #[serde(skip)]
    pub at: ClockInstant,
}

/// A `GET /me` probe reused for `ttl`; concurrent callers wait for one probe instead of sending their own.
#[derive(Debug)]
pub struct HealthCache {
    ttl: Duration,
    clock: SharedClock,
    last: tokio::sync::Mutex<Option<Probe>>,
}

impl HealthCache {
    /// A cache whose probes live `ttl` on `clock`.
    pub fn new(ttl: Duration, clock: SharedClock) -> Self {
        Self { ttl, clock, last: tokio::sync::Mutex::new(None) }
    }

    /// The cached probe while younger than the ttl, else a fresh one through `pipeline`. Also returns the
    /// probe's age.
    pub async fn probe(&self, pipeline: &Pipeline) -> (Probe, Duration) {
        let mut last = self.last.lock().await;
        let now = self.clock.now();
        if let Some(probe) = last.as_ref() {
            let age = now.saturating_sub(probe.at);
            if age < self.ttl {
                return (probe.clone(), age);
            }
        }
        let started = self.clock.now();
        let result = pipeline.execute(ApiRequest::new("health.me", Method::GET, "me")).await;
        let at = self.clock.now();
        let latency_ms = u64::try_from(at.saturating_sub(started).as_millis()).unwrap_or(u64::MAX);
        let probe = match result {
            Ok(_) => Probe { connected: true, latency_ms, error: None, at },
            Err(error) => Probe { connected: false, latency_ms, error: Some(error.to_string()), at },
        };
        *last = Some(probe.clone());
        (probe, Duration::ZERO)
    }
}

/// The breaker state as text.
pub fn circuit_name(state: CircuitState) -> &'static str {
    match state {
        CircuitState::Closed => "closed",
        CircuitState::HalfOpen => "half_open",
        CircuitState::Open => "open",
    }
}

/// `GET /health`.
pub(crate) async fn health(State(shared): State<Arc<Shared>>) -> Response {
    let (probe, age) = shared.health.probe(&shared.pipeline).await;
    let mut reasons = Vec::new();
    if !probe.connected {
        reasons.push(format!("SalesLoft unreachable: {}", probe.error.as_deref().unwrap_or("no answer")));
    }
    let (store_ok, paused) = match shared.store.pause().paused().await {
        Ok(paused) => (true, paused),
        Err(error) => {
            tracing::warn!(%error, "health: the store does not answer");
            reasons.push("store unavailable".to_string());
            (false, None)
        }
    };
    let state = shared.pipeline.state();
    let circuit = state.circuit;
    if circuit == CircuitState::Open {
        reasons.push("circuit breaker open: calls to SalesLoft fail fast".to_string());
    }
    if state.needs_reauthorization {
        reasons.push(
            "the OAuth connection needs reauthorization: SalesLoft refused its refresh token; run `slprod auth login`"
                .to_string(),
        );
    }
    let healthy = reasons.is_empty();
    let body = json!({
        "status": if healthy { "ok" } else { "degraded" },
        "reasons": reasons,
        "salesloft": {
            "connected": probe.connected,
            "latency_ms": probe.latency_ms,
            "error": probe.error,
            "checked_secs_ago": age.as_secs(),
        },
        "store": {"ok": store_ok},
        "breaker": circuit_name(circuit),
        // The access token's expiry (OAuth only; an expired one is refreshed by the next call).
        "token": state.token_expiry.map(|(expires_at, expires_in_secs)| json!({
            "expires_at": time::OffsetDateTime::from_unix_timestamp(i64::try_from(expires_at).unwrap_or(i64::MAX))
                .ok()
                .and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok()),
            "expires_in_secs": expires_in_secs,
        })),
        "paused": paused.as_ref().map(respond::pause_info),
        "oauth": {"needs_reauthorization": state.needs_reauthorization},
    });
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    respond::json(status, body)
}

/// `GET /live`: 200 while the process serves HTTP, whatever SalesLoft's state. For liveness probes: a probe
/// on `/health` would restart every replica during a SalesLoft outage and drop the webhook intake with them.
pub(crate) async fn live() -> Response {
    respond::json(StatusCode::OK, json!({"live": true}))
}

/// `GET /ready`.
pub(crate) async fn ready(State(shared): State<Arc<Shared>>) -> Response {
    if shared.ready.load(Ordering::SeqCst) {
        respond::json(StatusCode::OK, json!({"ready": true}))
    } else {
        respond::json(StatusCode::SERVICE_UNAVAILABLE, json!({"ready": false, "reason": "starting or draining"}))
    }
}
