//! GCP Secret Manager as a thin REST client (feature `gcp`, off by default): service-account credentials
//! (`GOOGLE_APPLICATION_CREDENTIALS`, a JSON key file) signed into an RS256 JWT with aws-lc-rs — the crypto
//! library rustls already builds — and exchanged for an access token at the key's `token_uri`.
//!
//! **Read** `GET /v1/projects/P/secrets/S` (its `etag`) then `…/versions/latest:access` (the payload and the
//! version number).
//!
//! **Compare-and-set.** Adding a version has no precondition in the API, but patching the secret does: a
//! write first patches the secret's `slprod-cas` annotation with the etag that was read (a stale etag answers
//! `ABORTED` / `FAILED_PRECONDITION`, the conflict), then adds the version. Every slprod writer goes through
//! the patch, so two writers cannot both pass it; the grant lock serialises them besides. Creating sends
//! `POST /v1/projects/P/secrets?secretId=S` (`ALREADY_EXISTS` is the conflict) and then adds the version.
//!
//! The endpoint is `https://secretmanager.googleapis.com`, or `GCP_SECRET_MANAGER_ENDPOINT` (tests use a
//! fake built from the REST shapes: no local server exists).

use std::sync::Arc;

use base64::Engine as _;
use futures::future::BoxFuture;
use reqwest::StatusCode;
use salesloft_client::clock::{SharedClock, SystemClock};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::SecretError;
use crate::backend::{SecretBackend, Version, Versioned};

/// Google's endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://secretmanager.googleapis.com";
/// The OAuth scope requested for the access token.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// A service account's key (the JSON key file's fields that matter). `Debug` redacts the private key.
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceAccountKey {
    /// The account's e-mail (the JWT issuer).
    pub client_email: String,
    /// The PKCS#8 private key, PEM.
    pub private_key: SecretString,
    /// The token endpoint (`https://oauth2.googleapis.com/token`).
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".into()
}

/// Where and how to reach Secret Manager.
#[derive(Debug, Clone)]
pub struct GcpConfig {
    /// The service account.
    pub key: ServiceAccountKey,
    /// The API endpoint.
    pub endpoint: String,
}

impl GcpConfig {
    /// From `GOOGLE_APPLICATION_CREDENTIALS` (a service-account key file) and `GCP_SECRET_MANAGER_ENDPOINT`.
    pub fn from_env() -> Result<Self, SecretError> {
        let config = |detail: String| SecretError::Config { location: "gcp-sm:".into(), detail };
        let path = std::env::var("GOOGLE_APPLICATION_CREDENTIALS")
            .ok()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| config("GOOGLE_APPLICATION_CREDENTIALS is not set (a service-account key file)".into()))?;
        let text = std::fs::read_to_string(&path).map_err(|e| config(format!("cannot read {path}: {e}")))?;
        let key: ServiceAccountKey = serde_json::from_str(&text)
            .map_err(|_| config(format!("{path} is not a service-account key file (client_email, private_key)")))?;
        let endpoint = std::env::var("GCP_SECRET_MANAGER_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.into());
        Ok(Self { key, endpoint })
    }
}

/// A Secret Manager client shared by every `gcp-sm:` secret of a process.
#[derive(Debug)]
pub struct GcpClient {
    config: GcpConfig,
    http: reqwest::Client,
    clock: SharedClock,
    token: tokio::sync::Mutex<Option<(SecretString, u64)>>,
}

/// The DER bytes of a PEM block.
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The signed JWT assertion of `key` at `now` (Unix seconds), valid one hour.
pub fn assertion(key: &ServiceAccountKey, now: u64) -> Result<String, SecretError> {
    let invalid = |detail: &str| SecretError::Config { location: "gcp-sm:".into(), detail: detail.to_string() };
    let der = pem_der(key.private_key.expose_secret())
        .ok_or_else(|| invalid("the service-account private_key is not PEM"))?;
    let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&der)
        .map_err(|_| invalid("the service-account private_key is not a PKCS#8 RSA key"))?;
    let header = b64url(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = json!({"iss": key.client_email, "scope": SCOPE, "aud": key.token_uri, "iat": now, "exp": now + 3600});
    let message = format!("{header}.{}", b64url(claims.to_string().as_bytes()));
    let mut signature = vec![0; pair.public_modulus_len()];
    pair.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .map_err(|_| invalid("signing the service-account assertion failed"))?;
    Ok(format!("{message}.{}", b64url(&signature)))
}

