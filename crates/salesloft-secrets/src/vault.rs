//! Vault KV v2 (and OpenBao, its fork with the same HTTP API — research/test-peers.md §3) as a thin REST
//! client: `GET/POST /v1/MOUNT/data/PATH` with `X-Vault-Token`.
//!
//! **Auth.** `VAULT_TOKEN`, or AppRole (`VAULT_ROLE_ID` + `VAULT_SECRET_ID`, `POST /v1/auth/approle/login`).
//! A token with a TTL is renewed (`renew-self`) once two thirds of it have passed; an AppRole token that
//! cannot be renewed, or that the server refuses with 403, is replaced by logging in again (once per call).
//! `VAULT_NAMESPACE` is sent when set.
//!
//! **Compare-and-set.** Writes carry `options.cas` = the version read (0 to create): KV v2 answers 400
//! "check-and-set parameter did not match the current version" to a stale writer, which becomes
//! [`SecretError::Conflict`].

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::{Method, StatusCode};
use salesloft_client::clock::{SharedClock, SystemClock};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::SecretError;
use crate::backend::{SecretBackend, Version, Versioned};

/// How a Vault client authenticates.
#[derive(Debug, Clone)]
pub enum VaultAuth {
    /// A token (`VAULT_TOKEN`).
    Token(SecretString),
    /// AppRole login (`VAULT_ROLE_ID`, `VAULT_SECRET_ID`) at `auth/<mount>` (default `approle`).
    AppRole {
        /// The role id.
        role_id: String,
        /// The secret id.
        secret_id: SecretString,
        /// The auth mount.
        mount: String,
    },
}

/// Where and how to reach Vault. `Debug` redacts the token and secret id.
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// `VAULT_ADDR`, e.g. `https://vault.internal:8200`.
    pub addr: String,
    /// Token or AppRole.
    pub auth: VaultAuth,
    /// `VAULT_NAMESPACE` (Vault Enterprise / OpenBao namespaces).
    pub namespace: Option<String>,
}

impl VaultConfig {
    /// From `VAULT_ADDR`, `VAULT_TOKEN` or `VAULT_ROLE_ID`/`VAULT_SECRET_ID` (and `VAULT_APPROLE_MOUNT`),
    /// `VAULT_NAMESPACE`.
    pub fn from_env() -> Result<Self, SecretError> {
        let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let config = |detail: &str| SecretError::Config { location: "vault:".into(), detail: detail.to_string() };
        let addr = var("VAULT_ADDR").ok_or_else(|| config("VAULT_ADDR is not set"))?;
        let auth = match (var("VAULT_TOKEN"), var("VAULT_ROLE_ID"), var("VAULT_SECRET_ID")) {
            (Some(token), _, _) => VaultAuth::Token(SecretString::from(token)),
            (None, Some(role_id), Some(secret_id)) => VaultAuth::AppRole {
                role_id,
                secret_id: SecretString::from(secret_id),
                mount: var("VAULT_APPROLE_MOUNT").unwrap_or_else(|| "approle".into()),
            },
            _ => return Err(config("set VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID for AppRole")),
        };
        Ok(Self { addr, auth, namespace: var("VAULT_NAMESPACE") })
    }
}

#[derive(Debug, Default)]
struct Session {
    token: Option<SecretString>,
    /// Clock time at which to renew (two thirds of the TTL), when the token has a TTL.
    renew_at: Option<Duration>,
    renewable: bool,
}

/// A Vault client shared by every `vault:` secret of a process (one login, one renewal schedule).
#[derive(Debug)]
pub struct VaultClient {
    config: VaultConfig,
    http: reqwest::Client,
    clock: SharedClock,
    session: tokio::sync::Mutex<Session>,
}

impl VaultClient {
    /// A client for `config`.
    pub fn new(config: VaultConfig) -> Result<Arc<Self>, SecretError> {
        Self::with_clock(config, Arc::new(SystemClock::default()))
    }

    /// A client for `config` that schedules token renewal on `clock` (tests advance a manual clock).
    pub fn with_clock(config: VaultConfig, clock: SharedClock) -> Result<Arc<Self>, SecretError> {
        Ok(Arc::new(Self {
            config,
            http: crate::http::client()?,
            clock,
            session: tokio::sync::Mutex::new(Session::default()),
        }))
    }

