//! `slprod sim`: run the SalesLoft API v2 + OAuth simulator until SIGINT/SIGTERM.
//!
//! Configuration comes from `--config FILE` (TOML, every `SimConfig` field) with flags on top.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use salesloft_sim::{OAuthClientConfig, SimConfig, Simulator};

use serde_json::json;

use super::Context;
use crate::error::{CliError, Outcome, Status};
use crate::limits::duration_between;
use crate::output::OutputFormat;

/// One hour, the unit of the duration flags' upper bounds (which keep clock arithmetic from overflowing).
const HOUR: Duration = Duration::from_secs(3600);

/// Arguments of `slprod sim`. `Debug` redacts the API key, client secret and control token.
#[derive(clap::Args)]
pub struct SimArgs {
    /// Address to listen on (port 0 picks a free port). Default 127.0.0.1:4545.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// The team's API key (default: `ak` + 64 hex derived from the seed).
    #[arg(long, value_name = "KEY", env = "SALESLOFT_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// How many people to seed (default 100; 1 000 000 is fine).
    #[arg(long, value_name = "N")]
    pub seed_people: Option<u64>,
    /// Seed of the generated data, keys and tokens (default 42).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Cost budget per minute (default 600).
    #[arg(long, value_name = "N")]
    pub budget: Option<u32>,
    /// Length of the rate-limit window, e.g. `1s` to compress the minute (default 60s; 1ms to 1h).
    #[arg(long, value_name = "DURATION", value_parser = duration_between(Duration::from_millis(1), HOUR))]
    pub minute: Option<Duration>,
    /// OAuth access-token lifetime (default 2h; 1s to 30 days).
    #[arg(long, value_name = "DURATION", value_parser = duration_between(Duration::from_secs(1), 720 * HOUR))]
    pub token_lifetime: Option<Duration>,
    /// Wait between webhook delivery attempts (default 15s; 1ms to 1 day).
    #[arg(long, value_name = "DURATION", value_parser = duration_between(Duration::from_millis(1), 24 * HOUR))]
    pub webhook_retry_interval: Option<Duration>,
    /// OAuth client id (replaces the default `sim-client`).
    #[arg(long, value_name = "ID", requires = "oauth_client_secret")]
    pub oauth_client_id: Option<String>,
    /// OAuth client secret.
    #[arg(long, value_name = "SECRET", env = "SLPROD_SIM_OAUTH_CLIENT_SECRET", hide_env_values = true)]
    pub oauth_client_secret: Option<String>,
    /// Bearer token the control API (`/__sim/...`) requires; without it only loopback callers may use the
    /// control API (prefer the environment variable: a flag shows in the process list).
    #[arg(long, value_name = "TOKEN", env = "SLPROD_SIM_CONTROL_TOKEN", hide_env_values = true)]
    pub control_token: Option<String>,
    /// Longest wait for a request's header or body before the connection is closed (default 30s; 1ms to 1h).
    #[arg(long, value_name = "DURATION", value_parser = duration_between(Duration::from_millis(1), HOUR))]
    pub read_timeout: Option<Duration>,
    /// TOML file with any `SimConfig` field; flags override it. (Not `--config`: that global flag names
    /// slprod.toml.)
    #[arg(long, value_name = "FILE")]
    pub sim_config: Option<PathBuf>,
}

impl std::fmt::Debug for SimArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |value: &Option<String>| value.as_ref().map(|_| "[REDACTED]");
        f.debug_struct("SimArgs")
            .field("listen", &self.listen)
            .field("api_key", &redacted(&self.api_key))
            .field("seed_people", &self.seed_people)
            .field("seed", &self.seed)
            .field("budget", &self.budget)
            .field("minute", &self.minute)
            .field("token_lifetime", &self.token_lifetime)
            .field("webhook_retry_interval", &self.webhook_retry_interval)
            .field("oauth_client_id", &self.oauth_client_id)
            .field("oauth_client_secret", &redacted(&self.oauth_client_secret))
            .field("control_token", &redacted(&self.control_token))
            .field("read_timeout", &self.read_timeout)
            .field("sim_config", &self.sim_config)
            .finish()
    }
}

/// Default listen address of the command (the library default is an ephemeral port).
const DEFAULT_LISTEN: ([u8; 4], u16) = ([127, 0, 0, 1], 4545);

impl SimArgs {
    /// The configuration: file (if any), then flags.
    pub fn to_config(&self) -> Result<SimConfig, String> {
        let defaults = SimConfig { listen: SocketAddr::from(DEFAULT_LISTEN), ..SimConfig::default() };
        let mut config = match &self.sim_config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|error| format!("cannot read config file {}: {error}", path.display()))?;
                SimConfig::from_toml_over(&text, defaults).map_err(|error| format!("{}: {error}", path.display()))?
            }
            None => defaults,
        };
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        if let Some(key) = &self.api_key {
            config.api_keys = vec![key.clone()];
        }
        if let Some(people) = self.seed_people {
            config.seed_people = people;
        }
        if let Some(seed) = self.seed {
            config.seed = seed;
        }
        if let Some(budget) = self.budget {
            config.budget_per_minute = budget;
        }
        if let Some(minute) = self.minute {
            config.minute = minute;
        }
        if let Some(lifetime) = self.token_lifetime {
            config.access_token_lifetime = lifetime;
        }
        if let Some(interval) = self.webhook_retry_interval {
            config.webhook_retry_interval = interval;
        }
        if let Some(token) = &self.control_token {
            config.control_token = Some(token.clone());
        }
        if let Some(timeout) = self.read_timeout {
            config.read_timeout = timeout;
        }
        match (&self.oauth_client_id, &self.oauth_client_secret) {
            (Some(id), Some(secret)) => {
                config.oauth_clients = vec![OAuthClientConfig {
                    client_id: id.clone(),
                    client_secret: secret.clone(),
                    ..OAuthClientConfig::default()
                }];
            }
            (None, Some(secret)) => {
                for client in &mut config.oauth_clients {
                    client.client_secret = secret.clone();
                }
            }
            _ => {}
        }
        config.validate().map_err(|error| error.to_string())?;
        Ok(config)
    }
}

