//! Where OAuth tokens live between refreshes: the [`TokenStore`] trait, [`TokenSet`], and two stores —
//! [`MemoryTokenStore`] (tests, single short-lived processes) and [`FileTokenStore`] (a JSON file written
//! atomically with mode 0600, for a single host). Secret-manager stores (Vault, AWS, GCP) implement the same
//! trait in their own crate.
//!
//! SalesLoft rotates the refresh token on every refresh and revokes all older ones (FACTS.md §1.3), so the
//! store is written **before** a new token is used: a process that crashes after refreshing but before saving
//! would otherwise lose the only valid refresh token (Nango issue #6136 — anchors.md §1.1).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::clock::{Clock, SharedClock, SystemClock};

/// An OAuth token set. `Debug` prints `[REDACTED]` for both tokens.
#[derive(Debug, Clone)]
pub struct TokenSet {
    /// The bearer credential.
    pub access_token: SecretString,
    /// The single-use refresh token (absent for the client-credentials grant — FACTS.md §1.2).
    pub refresh_token: Option<SecretString>,
    /// Expiry as Unix seconds (wall clock, so another process can read it), when known.
    pub expires_at: Option<u64>,
    /// When the token was obtained, Unix seconds; with `expires_at` it gives the lifetime.
    pub issued_at: Option<u64>,
    /// Granted scopes, space-separated.
    pub scope: Option<String>,
}

/// When to refresh before expiry: `min(before, fraction × lifetime)` ahead of it, so a 2-hour SalesLoft token
/// (FACTS.md §1.3) is refreshed 5 minutes early and a 60-second test token 6 seconds early.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefreshSkew {
    /// The largest margin.
    pub before: Duration,
    /// The margin as a fraction of the token's lifetime.
    pub fraction: f64,
}

impl Default for RefreshSkew {
    fn default() -> Self {
        Self { before: Duration::from_secs(300), fraction: 0.1 }
    }
}

impl TokenSet {
    /// True when the token's expiry is known and `now` (Unix time) is within the skew of it.
    pub fn needs_refresh(&self, now: Duration, skew: RefreshSkew) -> bool {
        let Some(expires_at) = self.expires_at else {
            return false;
        };
        let margin = match self.issued_at {
            Some(issued) if expires_at > issued => {
                let lifetime = Duration::from_secs(expires_at - issued);
                skew.before.min(lifetime.mul_f64(skew.fraction.clamp(0.0, 1.0)))
            }
            _ => skew.before,
        };
        now + margin >= Duration::from_secs(expires_at)
    }

    /// True when the token's expiry is known and has passed at `now` (Unix time).
    pub fn is_expired(&self, now: Duration) -> bool {
        self.expires_at.is_some_and(|at| now >= Duration::from_secs(at))
    }

    /// True when both sets carry the same access token.
    pub fn same_access_token(&self, other: &TokenSet) -> bool {
        self.access_token.expose_secret() == other.access_token.expose_secret()
    }
}

/// Persists the current [`TokenSet`]. Implementations must make `save` durable before returning `Ok`.
pub trait TokenStore: Send + Sync + std::fmt::Debug {
    /// The stored tokens, or `None` when nothing was stored yet.
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, Error>>;
    /// Replaces the stored tokens.
    fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), Error>>;
    /// Takes the store's cross-process lock of the grant, held while the guard lives. The client holds it
    /// around load → refresh → save, so two processes sharing the store never spend the same (single-use)
    /// refresh token. The default is no lock (`None`): a store only one process uses needs none.
    fn lock_grant(&self) -> BoxFuture<'_, Result<Option<GrantLock>, Error>> {
        Box::pin(async { Ok(None) })
    }
}

/// A held cross-process grant lock ([`TokenStore::lock_grant`]); dropping it releases the lock.
pub struct GrantLock {
    _held: Box<dyn Send + Sync>,
}

impl GrantLock {
    /// A lock that is held as long as `held` lives (for instance an open file with an `flock` on it).
    pub fn new(held: impl Send + Sync + 'static) -> Self {
        Self { _held: Box::new(held) }
    }
}

impl std::fmt::Debug for GrantLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GrantLock")
    }
}

/// Tokens kept in memory only.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Option<TokenSet>>,
}

