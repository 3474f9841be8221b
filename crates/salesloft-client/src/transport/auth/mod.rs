//! The auth layer: an API key, or OAuth tokens that are refreshed proactively, refreshed once on a 401, one
//! refresh at a time, and saved before use.
//!
//! **Single flight.** Refreshes are serialised by an async mutex, and each token carries a *generation*. A
//! caller that saw generation `g` (a 401, or a token near expiry) takes the mutex and refreshes only if the
//! generation is still `g`; otherwise someone refreshed while it waited and it uses the new token. This
//! matters more than usual because SalesLoft revokes every older refresh token on each refresh (FACTS.md
//! §1.3): two concurrent refreshes would make one fail with `invalid_grant`.
//!
//! **Cross-process lock, re-read after lock.** Inside the mutex the client takes the store's grant lock
//! ([`TokenStore::lock_grant`]: an `flock` on `<file>.lock` for [`FileTokenStore`]) and holds it around
//! load → refresh → save, so processes sharing a store refresh one at a time. After taking it the store is read
//! again (Nango's double check — anchors.md §1.1): if another process has refreshed, its token is adopted
//! instead of spending the (now revoked) refresh token. Should the token endpoint still answer
//! `invalid_grant` (a process that does not lock), the store is read once more and a set rotated by someone
//! else is used instead of failing.
//!
//! **Save before use, never lose a rotated set.** A new token set goes to [`TokenStore::save`] before it is
//! swapped in. SalesLoft has already revoked the old refresh token at that point (FACTS.md §1.3), so when the
//! save fails the new set is kept in memory and used anyway; the failure is logged (never the tokens) and
//! counted in [`TOKEN_SAVE_FAILURES_TOTAL`], and a background task retries the save with backoff
//! ([`SAVE_RETRY_INITIAL`] doubling to [`SAVE_RETRY_MAX`], on the injected clock) until the newest set held
//! in memory lands. While a save is pending the held set is newer than the store's, so the store is not
//! re-read over it.
//!
//! **Cancellation.** The refresh runs in its own task, so a caller that gives up (a timeout around
//! `execute`) cannot interrupt it between the token endpoint's answer and the save.
//!
//! **Re-authorisation.** A refresh refused with `invalid_grant` when nobody else rotated the grant (the store
//! still holds the refused refresh token) means the grant is dead: only a new authorisation (`slprod auth
//! login`) revives it. The connection is then marked (`PipelineState::needs_reauthorization`, shown by the
//! gateway's `/health`), the gauge [`REAUTHORIZATION_REQUIRED`] goes to 1 (the auth-failure alert), and
//! refreshing stops: for [`REAUTHORIZATION_COOLDOWN`] calls fail at once without reaching the token endpoint;
//! after it the store is read again under the grant lock, and a set stored since (a new login) clears the mark,
//! while the same dead set restarts the cooldown — the dead refresh token is never presented again.
//!
//! **Proactive refresh** happens when the token is within [`RefreshSkew`] of expiry. If that refresh fails
//! with an OAuth error while the old token is still valid, the old token is used and the failure is logged;
//! calls within [`PROACTIVE_REFRESH_COOLDOWN`] keep the old token, and the next call after it tries again.

pub mod oauth;
pub mod token_store;

use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;

pub use oauth::{OAuthConfig, OAuthGrant, SALESLOFT_TOKEN_URL};
pub use token_store::{FileTokenStore, GrantLock, MemoryTokenStore, RefreshSkew, TokenSet, TokenStore};

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
    /// The held set is newer than the store's: its save failed and is being retried.
    unsaved: bool,
    /// A save-retry task is running.
    retrying: bool,
    /// Since when (clock time) the connection needs re-authorisation, and the refresh token that was refused.
    reauthorize: Option<(std::time::Duration, Option<SecretString>)>,
}

/// Failed saves of a rotated token set (each failed attempt, the first and every retry).
pub const TOKEN_SAVE_FAILURES_TOTAL: &str = "salesloft_token_save_failures_total";

/// First wait before retrying a failed token save.
pub const SAVE_RETRY_INITIAL: std::time::Duration = std::time::Duration::from_millis(500);

/// Longest wait between token save retries.
pub const SAVE_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(60);

