//! `slprod.toml`, the one configuration file every command reads (`../shared/CONFIG.md` is the contract for
//! its key names; `docs/configuration.md` documents the whole file).
//!
//! Which file: `--config FILE`, else `SLPROD_CONFIG`, else `./slprod.toml` when it exists, else none (every
//! command runs on defaults). A file named explicitly must exist. Precedence, highest first: flags, environment
//! variables, the file, built-in defaults.
//!
//! The file is parsed once ([`load`]). Unknown keys are an error, and every error names the file, the line and
//! the key path. Secrets are never inline: `*_ref` keys hold a [`SecretRef`] (`env:NAME`, `file:PATH`; the
//! secret-manager schemes parse but are not supported yet).

pub mod secret_ref;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use secret_ref::SecretRef;

/// The file read when neither `--config` nor `SLPROD_CONFIG` names one (relative to the working directory).
pub const DEFAULT_CONFIG_FILE: &str = "slprod.toml";

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key or a value of the wrong type.
    #[error("{}: line {line}: {key}{message}", path.display(), key = key_prefix(.key))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the offending key or value.
        line: usize,
        /// The key path (`salesloft.timeout_secs`), when known.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A `*_ref` secret reference could not be resolved.
    #[error("{key}: {message}")]
    Secret {
        /// The key holding the reference (`salesloft.api_key_ref`).
        key: String,
        /// Why (never the secret).
        message: String,
    },
}

fn key_prefix(key: &Option<String>) -> String {
    key.as_ref().map(|key| format!("{key}: ")).unwrap_or_default()
}

/// `environment = …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer's machine.
    Development,
    /// Staging.
    Staging,
    /// Production.
    Production,
}

/// `salesloft.auth = …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// An API key (`api_key_ref`).
    ApiKey,
    /// OAuth (`oauth_client_id`, `oauth_client_secret_ref`, `oauth_tokens_ref`).
    Oauth,
}

/// The whole file. Every key is optional; absent keys take the command's defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `development`, `staging` or `production`.
    pub environment: Option<Environment>,
    /// `[salesloft]`: the API connection.
    #[serde(default)]
    pub salesloft: SalesloftConfig,
    /// `[retry]`.
    #[serde(default)]
    pub retry: RetryConfig,
    /// `[breaker]`.
    #[serde(default)]
    pub breaker: BreakerConfig,
    /// `[budget]`.
    #[serde(default)]
    pub budget: BudgetConfig,
    /// `[volume]`: the declared expected load.
    #[serde(default)]
    pub volume: VolumeConfig,
    /// `[webhooks]`.
    #[serde(default)]
    pub webhooks: WebhooksConfig,
    /// `[gateway]`.
    #[serde(default)]
    pub gateway: GatewayConfig,
    /// `[store]`.
    #[serde(default)]
    pub store: StoreConfig,
    /// `[alerts]`: thresholds from the checklist.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// `[rollback]`.
    #[serde(default)]
    pub rollback: RollbackConfig,
}

/// `[salesloft]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesloftConfig {
    /// API root including the version.
    pub base_url: Option<String>,
    /// Which credential to use.
    pub auth: Option<AuthMode>,
    /// Where the API key lives (when `auth = "api_key"`).
    pub api_key_ref: Option<SecretRef>,
    /// The production OAuth app's client id.
    pub oauth_client_id: Option<String>,
    /// Where the OAuth client secret lives.
    pub oauth_client_secret_ref: Option<SecretRef>,
    /// Where the OAuth token set lives (rotated tokens are written back: `file:PATH` today).
    pub oauth_tokens_ref: Option<SecretRef>,
    /// OAuth token endpoint (default: SalesLoft's, or `<root>/oauth/token`). Not in CONFIG.md; mirrors
    /// `--oauth-token-url`.
    pub oauth_token_url: Option<String>,
    /// Client ids of development and staging apps.
    pub non_production_client_ids: Option<Vec<String>>,
    /// Per-request timeout in seconds.
    pub timeout_secs: Option<u64>,
}

