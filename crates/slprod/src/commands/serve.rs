//! `slprod serve`: run the gateway ([`salesloft_gateway`]) — the team's single egress to SalesLoft — until
//! SIGINT or SIGTERM.
//!
//! Every setting comes from, highest first: the flag, its environment variable, the configuration file
//! (`[gateway]`, `[webhooks]`, `[salesloft]`, `[store]`; ../shared/CONFIG.md), the default. Internal tokens and
//! webhook secrets take comma-separated lists, so a rotation runs with the old and the new value at once. The
//! gateway refuses to start without an internal token or a webhook secret unless `--insecure-dev` is given.
//! The team's rate budget (`[budget]`) is paced through the store, shared by every replica on it.
//! The sync jobs of `[[jobs]]` run beside it ([`salesloft_sync::jobs`]), through the same client and budget.
//! Stored webhook deliveries are handed on (`--webhook-sink`, `[webhooks]` `sink`, `max_attempts` and
//! `[[webhooks.subscribers]]`; salesloft_gateway::dispatch) in order per resource; a stop finishes the
//! delivery in hand and flushes the sink before exiting.
//! Once it accepts connections it prints one line on standard output, `listening on http://ADDR`; on a
//! signal it stops accepting, finishes the requests in flight, stops the jobs at a safe point (releasing their
//! leases) and exits 0.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use salesloft_client::Client;
use salesloft_client::transport::RateBudgetConfig;
use salesloft_gateway::dispatch::DEFAULT_MAX_ATTEMPTS;
use salesloft_gateway::{
    DEFAULT_HEALTH_CACHE, DEFAULT_WEBHOOK_MAX_BODY_BYTES, DispatchConfig, Gateway, GatewayConfig, Secrets, Subscriber,
    TeamBudget,
};
use salesloft_sync::StoreBudget;
use salesloft_sync::jobs::{JobRunner, RunnerConfig};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::Context;
use crate::config::{Config, ConfigError, SecretRef};
use crate::connect::{ConnectArgs, StoreArgs};
use crate::error::{CliError, Outcome, Status};

/// The environment variable holding `--webhook-subscriber`'s signing secret.
pub const SUBSCRIBER_SECRET_ENV: &str = "SLPROD_WEBHOOK_SUBSCRIBER_SECRET";

/// The default listen address (`gateway.listen`).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

fn parse_secret(value: &str) -> Result<SecretString, String> {
    if value.trim().is_empty() {
        return Err("the value is empty".to_string());
    }
    Ok(SecretString::from(value.trim().to_string()))
}

/// Arguments of `slprod serve`. `Debug` shows no token or secret.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: gateway.listen, or 127.0.0.1:8080].
    #[arg(long, env = "SLPROD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Where and how to reach SalesLoft (the gateway's own credential; callers never see it).
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The store: pause switch, audit log, webhook inbox (PostgreSQL for several replicas).
    #[command(flatten)]
    pub store: StoreArgs,
    /// Webhook callback token(s), comma-separated during a rotation [default: webhooks.secret_refs].
    #[arg(long, env = "SLPROD_WEBHOOK_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub webhook_secret: Option<SecretString>,
    /// Token(s) internal callers present as `Authorization: Bearer …`, comma-separated during a rotation
    /// [default: gateway.internal_token_refs].
    #[arg(long, env = "SLPROD_INTERNAL_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub internal_token: Option<SecretString>,
    /// Token for /admin/* [default: gateway.admin_token_ref]; without one the admin endpoints refuse everyone.
    #[arg(long, env = "SLPROD_ADMIN_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub admin_token: Option<SecretString>,
    /// Start without internal token, webhook secret or admin token: whatever has none is open. Development
    /// only (a laptop in front of `slprod sim`).
    #[arg(long)]
    pub insecure_dev: bool,
    /// Append every webhook delivery handed on to this JSONL file, exactly once [default: webhooks.sink].
    #[arg(long, env = "SLPROD_WEBHOOK_SINK", value_name = "FILE.jsonl")]
    pub webhook_sink: Option<std::path::PathBuf>,
    /// Forward every webhook delivery to this internal URL, signed as Standard Webhooks with the
    /// `whsec_…` secret in SLPROD_WEBHOOK_SUBSCRIBER_SECRET (in addition to webhooks.subscribers).
    #[arg(long, env = "SLPROD_WEBHOOK_SUBSCRIBER", value_name = "URL")]
    pub webhook_subscriber: Option<String>,
}

