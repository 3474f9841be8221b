//! What the checks run against, and the tools every drill shares.
//!
//! - [`Target::Embedded`]: nothing configured to reach. Live checks reach an embedded simulator behind an
//!   in-process gateway, started on first use; with no configuration file at all, the static checks judge the
//!   embedded deployment's own profile ([`embedded_profile`]).
//! - [`Target::Configured`]: `--base-url`/`SALESLOFT_BASE_URL`/`salesloft.base_url` names a SalesLoft (real or
//!   not), and `--gateway`/`rollback.health_url` a gateway. Live checks use reads only.
//!
//! Drills always run against their own embedded simulator (scripted faults must never reach a real SalesLoft),
//! with the *configured* client policies: `[retry]`, `[breaker]`, `salesloft.timeout_secs`.

use std::time::Duration;

use salesloft_client::Client;
use salesloft_client::clock::{ManualClock, SharedClock};
use salesloft_client::transport::{Pipeline, PipelineBuilder, RateBudgetConfig};
use salesloft_gateway::{Gateway, GatewayConfig, Secrets};
use salesloft_sim::{RunningSim, SimConfig, Simulator};
use secrecy::SecretString;
use serde_json::Value;

use super::CheckArgs;
use crate::config::Config;
use crate::error::CliError;

/// Where live checks go.
#[derive(Debug, Clone)]
pub enum Target {
    /// An embedded simulator behind an in-process gateway.
    Embedded,
    /// A configured SalesLoft (and maybe a gateway).
    Configured {
        /// The connection arguments (credential, base URL).
        connect: crate::connect::ConnectArgs,
        /// The gateway's base URL, when one is named.
        gateway: Option<String>,
    },
}

impl Target {
    /// Configured when a base URL is named by flag, environment or file; else embedded.
    pub fn resolve(args: &CheckArgs, config: &Config) -> Result<Self, CliError> {
        let named = args.connect.base_url.is_some() || config.salesloft.base_url.is_some();
        if !named {
            if args.gateway.is_some() {
                return Err(CliError::Input(
                    "--gateway needs the SalesLoft it fronts: --base-url or salesloft.base_url".into(),
                ));
            }
            return Ok(Target::Embedded);
        }
        let gateway = args.gateway.clone().or_else(|| {
            config
                .rollback
                .health_url
                .as_deref()
                .map(|h| h.trim_end_matches('/').trim_end_matches("/health").to_string())
        });
        Ok(Target::Configured { connect: args.connect.clone(), gateway })
    }
}

/// The embedded deployment: a simulator, an in-process gateway in front of it, on an SQLite store.
pub struct Embedded {
    /// The simulator.
    pub sim: RunningSim,
    /// `http://127.0.0.1:PORT` of the gateway.
    pub gateway_url: String,
    /// The gateway's store.
    pub store: salesloft_store::Store,
    /// Its tokens and webhook secret.
    pub tokens: EmbeddedTokens,
    /// The JSONL sink its dispatcher hands webhook deliveries to.
    pub sink: std::path::PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

/// Samples the HTML report plots.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Plots {
    /// Latencies in milliseconds of reads and writes measured in the drills.
    pub latency_ms: std::collections::BTreeMap<String, Vec<f64>>,
    /// Cost spent per simulated minute during the write-burst drill, against the budget.
    pub cost_per_minute: Vec<(f64, f64)>,
    /// The budget line of `cost_per_minute`.
    pub budget_per_minute: Option<f64>,
}

/// Everything the checks share.
pub struct Env {
    config: Config,
    target: Target,
    embedded: Option<Embedded>,
    /// Plot samples gathered by the drills.
    pub plots: Plots,
    /// A plain HTTP client (no redirects) for control calls and gateway endpoints.
    pub http: reqwest::Client,
    /// Scratch space for drills (token files, stores).
    pub scratch: tempfile::TempDir,
    /// `promtool test rules` on the exported rules, run once for MON-2..4 (`None` inside: not installed).
    pub promtool: Option<Option<Result<String, String>>>,
    /// `--allow-writes`: the marker email a live write may upsert; `None` keeps live checks read-only.
    pub live_writes: Option<String>,
    /// The rollback drill's report, shared by ROLL-1..3 (it runs once).
    pub rollback: Option<super::drills::rollback::RollbackDrill>,
}