impl MemoryTokenStore {
    /// A store holding `tokens`.
    pub fn new(tokens: Option<TokenSet>) -> Self {
        Self { tokens: Mutex::new(tokens) }
    }

    /// What the store holds now.
    pub fn current(&self) -> Option<TokenSet> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, Error>> {
        let tokens = self.current();
        Box::pin(async move { Ok(tokens) })
    }

    fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), Error>> {
        *self.tokens.lock().unwrap_or_else(|e| e.into_inner()) = Some(tokens.clone());
        Box::pin(async { Ok(()) })
    }
}

/// Tokens in a JSON file. Writes go to a temporary file in the same directory (mode 0600), are fsynced, then
/// renamed over the target, and the directory is fsynced: a crash leaves the old or the new file, never a
/// torn one.
///
/// Processes sharing the file serialise their refreshes with an exclusive `flock` on the sibling file
/// `<name>.lock` ([`FileTokenStore::lock_path`], created mode 0600 and never deleted: deleting it would let
/// two processes lock two different files). The kernel releases the lock when its holder exits, crash
/// included; a holder that is alive but stuck (stopped, hung on a disk) makes the others give up after
/// [`FileTokenStore::with_lock_timeout`] (default [`DEFAULT_LOCK_TIMEOUT`]) with [`Error::TokenStore`].
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
    lock_timeout: Duration,
    clock: SharedClock,
}

/// How long [`FileTokenStore`] waits for another process's grant lock by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// How often a waiter retries a held grant lock.
const LOCK_POLL: Duration = Duration::from_millis(20);

/// The on-disk shape. Secrets are exposed only to serialise them into the protected file.
#[derive(Serialize, Deserialize)]
struct TokenFile {
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

impl FileTokenStore {
    /// A store at `path` (the file need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), lock_timeout: DEFAULT_LOCK_TIMEOUT, clock: Arc::new(SystemClock::default()) }
    }