/// A flag or environment value (comma-separated), else the file's references (each may hold a list too).
fn secrets(given: Option<&SecretString>, refs: Option<&[SecretRef]>, key: &str) -> Result<Secrets, CliError> {
    if let Some(given) = given {
        return Ok(Secrets::parse_list(given.expose_secret()));
    }
    let mut all = Secrets::default();
    for reference in refs.unwrap_or_default() {
        let secret = reference.resolve().map_err(|message| ConfigError::Secret { key: key.to_string(), message })?;
        all = all.merged(Secrets::parse_list(secret.expose_secret()));
    }
    Ok(all)
}

impl ServeArgs {
    /// The gateway's settings from flags, environment and `config`.
    pub fn gateway_config(&self, config: &Config) -> Result<GatewayConfig, CliError> {
        let webhook_max_body_bytes = match config.webhooks.max_body_bytes {
            Some(bytes) => usize::try_from(bytes)
                .ok()
                .filter(|b| *b > 0)
                .ok_or_else(|| CliError::Input("webhooks.max_body_bytes must be a positive size".into()))?,
            None => DEFAULT_WEBHOOK_MAX_BODY_BYTES,
        };
        Ok(GatewayConfig {
            internal_tokens: secrets(
                self.internal_token.as_ref(),
                config.gateway.internal_token_refs.as_deref(),
                "gateway.internal_token_refs",
            )?,
            admin_token: secrets(
                self.admin_token.as_ref(),
                config.gateway.admin_token_ref.as_ref().map(std::slice::from_ref),
                "gateway.admin_token_ref",
            )?,
            webhook_secrets: secrets(
                self.webhook_secret.as_ref(),
                config.webhooks.secret_refs.as_deref(),
                "webhooks.secret_refs",
            )?,
            insecure_dev: self.insecure_dev,
            webhook_max_body_bytes,
            health_cache: config.gateway.health_cache_secs.map_or(DEFAULT_HEALTH_CACHE, Duration::from_secs),
            dispatch: self.dispatch_config(config)?,
            ..GatewayConfig::default()
        })
    }

    /// Where webhook deliveries are handed on: `--webhook-sink` or `webhooks.sink`, `webhooks.max_attempts`,
    /// every `[[webhooks.subscribers]]` and `--webhook-subscriber`. Secrets resolve like every `*_ref`.
    pub fn dispatch_config(&self, config: &Config) -> Result<DispatchConfig, CliError> {
        let mut subscribers = Vec::new();
        for (n, subscriber) in config.webhooks.subscribers.iter().flatten().enumerate() {
            let key = format!("webhooks.subscribers[{n}].secret_ref");
            let secret = subscriber.secret_ref.resolve().map_err(|message| ConfigError::Secret { key, message })?;
            subscribers.push(Subscriber::new(&subscriber.url, secret.expose_secret())?);
        }
        if let Some(url) = &self.webhook_subscriber {
            let secret = std::env::var(SUBSCRIBER_SECRET_ENV).map_err(|_| {
                CliError::Input(format!("--webhook-subscriber needs its whsec_ secret in {SUBSCRIBER_SECRET_ENV}"))
            })?;
            subscribers.push(Subscriber::new(url, &secret)?);
        }
        let max_attempts = config.webhooks.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
        if max_attempts == 0 {
            return Err(CliError::Input("webhooks.max_attempts must be at least 1".into()));
        }
        Ok(DispatchConfig {
            sink: self.webhook_sink.clone().or_else(|| config.webhooks.sink.clone()),
            subscribers,
            max_attempts,
            ..DispatchConfig::default()
        })
    }

    /// The listen address: flag or environment, else `gateway.listen`, else [`DEFAULT_LISTEN`].
    pub fn listen(&self, config: &Config) -> Result<SocketAddr, CliError> {
        if let Some(addr) = self.listen {
            return Ok(addr);
        }
        let text = config.gateway.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        text.parse()
            .map_err(|_| CliError::Input(format!("gateway.listen {text:?} is not an address such as 127.0.0.1:8080")))
    }
}

impl ServeArgs {
    /// The store row of the team's budget: named after the API root, `[budget]` less the reserve per minute.
    pub fn team_budget(&self, config: &Config) -> TeamBudget {
        let (limit, _, reserve) = budget_figures(config);
        TeamBudget {
            team: self.connect.base_url(config),
            limit: limit - reserve,
            window: RateBudgetConfig::default().window,
        }
    }