/// Runs the simulator until SIGINT/SIGTERM: a clean stop (0), cannot start (2). Its address and credentials
/// are printed once it listens (one JSON object with `--output json`).
pub async fn run(args: SimArgs, context: &Context) -> Result<Outcome, CliError> {
    let config = args.to_config().map_err(CliError::Simulator)?;
    let sim = Simulator::start(config).await.map_err(|error| CliError::Simulator(error.to_string()))?;
    // The simulator's own test credentials (derived from the seed) are printed so a user can call it; a key the
    // user chose with --api-key is not echoed back.
    let api_key = args.api_key.is_none().then(|| sim.api_key().to_string());
    let oauth = sim.config().oauth_clients.first().map(|client| (format!("{}/oauth/token", sim.root_url()), client));
    let loopback_only = sim.config().control_token.is_none() && !sim.local_addr().ip().is_loopback();
    if context.ui.format() == OutputFormat::Json {
        let value = json!({
            "base_url": sim.base_url().to_string(),
            "api_key": api_key,
            "oauth_token_url": oauth.as_ref().map(|(url, _)| url.clone()),
            "oauth_client_id": oauth.as_ref().map(|(_, client)| client.client_id.clone()),
        });
        println!("{value}");
    } else {
        println!("salesloft simulator listening on {}", sim.base_url());
        if let Some(key) = &api_key {
            println!("api key: {key}");
        }
        if let Some((url, client)) = &oauth {
            println!("oauth: {url} (client id {})", client.client_id);
        }
        if loopback_only {
            println!(
                "control API ({}/__sim/...): loopback callers only; pass --control-token to allow others",
                sim.root_url()
            );
        }
    }
    crate::signals::shutdown().await;
    tracing::info!("stopping the simulator");
    sim.shutdown().await;
    Ok(Outcome::new(Status::Done, json!({"stopped": true}), ""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: SimArgs,
    }

    fn parse(argv: &[&str]) -> Result<SimArgs, clap::Error> {
        Wrapper::try_parse_from(std::iter::once("sim").chain(argv.iter().copied())).map(|wrapper| wrapper.args)
    }

    #[test]
    fn flags_override_defaults() {
        let args = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--api-key",
            "k",
            "--seed-people",
            "7",
            "--budget",
            "60000",
            "--minute",
            "1s",
            "--token-lifetime",
            "90s",
            "--oauth-client-id",
            "id",
            "--oauth-client-secret",
            "secret",
            "--control-token",
            "ctl",
            "--read-timeout",
            "5s",
        ])
        .expect("valid flags");
        let config = args.to_config().expect("valid config");
        assert_eq!(config.listen, "127.0.0.1:0".parse().expect("addr"));
        assert_eq!(config.api_keys, vec!["k".to_owned()]);
        assert_eq!(config.seed_people, 7);
        assert_eq!(config.budget_per_minute, 60_000);
        assert_eq!(config.minute, Duration::from_secs(1));
        assert_eq!(config.access_token_lifetime, Duration::from_secs(90));
        assert_eq!(config.oauth_clients[0].client_id, "id");
        assert_eq!(config.oauth_clients[0].client_secret, "secret");
        assert_eq!((config.control_token.as_deref(), config.read_timeout), (Some("ctl"), Duration::from_secs(5)));
        let text = format!("{args:?} {config:?}");
        for secret in ["\"secret\"", "\"ctl\"", "\"k\""] {
            assert!(!text.contains(secret), "Debug shows {secret}: {text}");
        }
    }

    #[test]
    fn defaults_listen_on_4545_and_bad_values_are_errors() {
        let config = parse(&[]).expect("no flags").to_config().expect("defaults");
        assert_eq!(config.listen, SocketAddr::from(DEFAULT_LISTEN));
        assert!(parse(&["--minute", "soon"]).is_err());
        // Zero and overflowing durations are refused by the flag's parser (crate::limits).
        assert!(parse(&["--minute", "0s"]).is_err());
        assert!(parse(&["--token-lifetime", "500000000000y"]).is_err());
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut file, b"budget_per_minute = 5\nseed_people = 3\n").expect("write");
        let from_file = parse(&["--sim-config", &file.path().display().to_string(), "--seed-people", "4"])
            .expect("flags")
            .to_config()
            .expect("valid file");
        assert_eq!((from_file.budget_per_minute, from_file.seed_people), (5, 4), "flags override the file");
        assert_eq!(from_file.listen, SocketAddr::from(DEFAULT_LISTEN), "the file did not set listen");
        std::io::Write::write_all(&mut file, b"bogus = true\n").expect("write");
        let bad = parse(&["--sim-config", &file.path().display().to_string()]).expect("flags").to_config();
        assert!(bad.is_err_and(|message| message.contains("bogus")));
        let missing =
            SimArgs { sim_config: Some(PathBuf::from("/nonexistent/sim.toml")), ..parse(&[]).expect("no flags") };
        assert!(missing.to_config().is_err_and(|message| message.contains("/nonexistent/sim.toml")));
    }
}
