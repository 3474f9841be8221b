//! The simulated accounts server (`/oauth/authorize`, `/oauth/token`; FACTS.md §1.2–1.3, §10.3) and the
//! bearer-token check every `/v2` request goes through (FACTS.md §1.5, §10.2).
//!
//! Grants: `authorization_code` (codes are single-use), `refresh_token` (rotation: the new refresh token is
//! the only valid one of its grant, so every older one is revoked — FACTS.md §1.3) and `client_credentials`
//! (no refresh token). API keys never expire; access tokens expire after the configured lifetime on the
//! simulator clock, authorization codes after theirs.
//!
//! **Hygiene** (the simulator also serves staging and load tests): expired codes and access tokens, refresh
//! tokens rotated away longer ago than [`SimConfig::revoked_refresh_retention`], and grants left with neither
//! are pruned (at most every [`PRUNE_INTERVAL_MICROS`] of simulator time, and before
//! [`OAuth::sizes`] reports), so the maps stay bounded by what is live. Client secrets and API keys are
//! compared in constant time ([`secret_eq`]); `Debug` never prints a key or token.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use serde::Serialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::body::Params;
use crate::clock::Micros;
use crate::config::{OAuthClientConfig, SimConfig};
use crate::errors::Validation;
use crate::stats::AuthKind;

/// FACTS.md §1.3: the documented `invalid_grant` body.
pub const INVALID_GRANT_DESCRIPTION: &str = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request";

/// The outcome of checking an `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authenticated {
    /// Valid; acts as this user.
    Ok {
        /// API key or OAuth.
        kind: AuthKind,
        /// The user.
        user_id: i64,
    },
    /// No bearer token.
    Missing,
    /// Unknown, expired or revoked.
    Invalid,
}

struct Grant {
    client_id: String,
    scope: String,
    user_id: i64,
    current_refresh: Option<String>,
}

#[derive(Debug)]
struct AccessToken {
    grant: u64,
    user_id: i64,
    expires_at: Micros,
    revoked: bool,
}

#[derive(Debug)]
struct Code {
    client_id: String,
    redirect_uri: String,
    scope: String,
    expires_at: Micros,
}

/// A refresh token: its grant, and when it was rotated away (revoked), if it was.
struct RefreshToken {
    grant: u64,
    revoked_at: Option<Micros>,
}

struct State {
    grants: HashMap<u64, Grant>,
    refresh_tokens: HashMap<String, RefreshToken>,
    access_tokens: HashMap<String, AccessToken>,
    codes: HashMap<String, Code>,
    next_grant: u64,
    next_prune: Micros,
    rng: fastrand::Rng,
}

/// Simulator time between two prunes of expired OAuth state (1 s).
pub const PRUNE_INTERVAL_MICROS: Micros = 1_000_000;

/// How many entries the OAuth maps hold (`/__sim/stats` → `oauth_state`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OAuthSizes {
    /// Authorization codes not yet used or expired.
    pub codes: usize,
    /// Access tokens not yet expired.
    pub access_tokens: usize,
    /// Current refresh tokens, plus rotated-away ones still remembered.
    pub refresh_tokens: usize,
    /// Grants with a live access token or a current refresh token.
    pub grants: usize,
}

/// Compares two secrets in constant time (for equal lengths; the length itself is not secret here).
pub fn secret_eq(left: &str, right: &str) -> bool {
    left.as_bytes().ct_eq(right.as_bytes()).into()
}

impl State {
    /// Drops expired codes and access tokens, forgotten revoked refresh tokens and grants left with neither.
    fn prune(&mut self, config: &SimConfig, now: Micros) {
        self.next_prune = now.saturating_add(PRUNE_INTERVAL_MICROS);
        let retention = micros(config.revoked_refresh_retention);
        self.codes.retain(|_, code| now < code.expires_at);
        self.access_tokens.retain(|_, token| !token.revoked && now < token.expires_at);
        self.refresh_tokens.retain(|_, token| token.revoked_at.is_none_or(|at| now < at.saturating_add(retention)));
        let live: HashSet<u64> = self
            .access_tokens
            .values()
            .map(|token| token.grant)
            .chain(self.refresh_tokens.values().filter(|token| token.revoked_at.is_none()).map(|token| token.grant))
            .collect();
        self.grants.retain(|id, _| live.contains(id));
    }