impl GcpClient {
    /// A client for `config`.
    pub fn new(config: GcpConfig) -> Result<Arc<Self>, SecretError> {
        Ok(Arc::new(Self {
            config,
            http: crate::http::client()?,
            clock: Arc::new(SystemClock::default()),
            token: tokio::sync::Mutex::new(None),
        }))
    }

    /// The secret `projects/{project}/secrets/{secret}` on this client.
    pub fn secret(self: &Arc<Self>, project: &str, secret: &str) -> GcpSecret {
        GcpSecret {
            client: Arc::clone(self),
            name: format!("projects/{project}/secrets/{secret}"),
            project: project.to_string(),
            secret: secret.to_string(),
            location: format!("gcp-sm:projects/{project}/secrets/{secret}"),
        }
    }

    /// An access token, from the cache until five minutes before it expires.
    async fn access_token(&self, location: &str) -> Result<SecretString, SecretError> {
        let now = self.clock.unix_time().as_secs();
        let mut cached = self.token.lock().await;
        if let Some((token, expires_at)) = cached.as_ref()
            && now + 300 < *expires_at
        {
            return Ok(token.clone());
        }
        let jwt = assertion(&self.config.key, now)?;
        let form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", jwt.as_str())];
        let response = self
            .http
            .post(&self.config.key.token_uri)
            .form(&form)
            .send()
            .await
            .map_err(|e| crate::http::unreachable(location, &e))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let Some(token) = body["access_token"].as_str().filter(|_| status.is_success()) else {
            let reason =
                body["error_description"].as_str().or_else(|| body["error"].as_str()).unwrap_or("no access_token");
            return Err(SecretError::Config {
                location: location.to_string(),
                detail: crate::error::tidy(&format!(
                    "the service account's token exchange failed ({status}): {reason}"
                )),
            });
        };
        let token = SecretString::from(token.to_string());
        *cached = Some((token.clone(), now + body["expires_in"].as_u64().unwrap_or(3600)));
        Ok(token)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        location: &str,
    ) -> Result<(StatusCode, Value), SecretError> {
        let token = self.access_token(location).await?;
        let mut request = self
            .http
            .request(method, format!("{}/v1/{path}", self.config.endpoint.trim_end_matches('/')))
            .bearer_auth(token.expose_secret());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| crate::http::unreachable(location, &e))?;
        let status = response.status();
        let value = response.json().await.unwrap_or(Value::Null);
        Ok((status, value))
    }
}

/// Google's error body `{"error":{"code","message","status"}}` as a [`SecretError`]. Its messages name
/// resources and permissions, never payloads.
fn api_error(location: &str, status: StatusCode, body: &Value, operation: &'static str) -> SecretError {
    let kind = body["error"]["status"].as_str().unwrap_or("");
    match kind {
        "PERMISSION_DENIED" | "UNAUTHENTICATED" => {
            SecretError::PermissionDenied { location: location.to_string(), operation }
        }
        "NOT_FOUND" => SecretError::NotFound { location: location.to_string() },
        "ABORTED" | "FAILED_PRECONDITION" | "ALREADY_EXISTS" => {
            SecretError::Conflict { location: location.to_string() }
        }
        _ if status == StatusCode::FORBIDDEN => {
            SecretError::PermissionDenied { location: location.to_string(), operation }
        }
        _ => SecretError::Backend {
            location: location.to_string(),
            status: status.as_u16(),
            detail: crate::error::tidy(&format!("{kind}: {}", body["error"]["message"].as_str().unwrap_or(""))),
        },
    }
}

/// One Secret Manager secret.
#[derive(Debug, Clone)]
pub struct GcpSecret {
    client: Arc<GcpClient>,
    name: String,
    project: String,
    secret: String,
    location: String,
}

