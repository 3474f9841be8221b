//! Webhooks (FACTS.md §6): subscription CRUD, signed deliveries of the bare resource on every change, and
//! three retries of a failing delivery. A local axum receiver takes the deliveries; the test verifies the
//! signature itself with the `hmac` and `sha1` crates.

mod common;

use std::time::Duration;

use common::{Harness, documented_keys};
use hmac::{Hmac, KeyInit, Mac};
use salesloft_sim::clock::ManualClock;
use salesloft_sim::{SimConfig, Simulator};
use salesloft_testkit::webhooks::WebhookReceiver;
use serde_json::{Value, json};
use sha1::Sha1;

fn hmac_sha1_hex(key: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn subscription_crud_and_enabled_filter() {
    let h = Harness::start().await;
    let missing = h.post("/v2/webhook_subscriptions", json!({})).await.expect(422).json();
    assert_eq!(
        missing,
        json!({"errors":{"callback_url":["is required"],"callback_token":["is required"],"event_type":["is required"]}})
    );
    h.post(
        "/v2/webhook_subscriptions",
        json!({"callback_url":"http://127.0.0.1:9/h","callback_token":"t","event_type":"person.created"}),
    )
    .await
    .expect(422);
    let created = h
        .post(
            "/v2/webhook_subscriptions",
            json!({"callback_url":"http://127.0.0.1:9/h","callback_token":"t","event_type":"person_created"}),
        )
        .await
        .expect(200)
        .json();
    for key in documented_keys("Subscription") {
        assert!(created["data"].get(&key).is_some(), "subscription has {key}");
    }
    let id = created["data"]["id"].as_i64().expect("id");
    assert_eq!(created["data"]["enabled"], true);
    let disabled = h.put(&format!("/v2/webhook_subscriptions/{id}"), json!({"enabled":false})).await.expect(200).json();
    assert_eq!(disabled["data"]["enabled"], false);
    let only_enabled = h.get("/v2/webhook_subscriptions?enabled=true").await.expect(200).json();
    assert_eq!(only_enabled["data"], json!([]));
    let only_disabled = h.get("/v2/webhook_subscriptions?enabled=false").await.expect(200).json();
    assert_eq!(only_disabled["data"][0]["id"], id);
    h.get(&format!("/v2/webhook_subscriptions/{id}")).await.expect(200);
    h.delete(&format!("/v2/webhook_subscriptions/{id}")).await.expect(204);
    h.delete(&format!("/v2/webhook_subscriptions/{id}")).await.expect(204);
    h.get(&format!("/v2/webhook_subscriptions/{id}")).await.expect(404);
}

#[tokio::test]
async fn a_change_is_delivered_as_the_bare_resource_with_a_verifiable_signature() {
    let (h, _clock) = on_manual_clock().await;
    let mut deliveries = WebhookReceiver::failing_first(0).await;
    let url = deliveries.url().to_owned();
    for event in ["person_created", "person_updated", "person_deleted"] {
        h.post(
            "/v2/webhook_subscriptions",
            json!({"callback_url":url,"callback_token":"s3cret-token","event_type":event}),
        )
        .await
        .expect(200);
    }
    let created = h.post("/v2/people", json!({"email_address":"hook@example.com"})).await.expect(200).json();

    let delivery = deliveries.next().await;
    assert_eq!(delivery.event, "person_created");
    assert!(delivery.content_type.starts_with("application/json"));
    let expected = hmac_sha1_hex("s3cret-token", &delivery.body);
    assert_eq!(delivery.signature, expected, "x-salesloft-signature is hex HMAC-SHA1 of the raw body");
    assert_eq!(delivery.signature.len(), 40);
    let payload: Value = serde_json::from_slice(&delivery.body).expect("JSON payload");
    assert_eq!(payload, created["data"], "the payload is the bare resource, no data wrapper");

    let id = created["data"]["id"].as_i64().expect("id");
    h.put(&format!("/v2/people/{id}"), json!({"title":"Boss"})).await.expect(200);
    let updated = deliveries.next().await;
    assert_eq!(updated.event, "person_updated");
    h.delete(&format!("/v2/people/{id}")).await.expect(204);
    let deleted = deliveries.next().await;
    assert_eq!(deleted.event, "person_deleted");
    assert_eq!(hmac_sha1_hex("s3cret-token", &deleted.body), deleted.signature);

    tokio::time::timeout(Duration::from_secs(10), h.sim.wait_for_webhook_attempts(3))
        .await
        .expect("three attempts recorded");
    let stats = h.stats().await;
    assert_eq!(
        (stats["webhook_deliveries"].as_u64(), stats["webhook_failures"].as_u64()),
        (Some(3), Some(0)),
        "{stats}"
    );
}

/// A simulator on a manual clock: its webhook retries wait on that clock (recorded, not slept).
async fn on_manual_clock() -> (Harness, ManualClock) {
    let clock = ManualClock::new();
    let config = SimConfig { listen: "127.0.0.1:0".parse().expect("addr"), ..SimConfig::default() };
    let sim = Simulator::start_with_clock(config, clock.shared()).await.expect("simulator starts");
    (Harness { sim, http: reqwest::Client::builder().no_proxy().build().expect("client") }, clock)
}

#[tokio::test]
async fn a_failing_delivery_is_retried_three_more_times_then_marked_failed() {
    let (h, clock) = on_manual_clock().await;
    let mut deliveries = WebhookReceiver::failing_first(usize::MAX).await;
    let url = deliveries.url().to_owned();
    h.post(
        "/v2/webhook_subscriptions",
        json!({"callback_url":url,"callback_token":"k","event_type":"account_created"}),
    )
    .await
    .expect(200);
    h.post("/v2/accounts", json!({"name":"Hooked","domain":"hooked.example"})).await.expect(200);
    let mut bodies = Vec::new();
    for _ in 0..4 {
        bodies.push(deliveries.next().await.body);
    }
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]), "each retry sends the same body");
    tokio::time::timeout(Duration::from_secs(10), h.sim.wait_for_webhook_attempts(4))
        .await
        .expect("four attempts recorded");
    let log = h.control(reqwest::Method::GET, "/webhooks/deliveries", None).await.expect(200).json();
    let attempts: Vec<(u64, u64)> = log
        .as_array()
        .expect("array")
        .iter()
        .map(|d| (d["attempt"].as_u64().unwrap_or(0), d["status"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(attempts, vec![(1, 500), (2, 500), (3, 500), (4, 500)]);
    assert_eq!(h.stats().await["webhook_failures"], 4);
    let interval = SimConfig::default().webhook_retry_interval;
    assert_eq!(clock.sleeps(), vec![interval; 3], "each retry waits the configured interval on the simulator's clock");
}

#[tokio::test]
async fn a_delivery_that_recovers_stops_retrying_and_disabled_subscriptions_get_nothing() {
    let (h, _clock) = on_manual_clock().await;
    let mut deliveries = WebhookReceiver::failing_first(1).await;
    let url = deliveries.url().to_owned();
    let sub = h
        .post(
            "/v2/webhook_subscriptions",
            json!({"callback_url":url,"callback_token":"k","event_type":"cadence_membership_created"}),
        )
        .await
        .expect(200)
        .json();
    h.post("/v2/cadence_memberships", json!({"person_id":50,"cadence_id":1})).await.expect(200);
    deliveries.next().await;
    deliveries.next().await;
    tokio::time::timeout(Duration::from_secs(10), h.sim.wait_for_webhook_attempts(2)).await.expect("two attempts");
    let log = h.sim.webhook_deliveries();
    assert_eq!(log.iter().map(|d| d.status).collect::<Vec<_>>(), vec![Some(500), Some(200)]);

    let id = sub["data"]["id"].as_i64().expect("id");
    h.put(&format!("/v2/webhook_subscriptions/{id}"), json!({"enabled":false})).await.expect(200);
    h.post("/v2/cadence_memberships", json!({"person_id":51,"cadence_id":1})).await.expect(200);
    // Prove the absence with a later delivery on another subscription: it must be the next one received.
    h.post(
        "/v2/webhook_subscriptions",
        json!({"callback_url":url,"callback_token":"k","event_type":"account_created"}),
    )
    .await
    .expect(200);
    h.post("/v2/accounts", json!({"name":"Later","domain":"later.example"})).await.expect(200);
    assert_eq!(deliveries.next().await.event, "account_created", "nothing was sent to the disabled subscription");
}

#[tokio::test]
async fn an_unreachable_callback_is_a_transport_failure_with_a_null_status() {
    let h = Harness::with(SimConfig { webhook_retries: 0, ..SimConfig::default() }).await;
    // Port 9 (discard) on loopback is closed.
    h.post(
        "/v2/webhook_subscriptions",
        json!({"callback_url":"http://127.0.0.1:9/x","callback_token":"k","event_type":"person_created"}),
    )
    .await
    .expect(200);
    h.post("/v2/people", json!({"email_address":"nowhere@example.com"})).await.expect(200);
    tokio::time::timeout(Duration::from_secs(10), h.sim.wait_for_webhook_attempts(1)).await.expect("one attempt");
    let log = h.control(reqwest::Method::GET, "/webhooks/deliveries", None).await.expect(200).json();
    assert!(log[0]["status"].is_null() && log[0]["error"].is_string(), "{log}");
}
