//! Two gateway replicas on one store: the pause switch set through one holds on the other, and both spend
//! one shared rate budget (salesloft_sync::StoreBudget). Time is one `ManualClock` shared by both pipelines
//! and the store, so a budget wait is recorded and the window moves without sleeping.

mod support;

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use salesloft_client::clock::{Clock, ManualClock};
use salesloft_client::transport::{Pipeline, RateBudgetConfig};
use salesloft_gateway::{Gateway, GatewayConfig, TeamBudget};
use salesloft_sim::{RunningSim, SimConfig, Simulator};
use salesloft_store::{Store, StoreOptions, StoreUrl};
use salesloft_sync::StoreBudget;
use salesloft_testkit::{Backend, on_both_backends};
use serde_json::json;
use support::{ADMIN, INTERNAL_OLD};

on_both_backends!(super;
    a_pause_through_one_replica_holds_on_the_other,
    replicas_spend_one_shared_budget,
);

/// The team's budget in these tests: small, so two replicas exhaust it together.
const LIMIT: u32 = 4;
const WINDOW: Duration = Duration::from_secs(60);

struct Replicas {
    sim: RunningSim,
    clock: ManualClock,
    urls: Vec<String>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn replicas(backend: Backend) -> Replicas {
    let sim = Simulator::start(SimConfig { seed_people: 3, budget_per_minute: 1_000_000, ..SimConfig::default() })
        .await
        .expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let clock = ManualClock::new();
    let url = StoreUrl::parse(&backend.store_url(dir.path())).expect("url");
    let mut urls = Vec::new();
    for _ in 0..2 {
        // Each replica opens its own store handle (its own pool), as separate processes would.
        let options = StoreOptions { clock: Arc::new(clock.clone()), ..StoreOptions::default() };
        let store: Store = salesloft_store::open_with(&url, options).await.expect("store");
        let shared = StoreBudget::new(store.clone(), sim.base_url(), LIMIT, 0, WINDOW);
        let pipeline = Pipeline::builder(sim.base_url())
            .api_key(sim.api_key().to_string().into())
            .clock(clock.shared())
            // Each replica alone would allow the whole budget: only the shared one can hold them back.
            .rate_budget(RateBudgetConfig { limit: LIMIT, window: WINDOW, ..RateBudgetConfig::default() })
            .shared_budget(Arc::new(shared))
            .build()
            .expect("pipeline");
        let config = GatewayConfig {
            team_budget: Some(TeamBudget { team: sim.base_url().to_string(), limit: LIMIT, window: WINDOW }),
            ..support::config(&clock)
        };
        let gateway = Gateway::new(pipeline, store, config).expect("gateway");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        urls.push(format!("http://{}", listener.local_addr().expect("addr")));
        tokio::spawn(gateway.serve(listener, std::future::pending()));
    }
    Replicas { sim, clock, urls, http: reqwest::Client::new(), _dir: dir }
}

impl Replicas {
    async fn call(&self, replica: usize, method: Method, path: &str, token: &str) -> u16 {
        let request = self.http.request(method, format!("{}{path}", self.urls[replica])).bearer_auth(token);
        let request =
            if path.starts_with("/admin/pause") { request.json(&json!({"reason": "drill"})) } else { request };
        request.send().await.expect("answers").status().as_u16()
    }
}

async fn a_pause_through_one_replica_holds_on_the_other(backend: Backend) {
    let r = replicas(backend).await;
    assert_eq!(r.call(0, Method::POST, "/admin/pause", ADMIN).await, 200);
    assert_eq!(r.call(1, Method::POST, "/v2/people", INTERNAL_OLD).await, 503, "the other replica refuses too");
    assert_eq!(r.call(1, Method::POST, "/admin/resume", ADMIN).await, 200);
    assert_ne!(r.call(0, Method::POST, "/v2/people", INTERNAL_OLD).await, 503, "resumed through the other one");
    assert_eq!(salesloft_testkit::sim::requests_to(r.sim.root_url(), &["POST"], "/v2/people").await.len(), 1);
}

async fn replicas_spend_one_shared_budget(backend: Backend) {
    let r = replicas(backend).await;
    // Start at a window boundary so the four calls below share one window.
    let into_window = Duration::from_micros((r.clock.unix_time().as_micros() % WINDOW.as_micros()) as u64);
    r.clock.advance(WINDOW - into_window);
    for replica in [0, 1, 0, 1] {
        assert_eq!(r.call(replica, Method::GET, "/v2/me", INTERNAL_OLD).await, 200);
    }
    assert!(r.clock.sleeps().is_empty(), "within the budget nothing waits: {:?}", r.clock.sleeps());
    for replica in [0, 1] {
        let status: serde_json::Value = r
            .http
            .get(format!("{}/admin/status", r.urls[replica]))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("status")
            .json()
            .await
            .expect("json");
        let team = &status["team_budget"];
        assert_eq!((team["spent"].as_i64(), team["left"].as_i64()), (Some(4), Some(0)), "replica {replica}: {status}");
    }
    // Each replica has spent 2 of its own 4, but the team's 4 are gone: the next call waits for the window.
    assert_eq!(r.call(1, Method::GET, "/v2/me", INTERNAL_OLD).await, 200);
    let waits = r.clock.sleeps();
    assert_eq!(waits.len(), 1, "one wait for the shared budget: {waits:?}");
    assert!(waits[0] > Duration::ZERO && waits[0] <= WINDOW, "waited for the window to roll: {waits:?}");
    assert_eq!(salesloft_testkit::sim::requests_to(r.sim.root_url(), &["GET"], "/v2/me").await.len(), 5);
}
