//! The per-connection OAuth grant lock as a store lease, for replicas that share a store but not a host.
//!
//! SalesLoft revokes every older refresh token on each refresh (FACTS.md §1.3), so the processes sharing one
//! OAuth connection must refresh one at a time: the client holds this lock around re-read → refresh →
//! compare-and-set (salesloft-client `transport::auth`). The lease is named after the secret that holds the
//! tokens (`oauth-grant:<reference>`), so everything that shares the secret shares the lock. A holder that
//! dies leaves the lease to expire ([`GRANT_LEASE_TTL`]); a live holder releases it when the guard drops. The
//! compare-and-set behind it still refuses a write if a lease ever lapsed under a slow holder.

use std::time::Duration;

use futures::future::BoxFuture;
use salesloft_client::Error;
use salesloft_client::transport::GrantLock;
use salesloft_secrets::GrantLocker;
use salesloft_store::Store;

/// How long a grant lease lasts: above one refresh plus one secret write with their timeouts (30 s + 15 s),
/// short enough that a crashed holder delays the others by two minutes at most.
pub const GRANT_LEASE_TTL: Duration = Duration::from_secs(120);

/// How long a process waits for another's grant lease before failing the refresh.
pub const GRANT_LEASE_WAIT: Duration = Duration::from_secs(150);

/// A [`GrantLocker`] on the store's leases.
#[derive(Debug, Clone)]
pub struct StoreGrantLocker {
    store: Store,
    name: String,
    holder: String,
}

impl StoreGrantLocker {
    /// The lock of the connection whose tokens live at `location` (a secret reference, never a value).
    pub fn new(store: Store, location: &str) -> Self {
        Self { store, name: format!("oauth-grant:{location}"), holder: crate::holder::this_process("oauth-refresh") }
    }

    /// The lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Releases the lease when dropped (on the runtime, since the release is a store write).
struct Held {
    store: Store,
    guard: Option<salesloft_store::locks::LockGuard>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(guard) = self.guard.take() else { return };
        let store = self.store.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    if let Err(error) = store.locks().release(guard).await {
                        tracing::warn!(error = %error, "could not release the OAuth grant lease; it will expire");
                    }
                });
            }
            Err(_) => tracing::warn!("no runtime to release the OAuth grant lease; it will expire"),
        }
    }
}

impl GrantLocker for StoreGrantLocker {
    fn lock(&self) -> BoxFuture<'_, Result<Option<GrantLock>, Error>> {
        Box::pin(async move {
            let acquired =
                self.store.locks().acquire(&self.name, &self.holder, GRANT_LEASE_TTL, GRANT_LEASE_WAIT).await.map_err(
                    |e| Error::token_store_caused_by(format!("taking the OAuth grant lease {}: {e}", self.name), e),
                )?;
            match acquired {
                Some(guard) => Ok(Some(GrantLock::new(Held { store: self.store.clone(), guard: Some(guard) }))),
                None => Err(Error::token_store(format!(
                    "another process has held the OAuth grant lease {} for over {} s",
                    self.name,
                    GRANT_LEASE_WAIT.as_secs()
                ))),
            }
        })
    }
}
