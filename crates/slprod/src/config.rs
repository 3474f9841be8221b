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

use salesloft_sync::jobs::{JobKind, JobSpec, PullResource};
use serde::Deserialize;
use toml::Spanned;

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
    /// `[[jobs]]`: sync jobs `slprod serve` runs (checked by [`parse`]: unique names, the keys each kind needs).
    #[serde(default)]
    pub jobs: Vec<Spanned<JobConfig>>,
}

/// `[[jobs]] kind = …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKindConfig {
    /// Pull a resource into a JSON-lines sink.
    Pull,
    /// Push people from a CSV or JSON-lines file.
    Push,
}

/// The default `interval_secs` of a job: five minutes.
pub const DEFAULT_JOB_INTERVAL_SECS: u64 = 300;

/// One `[[jobs]]` table. Positions are kept so that [`parse`] names the line of a bad value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// Unique name, `[A-Za-z0-9._-]`: the lease `job:<name>` and the status row.
    pub name: Spanned<String>,
    /// `pull` or `push`.
    pub kind: Spanned<JobKindConfig>,
    /// pull: `people`, `accounts`, `cadences`, `cadence_memberships`; push: `people`.
    pub resource: Spanned<String>,
    /// pull: the JSON-lines file records are appended to.
    pub sink: Option<Spanned<PathBuf>>,
    /// push: the input file, CSV or JSON lines by extension (as `slprod push --from`).
    pub source: Option<Spanned<PathBuf>>,
    /// Seconds between runs (default 300, at least 1).
    pub interval_secs: Option<Spanned<u64>>,
}

impl JobConfig {
    /// The job as the runner takes it; `None` until [`parse`] has checked it (a checked file always converts).
    pub fn spec(&self) -> Option<JobSpec> {
        let kind = match *self.kind.get_ref() {
            JobKindConfig::Pull => JobKind::Pull {
                resource: PullResource::parse(self.resource.get_ref())?,
                sink: self.sink.as_ref()?.get_ref().clone(),
            },
            JobKindConfig::Push => {
                if self.resource.get_ref() != "people" {
                    return None;
                }
                JobKind::PushPeople { source: self.source.as_ref()?.get_ref().clone() }
            }
        };
        let interval = self.interval_secs.as_ref().map_or(DEFAULT_JOB_INTERVAL_SECS, |s| *s.get_ref());
        (interval >= 1).then(|| JobSpec {
            name: self.name.get_ref().clone(),
            kind,
            interval: std::time::Duration::from_secs(interval),
        })
    }
}

impl Config {
    /// Every `[[jobs]]` table as the runner takes it (all of them, in a file [`parse`] accepted).
    pub fn job_specs(&self) -> Vec<JobSpec> {
        self.jobs.iter().filter_map(|job| job.get_ref().spec()).collect()
    }
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
    /// JSONL file every delivery handed on is appended to, once (`slprod serve --webhook-sink`).
    pub sink: Option<std::path::PathBuf>,
    /// Attempts to hand a delivery on before it is a dead letter (default 8).
    pub max_attempts: Option<u32>,
    /// Internal subscribers deliveries are forwarded to, signed as Standard Webhooks.
    pub subscribers: Option<Vec<SubscriberConfig>>,
}

/// `[[webhooks.subscribers]]`: an internal HTTP endpoint that receives every delivery.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberConfig {
    /// Where deliveries are POSTed.
    pub url: String,
    /// Where its Standard Webhooks signing secret (`whsec_<base64>`) lives.
    pub secret_ref: SecretRef,
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
    let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        // `Spanned` values (the `[[jobs]]` keys) show up in the path as a private field; drop it.
        let key = e.path().to_string().replace(".$__serde_spanned_private_value", "");
        let key = (!key.is_empty() && key != "." && key != "?").then_some(key);
        invalid(e.inner(), key)
    })?;
    check_jobs(&config.jobs, text).map_err(|(line, key, message)| ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        key: Some(key),
        message,
    })?;
    Ok(config)
}

