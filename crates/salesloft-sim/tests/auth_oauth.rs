//! Auth and the OAuth server: bearer checks (FACTS.md §1.5), authorization code, refresh-token rotation
//! (FACTS.md §1.3), client credentials, token expiry on the simulator clock.

mod common;

use std::time::Duration;

use common::{Harness, MISSING_TOKEN_BODY};
use reqwest::{Method, StatusCode};
use salesloft_sim::SimConfig;
use serde_json::{Value, json};

async fn authorize(h: &Harness) -> String {
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().expect("client");
    let response = client
        .get(h.url("/oauth/authorize"))
        .query(&[
            ("client_id", "sim-client"),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
            ("response_type", "code"),
            ("scope", "people:read"),
            ("state", "xyz"),
        ])
        .send()
        .await
        .expect("authorize answers");
    assert_eq!(response.status(), StatusCode::FOUND, "authorize should redirect");
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).expect("Location").to_owned();
    let url = reqwest::Url::parse(&location).expect("redirect is a URL");
    assert!(location.starts_with("http://127.0.0.1:9/callback?"), "redirects to the redirect_uri: {location}");
    let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    for key in ["code", "context", "scope", "state"] {
        assert!(pairs.iter().any(|(k, _)| k == key), "redirect carries {key}: {location}");
    }
    pairs.into_iter().find(|(k, _)| k == "code").map(|(_, v)| v).expect("code")
}

async fn token_form(h: &Harness, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = h.http.post(h.url("/oauth/token")).form(form).send().await.expect("token answers");
    let status = response.status();
    (status, response.json().await.expect("token body is JSON"))
}

async fn token_json(h: &Harness, body: Value) -> (StatusCode, Value) {
    let response = h.http.post(h.url("/oauth/token")).json(&body).send().await.expect("token answers");
    let status = response.status();
    (status, response.json().await.expect("token body is JSON"))
}

#[tokio::test]
async fn missing_token_is_401_with_the_documented_body() {
    let h = Harness::start().await;
    let answer = h.call_as(Method::GET, "/v2/me.json", None, None).await.expect(401);
    assert_eq!(answer.text, MISSING_TOKEN_BODY);
    assert!(answer.header("x-ratelimit-remaining-minute").is_none(), "no rate headers before auth");
    let basic = h.http.get(h.url("/v2/me")).basic_auth("u", Some("p")).send().await.expect("answers");
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED, "a non-bearer scheme counts as missing");
}

#[tokio::test]
async fn unknown_token_is_401_with_a_singular_error() {
    let h = Harness::start().await;
    let answer = h.call_as(Method::GET, "/v2/me", None, Some("nope")).await.expect(401);
    let error = answer.json()["error"].as_str().map(str::to_owned);
    assert!(error.is_some_and(|text| !text.is_empty()), "singular error body: {}", answer.text);
}

#[tokio::test]
async fn api_key_has_the_documented_shape_and_works() {
    let h = Harness::start().await;
    let key = h.sim.api_key();
    assert!(key.len() == 66 && key.starts_with("ak") && key[2..].bytes().all(|b| b.is_ascii_hexdigit()), "key {key}");
    let me = h.get("/v2/me").await.expect(200).json();
    assert_eq!(me["data"]["id"], 1);
}

