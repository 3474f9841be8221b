//! The control API (docs/simulator.md): stats, request log without secrets, reset, clock, deterministic
//! seeding.

mod common;

use common::Harness;
use reqwest::Method;
use salesloft_sim::SimConfig;
use serde_json::json;

#[tokio::test]
async fn stats_count_v2_and_oauth_traffic_by_status_and_route() {
    let h = Harness::start().await;
    h.get("/v2/people/1").await.expect(200);
    h.get("/v2/people/2.json").await.expect(200);
    h.get("/v2/people?page=3").await.expect(200);
    h.call_as(Method::GET, "/v2/me", None, None).await.expect(401);
    h.control(Method::POST, "/tokens", Some(json!({}))).await.expect(200);
    let stats = h.stats().await;
    assert_eq!(stats["requests"], 4, "{stats}");
    assert_eq!(stats["by_route"]["GET /v2/people/{id}"], 2, "{stats}");
    assert_eq!(stats["by_route"]["GET /v2/people"], 1, "{stats}");
    assert_eq!(stats["by_status"]["401"], 1, "{stats}");
    assert_eq!(stats["cost_used"], 3);
    assert_eq!(stats["max_page"], 3);
    assert_eq!(stats["tokens_issued"], 1);
}

#[tokio::test]
async fn the_request_log_never_holds_tokens_or_secrets() {
    let h = Harness::start().await;
    let minted = h.control(Method::POST, "/tokens", Some(json!({"client_id":"sim-client"}))).await.expect(200).json();
    let access = minted["access_token"].as_str().expect("access").to_owned();
    let refresh = minted["refresh_token"].as_str().expect("refresh").to_owned();
    h.call_as(Method::GET, "/v2/me", None, Some(&access)).await.expect(200);
    h.get("/v2/people?per_page=1").await.expect(200);
    h.call_as(Method::GET, "/v2/me", None, Some("wrong-token")).await.expect(401);
    h.http
        .post(h.url("/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "sim-client"),
            ("client_secret", "sim-secret"),
        ])
        .send()
        .await
        .expect("refresh answers");
    let _ = h
        .http
        .get(h.url(&format!(
            "/oauth/authorize?client_id=sim-client&redirect_uri=http://127.0.0.1/cb&response_type=code&code={refresh}"
        )))
        .send()
        .await;
    let log = h.control(Method::GET, "/requests?limit=10", None).await.expect(200);
    for secret in [access.as_str(), refresh.as_str(), h.sim.api_key(), "wrong-token", "sim-secret"] {
        assert!(!log.text.contains(secret), "the request log leaks a secret: {}", log.text);
    }
    let entries = log.json();
    let auths: Vec<&str> = entries.as_array().expect("array").iter().filter_map(|e| e["auth"].as_str()).collect();
    for kind in ["oauth", "api_key", "invalid", "none"] {
        assert!(auths.contains(&kind), "auth kind {kind} is recorded: {auths:?}");
    }
    let newest = &entries[0];
    for key in ["method", "path", "query", "status", "cost", "page", "at", "auth"] {
        assert!(newest.get(key).is_some(), "entry has {key}: {newest}");
    }
    let limited = h.control(Method::GET, "/requests?limit=1", None).await.expect(200).json();
    assert_eq!(limited.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn reset_restores_seeded_data_and_clears_stats_faults_and_budget_but_keeps_tokens() {
    let h = Harness::with(SimConfig { budget_per_minute: 3, ..SimConfig::default() }).await;
    let minted = h.control(Method::POST, "/tokens", Some(json!({}))).await.expect(200).json();
    let access = minted["access_token"].as_str().expect("access").to_owned();
    let original = h.get("/v2/people/1").await.expect(200).text;
    h.put("/v2/people/1", json!({"title":"Changed"})).await.expect(200);
    h.post("/v2/people", json!({"email_address":"gone@example.com"})).await.expect(200);
    h.get("/v2/me").await.expect(429);
    h.control(Method::POST, "/faults", Some(json!({"method":"*","path":"/v2","latency_ms":1}))).await.expect(200);

    h.control(Method::POST, "/reset", None).await.expect(204);
    assert_eq!(h.stats().await["requests"], 0);
    let restored = h.get("/v2/people/1").await.expect(200).text;
    assert_eq!(restored, original, "seeded data is back");
    h.call_as(Method::GET, "/v2/me", None, Some(&access)).await.expect(200);
    let none = h.get("/v2/people?email_addresses=gone@example.com").await.expect(200).json();
    assert_eq!(none["data"], json!([]));
}

#[tokio::test]
async fn the_same_seed_serves_the_same_data_and_another_seed_differs() {
    let a = Harness::with(SimConfig { seed: 7, ..SimConfig::default() }).await;
    let b = Harness::with(SimConfig { seed: 7, ..SimConfig::default() }).await;
    let c = Harness::with(SimConfig { seed: 8, ..SimConfig::default() }).await;
    assert_eq!(a.sim.api_key(), b.sim.api_key());
    assert_ne!(a.sim.api_key(), c.sim.api_key());
    let strip = |text: String, h: &Harness| text.replace(h.sim.root_url(), "ROOT");
    for path in ["/v2/people?per_page=100", "/v2/accounts?per_page=100", "/v2/users", "/v2/cadences"] {
        assert_eq!(
            strip(a.get(path).await.expect(200).text, &a),
            strip(b.get(path).await.expect(200).text, &b),
            "{path}"
        );
    }
    assert_ne!(strip(a.get("/v2/people/1").await.text, &a), strip(c.get("/v2/people/1").await.text, &c));
}

#[tokio::test]
async fn the_clock_moves_record_timestamps_and_rejects_bad_input() {
    let h = Harness::start().await;
    let before = h.control(Method::GET, "/clock", None).await.expect(200).json();
    let after = h.control(Method::POST, "/clock", Some(json!({"advance_seconds":86400}))).await.expect(200).json();
    let delta = after["unix_micros"].as_i64().unwrap_or(0) - before["unix_micros"].as_i64().unwrap_or(0);
    assert!(delta >= 86_400_000_000, "advanced a day: {delta}");
    let created = h.post("/v2/people", json!({"email_address":"future@example.com"})).await.expect(200).json();
    let created_at = created["data"]["created_at"].as_str().expect("ts").to_owned();
    let micros_of_created = {
        let stamp = h
            .get(&format!(
                "/v2/people?created_at[gte]={}&ids={}",
                after["now"].as_str().expect("now"),
                created["data"]["id"]
            ))
            .await
            .expect(200)
            .json();
        stamp["data"].as_array().map(Vec::len)
    };
    assert_eq!(micros_of_created, Some(1), "the record's created_at ({created_at}) is on the simulator clock");
    h.control(Method::POST, "/clock", Some(json!({"advance_seconds":-5}))).await.expect(400);
    h.control(Method::POST, "/clock", Some(json!({"wrong":1}))).await.expect(400);
    h.control(Method::GET, "/nothing", None).await.expect(404);
}
