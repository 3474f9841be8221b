//! `Pipeline::state().token_expiry`: what `/health` reports about the OAuth access token (none for an API key).

mod support;

use std::sync::Arc;

use http::Method;
use salesloft_client::clock::{Clock, ManualClock};
use salesloft_client::transport::{ApiRequest, MemoryTokenStore, Pipeline};
use salesloft_sim::{SimConfig, Simulator};
use support::oauth;

#[tokio::test]
async fn the_held_oauth_token_reports_when_it_expires_and_an_api_key_reports_nothing() {
    let sim = Simulator::start(SimConfig { seed_people: 2, ..SimConfig::default() }).await.expect("sim");
    let minted = oauth::mint(&sim, None).await;
    let clock = ManualClock::new();
    let now = clock.unix_time().as_secs();
    let store = Arc::new(MemoryTokenStore::new(Some(oauth::token_set(&minted, Some(now + 3_600), None))));
    let pipeline =
        Pipeline::builder(sim.base_url()).oauth(oauth::config(&sim), store).clock(clock.shared()).build().expect("ok");
    assert_eq!(pipeline.state().token_expiry, None, "nothing is known before the first token is loaded");

    pipeline.execute(ApiRequest::new("me", Method::GET, "me")).await.expect("a call loads the token");
    assert_eq!(pipeline.state().token_expiry, Some((now + 3_600, 3_600)));
    clock.advance(std::time::Duration::from_secs(600));
    assert_eq!(pipeline.state().token_expiry, Some((now + 3_600, 3_000)), "counts down on the injected clock");

    let keyed = support::api_key_pipeline(&sim);
    keyed.execute(ApiRequest::new("me", Method::GET, "me")).await.expect("me");
    assert_eq!(keyed.state().token_expiry, None, "an API key never expires (FACTS.md §1.2)");
}