    /// The secret at `mount`/`path` on this client.
    pub fn secret(self: &Arc<Self>, mount: &str, path: &str) -> VaultSecret {
        VaultSecret {
            client: Arc::clone(self),
            mount: mount.trim_matches('/').to_string(),
            path: path.trim_matches('/').to_string(),
            location: format!("vault:{}/{}", mount.trim_matches('/'), path.trim_matches('/')),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{}", self.config.addr.trim_end_matches('/'), path)
    }

    async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&SecretString>,
        body: Option<&Value>,
        location: &str,
    ) -> Result<(StatusCode, Value), SecretError> {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.header("X-Vault-Token", token.expose_secret());
        }
        if let Some(namespace) = &self.config.namespace {
            request = request.header("X-Vault-Namespace", namespace);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| crate::http::unreachable(location, &e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| crate::http::unreachable(location, &e))?;
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, value))
    }

    /// Logs in with AppRole; the new token, its renewal time and renewability.
    async fn login(&self, location: &str) -> Result<Session, SecretError> {
        let (role_id, secret_id, mount) = match &self.config.auth {
            VaultAuth::AppRole { role_id, secret_id, mount } => (role_id, secret_id, mount),
            VaultAuth::Token(token) => {
                return Ok(Session { token: Some(token.clone()), renew_at: None, renewable: false });
            }
        };
        let body = json!({"role_id": role_id, "secret_id": secret_id.expose_secret()});
        let (status, value) =
            self.raw(Method::POST, &format!("auth/{mount}/login"), None, Some(&body), location).await?;
        if !status.is_success() {
            return Err(backend_error(location, status, &value, "AppRole login"));
        }
        self.session_from_auth(&value["auth"], location)
    }

    fn session_from_auth(&self, auth: &Value, location: &str) -> Result<Session, SecretError> {
        let token = auth["client_token"].as_str().filter(|t| !t.is_empty()).ok_or_else(|| SecretError::Invalid {
            location: location.to_string(),
            detail: "the Vault login answer holds no client_token".into(),
        })?;
        let ttl = auth["lease_duration"].as_u64().unwrap_or(0);
        Ok(Session {
            token: Some(SecretString::from(token.to_string())),
            renew_at: (ttl > 0).then(|| self.clock.now() + Duration::from_secs(ttl * 2 / 3)),
            renewable: auth["renewable"].as_bool().unwrap_or(false),
        })
    }

    /// The token to use now: logs in on first use, renews (or logs in again) when two thirds of its TTL
    /// have passed.
    async fn token(&self, location: &str, force_login: bool) -> Result<SecretString, SecretError> {
        let mut session = self.session.lock().await;
        if force_login || session.token.is_none() {
            *session = self.first_session(location).await?;
        } else if session.renew_at.is_some_and(|at| self.clock.now() >= at) {
            *session = self.renewed(&session, location).await?;
        }
        session
            .token
            .clone()
            .ok_or_else(|| SecretError::Config { location: location.into(), detail: "no Vault token".into() })
    }

    async fn first_session(&self, location: &str) -> Result<Session, SecretError> {
        match &self.config.auth {
            VaultAuth::AppRole { .. } => self.login(location).await,
            VaultAuth::Token(token) => {
                // Learn the token's TTL so it can be renewed before it lapses; a token that may not look itself
                // up is simply used as is.
                let (status, value) =
                    self.raw(Method::GET, "auth/token/lookup-self", Some(token), None, location).await?;
                let data = &value["data"];
                let ttl = if status.is_success() { data["ttl"].as_u64().unwrap_or(0) } else { 0 };
                Ok(Session {
                    token: Some(token.clone()),
                    renew_at: (ttl > 0).then(|| self.clock.now() + Duration::from_secs(ttl * 2 / 3)),
                    renewable: data["renewable"].as_bool().unwrap_or(false),
                })
            }
        }
    }

    async fn renewed(&self, session: &Session, location: &str) -> Result<Session, SecretError> {
        if session.renewable
            && let Some(token) = &session.token
        {
            let (status, value) =
                self.raw(Method::POST, "auth/token/renew-self", Some(token), Some(&json!({})), location).await?;
            if status.is_success() {
                tracing::debug!(location, "renewed the Vault token");
                return self.session_from_auth(&value["auth"], location);
            }
            tracing::warn!(location, status = status.as_u16(), "could not renew the Vault token");
        }
        match &self.config.auth {
            VaultAuth::AppRole { .. } => self.login(location).await,
            // A static token that cannot be renewed is used until the server refuses it.
            VaultAuth::Token(_) => Ok(Session { token: session.token.clone(), renew_at: None, renewable: false }),
        }
    }

    /// One authenticated call; with AppRole, a 403 is retried once after a fresh login (the token may have
    /// lapsed between renewals).
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        location: &str,
    ) -> Result<(StatusCode, Value), SecretError> {
        let token = self.token(location, false).await?;
        let (status, value) = self.raw(method.clone(), path, Some(&token), body, location).await?;
        if status == StatusCode::FORBIDDEN && matches!(self.config.auth, VaultAuth::AppRole { .. }) {
            let token = self.token(location, true).await?;
            return self.raw(method, path, Some(&token), body, location).await;
        }
        Ok((status, value))
    }
}