#[tokio::test]
async fn authorization_code_flow_then_refresh_rotation_revokes_older_refresh_tokens() {
    let h = Harness::start().await;
    let code = authorize(&h).await;
    let (status, first) = token_json(
        &h,
        json!({"client_id":"sim-client","client_secret":"sim-secret","code":code,"grant_type":"authorization_code","redirect_uri":"http://127.0.0.1:9/callback"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "code exchange: {first}");
    for key in ["access_token", "token_type", "expires_in", "refresh_token", "scope", "created_at"] {
        assert!(first.get(key).is_some(), "token response has {key}: {first}");
    }
    assert_eq!(first["expires_in"], 7200);
    let access = first["access_token"].as_str().expect("access token");
    h.call_as(Method::GET, "/v2/me", None, Some(access)).await.expect(200);

    // The code is single-use.
    let (status, body) = token_json(
        &h,
        json!({"client_id":"sim-client","client_secret":"sim-secret","code":code,"grant_type":"authorization_code"}),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));

    // Refresh (form body, as Airbyte sends it) rotates the refresh token.
    let r1 = first["refresh_token"].as_str().expect("refresh token").to_owned();
    let (status, second) = token_form(
        &h,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r1),
            ("client_id", "sim-client"),
            ("client_secret", "sim-secret"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "first refresh: {second}");
    let r2 = second["refresh_token"].as_str().expect("rotated refresh token").to_owned();
    assert_ne!(r1, r2, "refresh token rotates");

    // Second refresh with r2 (JSON) works and yields r3; r1 and r2 are now both revoked.
    let (status, third) = token_json(
        &h,
        json!({"grant_type":"refresh_token","refresh_token":r2,"client_id":"sim-client","client_secret":"sim-secret"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "second refresh: {third}");
    for old in [&r1, &r2] {
        let (status, body) = token_json(
            &h,
            json!({"grant_type":"refresh_token","refresh_token":old,"client_id":"sim-client","client_secret":"sim-secret"}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "an older refresh token is revoked: {body}");
        assert_eq!(body["error"], "invalid_grant");
        assert!(body["error_description"].as_str().is_some_and(|d| d.starts_with("The provided authorization grant")));
    }
    let new_access = third["access_token"].as_str().expect("access");
    h.call_as(Method::GET, "/v2/people", None, Some(new_access)).await.expect(200);
    let stats = h.stats().await;
    assert_eq!(stats["refreshes"], 2, "stats count refreshes: {stats}");
    assert_eq!(stats["revoked_refresh_presented"], 2, "both rotated-away tokens were presented: {stats}");
}

#[tokio::test]
async fn client_credentials_with_basic_auth_has_no_refresh_token_and_bad_secret_is_invalid_client() {
    let h = Harness::start().await;
    let response = h
        .http
        .post(h.url("/oauth/token"))
        .basic_auth("sim-client", Some("sim-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert!(body.get("refresh_token").is_none(), "client credentials get no refresh token: {body}");
    h.call_as(Method::GET, "/v2/me", None, body["access_token"].as_str()).await.expect(200);

    let (status, body) = token_form(
        &h,
        &[("grant_type", "client_credentials"), ("client_id", "sim-client"), ("client_secret", "wrong")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
}

#[tokio::test]
async fn access_tokens_expire_on_the_simulator_clock_with_a_configurable_lifetime() {
    let h = Harness::with(SimConfig { access_token_lifetime: Duration::from_secs(60), ..SimConfig::default() }).await;
    let (_, body) = token_form(
        &h,
        &[("grant_type", "client_credentials"), ("client_id", "sim-client"), ("client_secret", "sim-secret")],
    )
    .await;
    assert_eq!(body["expires_in"], 60);
    let access = body["access_token"].as_str().expect("access").to_owned();
    h.call_as(Method::GET, "/v2/me", None, Some(&access)).await.expect(200);
    h.control(Method::POST, "/clock", Some(json!({"advance_seconds": 61}))).await.expect(200);
    h.call_as(Method::GET, "/v2/me", None, Some(&access)).await.expect(401);
    // API keys never expire.
    h.get("/v2/me").await.expect(200);
}

#[tokio::test]
async fn minted_tokens_honour_expires_in_and_refresh_normally() {
    let h = Harness::start().await;
    let minted = h
        .control(Method::POST, "/tokens", Some(json!({"client_id":"sim-client","expires_in":5})))
        .await
        .expect(200)
        .json();
    let access = minted["access_token"].as_str().expect("access").to_owned();
    h.call_as(Method::GET, "/v2/me", None, Some(&access)).await.expect(200);
    h.sim.advance_clock(Duration::from_secs(6));
    h.call_as(Method::GET, "/v2/me", None, Some(&access)).await.expect(401);
    let refresh = minted["refresh_token"].as_str().expect("refresh");
    let (status, body) = token_form(
        &h,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", "sim-client"),
            ("client_secret", "sim-secret"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "refresh after expiry: {body}");
    h.call_as(Method::GET, "/v2/me", None, body["access_token"].as_str()).await.expect(200);
}

#[tokio::test]
async fn authorize_rejects_unknown_clients_and_foreign_redirects() {
    let h = Harness::start().await;
    let bad_client = h
        .http
        .get(h.url("/oauth/authorize?client_id=nope&redirect_uri=http://127.0.0.1/cb&response_type=code"))
        .send()
        .await
        .expect("answers");
    assert_eq!(bad_client.status(), StatusCode::BAD_REQUEST);
    let foreign = h
        .http
        .get(h.url("/oauth/authorize?client_id=sim-client&redirect_uri=https://evil.example/cb&response_type=code"))
        .send()
        .await
        .expect("answers");
    assert_eq!(foreign.status(), StatusCode::BAD_REQUEST);
    let (status, body) =
        token_form(&h, &[("grant_type", "password"), ("client_id", "sim-client"), ("client_secret", "sim-secret")])
            .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
}