impl Env {
    /// An environment over `config` (the file's, or the embedded profile) and `target`, with `scratch` for
    /// the drills' files.
    pub fn new(config: Config, target: Target, scratch: tempfile::TempDir) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self {
            config,
            target,
            embedded: None,
            plots: Plots::default(),
            http,
            scratch,
            live_writes: None,
            rollback: None,
            promtool: None,
        }
    }

    /// The configuration the checks judge.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The live target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The plots gathered so far.
    pub fn plots(&self) -> Plots {
        self.plots.clone()
    }

    /// One line saying what was checked.
    pub fn target_description(&self) -> String {
        match &self.target {
            Target::Embedded => "embedded simulator behind an in-process gateway (nothing configured to reach)".into(),
            Target::Configured { connect, gateway } => format!(
                "{}{}",
                connect.base_url(&self.config),
                gateway.as_deref().map(|g| format!(" via gateway {g}")).unwrap_or_default()
            ),
        }
    }

    /// The embedded deployment, started on first use.
    pub async fn embedded(&mut self) -> Result<&Embedded, String> {
        if self.embedded.is_none() {
            self.embedded = Some(start_embedded().await?);
        }
        Ok(self.embedded.as_ref().expect("just started"))
    }

    /// The embedded simulator's statistics (`GET /__sim/stats`).
    pub async fn embedded_stats(&mut self) -> Result<Value, String> {
        let root = self.embedded().await?.sim.root_url().to_string();
        let url = format!("{root}/__sim/stats");
        let answer = self.http.get(&url).send().await.map_err(|e| format!("{url}: {e}"))?;
        answer.json().await.map_err(|e| format!("{url}: {e}"))
    }

    /// Stops what was started.
    pub async fn shutdown(&mut self) {
        if let Some(mut embedded) = self.embedded.take() {
            if let Some(stop) = embedded.stop.take() {
                let _ = stop.send(());
            }
            if let Some(task) = embedded.task.take() {
                let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
            }
            embedded.sim.shutdown().await;
        }
    }

    /// A fresh simulator for one drill.
    pub async fn sim(&self, config: SimConfig) -> Result<RunningSim, String> {
        Simulator::start(config).await.map_err(|e| format!("the drill's simulator did not start: {e}"))
    }

    /// A pipeline builder against `sim` with its API key and the configured policies (`[retry]`, `[breaker]`,
    /// `salesloft.timeout_secs`), on `clock`; the rate budget is the simulator's.
    pub fn pipeline_for(&self, sim: &RunningSim, clock: SharedClock) -> Result<PipelineBuilder, String> {
        let config = &self.config;
        let retry = crate::connect::retry_config(config).map_err(|e| e.to_string())?;
        let breaker = crate::connect::breaker_config(config).map_err(|e| e.to_string())?;
        let http = crate::connect::http_config(config).map_err(|e| e.to_string())?;
        Ok(Pipeline::builder(sim.base_url())
            .api_key(SecretString::from(sim.api_key().to_string()))
            .http(http)
            .retry(salesloft_client::transport::RetryConfig { seed: Some(7), ..retry })
            .breaker(breaker)
            .clock(clock)
            .rate_budget(RateBudgetConfig {
                limit: sim.config().budget_per_minute,
                window: sim.config().minute,
                ..RateBudgetConfig::default()
            }))
    }

    /// A client against `sim` with the configured policies on a manual clock (waits are recorded, not slept).
    pub fn client_for(&self, sim: &RunningSim) -> Result<(Client, ManualClock), String> {
        let clock = ManualClock::new();
        let pipeline = self.pipeline_for(sim, clock.shared())?.build().map_err(|e| e.to_string())?;
        Ok((Client::new(pipeline), clock))
    }

    /// `POST {sim}/__sim/{path}` with `body`.
    pub async fn control(&self, sim: &RunningSim, path: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}/__sim/{path}", sim.root_url());
        let answer = self.http.post(&url).json(&body).send().await.map_err(|e| format!("{url}: {e}"))?;
        if !answer.status().is_success() {
            return Err(format!("{url} answered {}", answer.status()));
        }
        answer.json().await.or(Ok(Value::Null))
    }

    /// `GET {sim}/__sim/{path}`.
    pub async fn control_get(&self, sim: &RunningSim, path: &str) -> Result<Value, String> {
        let url = format!("{}/__sim/{path}", sim.root_url());
        let answer = self.http.get(&url).send().await.map_err(|e| format!("{url}: {e}"))?;
        answer.json().await.map_err(|e| format!("{url}: {e}"))
    }
}

