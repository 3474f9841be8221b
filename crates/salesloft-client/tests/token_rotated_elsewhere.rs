//! Issue 7 item 2: on `invalid_grant` the client re-reads the token store, and when another process has
//! rotated the grant in the meantime it uses that process's tokens instead of failing.
//!
//! The store here hands out a stale set on its first read, as a process that read the store just before
//! another one refreshed would have seen (a store without a cross-process lock, or a writer that does not
//! take it). The cross-process lock itself is exercised by `slprod`'s `token_file_lock` test.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use http::Method;
use salesloft_client::Error;
use salesloft_client::clock::{Clock, ManualClock};
use salesloft_client::transport::auth::OAuthConfig;
use salesloft_client::transport::{ApiRequest, MemoryTokenStore, Pipeline, TokenSet, TokenStore};
use salesloft_sim::{SimConfig, Simulator};
use secrecy::SecretString;
use serde_json::{Value, json};

/// Answers its first `load` with `stale`, then with what it holds.
#[derive(Debug)]
struct StaleOnce {
    stale: Mutex<Option<TokenSet>>,
    inner: MemoryTokenStore,
}

impl TokenStore for StaleOnce {
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, Error>> {
        match self.stale.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(stale) => Box::pin(async move { Ok(Some(stale)) }),
            None => self.inner.load(),
        }
    }

    fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), Error>> {
        self.inner.save(tokens)
    }
}

fn token_set(answer: &Value, expires_at: u64) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(answer["access_token"].as_str().expect("access").to_string()),
        refresh_token: Some(SecretString::from(answer["refresh_token"].as_str().expect("refresh").to_string())),
        expires_at: Some(expires_at),
        issued_at: None,
        scope: None,
    }
}

#[tokio::test]
async fn invalid_grant_adopts_the_set_another_process_rotated_to() {
    let sim = Simulator::start(SimConfig { seed_people: 5, ..SimConfig::default() }).await.expect("sim");
    let http = reqwest::Client::new();
    let first: Value = http
        .post(format!("{}/__sim/tokens", sim.root_url()))
        .json(&json!({"client_id": "sim-client"}))
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("JSON");
    // "Another process" refreshes the grant: the first refresh token is now revoked.
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", first["refresh_token"].as_str().expect("refresh")),
        ("client_id", "sim-client"),
        ("client_secret", "sim-secret"),
    ];
    let rotated: Value = http
        .post(format!("{}/oauth/token", sim.root_url()))
        .form(&form)
        .send()
        .await
        .expect("refresh")
        .json()
        .await
        .expect("JSON");

    let clock = ManualClock::new();
    let now = clock.unix_time().as_secs();
    let store = Arc::new(StaleOnce {
        // What this process read just before: the first set, already expired here.
        stale: Mutex::new(Some(token_set(&first, now))),
        inner: MemoryTokenStore::new(Some(token_set(&rotated, now + 7200))),
    });
    let config = OAuthConfig::new(
        OAuthConfig::token_url_for(sim.base_url()),
        "sim-client",
        SecretString::from("sim-secret".to_string()),
    );
    let pipeline =
        Pipeline::builder(sim.base_url()).oauth(config, store.clone()).clock(clock.shared()).build().expect("pipeline");

    pipeline.execute(ApiRequest::new("me.get", Method::GET, "me")).await.expect("the rotated set is adopted");
    let stats: Value =
        http.get(format!("{}/__sim/stats", sim.root_url())).send().await.expect("stats").json().await.expect("JSON");
    assert_eq!(stats["refreshes"], json!(1), "only the other process refreshed: {stats}");
    assert_eq!(stats["revoked_refresh_presented"], json!(1), "the stale refresh token was tried once: {stats}");
    assert_eq!(stats["by_status"]["200"], json!(2), "the rotation and the call succeeded: {stats}");
}
