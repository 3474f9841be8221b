//! The request pipeline against the real simulator: each checklist behaviour with scripted faults.
//!
//! Time is virtual: the pipeline and the simulator run on one `ManualClock`, whose sleeps are recorded and
//! return at once, so a test asserts the waits a policy asked for without sleeping, while the simulator sees
//! the same passage of time (token expiry, rate-limit minute). `sim.advance_clock` moves the simulator alone.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use salesloft_client::Error;
use salesloft_client::clock::{Clock, ManualClock, SharedClock};
use salesloft_client::transport::auth::{OAuthConfig, OAuthGrant};
use salesloft_client::transport::{
    ApiRequest, Backoff, BreakerConfig, CircuitState, FileTokenStore, IdempotencyKey, Jitter, MemoryTokenStore,
    Pipeline, PipelineBuilder, RateBudgetConfig, RetryConfig, TokenSet, TokenStore,
};
use salesloft_sim::{RunningSim, SimConfig, Simulator};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

struct Harness {
    sim: Arc<RunningSim>,
    clock: ManualClock,
    control: reqwest::Client,
}

impl Harness {
    async fn start(config: SimConfig) -> Self {
        let clock = ManualClock::new();
        let sim = Simulator::start_with_clock(config, clock.shared()).await.expect("simulator starts");
        Self { sim: Arc::new(sim), clock, control: reqwest::Client::new() }
    }

    async fn default() -> Self {
        Self::start(SimConfig { seed_people: 50, ..SimConfig::default() }).await
    }

    /// The clock the pipeline and the simulator share.
    fn linked(&self) -> SharedClock {
        self.clock.shared()
    }

    /// A builder with the API key, the linked clock and deterministic jitter.
    fn builder(&self) -> PipelineBuilder {
        Pipeline::builder(self.sim.base_url())
            .api_key(SecretString::from(self.sim.api_key().to_string()))
            .clock(self.linked())
            .retry(RetryConfig { seed: Some(7), ..RetryConfig::default() })
    }

    fn oauth(&self, store: Arc<dyn TokenStore>) -> PipelineBuilder {
        let config = OAuthConfig::new(
            OAuthConfig::token_url_for(self.sim.base_url()),
            "sim-client",
            SecretString::from("sim-secret".to_string()),
        );
        Pipeline::builder(self.sim.base_url())
            .oauth(config, store)
            .clock(self.linked())
            .retry(RetryConfig { seed: Some(7), ..RetryConfig::default() })
    }

    async fn control(&self, method: Method, path: &str, body: Value) -> Value {
        let url = format!("{}/__sim/{path}", self.sim.root_url());
        let response = self.control.request(method, &url).json(&body).send().await.expect("control call");
        let status = response.status();
        let text = response.text().await.expect("control body");
        assert!(status.is_success(), "control {path} answered {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn fault(&self, method: &str, path: &str, sequence: Value) {
        self.control(Method::POST, "faults", json!({"method": method, "path": path, "sequence": sequence})).await;
    }

    async fn stats(&self) -> Value {
        self.control(Method::GET, "stats", Value::Null).await
    }

    async fn route_count(&self, route: &str) -> u64 {
        self.stats().await["by_route"][route].as_u64().unwrap_or(0)
    }

    /// Mints a token pair in the simulator and returns it as the client would have stored it.
    async fn minted_tokens(&self, expires_in: u64) -> TokenSet {
        let answer =
            self.control(Method::POST, "tokens", json!({"client_id": "sim-client", "expires_in": expires_in})).await;
        let now = self.clock.unix_time().as_secs();
        TokenSet {
            access_token: SecretString::from(answer["access_token"].as_str().expect("access_token").to_string()),
            refresh_token: Some(SecretString::from(answer["refresh_token"].as_str().expect("refresh").to_string())),
            expires_at: Some(now + expires_in),
            issued_at: Some(now),
            scope: None,
        }
    }

    /// Exchanges `refresh_token` at the token endpoint directly; returns the HTTP status and body.
    async fn try_refresh(&self, refresh_token: &str) -> (u16, Value) {
        let url = format!("{}/oauth/token", self.sim.root_url());
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", "sim-client"),
            ("client_secret", "sim-secret"),
        ];
        let response = self.control.post(&url).form(&form).send().await.expect("token call");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn people() -> ApiRequest {
    ApiRequest::new("people.list", Method::GET, "people").query("per_page", "5")
}

fn me() -> ApiRequest {
    ApiRequest::new("me.get", Method::GET, "me")
}

fn create_person(email: &str) -> ApiRequest {
    ApiRequest::new("people.create", Method::POST, "people")
        .json(json!({"email_address": email, "first_name": "Jane", "last_name": "Doe"}))
}

// ---- auth -------------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_call_repeated() {
    let h = Harness::default().await;
    let tokens = h.minted_tokens(7200).await;
    let old_refresh = tokens.refresh_token.as_ref().expect("refresh").expose_secret().to_string();
    let store = Arc::new(MemoryTokenStore::new(Some(tokens.clone())));
    let pipeline = h.oauth(store.clone()).build().expect("pipeline");
    // The simulator's token expires; the client still believes it valid, so it learns from the 401.
    h.sim.advance_clock(Duration::from_secs(7300));

    let response = pipeline.execute(me()).await.expect("refreshed and repeated");
    assert_eq!(response.attempts, 2, "expected the 401 attempt plus one repeat");
    let stats = h.stats().await;
    assert_eq!(stats["refreshes"], json!(1), "expected exactly one refresh, stats {stats}");

    let saved = store.current().expect("store holds tokens");
    assert!(!saved.same_access_token(&tokens), "the store must hold the new access token");
    let new_refresh = saved.refresh_token.as_ref().expect("rotated refresh token").expose_secret().to_string();
    assert_ne!(new_refresh, old_refresh, "the rotated refresh token was saved");
    let (status, body) = h.try_refresh(&old_refresh).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "old refresh token revoked: {body}");
}

