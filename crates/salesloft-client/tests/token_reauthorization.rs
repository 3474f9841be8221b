//! Issue 11: a refresh refused with `invalid_grant` when nobody else rotated the grant marks the connection as
//! needing re-authorisation. The mark raises the alert gauge, shows in the pipeline state (the gateway's
//! `/health`), and stops refreshing: within the cooldown no call reaches the token endpoint, after it the
//! store is read again — the same dead set restarts the cooldown, a newly authorised set clears the mark.
//! SalesLoft revokes every older refresh token on each refresh (FACTS.md §1.3), so presenting a dead one again
//! is never useful. One test per binary: the metrics recorder is global.

mod support;

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use metrics_exporter_prometheus::PrometheusBuilder;
use salesloft_client::Error;
use salesloft_client::clock::{Clock, ManualClock};
use salesloft_client::transport::auth::{REAUTHORIZATION_COOLDOWN, REAUTHORIZATION_REQUIRED};
use salesloft_client::transport::{ApiRequest, MemoryTokenStore, Pipeline, TokenStore};
use salesloft_sim::{SimConfig, Simulator};
use serde_json::json;
use support::oauth;

fn me() -> ApiRequest {
    ApiRequest::new("me.get", Method::GET, "me")
}

#[tokio::test]
async fn a_dead_grant_marks_the_connection_stops_refreshing_and_a_new_login_revives_it() {
    let metrics = PrometheusBuilder::new().install_recorder().expect("recorder");
    let sim = Simulator::start(SimConfig { seed_people: 1, ..SimConfig::default() }).await.expect("sim");
    let clock = ManualClock::new();
    let now = clock.unix_time().as_secs();
    // The stored set's refresh token was spent outside slprod (another tool, a manual test): it is revoked,
    // and the store still holds it, so nobody in slprod's reach rotated it.
    let minted = oauth::mint(&sim, Some(60)).await;
    let spent = oauth::refresh(&sim, minted["refresh_token"].as_str().expect("refresh")).await;
    assert!(spent.status().is_success());
    let store = Arc::new(MemoryTokenStore::new(Some(oauth::token_set(&minted, Some(now), Some(now - 60)))));
    let pipeline = Pipeline::builder(sim.base_url())
        .oauth(oauth::config(&sim), store.clone())
        .clock(clock.shared())
        .build()
        .expect("pipeline");

    let error = pipeline.execute(me()).await.expect_err("the grant is dead");
    assert!(matches!(&error, Error::Auth { code: Some(code), .. } if code == "invalid_grant"), "{error:?}");
    assert!(pipeline.state().needs_reauthorization, "the connection is marked");
    assert!(metrics.render().contains(&format!("{REAUTHORIZATION_REQUIRED} 1")), "{}", metrics.render());
    let refreshes = support::stats(&sim).await["refreshes"].clone();

    // Within the cooldown: failing at once, the token endpoint is not asked again.
    for _ in 0..3 {
        let error = pipeline.execute(me()).await.expect_err("still dead");
        assert!(error.to_string().contains("slprod auth login"), "{error}");
    }
    clock.advance(REAUTHORIZATION_COOLDOWN + Duration::from_secs(1));
    // After it, the store still holds the dead set: the cooldown restarts without presenting it.
    pipeline.execute(me()).await.expect_err("the same dead set");
    let stats = support::stats(&sim).await;
    assert_eq!(stats["refreshes"], refreshes, "no refresh while marked: {stats}");
    assert_eq!(stats["revoked_refresh_presented"], json!(1), "the dead token was presented once only: {stats}");

    // An operator runs `slprod auth login`: a new grant lands in the store.
    let login = oauth::mint(&sim, Some(3600)).await;
    let now = clock.unix_time().as_secs();
    store.save(&oauth::token_set(&login, Some(now + 3600), Some(now))).await.expect("login");
    pipeline.execute(me()).await.expect_err("still within the restarted cooldown");
    clock.advance(REAUTHORIZATION_COOLDOWN + Duration::from_secs(1));
    pipeline.execute(me()).await.expect("the new grant is adopted after the cooldown");
    assert!(!pipeline.state().needs_reauthorization, "the mark is cleared");
    assert!(metrics.render().contains(&format!("{REAUTHORIZATION_REQUIRED} 0")), "{}", metrics.render());
}
