//! The gateway (`slprod serve`): the team's single egress to SalesLoft (DESIGN.md "Why a gateway").
//!
//! SalesLoft's cost budget (600 per minute, FACTS.md §2.1), its rotating refresh token (FACTS.md §1.3), the
//! audit log and the pause switch belong to the *team*, so every internal integration talks to the gateway
//! instead of SalesLoft. The gateway composes what exists — the client [`Pipeline`] (telemetry → retry →
//! breaker → rate budget → auth → HTTP) and the [`Store`] (pause flag, audit chain, webhook inbox) — and keeps
//! no state that replicas must share in process memory: the pause flag is read from the store on every
//! mutation, webhook deliveries are deduplicated by the store, so several replicas on one PostgreSQL store
//! behave as one.
//!
//! | endpoint | who | module |
//! |---|---|---|
//! | `/v2/...` (any method) | internal callers, `Authorization: Bearer <internal token>` | [`proxy`] |
//! | `POST /api/people/upsert`, `POST /api/cadence_memberships` (`Idempotency-Key`) | internal callers | [`api`] |
//! | `POST /webhooks/salesloft` | SalesLoft, `x-salesloft-signature` | [`webhooks`]; handed on by [`dispatch`] |
//! | `GET /health`, `GET /ready`, `GET /live` | monitoring, load balancers, liveness probes | [`health`] |
//! | `GET /metrics` | Prometheus | [`metrics`] |
//! | `POST /admin/pause`, `POST /admin/resume`, `GET /admin/status` | operators, `Bearer <admin token>` | [`admin`] |
//!
//! Build a [`Gateway`] from a pipeline, a store and a [`GatewayConfig`], bind a listener and call
//! [`Gateway::serve`] with a shutdown future:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use salesloft_gateway::{Gateway, GatewayConfig, Secrets};
//! let pipeline = salesloft_client::transport::Pipeline::with_api_key(
//!     "https://api.salesloft.com/v2",
//!     secrecy::SecretString::from("ak…".to_string()),
//! )?;
//! let store = salesloft_store::open("sqlite://slprod.sqlite").await?;
//! let config = GatewayConfig {
//!     internal_tokens: Secrets::parse_list("internal-token-1"),
//!     webhook_secrets: Secrets::parse_list("callback-token"),
//!     ..GatewayConfig::default()
//! };
//! let gateway = Gateway::new(pipeline, store, config)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! gateway.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod admin;
pub mod api;
pub mod auth;
pub mod dispatch;
mod error;
pub mod health;
pub mod metrics;
pub mod proxy;
mod respond;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use salesloft_client::clock::{SharedClock, SystemClock};
use salesloft_client::transport::Pipeline;
use salesloft_store::{InboxWriter, Store, WriterConfig};
use tokio::net::TcpListener;

pub use auth::Secrets;
pub use dispatch::{Backoff, DispatchConfig, Subscriber};
pub use error::GatewayError;
pub use health::HealthCache;

/// The default `webhooks.max_body_bytes`: 1 MiB (CONFIG.md).
pub const DEFAULT_WEBHOOK_MAX_BODY_BYTES: usize = 1024 * 1024;
/// The default cap on a proxied request body: 4 MiB.
pub const DEFAULT_PROXY_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The default `gateway.health_cache_secs`: 5 s (CONFIG.md).
pub const DEFAULT_HEALTH_CACHE: Duration = Duration::from_secs(5);

/// The gateway's settings; `Default` has no token and no secret, which [`Gateway::new`] refuses unless
/// [`GatewayConfig::insecure_dev`] is set.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Tokens internal callers present on the proxy (`gateway.internal_token_refs`; several during a rotation).
    pub internal_tokens: Secrets,
    /// The token operators present on `/admin/*` (`gateway.admin_token_ref`).
    pub admin_token: Secrets,
    /// Callback tokens SalesLoft signs webhooks with (`webhooks.secret_refs`; several during a rotation).
    pub webhook_secrets: Secrets,
    /// Run without internal tokens, webhook secrets or admin token: whatever has none configured is open.
    /// For a laptop in front of the simulator only.
    pub insecure_dev: bool,
    /// Largest webhook body accepted (`webhooks.max_body_bytes`); larger gets 413.
    pub webhook_max_body_bytes: usize,
    /// Largest proxied request body accepted; larger gets 413.
    pub proxy_max_body_bytes: usize,
    /// How long a `GET /me` health probe is reused (`gateway.health_cache_secs`).
    pub health_cache: Duration,
    /// The clock health probes are timed and cached on (tests pass a manual clock).
    pub clock: SharedClock,
    /// The Prometheus recorder's handle `/metrics` renders ([`metrics::install`]); `None` answers 503.
    pub metrics: Option<PrometheusHandle>,
    /// The webhook inbox's group-commit writer.
    pub inbox_writer: WriterConfig,
    /// The store row of the team's shared rate budget, shown by `/admin/status` (set when the pipeline
    /// spends through the store, as `slprod serve` does).
    pub team_budget: Option<TeamBudget>,
    /// Names of the sync jobs `slprod serve` runs beside the gateway (`[[jobs]]`); `/admin/status` shows each
    /// one's last run, as recorded in the store by whichever replica ran it.
    pub jobs: Vec<String>,
    /// Handing stored webhook deliveries on (`[webhooks]` sink and subscribers); off when it names none.
    pub dispatch: DispatchConfig,
}