/// `[retry]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts per request, the first included.
    pub max_attempts: Option<u32>,
    /// First backoff delay.
    pub base_delay_ms: Option<u64>,
    /// Longest backoff delay.
    pub max_delay_ms: Option<u64>,
    /// Whether a `Retry-After` hint wins over the computed delay.
    pub honour_retry_after: Option<bool>,
}

/// `[breaker]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// Whether the circuit breaker runs.
    pub enabled: Option<bool>,
    /// Consecutive failures that open it.
    pub failure_threshold: Option<u32>,
    /// How long it stays open.
    pub open_secs: Option<u64>,
    /// Probes let through while half open.
    pub half_open_probes: Option<u32>,
}

/// `[budget]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// SalesLoft's team cost budget per minute.
    pub cost_per_minute: Option<u32>,
    /// Percent of the budget kept for other integrations.
    pub reserve_pct: Option<u8>,
}

/// `[volume]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeConfig {
    /// People upserted per day.
    pub people_upserts_per_day: Option<u64>,
    /// Records read per day.
    pub records_read_per_day: Option<u64>,
    /// Fraction of a day's work done in its busiest hour.
    pub peak_hour_share: Option<f64>,
}

/// `[webhooks]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Where the signing secrets live (several during a rotation).
    pub secret_refs: Option<Vec<SecretRef>>,
    /// SHA-256 of the development/staging secret.
    pub development_secret_sha256: Option<String>,
    /// Largest accepted body.
    pub max_body_bytes: Option<u64>,
    /// Days a finished delivery is kept.
    pub retention_days: Option<u32>,
}

/// `[gateway]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Listen address.
    pub listen: Option<String>,
    /// Where the internal callers' tokens live.
    pub internal_token_refs: Option<Vec<SecretRef>>,
    /// Where the admin token lives.
    pub admin_token_ref: Option<SecretRef>,
    /// Seconds a health answer is cached.
    pub health_cache_secs: Option<u64>,
}

/// `[store]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://PATH` or `postgres://…`.
    pub url: Option<String>,
    /// Where the audit chain's HMAC key lives. Not in CONFIG.md; mirrors `SLPROD_AUDIT_KEY` /
    /// `--audit-key-file`.
    pub audit_key_ref: Option<SecretRef>,
}

/// `[alerts]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// 5xx per minute (P1).
    pub server_errors_per_minute: Option<u32>,
    /// 429s per minute (P2).
    pub rate_limited_per_minute: Option<u32>,
    /// Auth failures (P1).
    pub auth_failures: Option<u32>,
    /// p99 latency (P3).
    pub p99_latency_ms: Option<u64>,
    /// Read latency baseline.
    pub read_baseline_ms: Option<u64>,
    /// Write latency baseline.
    pub write_baseline_ms: Option<u64>,
    /// Where the Slack webhook URL lives.
    pub slack_webhook_url_ref: Option<SecretRef>,
    /// Where the PagerDuty routing key lives.
    pub pagerduty_routing_key_ref: Option<SecretRef>,
    /// PagerDuty events endpoint.
    pub pagerduty_url: Option<String>,
    /// Added key: how often `slprod serve`'s built-in evaluator checks the alerts, in seconds (default 15;
    /// 0 turns it off, for teams whose Prometheus evaluates the exported rules).
    pub evaluation_interval_secs: Option<u64>,
}

/// `[rollback]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackConfig {
    /// The gateway's health URL.
    pub health_url: Option<String>,
    /// The gateway `slprod rollback` pauses through (added key; default: pause in the store).
    pub gateway_url: Option<String>,
    /// The Kubernetes deployment the operator rolls back (added key; default `slprod`).
    pub deployment: Option<String>,
    /// Its namespace (added key).
    pub namespace: Option<String>,
    /// Where the rollback notification URL lives.
    pub notify_url_ref: Option<SecretRef>,
}

/// A parsed file and where it came from.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The file read, if any.
    pub path: Option<PathBuf>,
    /// Its content (defaults when no file).
    pub config: Config,
}

/// Which file to read: `explicit` (`--config`, or `SLPROD_CONFIG` through clap), else `./slprod.toml` when it
/// exists, else none.
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|path| path.is_file()),
    }
}