/// After a failed proactive refresh, keep using the still-valid token this long before trying again, so an
/// outage of the token endpoint is not hammered by every call (Nango's `REFRESH_FAILURE_COOLDOWN_MS = 30 s`
/// — anchors.md §1.1).
pub const PROACTIVE_REFRESH_COOLDOWN: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a connection marked as needing re-authorisation fails without refreshing before it reads the
/// store again.
pub const REAUTHORIZATION_COOLDOWN: std::time::Duration = std::time::Duration::from_secs(300);

/// How long to wait before reading the store once more, after `invalid_grant` with the refused token still
/// stored, before marking the connection as needing re-authorisation.
pub const REAUTHORIZATION_RECHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// Gauge: 1 while the OAuth connection needs re-authorisation (alert on it: auth failures page at once), 0
/// otherwise.
pub const REAUTHORIZATION_REQUIRED: &str = "salesloft_oauth_reauthorization_required";

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
                current: Mutex::new(Current {
                    tokens: None,
                    generation: 0,
                    proactive_failed_at: None,
                    unsaved: false,
                    retrying: false,
                    reauthorize: None,
                }),
                refresh: tokio::sync::Mutex::new(()),
            })),
        }
    }

    /// When the held OAuth access token expires: `(unix seconds, seconds from now)`, negative once past.
    /// `None` for an API key (it never expires — FACTS.md §1.2), before the first token is loaded, and for a
    /// token SalesLoft gave no lifetime.
    pub(crate) fn token_expiry(&self) -> Option<(u64, i64)> {
        let Authenticator::OAuth(state) = self else {
            return None;
        };
        let expires_at = state.lock().tokens.as_ref().and_then(|tokens| tokens.expires_at)?;
        let now = state.clock.unix_time().as_secs();
        let left = i64::try_from(expires_at).unwrap_or(i64::MAX).saturating_sub(i64::try_from(now).unwrap_or(i64::MAX));
        Some((expires_at, left))
    }

    /// True when the OAuth grant was refused (`invalid_grant`) and nobody else had rotated it: only a new
    /// authorisation (`slprod auth login`) revives the connection.
    pub(crate) fn needs_reauthorization(&self) -> bool {
        match self {
            Authenticator::ApiKey(_) => false,
            Authenticator::OAuth(state) => state.lock().reauthorize.is_some(),
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

    /// Saves a held token set whose save failed, at once (no-op when none is pending).
    pub(crate) async fn save_pending(&self) -> Result<(), Error> {
        match self {
            Authenticator::ApiKey(_) => Ok(()),
            Authenticator::OAuth(state) => state.save_pending_now().await,
        }
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
        let revived = matches!(&self.lock().reauthorize, Some((_, refused)) if !same_refresh(refused.as_ref(), tokens.refresh_token.as_ref()));
        if revived {
            tracing::info!("a new OAuth token set is in use; the connection no longer needs re-authorisation");
            self.clear_reauthorization();
        }
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

    async fn refresh(self: Arc<Self>, seen: u64, trigger: Trigger) -> Result<Bearer, Error> {
        let _single_flight = self.refresh.lock().await;
        // Someone refreshed while we waited for the lock.
        let (held, unsaved) = {
            let current = self.lock();
            if current.generation != seen
                && let Some(tokens) = &current.tokens
            {
                let fresh = trigger == Trigger::Unauthorized || self.usable(tokens);
                if fresh {
                    return Ok(Bearer { token: tokens.access_token.clone(), generation: current.generation });
                }
            }
            (current.tokens.clone(), current.unsaved)
        };

        // A dead grant is not refreshed again within the cooldown.
        let dead = self.lock().reauthorize.clone();
        if let Some((since, _)) = &dead
            && self.clock.now().saturating_sub(*since) < REAUTHORIZATION_COOLDOWN
        {
            return Err(reauthorization_error());
        }

        // Other processes sharing the store wait here until this refresh is saved.
        let _grant_lock = self.store.lock_grant().await?;
        // Re-read the store: the initial load, or another process's refresh. A held set whose save is still
        // pending is newer than anything stored.
        let stored = if unsaved { None } else { self.store.load().await? };
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

        if let Some((_, refused)) = &dead {
            if same_refresh(refused.as_ref(), base.refresh_token.as_ref()) {
                // Still the dead set: wait another cooldown without presenting it.
                self.mark_reauthorization(base.refresh_token.clone());
                return Err(reauthorization_error());
            }
            if self.usable(&base) {
                return Ok(self.adopt(base));
            }
            tracing::info!("a new OAuth token set was stored; the connection no longer needs re-authorisation");
            self.clear_reauthorization();
        }

        let fresh = match self.request_token(base.refresh_token.as_ref()).await {
            Ok(tokens) => tokens,
            Err(error) if !unsaved && is_invalid_grant(&error) => match self.rotated_elsewhere_settled(&base).await {
                Some(Rotated::Usable(stored)) => {
                    tracing::info!(
                        trigger = trigger.label(),
                        "the refresh token was rotated by another process; adopting its stored SalesLoft token"
                    );
                    return Ok(self.adopt(stored));
                }
                Some(Rotated::Refresh(stored)) => match self.request_token(stored.refresh_token.as_ref()).await {
                    Ok(tokens) => tokens,
                    Err(error) => return self.refresh_failed(trigger, held, error),
                },
                Some(Rotated::Nobody) => {
                    self.mark_reauthorization(base.refresh_token.clone());
                    return self.refresh_failed(trigger, held, error);
                }
                None => return self.refresh_failed(trigger, held, error),
            },
            Err(error) if unsaved && is_invalid_grant(&error) => {
                // Only this process ever held this refresh token: nobody else can have rotated it.
                self.mark_reauthorization(base.refresh_token.clone());
                return self.refresh_failed(trigger, held, error);
            }
            Err(error) => return self.refresh_failed(trigger, held, error),
        };
        // Save before use: SalesLoft has already revoked the old refresh token (FACTS.md §1.3), so a set that
        // cannot be saved is still used, and its save retried until it lands.
        match self.store.save(&fresh).await {
            Ok(()) => {
                telemetry::record_refresh(trigger.label(), "ok");
                tracing::info!(
                    trigger = trigger.label(),
                    expires_at = fresh.expires_at,
                    "refreshed the SalesLoft token"
                );
                self.lock().unsaved = false;
                Ok(self.adopt(fresh))
            }
            Err(error) => {
                telemetry::record_refresh(trigger.label(), "store_error");
                metrics::counter!(TOKEN_SAVE_FAILURES_TOTAL).increment(1);
                tracing::error!(
                    error = %error,
                    "could not save the rotated SalesLoft tokens; using them from memory and retrying the save"
                );
                let bearer = self.adopt(fresh);
                self.lock().unsaved = true;
                self.spawn_save_retry();
                Ok(bearer)
            }
        }
    }

    /// What to do after a failed token request: a proactive refresh keeps the still-valid held token.
    fn refresh_failed(&self, trigger: Trigger, held: Option<TokenSet>, error: Error) -> Result<Bearer, Error> {
        telemetry::record_refresh(trigger.label(), "error");
        // Counted even when a proactive refresh falls back on the still-valid token: that token expires soon
        // and nothing will renew it (the alert SalesloftAuthFailure).
        telemetry::record_auth_failure(if is_invalid_grant(&error) { "invalid_grant" } else { "refresh_failed" });
        if trigger == Trigger::Proactive
            && let Some(held) = held.filter(|t| !t.is_expired(self.clock.unix_time()))
        {
            tracing::warn!(error = %error, "proactive SalesLoft token refresh failed; using the current token until it expires");
            let mut current = self.lock();
            current.proactive_failed_at = Some(self.clock.now());
            return Ok(Bearer { token: held.access_token, generation: current.generation });
        }
        Err(error)
    }

    /// [`OAuthState::rotated_elsewhere`], asked once more after [`REAUTHORIZATION_RECHECK`] when the store still
    /// holds the refused token: a process that does not share this lock (another host's `pull`) may have
    /// refreshed and be about to save. Marking a live grant as dead would stop refreshing for a whole cooldown.
    async fn rotated_elsewhere_settled(&self, spent: &TokenSet) -> Option<Rotated> {
        match self.rotated_elsewhere(spent).await {
            Some(Rotated::Nobody) => {
                self.clock.sleep(REAUTHORIZATION_RECHECK).await;
                self.rotated_elsewhere(spent).await
            }
            other => other,
        }
    }

    /// After `invalid_grant` for `spent`'s refresh token: the stored set, when another process has rotated
    /// the grant since (its refresh token differs from the one just refused).
    async fn rotated_elsewhere(&self, spent: &TokenSet) -> Option<Rotated> {
        let stored = match self.store.load().await {
            Ok(Some(stored)) => stored,
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(error = %error, "could not re-read the token store after invalid_grant");
                return None;
            }
        };
        let differs = match (&stored.refresh_token, &spent.refresh_token) {
            (Some(new), Some(old)) => new.expose_secret() != old.expose_secret(),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !differs {
            return Some(Rotated::Nobody);
        }
        Some(if self.usable(&stored) { Rotated::Usable(stored) } else { Rotated::Refresh(stored) })
    }

    fn mark_reauthorization(&self, refused: Option<SecretString>) {
        let first = {
            let mut current = self.lock();
            let first = current.reauthorize.is_none();
            current.reauthorize = Some((self.clock.now(), refused));
            first
        };
        metrics::gauge!(REAUTHORIZATION_REQUIRED).set(1.0);
        if first {
            tracing::error!(
                "SalesLoft refused the OAuth refresh token (invalid_grant) and no other process had rotated it: the \
                 connection needs re-authorisation (slprod auth login); refreshing stops"
            );
        }
    }

    fn clear_reauthorization(&self) {
        self.lock().reauthorize = None;
        metrics::gauge!(REAUTHORIZATION_REQUIRED).set(0.0);
    }

    /// Starts the background save retry unless one is running.
    fn spawn_save_retry(self: &Arc<Self>) {
        {
            let mut current = self.lock();
            if current.retrying {
                return;
            }
            current.retrying = true;
        }
        let state = Arc::clone(self);
        tokio::spawn(async move { state.retry_save().await }.instrument(tracing::Span::current()));
    }

    /// One save attempt of the held set, when its save is pending. Runs under the single-flight mutex and the
    /// grant lock, so no refresh replaces the set meanwhile. `Ok(true)` when it was saved now.
    async fn save_held(&self) -> Result<bool, Error> {
        let _single_flight = self.refresh.lock().await;
        let pending = {
            let current = self.lock();
            match (&current.tokens, current.unsaved) {
                (Some(tokens), true) => tokens.clone(),
                _ => return Ok(false),
            }
        };
        let saved = match self.store.lock_grant().await {
            Ok(_grant_lock) => self.store.save(&pending).await,
            Err(error) => Err(error),
        };
        match saved {
            Ok(()) => {
                tracing::info!("saved the rotated SalesLoft tokens after an earlier failure");
                self.lock().unsaved = false;
                Ok(true)
            }
            Err(error) => {
                metrics::counter!(TOKEN_SAVE_FAILURES_TOTAL).increment(1);
                Err(error)
            }
        }
    }

    async fn save_pending_now(&self) -> Result<(), Error> {
        match self.save_held().await {
            Ok(_) => Ok(()),
            Err(error) => {
                tracing::error!(error = %error, "cannot save the rotated SalesLoft tokens; they are held in memory only");
                Err(error)
            }
        }
    }

    /// Saves the newest held set with backoff until it lands (or a refresh has saved a newer one).
    async fn retry_save(&self) {
        let mut delay = SAVE_RETRY_INITIAL;
        loop {
            self.clock.sleep(delay).await;
            delay = delay.saturating_mul(2).min(SAVE_RETRY_MAX);
            match self.save_held().await {
                Ok(_) => {
                    // Saved now, or nothing is pending any more (a refresh saved a newer set). A refresh whose
                    // save failed since then finds `retrying` still set, so this task must go on for it.
                    let mut current = self.lock();
                    if !current.unsaved {
                        current.retrying = false;
                        return;
                    }
                    delay = SAVE_RETRY_INITIAL;
                }
                Err(error) => {
                    tracing::error!(
                        error = %error,
                        retry_in_ms = delay.as_millis() as u64,
                        "still cannot save the rotated SalesLoft tokens; they are held in memory only"
                    );
                }
            }
        }
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

/// What the store says after `invalid_grant`.
enum Rotated {
    /// It still holds the refused refresh token: nobody else rotated the grant.
    Nobody,
    /// Its access token is fresh: use it.
    Usable(TokenSet),
    /// Its access token is stale too: refresh with its refresh token.
    Refresh(TokenSet),
}

fn same_refresh(a: Option<&SecretString>, b: Option<&SecretString>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.expose_secret() == b.expose_secret(),
        (None, None) => true,
        _ => false,
    }
}

fn reauthorization_error() -> Error {
    Error::Auth {
        code: Some("invalid_grant".into()),
        message: "the OAuth connection needs re-authorisation: SalesLoft refused its refresh token and no other \
                  process had rotated it; run `slprod auth login`"
            .into(),
    }
}

fn is_invalid_grant(error: &Error) -> bool {
    matches!(error, Error::Auth { code: Some(code), .. } if code == "invalid_grant")
}
