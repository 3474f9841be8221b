//! The connection and store arguments every command shares (`pull`, `push`, `audit`, `pause`, `store`, and
//! later `serve`, `check`, `smoke`): the SalesLoft API root and one credential ([`ConnectArgs`]), and the store
//! URL with the audit chain's key ([`StoreArgs`]).
//!
//! Each value comes from, highest first: the flag, its environment variable (`SALESLOFT_*` for the connection,
//! `SALESLOFT_OAUTH_*` for OAuth, `SLPROD_*` for ours; the older `SALESLOFT_CLIENT_ID` and
//! `SALESLOFT_CLIENT_SECRET` still work), the configuration file (`[salesloft]`, `[store]`), the default.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use salesloft_client::Client;
use salesloft_client::transport::{
    BreakerConfig, FileTokenStore, HttpConfig, OAuthConfig, Pipeline, PipelineBuilder, RetryConfig, TokenStore,
};
use salesloft_secrets::{FlockLocker, GrantLocker, Secret, SecretTokenStore};
use salesloft_store::{AuditKey, Store, StoreError, StoreOptions, StoreUrl};
use secrecy::SecretString;

use crate::config::{AuthMode, Config, ConfigError, SecretRef};
use crate::error::{CliError, Outcome};

/// The default API root.
pub const DEFAULT_BASE_URL: &str = "https://api.salesloft.com/v2";
/// Older names of `SALESLOFT_OAUTH_CLIENT_ID` / `SALESLOFT_OAUTH_CLIENT_SECRET`, still read.
pub const LEGACY_CLIENT_ID_ENV: &str = "SALESLOFT_CLIENT_ID";
/// See [`LEGACY_CLIENT_ID_ENV`].
pub const LEGACY_CLIENT_SECRET_ENV: &str = "SALESLOFT_CLIENT_SECRET";
/// The environment variable holding the audit key itself.
pub const AUDIT_KEY_ENV: &str = "SLPROD_AUDIT_KEY";

fn parse_secret(value: &str) -> Result<SecretString, String> {
    if value.trim().is_empty() {
        return Err("the value is empty".to_string());
    }
    Ok(SecretString::from(value.trim().to_string()))
}

fn parse_tokens_ref(value: &str) -> Result<SecretRef, String> {
    SecretRef::try_from(value.to_string())
}

fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Where and how to reach SalesLoft: the API root and one credential — an API key, or OAuth (a token file kept
/// up to date with every rotated refresh token, plus the app's client id and secret). `Debug` shows no secret.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectArgs {
    /// SalesLoft API root (or the simulator's / the gateway's) [default: `https://api.salesloft.com/v2`, or
    /// salesloft.base_url].
    #[arg(long, env = "SALESLOFT_BASE_URL")]
    pub base_url: Option<String>,
    /// API key (prefer the environment variable: a flag shows in the process list).
    #[arg(long, env = "SALESLOFT_API_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub api_key: Option<SecretString>,
    /// OAuth token file (JSON: access_token, refresh_token, expires_at); rotated tokens are written back to
    /// it before use, and processes sharing it refresh one at a time (an `flock` on `<file>.lock`). Takes
    /// precedence over an API key.
    #[arg(long, env = "SALESLOFT_OAUTH_TOKEN_FILE")]
    pub oauth_token_file: Option<PathBuf>,
    /// Where the OAuth tokens live as a secret reference (`vault:MOUNT/PATH#FIELD`, `aws-sm:ID#FIELD`,
    /// `gcp-sm:projects/P/secrets/S#FIELD`, `file:PATH`); rotated tokens are written back with a
    /// compare-and-set under a per-connection lock (a store lease in `serve`, else an `flock`). Overrides
    /// salesloft.oauth_tokens_ref; --oauth-token-file wins over it.
    #[arg(long, env = "SALESLOFT_OAUTH_TOKENS_REF", value_parser = parse_tokens_ref)]
    pub oauth_tokens_ref: Option<SecretRef>,
    /// OAuth client id (with --oauth-token-file; also SALESLOFT_CLIENT_ID).
    #[arg(long, env = "SALESLOFT_OAUTH_CLIENT_ID")]
    pub oauth_client_id: Option<String>,
    /// OAuth client secret (with --oauth-token-file; prefer the environment variable; also
    /// SALESLOFT_CLIENT_SECRET).
    #[arg(long, env = "SALESLOFT_OAUTH_CLIENT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub oauth_client_secret: Option<SecretString>,
    /// OAuth token endpoint (default: SalesLoft's for api.salesloft.com, else `<root>/oauth/token`).
    #[arg(long, env = "SALESLOFT_OAUTH_TOKEN_URL")]
    pub oauth_token_url: Option<String>,
}