/// The internal and admin tokens of the embedded gateway (random per run).
pub struct EmbeddedTokens {
    /// The internal token.
    pub internal: String,
    /// The admin token.
    pub admin: String,
    /// The webhook secret.
    pub webhook: String,
}

/// A random token from the OS's generator: three v4 UUIDs (366 random bits), as 96 hex characters.
pub fn random_token() -> String {
    (0..3).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect()
}

async fn start_embedded() -> Result<Embedded, String> {
    let sim = Simulator::start(SimConfig { seed_people: 25, ..SimConfig::default() })
        .await
        .map_err(|e| format!("the embedded simulator did not start: {e}"))?;
    let dir = tempfile::tempdir().map_err(|e| format!("no temp dir: {e}"))?;
    let store = salesloft_store::open(&format!("sqlite://{}", dir.path().join("gateway.sqlite").display()))
        .await
        .map_err(|e| format!("the embedded gateway's store did not open: {e}"))?;
    let pipeline = Pipeline::builder(sim.base_url())
        .api_key(SecretString::from(sim.api_key().to_string()))
        .build()
        .map_err(|e| e.to_string())?;
    let sink = dir.path().join("webhooks.jsonl");
    let tokens = EmbeddedTokens { internal: random_token(), admin: random_token(), webhook: random_token() };
    let config = GatewayConfig {
        // The in-process gateway answers loopback only, for this run: a fresh random token each.
        internal_tokens: Secrets::parse_list(&tokens.internal),
        admin_token: Secrets::parse_list(&tokens.admin),
        webhook_secrets: Secrets::parse_list(&tokens.webhook),
        metrics: Some(salesloft_gateway::metrics::install()),
        dispatch: salesloft_gateway::dispatch::DispatchConfig {
            sink: Some(sink.clone()),
            ..salesloft_gateway::dispatch::DispatchConfig::default()
        },
        ..GatewayConfig::default()
    };
    let gateway = Gateway::new(pipeline, store.clone(), config).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("cannot listen: {e}"))?;
    let gateway_url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = gateway
            .serve(listener, async move {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Embedded { sim, gateway_url, store, tokens, sink, stop: Some(stop), task: Some(task), _dir: dir })
}

/// The configuration of the embedded deployment, judged by the static checks when there is no configuration
/// file: development environment, OAuth app `sim-client` (the simulator's) separate from two declared
/// non-production apps, tokens in a file (allowed outside production), a fresh random webhook secret rotated
/// from the declared development one, the checklist's retry, breaker and alert settings, and a volume that fits.
pub fn embedded_profile(scratch: &std::path::Path) -> Result<Config, String> {
    let secret = scratch.join("webhook-secret");
    std::fs::write(&secret, random_token()).map_err(|e| format!("cannot write {}: {e}", secret.display()))?;
    let tokens = scratch.join("oauth-tokens.json");
    let dev_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"dev-webhook-secret"));
    let text = format!(
        r#"environment = "development"

[salesloft]
auth = "oauth"
oauth_client_id = "sim-client"
non_production_client_ids = ["sim-dev-client", "sim-staging-client"]
oauth_tokens_ref = "file:{tokens}"

[retry]
max_attempts = 3
honour_retry_after = true

[breaker]
enabled = true

[budget]
cost_per_minute = 600
reserve_pct = 10

[volume]
people_upserts_per_day = 20000
records_read_per_day = 200000
peak_hour_share = 0.25

[webhooks]
secret_refs = ["file:{secret}"]
development_secret_sha256 = "{dev_hash}"
"#,
        tokens = tokens.display(),
        secret = secret.display(),
    );
    crate::config::parse(&text, std::path::Path::new("(embedded profile)")).map_err(|e| e.to_string())
}
