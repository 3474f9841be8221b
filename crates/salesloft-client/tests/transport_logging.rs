//! What the pipeline writes to `tracing`, captured into a buffer: the 422 log (payload with secrets removed and
//! PII masked), the per-call span, the rate-limit headers, and — the point of `SecretString` — no token,
//! refresh token, client secret or API key anywhere.

mod support;

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use salesloft_client::clock::{Clock, ManualClock};
use salesloft_client::transport::{ApiRequest, MemoryTokenStore, Pipeline, RetryConfig, TokenSet};
use salesloft_sim::{SimConfig, Simulator};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use support::logs::capture;
use support::oauth;

#[tokio::test]
async fn a_422_is_logged_with_the_payload_secrets_removed_and_pii_masked() {
    let sim = Simulator::start(SimConfig { seed_people: 10, ..SimConfig::default() }).await.expect("sim");
    let pipeline = support::api_key_pipeline(&sim);
    let fault = json!({"method": "POST", "path": "/v2/people", "sequence": [
        {"status": 422, "body": {"errors": {"email_address": ["is already taken"]}}}
    ]});
    support::add_fault(&sim, fault).await;
    let (logs, _guard) = capture();

    let request = ApiRequest::new("people.create", Method::POST, "people").json(json!({
        "email_address": "jane.doe@example.com",
        "first_name": "Jane",
        "last_name": "Doe",
        "phone": "+1 555 010 4567",
        "title": "Head of Revenue",
        "custom_fields": {"api_token": "sekrit-123", "region": "EMEA"},
    }));
    let error = pipeline.execute(request).await.expect_err("422");
    assert!(
        error.validation().is_some_and(|v| v.is_taken("email_address")),
        "expected a validation error, got {error:?}"
    );

    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("rejected the request (422)"))
        .unwrap_or_else(|| panic!("expected a 422 warning in the logs, got:\n{text}"));
    for expected in [
        "WARN",
        "people.create",
        "is already taken",
        "j***@example.com",
        "J***",
        "D***",
        "***67",
        "Head of Revenue",
        // Custom field values are PII too (issue 7 item 8): users put anything there.
        "\"region\":\"E***\"",
        "[REDACTED]",
    ] {
        assert!(line.contains(expected), "expected {expected:?} in the 422 log line:\n{line}");
    }
    for leaked in ["jane.doe", "sekrit-123", "Jane", "Doe\"", "010 4567", "EMEA"] {
        assert!(!text.contains(leaked), "{leaked:?} leaked into the logs:\n{text}");
    }
}

#[tokio::test]
async fn every_call_has_a_span_and_logs_its_rate_limit_headers() {
    let sim = Simulator::start(SimConfig { seed_people: 10, ..SimConfig::default() }).await.expect("sim");
    let pipeline =
        Pipeline::with_api_key(sim.base_url(), SecretString::from(sim.api_key().to_string())).expect("pipeline");
    let (logs, _guard) = capture();
    pipeline.execute(ApiRequest::new("people.list", Method::GET, "people")).await.expect("list");
    let text = logs.text();
    let close = text
        .lines()
        .find(|l| l.contains("salesloft.call") && l.contains("close"))
        .unwrap_or_else(|| panic!("expected the salesloft.call span to close in the logs, got:\n{text}"));
    for expected in ["people.list", "GET", "status=\"200\"", "attempts=1", "cost=1", "remaining=599"] {
        assert!(close.contains(expected), "expected {expected:?} on the span:\n{close}");
    }
    assert!(
        text.lines().any(|l| l.contains("rate-limit headers")
            && l.contains("endpoint_cost=1")
            && l.contains("remaining_minute=599")),
        "expected the rate-limit headers to be logged, got:\n{text}"
    );
}

