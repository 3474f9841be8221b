//! AWS Secrets Manager as a thin JSON 1.1 client (SigV4 in [`sigv4`], the credential chain in
//! [`credentials`]) — the full SDK would add ~90 CPU-seconds and 54 crates to every build
//! (research/rust_stack.md §2) for four API calls.
//!
//! **Read** `GetSecretValue` with `VersionStage=AWSCURRENT` explicitly: moto keeps serving a stale default
//! version after a stage move (research/test-peers.md §2), and naming the stage is right on AWS too.
//!
//! **Compare-and-set through version stages.** `PutSecretValue` with a fresh `ClientRequestToken` and
//! `VersionStages=[AWSPENDING]` stores the new value without making it current; then
//! `UpdateSecretVersionStage(AWSCURRENT, MoveToVersionId=new, RemoveFromVersionId=read)` moves AWSCURRENT
//! only if it still labels the version that was read — otherwise AWS answers `InvalidParameterException`,
//! which is the conflict. AWSPENDING is then taken off the new version (best effort: a left-over label is
//! harmless and the next write moves it). Creating uses `CreateSecret`; `ResourceExistsException` is the
//! conflict, unless the secret has no value yet (created by infrastructure code), which then gets its first.
//!
//! **Endpoint.** `AWS_ENDPOINT_URL_SECRETS_MANAGER`, else `AWS_ENDPOINT_URL`, else
//! `https://secretsmanager.REGION.amazonaws.com`.

pub mod credentials;
pub mod sigv4;

use std::sync::Arc;

use futures::future::BoxFuture;
use salesloft_client::clock::{SharedClock, SystemClock};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::SecretError;
use crate::backend::{SecretBackend, Version, Versioned};
pub use credentials::Credentials;

/// Where and how to reach Secrets Manager.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    /// The region.
    pub region: String,
    /// The endpoint (scheme, host, port), e.g. moto's `http://127.0.0.1:5555`.
    pub endpoint: String,
    /// Fixed credentials; `None` runs the chain ([`credentials`]).
    pub credentials: Option<Credentials>,
}

