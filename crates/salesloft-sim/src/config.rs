//! [`SimConfig`]: every knob of the simulator, with SalesLoft's documented values as defaults.
//!
//! Where FACTS.md §11 marks a behaviour as unconfirmed, the likeliest choice is the default and a field here
//! lets a test pick the other one. A TOML file can set every field (`slprod sim --config FILE`); durations
//! are humantime strings (`"60s"`, `"2h"`, `"10ms"`).

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One OAuth application known to the simulated accounts server. `Debug` redacts the secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientConfig {
    /// The `client_id`.
    pub client_id: String,
    /// The `client_secret`.
    pub client_secret: String,
    /// Accepted `redirect_uri` prefixes; a redirect URI is accepted when it starts with one of them.
    pub redirect_uri_prefixes: Vec<String>,
}

impl std::fmt::Debug for OAuthClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClientConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &REDACTED)
            .field("redirect_uri_prefixes", &self.redirect_uri_prefixes)
            .finish()
    }
}

/// What `Debug` prints instead of a secret.
const REDACTED: Redacted = Redacted;

/// Prints `[REDACTED]`.
struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl Default for OAuthClientConfig {
    fn default() -> Self {
        Self {
            client_id: "sim-client".to_owned(),
            client_secret: "sim-secret".to_owned(),
            redirect_uri_prefixes: vec!["http://127.0.0.1".to_owned(), "http://localhost".to_owned()],
        }
    }
}

/// Cost of one request by its `page` parameter: the first tier whose `from_page` is ≤ page wins, scanning from
/// the highest. FACTS.md §2.2: pages 1–100 cost 1, 101–150 cost 3, 151–250 cost 8, 251–500 cost 10, 501+ 30
/// (the values are the *total* cost of the request, not surcharges).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageCostTier {
    /// First page number of this tier.
    pub from_page: u64,
    /// Total cost of one request for a page in this tier.
    pub cost: u32,
}