/// When SalesLoft reports less than 10 % of the minute's budget left, one info line says so — once per
/// window, not once per request.
#[tokio::test]
async fn a_low_budget_is_logged_once_per_window() {
    let sim = Simulator::start(SimConfig { seed_people: 10, budget_per_minute: 40, ..SimConfig::default() })
        .await
        .expect("sim");
    let budget = salesloft_client::transport::RateBudgetConfig {
        enabled: false,
        limit: 40,
        ..salesloft_client::transport::RateBudgetConfig::default()
    };
    let pipeline = Pipeline::builder(sim.base_url())
        .api_key(SecretString::from(sim.api_key().to_string()))
        .clock(ManualClock::new().shared())
        .rate_budget(budget)
        .build()
        .expect("pipeline");
    let (logs, _guard) = capture();
    for _ in 0..36 {
        pipeline.execute(ApiRequest::new("me", Method::GET, "me")).await.expect("me");
    }
    assert!(!logs.text().contains("budget below 10 %"), "not low yet at 4 of 40 left:\n{}", logs.text());
    for _ in 0..4 {
        pipeline.execute(ApiRequest::new("me", Method::GET, "me")).await.expect("me");
    }
    let text = logs.text();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("budget below 10 %")).collect();
    assert_eq!(lines.len(), 1, "expected one low-budget line, got:\n{text}");
    assert!(lines[0].contains("INFO") && lines[0].contains("remaining_minute=3") && lines[0].contains("limit=40"));
}

#[tokio::test]
async fn no_token_or_secret_reaches_the_logs() {
    let sim = Simulator::start(SimConfig { seed_people: 10, ..SimConfig::default() }).await.expect("sim");
    let minted = oauth::mint(&sim, Some(60)).await;
    let access = minted["access_token"].as_str().expect("access").to_string();
    let refresh = minted["refresh_token"].as_str().expect("refresh").to_string();
    let clock = ManualClock::new();
    let now = clock.unix_time().as_secs();
    let store = Arc::new(MemoryTokenStore::new(Some(TokenSet {
        access_token: SecretString::from(access.clone()),
        refresh_token: Some(SecretString::from(refresh.clone())),
        expires_at: Some(now + 7200), // the client believes it fresh: the simulator will answer 401
        issued_at: Some(now),
        scope: None,
    })));
    let pipeline = Pipeline::builder(sim.base_url())
        .oauth(oauth::config(&sim), store.clone())
        .clock(clock.shared())
        .retry(RetryConfig { seed: Some(1), ..RetryConfig::default() })
        .build()
        .expect("pipeline");
    let (logs, _guard) = capture();

    // 401 → refresh → repeat; then a proactive refresh; then a retried 5xx and a 422.
    sim.advance_clock(Duration::from_secs(120));
    pipeline.execute(ApiRequest::new("me.get", Method::GET, "me")).await.expect("refreshed on 401");
    clock.advance(Duration::from_secs(7200));
    pipeline.execute(ApiRequest::new("me.get", Method::GET, "me")).await.expect("refreshed proactively");
    support::add_fault(
        &sim,
        json!({"method": "*", "path": "/v2/people", "sequence": [{"status": 503}, {"status": 422}]}),
    )
    .await;
    pipeline.execute(ApiRequest::new("people.list", Method::GET, "people")).await.expect_err("422 after a retried 503");
    let stats = support::stats(&sim).await;
    assert_eq!(stats["refreshes"], json!(2), "expected a 401 refresh and a proactive one, stats {stats}");

    let current = store.current().expect("tokens");
    let mut secrets = vec![access, refresh, "sim-secret".to_string(), sim.api_key().to_string()];
    secrets.push(current.access_token.expose_secret().to_string());
    secrets.extend(current.refresh_token.as_ref().map(|t| t.expose_secret().to_string()));
    let text = logs.text();
    assert!(text.contains("refreshed the SalesLoft token"), "expected refresh logs, got:\n{text}");
    let debug = format!("{pipeline:?} {current:?}");
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a secret reached the logs:\n{text}");
        assert!(!debug.contains(secret.as_str()), "a secret reached Debug output");
    }
}
