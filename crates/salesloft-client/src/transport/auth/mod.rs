//! The auth layer: an API key, or OAuth tokens that are refreshed proactively, refreshed once on a 401, one
//! refresh at a time, and saved before use.
//!
//! **Single flight.** Refreshes are serialised by an async mutex, and each token carries a *generation*. A
//! caller that saw generation `g` (a 401, or a token near expiry) takes the mutex and refreshes only if the
//! generation is still `g`; otherwise someone refreshed while it waited and it uses the new token. This
//! matters more than usual because SalesLoft revokes every older refresh token on each refresh (FACTS.md
//! §1.3): two concurrent refreshes would make one fail with `invalid_grant`.
//!
//! **Re-read after lock.** Inside the mutex the store is read again (Nango's double check — anchors.md §1.1):
//! if another process sharing the store has refreshed, its token is adopted instead of spending the (now
//! revoked) refresh token. Cross-replica *locking* needs a shared lock and comes with the store crate.
//!
//! **Save before use.** A new token set goes to [`TokenStore::save`] before it is swapped in; when saving
//! fails the call fails with [`crate::Error::TokenStore`] and the new token is not used.
//!
//! **Cancellation.** The refresh runs in its own task, so a caller that gives up (a timeout around
//! `execute`) cannot interrupt it between the token endpoint's answer and the save.
//!
//! **Proactive refresh** happens when the token is within [`RefreshSkew`] of expiry. If that refresh fails
//! with an OAuth error while the old token is still valid, the old token is used and the failure is logged;
//! calls within [`PROACTIVE_REFRESH_COOLDOWN`] keep the old token, and the next call after it tries again.

pub mod oauth;
pub mod token_store;

use std::sync::{Arc, Mutex};

use secrecy::SecretString;
use tracing::Instrument;

pub use oauth::{OAuthConfig, OAuthGrant, SALESLOFT_TOKEN_URL};
pub use token_store::{FileTokenStore, MemoryTokenStore, RefreshSkew, TokenSet, TokenStore};

use super::http::HttpTransport;
use super::telemetry;
use crate::Error;
use crate::clock::SharedClock;

/// The credential a pipeline uses.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A SalesLoft API key (sent as a bearer token; never refreshed).
    ApiKey(SecretString),
    /// OAuth tokens kept in a [`TokenStore`].
    OAuth(OAuthConfig, Arc<dyn TokenStore>),
}

/// The bearer for one attempt and the token generation it came from.
#[derive(Debug, Clone)]
pub(crate) struct Bearer {
    pub(crate) token: SecretString,
    pub(crate) generation: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Initial,
    Proactive,
    Unauthorized,
}

impl Trigger {
    fn label(self) -> &'static str {
        match self {
            Trigger::Initial => "initial",
            Trigger::Proactive => "proactive",
            Trigger::Unauthorized => "unauthorized",
        }
    }
}

#[derive(Debug)]
struct Current {
    tokens: Option<TokenSet>,
    generation: u64,
    /// When a proactive refresh last failed (clock time), for the cooldown.
    proactive_failed_at: Option<std::time::Duration>,
}

/// After a failed proactive refresh, keep using the still-valid token this long before trying again, so an
/// outage of the token endpoint is not hammered by every call (Nango's `REFRESH_FAILURE_COOLDOWN_MS = 30 s`
/// — anchors.md §1.1).
pub const PROACTIVE_REFRESH_COOLDOWN: std::time::Duration = std::time::Duration::from_secs(30);

/// The shared state of an OAuth credential.
#[derive(Debug)]
pub(crate) struct OAuthState {
    config: OAuthConfig,
    store: Arc<dyn TokenStore>,
    http: HttpTransport,
    clock: SharedClock,
    current: Mutex<Current>,
    refresh: tokio::sync::Mutex<()>,
}

/// Hands out bearers and refreshes OAuth tokens. Cheap to clone; clones share tokens.
#[derive(Debug, Clone)]
pub(crate) enum Authenticator {
    ApiKey(SecretString),
    OAuth(Arc<OAuthState>),
}

impl Authenticator {
    pub(crate) fn new(credentials: Credentials, http: HttpTransport, clock: SharedClock) -> Self {
        match credentials {
            Credentials::ApiKey(key) => Authenticator::ApiKey(key),
            Credentials::OAuth(config, store) => Authenticator::OAuth(Arc::new(OAuthState {
                config,
                store,
                http,
                clock,
                current: Mutex::new(Current { tokens: None, generation: 0, proactive_failed_at: None }),
                refresh: tokio::sync::Mutex::new(()),
            })),
        }
    }

    /// True when a 401 can be cured by refreshing.
    pub(crate) fn can_refresh(&self) -> bool {
        matches!(self, Authenticator::OAuth(_))
    }

    /// The bearer for the next attempt, refreshing first when the token is missing or about to expire.
    pub(crate) async fn bearer(&self) -> Result<Bearer, Error> {
        let state = match self {
            Authenticator::ApiKey(key) => {
                return Ok(Bearer { token: key.clone(), generation: 0 });
            }
            Authenticator::OAuth(state) => state,
        };
        let (generation, trigger) = {
            let current = state.lock();
            match &current.tokens {
                Some(tokens) if !tokens.needs_refresh(state.clock.unix_time(), state.config.refresh_skew) => {
                    return Ok(Bearer { token: tokens.access_token.clone(), generation: current.generation });
                }
                Some(tokens)
                    if !tokens.is_expired(state.clock.unix_time())
                        && current
                            .proactive_failed_at
                            .is_some_and(|at| state.clock.now().saturating_sub(at) < PROACTIVE_REFRESH_COOLDOWN) =>
                {
                    return Ok(Bearer { token: tokens.access_token.clone(), generation: current.generation });
                }
                Some(_) => (current.generation, Trigger::Proactive),
                None => (current.generation, Trigger::Initial),
            }
        };
        OAuthState::refresh_detached(state, generation, trigger).await
    }

