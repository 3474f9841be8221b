//! The two series the alerts of issue 10 read: every response by status, retried attempts included
//! (`salesloft_responses_total`, so a 5xx storm that retries hide from callers still shows), and every
//! authentication failure by kind (`salesloft_auth_failures_total`), each kind produced where its error is.
//! One test per binary: the recorder is process-global.

mod support;

use std::sync::Arc;

use http::Method;
use metrics_exporter_prometheus::PrometheusBuilder;
use salesloft_client::transport::telemetry::describe_metrics;
use salesloft_client::transport::{ApiRequest, MemoryTokenStore, Pipeline, TokenSet};
use salesloft_sim::{SimConfig, Simulator};
use secrecy::SecretString;
use serde_json::json;
use support::oauth;

/// The value of the exact series `series` in `text` (0 when absent).
fn value(text: &str, series: &str) -> f64 {
    text.lines().find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok())).unwrap_or(0.0)
}

#[tokio::test]
async fn responses_count_every_attempt_and_auth_failures_are_counted_by_kind() {
    let handle = PrometheusBuilder::new().install_recorder().expect("recorder");
    describe_metrics();
    let kinds = ["api_key_401", "401_after_refresh", "refresh_failed", "invalid_grant"];
    let auth = |kind: &str| format!("salesloft_auth_failures_total{{kind=\"{kind}\"}}");
    let before = handle.render();
    for kind in kinds {
        assert!(before.contains(&format!("{} 0", auth(kind))), "{kind} exists at 0 before any failure:\n{before}");
    }
    assert!(before.contains(r#"salesloft_responses_total{status="503",class="5xx"} 0"#), "{before}");

    let sim = Simulator::start(SimConfig { seed_people: 3, ..SimConfig::default() }).await.expect("sim");
    // Two 503s that the retries hide: the call succeeds, and three responses are counted.
    let api_key = support::api_key_pipeline(&sim);
    support::add_fault(
        &sim,
        json!({"method": "GET", "path": "/v2/me", "sequence": [{"status": 503}, {"status": 503}]}),
    )
    .await;
    api_key.execute(ApiRequest::new("me.get", Method::GET, "me")).await.expect("the retries hide the 503s");
    // A 401 to the API key.
    support::add_fault(&sim, json!({"method": "GET", "path": "/v2/me", "sequence": [{"status": 401}]})).await;
    api_key.execute(ApiRequest::new("me.get", Method::GET, "me")).await.expect_err("401");

    // OAuth: a 401, the refresh, and a 401 again.
    let minted = oauth::mint(&sim, None).await;
    let store = Arc::new(MemoryTokenStore::new(Some(oauth::token_set(&minted, None, None))));
    let oauth_pipeline = Pipeline::builder(sim.base_url()).oauth(oauth::config(&sim), store).build().expect("pipeline");
    support::add_fault(
        &sim,
        json!({"method": "GET", "path": "/v2/me", "sequence": [{"status": 401}, {"status": 401}]}),
    )
    .await;
    oauth_pipeline.execute(ApiRequest::new("me.get", Method::GET, "me")).await.expect_err("401 after refresh");

    // A refresh token SalesLoft does not know: invalid_grant.
    let unknown = TokenSet {
        access_token: SecretString::from("expired".to_string()),
        refresh_token: Some(SecretString::from("not-a-refresh-token".to_string())),
        expires_at: Some(0),
        issued_at: None,
        scope: None,
    };
    let revoked = Pipeline::builder(sim.base_url())
        .oauth(oauth::config(&sim), Arc::new(MemoryTokenStore::new(Some(unknown.clone()))))
        .build()
        .expect("pipeline");
    revoked.execute(ApiRequest::new("me.get", Method::GET, "me")).await.expect_err("invalid_grant");

    // The token endpoint down: the refresh fails.
    support::add_fault(&sim, json!({"method": "POST", "path": "/oauth/token", "sequence": [{"status": 503}]})).await;
    let down = Pipeline::builder(sim.base_url())
        .oauth(oauth::config(&sim), Arc::new(MemoryTokenStore::new(Some(unknown))))
        .build()
        .expect("pipeline");
    down.execute(ApiRequest::new("me.get", Method::GET, "me")).await.expect_err("refresh failed");

    let text = handle.render();
    assert_eq!(value(&text, r#"salesloft_responses_total{status="503",class="5xx"}"#), 2.0, "{text}");
    assert_eq!(value(&text, r#"salesloft_responses_total{status="200",class="2xx"}"#), 1.0, "{text}");
    assert_eq!(value(&text, r#"salesloft_responses_total{status="401",class="4xx"}"#), 3.0, "{text}");
    for kind in kinds {
        assert_eq!(value(&text, &auth(kind)), 1.0, "{kind}:\n{text}");
    }
}