    /// The client: the connection flags' pipeline with the team budget of `[budget]` (`cost_per_minute`,
    /// default 600; `reserve_pct`, default 0) paced locally and through the store, so every replica on one
    /// store spends from one budget (salesloft_sync::StoreBudget). The store row is named after the API root.
    pub fn client(&self, config: &Config, store: &salesloft_store::Store) -> Result<Client, CliError> {
        if config.budget.cost_per_minute == Some(0) {
            return Err(CliError::Input("budget.cost_per_minute must be positive".into()));
        }
        let (limit, reserve_pct, reserve) = budget_figures(config);
        let team = self.team_budget(config);
        // Taken from the store 10 cost at a time (salesloft_sync::shared_budget, "Chunks"): a store write per
        // 10 requests instead of per request, and at most 10 per replica left unused when a window ends.
        let shared = StoreBudget::new(store.clone(), team.team, limit, reserve, team.window).with_chunk(BUDGET_CHUNK);
        // Replicas sharing the store refresh the OAuth grant one at a time under a store lease (FACTS.md §1.3),
        // taken after the host's flock so that a pull or push on this host is excluded too.
        let lease = |reference: &SecretRef| -> Arc<dyn salesloft_secrets::GrantLocker> {
            let lease = Arc::new(salesloft_sync::StoreGrantLocker::new(store.clone(), &reference.to_string()));
            Arc::new(salesloft_secrets::BothLocker::new(crate::connect::flock_for(reference), lease))
        };
        self.connect
            .pipeline_builder_locked(config, Some(&lease))?
            .rate_budget(RateBudgetConfig {
                limit,
                reserve_fraction: f64::from(reserve_pct) / 100.0,
                ..RateBudgetConfig::default()
            })
            .shared_budget(Arc::new(shared))
            .build()
            .map(Client::new)
            .map_err(|e| CliError::Connect(e.to_string()))
    }
}

/// Cost each replica takes from the store's shared budget row at a time.
const BUDGET_CHUNK: u32 = 10;

/// `[budget]`: the team's cost per minute (default 600), the reserve percentage (default 0, at most 99) and the
/// reserve in cost, rounded up as the client's local budget rounds it.
fn budget_figures(config: &Config) -> (u32, u8, u32) {
    let limit = config.budget.cost_per_minute.unwrap_or(600).max(1);
    let reserve_pct = config.budget.reserve_pct.unwrap_or(0).min(99);
    // In u64: a huge configured limit must not overflow; the reserve is below the limit, so it fits a u32.
    let reserve = (u64::from(limit) * u64::from(reserve_pct)).div_ceil(100);
    (limit, reserve_pct, u32::try_from(reserve).unwrap_or(limit - 1))
}