/// The simulator's configuration. `SimConfig::default()` is SalesLoft as documented. `Debug` redacts every
/// field whose name ends in `key`, `keys`, `secret`, `token` or `password` (API keys, client secrets, the
/// control token).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Seed for every generated record, key and token, so two runs with one seed serve the same data.
    pub seed: u64,
    /// How many people to seed (1 000 000 is fine: seeded people are generated on demand from the seed).
    pub seed_people: u64,
    /// When above 1, seeded people come in blocks of this many that share one `updated_at`, as a bulk
    /// import leaves them (FACTS.md §4.5 caveat); 0 or 1 keeps the default (a pair every 50 people).
    pub seed_people_tie_group: u64,
    /// How many accounts to seed.
    pub seed_accounts: u64,
    /// How many cadences to seed.
    pub seed_cadences: u64,
    /// How many users to seed (at least 1: the first is the `/v2/me` user that API keys act as).
    pub seed_users: u64,
    /// API keys of the team. Empty means one key, `ak` + 64 hex characters derived from `seed`
    /// (FACTS.md §1.2: "ak" followed by a 64-character hexadecimal string).
    pub api_keys: Vec<String>,
    /// Cost budget per team per minute (FACTS.md §2.1: 600).
    pub budget_per_minute: u32,
    /// Length of the rate-limit window; benchmarks compress it. FACTS.md §2.3/§11: fixed calendar-minute
    /// window is the likeliest semantics (tap-salesloft assumes it), unconfirmed.
    #[serde(with = "duration_str")]
    pub minute: Duration,
    /// Page-cost tiers (FACTS.md §2.2).
    pub page_costs: Vec<PageCostTier>,
    /// Whether a request answered 429 still spends its cost. FACTS.md §11: unconfirmed; default no.
    pub rate_limited_consumes_budget: bool,
    /// Whether a 429 carries `Retry-After` (seconds to the next window). FACTS.md §2.4/§11: unconfirmed;
    /// default yes, because a well-behaved client must honour it when present.
    pub send_retry_after: bool,
    /// Body of a 429. FACTS.md §2.4: unconfirmed; `{"error":"Rate limit exceeded"}` by default.
    pub rate_limited_message: String,
    /// Lifetime of an OAuth access token (FACTS.md §1.3: 7200 s).
    #[serde(with = "duration_str")]
    pub access_token_lifetime: Duration,
    /// Whether refreshing revokes the grant's older *access* tokens too. FACTS.md §11: unconfirmed; default
    /// no (only older refresh tokens are revoked, which FACTS.md §1.3 confirms).
    pub revoke_access_tokens_on_refresh: bool,
    /// Lifetime of an authorization code.
    #[serde(with = "duration_str")]
    pub authorization_code_lifetime: Duration,
    /// OAuth applications.
    pub oauth_clients: Vec<OAuthClientConfig>,
    /// 401 body text for an unknown, expired or revoked token. FACTS.md §1.5/§11: unconfirmed.
    pub invalid_token_message: String,
    /// Whether a person's email address must be unique on the team (FACTS.md §5.3: yes unless the team
    /// allows intentional duplicates).
    pub unique_person_email: bool,
    /// Validation message for a duplicate email or domain. FACTS.md §3/§11: the docs example says
    /// "is already taken"; Rails' default would be "has already been taken"; unconfirmed.
    pub taken_message: String,
    /// What a second `POST /v2/tasks` with an `idempotency_key` already used on the team answers. FACTS.md
    /// §5.2 documents the key ("prevent duplicates from being created") but not the answer to a reuse
    /// (unconfirmed): `true` (default) answers 200 with the existing task, unchanged, so a retried create is
    /// safe; `false` answers 422 `{"errors":{"idempotency_key":[taken_message]}}`.
    pub task_idempotency_returns_existing: bool,
    /// Validation message for a missing required field (FACTS.md §3 docs example: "is required").
    pub required_message: String,
    /// Whether the team's credentials hold the privileged `email_contents:read` scope, which
    /// `GET /v2/activities/emails?scoped_fields[]=subject|body` needs (FACTS.md §1.4). The simulator's
    /// credentials hold every scope, so `true` by default; `false` answers any `scoped_fields` request with
    /// 422 `{"error":"Requested scoped field(s) could not be returned, required scope access not included."}`
    /// (the status is Airbyte's mock, unconfirmed).
    pub email_contents_scope: bool,
    /// UTC offset of rendered timestamps, in minutes (FACTS.md §4.4: timestamps carry the team's offset).
    pub utc_offset_minutes: i32,
    /// Webhook retries after a failed first attempt (FACTS.md §6.2: three).
    pub webhook_retries: u32,
    /// Wait between webhook attempts (FACTS.md §6.2: 15 s; tests set milliseconds or zero).
    #[serde(with = "duration_str")]
    pub webhook_retry_interval: Duration,
    /// Timeout of one webhook attempt. FACTS.md §11: unconfirmed; 10 s by default.
    #[serde(with = "duration_str")]
    pub webhook_timeout: Duration,
    /// Largest accepted request body; larger bodies get 413. 8 MiB by default, so a `job_data` upload of
    /// 5 000 full person records (FACTS.md §12) fits; SalesLoft's own limit is unknown.
    pub max_body_bytes: usize,
    /// Records a bulk job applies per second of the simulator clock while `executing`, each job on its own
    /// (FACTS.md §12: the processing rate and whether jobs share it are unconfirmed). At least 1.
    pub bulk_records_per_second: u32,
    /// Most records one `POST /v2/bulk_jobs/{id}/job_data` takes (FACTS.md §12: 5 000); more is a 422.
    pub bulk_max_records_per_upload: usize,
    /// Cost of a request to `/v2/bulk_jobs` and `/v2/bulk_jobs/{id}` (create, list, fetch, update).
    /// FACTS.md §12: unconfirmed, presumably the default 1 per request.
    pub bulk_job_cost: u32,
    /// Cost of a request to `/v2/bulk_jobs/{id}/job_data` (upload or list), per request whatever the number
    /// of records. FACTS.md §12: unconfirmed, presumably 1.
    pub bulk_job_data_cost: u32,
    /// Cost of a request to `/v2/bulk_jobs/{id}/results`. FACTS.md §12: unconfirmed, presumably 1.
    pub bulk_results_cost: u32,
    /// How many requests `/__sim/requests` keeps (a ring buffer: the oldest entry makes room; at most
    /// [`MAX_REQUEST_LOG_CAPACITY`]). Paths and queries longer than [`crate::stats::MAX_LOGGED_TEXT`] bytes
    /// are cut.
    pub request_log_capacity: usize,
    /// Longest wait for a request's header and, separately, for its body: a connection that sends nothing
    /// for this long while a request is due is closed (slow clients cannot hold connections open).
    #[serde(with = "duration_str")]
    pub read_timeout: Duration,
    /// How long a rotated-away refresh token is remembered (so presenting it is counted in
    /// `revoked_refresh_presented`); afterwards it is forgotten and answered like any unknown token.
    #[serde(with = "duration_str")]
    pub revoked_refresh_retention: Duration,
    /// Bearer token the control API (`/__sim/...`) requires. Without one, the control API answers only
    /// loopback callers (403 to anyone else); with one, every caller must send `Authorization: Bearer <it>`.
    pub control_token: Option<String>,
}

/// Largest accepted [`SimConfig::request_log_capacity`].
pub const MAX_REQUEST_LOG_CAPACITY: usize = 1_000_000;

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Ok(toml::Value::Table(table)) = toml::Value::try_from(self) else {
            return f.write_str("SimConfig { .. }");
        };
        let mut out = f.debug_struct("SimConfig");
        for (name, value) in table {
            out.field(&name, &RedactedValue(&name, &value));
        }
        out.finish()
    }
}