    fn maybe_prune(&mut self, config: &SimConfig, now: Micros) {
        if now >= self.next_prune {
            self.prune(config, now);
        }
    }
}

/// An answer of the token endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenAnswer {
    /// Status.
    pub status: StatusCode,
    /// JSON body.
    pub body: serde_json::Value,
    /// Whether a refresh grant succeeded (for stats).
    pub refreshed: bool,
    /// Whether an access token was issued (for stats).
    pub issued: bool,
    /// Whether a rotated-away (revoked) refresh token was presented (for stats).
    pub revoked_refresh: bool,
}

impl TokenAnswer {
    fn error(status: StatusCode, error: &str, description: &str) -> Self {
        Self {
            status,
            body: json!({"error": error, "error_description": description}),
            refreshed: false,
            issued: false,
            revoked_refresh: false,
        }
    }

    fn invalid_grant() -> Self {
        // FACTS.md §1.3: status not stated; 400 is Doorkeeper's convention (assumed, §10.3).
        Self::error(StatusCode::BAD_REQUEST, "invalid_grant", INVALID_GRANT_DESCRIPTION)
    }

    fn invalid_client() -> Self {
        // FACTS.md §10.3: 401 assumed.
        Self::error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
        )
    }
}

/// API keys, OAuth grants and tokens. `Debug` shows only counts.
pub struct OAuth {
    api_keys: HashSet<String>,
    state: Mutex<State>,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("OAuth")
            .field("api_keys", &self.api_keys.len())
            .field("grants", &state.grants.len())
            .field("access_tokens", &state.access_tokens.len())
            .field("refresh_tokens", &state.refresh_tokens.len())
            .field("codes", &state.codes.len())
            .finish()
    }
}

