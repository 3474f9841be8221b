//! One gateway over real HTTP on loopback, in front of the simulator, on a store of either backend.
//!
//! Time is injected: the gateway's pipeline and health cache run on a `ManualClock`, whose sleeps (retry
//! backoff) return at once, and a test moves it to expire the health cache. Nothing sleeps for timing.
#![allow(dead_code)]

use std::time::Duration;

use salesloft_client::clock::ManualClock;
use salesloft_client::transport::Pipeline;
use salesloft_gateway::{Gateway, GatewayConfig, Secrets};
use salesloft_sim::{RunningSim, SimConfig, Simulator};
use salesloft_store::Store;
use salesloft_testkit::Backend;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The internal tokens (a rotation in progress: old and new).
pub const INTERNAL_OLD: &str = "int-token-old";
/// See [`INTERNAL_OLD`].
pub const INTERNAL_NEW: &str = "int-token-new";
/// The admin token.
pub const ADMIN: &str = "adm-token";
/// The webhook secrets (a rotation in progress).
pub const SECRET_OLD: &str = "wh-secret-old";
/// See [`SECRET_OLD`].
pub const SECRET_NEW: &str = "wh-secret-new";
/// `webhooks.max_body_bytes` in these tests.
pub const MAX_WEBHOOK_BODY: usize = 4096;
/// `gateway.health_cache_secs` in these tests.
pub const HEALTH_CACHE: Duration = Duration::from_secs(5);

/// The configuration the harness serves with.
pub fn config(clock: &ManualClock) -> GatewayConfig {
    GatewayConfig {
        internal_tokens: Secrets::parse_list(&format!("{INTERNAL_OLD},{INTERNAL_NEW}")),
        admin_token: Secrets::parse_list(ADMIN),
        webhook_secrets: Secrets::parse_list(&format!("{SECRET_OLD},{SECRET_NEW}")),
        webhook_max_body_bytes: MAX_WEBHOOK_BODY,
        health_cache: HEALTH_CACHE,
        clock: clock.shared(),
        ..GatewayConfig::default()
    }
}

/// The simulator the harness starts by default: 5 people, a budget no test exhausts.
pub fn sim_config() -> SimConfig {
    SimConfig { seed_people: 5, budget_per_minute: 1_000_000, ..SimConfig::default() }
}

/// A running gateway, its simulator, store and clock.
pub struct Harness {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub sim: RunningSim,
    pub store: Store,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    pub gateway: Gateway,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), salesloft_gateway::GatewayError>>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// A gateway with [`config`] on `backend`.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, config).await
    }

    /// A gateway whose configuration `make` builds from the clock.
    pub async fn start_with(backend: Backend, make: impl FnOnce(&ManualClock) -> GatewayConfig) -> Self {
        Self::start_with_sim(backend, sim_config(), make).await
    }

    /// A gateway whose configuration `make` builds from the clock, in front of a simulator with `sim`.
    pub async fn start_with_sim(
        backend: Backend,
        sim: SimConfig,
        make: impl FnOnce(&ManualClock) -> GatewayConfig,
    ) -> Self {
        let sim = Simulator::start(sim).await.expect("the simulator starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let store = salesloft_store::open(&backend.store_url(dir.path())).await.expect("the store opens");
        let clock = ManualClock::new();
        let pipeline = Pipeline::builder(sim.base_url())
            .api_key(sim.api_key().to_string().into())
            .clock(clock.shared())
            .build()
            .expect("a pipeline for the simulator");
        let gateway = Gateway::new(pipeline, store.clone(), make(&clock)).expect("the gateway is configured");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(gateway.clone().serve(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            url,
            sim,
            store,
            clock,
            http: reqwest::Client::new(),
            gateway,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    /// A request to the gateway at `path` with `token` as the bearer (none when `None`).
    pub fn request(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.url));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// Status and JSON body (`Null` when not JSON) of a sent request.
    pub async fn send(&self, builder: reqwest::RequestBuilder) -> (u16, Value) {
        let response = builder.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs a webhook delivery of `event` with `body`, signed by `secret` (unsigned when `None`).
    pub async fn deliver(&self, event: &str, body: &[u8], secret: Option<&str>) -> (u16, Value) {
        let mut builder = self
            .http
            .post(format!("{}/webhooks/salesloft", self.url))
            .header("x-salesloft-event", event)
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(secret) = secret {
            builder = builder.header("x-salesloft-signature", salesloft_gateway::auth::sign(secret, body));
        }
        self.send(builder).await
    }

    /// The simulator's logged requests with one of `methods` under `path_prefix`.
    pub async fn sim_requests(&self, methods: &[&str], path_prefix: &str) -> usize {
        salesloft_testkit::sim::requests_to(self.sim.root_url(), methods, path_prefix).await.len()
    }

    /// Stops the gateway (as SIGTERM would) and waits for it to drain.
    pub async fn stop(mut self) -> Result<(), salesloft_gateway::GatewayError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.expect("the serve task does not panic"),
            None => Ok(()),
        }
    }
}