    /// The same store, polling a held grant lock on `clock` (default [`SystemClock`]); tests pass a
    /// [`crate::clock::ManualClock`] to run the lock timeout without waiting.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The same store, waiting at most `timeout` for another process's grant lock.
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sibling lock file: `<path>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        let mut name = self.path.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "tokens".into());
        name.push(".lock");
        self.path.with_file_name(name)
    }

    fn open_lock_file(path: &Path) -> Result<std::fs::File, Error> {
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options
            .open(path)
            .map_err(|e| Error::token_store_caused_by(format!("opening the lock file {}: {e}", path.display()), e))
    }

    /// Takes the exclusive lock on `file`, polling every [`LOCK_POLL`] of `clock` for up to `timeout`.
    async fn lock_polling(
        file: std::fs::File,
        path: &Path,
        timeout: Duration,
        clock: &dyn Clock,
    ) -> Result<std::fs::File, Error> {
        // The holder's refresh is bounded by the HTTP timeouts; one that dies releases the lock with its file
        // descriptors. Polling (rather than a blocking lock) lets a waiter give up on a stuck holder. A
        // non-blocking `flock` does not block, so it runs on the async task.
        let started = clock.now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) if clock.now().saturating_sub(started) < timeout => {
                    clock.sleep(LOCK_POLL).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::token_store(format!(
                        "another process has held {} for over {} s",
                        path.display(),
                        timeout.as_secs()
                    )));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(Error::token_store_caused_by(format!("locking {}: {e}", path.display()), e));
                }
            }
        }
    }

    fn load_blocking(path: &Path) -> Result<Option<TokenSet>, Error> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::token_store_caused_by(format!("reading {}: {e}", path.display()), e));
            }
        };
        // serde_json quotes the offending value (`invalid type: string "…"`), which here may be a token.
        let file: TokenFile = serde_json::from_slice(&bytes).map_err(|e| {
            Error::token_store(format!(
                "{} is not a token file: {}",
                path.display(),
                crate::redact::hide_quoted_values(&e.to_string())
            ))
        })?;
        Ok(Some(TokenSet {
            access_token: SecretString::from(file.access_token),
            refresh_token: file.refresh_token.map(SecretString::from),
            expires_at: file.expires_at,
            issued_at: file.issued_at,
            scope: file.scope,
        }))
    }

    fn save_blocking(path: &Path, tokens: &TokenSet) -> Result<(), Error> {
        use std::io::Write;
        let file = TokenFile {
            access_token: tokens.access_token.expose_secret().to_string(),
            refresh_token: tokens.refresh_token.as_ref().map(|t| t.expose_secret().to_string()),
            expires_at: tokens.expires_at,
            issued_at: tokens.issued_at,
            scope: tokens.scope.clone(),
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| Error::token_store(format!("encoding tokens: {e}")))?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("tokens");
        let temp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4()));
        let io =
            |what: &str, e: std::io::Error| Error::token_store_caused_by(format!("{what} {}: {e}", temp.display()), e);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let result = (|| {
            let mut out = options.open(&temp).map_err(|e| io("creating", e))?;
            out.write_all(&json).map_err(|e| io("writing", e))?;
            out.sync_all().map_err(|e| io("syncing", e))?;
            std::fs::rename(&temp, path)
                .map_err(|e| Error::token_store_caused_by(format!("renaming into {}: {e}", path.display()), e))?;
            // Make the rename itself durable.
            if let Ok(dir) = std::fs::File::open(&dir) {
                let _ = dir.sync_all();
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, Error>> {
        let path = self.path.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || Self::load_blocking(&path))
                .await
                .map_err(|e| Error::token_store_caused_by(format!("token file task failed: {e}"), e))?
        })
    }

    fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), Error>> {
        let path = self.path.clone();
        let tokens = tokens.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || Self::save_blocking(&path, &tokens))
                .await
                .map_err(|e| Error::token_store_caused_by(format!("token file task failed: {e}"), e))?
        })
    }

    fn lock_grant(&self) -> BoxFuture<'_, Result<Option<GrantLock>, Error>> {
        let path = self.lock_path();
        Box::pin(async move {
            let opening = path.clone();
            let file = tokio::task::spawn_blocking(move || Self::open_lock_file(&opening))
                .await
                .map_err(|e| Error::token_store_caused_by(format!("token lock task failed: {e}"), e))??;
            let file = Self::lock_polling(file, &path, self.lock_timeout, self.clock.as_ref()).await?;
            Ok(Some(GrantLock::new(file)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(access: &str, expires_at: Option<u64>, issued_at: Option<u64>) -> TokenSet {
        TokenSet {
            access_token: SecretString::from(access.to_string()),
            refresh_token: Some(SecretString::from(format!("{access}-refresh"))),
            expires_at,
            issued_at,
            scope: Some("people:read".into()),
        }
    }

    #[test]
    fn expiry_table() {
        let skew = RefreshSkew::default();
        let now = Duration::from_secs(1_000_000);
        let t = 1_000_000u64;
        // (name, expires_at, issued_at, needs_refresh, is_expired)
        let table = [
            ("unknown expiry", None, None, false, false),
            ("2 h token fresh", Some(t + 7000), Some(t - 200), false, false),
            ("2 h token within 5 min", Some(t + 299), Some(t - 6901), true, false),
            ("2 h token exactly at margin", Some(t + 300), Some(t - 6900), true, false),
            ("60 s token, 7 s left (margin 6 s)", Some(t + 7), Some(t - 53), false, false),
            ("60 s token, 5 s left", Some(t + 5), Some(t - 55), true, false),
            ("no issue time: 5 min margin", Some(t + 200), None, true, false),
            ("expired", Some(t - 1), Some(t - 7201), true, true),
            ("expires now", Some(t), None, true, true),
        ];
        for (name, expires_at, issued_at, refresh, expired) in table {
            let set = tokens("a", expires_at, issued_at);
            assert_eq!(set.needs_refresh(now, skew), refresh, "{name}: needs_refresh");
            assert_eq!(set.is_expired(now), expired, "{name}: is_expired");
        }
    }

    #[test]
    fn debug_never_shows_tokens() {
        let text = format!("{:?}", tokens("sekrit-access", Some(1), None));
        assert!(!text.contains("sekrit"), "Debug leaked a token: {text}");
    }

    #[tokio::test]
    async fn file_store_round_trips_atomically_with_private_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.json");
        let store = FileTokenStore::new(&path);
        assert!(store.load().await.expect("load").is_none(), "a missing file is an empty store");
        store.save(&tokens("one", Some(10), Some(1))).await.expect("save one");
        store.save(&tokens("two", Some(20), Some(2))).await.expect("save two");
        let loaded = store.load().await.expect("load").expect("tokens");
        assert_eq!(loaded.access_token.expose_secret(), "two");
        assert_eq!(loaded.refresh_token.as_ref().map(|t| t.expose_secret().to_string()), Some("two-refresh".into()));
        assert_eq!((loaded.expires_at, loaded.issued_at), (Some(20), Some(2)));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").filter_map(|e| e.ok()).collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("metadata").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "expected mode 0600, got {mode:o}");
        }
    }

    #[tokio::test]
    async fn a_corrupt_file_is_a_store_error_without_its_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, "{\"access_token\": 5, \"secret-ish\": \"xyz\"").expect("write");
        let error = FileTokenStore::new(&path).load().await.expect_err("corrupt file");
        assert!(matches!(error, Error::TokenStore { .. }), "expected TokenStore, got {error:?}");
        assert!(!error.to_string().contains("xyz"), "error echoed file content: {error}");
        // serde's message may quote the file's content (a token), so it is not kept as the source.
        assert!(std::error::Error::source(&error).is_none(), "{error:?}");
    }

    #[tokio::test]
    async fn an_io_failure_keeps_the_io_error_as_its_source() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A directory where the token file should be: reading it fails with an I/O error.
        let path = dir.path().join("tokens.json");
        std::fs::create_dir(&path).expect("mkdir");
        let error = FileTokenStore::new(&path).load().await.expect_err("a directory is not a token file");
        let source = std::error::Error::source(&error).expect("the I/O error is kept");
        assert!(source.downcast_ref::<std::io::Error>().is_some(), "source is {source:?}");
    }

    #[tokio::test]
    async fn a_waiter_polls_a_held_lock_until_its_timeout_on_the_clock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.json");
        let held = FileTokenStore::new(&path).lock_grant().await.expect("lock").expect("a file lock");
        let clock = crate::clock::ManualClock::new();
        let waiter = FileTokenStore::new(&path).with_lock_timeout(Duration::from_secs(2)).with_clock(clock.shared());
        let error = waiter.lock_grant().await.expect_err("the lock stays held");
        assert!(error.to_string().contains("for over 2 s"), "{error}");
        let sleeps = clock.sleeps();
        assert_eq!(sleeps.len(), 100, "2 s of 20 ms polls, waited on the clock");
        assert!(sleeps.iter().all(|s| *s == LOCK_POLL), "{sleeps:?}");
        drop(held);
        assert!(waiter.lock_grant().await.expect("free now").is_some());
    }

    #[tokio::test]
    async fn the_file_lock_excludes_a_second_holder_until_released() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.json");
        let first = FileTokenStore::new(&path);
        assert_eq!(first.lock_path(), dir.path().join("tokens.json.lock"));
        let held = first.lock_grant().await.expect("lock").expect("a file lock");
        // flock conflicts between open file descriptions, so a second open in this process is excluded too.
        let probe = std::fs::File::open(first.lock_path()).expect("lock file exists");
        assert!(matches!(probe.try_lock(), Err(std::fs::TryLockError::WouldBlock)), "the lock is held");
        let impatient = FileTokenStore::new(&path).with_lock_timeout(Duration::ZERO);
        let error = impatient.lock_grant().await.expect_err("a held lock is not waited for beyond the timeout");
        assert!(matches!(error, Error::TokenStore { .. }), "{error:?}");
        drop(held);
        probe.try_lock().expect("released on drop");
        drop(probe);
        let second = FileTokenStore::new(&path).lock_grant().await.expect("lock again");
        assert!(second.is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(first.lock_path()).expect("metadata").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "expected mode 0600, got {mode:o}");
        }
    }

    #[tokio::test]
    async fn memory_store_keeps_the_last_save() {
        let store = MemoryTokenStore::default();
        store.save(&tokens("x", None, None)).await.expect("save");
        let current = store.current().expect("saved");
        assert_eq!(current.access_token.expose_secret(), "x");
    }
}