    /// Refreshes after a 401 answered to a bearer of `generation` (no-op when someone already has).
    pub(crate) async fn refresh_after_unauthorized(&self, generation: u64) -> Result<Bearer, Error> {
        match self {
            Authenticator::ApiKey(key) => Ok(Bearer { token: key.clone(), generation: 0 }),
            Authenticator::OAuth(state) => OAuthState::refresh_detached(state, generation, Trigger::Unauthorized).await,
        }
    }
}

impl OAuthState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn usable(&self, tokens: &TokenSet) -> bool {
        !tokens.needs_refresh(self.clock.unix_time(), self.config.refresh_skew)
    }

    fn adopt(&self, tokens: TokenSet) -> Bearer {
        let mut current = self.lock();
        current.generation += 1;
        current.proactive_failed_at = None;
        let bearer = Bearer { token: tokens.access_token.clone(), generation: current.generation };
        current.tokens = Some(tokens);
        bearer
    }

    /// Runs [`OAuthState::refresh`] in its own task. A refresh spends the single-use refresh token (FACTS.md
    /// §1.3), so it must run to completion — save included — even when the caller is cancelled (a timeout
    /// around `execute`); otherwise the rotated token could be lost between the token endpoint and the store.
    async fn refresh_detached(state: &Arc<OAuthState>, seen: u64, trigger: Trigger) -> Result<Bearer, Error> {
        let state = Arc::clone(state);
        let task = tokio::spawn(async move { state.refresh(seen, trigger).await }.instrument(tracing::Span::current()));
        match task.await {
            Ok(result) => result,
            Err(join) => Err(Error::Auth { code: None, message: format!("token refresh task failed: {join}") }),
        }
    }

    async fn refresh(&self, seen: u64, trigger: Trigger) -> Result<Bearer, Error> {
        let _single_flight = self.refresh.lock().await;
        // Someone refreshed while we waited for the lock.
        let held = {
            let current = self.lock();
            if current.generation != seen
                && let Some(tokens) = &current.tokens
            {
                let fresh = trigger == Trigger::Unauthorized || self.usable(tokens);
                if fresh {
                    return Ok(Bearer { token: tokens.access_token.clone(), generation: current.generation });
                }
            }
            current.tokens.clone()
        };

        // Re-read the store: the initial load, or another process's refresh.
        let stored = self.store.load().await?;
        let base = match (stored, &held) {
            (Some(stored), Some(held)) if stored.same_access_token(held) => stored,
            (Some(stored), _) if self.usable(&stored) => {
                tracing::debug!(trigger = trigger.label(), "adopting the stored SalesLoft token");
                return Ok(self.adopt(stored));
            }
            (Some(stored), _) => stored,
            (None, Some(held)) => held.clone(),
            (None, None) => TokenSet {
                access_token: SecretString::from(String::new()),
                refresh_token: None,
                expires_at: Some(0),
                issued_at: None,
                scope: None,
            },
        };

        let fresh = match self.request_token(base.refresh_token.as_ref()).await {
            Ok(tokens) => tokens,
            Err(error) => {
                telemetry::record_refresh(trigger.label(), "error");
                if trigger == Trigger::Proactive
                    && let Some(held) = held.filter(|t| !t.is_expired(self.clock.unix_time()))
                {
                    tracing::warn!(error = %error, "proactive SalesLoft token refresh failed; using the current token until it expires");
                    let mut current = self.lock();
                    current.proactive_failed_at = Some(self.clock.now());
                    return Ok(Bearer { token: held.access_token, generation: current.generation });
                }
                return Err(error);
            }
        };
        // Save before use: SalesLoft has already revoked the old refresh token (FACTS.md §1.3).
        if let Err(error) = self.store.save(&fresh).await {
            telemetry::record_refresh(trigger.label(), "store_error");
            tracing::error!(error = %error, "could not save the rotated SalesLoft tokens; not using them");
            return Err(match error {
                Error::TokenStore(message) => Error::TokenStore(message),
                other => Error::TokenStore(other.to_string()),
            });
        }
        telemetry::record_refresh(trigger.label(), "ok");
        tracing::info!(trigger = trigger.label(), expires_at = fresh.expires_at, "refreshed the SalesLoft token");
        Ok(self.adopt(fresh))
    }

    async fn request_token(&self, refresh_token: Option<&SecretString>) -> Result<TokenSet, Error> {
        let form = self.config.form(refresh_token)?;
        let raw = self.http.post_form("oauth.token", &self.config.token_url, &form).await.map_err(|e| match e {
            // A bad token URL is a configuration error, reported as such.
            Error::Construction { .. } => e,
            other => Error::Auth { code: None, message: format!("token endpoint unreachable: {other}") },
        })?;
        oauth::parse_token_response(raw.status, &raw.body, self.clock.unix_time(), refresh_token)
    }
}