/// Where the team's shared rate budget lives in the store, for `/admin/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamBudget {
    /// The row's name (`slprod serve` uses the API root).
    pub team: String,
    /// Cost per window this gateway may spend (the team's budget less the reserve).
    pub limit: u32,
    /// The window (SalesLoft's minute, FACTS.md §2.1).
    pub window: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            internal_tokens: Secrets::default(),
            admin_token: Secrets::default(),
            webhook_secrets: Secrets::default(),
            insecure_dev: false,
            webhook_max_body_bytes: DEFAULT_WEBHOOK_MAX_BODY_BYTES,
            proxy_max_body_bytes: DEFAULT_PROXY_MAX_BODY_BYTES,
            health_cache: DEFAULT_HEALTH_CACHE,
            clock: SystemClock::shared(),
            metrics: None,
            inbox_writer: WriterConfig::default(),
            team_budget: None,
            jobs: Vec::new(),
            dispatch: DispatchConfig::default(),
        }
    }
}

impl GatewayConfig {
    /// Checks the credentials: an internal token and a webhook secret are required unless
    /// [`GatewayConfig::insecure_dev`], and the admin token must differ from every internal token (the two
    /// are never interchangeable).
    pub fn validate(&self) -> Result<(), GatewayError> {
        if !self.insecure_dev {
            let mut missing = Vec::new();
            if self.internal_tokens.is_empty() {
                missing
                    .push("an internal token (--internal-token, SLPROD_INTERNAL_TOKEN, gateway.internal_token_refs)");
            }
            if self.webhook_secrets.is_empty() {
                missing.push("a webhook secret (--webhook-secret, SLPROD_WEBHOOK_SECRET, webhooks.secret_refs)");
            }
            if !missing.is_empty() {
                return Err(GatewayError::Insecure { missing: missing.join(" and ") });
            }
        }
        if self.admin_token.overlaps(&self.internal_tokens) {
            return Err(GatewayError::Config("the admin token must differ from every internal token".into()));
        }
        if self.webhook_max_body_bytes == 0 || self.proxy_max_body_bytes == 0 {
            return Err(GatewayError::Config("body limits must be positive".into()));
        }
        self.dispatch.validate()
    }
}

/// Everything a request handler needs; shared by every handler through an `Arc`.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) pipeline: Pipeline,
    pub(crate) store: Store,
    pub(crate) inbox: InboxWriter,
    pub(crate) config: GatewayConfig,
    pub(crate) health: HealthCache,
    /// True while serving and not draining (`GET /ready`).
    pub(crate) ready: AtomicBool,
    /// Wakes the dispatcher's idle workers when a delivery is stored.
    pub(crate) wake: dispatch::Wake,
}

/// A gateway ready to serve. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Gateway {
    shared: Arc<Shared>,
}

impl Gateway {
    /// A gateway over `pipeline` and `store` with `config` (checked by [`GatewayConfig::validate`]). Starts
    /// the inbox writer task, so it must be called inside a tokio runtime.
    pub fn new(pipeline: Pipeline, store: Store, config: GatewayConfig) -> Result<Self, GatewayError> {
        config.validate()?;
        if config.insecure_dev {
            tracing::warn!(
                "--insecure-dev: endpoints without a configured token or secret accept unauthenticated requests"
            );
        }
        metrics::describe();
        let inbox = InboxWriter::spawn(store.clone(), config.inbox_writer);
        let health = HealthCache::new(config.health_cache, config.clock.clone());
        let shared =
            Shared { pipeline, store, inbox, config, health, ready: AtomicBool::new(false), wake: Default::default() };
        Ok(Self { shared: Arc::new(shared) })
    }

    /// The routes (for tests that drive the router directly, or to nest it in another app).
    pub fn router(&self) -> Router {
        let config = &self.shared.config;
        Router::new()
            .route("/v2/{*path}", any(proxy::handle).layer(DefaultBodyLimit::max(config.proxy_max_body_bytes)))
            .route("/api/people/upsert", post(api::people::upsert))
            .route("/api/cadence_memberships", post(api::cadence_memberships::create))
            .route(
                "/webhooks/salesloft",
                post(webhooks::handle).layer(DefaultBodyLimit::max(config.webhook_max_body_bytes)),
            )
            .route("/health", get(health::health))
            .route("/ready", get(health::ready))
            .route("/live", get(health::live))
            .route("/metrics", get(metrics::render))
            .route("/admin/pause", post(admin::pause))
            .route("/admin/resume", post(admin::resume))
            .route("/admin/status", get(admin::status))
            .fallback(respond::not_found)
            .layer(axum::middleware::from_fn(metrics::count_requests))
            .with_state(self.shared.clone())
    }

    /// True while serving and not draining (what `GET /ready` answers).
    pub fn is_ready(&self) -> bool {
        self.shared.ready.load(Ordering::SeqCst)
    }

    /// Serves on `listener` until `shutdown` completes, then drains: `/ready` turns 503, no new connection is
    /// accepted, requests in flight finish (every webhook answered 2xx is already committed by the inbox
    /// writer, so the writer has nothing left to flush), then the webhook dispatcher ([`dispatch`], when
    /// configured) stops claiming, finishes the deliveries in hand with their sink lines fsynced, and it
    /// returns.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), GatewayError> {
        let dispatcher = dispatch::Dispatcher::start(
            self.shared.store.clone(),
            self.shared.config.dispatch.clone(),
            self.shared.wake.clone(),
        )?;
        let shared = self.shared.clone();
        let draining = async move {
            shutdown.await;
            shared.ready.store(false, Ordering::SeqCst);
            tracing::info!("shutting down: no new connections, finishing requests in flight");
        };
        let app = self.router();
        self.shared.ready.store(true, Ordering::SeqCst);
        let result = axum::serve(listener, app).with_graceful_shutdown(draining).await;
        self.shared.ready.store(false, Ordering::SeqCst);
        if let Some(dispatcher) = dispatcher {
            dispatcher.stop().await;
        }
        result.map_err(GatewayError::Serve)
    }
}
