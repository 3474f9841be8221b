//! The admin endpoints, for the admin token only (the internal tokens are refused here, and the admin token
//! on the proxy): `POST /admin/pause` with `{"reason": …}` (and optionally `"by"`), `POST /admin/resume`,
//! `GET /admin/status` (pause switch, breaker, the team's shared budget used and left this window, this
//! replica's own budget estimate, inbox counts, each sync job's last run, version). The pause switch lives in the store (DESIGN.md "Pause switch"), so it holds for
//! every replica sharing the store and for `slprod push`; the proxy reads it on every mutation.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::health::circuit_name;
use crate::{Shared, respond};

/// The body of `POST /admin/pause`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseRequest {
    /// Why (shown to every refused caller).
    pub reason: String,
    /// Who (default `admin`).
    #[serde(default)]
    pub by: Option<String>,
}

/// `Some(answer)` when the caller is not the admin.
fn refuse_unless_admin(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let admin = &shared.config.admin_token;
    if shared.config.insecure_dev && admin.is_empty() {
        return None;
    }
    match crate::auth::bearer(headers) {
        Some(token) if admin.contains(token) => None,
        _ => Some(respond::unauthorized()),
    }
}

/// `POST /admin/pause`.
pub(crate) async fn pause(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = refuse_unless_admin(&shared, &headers) {
        return refused;
    }
    let request: PauseRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return respond::error(StatusCode::BAD_REQUEST, format!("expected {{\"reason\": \"…\"}}: {error}"));
        }
    };
    let reason = request.reason.trim();
    if reason.is_empty() {
        return respond::error(StatusCode::BAD_REQUEST, "a reason is required");
    }
    let by = request.by.as_deref().map(str::trim).filter(|b| !b.is_empty()).unwrap_or("admin");
    match shared.store.pause().set_paused(true, by, reason).await {
        Ok(()) => {
            tracing::warn!(by, reason, "paused: mutations are refused by every replica sharing the store");
            respond::json(StatusCode::OK, json!({"paused": true, "by": by, "reason": reason}))
        }
        Err(error) => {
            tracing::error!(%error, "cannot set the pause switch");
            respond::error(StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable; not paused")
        }
    }
}

/// `POST /admin/resume`.
pub(crate) async fn resume(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(refused) = refuse_unless_admin(&shared, &headers) {
        return refused;
    }
    match shared.store.pause().set_paused(false, "", "").await {
        Ok(()) => {
            tracing::info!("resumed: mutations flow again");
            respond::json(StatusCode::OK, json!({"paused": false}))
        }
        Err(error) => {
            tracing::error!(%error, "cannot lift the pause switch");
            respond::error(StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable; still paused")
        }
    }
}

/// `GET /admin/status`: pause switch, breaker, this replica's budget estimate, inbox counts and lag, version.
pub(crate) async fn status(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(refused) = refuse_unless_admin(&shared, &headers) {
        return refused;
    }
    let paused = match shared.store.pause().paused().await {
        Ok(paused) => paused,
        Err(error) => {
            tracing::error!(%error, "cannot read the pause switch");
            return respond::error(StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable");
        }
    };
    let inbox = shared.store.inbox().counts().await.ok();
    // The dispatcher's lag: how long the oldest delivery not yet handed on has waited.
    let oldest_open = shared.store.inbox().oldest_open_received_at().await.ok().flatten();
    let lag_secs = oldest_open.map_or(0, |at| (shared.store.now() - at).whole_seconds().max(0));
    let team_budget = match &shared.config.team_budget {
        Some(team) => match shared.store.budget().current(&team.team, team.window).await {
            Ok((window_start, spent)) => json!({
                "limit": team.limit,
                "spent": spent,
                "left": (i64::from(team.limit) - spent).max(0),
                "window_start_unix": window_start.unix_timestamp(),
                "resets_in_secs": (window_start + team.window - shared.store.now()).whole_seconds().max(0),
            }),
            Err(error) => {
                tracing::warn!(%error, "cannot read the shared budget");
                json!(null)
            }
        },
        None => json!(null),
    };
    // Each job's last run, from the store (any replica may have run it); null for a job that never ran.
    let mut jobs = serde_json::Map::new();
    for name in &shared.config.jobs {
        let key = salesloft_store::checkpoints::job_run_name(name);
        let record = shared.store.checkpoints().get(&key).await.unwrap_or_else(|error| {
            tracing::warn!(%error, job = %name, "cannot read the job's last run");
            None
        });
        jobs.insert(name.clone(), record.unwrap_or(serde_json::Value::Null));
    }
    let state = shared.pipeline.state();
    respond::json(
        StatusCode::OK,
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "paused": paused.as_ref().map(respond::pause_info),
            "breaker": circuit_name(state.circuit),
            "team_budget": team_budget,
            "budget": {
                "limit": state.budget.limit,
                "remaining": state.budget.remaining,
                "in_flight": state.budget.in_flight,
                "resets_in_secs": state.budget.resets_in.as_secs(),
                "last_reported_remaining": state.budget.last_reported_remaining,
            },
            "jobs": jobs,
            "inbox": inbox.map(|c| json!({
                "pending": c.pending, "processing": c.processing, "processed": c.processed, "dead": c.dead,
                "stale": c.stale, "lag_secs": lag_secs,
            })),
        }),
    )
}
