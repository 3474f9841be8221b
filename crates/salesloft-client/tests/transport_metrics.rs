//! The metrics the pipeline exports, rendered by a Prometheus recorder installed with the crate's
//! [`LATENCY_BUCKETS`]. One test per binary: the recorder is process-global.

mod support;

use http::Method;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use salesloft_client::transport::ApiRequest;
use salesloft_client::transport::telemetry::{LATENCY_BUCKETS, REQUEST_DURATION_SECONDS, describe_metrics};
use salesloft_sim::{SimConfig, Simulator};
use serde_json::json;

#[tokio::test]
async fn requests_latency_retries_cost_budget_and_breaker_are_exported() {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION_SECONDS.to_string()), LATENCY_BUCKETS)
        .expect("buckets")
        .install_recorder()
        .expect("recorder");
    describe_metrics();

    let sim = Simulator::start(SimConfig { seed_people: 10, ..SimConfig::default() }).await.expect("sim");
    let pipeline = support::api_key_pipeline(&sim);
    support::add_fault(&sim, json!({"method": "GET", "path": "/v2/people", "sequence": [{"status": 503}]})).await;
    pipeline.execute(ApiRequest::new("people.list", Method::GET, "people")).await.expect("retried");
    pipeline.execute(ApiRequest::new("people.get", Method::GET, "people/999999999")).await.expect_err("404");

    let text = handle.render();
    for expected in [
        r#"salesloft_requests_total{endpoint="people.list",method="GET",status="200"} 1"#,
        r#"salesloft_requests_total{endpoint="people.get",method="GET",status="404"} 1"#,
        r#"salesloft_request_duration_seconds_bucket{endpoint="people.list",method="GET",class="read",le="0.3"}"#,
        r#"salesloft_request_duration_seconds_bucket{endpoint="people.list",method="GET",class="read",le="0.5"}"#,
        r#"salesloft_retries_total{endpoint="people.list",reason="server_error"} 1"#,
        r#"salesloft_cost_total{endpoint="people.list"} 1"#,
        r#"salesloft_ratelimit_endpoint_cost{endpoint="people.list"} 1"#,
        "salesloft_ratelimit_remaining 59",
        "salesloft_circuit_state 0",
        "# HELP salesloft_requests_total",
    ] {
        assert!(text.contains(expected), "expected {expected:?} in the exported metrics:\n{text}");
    }
}
