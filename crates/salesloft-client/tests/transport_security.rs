//! Secrets go only where they belong (issue 7 item 5): no redirect is followed, neither for an API call (the
//! bearer would travel with it) nor for the token call (a 307 would re-send the form with the client secret
//! and the single-use refresh token, FACTS.md §1.3); plain `http://` is refused except for loopback hosts.

mod support;

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode, header};
use salesloft_client::Error;
use salesloft_client::clock::ManualClock;
use salesloft_client::transport::auth::OAuthConfig;
use salesloft_client::transport::{ApiRequest, MemoryTokenStore, Pipeline, RetryConfig, TokenSet};
use secrecy::SecretString;
use support::one_off::OneOff;

const API_KEY: &str = "ak0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn redirect_to(location: String, status: StatusCode) -> impl Fn(&support::one_off::Hit) -> Response {
    move |_| (status, [(header::LOCATION, location.clone())], "").into_response()
}

#[tokio::test]
async fn an_api_redirect_is_not_followed_and_the_bearer_never_reaches_its_target() {
    let elsewhere = OneOff::start(|_| (StatusCode::OK, r#"{"data":{}}"#).into_response()).await;
    for status in [StatusCode::FOUND, StatusCode::TEMPORARY_REDIRECT, StatusCode::PERMANENT_REDIRECT] {
        // One redirect to another server, and one to another path of the same server (reqwest would keep the
        // Authorization header on a same-origin redirect).
        let origin = OneOff::start(redirect_to(format!("{}/stolen", elsewhere.root), status)).await;
        let same_host = OneOff::start(move |hit| {
            if hit.uri.starts_with("/stolen") {
                (StatusCode::OK, r#"{"data":{}}"#).into_response()
            } else {
                (status, [(header::LOCATION, "/stolen")], "").into_response()
            }
        })
        .await;
        for server in [&origin, &same_host] {
            let pipeline = Pipeline::builder(format!("{}/v2", server.root))
                .api_key(SecretString::from(API_KEY.to_string()))
                .clock(ManualClock::new().shared())
                .retry(RetryConfig { max_attempts: 1, ..RetryConfig::default() })
                .build()
                .expect("pipeline");
            let error = pipeline
                .execute(ApiRequest::new("me.get", Method::GET, "me"))
                .await
                .expect_err("a redirect is an error, not a hop");
            assert_eq!(error.status(), Some(status), "{status}: expected the redirect status, got {error:?}");
            let hits = server.hits();
            assert_eq!(hits.len(), 1, "{status}: expected one request, the redirect was followed: {hits:?}");
            assert!(!hits[0].uri.starts_with("/stolen"), "{status}: followed to {}", hits[0].uri);
        }
    }
    let stolen = elsewhere.hits();
    assert!(stolen.is_empty(), "the redirect target received {} request(s): {stolen:?}", stolen.len());
}

#[tokio::test]
async fn a_token_endpoint_redirect_is_not_followed_and_the_client_secret_stays_home() {
    let elsewhere = OneOff::start(|_| {
        (StatusCode::OK, r#"{"access_token":"stolen","expires_in":7200,"refresh_token":"r2"}"#).into_response()
    })
    .await;
    let token =
        OneOff::start(redirect_to(format!("{}/oauth/token", elsewhere.root), StatusCode::TEMPORARY_REDIRECT)).await;
    let api = OneOff::start(|_| (StatusCode::OK, r#"{"data":{}}"#).into_response()).await;
    let expired = TokenSet {
        access_token: SecretString::from("old-access".to_string()),
        refresh_token: Some(SecretString::from("single-use-refresh".to_string())),
        expires_at: Some(0),
        issued_at: None,
        scope: None,
    };
    let config = OAuthConfig::new(
        format!("{}/oauth/token", token.root),
        "client-id",
        SecretString::from("client-secret-value".to_string()),
    );
    let pipeline = Pipeline::builder(format!("{}/v2", api.root))
        .oauth(config, Arc::new(MemoryTokenStore::new(Some(expired))))
        .clock(ManualClock::new().shared())
        .build()
        .expect("pipeline");
    let error = pipeline.execute(ApiRequest::new("me.get", Method::GET, "me")).await.expect_err("refresh fails");
    assert!(matches!(error, Error::Auth { .. }), "expected an auth error, got {error:?}");
    assert_eq!(token.hits().len(), 1, "the token endpoint is asked once");
    let stolen = elsewhere.hits();
    assert!(stolen.is_empty(), "the token form was re-sent to the redirect target: {stolen:?}");
    assert!(api.hits().is_empty(), "nothing is sent with a token that was never obtained");
}

#[test]
fn plain_http_is_refused_except_for_loopback_hosts() {
    let key = || SecretString::from(API_KEY.to_string());
    for base in ["http://api.salesloft.com/v2", "http://10.0.0.7:4545/v2", "http://localhost.evil.example/v2"] {
        match Pipeline::with_api_key(base, key()) {
            Err(Error::Construction { reason }) => {
                assert!(reason.contains("http://"), "{base}: the reason should say why: {reason}");
                assert!(!reason.contains(API_KEY), "{base}: the reason echoes the key");
            }
            other => panic!("{base}: expected a construction error, got {other:?}"),
        }
    }
    for base in ["http://127.0.0.1:1/v2", "http://127.1.2.3:1/v2", "http://[::1]:1/v2", "http://localhost:1/v2"] {
        assert!(Pipeline::with_api_key(base, key()).is_ok(), "{base}: loopback http must be accepted");
    }
    assert!(Pipeline::with_api_key("https://api.salesloft.com/v2", key()).is_ok());

    // The token URL follows the same rule: its form carries the client secret and the refresh token.
    let oauth = |token_url: &str| {
        Pipeline::builder("https://api.salesloft.com/v2")
            .oauth(
                OAuthConfig::new(token_url, "id", SecretString::from("secret".to_string())),
                Arc::new(MemoryTokenStore::new(None)),
            )
            .build()
    };
    match oauth("http://accounts.salesloft.com/oauth/token") {
        Err(Error::Construction { reason }) => assert!(reason.contains("OAuth token URL"), "{reason}"),
        other => panic!("expected a construction error for an http token URL, got {other:?}"),
    }
    assert!(oauth("http://127.0.0.1:9/oauth/token").is_ok());
    assert!(oauth(salesloft_client::transport::auth::SALESLOFT_TOKEN_URL).is_ok());
}

#[test]
fn a_look_alike_host_does_not_get_salesloft_s_token_url() {
    let salesloft = salesloft_client::transport::auth::SALESLOFT_TOKEN_URL;
    assert_eq!(OAuthConfig::token_url_for("https://api.salesloft.com/v2"), salesloft);
    for base in ["https://api.salesloft.com.evil.example/v2", "https://evil.example/api.salesloft.com/v2"] {
        let derived = OAuthConfig::token_url_for(base);
        assert_ne!(derived, salesloft, "{base} must not map to SalesLoft's token URL");
        assert!(derived.starts_with(base.trim_end_matches("/v2")), "{base} → {derived}");
    }
}