impl AwsConfig {
    /// From the environment and the shared config file (region), with the endpoint variables above.
    pub fn from_env() -> Result<Self, SecretError> {
        let region = credentials::region().ok_or_else(|| SecretError::Config {
            location: "aws-sm:".into(),
            detail: "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or region in the profile)".into(),
        })?;
        let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let endpoint = var("AWS_ENDPOINT_URL_SECRETS_MANAGER")
            .or_else(|| var("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("https://secretsmanager.{region}.amazonaws.com"));
        Ok(Self { region, endpoint, credentials: None })
    }
}

/// A Secrets Manager client shared by every `aws-sm:` secret of a process.
#[derive(Debug)]
pub struct AwsClient {
    config: AwsConfig,
    host: String,
    http: reqwest::Client,
    clock: SharedClock,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

/// Service errors: the `__type` (without its namespace prefix) and `message` of AWS's JSON error body.
#[derive(Debug)]
struct ServiceError {
    status: u16,
    kind: String,
    message: String,
}

impl AwsClient {
    /// A client for `config`.
    pub fn new(config: AwsConfig) -> Result<Arc<Self>, SecretError> {
        let url = url::Url::parse(&config.endpoint).map_err(|_| SecretError::Config {
            location: "aws-sm:".into(),
            detail: format!("the endpoint {:?} is not a URL", config.endpoint),
        })?;
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => {
                return Err(SecretError::Config {
                    location: "aws-sm:".into(),
                    detail: "the endpoint has no host".into(),
                });
            }
        };
        Ok(Arc::new(Self {
            config,
            host,
            http: crate::http::client()?,
            clock: Arc::new(SystemClock::default()),
            cached: tokio::sync::Mutex::new(None),
        }))
    }

    /// The secret `secret_id` on this client.
    pub fn secret(self: &Arc<Self>, secret_id: &str) -> AwsSecret {
        AwsSecret {
            client: Arc::clone(self),
            secret_id: secret_id.to_string(),
            location: format!("aws-sm:{secret_id}"),
        }
    }

    async fn credentials(&self, location: &str) -> Result<Credentials, SecretError> {
        if let Some(fixed) = &self.config.credentials {
            return Ok(fixed.clone());
        }
        let now = self.clock.unix_time().as_secs();
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref()
            && credentials.expires_at.is_none_or(|at| now + 300 < at)
        {
            return Ok(credentials.clone());
        }
        let (found, source) = credentials::resolve(&self.http, location).await?;
        tracing::debug!(source, access_key_id = %found.access_key_id, "AWS credentials found");
        *cached = Some(found.clone());
        Ok(found)
    }

    /// One Secrets Manager call: `Ok(body)` on 2xx, `Err(Ok(service error))` for an AWS error body,
    /// `Err(Err(_))` when it could not be made.
    async fn call(
        &self,
        action: &str,
        body: &Value,
        location: &str,
    ) -> Result<Result<Value, ServiceError>, SecretError> {
        let credentials = self.credentials(location).await?;
        let payload = serde_json::to_vec(body).unwrap_or_default();
        let target = format!("secretsmanager.{action}");
        let amz_date = {
            let now = self.clock.now_utc();
            format!(
                "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
                now.year(),
                u8::from(now.month()),
                now.day(),
                now.hour(),
                now.minute(),
                now.second()
            )
        };
        let headers = [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", target.as_str())];
        let signed = sigv4::sign(
            &sigv4::SignInput {
                host: &self.host,
                path: "/",
                headers: &headers,
                body: &payload,
                region: &self.config.region,
                service: "secretsmanager",
                amz_date: &amz_date,
            },
            &credentials,
        );
        let mut request = self
            .http
            .post(format!("{}/", self.config.endpoint.trim_end_matches('/')))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", &target);
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let response = request.body(payload).send().await.map_err(|e| crate::http::unreachable(location, &e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| crate::http::unreachable(location, &e))?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(Ok(value));
        }
        let kind = value["__type"].as_str().unwrap_or("").rsplit('#').next().unwrap_or("").to_string();
        let message = value["message"].as_str().or_else(|| value["Message"].as_str()).unwrap_or("").to_string();
        Ok(Err(ServiceError { status: status.as_u16(), kind, message }))
    }
}

impl ServiceError {
    fn into_secret_error(self, location: &str, operation: &'static str) -> SecretError {
        match self.kind.as_str() {
            "AccessDeniedException" | "UnrecognizedClientException" | "InvalidSignatureException" => {
                SecretError::PermissionDenied { location: location.to_string(), operation }
            }
            "ResourceNotFoundException" => SecretError::NotFound { location: location.to_string() },
            _ if self.status == 403 => SecretError::PermissionDenied { location: location.to_string(), operation },
            _ => SecretError::Backend {
                location: location.to_string(),
                status: self.status,
                detail: crate::error::tidy(&format!("{}: {}", self.kind, self.message)),
            },
        }
    }
}

/// One Secrets Manager secret.
#[derive(Debug, Clone)]
pub struct AwsSecret {
    client: Arc<AwsClient>,
    secret_id: String,
    location: String,
}

impl AwsSecret {
    /// The secret exists but has no current value (created without one, as Terraform's
    /// `aws_secretsmanager_secret` does): the first value is put as AWSCURRENT. A secret that has a value is a
    /// conflict: it was read as missing, so someone wrote it since.
    async fn fill_empty(&self, payload: &SecretString, new_version: &str) -> Result<Version, SecretError> {
        if self.read().await?.is_some() {
            return Err(SecretError::Conflict { location: self.location.clone() });
        }
        let put = json!({"SecretId": self.secret_id, "SecretString": payload.expose_secret(), "ClientRequestToken": new_version});
        match self.client.call("PutSecretValue", &put, &self.location).await? {
            Ok(answer) => Ok(Version(answer["VersionId"].as_str().unwrap_or(new_version).to_string())),
            Err(error) => Err(error.into_secret_error(&self.location, "write")),
        }
    }
}

impl SecretBackend for AwsSecret {
    fn location(&self) -> &str {
        &self.location
    }

    fn read(&self) -> BoxFuture<'_, Result<Option<Versioned>, SecretError>> {
        Box::pin(async move {
            let body = json!({"SecretId": self.secret_id, "VersionStage": "AWSCURRENT"});
            match self.client.call("GetSecretValue", &body, &self.location).await? {
                Ok(answer) => {
                    let (Some(payload), Some(version)) =
                        (answer["SecretString"].as_str(), answer["VersionId"].as_str())
                    else {
                        return Err(SecretError::Invalid {
                            location: self.location.clone(),
                            detail: "the secret has no SecretString (binary secrets are not supported)".into(),
                        });
                    };
                    Ok(Some(Versioned {
                        payload: SecretString::from(payload.to_string()),
                        version: Version(version.to_string()),
                    }))
                }
                Err(error) if error.kind == "ResourceNotFoundException" => Ok(None),
                Err(error) => Err(error.into_secret_error(&self.location, "read")),
            }
        })
    }

    fn compare_and_set<'a>(
        &'a self,
        payload: &'a SecretString,
        expected: Option<&'a Version>,
    ) -> BoxFuture<'a, Result<Version, SecretError>> {
        Box::pin(async move {
            let new_version = uuid::Uuid::new_v4().to_string();
            let Some(expected) = expected else {
                let body = json!({"Name": self.secret_id, "SecretString": payload.expose_secret(), "ClientRequestToken": new_version});
                return match self.client.call("CreateSecret", &body, &self.location).await? {
                    Ok(answer) => Ok(Version(answer["VersionId"].as_str().unwrap_or(&new_version).to_string())),
                    Err(error) if error.kind == "ResourceExistsException" => {
                        self.fill_empty(payload, &new_version).await
                    }
                    Err(error) => Err(error.into_secret_error(&self.location, "write")),
                };
            };
            let put = json!({
                "SecretId": self.secret_id,
                "SecretString": payload.expose_secret(),
                "ClientRequestToken": new_version,
                "VersionStages": ["AWSPENDING"],
            });
            if let Err(error) = self.client.call("PutSecretValue", &put, &self.location).await? {
                return Err(error.into_secret_error(&self.location, "write"));
            }
            let promote = json!({
                "SecretId": self.secret_id,
                "VersionStage": "AWSCURRENT",
                "MoveToVersionId": new_version,
                "RemoveFromVersionId": expected.0,
            });
            match self.client.call("UpdateSecretVersionStage", &promote, &self.location).await? {
                Ok(_) => {}
                // AWSCURRENT is no longer on the version read: someone else wrote first.
                Err(error) if error.kind == "InvalidParameterException" => {
                    return Err(SecretError::Conflict { location: self.location.clone() });
                }
                Err(error) => return Err(error.into_secret_error(&self.location, "write")),
            }
            let unpend =
                json!({"SecretId": self.secret_id, "VersionStage": "AWSPENDING", "RemoveFromVersionId": new_version});
            if let Ok(Err(error)) = self.client.call("UpdateSecretVersionStage", &unpend, &self.location).await {
                tracing::debug!(location = %self.location, kind = %error.kind, "AWSPENDING left on the new version");
            }
            Ok(Version(new_version))
        })
    }
}