#[tokio::test]
async fn twenty_concurrent_callers_hitting_401_cause_one_refresh() {
    let h = Harness::default().await;
    let store = Arc::new(MemoryTokenStore::new(Some(h.minted_tokens(7200).await)));
    let pipeline = h.oauth(store).build().expect("pipeline");
    h.sim.advance_clock(Duration::from_secs(7300));

    let calls = (0..20).map(|_| {
        let pipeline = pipeline.clone();
        tokio::spawn(async move { pipeline.execute(me()).await })
    });
    for call in futures::future::join_all(calls).await {
        call.expect("task").expect("call succeeds after the shared refresh");
    }
    let stats = h.stats().await;
    assert_eq!(stats["refreshes"], json!(1), "expected one refresh for 20 callers, stats {stats}");
}

#[tokio::test]
async fn twenty_concurrent_callers_near_expiry_cause_one_proactive_refresh() {
    let h = Harness::default().await;
    let tokens = h.minted_tokens(60).await;
    let store = Arc::new(MemoryTokenStore::new(Some(tokens.clone())));
    let pipeline = h.oauth(store.clone()).build().expect("pipeline");
    // 55 s into a 60 s token: within the 6 s skew (10 % of the lifetime), still valid at the simulator.
    h.clock.advance(Duration::from_secs(55)); // moves the simulator too: one clock

    let calls = (0..20).map(|_| {
        let pipeline = pipeline.clone();
        tokio::spawn(async move { pipeline.execute(me()).await })
    });
    for call in futures::future::join_all(calls).await {
        let response = call.expect("task").expect("call succeeds");
        assert_eq!(response.attempts, 1, "a proactive refresh needs no 401");
    }
    let stats = h.stats().await;
    assert_eq!(stats["refreshes"], json!(1), "expected one refresh for 20 callers, stats {stats}");
    assert_eq!(stats["by_status"]["401"], Value::Null, "no caller should have seen a 401, stats {stats}");
    assert!(!store.current().expect("tokens").same_access_token(&tokens));
}

