//! Issue 7 item 10: the simulator is also used for staging and load tests, so it must not be easy to exhaust
//! or to read secrets from. Read timeouts run on tokio's paused clock (no real waiting); the other checks
//! move the simulator clock. The control API's loopback rule is tested in `src/control.rs` (a test cannot
//! call from a non-loopback address portably).

mod common;

use std::time::Duration;

use common::Harness;
use reqwest::{Method, StatusCode};
use salesloft_sim::{OAuthClientConfig, SimConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Reads until the server closes the connection; `None` if it stays open for an hour (of paused time).
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3600), stream.read_to_end(&mut received)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&received).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_never_finishes_its_header_is_closed() {
    let h = Harness::start().await;
    let mut stream = tokio::net::TcpStream::connect(h.sim.local_addr()).await.expect("connect");
    stream.write_all(b"GET /v2/me HTTP/1.1\r\nHost: sim\r\nX-Slow: ").await.expect("partial header");
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.is_some(), "the simulator kept a connection with an unfinished header open for an hour");
    let mut idle = tokio::net::TcpStream::connect(h.sim.local_addr()).await.expect("connect");
    assert!(read_until_closed(&mut idle).await.is_some(), "a connection that sends nothing is closed too");
}

#[tokio::test(start_paused = true)]
async fn a_body_that_never_arrives_is_answered_408() {
    let h = Harness::start().await;
    let mut stream = tokio::net::TcpStream::connect(h.sim.local_addr()).await.expect("connect");
    let head = "POST /oauth/token HTTP/1.1\r\nHost: sim\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 100\r\n\r\ngrant_type";
    stream.write_all(head.as_bytes()).await.expect("head and part of the body");
    let answer = read_until_closed(&mut stream).await.expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "expected a 408, got {answer:?}");
}

#[tokio::test]
async fn unknown_paths_and_methods_share_one_stats_key() {
    let h = Harness::start().await;
    for n in 0..20 {
        h.get(&format!("/v2/no_such_resource_{n}")).await.expect(404);
        h.get(&format!("/v2/people/{n}/nested_{n}")).await.expect(404);
    }
    let brew = Method::from_bytes(b"BREW").expect("method");
    h.call(brew, "/v2/people", None).await.expect(404);
    h.call(Method::GET, "/v2/people/1", None).await;
    let stats = h.stats().await;
    let routes = stats["by_route"].as_object().expect("by_route");
    assert_eq!(routes.get("other"), Some(&json!(41)), "unknown requests count as other: {stats}");
    assert_eq!(routes.len(), 2, "one key for all unknown requests plus the known route: {stats}");
    assert_eq!(routes.get("GET /v2/people/{id}"), Some(&json!(1)), "{stats}");
}

#[tokio::test]
async fn the_request_log_is_bounded_in_entries_and_in_entry_size() {
    let h = Harness::with(SimConfig { request_log_capacity: 5, ..SimConfig::default() }).await;
    let long = format!("/v2/people/{}", "9".repeat(5_000));
    h.get(&format!("{long}?filter={}", "x".repeat(5_000))).await;
    for _ in 0..7 {
        h.get("/v2/me").await.expect(200);
    }
    let log: Value = h.control(Method::GET, "/requests?limit=100", None).await.expect(200).json();
    assert_eq!(log.as_array().map(Vec::len), Some(5), "the log keeps its capacity: {log}");
    let h = Harness::with(SimConfig { request_log_capacity: 5, ..SimConfig::default() }).await;
    h.get(&format!("{long}?filter={}", "x".repeat(5_000))).await;
    let log: Value = h.control(Method::GET, "/requests?limit=1", None).await.expect(200).json();
    let entry = &log[0];
    let (path, query) = (entry["path"].as_str().expect("path"), entry["query"].as_str().expect("query"));
    assert!(path.len() <= 515 && path.ends_with('…'), "long paths are cut: {} bytes", path.len());
    assert!(query.len() <= 515 && query.ends_with('…'), "long queries are cut: {} bytes", query.len());
}

async fn authorize(h: &Harness) -> String {
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().expect("client");
    let response = client
        .get(h.url("/oauth/authorize"))
        .query(&[("client_id", "sim-client"), ("redirect_uri", "http://127.0.0.1:9/cb"), ("response_type", "code")])
        .send()
        .await
        .expect("authorize answers");
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).expect("Location").to_owned();
    let url = reqwest::Url::parse(&location).expect("URL");
    url.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).expect("code")
}