impl GcpSecret {
    async fn add_version(&self, payload: &SecretString) -> Result<String, SecretError> {
        let data = payload.expose_secret().as_bytes();
        let body = json!({"payload": {"data": base64::engine::general_purpose::STANDARD.encode(data)}});
        let (status, answer) = self
            .client
            .call(reqwest::Method::POST, &format!("{}:addVersion", self.name), Some(&body), &self.location)
            .await?;
        if !status.is_success() {
            return Err(api_error(&self.location, status, &answer, "write"));
        }
        Ok(answer["name"].as_str().and_then(|n| n.rsplit('/').next()).unwrap_or("").to_string())
    }
}

impl SecretBackend for GcpSecret {
    fn location(&self) -> &str {
        &self.location
    }

    fn read(&self) -> BoxFuture<'_, Result<Option<Versioned>, SecretError>> {
        Box::pin(async move {
            let (status, meta) = self.client.call(reqwest::Method::GET, &self.name, None, &self.location).await?;
            if status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(api_error(&self.location, status, &meta, "read"));
            }
            let etag = meta["etag"].as_str().unwrap_or("").to_string();
            let path = format!("{}/versions/latest:access", self.name);
            let (status, answer) = self.client.call(reqwest::Method::GET, &path, None, &self.location).await?;
            if status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(api_error(&self.location, status, &answer, "read"));
            }
            let version = answer["name"].as_str().and_then(|n| n.rsplit('/').next()).unwrap_or("").to_string();
            let data = answer["payload"]["data"].as_str().unwrap_or("");
            let bytes = base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| SecretError::Invalid {
                location: self.location.clone(),
                detail: "the payload is not base64".into(),
            })?;
            let text = String::from_utf8(bytes).map_err(|_| SecretError::Invalid {
                location: self.location.clone(),
                detail: "the payload is not UTF-8".into(),
            })?;
            Ok(Some(Versioned { payload: SecretString::from(text), version: Version(format!("{version}|{etag}")) }))
        })
    }

    fn compare_and_set<'a>(
        &'a self,
        payload: &'a SecretString,
        expected: Option<&'a Version>,
    ) -> BoxFuture<'a, Result<Version, SecretError>> {
        Box::pin(async move {
            let etag = match expected {
                None => {
                    let body = json!({"replication": {"automatic": {}}});
                    let path = format!("projects/{}/secrets?secretId={}", self.project, self.secret);
                    let (status, answer) =
                        self.client.call(reqwest::Method::POST, &path, Some(&body), &self.location).await?;
                    if answer["error"]["status"].as_str() == Some("ALREADY_EXISTS") {
                        // Created without a version (as infrastructure code often does): the first version is
                        // added under the etag it has now; one with a version was written since it was read.
                        if self.read().await?.is_some() {
                            return Err(SecretError::Conflict { location: self.location.clone() });
                        }
                        let (status, meta) =
                            self.client.call(reqwest::Method::GET, &self.name, None, &self.location).await?;
                        if !status.is_success() {
                            return Err(api_error(&self.location, status, &meta, "write"));
                        }
                        meta["etag"].as_str().unwrap_or("").to_string()
                    } else if !status.is_success() {
                        return Err(api_error(&self.location, status, &answer, "write"));
                    } else {
                        answer["etag"].as_str().unwrap_or("").to_string()
                    }
                }
                Some(version) => {
                    let etag = version.0.split_once('|').map(|(_, e)| e).unwrap_or("");
                    let body =
                        json!({"etag": etag, "annotations": {"slprod-cas": uuid::Uuid::new_v4().simple().to_string()}});
                    let path = format!("{}?updateMask=annotations", self.name);
                    let (status, answer) =
                        self.client.call(reqwest::Method::PATCH, &path, Some(&body), &self.location).await?;
                    if !status.is_success() {
                        return Err(api_error(&self.location, status, &answer, "write"));
                    }
                    answer["etag"].as_str().unwrap_or("").to_string()
                }
            };
            let version = self.add_version(payload).await?;
            Ok(Version(format!("{version}|{etag}")))
        })
    }
}