/// Checks the `[[jobs]]` tables: unique, well-formed names; a resource the kind can use; `sink` for a pull and
/// `source` for a push (and not the other); `interval_secs` ≥ 1. An error is (line, key, message).
fn check_jobs(jobs: &[Spanned<JobConfig>], text: &str) -> Result<(), (usize, String, String)> {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    // A sink names the pull's checkpoint: two jobs appending to one file would interleave and fight over it.
    let mut sinks: std::collections::HashMap<&Path, usize> = std::collections::HashMap::new();
    for (index, table) in jobs.iter().enumerate() {
        let job = table.get_ref();
        let at = |span: std::ops::Range<usize>| line_of(text, span.start);
        let key = |name: &str| format!("jobs[{index}].{name}");
        let name = job.name.get_ref();
        salesloft_sync::jobs::JobSpec::check_name(name).map_err(|m| (at(job.name.span()), key("name"), m))?;
        if let Some(first) = seen.insert(name, line_of(text, job.name.span().start)) {
            return Err((
                at(job.name.span()),
                key("name"),
                format!("job name {name:?} is already used on line {first}"),
            ));
        }
        let resource = job.resource.get_ref();
        let table_line = at(table.span());
        match job.kind.get_ref() {
            JobKindConfig::Pull => {
                if PullResource::parse(resource).is_none() {
                    let names: Vec<_> = PullResource::ALL.iter().map(|r| r.name()).collect();
                    return Err((
                        at(job.resource.span()),
                        key("resource"),
                        format!("a pull job reads one of {}, not {resource:?}", names.join(", ")),
                    ));
                }
                let Some(sink) = &job.sink else {
                    return Err((table_line, key("sink"), "a pull job needs a sink (the JSON-lines file)".into()));
                };
                if let Some(first) = sinks.insert(sink.get_ref().as_path(), at(sink.span())) {
                    return Err((
                        at(sink.span()),
                        key("sink"),
                        format!("the sink {} is already used by the job on line {first}", sink.get_ref().display()),
                    ));
                }
                if let Some(source) = &job.source {
                    return Err((at(source.span()), key("source"), "a pull job has a sink, not a source".into()));
                }
            }
            JobKindConfig::Push => {
                if resource != "people" {
                    return Err((
                        at(job.resource.span()),
                        key("resource"),
                        format!("a push job writes people, not {resource:?}"),
                    ));
                }
                match &job.source {
                    None => {
                        return Err((
                            table_line,
                            key("source"),
                            "a push job needs a source (CSV or JSON lines)".into(),
                        ));
                    }
                    Some(source) if crate::input::InputFormat::guess(source.get_ref()).is_none() => {
                        return Err((
                            at(source.span()),
                            key("source"),
                            "the source must end in .csv, .jsonl or .ndjson (its format is read from it)".into(),
                        ));
                    }
                    Some(_) => {}
                }
                if let Some(sink) = &job.sink {
                    return Err((at(sink.span()), key("sink"), "a push job has a source, not a sink".into()));
                }
            }
        }
        if let Some(interval) = &job.interval_secs
            && *interval.get_ref() < 1
        {
            return Err((at(interval.span()), key("interval_secs"), "must be at least 1".into()));
        }
    }
    Ok(())
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
sink = "/var/lib/slprod/webhooks.jsonl"
max_attempts = 8

[[webhooks.subscribers]]
url = "http://crm-sync.internal/hooks/salesloft"
secret_ref = "env:SLPROD_SUBSCRIBER_SECRET"

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
        assert_eq!(config.webhooks.max_attempts, Some(8));
        let subscribers = config.webhooks.subscribers.as_deref().unwrap_or_default();
        assert_eq!(subscribers.len(), 1);
        assert_eq!(subscribers[0].secret_ref, SecretRef::Env("SLPROD_SUBSCRIBER_SECRET".into()));
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

    const JOBS: &str = r#"
[[jobs]]
name = "people-to-warehouse"
kind = "pull"
resource = "people"
sink = "/var/lib/slprod/people.jsonl"
interval_secs = 300

[[jobs]]
name = "crm.push_1"
kind = "push"
resource = "people"
source = "/var/lib/slprod/people.csv"
"#;

    #[test]
    fn jobs_parse_into_specs() {
        let config = parse(JOBS, path()).expect("jobs parse");
        let specs = config.job_specs();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].name, "people-to-warehouse");
        assert_eq!(
            specs[0].kind,
            JobKind::Pull { resource: PullResource::People, sink: "/var/lib/slprod/people.jsonl".into() }
        );
        assert_eq!(specs[1].kind, JobKind::PushPeople { source: "/var/lib/slprod/people.csv".into() });
        assert_eq!(specs[1].interval, std::time::Duration::from_secs(DEFAULT_JOB_INTERVAL_SECS));
        for resource in ["accounts", "cadences", "cadence_memberships"] {
            let text =
                format!("[[jobs]]\nname = \"j\"\nkind = \"pull\"\nresource = \"{resource}\"\nsink = \"x.jsonl\"\n");
            assert_eq!(parse(&text, path()).expect(resource).job_specs().len(), 1, "{resource}");
        }
    }

    /// Each bad job names its key and the line of the offending value (or of its table, for a missing key).
    #[test]
    fn bad_jobs_name_the_key_and_the_line() {
        let job = |body: &str| format!("environment = \"staging\"\n\n[[jobs]]\n{body}");
        let cases: &[(&str, &str, usize, &str)] = &[
            // (body, key, line, part of the message)
            (
                "name = \"a b\"\nkind = \"pull\"\nresource = \"people\"\nsink = \"s.jsonl\"\n",
                "jobs[0].name",
                4,
                "letters, digits",
            ),
            ("name = \"a\"\nkind = \"pull\"\nresource = \"people\"\n", "jobs[0].sink", 3, "needs a sink"),
            ("name = \"a\"\nkind = \"push\"\nresource = \"people\"\n", "jobs[0].source", 3, "needs a source"),
            (
                "name = \"a\"\nkind = \"push\"\nresource = \"accounts\"\nsource = \"p.csv\"\n",
                "jobs[0].resource",
                6,
                "writes people",
            ),
            (
                "name = \"a\"\nkind = \"pull\"\nresource = \"notes\"\nsink = \"s.jsonl\"\n",
                "jobs[0].resource",
                6,
                "cadence_memberships",
            ),
            ("name = \"a\"\nkind = \"push\"\nresource = \"people\"\nsource = \"p.txt\"\n", "jobs[0].source", 7, ".csv"),
            (
                "name = \"a\"\nkind = \"pull\"\nresource = \"people\"\nsink = \"s\"\ninterval_secs = 0\n",
                "jobs[0].interval_secs",
                8,
                "at least 1",
            ),
            (
                "name = \"a\"\nkind = \"pull\"\nresource = \"people\"\nsink = \"s\"\nsoruce = \"x\"\n",
                "jobs[0]",
                8,
                "soruce",
            ),
            ("name = \"a\"\nkind = \"sync\"\nresource = \"people\"\nsink = \"s\"\n", "jobs[0].kind", 5, "sync"),
            (
                "name = \"a\"\nkind = \"pull\"\nresource = \"people\"\nsink = \"s\"\n\n[[jobs]]\nname = \"b\"\nkind = \"pull\"\nresource = \"accounts\"\nsink = \"s\"\n",
                "jobs[1].sink",
                13,
                "already used by the job on line 7",
            ),
            (
                "name = \"a\"\nkind = \"pull\"\nresource = \"people\"\nsink = \"s\"\n\n[[jobs]]\nname = \"a\"\nkind = \"pull\"\nresource = \"accounts\"\nsink = \"t\"\n",
                "jobs[1].name",
                10,
                "already used on line 4",
            ),
        ];
        for (body, key, line, part) in cases {
            let error = parse(&job(body), path()).expect_err(body);
            let message = error.to_string();
            assert!(message.contains(&format!("line {line}:")), "expected line {line} in {message:?}");
            assert!(message.contains(key), "expected key {key} in {message:?}");
            assert!(message.contains(part), "expected {part:?} in {message:?}");
        }
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