/// A non-success answer: 403 → permission denied, otherwise the status with Vault's `errors` (which name
/// paths and policies, never values).
fn backend_error(location: &str, status: StatusCode, body: &Value, operation: &'static str) -> SecretError {
    if status == StatusCode::FORBIDDEN {
        return SecretError::PermissionDenied { location: location.to_string(), operation };
    }
    let detail = body["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| format!("{operation} failed"));
    SecretError::Backend {
        location: location.to_string(),
        status: status.as_u16(),
        detail: crate::error::tidy(&detail),
    }
}

/// One KV v2 secret.
#[derive(Debug, Clone)]
pub struct VaultSecret {
    client: Arc<VaultClient>,
    mount: String,
    path: String,
    location: String,
}

impl VaultSecret {
    fn data_path(&self) -> String {
        let path: Vec<String> = self
            .path
            .split('/')
            .map(|segment| {
                percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
            })
            .collect();
        format!("{}/data/{}", self.mount, path.join("/"))
    }
}

impl SecretBackend for VaultSecret {
    fn location(&self) -> &str {
        &self.location
    }

    fn read(&self) -> BoxFuture<'_, Result<Option<Versioned>, SecretError>> {
        Box::pin(async move {
            let (status, body) = self.client.call(Method::GET, &self.data_path(), None, &self.location).await?;
            if status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(backend_error(&self.location, status, &body, "read"));
            }
            let data = &body["data"];
            let Some(version) = data["metadata"]["version"].as_u64() else {
                return Err(SecretError::Invalid {
                    location: self.location.clone(),
                    detail: "the answer has no metadata.version".into(),
                });
            };
            // A deleted (not destroyed) latest version answers data: null.
            match &data["data"] {
                Value::Object(object) => Ok(Some(Versioned {
                    payload: SecretString::from(Value::Object(object.clone()).to_string()),
                    version: Version(version.to_string()),
                })),
                _ => Ok(None),
            }
        })
    }

    fn compare_and_set<'a>(
        &'a self,
        payload: &'a SecretString,
        expected: Option<&'a Version>,
    ) -> BoxFuture<'a, Result<Version, SecretError>> {
        Box::pin(async move {
            let data = match serde_json::from_str::<Value>(payload.expose_secret()) {
                Ok(Value::Object(object)) => Value::Object(object),
                _ => {
                    return Err(SecretError::Invalid {
                        location: self.location.clone(),
                        detail: "Vault KV secrets are JSON objects: name a #FIELD for a plain value".into(),
                    });
                }
            };
            let cas = match expected {
                None => 0,
                Some(version) => version.0.parse::<u64>().map_err(|_| SecretError::Invalid {
                    location: self.location.clone(),
                    detail: format!("{version} is not a Vault version"),
                })?,
            };
            let body = json!({"options": {"cas": cas}, "data": data});
            let (status, answer) =
                self.client.call(Method::POST, &self.data_path(), Some(&body), &self.location).await?;
            if status == StatusCode::BAD_REQUEST && answer["errors"].to_string().contains("check-and-set") {
                return Err(SecretError::Conflict { location: self.location.clone() });
            }
            if !status.is_success() {
                return Err(backend_error(&self.location, status, &answer, "write"));
            }
            answer["data"]["version"].as_u64().map(|v| Version(v.to_string())).ok_or_else(|| SecretError::Invalid {
                location: self.location.clone(),
                detail: "the write answer has no data.version".into(),
            })
        })
    }
}
