//! `GET /metrics`: the Prometheus text format of every client metric (`salesloft_*`, see
//! `salesloft_client::transport::telemetry`: every response by status, retries included, latency buckets at
//! 0.3 s and 0.5 s) and the gateway's own (`gateway_*`).
//!
//! The recorder is process-global: [`install`] installs it once and hands the same handle to every caller.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use salesloft_client::transport::telemetry::{LATENCY_BUCKETS, REQUEST_DURATION_SECONDS};

use crate::Shared;

/// Requests the gateway answered, by `route` (the matched route pattern) and `status`.
pub const GATEWAY_REQUESTS_TOTAL: &str = "gateway_requests_total";
/// Time to answer a request, by `route`.
pub const GATEWAY_REQUEST_DURATION_SECONDS: &str = "gateway_request_duration_seconds";
/// Webhook deliveries refused for a missing or wrong signature.
pub const WEBHOOK_VERIFICATION_FAILURES_TOTAL: &str = "gateway_webhook_verification_failures_total";
/// Webhook deliveries stored (`outcome` = `new`, `duplicate`, `dead_letter`).
pub const WEBHOOK_DELIVERIES_TOTAL: &str = "gateway_webhook_deliveries_total";
/// Requests to the idempotent `/api/` endpoints by `endpoint` (`people.upsert`, `cadence_memberships.create`)
/// and `outcome`: `created`, `updated`, `unchanged`, `reconciled`, `replayed`, `refused` (SalesLoft's 422/409),
/// `conflict`, `in_progress`, `invalid`, `unauthorized`, `paused`, `transient`, `store_failed`, `error`.
pub const UPSERTS_TOTAL: &str = "gateway_upserts_total";
/// Mutations refused because the pause switch is on.
pub const PAUSED_REFUSALS_TOTAL: &str = "gateway_paused_refusals_total";
/// Audit records that could not be written (each one is also logged at error level).
pub const AUDIT_FAILURES_TOTAL: &str = "gateway_audit_failures_total";
/// 1 while the store's pause switch is on, 0 when off (read at each scrape; absent if the store is down).
pub const PAUSED: &str = "gateway_paused";
/// Webhook deliveries in the store's inbox by `state` (`pending`, `processing`, `processed`, `dead`, `stale`),
/// read at each scrape: the whole store's, so every replica reports the same figures.
pub const INBOX_DELIVERIES: &str = "gateway_inbox_deliveries";
/// Webhook deliveries the dispatcher finished an attempt of, by `outcome`: `handed_on` (every handler took
/// it), `failed` (to be retried), `dead` (gave up after `max_attempts`), `stale` (older than what was handed
/// on for its resource; not handed on).
pub const WEBHOOK_DISPATCH_TOTAL: &str = "gateway_webhook_dispatch_total";
/// Webhook deliveries not yet handed on (pending or processing), the whole store's.
pub const INBOX_DEPTH: &str = "gateway_inbox_depth";
/// Age in seconds of the oldest webhook delivery not yet handed on (0 when none): the dispatcher's lag.
pub const INBOX_LAG_SECONDS: &str = "gateway_inbox_lag_seconds";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (client latency buckets included) on the first call and
/// returns its handle; later calls return the same handle. If another recorder was installed first, the
/// handle renders nothing but the call still succeeds.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            // Histograms (not summaries) with the client's buckets, 0.3 s and 0.5 s included (DESIGN.md).
            let builder = [REQUEST_DURATION_SECONDS, GATEWAY_REQUEST_DURATION_SECONDS].into_iter().fold(
                PrometheusBuilder::new(),
                |builder, name| match builder.set_buckets_for_metric(Matcher::Full(name.into()), LATENCY_BUCKETS) {
                    Ok(builder) => builder,
                    Err(_) => PrometheusBuilder::new(),
                },
            );
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics renders only this one's");
            }
            salesloft_client::transport::telemetry::describe_metrics();
            handle
        })
        .clone()
}

/// Describes the gateway's metrics (help text); harmless to call more than once.
pub fn describe() {
    metrics::describe_counter!(GATEWAY_REQUESTS_TOTAL, "Requests the gateway answered, by route and status");
    metrics::describe_histogram!(
        GATEWAY_REQUEST_DURATION_SECONDS,
        "Time the gateway took to answer, by route and class (read/write)"
    );
    metrics::describe_counter!(WEBHOOK_VERIFICATION_FAILURES_TOTAL, "Webhooks refused for a bad or missing signature");
    metrics::describe_counter!(WEBHOOK_DELIVERIES_TOTAL, "Webhook deliveries stored, by outcome");
    metrics::describe_counter!(UPSERTS_TOTAL, "Idempotent /api/ requests, by endpoint and outcome");
    metrics::describe_counter!(PAUSED_REFUSALS_TOTAL, "Mutations refused while paused");
    metrics::describe_counter!(AUDIT_FAILURES_TOTAL, "Audit records that could not be written");
    metrics::describe_gauge!(PAUSED, "1 while the pause switch is on");
    metrics::describe_gauge!(INBOX_DELIVERIES, "Webhook deliveries in the inbox, by state");
    metrics::describe_counter!(WEBHOOK_DISPATCH_TOTAL, "Webhook delivery attempts the dispatcher finished, by outcome");
    metrics::describe_gauge!(INBOX_DEPTH, "Webhook deliveries not yet handed on");
    metrics::describe_gauge!(INBOX_LAG_SECONDS, "Age of the oldest webhook delivery not yet handed on, in seconds");
}

/// Counts every answer by route pattern and status (middleware).
pub(crate) async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let class = salesloft_client::transport::telemetry::latency_class(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(GATEWAY_REQUESTS_TOTAL, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!(GATEWAY_REQUEST_DURATION_SECONDS, "route" => route, "class" => class)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`.
pub(crate) async fn render(State(shared): State<Arc<Shared>>) -> Response {
    match &shared.config.metrics {
        Some(handle) => {
            record_store_gauges(&shared).await;
            ([(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response()
        }
        None => crate::respond::error(StatusCode::SERVICE_UNAVAILABLE, "no metrics recorder installed"),
    }
}

/// Sets the gauges read from the store (pause switch, inbox by state); a store that does not answer leaves
/// them as they were and is reported by `/health`.
async fn record_store_gauges(shared: &Shared) {
    if let Ok(paused) = shared.store.pause().paused().await {
        metrics::gauge!(PAUSED).set(if paused.is_some() { 1.0 } else { 0.0 });
    }
    if let Ok(counts) = shared.store.inbox().counts().await {
        for (state, n) in [
            ("pending", counts.pending),
            ("processing", counts.processing),
            ("processed", counts.processed),
            ("dead", counts.dead),
            ("stale", counts.stale),
        ] {
            metrics::gauge!(INBOX_DELIVERIES, "state" => state).set(n as f64);
        }
    }
    crate::dispatch::record_inbox_gauges(&shared.store).await;
}