#[tokio::test]
async fn the_file_store_holds_the_rotated_refresh_token() {
    let h = Harness::default().await;
    let tokens = h.minted_tokens(7200).await;
    let old_refresh = tokens.refresh_token.as_ref().expect("refresh").expose_secret().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(FileTokenStore::new(dir.path().join("tokens.json")));
    store.save(&tokens).await.expect("seed the file");
    let pipeline = h.oauth(store.clone()).build().expect("pipeline");
    h.sim.advance_clock(Duration::from_secs(7300));

    pipeline.execute(me()).await.expect("refreshed");
    let on_disk = store.load().await.expect("load").expect("tokens on disk");
    let new_refresh = on_disk.refresh_token.as_ref().expect("refresh").expose_secret().to_string();
    assert_ne!(new_refresh, old_refresh, "the file must hold the rotated refresh token");
    let (status, body) = h.try_refresh(&new_refresh).await;
    assert_eq!(status, 200, "the saved refresh token is the live one: {body}");
}

#[tokio::test]
async fn a_failed_proactive_refresh_keeps_the_valid_token_and_cools_down() {
    let h = Harness::default().await;
    let tokens = h.minted_tokens(7200).await;
    let pipeline = h.oauth(Arc::new(MemoryTokenStore::new(Some(tokens)))).build().expect("pipeline");
    pipeline.execute(me()).await.expect("fresh token");
    // 4 minutes before expiry: inside the 5-minute skew. The token endpoint is down.
    h.clock.advance(Duration::from_secs(7200 - 240));
    h.fault("POST", "/oauth/token", json!([{"status": 503}, {"status": 503}])).await;

    for _ in 0..3 {
        pipeline.execute(me()).await.expect("the still-valid token is used");
    }
    assert_eq!(h.route_count("POST /oauth/token").await, 1, "one refresh attempt, then the cooldown");
    h.clock.advance(Duration::from_secs(31));
    pipeline.execute(me()).await.expect("still valid");
    assert_eq!(h.route_count("POST /oauth/token").await, 2, "after the cooldown the refresh is tried again");
}

// A rotated set whose save fails is kept and used: tests/token_save_retry.rs.

#[tokio::test]
async fn a_revoked_refresh_token_is_an_auth_error() {
    let h = Harness::default().await;
    let mut tokens = h.minted_tokens(60).await;
    tokens.refresh_token = Some(SecretString::from("not-a-refresh-token".to_string()));
    tokens.expires_at = Some(h.clock.unix_time().as_secs()); // expired locally: refresh before sending
    let pipeline = h.oauth(Arc::new(MemoryTokenStore::new(Some(tokens)))).build().expect("pipeline");
    match pipeline.execute(me()).await {
        Err(Error::Auth { code, .. }) => assert_eq!(code.as_deref(), Some("invalid_grant")),
        other => panic!("expected Error::Auth(invalid_grant), got {other:?}"),
    }
    assert_eq!(h.route_count("GET /v2/me").await, 0, "nothing sent without a valid token");
}

#[tokio::test]
async fn client_credentials_start_empty_and_fetch_a_token() {
    let h = Harness::default().await;
    let store = Arc::new(MemoryTokenStore::default());
    let mut config = OAuthConfig::new(
        OAuthConfig::token_url_for(h.sim.base_url()),
        "sim-client",
        SecretString::from("sim-secret".to_string()),
    );
    config.grant = OAuthGrant::ClientCredentials { scope: None };
    let pipeline =
        Pipeline::builder(h.sim.base_url()).oauth(config, store.clone()).clock(h.linked()).build().expect("pipeline");
    pipeline.execute(me()).await.expect("client-credentials token works");
    let saved = store.current().expect("token saved");
    assert!(saved.refresh_token.is_none(), "client credentials have no refresh token");
}

// ---- retry ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn retry_after_of_a_429_is_honoured() {
    let h = Harness::default().await;
    let pipeline = h.builder().build().expect("pipeline");
    h.fault("GET", "/v2/people", json!([{"status": 429, "retry_after": "3"}])).await;

    let response = pipeline.execute(people()).await.expect("second attempt succeeds");
    assert_eq!(response.attempts, 2);
    let sleeps = h.clock.sleeps();
    assert_eq!(sleeps.len(), 1, "one wait expected, got {sleeps:?}");
    assert!(sleeps[0] >= Duration::from_secs(3), "expected a wait ≥ Retry-After 3 s, got {sleeps:?}");
}

