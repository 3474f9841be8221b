//! Issue 7 item 1, at exit: a rotated token set whose save failed can be saved on demand
//! ([`Pipeline::save_pending_tokens`]) before the process ends, without waiting for the background retry.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use http::Method;
use salesloft_client::Error;
use salesloft_client::clock::{Clock, ClockInstant, ManualClock};
use salesloft_client::transport::auth::OAuthConfig;
use salesloft_client::transport::{ApiRequest, FileTokenStore, Pipeline, TokenSet, TokenStore};
use salesloft_sim::{SimConfig, Simulator};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

/// A clock whose sleeps never end: the background save retry never gets a turn.
#[derive(Debug, Clone, Default)]
struct StuckClock(ManualClock);

impl Clock for StuckClock {
    fn now(&self) -> ClockInstant {
        self.0.now()
    }

    fn sleep(&self, _duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(std::future::pending())
    }

    fn unix_time(&self) -> Duration {
        self.0.unix_time()
    }
}

/// A file store whose saves fail while `failing` is set.
#[derive(Debug)]
struct FlakyStore {
    file: FileTokenStore,
    failing: AtomicBool,
}

impl TokenStore for FlakyStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, Error>> {
        self.file.load()
    }

    fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), Error>> {
        if self.failing.load(Ordering::SeqCst) {
            return Box::pin(async { Err(Error::token_store("disk full")) });
        }
        self.file.save(tokens)
    }
}

#[tokio::test]
async fn a_pending_token_save_is_flushed_on_demand() {
    let sim = Simulator::start(SimConfig { seed_people: 5, ..SimConfig::default() }).await.expect("sim");
    let http = reqwest::Client::new();
    let minted: Value = http
        .post(format!("{}/__sim/tokens", sim.root_url()))
        .json(&json!({"client_id": "sim-client"}))
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("JSON");
    let clock = StuckClock::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = FileTokenStore::new(dir.path().join("tokens.json"));
    let first = TokenSet {
        access_token: SecretString::from(minted["access_token"].as_str().expect("access").to_string()),
        refresh_token: Some(SecretString::from(minted["refresh_token"].as_str().expect("refresh").to_string())),
        // Expired here: the first call refreshes.
        expires_at: Some(clock.unix_time().as_secs()),
        issued_at: None,
        scope: None,
    };
    file.save(&first).await.expect("seed the file");
    let store = Arc::new(FlakyStore { file, failing: AtomicBool::new(true) });
    let config = OAuthConfig::new(
        OAuthConfig::token_url_for(sim.base_url()),
        "sim-client",
        SecretString::from("sim-secret".to_string()),
    );
    let pipeline = Pipeline::builder(sim.base_url())
        .oauth(config, store.clone())
        .clock(Arc::new(clock))
        .build()
        .expect("pipeline");

    pipeline.execute(ApiRequest::new("me.get", Method::GET, "me")).await.expect("refreshed; save pending");
    let error = pipeline.save_pending_tokens().await.expect_err("the store still fails");
    assert!(matches!(error, Error::TokenStore { .. }), "{error:?}");
    assert!(store.load().await.expect("load").expect("tokens").same_access_token(&first), "nothing saved yet");

    store.failing.store(false, Ordering::SeqCst);
    pipeline.save_pending_tokens().await.expect("saved on demand");
    let saved = store.load().await.expect("load").expect("tokens");
    assert!(!saved.same_access_token(&first), "the file holds the rotated set");
    let refresh = saved.refresh_token.as_ref().expect("refresh").expose_secret().to_string();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", "sim-client"),
        ("client_secret", "sim-secret"),
    ];
    let status = http.post(format!("{}/oauth/token", sim.root_url())).form(&form).send().await.expect("refresh");
    assert_eq!(status.status().as_u16(), 200, "the saved refresh token is the grant's live one");
    pipeline.save_pending_tokens().await.expect("nothing pending is a no-op");
}