/// Reads and parses the configuration file chosen by [`locate`]; no file gives the defaults. A file named
/// explicitly must exist.
pub fn load(explicit: Option<&Path>) -> Result<Loaded, ConfigError> {
    let Some(path) = locate(explicit) else {
        return Ok(Loaded::default());
    };
    let bytes = std::fs::read(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
    let config = parse_bytes(&bytes, &path)?;
    Ok(Loaded { path: Some(path), config })
}

/// Parses the bytes of a configuration file named `path` (for messages).
pub fn parse_bytes(bytes: &[u8], path: &Path) -> Result<Config, ConfigError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        ConfigError::Invalid { path: path.to_path_buf(), line, key: None, message: "not valid UTF-8".to_string() }
    })?;
    parse(text, path)
}

/// Parses the text of a configuration file named `path` (for messages).
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let invalid = |error: &toml::de::Error, key: Option<String>| {
        let line = match error.span() {
            Some(span) => line_of(text, span.start),
            None => key.as_deref().and_then(|key| find_key_line(text, key)).unwrap_or(1),
        };
        ConfigError::Invalid { path: path.to_path_buf(), line, key, message: error.message().trim().to_string() }
    };
    let deserializer = toml::Deserializer::parse(text).map_err(|e| invalid(&e, None))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        let key = (!key.is_empty() && key != "." && key != "?").then_some(key);
        invalid(e.inner(), key)
    })
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The line where the last segment of `key` is assigned, when an error carries no position.
fn find_key_line(text: &str, key: &str) -> Option<usize> {
    let last = key.rsplit('.').next()?;
    text.lines().position(|line| line.trim_start().starts_with(last)).map(|index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CONTRACT: &str = r#"
environment = "production"

[salesloft]
base_url = "https://api.salesloft.com/v2"
auth = "oauth"
api_key_ref = "env:SALESLOFT_API_KEY"
oauth_client_id = "prod-app"
oauth_client_secret_ref = "vault:secret/slprod/oauth#client_secret"
oauth_tokens_ref = "vault:secret/slprod/oauth-tokens"
non_production_client_ids = ["dev-app"]
timeout_secs = 30

[retry]
max_attempts = 3
base_delay_ms = 200
max_delay_ms = 20000
honour_retry_after = true

[breaker]
enabled = true
failure_threshold = 5
open_secs = 30
half_open_probes = 1

[budget]
cost_per_minute = 600
reserve_pct = 10

[volume]
people_upserts_per_day = 20000
records_read_per_day = 200000
peak_hour_share = 0.25

[webhooks]
secret_refs = ["env:SLPROD_WEBHOOK_SECRET"]
development_secret_sha256 = "abc"
max_body_bytes = 1048576
retention_days = 7

[gateway]
listen = "127.0.0.1:8080"
internal_token_refs = ["env:SLPROD_INTERNAL_TOKEN"]
admin_token_ref = "env:SLPROD_ADMIN_TOKEN"
health_cache_secs = 5

[store]
url = "sqlite://slprod.sqlite"

[alerts]
server_errors_per_minute = 5
rate_limited_per_minute = 10
auth_failures = 1
p99_latency_ms = 2000
read_baseline_ms = 300
write_baseline_ms = 500
slack_webhook_url_ref = "env:SLPROD_SLACK_WEBHOOK"
pagerduty_routing_key_ref = "env:SLPROD_PAGERDUTY_KEY"
pagerduty_url = "https://events.pagerduty.com/v2/enqueue"

[rollback]
health_url = "https://gateway.internal/health"
notify_url_ref = "env:SLPROD_ROLLBACK_NOTIFY_URL"
"#;

    fn path() -> &'static Path {
        Path::new("slprod.toml")
    }

    #[test]
    fn every_contract_key_parses() {
        let config = parse(CONTRACT, path()).expect("the CONFIG.md example parses");
        assert_eq!(config.environment, Some(Environment::Production));
        assert_eq!(config.salesloft.auth, Some(AuthMode::Oauth));
        assert_eq!(config.salesloft.timeout_secs, Some(30));
        assert_eq!(config.retry.max_attempts, Some(3));
        assert_eq!(config.budget.cost_per_minute, Some(600));
        assert_eq!(config.store.url.as_deref(), Some("sqlite://slprod.sqlite"));
        assert_eq!(config.webhooks.secret_refs.as_ref().map(Vec::len), Some(1));
        assert_eq!(config.rollback.notify_url_ref, Some(SecretRef::Env("SLPROD_ROLLBACK_NOTIFY_URL".into())));
    }

    #[test]
    fn the_examples_file_parses() {
        let text = include_str!("../../../examples/slprod.toml");
        parse(text, path()).expect("examples/slprod.toml parses");
    }

    #[test]
    fn an_unknown_key_names_the_key_and_its_line() {
        let error = parse("[retry]\nmax_attempts = 3\nmax_atempts = 4\n", path()).expect_err("a typo is refused");
        let message = error.to_string();
        assert!(message.contains("line 3") && message.contains("max_atempts"), "{message}");
        let error = parse("envirnoment = \"production\"\n", path()).expect_err("unknown top-level key");
        assert!(error.to_string().contains("line 1") && error.to_string().contains("envirnoment"), "{error}");
        let error = parse("[storage]\nurl = \"x\"\n", path()).expect_err("unknown table");
        assert!(error.to_string().contains("storage"), "{error}");
    }

    #[test]
    fn a_wrong_type_names_the_key_and_its_line() {
        let error = parse("[salesloft]\n\ntimeout_secs = \"thirty\"\n", path()).expect_err("wrong type");
        let message = error.to_string();
        assert!(message.contains("line 3") && message.contains("salesloft.timeout_secs"), "{message}");
    }

    #[test]
    fn an_inline_secret_or_unknown_scheme_is_refused() {
        let error = parse("[salesloft]\napi_key_ref = \"ak_live_123\"\n", path()).expect_err("inline secret");
        let message = error.to_string();
        assert!(message.contains("line 2") && message.contains("salesloft.api_key_ref"), "{message}");
        assert!(!message.contains("ak_live_123"), "the value is not echoed: {message}");
        let error = parse("[store]\naudit_key_ref = \"ftp:x\"\n", path()).expect_err("unknown scheme");
        assert!(error.to_string().contains("store.audit_key_ref"), "{error}");
    }

    #[test]
    fn no_file_means_defaults_and_a_named_missing_file_is_an_error() {
        let missing = Path::new("/nonexistent/slprod.toml");
        let error = load(Some(missing)).expect_err("a named file must exist");
        assert!(error.to_string().contains("/nonexistent/slprod.toml"), "{error}");
        assert!(parse("", path()).expect("empty").salesloft.base_url.is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

        /// Random bytes never panic the parser; an error always names a line.
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Err(error) = parse_bytes(&bytes, path()) {
                prop_assert!(error.to_string().contains("line "), "{}", error);
            }
        }

        /// TOML-looking text (keys from the contract, random values) never panics; errors name a line.
        #[test]
        fn toml_like_text_never_panics(
            lines in proptest::collection::vec(
                (
                    prop_oneof![
                        Just("[salesloft]"), Just("[retry]"), Just("[store]"), Just("[webhooks]"), Just("[bogus]"),
                        Just("base_url"), Just("timeout_secs"), Just("max_attempts"), Just("url"),
                        Just("api_key_ref"), Just("secret_refs"), Just("environment"), Just("typo_key"),
                    ],
                    prop_oneof![
                        Just(String::new()), "[ -~]{0,12}".prop_map(|s| format!(" = {s}")),
                        "[a-z:/_]{0,12}".prop_map(|s| format!(" = \"{s}\"")), any::<i64>().prop_map(|n| format!(" = {n}")),
                        Just(" = [\"env:A\", \"file:/b\"]".to_string()), Just(" = true".to_string()),
                    ],
                ),
                0..12,
            )
        ) {
            let text: String = lines.iter().map(|(key, value)| format!("{key}{value}\n")).collect();
            if let Err(error) = parse(&text, path()) {
                let message = error.to_string();
                prop_assert!(message.contains("line "), "{}", message);
            }
        }
    }
}
