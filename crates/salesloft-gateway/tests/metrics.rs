//! `GET /metrics`: client and gateway metrics in the Prometheus text format. One test in this binary: the
//! recorder is process-global.

mod support;

use reqwest::Method;
use salesloft_gateway::GatewayConfig;
use salesloft_testkit::Backend;
use support::{Harness, INTERNAL_OLD};

#[tokio::test]
async fn metrics_show_client_calls_and_gateway_requests_by_route_and_status() {
    let handle = salesloft_gateway::metrics::install();
    let h = Harness::start_with(Backend::Sqlite, |clock| GatewayConfig {
        metrics: Some(handle.clone()),
        ..support::config(clock)
    })
    .await;
    assert_eq!(h.send(h.request(Method::GET, "/v2/me", Some(INTERNAL_OLD))).await.0, 200);
    assert_eq!(h.send(h.request(Method::GET, "/v2/me", Some("wrong"))).await.0, 401);
    assert_eq!(h.deliver("person_updated", b"{}", Some("wrong")).await.0, 401);
    assert_eq!(h.deliver("person_updated", br#"{"id":1,"updated_at":"t"}"#, Some(support::SECRET_OLD)).await.0, 200);
    assert_eq!(h.deliver("person_updated", b"{oops", Some(support::SECRET_OLD)).await.0, 400);
    let upsert = |key: Option<&str>| {
        let builder = h.request(Method::POST, "/api/people/upsert", Some(INTERNAL_OLD));
        let builder = builder.json(&serde_json::json!({"email_address": "metrics@example.com"}));
        match key {
            Some(key) => builder.header("idempotency-key", key),
            None => builder,
        }
    };
    assert_eq!(h.send(upsert(Some("m-1"))).await.0, 201);
    assert_eq!(h.send(upsert(Some("m-1"))).await.0, 201, "replayed");
    assert_eq!(h.send(upsert(None)).await.0, 400);
    h.store.pause().set_paused(true, "test", "drill").await.expect("pause");
    let response = h.request(Method::GET, "/metrics", None).send().await.expect("answers");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/plain")),
        "{:?}",
        response.headers()
    );
    let text = response.text().await.expect("text");
    for expected in [
        r#"gateway_requests_total{route="/v2/{*path}",status="200"} 1"#,
        r#"gateway_requests_total{route="/v2/{*path}",status="401"} 1"#,
        r#"gateway_requests_total{route="/webhooks/salesloft",status="401"} 1"#,
        "gateway_webhook_verification_failures_total 1",
        r#"gateway_webhook_deliveries_total{outcome="new"} 1"#,
        r#"gateway_webhook_deliveries_total{outcome="dead_letter"} 1"#,
        r#"gateway_inbox_deliveries{state="pending"} 1"#,
        r#"gateway_inbox_deliveries{state="dead"} 1"#,
        r#"gateway_inbox_deliveries{state="stale"} 0"#,
        "gateway_inbox_depth 1",
        "gateway_inbox_lag_seconds ",
        "gateway_paused 1",
        r#"gateway_upserts_total{endpoint="people.upsert",outcome="created"} 1"#,
        r#"gateway_upserts_total{endpoint="people.upsert",outcome="replayed"} 1"#,
        r#"gateway_upserts_total{endpoint="people.upsert",outcome="invalid"} 1"#,
        r#"gateway_request_duration_seconds_bucket{route="/v2/{*path}",class="read",le="0.3"}"#,
        r#"salesloft_requests_total{endpoint="gateway.proxy",method="GET",status="200"} 1"#,
        r#"salesloft_request_duration_seconds_bucket{endpoint="gateway.proxy",method="GET",class="read",le="0.3"}"#,
        "# HELP gateway_requests_total",
    ] {
        assert!(text.contains(expected), "expected {expected:?} in:\n{text}");
    }
}