#[tokio::test]
async fn server_errors_get_exactly_three_attempts_with_growing_delays() {
    let h = Harness::default().await;
    let retry =
        RetryConfig { backoff: Backoff { jitter: Jitter::None, ..Backoff::default() }, ..RetryConfig::default() };
    let pipeline = h.builder().retry(retry).build().expect("pipeline");
    h.fault("GET", "/v2/people", json!([{"status": 503}, {"status": 502}, {"status": 500}, {"status": 500}])).await;

    let error = pipeline.execute(people()).await.expect_err("three 5xx");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500), "the last answer is returned, got {error:?}");
    assert_eq!(h.route_count("GET /v2/people").await, 3, "expected exactly 3 attempts");
    assert_eq!(h.clock.sleeps(), vec![Duration::from_millis(500), Duration::from_secs(1)], "growing delays");
}

#[tokio::test]
async fn full_jitter_delays_stay_under_their_growing_ceilings_and_the_third_attempt_can_succeed() {
    let h = Harness::default().await;
    let pipeline = h.builder().build().expect("pipeline");
    h.fault("GET", "/v2/people", json!([{"status": 503}, {"drop": true}])).await;

    let response = pipeline.execute(people()).await.expect("third attempt succeeds");
    assert_eq!(response.attempts, 3);
    let sleeps = h.clock.sleeps();
    let backoff = Backoff::default();
    assert_eq!(sleeps.len(), 2, "two waits expected, got {sleeps:?}");
    for (n, sleep) in sleeps.iter().enumerate() {
        assert!(
            *sleep <= backoff.ceiling(n as u32),
            "wait {n} = {sleep:?} above ceiling {:?}",
            backoff.ceiling(n as u32)
        );
    }
}

#[tokio::test]
async fn a_post_without_an_idempotency_key_is_not_retried_on_5xx() {
    let h = Harness::default().await;
    let pipeline = h.builder().build().expect("pipeline");
    h.fault("POST", "/v2/people", json!([{"status": 500}])).await;
    let error = pipeline.execute(create_person("once@example.com")).await.expect_err("500");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500));
    assert!(error.may_have_been_sent(), "a 500 to a POST is in doubt");
    assert_eq!(h.route_count("POST /v2/people").await, 1, "expected a single attempt");

    h.fault("POST", "/v2/people", json!([{"status": 500}])).await;
    let keyed = create_person("keyed@example.com").idempotency_key(IdempotencyKey::random());
    let response = pipeline.execute(keyed).await.expect("a keyed POST is retried");
    assert_eq!(response.attempts, 2);
    assert_eq!(h.route_count("POST /v2/people").await, 3);
}

/// The checklist's "a retry creates a duplicate person": the create commits but its answer is lost. A blind
/// POST would not be retried at all (in doubt); the upsert's keyed create is retried, meets the 422 "taken"
/// and falls back to lookup + update, so there is still exactly one person.
#[tokio::test]
async fn a_create_whose_answer_is_lost_neither_duplicates_nor_fails_the_upsert() {
    let h = Harness::default().await;
    let client = salesloft_client::Client::new(h.builder().build().expect("pipeline"));

    h.fault("POST", "/v2/people", json!([{"drop_after": true}])).await;
    let error = client
        .people()
        .create(&salesloft_client::models::PersonInput::with_email("blind@example.com"))
        .await
        .expect_err("lost answer");
    assert!(error.may_have_been_sent(), "a lost answer to a POST is in doubt: {error:?}");
    assert_eq!(h.route_count("POST /v2/people").await, 1, "an unkeyed POST is never repeated");

    h.fault("POST", "/v2/people", json!([{"drop_after": true}])).await;
    let upserted = client
        .people()
        .upsert_by_email(salesloft_client::models::PersonInput::with_email("lost@example.com").title("Once"))
        .send()
        .await
        .expect("the upsert recovers");
    let found = client.people().find_by_emails(["lost@example.com"]).await.expect("lookup");
    assert_eq!(found.len(), 1, "exactly one person: {found:?}");
    assert_eq!(upserted.person().map(|p| p.id), Some(found[0].id));
    assert_eq!(found[0].title.as_deref(), Some("Once"));
    assert_eq!(h.route_count("POST /v2/people").await, 3, "the keyed create was sent twice (1 + 2)");
}