/// Runs the gateway until SIGINT or SIGTERM: stopped cleanly (0), could not start (2).
pub async fn run(args: ServeArgs, context: &Context) -> Result<Outcome, CliError> {
    let config = &context.config;
    let mut gateway_config = args.gateway_config(config)?;
    // Check the credentials before anything is opened or bound: a refusal is immediate and says why.
    gateway_config.validate()?;
    let addr = args.listen(config)?;
    let store = args.store.open(config).await?;
    let client = args.client(config, &store)?;
    let metrics = salesloft_gateway::metrics::install();
    gateway_config.metrics = Some(metrics.clone());
    // The built-in evaluator (issue 10): the exported alert rules applied to this process's own counters.
    let evaluator =
        crate::alerting::evaluator(&config.alerts, Arc::new(move || metrics.render()), gateway_config.clock.clone())?
            .map(|evaluator| tokio::spawn(evaluator.run(std::future::pending())));
    gateway_config.team_budget = Some(args.team_budget(config));
    let jobs = config.job_specs();
    gateway_config.jobs = jobs.iter().map(|job| job.name.clone()).collect();
    let gateway = Gateway::new(client.pipeline().clone(), store.clone(), gateway_config)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| CliError::Listen { addr: addr.to_string(), source })?;
    let local = listener.local_addr().map_err(|source| CliError::Listen { addr: addr.to_string(), source })?;
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "listening on http://{local}");
        let _ = stdout.flush();
    }
    tracing::info!(%local, store = %store.url(), base_url = %client.pipeline().base_url(), "gateway serving");
    // One stop signal for the gateway and the jobs: SIGINT/SIGTERM, or the gateway ending on its own.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stop = Arc::new(stop);
    let on_signal = stop.clone();
    let signals = tokio::spawn(async move {
        crate::signals::shutdown().await;
        let _ = on_signal.send(true);
    });
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let runner = (!jobs.is_empty()).then(|| {
        tracing::info!(jobs = jobs.len(), "running sync jobs");
        let runner_config = RunnerConfig {
            row_reader: Some(Arc::new(crate::input::JobRowReader::default())),
            ..RunnerConfig::default()
        };
        // The gateway's own client: jobs spend the same (store-shared) team budget as proxied calls.
        let runner = JobRunner::new(client.clone(), store.clone(), jobs, runner_config);
        tokio::spawn(runner.run(until_stopped(stopped.clone())))
    });
    let served = gateway.serve(listener, until_stopped(stopped)).await;
    // Runs in progress stop at a safe point (pull: page checkpointed; push: current row finished) and release their
    // leases before the store closes.
    let _ = stop.send(true);
    if let Some(runner) = runner
        && let Err(error) = runner.await
    {
        tracing::error!(%error, "the job runner ended abnormally");
    }
    signals.abort();
    if let Some(evaluator) = evaluator {
        evaluator.abort();
    }
    store.close().await;
    served?;
    let result =
        Ok(Outcome::new(Status::Done, json!({"stopped": true, "listen": local.to_string()}), "stopped\n").on_stderr());
    crate::connect::save_pending_tokens(&client, result).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> ServeArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let mut argv = vec!["serve"];
        argv.extend_from_slice(extra);
        Wrapper::try_parse_from(argv).expect("parses").serve
    }

    #[test]
    fn flags_win_over_the_file_and_lists_split_on_commas() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("tokens");
        std::fs::write(&file, "file-a,file-b\n").expect("write");
        let mut config = Config::default();
        config.gateway.internal_token_refs = Some(vec![SecretRef::File(file.clone())]);
        config.webhooks.secret_refs = Some(vec![SecretRef::File(file)]);
        config.webhooks.max_body_bytes = Some(2048);
        config.gateway.health_cache_secs = Some(9);
        config.gateway.listen = Some("127.0.0.1:9999".into());
        let from_file = args(&[]).gateway_config(&config).expect("config");
        assert_eq!((from_file.internal_tokens.len(), from_file.webhook_secrets.len()), (2, 2));
        assert!(from_file.internal_tokens.contains(b"file-b"));
        assert_eq!((from_file.webhook_max_body_bytes, from_file.health_cache), (2048, Duration::from_secs(9)));
        assert_eq!(args(&[]).listen(&config).expect("listen").port(), 9999);

        let flagged = args(&["--internal-token", "a, b ,c", "--listen", "127.0.0.1:1234", "--insecure-dev"]);
        let from_flags = flagged.gateway_config(&config).expect("config");
        assert_eq!(from_flags.internal_tokens.len(), 3);
        assert!(!from_flags.internal_tokens.contains(b"file-a"), "the flag replaces the file's list");
        assert!(from_flags.insecure_dev);
        assert_eq!(flagged.listen(&config).expect("listen").port(), 1234);
        assert!(!format!("{flagged:?}").contains("a, b ,c"), "Debug shows no token");
    }

    #[test]
    fn webhook_dispatch_comes_from_the_flag_and_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let secret_file = dir.path().join("whsec");
        std::fs::write(&secret_file, "whsec_c2VjcmV0LWtleS1ieXRlcw==\n").expect("write");
        let mut config = Config::default();
        assert!(!args(&[]).dispatch_config(&config).expect("dispatch").enabled(), "off unless configured");
        config.webhooks.sink = Some(dir.path().join("file.jsonl"));
        config.webhooks.max_attempts = Some(3);
        config.webhooks.subscribers = Some(vec![crate::config::SubscriberConfig {
            url: "http://127.0.0.1:1/hook".into(),
            secret_ref: SecretRef::File(secret_file),
        }]);
        let from_file = args(&[]).dispatch_config(&config).expect("dispatch");
        assert_eq!((from_file.sink, from_file.max_attempts), (Some(dir.path().join("file.jsonl")), 3));
        assert_eq!(from_file.subscribers.len(), 1);
        assert!(!format!("{:?}", from_file.subscribers).contains("c2VjcmV0"), "Debug shows no secret");
        let flagged = args(&["--webhook-sink", "/tmp/x.jsonl"]).dispatch_config(&config).expect("dispatch");
        assert_eq!(flagged.sink, Some(std::path::PathBuf::from("/tmp/x.jsonl")), "the flag wins");
        config.webhooks.max_attempts = Some(0);
        assert!(args(&[]).dispatch_config(&config).is_err());
    }

    #[test]
    fn the_team_budget_keeps_its_reserve_without_overflowing() {
        let mut config = Config::default();
        assert_eq!(budget_figures(&config), (600, 0, 0));
        config.budget.cost_per_minute = Some(600);
        config.budget.reserve_pct = Some(10);
        assert_eq!(budget_figures(&config), (600, 10, 60));
        assert_eq!(args(&[]).team_budget(&config).limit, 540);
        config.budget.cost_per_minute = Some(u32::MAX);
        config.budget.reserve_pct = Some(200);
        let (limit, pct, reserve) = budget_figures(&config);
        assert_eq!((limit, pct), (u32::MAX, 99));
        assert!(reserve < limit);
    }
}
