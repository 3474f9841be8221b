//! [`SecretTokenStore`]: the client's [`TokenStore`] on any secret, so rotated OAuth tokens go back to Vault,
//! AWS or GCP with a compare-and-set, and [`GrantLocker`]s for the cross-process lock the client holds around
//! a refresh.
//!
//! The client's refresh (salesloft-client `transport::auth`) already does lock → re-read → refresh only if the
//! stored token is still the one that expired → save → unlock, and keeps a set whose save failed in memory,
//! retrying the save until it lands. This store adds the compare-and-set: `load` remembers the version it read,
//! and `save` writes only over that version. SalesLoft revokes every older refresh token on each refresh
//! (FACTS.md §1.3), so a refused compare-and-set after a refresh must not drop the new set: the save fails
//! (the client keeps the set and retries), and the retry re-reads the version and writes over it — the set
//! just obtained from SalesLoft is the only one whose refresh token is still valid.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use salesloft_client::Error;
use salesloft_client::transport::{FileTokenStore, GrantLock, TokenSet, TokenStore};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::SecretError;
use crate::secret::{Secret, Snapshot};

/// Takes the cross-process lock of one OAuth connection: a store lease (salesloft-sync), or an `flock`
/// ([`FlockLocker`]) when there is no store.
pub trait GrantLocker: Send + Sync + std::fmt::Debug {
    /// Takes the lock, waiting for another holder; released when the guard drops.
    fn lock(&self) -> BoxFuture<'_, Result<Option<GrantLock>, Error>>;
}

/// An exclusive `flock` on a local file (the same lock [`FileTokenStore`] takes): serialises the processes of
/// one host. Replicas on several hosts need a store lease instead.
#[derive(Debug, Clone)]
pub struct FlockLocker {
    file: FileTokenStore,
}

impl FlockLocker {
    /// Locks `<path>.lock`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { file: FileTokenStore::new(path) }
    }

    /// The lock for the secret `location` in the temporary directory: `slprod-grant-<hash of location>.lock`,
    /// so every process of the host that names the same secret takes the same lock.
    pub fn for_location(location: &str) -> Self {
        let digest = hex::encode(&Sha256::digest(location.as_bytes())[..8]);
        Self::new(std::env::temp_dir().join(format!("slprod-grant-{digest}")))
    }

    /// The lock file.
    pub fn lock_path(&self) -> PathBuf {
        self.file.lock_path()
    }
}

impl GrantLocker for FlockLocker {
    fn lock(&self) -> BoxFuture<'_, Result<Option<GrantLock>, Error>> {
        self.file.lock_grant()
    }
}

/// Two locks taken in order (first, then second) and held together: `slprod serve` takes the host's
/// [`FlockLocker`] and then the store lease, so a `pull` or `push` on the same host (which takes the `flock`
/// only) and replicas on other hosts (the lease) are all excluded. Every taker uses this order, so it cannot
/// deadlock.
#[derive(Debug, Clone)]
pub struct BothLocker {
    first: Arc<dyn GrantLocker>,
    second: Arc<dyn GrantLocker>,
}

impl BothLocker {
    /// `first`, then `second`.
    pub fn new(first: Arc<dyn GrantLocker>, second: Arc<dyn GrantLocker>) -> Self {
        Self { first, second }
    }
}

impl GrantLocker for BothLocker {
    fn lock(&self) -> BoxFuture<'_, Result<Option<GrantLock>, Error>> {
        Box::pin(async move {
            let first = self.first.lock().await?;
            let second = self.second.lock().await?;
            // Released in reverse order: the tuple drops `second` first.
            Ok(Some(GrantLock::new((second, first))))
        })
    }
}