async fn token(h: &Harness, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut form = form.to_vec();
    form.extend([("client_id", "sim-client"), ("client_secret", "sim-secret")]);
    let response = h.http.post(h.url("/oauth/token")).form(&form).send().await.expect("token answers");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn oauth_state(h: &Harness) -> Value {
    h.stats().await["oauth_state"].clone()
}

#[tokio::test]
async fn codes_and_tokens_expire_and_their_maps_are_pruned() {
    let h = Harness::with(SimConfig {
        authorization_code_lifetime: Duration::from_secs(60),
        access_token_lifetime: Duration::from_secs(60),
        revoked_refresh_retention: Duration::from_secs(120),
        ..SimConfig::default()
    })
    .await;
    let codes = [authorize(&h).await, authorize(&h).await, authorize(&h).await];
    let (status, first) = token(&h, &[("grant_type", "authorization_code"), ("code", &codes[0])]).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    for _ in 0..2 {
        h.control(Method::POST, "/tokens", Some(json!({}))).await.expect(200);
        let (status, _) = token(&h, &[("grant_type", "client_credentials")]).await;
        assert_eq!(status, StatusCode::OK);
    }
    let r1 = first["refresh_token"].as_str().expect("refresh").to_owned();
    let (status, second) = token(&h, &[("grant_type", "refresh_token"), ("refresh_token", &r1)]).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(
        oauth_state(&h).await,
        json!({"codes": 2, "access_tokens": 6, "refresh_tokens": 4, "grants": 5}),
        "2 unused codes; 6 live access tokens; r1 (revoked), r2 and 2 minted refresh tokens; 5 grants"
    );

    h.sim.advance_clock(Duration::from_secs(61));
    let (status, body) = token(&h, &[("grant_type", "authorization_code"), ("code", &codes[1])]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "code expired");
    let access = second["access_token"].as_str().expect("access");
    h.call_as(Method::GET, "/v2/me", None, Some(access)).await.expect(401);
    assert_eq!(
        oauth_state(&h).await,
        json!({"codes": 0, "access_tokens": 0, "refresh_tokens": 4, "grants": 3}),
        "expired codes and tokens are gone, and the client-credentials grants with them"
    );
    let (status, _) = token(&h, &[("grant_type", "refresh_token"), ("refresh_token", &r1)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(h.stats().await["revoked_refresh_presented"], json!(1), "r1 is still recognised as revoked");

    h.sim.advance_clock(Duration::from_secs(60));
    assert_eq!(
        oauth_state(&h).await,
        json!({"codes": 0, "access_tokens": 0, "refresh_tokens": 3, "grants": 3}),
        "the revoked refresh token is forgotten after its retention; current ones stay valid"
    );
    let r2 = second["refresh_token"].as_str().expect("refresh");
    let (status, body) = token(&h, &[("grant_type", "refresh_token"), ("refresh_token", r2)]).await;
    assert_eq!(status, StatusCode::OK, "the current refresh token still works: {body}");
}

#[tokio::test]
async fn debug_output_shows_no_key_secret_or_token() {
    let h = Harness::with(SimConfig {
        api_keys: vec!["ak-sekrit-api-key".to_owned()],
        control_token: Some("sekrit-control".to_owned()),
        oauth_clients: vec![OAuthClientConfig { client_secret: "sekrit-client".to_owned(), ..Default::default() }],
        ..SimConfig::default()
    })
    .await;
    let answer =
        h.http.post(h.url("/__sim/tokens")).bearer_auth("sekrit-control").json(&json!({})).send().await.expect("mint");
    let minted: Value = answer.json().await.expect("JSON");
    let access = minted["access_token"].as_str().expect("access").to_owned();
    let refresh = minted["refresh_token"].as_str().expect("refresh").to_owned();
    for text in [format!("{:?}", h.sim), format!("{:#?}", h.sim.config())] {
        for secret in ["sekrit", &access, &refresh] {
            assert!(!text.contains(secret), "Debug leaked a secret: {text}");
        }
    }
}

#[tokio::test]
async fn with_a_control_token_the_control_api_requires_it() {
    let h = Harness::with(SimConfig { control_token: Some("ctl".to_owned()), ..SimConfig::default() }).await;
    let stats = h.url("/__sim/stats");
    let status = |request: reqwest::RequestBuilder| async move { request.send().await.expect("answer").status() };
    assert_eq!(status(h.http.get(&stats)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(h.http.get(&stats).bearer_auth("ctm")).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(h.http.get(&stats).bearer_auth("ctl")).await, StatusCode::OK);
    let reset = h.http.post(h.url("/__sim/reset"));
    assert_eq!(status(reset).await, StatusCode::UNAUTHORIZED, "every control route is guarded");
    // The API itself is unaffected.
    h.get("/v2/me").await.expect(200);
}
