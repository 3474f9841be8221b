//! The dispatcher's counters: every outcome of an attempt is counted (`handed_on`, `dead`, `stale`). One test
//! in this binary: the recorder is process-global. (The depth and lag gauges are checked in `metrics.rs`.)

mod support;

use salesloft_gateway::{DispatchConfig, GatewayConfig, Subscriber};
use salesloft_testkit::Backend;
use salesloft_testkit::webhooks::WebhookReceiver;
use support::Harness;

#[tokio::test]
async fn dispatch_outcomes_are_counted() {
    let handle = salesloft_gateway::metrics::install();
    // Fails the first POST; with one attempt allowed that delivery is dead at once.
    let mut receiver = WebhookReceiver::failing_first(1).await;
    let subscriber = Subscriber::new(receiver.url(), "whsec_c2VjcmV0").expect("subscriber");
    let h = Harness::start_with(Backend::Sqlite, |clock| GatewayConfig {
        metrics: Some(handle.clone()),
        dispatch: DispatchConfig {
            subscribers: vec![subscriber],
            workers: 1,
            max_attempts: 1,
            ..DispatchConfig::default()
        },
        ..support::config(clock)
    })
    .await;
    let secret = Some(support::SECRET_OLD);
    for body in [
        r#"{"id":9,"updated_at":"2026-01-01T00:00:00Z"}"#,
        r#"{"id":5,"updated_at":"2026-01-02T00:00:00Z"}"#,
        r#"{"id":5,"updated_at":"2026-01-01T00:00:00Z"}"#,
        r#"{"id":5,"updated_at":"2026-01-03T00:00:00Z"}"#,
    ] {
        assert_eq!(h.deliver("person_updated", body.as_bytes(), secret).await.0, 200);
    }
    for _ in 0..3 {
        receiver.next().await;
    }
    // A stop finishes the delivery in hand, so every outcome is counted when it returns.
    h.stop().await.expect("a clean stop");
    let text = handle.render();
    for expected in [
        r#"gateway_webhook_dispatch_total{outcome="dead"} 1"#,
        r#"gateway_webhook_dispatch_total{outcome="handed_on"} 2"#,
        r#"gateway_webhook_dispatch_total{outcome="stale"} 1"#,
        "# HELP gateway_webhook_dispatch_total",
        "# HELP gateway_inbox_lag_seconds",
    ] {
        assert!(text.contains(expected), "expected {expected:?} in:\n{text}");
    }
}