#[tokio::test]
async fn a_422_is_a_typed_validation_error_and_not_retried() {
    let h = Harness::default().await;
    let pipeline = h.builder().build().expect("pipeline");
    pipeline.execute(create_person("dup@example.com")).await.expect("first create");
    let error = pipeline.execute(create_person("dup@example.com")).await.expect_err("duplicate email");
    let validation = error.validation().unwrap_or_else(|| panic!("expected Error::Validation, got {error:?}"));
    assert!(validation.is_taken("email_address"), "expected email_address taken, got {validation:?}");
    assert!(!error.may_have_been_sent());
    assert_eq!(h.route_count("POST /v2/people").await, 2);
}

#[tokio::test]
async fn the_retry_budget_stops_a_storm() {
    let h = Harness::default().await;
    let retry = RetryConfig {
        budget: salesloft_client::transport::RetryBudgetConfig { capacity: 10, ..Default::default() },
        ..RetryConfig::default()
    };
    let breaker = BreakerConfig { enabled: false, ..BreakerConfig::default() };
    let pipeline = h.builder().retry(retry).breaker(breaker).build().expect("pipeline");
    h.control(Method::POST, "outage", json!({"seconds": 3600})).await;
    // 10 tokens pay two retries: the first call uses both, the second cannot retry.
    let first = pipeline.execute(people()).await.expect_err("outage");
    assert!(matches!(first, Error::Api { .. }), "expected the 503, got {first:?}");
    let second = pipeline.execute(people()).await.expect_err("outage");
    match second {
        Error::RetryBudgetExhausted { attempts, .. } => assert_eq!(attempts, 1),
        other => panic!("expected RetryBudgetExhausted, got {other:?}"),
    }
    assert_eq!(pipeline.state().retry_tokens, 0);
}

// ---- circuit breaker --------------------------------------------------------------------------------------

#[tokio::test]
async fn the_breaker_opens_in_an_outage_fails_fast_and_recovers_through_half_open() {
    let h = Harness::default().await;
    let pipeline = h.builder().build().expect("pipeline");
    h.control(Method::POST, "outage", json!({"seconds": 600})).await;

    let mut calls = 0;
    while pipeline.state().circuit != CircuitState::Open {
        calls += 1;
        assert!(calls <= 5, "the breaker should open within 5 calls");
        let error = pipeline.execute(people()).await.expect_err("outage");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(503), "got {error:?}");
    }
    let sent = h.route_count("GET /v2/people").await;
    assert_eq!(sent, 5, "5 consecutive failed attempts open the breaker");

    for _ in 0..10 {
        match pipeline.execute(people()).await {
            Err(Error::CircuitOpen { retry_in, .. }) => {
                assert!(retry_in <= Duration::from_secs(30))
            }
            other => panic!("expected CircuitOpen, got {other:?}"),
        }
    }
    assert_eq!(h.route_count("GET /v2/people").await, sent, "open breaker sends nothing");

    h.control(Method::DELETE, "outage", Value::Null).await;
    h.clock.advance(Duration::from_secs(30));
    assert_eq!(pipeline.state().circuit, CircuitState::HalfOpen);
    for _ in 0..3 {
        pipeline.execute(people()).await.expect("probe succeeds");
    }
    assert_eq!(pipeline.state().circuit, CircuitState::Closed);
}

#[tokio::test]
async fn rate_limiting_does_not_open_the_breaker() {
    let h = Harness::default().await;
    let pipeline =
        h.builder().retry(RetryConfig { max_attempts: 1, ..RetryConfig::default() }).build().expect("pipeline");
    for _ in 0..12 {
        h.fault("GET", "/v2/people", json!([{"status": 429, "retry_after": "1"}])).await;
        let error = pipeline.execute(people()).await.expect_err("429");
        assert!(matches!(error, Error::RateLimited { .. }), "got {error:?}");
    }
    assert_eq!(pipeline.state().circuit, CircuitState::Closed);
}

// ---- rate budget ------------------------------------------------------------------------------------------