impl OAuth {
    /// A server with the team's API keys and no grants.
    pub fn new(api_keys: &[String], seed: u64) -> Self {
        Self {
            api_keys: api_keys.iter().cloned().collect(),
            state: Mutex::new(State {
                grants: HashMap::new(),
                refresh_tokens: HashMap::new(),
                access_tokens: HashMap::new(),
                codes: HashMap::new(),
                next_grant: 0,
                next_prune: 0,
                rng: fastrand::Rng::with_seed(seed ^ 0x5EED_0A07),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks an `Authorization` header value (FACTS.md §1.2: `Bearer <token>` for keys and tokens alike).
    pub fn authenticate(&self, header: Option<&str>, now: Micros) -> Authenticated {
        let Some(value) = header else {
            return Authenticated::Missing;
        };
        let mut parts = value.trim().splitn(2, ' ');
        let scheme = parts.next().unwrap_or_default();
        let token = parts.next().unwrap_or_default().trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Authenticated::Missing;
        }
        // Every key is compared, in constant time, so the answer's timing says nothing about the keys.
        let is_key = self.api_keys.iter().fold(false, |found, key| found | secret_eq(key, token));
        if is_key {
            return Authenticated::Ok { kind: AuthKind::ApiKey, user_id: 1 };
        }
        match self.lock().access_tokens.get(token) {
            Some(access) if !access.revoked && now < access.expires_at => {
                Authenticated::Ok { kind: AuthKind::Oauth, user_id: access.user_id }
            }
            _ => Authenticated::Invalid,
        }
    }

    /// `GET /oauth/authorize`: auto-approves and answers the redirect `Location`, or an error body.
    pub fn authorize(
        &self,
        config: &SimConfig,
        params: &Params,
        now: Micros,
    ) -> Result<String, (StatusCode, serde_json::Value)> {
        let mut ignored = Validation::default();
        let field = |name: &str, ignored: &mut Validation| params.string(name, ignored).flatten().unwrap_or_default();
        let client_id = field("client_id", &mut ignored);
        let redirect_uri = field("redirect_uri", &mut ignored);
        let response_type = field("response_type", &mut ignored);
        let scope = params.string("scope", &mut ignored).flatten().unwrap_or_else(|| "default".to_owned());
        let state = params.string("state", &mut ignored).flatten();
        let Some(client) = find_client(config, &client_id) else {
            return Err((
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid_client", "error_description": "Unknown client_id."}),
            ));
        };
        if !client.redirect_uri_prefixes.iter().any(|prefix| redirect_uri.starts_with(prefix.as_str())) {
            return Err((
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid_redirect_uri", "error_description": "The requested redirect uri is malformed or doesn't match client redirect URI."}),
            ));
        }
        if response_type != "code" {
            return Err((
                StatusCode::BAD_REQUEST,
                json!({"error": "unsupported_response_type", "error_description": "The authorization server does not support this response type."}),
            ));
        }
        let mut state_guard = self.lock();
        state_guard.maybe_prune(config, now);
        let code = random_token(&mut state_guard.rng, 43);
        let expires_at = now + micros(config.authorization_code_lifetime);
        state_guard.codes.insert(
            code.clone(),
            Code { client_id: client_id.clone(), redirect_uri: redirect_uri.clone(), scope: scope.clone(), expires_at },
        );
        drop(state_guard);
        // FACTS.md §1.2: the redirect carries `code`, `context` and `scope`.
        let mut pairs = vec![("code", code), ("context", "/v2/team/1".to_owned()), ("scope", scope)];
        if let Some(state) = state {
            pairs.push(("state", state));
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        let separator = if redirect_uri.contains('?') { '&' } else { '?' };
        Ok(format!("{redirect_uri}{separator}{query}"))
    }

    /// `POST /oauth/token` (JSON or form body; client credentials in the body or HTTP Basic).
    pub fn token(&self, config: &SimConfig, headers: &HeaderMap, params: &Params, now: Micros) -> TokenAnswer {
        let mut ignored = Validation::default();
        let text = |name: &str, ignored: &mut Validation| params.string(name, ignored).flatten();
        let (mut client_id, mut client_secret) = (text("client_id", &mut ignored), text("client_secret", &mut ignored));
        if let Some((id, secret)) = basic_credentials(headers) {
            client_id = Some(id);
            client_secret = Some(secret);
        }
        let Some(client) = client_id.as_deref().and_then(|id| find_client(config, id)) else {
            return TokenAnswer::invalid_client();
        };
        if !client_secret.as_deref().is_some_and(|secret| secret_eq(secret, &client.client_secret)) {
            return TokenAnswer::invalid_client();
        }
        let grant_type = text("grant_type", &mut ignored).unwrap_or_default();
        let mut state = self.lock();
        state.maybe_prune(config, now);
        match grant_type.as_str() {
            "authorization_code" => {
                let code = text("code", &mut ignored).unwrap_or_default();
                // Codes are single-use: removed on first presentation, valid or not.
                let Some(grant) = state.codes.remove(&code) else {
                    return TokenAnswer::invalid_grant();
                };
                let redirect = text("redirect_uri", &mut ignored);
                if grant.client_id != client.client_id
                    || now >= grant.expires_at
                    || redirect.as_deref().is_some_and(|uri| uri != grant.redirect_uri)
                {
                    return TokenAnswer::invalid_grant();
                }
                let scope = text("scope", &mut ignored).unwrap_or(grant.scope);
                issue(&mut state, config, &client.client_id, &scope, now, None, true)
            }
            "refresh_token" => {
                let presented = text("refresh_token", &mut ignored).unwrap_or_default();
                let Some(grant_id) = state.refresh_tokens.get(&presented).map(|token| token.grant) else {
                    return TokenAnswer::invalid_grant();
                };
                let Some(grant) = state.grants.get(&grant_id) else {
                    return TokenAnswer::invalid_grant();
                };
                if grant.client_id != client.client_id || grant.current_refresh.as_deref() != Some(presented.as_str()) {
                    // An older (rotated-away) refresh token: revoked (FACTS.md §1.3).
                    return TokenAnswer { revoked_refresh: true, ..TokenAnswer::invalid_grant() };
                }
                let scope = grant.scope.clone();
                if config.revoke_access_tokens_on_refresh {
                    for token in state.access_tokens.values_mut().filter(|token| token.grant == grant_id) {
                        token.revoked = true;
                    }
                }
                let mut answer = issue(&mut state, config, &client.client_id, &scope, now, Some(grant_id), true);
                answer.refreshed = answer.issued;
                answer
            }
            "client_credentials" => {
                // FACTS.md §1.2: no refresh token for client credentials.
                let scope = text("scope", &mut ignored).unwrap_or_else(|| "default".to_owned());
                issue(&mut state, config, &client.client_id, &scope, now, None, false)
            }
            _ => TokenAnswer::error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            ),
        }
    }

    /// `POST /__sim/tokens`: an authorization-code-style grant without the browser dance.
    pub fn mint(
        &self,
        config: &SimConfig,
        client_id: &str,
        scope: &str,
        expires_in: Option<u64>,
        now: Micros,
    ) -> Option<TokenAnswer> {
        let client = find_client(config, client_id)?;
        let mut config = config.clone();
        if let Some(seconds) = expires_in {
            config.access_token_lifetime = std::time::Duration::from_secs(seconds);
        }
        let mut state = self.lock();
        state.maybe_prune(&config, now);
        Some(issue(&mut state, &config, &client.client_id, scope, now, None, true))
    }

    /// Prunes expired state, then counts what is left.
    pub fn sizes(&self, config: &SimConfig, now: Micros) -> OAuthSizes {
        let mut state = self.lock();
        state.prune(config, now);
        OAuthSizes {
            codes: state.codes.len(),
            access_tokens: state.access_tokens.len(),
            refresh_tokens: state.refresh_tokens.len(),
            grants: state.grants.len(),
        }
    }
}

fn issue(
    state: &mut State,
    config: &SimConfig,
    client_id: &str,
    scope: &str,
    now: Micros,
    grant: Option<u64>,
    with_refresh: bool,
) -> TokenAnswer {
    let grant_id = grant.unwrap_or_else(|| {
        state.next_grant += 1;
        let id = state.next_grant;
        state.grants.insert(
            id,
            Grant { client_id: client_id.to_owned(), scope: scope.to_owned(), user_id: 1, current_refresh: None },
        );
        id
    });
    let user_id = state.grants.get(&grant_id).map_or(1, |grant| grant.user_id);
    let access = random_token(&mut state.rng, 64);
    let lifetime = config.access_token_lifetime.as_secs();
    state.access_tokens.insert(
        access.clone(),
        AccessToken {
            grant: grant_id,
            user_id,
            expires_at: now + micros(config.access_token_lifetime),
            revoked: false,
        },
    );
    let refresh = with_refresh.then(|| random_token(&mut state.rng, 64));
    if let Some(token) = &refresh {
        state.refresh_tokens.insert(token.clone(), RefreshToken { grant: grant_id, revoked_at: None });
        let previous = state.grants.get_mut(&grant_id).and_then(|grant| grant.current_refresh.replace(token.clone()));
        // Rotation revokes the grant's older refresh token (FACTS.md §1.3); it is remembered for a while.
        if let Some(old) = previous.and_then(|previous| state.refresh_tokens.get_mut(&previous)) {
            old.revoked_at = Some(now);
        }
    }
    // FACTS.md §1.2: Doorkeeper's token response; `token_type` case unconfirmed (§10.3) — "Bearer".
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": scope,
        "created_at": now / 1_000_000,
    });
    if let (Some(token), Some(object)) = (refresh, body.as_object_mut()) {
        object.insert("refresh_token".to_owned(), json!(token));
    }
    TokenAnswer { status: StatusCode::OK, body, refreshed: false, issued: true, revoked_refresh: false }
}

fn find_client<'a>(config: &'a SimConfig, client_id: &str) -> Option<&'a OAuthClientConfig> {
    config.oauth_clients.iter().find(|client| client.client_id == client_id)
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn random_token(rng: &mut fastrand::Rng, length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..length).map(|_| char::from(ALPHABET[rng.usize(..ALPHABET.len())])).collect()
}

fn micros(duration: std::time::Duration) -> Micros {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_eq_compares_whole_secrets() {
        assert!(secret_eq("sim-secret", "sim-secret"));
        for other in ["sim-secreT", "sim-secre", "sim-secret ", "", "Sim-secret"] {
            assert!(!secret_eq("sim-secret", other), "{other:?}");
        }
    }

    #[test]
    fn debug_shows_counts_not_keys_or_tokens() {
        let config = SimConfig::default();
        let oauth = OAuth::new(&["ak-sekrit".to_owned()], 1);
        let answer = oauth.mint(&config, "sim-client", "default", None, 0).expect("minted");
        let text = format!("{oauth:?}");
        let access = answer.body["access_token"].as_str().expect("access token");
        assert!(!text.contains("sekrit") && !text.contains(access), "Debug leaked a secret: {text}");
        assert!(text.contains("access_tokens: 1"), "{text}");
    }
}
