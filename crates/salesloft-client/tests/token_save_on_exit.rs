//! Issue 7 item 1, at exit: a rotated token set whose save failed can be saved on demand
//! ([`Pipeline::save_pending_tokens`]) before the process ends, without waiting for the background retry.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::future::BoxFuture;
use http::Method;
use salesloft_client::Error;
use salesloft_client::clock::{Clock, ClockInstant, ManualClock};
use salesloft_client::transport::{ApiRequest, FileTokenStore, Pipeline, TokenStore};
use salesloft_sim::{SimConfig, Simulator};
use secrecy::ExposeSecret;
use support::oauth::{self, FlakyStore};

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

#[tokio::test]
async fn a_pending_token_save_is_flushed_on_demand() {
    let sim = Simulator::start(SimConfig { seed_people: 5, ..SimConfig::default() }).await.expect("sim");
    let minted = oauth::mint(&sim, None).await;
    let clock = StuckClock::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = FileTokenStore::new(dir.path().join("tokens.json"));
    // Expired here: the first call refreshes.
    let first = oauth::token_set(&minted, Some(clock.unix_time().as_secs()), None);
    file.save(&first).await.expect("seed the file");
    let store = Arc::new(FlakyStore::failing(file));
    let pipeline = Pipeline::builder(sim.base_url())
        .oauth(oauth::config(&sim), store.clone())
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
    let status = oauth::refresh(&sim, &refresh).await;
    assert_eq!(status.status().as_u16(), 200, "the saved refresh token is the grant's live one");
    pipeline.save_pending_tokens().await.expect("nothing pending is a no-op");
}