/// Where OAuth tokens are kept.
enum Tokens {
    /// `--oauth-token-file`: the token file with its own `flock`.
    File(PathBuf),
    /// A secret reference (`--oauth-tokens-ref`, `salesloft.oauth_tokens_ref`).
    Secret(SecretRef),
}

/// The credential chosen from flags, environment and file.
enum Credential {
    ApiKey(SecretString),
    OAuth { tokens: Tokens, client_id: String, client_secret: SecretString },
}

/// Makes the per-connection grant lock for the secret holding a connection's tokens.
pub type MakeLocker<'a> = dyn Fn(&SecretRef) -> Arc<dyn GrantLocker> + 'a;

/// The `flock` that serialises the refreshes of the processes of this host sharing the secret `reference`
/// (used when there is no store; replicas on several hosts need `serve`'s store lease).
pub fn flock_for(reference: &SecretRef) -> Arc<dyn GrantLocker> {
    Arc::new(FlockLocker::for_location(&reference.to_string()))
}

impl ConnectArgs {
    /// The API root: flag or environment, else the file's `salesloft.base_url`, else SalesLoft's.
    pub fn base_url(&self, config: &Config) -> String {
        self.base_url.clone().or_else(|| config.salesloft.base_url.clone()).unwrap_or_else(|| DEFAULT_BASE_URL.into())
    }

    fn client_id(&self, config: &Config) -> Option<String> {
        self.oauth_client_id
            .clone()
            .or_else(|| env_value(LEGACY_CLIENT_ID_ENV))
            .or_else(|| config.salesloft.oauth_client_id.clone())
    }

    fn client_secret(&self, config: &Config) -> Result<Option<SecretString>, CliError> {
        if let Some(secret) = &self.oauth_client_secret {
            return Ok(Some(secret.clone()));
        }
        if let Some(secret) = env_value(LEGACY_CLIENT_SECRET_ENV) {
            return Ok(Some(SecretString::from(secret)));
        }
        config
            .salesloft
            .oauth_client_secret_ref
            .as_ref()
            .map(|r| resolve(r, "salesloft.oauth_client_secret_ref"))
            .transpose()
    }

    fn oauth(&self, tokens: Tokens, config: &Config) -> Result<Credential, CliError> {
        let (client_id, client_secret) = self.client_credentials(config)?;
        Ok(Credential::OAuth { tokens, client_id, client_secret })
    }

    fn client_credentials(&self, config: &Config) -> Result<(String, SecretString), CliError> {
        let (Some(client_id), Some(client_secret)) = (self.client_id(config), self.client_secret(config)?) else {
            return Err(CliError::Connect(
                "OAuth needs --oauth-client-id and --oauth-client-secret (or SALESLOFT_OAUTH_CLIENT_ID \
                 / SALESLOFT_OAUTH_CLIENT_SECRET, or salesloft.oauth_client_id / oauth_client_secret_ref)"
                    .to_string(),
            ));
        };
        Ok((client_id, client_secret))
    }

    /// The token reference: `--oauth-tokens-ref` (or its variable), else `salesloft.oauth_tokens_ref`.
    pub fn tokens_ref(&self, config: &Config) -> Result<Option<SecretRef>, CliError> {
        Ok(self.oauth_tokens_ref.clone().or_else(|| config.salesloft.oauth_tokens_ref.clone()))
    }

