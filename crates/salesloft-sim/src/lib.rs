//! A faithful SalesLoft REST API v2 + OAuth simulator, for tests, demos and load tests.
//!
//! It follows `FACTS.md` §10 (the behaviour list) and the official schemas: `/v2/...` routes with and
//! without `.json`, every documented record key with explicit nulls, the `{"data": …}` and
//! `{"data": […], "metadata": {…}}` envelopes, paging/sorting/filtering, validation 422s, bearer auth for API
//! keys and OAuth tokens, an OAuth server with rotating refresh tokens, the team cost budget with deep-page
//! costs and rate headers, signed webhooks with retries, and faults scripted at run time under `/__sim/`.
//! The contract other crates code against is `docs/simulator.md`.
//!
//! Resources: `/v2/me`, `/v2/team`, `/v2/users` (GET, PUT), `/v2/people` (CRUD), `/v2/person_upserts`
//! (POST), `/v2/accounts` (CRUD), `/v2/cadences` (GET), `/v2/cadence_memberships` (GET, POST, DELETE),
//! `/v2/notes` (CRUD), `/v2/tasks` (GET, POST, PUT; a repeated `idempotency_key` returns the existing task,
//! see [`SimConfig::task_idempotency_returns_existing`]), `/v2/steps` and `/v2/actions` (GET),
//! `/v2/activities/emails` (GET; `scoped_fields` subject/body, see [`SimConfig::email_contents_scope`]),
//! `/v2/activities/calls` (GET, POST), `/v2/activities` (POST: completes an integration action or a task) and
//! `/v2/webhook_subscriptions` (CRUD), and `/v2/bulk_jobs` with `/job_data` and `/results` (`person/upsert`
//! jobs applied at [`SimConfig::bulk_records_per_second`] of the simulator clock, see `bulk`). Every request is
//! charged against the team budget by its `page` parameter, bulk-job requests by their configured costs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), salesloft_sim::SimError> {
//! use salesloft_sim::{SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig { seed_people: 1000, ..SimConfig::default() }).await?;
//! let people = format!("{}/people?per_page=100", sim.base_url());
//! let key = sim.api_key();
//! # let _ = (people, key);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod body;
mod bulk;
pub mod clock;
pub mod config;
mod control;
mod envelope;
mod errors;
pub mod faults;
mod json;
mod list;
mod oauth;
mod query;
mod rate_limit;
mod records;
mod routes;
mod seed;
mod server;
mod state;
pub mod stats;
mod store;
mod table;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{ConfigError, OAuthClientConfig, PageCostTier, SimConfig};
pub use server::MISSING_TOKEN_MESSAGE;
pub use webhooks::{DeliveryRecord, sign as sign_webhook};

use crate::clock::SimClock;
use crate::faults::Faults;
use crate::oauth::OAuth;
use crate::rate_limit::RateLimiter;
use crate::state::Shared;
use crate::stats::Recorder;
use crate::store::TeamData;
use crate::webhooks::Webhooks;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listen address could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The webhook HTTP client could not be built.
    #[error("could not build the webhook client: {0}")]
    WebhookClient(#[from] reqwest::Error),
}

/// Entry point: `Simulator::start(config)`.
#[derive(Debug, Clone, Copy)]
pub struct Simulator;

impl Simulator {
    /// Seeds the team, binds `config.listen` and serves in a background task of the current Tokio runtime.
    pub async fn start(config: SimConfig) -> Result<RunningSim, SimError> {
        Self::start_with_clock(config, Arc::new(clock::SystemClock::default())).await
    }

    /// [`Simulator::start`] on `clock`: its wall time dates records and windows, and latency faults and
    /// webhook retries sleep on it. Tests pass a `ManualClock` to assert those waits without sleeping.
    pub async fn start_with_clock(config: SimConfig, clock: clock::SharedClock) -> Result<RunningSim, SimError> {
        config.validate()?;
        let listener =
            TcpListener::bind(config.listen).await.map_err(|source| SimError::Bind { addr: config.listen, source })?;
        let local = listener.local_addr().map_err(|source| SimError::Bind { addr: config.listen, source })?;
        let host = if local.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], local.port())) } else { local };
        let root_url = format!("http://{host}");
        let shared = Arc::new(build_shared(config, &root_url, clock)?);
        let (stop, stopped) = oneshot::channel::<()>();
        let app = server::router(Arc::clone(&shared));
        let read_timeout = shared.config.read_timeout;
        let task = tokio::spawn(server::serve(listener, app, Arc::clone(&shared), read_timeout, async move {
            let _ = stopped.await;
        }));
        let bulk_worker = tokio::spawn(bulk::run_worker(Arc::clone(&shared)));
        tracing::info!(url = %shared.base_url, "salesloft simulator listening");
        Ok(RunningSim { shared, local, root_url, stop: Some(stop), task: Some(task), bulk_worker })
    }
}

/// The state of a simulator serving at `root_url`.
fn build_shared(config: SimConfig, root_url: &str, clock: clock::SharedClock) -> Result<Shared, SimError> {
    let api_keys = if config.api_keys.is_empty() { vec![seed::api_key(config.seed)] } else { config.api_keys.clone() };
    let data = TeamData::seeded(&config);
    Ok(Shared {
        base_url: format!("{root_url}/v2"),
        clock: SimClock::new(clock),
        data: RwLock::new(data),
        rate: RateLimiter::default(),
        faults: Faults::default(),
        recorder: Recorder::default(),
        oauth: OAuth::new(&api_keys, config.seed),
        webhooks: Webhooks::new(config.webhook_timeout)?,
        api_keys,
        config,
        bulk_wake: tokio::sync::Notify::new(),
    })
}

/// A running simulator. Dropping it stops the server; [`RunningSim::shutdown`] also waits for it.
#[derive(Debug)]
pub struct RunningSim {
    shared: Arc<Shared>,
    local: SocketAddr,
    root_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    bulk_worker: JoinHandle<()>,
}

impl RunningSim {
    /// The API root, e.g. `http://127.0.0.1:PORT/v2` (as SalesLoft documents `https://api.salesloft.com/v2`).
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The server root, e.g. `http://127.0.0.1:PORT` (OAuth at `/oauth/...`, control at `/__sim/...`).
    pub fn root_url(&self) -> &str {
        &self.root_url
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The team's API key (`SimConfig::api_keys[0]`, or the one derived from the seed).
    pub fn api_key(&self) -> &str {
        self.shared.api_keys.first().map_or("", String::as_str)
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// Moves the simulator clock forward (as `POST /__sim/clock` does; bulk jobs catch up in the background
    /// and, at the latest, before the next request is served).
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance_micros(i64::try_from(by.as_micros()).unwrap_or(i64::MAX));
        bulk::wake(&self.shared);
    }

    /// Webhook delivery attempts so far, oldest first (same as `GET /__sim/webhooks/deliveries`).
    pub fn webhook_deliveries(&self) -> Vec<DeliveryRecord> {
        self.shared.webhooks.deliveries()
    }

    /// Waits until at least `count` webhook delivery attempts have been made (successful or not). Wrap it in
    /// a timeout in tests.
    pub async fn wait_for_webhook_attempts(&self, count: usize) {
        self.shared.webhooks.wait_for_attempts(count).await;
    }

    /// Stops accepting connections and waits (at most 5 s) for open ones to finish.
    pub async fn shutdown(mut self) {
        self.bulk_worker.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.bulk_worker.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