#[tokio::test]
async fn callers_wait_for_budget_instead_of_collecting_429s() {
    let h = Harness::start(SimConfig { seed_people: 50, budget_per_minute: 10, ..SimConfig::default() }).await;
    let pipeline = h
        .builder()
        .rate_budget(RateBudgetConfig { limit: 10, ..RateBudgetConfig::default() })
        .build()
        .expect("pipeline");
    for _ in 0..35 {
        pipeline.execute(people()).await.expect("served within budget");
    }
    let stats = h.stats().await;
    assert_eq!(stats["rate_limited"], json!(0), "expected zero 429s, stats {stats}");
    assert_eq!(stats["by_route"]["GET /v2/people"], json!(35));
    // 35 calls at 10 per window wait for 3 windows (2 if the simulator's calendar minute happens to turn
    // during the test and the pipeline re-aligns on the jump in the reported remaining).
    let waits = h.clock.sleeps();
    assert!((2..=3).contains(&waits.len()), "expected 2–3 waits for the window, got {waits:?}");
    assert!(waits.iter().all(|w| *w <= Duration::from_secs(60)), "no wait beyond a window: {waits:?}");
    let snapshot = pipeline.state().budget;
    assert!(snapshot.last_reported_remaining.is_some(), "the budget follows the header, got {snapshot:?}");
}

#[tokio::test]
async fn deep_pages_are_priced_and_the_estimate_follows_the_server() {
    let h = Harness::default().await;
    let pipeline = h.builder().build().expect("pipeline");
    let deep = ApiRequest::new("people.list", Method::GET, "people").query("per_page", "1").query("page", "151");
    let response = pipeline.execute(deep).await.expect("deep page");
    assert_eq!(response.rate.endpoint_cost, Some(8), "page 151 costs 8 (FACTS.md §2.2)");
    assert_eq!(response.rate.remaining_minute, Some(592));
    assert_eq!(pipeline.state().budget.remaining, 592);
}

#[tokio::test]
async fn an_unexpected_429_without_retry_after_waits_for_the_window() {
    let h = Harness::start(SimConfig {
        seed_people: 50,
        send_retry_after: false,
        budget_per_minute: 3,
        ..SimConfig::default()
    })
    .await;
    let pipeline = h.builder().build().expect("pipeline");
    pipeline.execute(people()).await.expect("within the server budget");
    // Another integration of the team spends the rest of the minute (FACTS.md §2.1: the budget is per team).
    let other = format!("{}/people?per_page=1", h.sim.base_url());
    for _ in 0..2 {
        let answer = h.control.get(&other).bearer_auth(h.sim.api_key()).send().await.expect("other integration");
        assert_eq!(answer.status().as_u16(), 200);
    }
    // The pipeline's estimate (2 left) is stale: it gets a 429 without Retry-After, waits for its window to
    // reset, then succeeds.
    let response = pipeline.execute(people()).await.expect("served after the window");
    assert_eq!(response.attempts, 2);
    let waits = h.clock.sleeps();
    assert_eq!(waits.len(), 1, "one wait, got {waits:?}");
    assert!(waits[0] > Duration::from_secs(50), "waited for the window reset, got {waits:?}");
}

// ---- raw (proxy) calls ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_raw_call_gets_salesloft_s_final_answer_whatever_its_status_and_sends_its_body_byte_for_byte() {
    let h = Harness::default().await;
    let pipeline = Pipeline::builder(h.sim.base_url())
        .api_key(h.sim.api_key().to_string().into())
        .clock(h.linked())
        .build()
        .expect("pipeline");
    let missing = pipeline
        .execute(ApiRequest::new("proxy", Method::GET, "people/999999999").answer_any_status())
        .await
        .expect("a 404 is an answer for a raw call");
    assert_eq!(missing.status, 404);
    assert!(String::from_utf8_lossy(&missing.body).contains("error"), "SalesLoft's body is kept");
    assert!(missing.headers.contains_key("x-ratelimit-remaining-minute"));

    let body = br#"{"email_address":"raw@example.com","first_name":"Raw"}"#;
    let created = pipeline
        .execute(
            ApiRequest::new("proxy", Method::POST, "people")
                .raw_body("application/json", bytes::Bytes::from_static(body))
                .answer_any_status(),
        )
        .await
        .expect("created");
    assert!(created.status.is_success(), "{}", created.status);
    let again = pipeline
        .execute(
            ApiRequest::new("proxy", Method::POST, "people")
                .raw_body("application/json", bytes::Bytes::from_static(body))
                .answer_any_status(),
        )
        .await
        .expect("a 422 is an answer for a raw call");
    assert_eq!(again.status, 422, "the email is taken");
}