/// The stored shape of a token set (the same fields as the token file).
#[derive(Serialize, Deserialize)]
struct StoredTokens {
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// Encodes a token set as the JSON object stored in a secret.
pub fn encode_tokens(tokens: &TokenSet) -> SecretString {
    let stored = StoredTokens {
        access_token: tokens.access_token.expose_secret().to_string(),
        refresh_token: tokens.refresh_token.as_ref().map(|t| t.expose_secret().to_string()),
        expires_at: tokens.expires_at,
        issued_at: tokens.issued_at,
        scope: tokens.scope.clone(),
    };
    SecretString::from(serde_json::to_string(&stored).unwrap_or_default())
}

/// Decodes a stored token set; the error names the location, never the content.
pub fn decode_tokens(value: &SecretString, location: &str) -> Result<TokenSet, SecretError> {
    let stored: StoredTokens = serde_json::from_str(value.expose_secret()).map_err(|_| SecretError::Invalid {
        location: location.to_string(),
        detail: "not an OAuth token set (a JSON object with access_token, refresh_token, expires_at)".into(),
    })?;
    Ok(TokenSet {
        access_token: SecretString::from(stored.access_token),
        refresh_token: stored.refresh_token.map(SecretString::from),
        expires_at: stored.expires_at,
        issued_at: stored.issued_at,
        scope: stored.scope,
    })
}

/// OAuth tokens in a secret, written back with compare-and-set. `Debug` shows the reference only.
#[derive(Debug)]
pub struct SecretTokenStore {
    secret: Arc<Secret>,
    locker: Option<Arc<dyn GrantLocker>>,
    /// What the last `load` or `save` saw: the base of the next compare-and-set. `None` after a refused one,
    /// so the retry re-reads.
    last: Mutex<Option<Snapshot>>,
}

impl SecretTokenStore {
    /// Tokens in `secret`, refreshed under `locker` (`None`: no cross-process lock — one process only).
    pub fn new(secret: Arc<Secret>, locker: Option<Arc<dyn GrantLocker>>) -> Self {
        Self { secret, locker, last: Mutex::new(None) }
    }

    /// The secret.
    pub fn secret(&self) -> &Arc<Secret> {
        &self.secret
    }

    fn location(&self) -> String {
        self.secret.reference().to_string()
    }

    fn remember(&self, snapshot: Option<Snapshot>) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = snapshot;
    }

    async fn save_inner(&self, tokens: &TokenSet) -> Result<(), SecretError> {
        let base = self.last.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let base = match base {
            Some(base) => base,
            // No version known (first write, or a retry after a refused compare-and-set): read it now. The
            // caller holds the grant lock, so no cooperating process writes in between.
            None => self.secret.snapshot().await?,
        };
        match self.secret.compare_and_set(&encode_tokens(tokens), &base).await {
            Ok(stored) => {
                self.remember(Some(stored));
                Ok(())
            }
            Err(error) => {
                // After a conflict or an unknown outcome the stored version is unknown: re-read before the retry.
                self.remember(None);
                Err(error)
            }
        }
    }
}

fn to_client_error(error: SecretError) -> Error {
    let message = match &error {
        SecretError::Conflict { .. } => format!("{error}; the new token set is kept in memory and its save retried"),
        _ => error.to_string(),
    };
    Error::token_store_caused_by(message, error)
}

impl TokenStore for SecretTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, Error>> {
        Box::pin(async move {
            let snapshot = self.secret.snapshot().await.map_err(to_client_error)?;
            let tokens = match &snapshot.value {
                Some(value) => Some(decode_tokens(value, &self.location()).map_err(to_client_error)?),
                None => None,
            };
            self.remember(Some(snapshot));
            Ok(tokens)
        })
    }

    fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move { self.save_inner(tokens).await.map_err(to_client_error) })
    }

    fn lock_grant(&self) -> BoxFuture<'_, Result<Option<GrantLock>, Error>> {
        match &self.locker {
            Some(locker) => locker.lock(),
            None => Box::pin(async { Ok(None) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretRef;
    use crate::backend::SecretBackend;
    use crate::local::FileBackend;

    fn set(access: &str) -> TokenSet {
        TokenSet {
            access_token: SecretString::from(access.to_string()),
            refresh_token: Some(SecretString::from(format!("{access}-refresh"))),
            expires_at: Some(100),
            issued_at: Some(1),
            scope: None,
        }
    }

    #[tokio::test]
    async fn a_refused_compare_and_set_fails_the_save_and_the_retry_writes_over_the_new_version() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tokens.json");
        let backend: Arc<dyn SecretBackend> = Arc::new(FileBackend::new(&path));
        let secret = Arc::new(Secret::with_backend(SecretRef::File(path.clone()), Arc::clone(&backend)));
        let store = SecretTokenStore::new(Arc::clone(&secret), None);
        assert!(store.load().await.expect("empty").is_none());
        store.save(&set("a1")).await.expect("created");
        assert_eq!(store.load().await.expect("load").expect("tokens").access_token.expose_secret(), "a1");
        // Someone else writes behind the store's back.
        let other = SecretTokenStore::new(secret, None);
        other.load().await.expect("load");
        other.save(&set("b1")).await.expect("other writer");
        let error = store.save(&set("a2")).await.expect_err("stale compare-and-set");
        assert!(error.to_string().contains("compare-and-set refused"), "{error}");
        assert!(!error.to_string().contains("a2"), "{error}");
        store.save(&set("a2")).await.expect("the retry re-reads and lands");
        assert_eq!(store.load().await.expect("load").expect("tokens").access_token.expose_secret(), "a2");
    }
}
