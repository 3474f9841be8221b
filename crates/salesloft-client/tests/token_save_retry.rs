//! Issue 7 item 1: a rotated OAuth token set is never lost when the token store cannot save it.
//!
//! SalesLoft revokes the old refresh token as soon as it answers a refresh (FACTS.md §1.3), so a client that
//! drops a set it could not save has lost the grant. The client must keep the new set in memory, use it, count
//! and log the failure (without token values), and retry the save until the store holds the newest set.
//!
//! Time is injected: the pipeline runs on a [`GatedClock`] whose sleeps wait for the test to release them, so
//! each save retry happens exactly when the test says. One test per binary: the metrics recorder is global.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::future::BoxFuture;
use http::Method;
use metrics_exporter_prometheus::PrometheusBuilder;
use salesloft_client::clock::{Clock, ClockInstant, ManualClock};
use salesloft_client::transport::auth::TOKEN_SAVE_FAILURES_TOTAL;
use salesloft_client::transport::{ApiRequest, FileTokenStore, Pipeline, TokenStore};
use salesloft_sim::{SimConfig, Simulator};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use support::oauth::{self, FlakyStore};

/// A manual clock whose sleeps block until the test releases them.
#[derive(Debug, Clone)]
struct GatedClock {
    manual: ManualClock,
    gate: Arc<tokio::sync::Semaphore>,
}

impl GatedClock {
    fn release(&self, sleeps: usize) {
        self.gate.add_permits(sleeps);
    }
}

impl Clock for GatedClock {
    fn now(&self) -> ClockInstant {
        self.manual.now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        let gate = Arc::clone(&self.gate);
        let manual = self.manual.clone();
        Box::pin(async move {
            if let Ok(permit) = gate.acquire_owned().await {
                permit.forget();
            }
            manual.advance(duration);
        })
    }

    fn unix_time(&self) -> Duration {
        self.manual.unix_time()
    }
}

/// Yields until `done` holds (bounded: the background task needs only a few polls).
async fn settle(mut done: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the background save retry did not get there");
}

fn me() -> ApiRequest {
    ApiRequest::new("me.get", Method::GET, "me")
}

#[tokio::test]
async fn a_rotated_token_set_is_used_while_its_save_fails_and_the_file_ends_with_the_newest_set() {
    let metrics = PrometheusBuilder::new().install_recorder().expect("recorder");
    let (logs, _logging) = support::logs::capture();

    let config = SimConfig { seed_people: 5, access_token_lifetime: Duration::from_secs(60), ..SimConfig::default() };
    let sim = Simulator::start(config).await.expect("sim");
    let clock = GatedClock { manual: ManualClock::new(), gate: Arc::new(tokio::sync::Semaphore::new(0)) };
    let minted = oauth::mint(&sim, Some(60)).await;
    let now = clock.unix_time().as_secs();
    let first = oauth::token_set(&minted, Some(now + 60), Some(now));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = FileTokenStore::new(dir.path().join("tokens.json"));
    file.save(&first).await.expect("seed the file");
    let store = Arc::new(FlakyStore::failing(file));
    let pipeline = Pipeline::builder(sim.base_url())
        .oauth(oauth::config(&sim), store.clone())
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("pipeline");
    let expire = |by: u64| {
        clock.manual.advance(Duration::from_secs(by));
        sim.advance_clock(Duration::from_secs(by));
    };

    // The token expires; the refresh succeeds but its save fails: the call still succeeds.
    expire(61);
    pipeline.execute(me()).await.expect("the rotated set is used although its save failed");
    pipeline.execute(me()).await.expect("and used again without another refresh");
    let stats = support::stats(&sim).await;
    assert_eq!(stats["refreshes"], json!(1), "one refresh so far, stats {stats}");
    assert_eq!(stats["by_status"]["401"], Value::Null, "no call was refused, stats {stats}");
    assert!(store.load().await.expect("load").expect("tokens").same_access_token(&first), "the file is stale");

    // Expires again while the save is still pending: the refresh spends the in-memory refresh token (the file's
    // is revoked), and the call succeeds.
    expire(61);
    pipeline.execute(me()).await.expect("the second refresh uses the held refresh token");
    let stats = support::stats(&sim).await;
    assert_eq!(stats["refreshes"], json!(2), "two refreshes, stats {stats}");
    assert_eq!(store.attempts.load(Ordering::SeqCst), 2, "one failed save per refresh");

    // Two retries (on the injected clock) still fail, then the store recovers and the third lands.
    for expected in [3, 4] {
        clock.release(1);
        settle(|| store.attempts.load(Ordering::SeqCst) == expected).await;
    }
    store.failing.store(false, Ordering::SeqCst);
    clock.release(1);
    settle(|| store.attempts.load(Ordering::SeqCst) == 5).await;
    let saved = store.load().await.expect("load").expect("tokens");
    // settle() saw the attempt start; the write completes on a blocking thread.
    let saved = if saved.same_access_token(&first) {
        let mut latest = saved;
        for _ in 0..1000 {
            tokio::task::yield_now().await;
            latest = store.load().await.expect("load").expect("tokens");
            if !latest.same_access_token(&first) {
                break;
            }
        }
        latest
    } else {
        saved
    };
    let refresh = saved.refresh_token.as_ref().expect("refresh token").expose_secret().to_string();
    assert_eq!(
        oauth::refresh(&sim, &refresh).await.status().as_u16(),
        200,
        "the file holds the grant's newest refresh token"
    );
    assert_ne!(
        refresh,
        first.refresh_token.as_ref().expect("refresh").expose_secret(),
        "the file moved past the first set"
    );

    let rendered = metrics.render();
    let line = format!("{TOKEN_SAVE_FAILURES_TOTAL} 4");
    assert!(rendered.contains(&line), "expected {line:?} in the metrics:\n{rendered}");
    let text = logs.text();
    assert!(text.contains("could not save the rotated SalesLoft tokens"), "the failure is logged:\n{text}");
    assert!(!text.contains(&refresh) && !text.contains(first.access_token.expose_secret()), "no token in the logs");
}