    /// The OAuth client of these options: client id and secret, and the token URL.
    pub fn oauth_config(&self, config: &Config) -> Result<OAuthConfig, CliError> {
        let (client_id, client_secret) = self.client_credentials(config)?;
        Ok(OAuthConfig::new(self.token_url(config), client_id, client_secret))
    }

    fn token_url(&self, config: &Config) -> String {
        self.oauth_token_url
            .clone()
            .or_else(|| config.salesloft.oauth_token_url.clone())
            .unwrap_or_else(|| OAuthConfig::token_url_for(&self.base_url(config)))
    }

    /// Where the credential comes from, for messages about it (a 401 names its source, never its value):
    /// e.g. "the API key from --api-key or SALESLOFT_API_KEY", "salesloft.api_key_ref (env:SL_KEY)".
    pub fn credential_source(&self, config: &Config) -> String {
        if let Some(file) = &self.oauth_token_file {
            return format!(
                "the OAuth tokens in {} (--oauth-token-file or SALESLOFT_OAUTH_TOKEN_FILE)",
                file.display()
            );
        }
        if let Some(reference) = &self.oauth_tokens_ref {
            return format!("the OAuth tokens of {reference} (--oauth-tokens-ref or SALESLOFT_OAUTH_TOKENS_REF)");
        }
        if self.api_key.is_some() {
            return "the API key from --api-key or SALESLOFT_API_KEY".to_string();
        }
        let section = &config.salesloft;
        match (section.auth, &section.oauth_tokens_ref, &section.api_key_ref) {
            (Some(AuthMode::ApiKey), _, Some(reference)) | (None, None, Some(reference)) => {
                format!("the API key of salesloft.api_key_ref ({reference})")
            }
            (_, Some(reference), _) => format!("the OAuth tokens of salesloft.oauth_tokens_ref ({reference})"),
            _ => "no configured credential".to_string(),
        }
    }

    /// Flags and environment first (a token file wins over an API key), then the file's `salesloft.auth`.
    fn credential(&self, config: &Config) -> Result<Credential, CliError> {
        if let Some(file) = &self.oauth_token_file {
            return self.oauth(Tokens::File(file.clone()), config);
        }
        match &self.oauth_tokens_ref {
            // A file keeps the token file's format and its `<file>.lock`, so it shares the lock with
            // --oauth-token-file users of the same file.
            Some(SecretRef::File(path)) => return self.oauth(Tokens::File(path.clone()), config),
            Some(reference) => return self.oauth(Tokens::Secret(reference.clone()), config),
            None => {}
        }
        if let Some(key) = &self.api_key {
            return Ok(Credential::ApiKey(key.clone()));
        }
        let section = &config.salesloft;
        let auth = section.auth.or(if section.oauth_tokens_ref.is_some() {
            Some(AuthMode::Oauth)
        } else if section.api_key_ref.is_some() {
            Some(AuthMode::ApiKey)
        } else {
            None
        });
        match auth {
            Some(AuthMode::Oauth) => match &section.oauth_tokens_ref {
                Some(SecretRef::Env(_)) => Err(ConfigError::Secret {
                    key: "salesloft.oauth_tokens_ref".into(),
                    message: "rotated tokens are written back, which an env: reference cannot take: use file:, \
                              vault:, aws-sm: or gcp-sm:"
                        .into(),
                }
                .into()),
                // A file: reference keeps the token file's format and lock, as --oauth-token-file does.
                Some(SecretRef::File(path)) => self.oauth(Tokens::File(path.clone()), config),
                Some(other) => self.oauth(Tokens::Secret(other.clone()), config),
                None => Err(CliError::Connect(
                    "salesloft.auth = \"oauth\" needs salesloft.oauth_tokens_ref (or --oauth-token-file)".into(),
                )),
            },
            Some(AuthMode::ApiKey) => match &section.api_key_ref {
                Some(reference) => Ok(Credential::ApiKey(resolve(reference, "salesloft.api_key_ref")?)),
                None => Err(CliError::Connect(
                    "salesloft.auth = \"api_key\" needs salesloft.api_key_ref (or --api-key / SALESLOFT_API_KEY)"
                        .into(),
                )),
            },
            None => Err(CliError::Connect(
                "no credential: pass --api-key (or set SALESLOFT_API_KEY), or --oauth-token-file with \
                 --oauth-client-id and --oauth-client-secret, or set [salesloft] in the configuration file"
                    .to_string(),
            )),
        }
    }