/// A config value for `Debug`, secrets replaced by `[REDACTED]` (decided by the field name).
struct RedactedValue<'a>(&'a str, &'a toml::Value);

fn is_secret_name(name: &str) -> bool {
    ["key", "keys", "secret", "token", "password"].iter().any(|suffix| name.ends_with(suffix))
}

impl std::fmt::Debug for RedactedValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let RedactedValue(name, value) = *self;
        if is_secret_name(name) {
            return REDACTED.fmt(f);
        }
        match value {
            toml::Value::Array(items) => {
                f.debug_list().entries(items.iter().map(|item| RedactedValue(name, item))).finish()
            }
            toml::Value::Table(table) => {
                let mut out = f.debug_map();
                for (key, value) in table {
                    out.entry(&key, &RedactedValue(key, value));
                }
                out.finish()
            }
            toml::Value::String(text) => text.fmt(f),
            other => f.write_str(&other.to_string()),
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 42,
            seed_people: 100,
            seed_people_tie_group: 0,
            seed_accounts: 20,
            seed_cadences: 5,
            seed_users: 3,
            api_keys: Vec::new(),
            budget_per_minute: 600,
            minute: Duration::from_secs(60),
            page_costs: default_page_costs(),
            rate_limited_consumes_budget: false,
            send_retry_after: true,
            rate_limited_message: "Rate limit exceeded".to_owned(),
            access_token_lifetime: Duration::from_secs(7200),
            revoke_access_tokens_on_refresh: false,
            authorization_code_lifetime: Duration::from_secs(600),
            oauth_clients: vec![OAuthClientConfig::default()],
            invalid_token_message: "Invalid or expired token".to_owned(),
            unique_person_email: true,
            taken_message: "is already taken".to_owned(),
            task_idempotency_returns_existing: true,
            required_message: "is required".to_owned(),
            email_contents_scope: true,
            utc_offset_minutes: -300,
            webhook_retries: 3,
            webhook_retry_interval: Duration::from_secs(15),
            webhook_timeout: Duration::from_secs(10),
            max_body_bytes: 8 << 20,
            bulk_records_per_second: 1000,
            bulk_max_records_per_upload: 5000,
            bulk_job_cost: 1,
            bulk_job_data_cost: 1,
            bulk_results_cost: 1,
            request_log_capacity: 10_000,
            read_timeout: Duration::from_secs(30),
            revoked_refresh_retention: Duration::from_secs(3600),
            control_token: None,
        }
    }
}

/// FACTS.md §2.2 page-cost table.
pub fn default_page_costs() -> Vec<PageCostTier> {
    [(1, 1), (101, 3), (151, 8), (251, 10), (501, 30)]
        .into_iter()
        .map(|(from_page, cost)| PageCostTier { from_page, cost })
        .collect()
}

/// A configuration that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be parsed.
    #[error("invalid simulator config: {0}")]
    Toml(#[from] toml::de::Error),
    /// A value is out of range.
    #[error("invalid simulator config: {0}")]
    Invalid(String),
}

impl SimConfig {
    /// Parses a TOML document; missing fields keep their defaults.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: SimConfig = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a TOML document over `base`: fields the document sets replace those of `base`, the rest keep
    /// `base`'s values (a command line uses it to keep its own defaults, such as a fixed listen port).
    pub fn from_toml_over(text: &str, base: SimConfig) -> Result<Self, ConfigError> {
        let overrides: toml::Table = toml::from_str(text)?;
        let mut merged = toml::Table::try_from(base)
            .map_err(|error| ConfigError::Invalid(format!("default config does not serialise: {error}")))?;
        merged.extend(overrides);
        let config: SimConfig = merged.try_into()?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the values that would make the simulator misbehave.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.minute.is_zero() {
            return Err(ConfigError::Invalid("minute must be longer than zero".into()));
        }
        if self.seed_people > 100_000_000 || self.seed_accounts > 10_000_000 || self.seed_cadences > 1_000_000 {
            return Err(ConfigError::Invalid(
                "seed sizes are capped at 100 000 000 people, 10 000 000 accounts, 1 000 000 cadences".into(),
            ));
        }
        if self.seed_users == 0 || self.seed_users > 100_000 {
            return Err(ConfigError::Invalid("seed_users must be 1..=100000 (the first is the /v2/me user)".into()));
        }
        if self.page_costs.is_empty() {
            return Err(ConfigError::Invalid("page_costs must have at least one tier".into()));
        }
        if self.access_token_lifetime.is_zero() {
            return Err(ConfigError::Invalid("access_token_lifetime must be longer than zero".into()));
        }
        if self.api_keys.iter().any(|key| key.trim().is_empty()) {
            return Err(ConfigError::Invalid("api_keys must not contain empty keys".into()));
        }
        if self.request_log_capacity > MAX_REQUEST_LOG_CAPACITY {
            return Err(ConfigError::Invalid(format!(
                "request_log_capacity must be at most {MAX_REQUEST_LOG_CAPACITY}"
            )));
        }
        if self.read_timeout.is_zero() {
            return Err(ConfigError::Invalid("read_timeout must be longer than zero".into()));
        }
        if self.bulk_records_per_second == 0 {
            return Err(ConfigError::Invalid("bulk_records_per_second must be at least 1".into()));
        }
        if self.control_token.as_deref().is_some_and(|token| token.trim().is_empty()) {
            return Err(ConfigError::Invalid("control_token must not be empty".into()));
        }
        Ok(())
    }

