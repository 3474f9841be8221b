//! Shared helpers for the integration tests: a simulator, a client for it, and its control API.
#![allow(dead_code)]

pub mod logs;
pub mod oauth;
pub mod one_off;
pub mod planted;

use http::Method;
use salesloft_client::Client;
use salesloft_client::clock::ManualClock;
use salesloft_client::transport::Pipeline;
use salesloft_sim::{RunningSim, SimConfig, Simulator};
use secrecy::SecretString;
use serde_json::Value;

/// Starts a simulator with `seed_people` people and a budget large enough not to interfere.
pub async fn start(seed_people: u64) -> (RunningSim, Client) {
    start_with(SimConfig { seed_people, budget_per_minute: 1_000_000, ..SimConfig::default() }).await
}

/// Starts a simulator with `config` and a client for it.
pub async fn start_with(config: SimConfig) -> (RunningSim, Client) {
    let sim = Simulator::start(config).await.expect("the simulator starts");
    let client = Client::with_api_key(sim.base_url(), sim.api_key().to_string().into()).expect("a client for the sim");
    (sim, client)
}

/// Starts a simulator with `seed_people` people and a client whose pipeline runs on a manual clock: retry
/// and budget waits return at once and are recorded in the returned clock (no test sleeps).
pub async fn start_manual(seed_people: u64) -> (RunningSim, Client, salesloft_client::clock::ManualClock) {
    let sim = Simulator::start(SimConfig { seed_people, budget_per_minute: 1_000_000, ..SimConfig::default() })
        .await
        .expect("the simulator starts");
    let clock = salesloft_client::clock::ManualClock::new();
    let pipeline = salesloft_client::transport::Pipeline::builder(sim.base_url())
        .api_key(sim.api_key().to_string().into())
        .clock(std::sync::Arc::new(clock.clone()))
        .build()
        .expect("a pipeline for the sim");
    (sim, Client::new(pipeline), clock)
}

/// `GET /__sim/stats`.
pub async fn stats(sim: &RunningSim) -> Value {
    salesloft_testkit::sim::stats(sim.root_url()).await
}

/// `GET /__sim/requests?limit=N` (most recent first).
pub async fn requests(sim: &RunningSim, limit: usize) -> Vec<Value> {
    salesloft_testkit::sim::requests(sim.root_url(), limit).await
}

/// `POST /__sim/faults`.
pub async fn add_fault(sim: &RunningSim, rule: Value) {
    salesloft_testkit::sim::add_fault(sim.root_url(), rule).await
}

/// `POST /__sim/reset`.
pub async fn reset(sim: &RunningSim) {
    let response = reqwest::Client::new()
        .post(format!("{}/__sim/reset", sim.root_url()))
        .send()
        .await
        .expect("control API reachable");
    assert!(response.status().is_success(), "reset: expected 2xx, got {}", response.status());
}

/// Calls the control API (`/__sim/<path>`) with `body` as JSON; panics unless it answers 2xx. The answer as
/// JSON (`null` when it has none).
pub async fn control(sim: &RunningSim, method: Method, path: &str, body: Value) -> Value {
    let url = format!("{}/__sim/{path}", sim.root_url());
    let response = reqwest::Client::new().request(method, &url).json(&body).send().await.expect("control call");
    assert!(response.status().is_success(), "control {path} answered {}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

/// A pipeline for the simulator with its API key, on a manual clock of its own.
pub fn api_key_pipeline(sim: &RunningSim) -> Pipeline {
    Pipeline::builder(sim.base_url())
        .api_key(SecretString::from(sim.api_key().to_string()))
        .clock(ManualClock::new().shared())
        .build()
        .expect("pipeline")
}

/// A number from a stats object.
pub fn stat(stats: &Value, key: &str) -> u64 {
    stats.get(key).and_then(Value::as_u64).unwrap_or_else(|| panic!("stats has no numeric {key}: {stats}"))
}

/// Reads a fixture file from `tests/fixtures`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}