    /// A pipeline builder for these options over `config` (base URL and credential set), or an error saying
    /// what is missing; for commands that add layers (`serve` adds the store's shared budget).
    pub fn pipeline_builder(&self, config: &Config) -> Result<PipelineBuilder, CliError> {
        self.pipeline_builder_locked(config, None)
    }

    /// Like [`ConnectArgs::pipeline_builder`], with tokens in a secret refreshed under `locker` (serve passes
    /// its store lease); `None` takes an `flock` per secret ([`flock_for`]).
    pub fn pipeline_builder_locked(
        &self,
        config: &Config,
        locker: Option<&MakeLocker<'_>>,
    ) -> Result<PipelineBuilder, CliError> {
        let base_url = self.base_url(config);
        let builder = Pipeline::builder(base_url.clone())
            .http(http_config(config)?)
            .retry(retry_config(config)?)
            .breaker(breaker_config(config)?);
        Ok(match self.credential(config)? {
            Credential::OAuth { tokens, client_id, client_secret } => {
                let oauth = OAuthConfig::new(self.token_url(config), client_id, client_secret);
                let store: Arc<dyn TokenStore> = match tokens {
                    Tokens::File(path) => Arc::new(FileTokenStore::new(path)),
                    Tokens::Secret(reference) => {
                        let parsed = reference.to_secrets_ref().map_err(|message| ConfigError::Secret {
                            key: "salesloft.oauth_tokens_ref".into(),
                            message,
                        })?;
                        let secret = Secret::open(parsed).map_err(|e| ConfigError::Secret {
                            key: "salesloft.oauth_tokens_ref / --oauth-tokens-ref".into(),
                            message: e.to_string(),
                        })?;
                        let locker = match locker {
                            Some(make) => make(&reference),
                            None => flock_for(&reference),
                        };
                        Arc::new(SecretTokenStore::new(Arc::new(secret), Some(locker)))
                    }
                };
                builder.oauth(oauth, store)
            }
            Credential::ApiKey(key) => builder.api_key(key),
        })
    }

    /// A client for these options over `config`, or an error saying what is missing.
    pub fn client(&self, config: &Config) -> Result<Client, CliError> {
        self.pipeline_builder(config)?.build().map(Client::new).map_err(|e| CliError::Connect(e.to_string()))
    }
}

/// `salesloft.timeout_secs`: the time one attempt may take, connection to last byte (default 30 s).
pub fn http_config(config: &Config) -> Result<HttpConfig, CliError> {
    let mut http = HttpConfig::default();
    match config.salesloft.timeout_secs {
        Some(0) => return Err(CliError::Input("salesloft.timeout_secs must be at least 1".into())),
        Some(secs) => {
            http.request_timeout = Duration::from_secs(secs);
            http.connect_timeout = http.connect_timeout.min(http.request_timeout);
        }
        None => {}
    }
    Ok(http)
}

