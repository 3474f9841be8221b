//! Issue 7 item 2: on `invalid_grant` the client re-reads the token store, and when another process has
//! rotated the grant in the meantime it uses that process's tokens instead of failing.
//!
//! The store here hands out a stale set on its first read, as a process that read the store just before
//! another one refreshed would have seen (a store without a cross-process lock, or a writer that does not
//! take it). The cross-process lock itself is exercised by `slprod`'s `token_file_lock` test.

mod support;

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use http::Method;
use salesloft_client::Error;
use salesloft_client::clock::{Clock, ManualClock};
use salesloft_client::transport::{ApiRequest, MemoryTokenStore, Pipeline, TokenSet, TokenStore};
use salesloft_sim::{SimConfig, Simulator};
use serde_json::{Value, json};
use support::oauth;

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

#[tokio::test]
async fn invalid_grant_adopts_the_set_another_process_rotated_to() {
    let sim = Simulator::start(SimConfig { seed_people: 5, ..SimConfig::default() }).await.expect("sim");
    let first = oauth::mint(&sim, None).await;
    // "Another process" refreshes the grant: the first refresh token is now revoked.
    let rotated: Value =
        oauth::refresh(&sim, first["refresh_token"].as_str().expect("refresh")).await.json().await.expect("JSON");

    let clock = ManualClock::new();
    let now = clock.unix_time().as_secs();
    let store = Arc::new(StaleOnce {
        // What this process read just before: the first set, already expired here.
        stale: Mutex::new(Some(oauth::token_set(&first, Some(now), None))),
        inner: MemoryTokenStore::new(Some(oauth::token_set(&rotated, Some(now + 7200), None))),
    });
    let pipeline = Pipeline::builder(sim.base_url())
        .oauth(oauth::config(&sim), store.clone())
        .clock(clock.shared())
        .build()
        .expect("pipeline");

    pipeline.execute(ApiRequest::new("me.get", Method::GET, "me")).await.expect("the rotated set is adopted");
    let stats = support::stats(&sim).await;
    assert_eq!(stats["refreshes"], json!(1), "only the other process refreshed: {stats}");
    assert_eq!(stats["revoked_refresh_presented"], json!(1), "the stale refresh token was tried once: {stats}");
    assert_eq!(stats["by_status"]["200"], json!(2), "the rotation and the call succeeded: {stats}");
}
