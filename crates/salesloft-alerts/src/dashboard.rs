//! A Grafana dashboard for the SalesLoft egress: responses by status, cost per minute against the budget, p99
//! latency per class against the 300/500 ms baselines (DESIGN.md MON-5), breaker state and inbox depth. Each
//! alert's threshold is drawn where it applies.

use serde_json::{Value, json};

use crate::definition::{REAUTHORIZATION_REQUIRED, Thresholds};

/// The gateway's inbox gauge (`salesloft_gateway::metrics::INBOX_DELIVERIES`; slprod's tests check the two
/// names agree — this crate does not depend on the gateway).
pub const INBOX_DELIVERIES: &str = "gateway_inbox_deliveries";

/// The dashboard JSON, for a Prometheus data source chosen at import (`${DS_PROMETHEUS}`).
/// `budget_per_minute` is `[budget] cost_per_minute` (600 by default).
pub fn render(thresholds: &Thresholds, budget_per_minute: u32) -> Value {
    let panel = |id: u32, title: &str, x: u32, y: u32, unit: &str, targets: Vec<Value>| {
        json!({
            "id": id,
            "type": "timeseries",
            "title": title,
            "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
            "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": targets,
        })
    };
    let target = |ref_id: &str, expr: String, legend: &str| {
        json!({"refId": ref_id, "expr": expr, "legendFormat": legend,
               "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}})
    };
    let p99 = thresholds.p99_latency_ms as f64 / 1000.0;
    json!({
        "title": "SalesLoft egress (salesloft-prod)",
        "uid": "salesloft-prod",
        "tags": ["salesloft"],
        "schemaVersion": 39,
        "editable": true,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                      "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "panels": [
            panel(1, "SalesLoft responses per minute by status (retries included)", 0, 0, "short", vec![
                target("A", "sum by (status) (rate(salesloft_responses_total[5m])) * 60".into(), "{{status}}"),
                target("B", format!("vector({})", thresholds.server_errors_per_minute),
                       "5xx alert threshold (SalesloftServerErrors)"),
                target("C", format!("vector({})", thresholds.rate_limited_per_minute),
                       "429 alert threshold (SalesloftRateLimited)"),
            ]),
            panel(2, "Cost per minute against the team budget", 12, 0, "short", vec![
                target("A", "sum(rate(salesloft_cost_total[5m])) * 60".into(), "cost per minute"),
                target("B", "min(salesloft_ratelimit_remaining)".into(), "remaining this minute (SalesLoft)"),
                target("C", format!("vector({budget_per_minute})"), "budget"),
            ]),
            panel(3, "p99 latency by class against the baselines", 0, 8, "s", vec![
                target("A", "histogram_quantile(0.99, sum by (le, class) \
                             (rate(salesloft_request_duration_seconds_bucket[5m])))".into(), "p99 {{class}}"),
                target("B", format!("vector({})", thresholds.read_baseline_ms as f64 / 1000.0), "read baseline"),
                target("C", format!("vector({})", thresholds.write_baseline_ms as f64 / 1000.0), "write baseline"),
                target("D", format!("vector({p99})"), "alert threshold (SalesloftLatencyP99High)"),
            ]),
            panel(4, "Circuit breaker (0 closed, 1 half-open, 2 open)", 12, 8, "short", vec![
                target("A", "max(salesloft_circuit_state)".into(), "breaker"),
            ]),
            panel(5, "Webhook inbox depth", 0, 16, "short", vec![
                target("A", format!("max by (state) ({INBOX_DELIVERIES}{{state=~\"pending|processing|dead\"}})"),
                       "{{state}}"),
            ]),
            panel(6, "Authentication failures by kind", 12, 16, "short", vec![
                target("A", "sum by (kind) (increase(salesloft_auth_failures_total[5m]))".into(), "{{kind}}"),
                target("B", format!("max({REAUTHORIZATION_REQUIRED})"), "needs re-authorisation (slprod auth login)"),
            ]),
        ],
    })
}