/// `[retry]` over the client's defaults. `max_attempts` counts the first attempt (the checklist allows at most
/// 3; `slprod check` judges that, here only nonsense is refused).
pub fn retry_config(config: &Config) -> Result<RetryConfig, CliError> {
    let keys = &config.retry;
    let mut retry = RetryConfig::default();
    if let Some(attempts) = keys.max_attempts {
        if attempts == 0 {
            return Err(CliError::Input("retry.max_attempts must be at least 1 (1 disables retries)".into()));
        }
        retry.max_attempts = attempts;
    }
    if let Some(ms) = keys.base_delay_ms {
        retry.backoff.base = Duration::from_millis(ms);
    }
    if let Some(ms) = keys.max_delay_ms {
        retry.backoff.cap = Duration::from_millis(ms);
    }
    if retry.backoff.base.is_zero() || retry.backoff.base > retry.backoff.cap {
        return Err(CliError::Input(format!(
            "retry.base_delay_ms ({} ms) must be positive and at most retry.max_delay_ms ({} ms)",
            retry.backoff.base.as_millis(),
            retry.backoff.cap.as_millis()
        )));
    }
    if let Some(honour) = keys.honour_retry_after {
        retry.honour_retry_after = honour;
    }
    Ok(retry)
}

/// `[breaker]` over the client's defaults: `failure_threshold` consecutive failures open it for `open_secs`,
/// then `half_open_probes` probes decide.
pub fn breaker_config(config: &Config) -> Result<BreakerConfig, CliError> {
    let keys = &config.breaker;
    let mut breaker = BreakerConfig::default();
    if let Some(enabled) = keys.enabled {
        breaker.enabled = enabled;
    }
    match keys.failure_threshold {
        Some(0) => return Err(CliError::Input("breaker.failure_threshold must be at least 1".into())),
        Some(threshold) => breaker.consecutive_failures = threshold,
        None => {}
    }
    match keys.open_secs {
        Some(0) => return Err(CliError::Input("breaker.open_secs must be at least 1".into())),
        Some(secs) => breaker.open_for = Duration::from_secs(secs),
        None => {}
    }
    match keys.half_open_probes {
        Some(0) => return Err(CliError::Input("breaker.half_open_probes must be at least 1".into())),
        Some(probes) => breaker.half_open_probes = probes,
        None => {}
    }
    Ok(breaker)
}

/// Saves a rotated OAuth token set whose save failed during the command (it lives only in this process) and
/// folds a failure into the command's result: exit 1 at least, the command's own result otherwise kept.
pub async fn save_pending_tokens(client: &Client, result: Result<Outcome, CliError>) -> Result<Outcome, CliError> {
    let Err(error) = client.pipeline().save_pending_tokens().await else {
        return result;
    };
    let error = CliError::TokensNotSaved(error.to_string());
    match result {
        Ok(outcome) => Ok(outcome.error(error)),
        Err(first) => {
            tracing::error!("{error}");
            Err(first)
        }
    }
}

fn resolve(reference: &SecretRef, key: &str) -> Result<SecretString, CliError> {
    reference.resolve().map_err(|message| ConfigError::Secret { key: key.to_string(), message }.into())
}

/// The store and the audit chain's HMAC key, for every command that keeps state.
///
/// With a key, each audit record's hash is an HMAC-SHA256 that nobody without the key can recompute, so whoever
/// can write the database cannot rewrite the chain unnoticed (salesloft-store `audit` module docs). The key comes
/// from `--audit-key-file FILE`, the `SLPROD_AUDIT_KEY` environment variable, or the file's
/// `store.audit_key_ref` (at least 16 bytes); it is never printed or logged.
#[derive(Debug, Clone, Default, Args)]
pub struct StoreArgs {
    /// Store URL: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB[?schema=NAME]` [default:
    /// sqlite://slprod.sqlite, or store.url].
    #[arg(long, global = true, env = "SLPROD_STORE")]
    pub store: Option<String>,
    /// File holding the audit chain's HMAC key (at least 16 bytes; one trailing newline is ignored). Default:
    /// the SLPROD_AUDIT_KEY environment variable, then store.audit_key_ref. Use the same key for every command
    /// on one store.
    #[arg(long, global = true)]
    pub audit_key_file: Option<PathBuf>,
}

impl StoreArgs {
    /// The store URL: flag or environment, else `store.url`, else `sqlite://slprod.sqlite`.
    pub fn url(&self, config: &Config) -> String {
        self.store
            .clone()
            .or_else(|| config.store.url.clone())
            .unwrap_or_else(|| salesloft_store::DEFAULT_STORE_URL.to_string())
    }

