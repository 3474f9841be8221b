//! The interface every secret manager implements: read the whole secret with its version, and write it back
//! only if it is still at the version that was read (compare-and-set).
//!
//! Compare-and-set is what keeps a rotated OAuth token set from being lost (SalesLoft revokes every older
//! refresh token on each refresh — FACTS.md §1.3): a writer that lost a race learns so instead of overwriting
//! the winner. Each backend maps it onto its own primitive: Vault KV v2 `options.cas`, AWS version stages
//! (AWSPENDING, then move AWSCURRENT off the version read), GCP the secret's etag.

use futures::future::BoxFuture;
use secrecy::SecretString;

use crate::SecretError;

/// A backend's opaque version of a secret: Vault's version number, AWS's `VersionId`, GCP's version number
/// and the secret's etag. Compared only by the backend that issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(pub String);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A whole secret as read: its payload (a JSON object's text for Vault; the secret string for AWS and GCP)
/// and the version a compare-and-set must name. `Debug` redacts the payload.
#[derive(Debug, Clone)]
pub struct Versioned {
    /// The whole secret.
    pub payload: SecretString,
    /// Its version.
    pub version: Version,
}

/// A secret manager holding one secret. Implementations never put a payload into an error or a log line.
pub trait SecretBackend: Send + Sync + std::fmt::Debug {
    /// The reference without its field, for messages (`vault:secret/slprod/oauth`).
    fn location(&self) -> &str;

    /// The whole secret and its version; `None` when it does not exist.
    fn read(&self) -> BoxFuture<'_, Result<Option<Versioned>, SecretError>>;

    /// Writes `payload` if the secret is still at `expected` (or, with `None`, does not exist yet, and is
    /// created). Returns the new version; [`SecretError::Conflict`] when someone else wrote first.
    fn compare_and_set<'a>(
        &'a self,
        payload: &'a SecretString,
        expected: Option<&'a Version>,
    ) -> BoxFuture<'a, Result<Version, SecretError>>;
}
