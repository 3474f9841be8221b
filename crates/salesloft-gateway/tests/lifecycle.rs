//! Starting and stopping: the credentials the gateway refuses to start without, `--insecure-dev`, and
//! `/ready` across serving and draining.

mod support;

use reqwest::Method;
use salesloft_client::clock::ManualClock;
use salesloft_gateway::{Gateway, GatewayConfig, GatewayError, Secrets};
use salesloft_testkit::Backend;
use support::{ADMIN, Harness, INTERNAL_OLD, SECRET_NEW, SECRET_OLD};

fn pipeline() -> salesloft_client::transport::Pipeline {
    salesloft_client::transport::Pipeline::with_api_key("http://127.0.0.1:9/v2", "ak".to_string().into())
        .expect("pipeline")
}

#[tokio::test]
async fn it_refuses_to_start_without_an_internal_token_or_a_webhook_secret_unless_insecure_dev() {
    let dir = tempfile::tempdir().expect("dir");
    let store = salesloft_store::open(&Backend::Sqlite.store_url(dir.path())).await.expect("store");
    let clock = ManualClock::new();
    let cases = [
        (GatewayConfig { internal_tokens: Secrets::default(), ..support::config(&clock) }, "internal token"),
        (GatewayConfig { webhook_secrets: Secrets::default(), ..support::config(&clock) }, "webhook secret"),
    ];
    for (config, missing) in cases {
        match Gateway::new(pipeline(), store.clone(), config) {
            Err(error @ GatewayError::Insecure { .. }) => {
                let text = error.to_string();
                assert!(text.contains(missing) && text.contains("--insecure-dev"), "{text}");
            }
            other => panic!("expected a refusal naming the {missing}, got {other:?}"),
        }
    }
    let same = GatewayConfig { admin_token: Secrets::parse_list(INTERNAL_OLD), ..support::config(&clock) };
    assert!(matches!(Gateway::new(pipeline(), store.clone(), same), Err(GatewayError::Config(_))));
    let dev = GatewayConfig { insecure_dev: true, ..GatewayConfig::default() };
    Gateway::new(pipeline(), store, dev).expect("--insecure-dev starts without credentials");
}

#[tokio::test]
async fn insecure_dev_opens_only_what_has_no_credential() {
    let h = Harness::start_with(Backend::Sqlite, |clock| GatewayConfig {
        insecure_dev: true,
        internal_tokens: Secrets::default(),
        webhook_secrets: Secrets::default(),
        ..support::config(clock)
    })
    .await;
    assert_eq!(h.send(h.request(Method::GET, "/v2/me", None)).await.0, 200, "no internal token: open proxy");
    assert_eq!(h.deliver("person_updated", br#"{"id":1,"updated_at":"t"}"#, None).await.0, 200);
    assert_eq!(h.send(h.request(Method::GET, "/admin/status", None)).await.0, 401, "the admin token still holds");
    assert_eq!(h.send(h.request(Method::GET, "/admin/status", Some(ADMIN))).await.0, 200);
}

#[tokio::test]
async fn ready_only_while_serving_and_a_stop_drains_and_returns() {
    let dir = tempfile::tempdir().expect("dir");
    let store = salesloft_store::open(&Backend::Sqlite.store_url(dir.path())).await.expect("store");
    let gateway = Gateway::new(pipeline(), store, support::config(&ManualClock::new())).expect("gateway");
    assert!(!gateway.is_ready(), "not ready before serving");

    let h = Harness::start(Backend::Sqlite).await;
    let (status, body) = h.send(h.request(Method::GET, "/ready", None)).await;
    assert_eq!((status, body["ready"].as_bool()), (200, Some(true)));
    let gateway = h.gateway.clone();
    let url = h.url.clone();
    h.stop().await.expect("a stop is a clean exit");
    assert!(!gateway.is_ready(), "not ready once draining");
    assert!(reqwest::get(format!("{url}/ready")).await.is_err(), "no new connection after the stop");
}

#[tokio::test]
async fn once_the_rotation_ends_only_the_new_webhook_secret_is_accepted() {
    let h = Harness::start_with(Backend::Sqlite, |clock| GatewayConfig {
        webhook_secrets: Secrets::parse_list(SECRET_NEW),
        ..support::config(clock)
    })
    .await;
    let body = br#"{"id":9,"updated_at":"2026-01-01T00:00:00Z"}"#;
    assert_eq!(h.deliver("person_updated", body, Some(SECRET_OLD)).await.0, 401, "the retired secret");
    assert_eq!(h.deliver("person_updated", body, Some(SECRET_NEW)).await.0, 200);
}

/// A stop while a proxied call is in flight: intake stops at once, the call still gets SalesLoft's answer,
/// and `serve` returns only after it. The upstream is a one-off server that holds the call until released,
/// so the order is forced by signals, not by timing.
#[tokio::test]
async fn a_stop_lets_the_call_in_flight_finish_before_serve_returns() {
    use std::sync::Arc;
    use tokio::sync::{Notify, oneshot};

    let arrived = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let upstream = {
        let (arrived, release) = (arrived.clone(), release.clone());
        axum::Router::new().route(
            "/v2/slow",
            axum::routing::get(move || {
                let (arrived, release) = (arrived.clone(), release.clone());
                async move {
                    arrived.notify_one();
                    release.notified().await;
                    axum::Json(serde_json::json!({"data": "done"}))
                }
            }),
        )
    };
    let upstream_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let upstream_url = format!("http://{}/v2", upstream_listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(upstream_listener, upstream).await });

    let dir = tempfile::tempdir().expect("dir");
    let store = salesloft_store::open(&Backend::Sqlite.store_url(dir.path())).await.expect("store");
    let clock = ManualClock::new();
    let pipeline = salesloft_client::transport::Pipeline::builder(upstream_url)
        .api_key("ak".to_string().into())
        .clock(clock.shared())
        .build()
        .expect("pipeline");
    let gateway = Gateway::new(pipeline, store, support::config(&clock)).expect("gateway");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(gateway.clone().serve(listener, async move {
        let _ = stopped.await;
    }));

    let call = tokio::spawn(reqwest::Client::new().get(format!("{url}/v2/slow")).bearer_auth(INTERNAL_OLD).send());
    arrived.notified().await;
    stop.send(()).expect("the gateway is serving");
    // Intake stops while the call is still held upstream: a new connection is refused or closed unanswered.
    let mut refused = false;
    for _ in 0..1000 {
        if !gateway.is_ready() {
            refused = reqwest::Client::new().get(format!("{url}/ready")).send().await.is_err();
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(!gateway.is_ready() && refused, "draining: not ready, no new connection");
    assert!(!serving.is_finished(), "serve waits for the call in flight");
    release.notify_one();
    let response = call.await.expect("join").expect("the call in flight is answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.expect("json")["data"], "done");
    serving.await.expect("join").expect("a clean stop");
}