    /// The audit key; `None` when none is configured. The error never holds the key.
    pub fn audit_key(&self, config: &Config) -> Result<Option<AuditKey>, CliError> {
        let (bytes, source) = if let Some(path) = &self.audit_key_file {
            let mut bytes = std::fs::read(path)
                .map_err(|e| CliError::AuditKey(format!("cannot read the audit key file {}: {e}", path.display())))?;
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
            }
            (bytes, path.display().to_string())
        } else if let Some(value) = std::env::var_os(AUDIT_KEY_ENV).filter(|v| !v.is_empty()) {
            (value.into_encoded_bytes(), AUDIT_KEY_ENV.to_string())
        } else if let Some(reference) = &config.store.audit_key_ref {
            let bytes = reference
                .resolve_bytes()
                .map_err(|message| ConfigError::Secret { key: "store.audit_key_ref".into(), message })?;
            (bytes, "store.audit_key_ref".to_string())
        } else {
            return Ok(None);
        };
        AuditKey::new(bytes).map(Some).map_err(|e| CliError::AuditKey(format!("{source}: {e}")))
    }

    fn parsed(&self, config: &Config) -> Result<(StoreUrl, StoreOptions), CliError> {
        let url = StoreUrl::parse(&self.url(config)).map_err(CliError::store("cannot open the store"))?;
        Ok((url, StoreOptions { audit_key: self.audit_key(config)?, ..StoreOptions::default() }))
    }

    /// Opens (creating if needed) the store.
    pub async fn open(&self, config: &Config) -> Result<Store, CliError> {
        let (url, options) = self.parsed(config)?;
        salesloft_store::open_with(&url, options).await.map_err(CliError::store("cannot open the store"))
    }

    /// Opens the store without creating one: reading a store that does not exist is an error, not an empty
    /// pass.
    pub async fn open_existing(&self, config: &Config) -> Result<Store, CliError> {
        let (url, options) = self.parsed(config)?;
        if let StoreUrl::Sqlite { path } = &url
            && !path.exists()
        {
            let source = StoreError::Open { target: url.to_string(), detail: "no such file".into() };
            return Err(CliError::Store { action: "cannot open the store", source });
        }
        salesloft_store::open_with(&url, options).await.map_err(CliError::store("cannot open the store"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_secret() {
        let args = ConnectArgs {
            api_key: Some(SecretString::from("ak-very-secret".to_string())),
            oauth_client_secret: Some(SecretString::from("cs-very-secret".to_string())),
            ..ConnectArgs::default()
        };
        let text = format!("{args:?}");
        assert!(!text.contains("very-secret"), "{text}");
    }

    #[test]
    fn retry_breaker_and_timeout_keys_reach_the_client_and_nonsense_is_refused() {
        let mut config = Config::default();
        assert_eq!(retry_config(&config).expect("defaults").max_attempts, RetryConfig::default().max_attempts);
        config.retry = crate::config::RetryConfig {
            max_attempts: Some(2),
            base_delay_ms: Some(100),
            max_delay_ms: Some(900),
            honour_retry_after: Some(false),
        };
        config.breaker = crate::config::BreakerConfig {
            enabled: Some(false),
            failure_threshold: Some(7),
            open_secs: Some(11),
            half_open_probes: Some(2),
        };
        config.salesloft.timeout_secs = Some(5);
        let retry = retry_config(&config).expect("retry");
        assert_eq!((retry.max_attempts, retry.honour_retry_after), (2, false));
        assert_eq!((retry.backoff.base, retry.backoff.cap), (Duration::from_millis(100), Duration::from_millis(900)));
        let breaker = breaker_config(&config).expect("breaker");
        assert!(!breaker.enabled);
        assert_eq!((breaker.consecutive_failures, breaker.half_open_probes), (7, 2));
        assert_eq!(breaker.open_for, Duration::from_secs(11));
        let http = http_config(&config).expect("http");
        assert_eq!((http.request_timeout, http.connect_timeout), (Duration::from_secs(5), Duration::from_secs(5)));

        let refused = |edit: fn(&mut Config), key: &str| {
            let mut config = Config::default();
            edit(&mut config);
            let message = match (http_config(&config), retry_config(&config), breaker_config(&config)) {
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => e.to_string(),
                _ => panic!("{key}: accepted"),
            };
            assert!(message.contains(key), "{key}: {message}");
        };
        refused(|c| c.retry.max_attempts = Some(0), "retry.max_attempts");
        refused(|c| c.retry.base_delay_ms = Some(0), "retry.base_delay_ms");
        refused(|c| c.retry.max_delay_ms = Some(10), "retry.base_delay_ms");
        refused(|c| c.breaker.failure_threshold = Some(0), "breaker.failure_threshold");
        refused(|c| c.breaker.open_secs = Some(0), "breaker.open_secs");
        refused(|c| c.breaker.half_open_probes = Some(0), "breaker.half_open_probes");
        refused(|c| c.salesloft.timeout_secs = Some(0), "salesloft.timeout_secs");
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let mut config = Config::default();
        let none = ConnectArgs::default();
        assert_eq!(none.base_url(&config), DEFAULT_BASE_URL);
        assert_eq!(StoreArgs::default().url(&config), salesloft_store::DEFAULT_STORE_URL);
        config.salesloft.base_url = Some("https://file.example/v2".into());
        config.store.url = Some("sqlite:///tmp/file.sqlite".into());
        assert_eq!(none.base_url(&config), "https://file.example/v2");
        assert_eq!(StoreArgs::default().url(&config), "sqlite:///tmp/file.sqlite");
        let flag = ConnectArgs { base_url: Some("https://flag.example/v2".into()), ..ConnectArgs::default() };
        assert_eq!(flag.base_url(&config), "https://flag.example/v2");
        let store = StoreArgs { store: Some("sqlite:///tmp/flag.sqlite".into()), ..StoreArgs::default() };
        assert_eq!(store.url(&config), "sqlite:///tmp/flag.sqlite");
    }

    #[test]
    fn file_credentials_resolve_by_reference() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("api-key");
        std::fs::write(&key, "ak-from-file\n").expect("write");
        let mut config = Config::default();
        config.salesloft.base_url = Some("http://127.0.0.1:9/v2".into());
        config.salesloft.api_key_ref = Some(SecretRef::File(key));
        ConnectArgs::default().client(&config).expect("an API key from file: builds a client");
        config.salesloft.api_key_ref = Some(SecretRef::Env("SLPROD_TEST_SURELY_UNSET_VARIABLE".into()));
        let error = ConnectArgs::default().client(&config).expect_err("unset");
        assert!(error.to_string().contains("salesloft.api_key_ref") && error.to_string().contains("not set"));
        let error = ConnectArgs::default().client(&Config::default()).expect_err("no credential");
        assert!(error.to_string().contains("no credential"), "{error}");
    }

    #[test]
    fn token_references_name_their_source_and_env_cannot_hold_rotated_tokens() {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            connect: ConnectArgs,
        }
        let parsed = Wrapper::try_parse_from(["x", "--oauth-tokens-ref", "vault:secret/slprod/oauth#tokens"])
            .expect("parses")
            .connect;
        let config = Config::default();
        assert!(parsed.credential_source(&config).contains("vault:secret/slprod/oauth#tokens"));
        assert!(Wrapper::try_parse_from(["x", "--oauth-tokens-ref", "inline-token-value"]).is_err());
        let mut config = Config::default();
        config.salesloft.oauth_client_id = Some("id".into());
        config.salesloft.oauth_tokens_ref = Some(SecretRef::Env("SLPROD_TOKENS".into()));
        let error =
            ConnectArgs { oauth_client_secret: Some(SecretString::from("cs".to_string())), ..ConnectArgs::default() }
                .client(&config)
                .expect_err("env: cannot be written back");
        assert!(error.to_string().contains("salesloft.oauth_tokens_ref"), "{error}");
    }
}
