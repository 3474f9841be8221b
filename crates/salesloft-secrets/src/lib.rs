//! Secrets behind the `*_ref` syntax of `../shared/CONFIG.md`, with compare-and-set writes — one interface
//! ([`SecretBackend`], used through [`Secret`]) over `env:`, `file:`, Vault / OpenBao KV v2, AWS Secrets
//! Manager and GCP Secret Manager — and the OAuth token store built on it ([`SecretTokenStore`]).
//!
//! **When to use what.** Read a configured secret (an API key, the OAuth client secret) with
//! [`Secret::value`] (cached for [`DEFAULT_CACHE_TTL`]). Keep rotated OAuth tokens in a
//! [`SecretTokenStore`] with a [`GrantLocker`]: SalesLoft revokes every older refresh token on each refresh
//! (FACTS.md §1.3), so saving the rotated set is the one step that must never be lost or raced.
//!
//! **Backends are features.** `vault` and `aws` are on by default: they are thin REST clients on the
//! workspace's reqwest, hmac and sha2 and add no crate to the build. `gcp` (RS256 with aws-lc-rs) is off by
//! default. A reference to a backend that is not compiled in fails with [`SecretError::Config`].
//!
//! **Secrets never leak.** Values are `secrecy::SecretString` (`Debug` prints `[REDACTED]`); errors name the
//! reference, never the value; nothing here logs a value.

#![warn(missing_docs)]

mod backend;
mod error;
#[cfg(any(feature = "vault", feature = "aws", feature = "gcp"))]
mod http;
mod local;
mod reference;
mod secret;
mod token_store;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "gcp")]
pub mod gcp;
#[cfg(feature = "vault")]
pub mod vault;

use std::sync::Arc;

pub use backend::{SecretBackend, Version, Versioned};
pub use error::SecretError;
pub use local::{EnvBackend, FileBackend};
pub use reference::SecretRef;
pub use secret::{DEFAULT_CACHE_TTL, Secret, Snapshot};
pub use token_store::{BothLocker, FlockLocker, GrantLocker, SecretTokenStore, decode_tokens, encode_tokens};

/// The backend of `reference`, configured from the environment. Clients of the cloud backends are made once
/// per process and shared (one Vault login and renewal schedule, one AWS credential cache).
pub fn open_backend(reference: &SecretRef) -> Result<Arc<dyn SecretBackend>, SecretError> {
    match reference {
        SecretRef::Env(name) => Ok(Arc::new(EnvBackend::new(name.clone()))),
        SecretRef::File(path) => Ok(Arc::new(FileBackend::new(path.clone()))),
        #[cfg(feature = "vault")]
        SecretRef::Vault { mount, path, .. } => {
            static CLIENT: Shared<vault::VaultClient> = std::sync::Mutex::new(None);
            let client = shared(&CLIENT, || {
                vault::VaultClient::new(vault::VaultConfig::from_env().map_err(|e| relocate(e, reference))?)
            })?;
            Ok(Arc::new(client.secret(mount, path)))
        }
        #[cfg(feature = "aws")]
        SecretRef::AwsSm { secret_id, .. } => {
            static CLIENT: Shared<aws::AwsClient> = std::sync::Mutex::new(None);
            let client = shared(&CLIENT, || {
                aws::AwsClient::new(aws::AwsConfig::from_env().map_err(|e| relocate(e, reference))?)
            })?;
            Ok(Arc::new(client.secret(secret_id)))
        }
        #[cfg(feature = "gcp")]
        SecretRef::GcpSm { project, secret, .. } => {
            static CLIENT: Shared<gcp::GcpClient> = std::sync::Mutex::new(None);
            let client = shared(&CLIENT, || {
                gcp::GcpClient::new(gcp::GcpConfig::from_env().map_err(|e| relocate(e, reference))?)
            })?;
            Ok(Arc::new(client.secret(project, secret)))
        }
        #[allow(unreachable_patterns)]
        other => Err(SecretError::Config {
            location: other.to_string(),
            detail: format!(
                "this slprod was built without {} support (Cargo feature of salesloft-secrets)",
                other.scheme()
            ),
        }),
    }
}

/// A process-wide client, made on first use from the environment (a failure is not cached).
#[allow(dead_code)]
type Shared<T> = std::sync::Mutex<Option<Arc<T>>>;

#[allow(dead_code)]
fn shared<T>(cell: &Shared<T>, make: impl FnOnce() -> Result<Arc<T>, SecretError>) -> Result<Arc<T>, SecretError> {
    let mut held = cell.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(client) = held.as_ref() {
        return Ok(Arc::clone(client));
    }
    let client = make()?;
    *held = Some(Arc::clone(&client));
    Ok(client)
}

/// Puts the reference into a configuration error that was raised before it was known.
#[allow(dead_code)]
fn relocate(error: SecretError, reference: &SecretRef) -> SecretError {
    match error {
        SecretError::Config { detail, .. } => SecretError::Config { location: reference.to_string(), detail },
        other => other,
    }
}
