//! Scripted faults through `/__sim/faults` and `/__sim/outage` (docs/simulator.md).

mod common;

use std::time::Duration;

use common::Harness;
use reqwest::Method;
use salesloft_sim::clock::ManualClock;
use salesloft_sim::{SimConfig, Simulator};
use serde_json::json;

#[tokio::test]
async fn a_status_sequence_is_served_in_order_then_the_route_recovers() {
    let h = Harness::start().await;
    let rule = json!({"method":"GET","path":"/v2/people","sequence":[
        {"status":503},
        {"status":429,"retry_after":"2"},
        {"status":500,"body":{"error":"boom","status":500}}
    ]});
    let id = h.control(Method::POST, "/faults", Some(rule)).await.expect(200).json();
    assert!(id["id"].as_u64().is_some(), "rule id: {id}");

    let first = h.get("/v2/people.json").await.expect(503);
    assert_eq!(first.json(), json!({"error":"Service Unavailable"}));
    assert!(first.header("x-ratelimit-remaining-minute").is_none(), "injected faults carry no rate headers");
    h.get("/v2/me").await.expect(200); // other routes are untouched
    let second = h.get("/v2/people/5").await.expect(429); // prefix match
    assert_eq!(second.header("retry-after"), Some("2"));
    assert_eq!(h.get("/v2/people?per_page=1").await.expect(500).json(), json!({"error":"boom","status":500}));
    h.get("/v2/people").await.expect(200);
    h.post("/v2/people", json!({"email_address":"fault@example.com"})).await.expect(200);
}

#[tokio::test]
async fn a_drop_step_makes_reqwest_see_a_transport_error() {
    let h = Harness::start().await;
    h.control(Method::POST, "/faults", Some(json!({"method":"*","path":"/v2/me","sequence":[{"drop":true}]})))
        .await
        .expect(200);
    let sent = h.http.get(h.url("/v2/me")).bearer_auth(h.sim.api_key()).send().await;
    let error = match sent {
        Err(error) => error,
        Ok(response) => panic!("expected send() to fail on a dropped connection, got {}", response.status()),
    };
    assert!(!error.is_status(), "not an HTTP status error: {error}");
    h.get("/v2/me").await.expect(200);
    let log = h.control(Method::GET, "/requests?limit=5", None).await.expect(200).json();
    assert!(log.as_array().is_some_and(|entries| entries.iter().any(|e| e["status"] == 0)), "drop logged: {log}");
}

#[tokio::test]
async fn a_drop_after_step_commits_the_write_and_loses_the_answer() {
    let h = Harness::start().await;
    h.control(
        Method::POST,
        "/faults",
        Some(json!({"method":"POST","path":"/v2/people","sequence":[{"drop_after":true}]})),
    )
    .await
    .expect(200);
    let sent = h
        .http
        .post(h.url("/v2/people"))
        .bearer_auth(h.sim.api_key())
        .json(&json!({"email_address":"lost-answer@example.com"}))
        .send()
        .await;
    assert!(sent.is_err(), "expected a transport error, got {:?}", sent.map(|r| r.status()));
    let found = h.get("/v2/people?email_addresses[]=lost-answer@example.com").await.expect(200).json();
    assert_eq!(found["data"].as_array().map(Vec::len), Some(1), "the write committed: {found}");
    // A blind retry is exactly how the duplicate happens; the unique-email rule turns it into a 422 here.
    h.post("/v2/people", json!({"email_address":"lost-answer@example.com"})).await.expect(422);
    let log = h.control(Method::GET, "/requests?limit=5", None).await.expect(200).json();
    assert!(
        log.as_array().is_some_and(|entries| entries.iter().any(|e| e["method"] == "POST" && e["status"] == 200)),
        "the served write is logged with its real status: {log}"
    );
}

#[tokio::test]
async fn latency_steps_then_normal_service_and_rule_validation() {
    // On a manual clock the latency is a recorded sleep, not a wait: the test asserts exactly what was asked.
    let clock = ManualClock::new();
    let config = SimConfig { listen: "127.0.0.1:0".parse().expect("addr"), ..SimConfig::default() };
    let sim = Simulator::start_with_clock(config, clock.shared()).await.expect("simulator starts");
    let h = Harness { sim, http: reqwest::Client::builder().no_proxy().build().expect("client") };
    let rule = json!({"method":"GET","path":"/v2/me","sequence":[{"latency_ms":1500},{"latency_ms":250}]});
    h.control(Method::POST, "/faults", Some(rule)).await.expect(200);
    assert_eq!(clock.sleeps(), Vec::<Duration>::new(), "no latency before a matching request");
    h.get("/v2/people").await.expect(200);
    assert_eq!(clock.sleeps(), Vec::<Duration>::new(), "another route is not delayed");
    h.get("/v2/me").await.expect(200);
    assert_eq!(clock.sleeps(), vec![Duration::from_millis(1500)], "the first step's latency");
    h.get("/v2/me").await.expect(200);
    h.get("/v2/me").await.expect(200);
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_millis(1500), Duration::from_millis(250)],
        "the second step's latency, then normal service without delay"
    );
    h.control(Method::POST, "/faults", Some(json!({"method":"GET","path":"v2"}))).await.expect(400);
    h.control(
        Method::POST,
        "/faults",
        Some(json!({"method":"GET","path":"/v2","sequence":[{"status":503,"drop":true}]})),
    )
    .await
    .expect(400);
    h.control(Method::POST, "/faults", Some(json!({"nonsense":true}))).await.expect(400);
}

#[tokio::test]
async fn delete_clears_rules() {
    let h = Harness::start().await;
    h.control(
        Method::POST,
        "/faults",
        Some(json!({"method":"GET","path":"/v2","sequence":[{"status":502},{"status":502}]})),
    )
    .await
    .expect(200);
    h.get("/v2/cadences").await.expect(502);
    h.control(Method::DELETE, "/faults", None).await.expect(204);
    h.get("/v2/cadences").await.expect(200);
}

#[tokio::test]
async fn an_outage_window_answers_every_v2_request_until_the_clock_passes_it() {
    let h = Harness::start().await;
    h.control(Method::POST, "/outage", Some(json!({"seconds":30}))).await.expect(200);
    h.get("/v2/me").await.expect(503);
    h.post("/v2/people", json!({"email_address":"x@example.com"})).await.expect(503);
    // OAuth and control keep working.
    h.control(Method::GET, "/stats", None).await.expect(200);
    h.control(Method::POST, "/clock", Some(json!({"advance_seconds":31}))).await.expect(200);
    h.get("/v2/me").await.expect(200);

    h.control(Method::POST, "/outage", Some(json!({"seconds":600,"status":500}))).await.expect(200);
    h.get("/v2/me").await.expect(500);
    h.control(Method::DELETE, "/outage", None).await.expect(204);
    h.get("/v2/me").await.expect(200);
}