    /// Cost of one request for `page` (FACTS.md §2.2).
    pub fn page_cost(&self, page: u64) -> u32 {
        self.page_costs
            .iter()
            .filter(|tier| tier.from_page <= page)
            .max_by_key(|tier| tier.from_page)
            .map_or(1, |tier| tier.cost)
    }
}

/// Parses a humantime duration (`"60s"`, `"1m 30s"`, `"10ms"`); for command-line flags.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|error| format!("invalid duration {text:?}: {error}"))
}

/// Serde for durations as humantime strings ("60s", "2h 5m", "10ms").
mod duration_str {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*value).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_costs_follow_the_documented_table() {
        let config = SimConfig::default();
        let cases = [(1, 1), (100, 1), (101, 3), (150, 3), (151, 8), (250, 8), (251, 10), (500, 10), (501, 30)];
        for (page, expected) in cases {
            assert_eq!(config.page_cost(page), expected, "cost of page {page}");
        }
    }

    #[test]
    fn toml_sets_fields_and_keeps_defaults() {
        let config =
            SimConfig::from_toml("budget_per_minute = 60000\nminute = \"1s\"\nseed_people = 7\n").expect("valid toml");
        assert_eq!(config.budget_per_minute, 60_000);
        assert_eq!(config.minute, Duration::from_secs(1));
        assert_eq!(config.seed_people, 7);
        assert_eq!(config.access_token_lifetime, Duration::from_secs(7200));
    }

    #[test]
    fn toml_over_a_base_keeps_the_base_where_the_document_is_silent() {
        let base = SimConfig { listen: SocketAddr::from(([127, 0, 0, 1], 4545)), ..SimConfig::default() };
        let config =
            SimConfig::from_toml_over("seed = 9\nwebhook_retry_interval = \"10ms\"", base.clone()).expect("valid toml");
        assert_eq!((config.listen, config.seed), (base.listen, 9));
        assert_eq!(config.webhook_retry_interval, Duration::from_millis(10));
        let moved = SimConfig::from_toml_over("listen = \"127.0.0.1:0\"", base).expect("valid toml");
        assert_eq!(moved.listen.port(), 0);
        assert!(SimConfig::from_toml_over("nonsense = 1", SimConfig::default()).is_err());
    }

    #[test]
    fn debug_redacts_keys_secrets_and_the_control_token() {
        let config = SimConfig {
            api_keys: vec!["ak-sekrit-key".to_owned()],
            control_token: Some("ctl-sekrit-token".to_owned()),
            oauth_clients: vec![OAuthClientConfig {
                client_secret: "client-sekrit".to_owned(),
                ..OAuthClientConfig::default()
            }],
            ..SimConfig::default()
        };
        for text in [format!("{config:?}"), format!("{config:#?}"), format!("{:?}", config.oauth_clients[0])] {
            assert!(!text.contains("sekrit"), "Debug leaked a secret: {text}");
            assert!(text.contains("[REDACTED]"), "secrets are marked: {text}");
        }
        let text = format!("{config:?}");
        assert!(text.contains("sim-client") && text.contains("budget_per_minute"), "the rest is shown: {text}");
    }

    #[test]
    fn out_of_range_hygiene_settings_are_refused() {
        for bad in ["request_log_capacity = 1000001", "read_timeout = \"0s\"", "control_token = \" \""] {
            assert!(SimConfig::from_toml(bad).is_err(), "{bad} should be refused");
        }
        let config = SimConfig::from_toml("read_timeout = \"5s\"\ncontrol_token = \"t\"").expect("valid");
        assert_eq!((config.read_timeout, config.control_token.as_deref()), (Duration::from_secs(5), Some("t")));
    }

    #[test]
    fn toml_rejects_unknown_fields_and_zero_minute() {
        assert!(SimConfig::from_toml("budjet = 1").is_err());
        assert!(SimConfig::from_toml("minute = \"0s\"").is_err());
    }
}
