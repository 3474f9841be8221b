//! OAuth configuration and the token-endpoint exchange (FACTS.md §1.2–1.3).
//!
//! Refresh is a form POST to the token URL with `grant_type=refresh_token, refresh_token, client_id,
//! client_secret` (the form-encoded shape Airbyte's SalesLoft connector asserts); the client-credentials grant
//! sends `grant_type=client_credentials` and has no refresh token, so it is simply requested again. The
//! answer is `{access_token, token_type, expires_in, refresh_token, scope, created_at}`; errors are
//! `{"error":"invalid_grant","error_description":…}`. Nothing here logs or formats a token: error messages
//! carry only the OAuth error code and description.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::token_store::{RefreshSkew, TokenSet};
use crate::Error;

/// SalesLoft's token endpoint.
pub const SALESLOFT_TOKEN_URL: &str = "https://accounts.salesloft.com/oauth/token";

/// Which grant obtains new access tokens.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OAuthGrant {
    /// Authorization-code apps: refresh with the stored, single-use refresh token.
    #[default]
    RefreshToken,
    /// Admin-created private apps: request a new token with the client credentials (no refresh token).
    ClientCredentials {
        /// Space-separated scopes to request, if any.
        scope: Option<String>,
    },
}

/// An OAuth client.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// The token endpoint ([`SALESLOFT_TOKEN_URL`]; the simulator's is `<root>/oauth/token`).
    pub token_url: String,
    /// The application's client id.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: SecretString,
    /// How new tokens are obtained.
    pub grant: OAuthGrant,
    /// How early to refresh.
    pub refresh_skew: RefreshSkew,
}

impl OAuthConfig {
    /// A refresh-token client against `token_url` with the default skew.
    pub fn new(token_url: impl Into<String>, client_id: impl Into<String>, client_secret: SecretString) -> Self {
        Self {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret,
            grant: OAuthGrant::RefreshToken,
            refresh_skew: RefreshSkew::default(),
        }
    }

    /// The token URL that belongs to an API base URL: SalesLoft's for `https://api.salesloft.com` (exact host
    /// match, FACTS.md §1.2), else `<root>/oauth/token` where root is the base URL without its `/v2` (the
    /// simulator's layout). A look-alike host (`api.salesloft.com.evil.example`) keeps its own root: the
    /// client secret is never sent to SalesLoft's token endpoint on the strength of a substring, nor is a
    /// look-alike ever mistaken for SalesLoft.
    pub fn token_url_for(base_url: &str) -> String {
        let trimmed = base_url.trim_end_matches('/');
        if url::Url::parse(trimmed).is_ok_and(|url| crate::transport::url_policy::is_salesloft_api_host(&url)) {
            return SALESLOFT_TOKEN_URL.to_string();
        }
        let root = trimmed.strip_suffix("/v2").unwrap_or(trimmed);
        format!("{root}/oauth/token")
    }

    /// The form fields of a token request that uses `refresh_token` (ignored for client credentials).
    pub(crate) fn form(&self, refresh_token: Option<&SecretString>) -> Result<Vec<(&'static str, String)>, Error> {
        let mut form = vec![
            ("client_id", self.client_id.clone()),
            ("client_secret", self.client_secret.expose_secret().to_string()),
        ];
        match &self.grant {
            OAuthGrant::RefreshToken => {
                let Some(refresh) = refresh_token else {
                    return Err(Error::Auth {
                        code: None,
                        message: "no refresh token in the token store: authorize the app first".into(),
                    });
                };
                form.push(("grant_type", "refresh_token".into()));
                form.push(("refresh_token", refresh.expose_secret().to_string()));
            }
            OAuthGrant::ClientCredentials { scope } => {
                form.push(("grant_type", "client_credentials".into()));
                if let Some(scope) = scope {
                    form.push(("scope", scope.clone()));
                }
            }
        }
        Ok(form)
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: Option<String>,
    error_description: Option<String>,
}

/// Reads a token-endpoint answer. `now` is the Unix time at receipt: expiry is `now + expires_in` (local
/// time, not the server's `created_at`, so clock skew between hosts cannot make a token look fresh).
/// `previous_refresh` is kept when a refresh answer carries no new refresh token. Public for the authorization-
/// code exchange of `slprod auth login`; errors never hold a token.
pub fn parse_token_response(
    status: http::StatusCode,
    body: &[u8],
    now: Duration,
    previous_refresh: Option<&SecretString>,
) -> Result<TokenSet, Error> {
    if !status.is_success() {
        let parsed = serde_json::from_slice::<OAuthErrorBody>(body).ok();
        // The description is the server's free text; it goes into logs and errors, so through the redactor.
        let redactor = crate::redact::Redactor::default();
        let code = parsed.as_ref().and_then(|b| b.error.as_deref()).map(|c| redactor.redact_text(c));
        let message = parsed
            .and_then(|b| b.error_description)
            .map(|d| redactor.redact_text(&d))
            .unwrap_or_else(|| format!("token endpoint answered {status}"));
        return Err(Error::Auth { code, message });
    }
    let response: TokenResponse = serde_json::from_slice(body).map_err(|e| Error::Auth {
        code: None,
        // serde_json's message can quote the offending value (a token of the wrong type): hide it.
        message: format!(
            "token endpoint answer is not a token response: {}",
            crate::redact::hide_quoted_values(&e.to_string())
        ),
    })?;
    if response.access_token.is_empty() {
        return Err(Error::Auth { code: None, message: "token endpoint returned an empty access token".into() });
    }
    let issued_at = now.as_secs();
    Ok(TokenSet {
        access_token: SecretString::from(response.access_token),
        refresh_token: response
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(SecretString::from)
            .or_else(|| previous_refresh.cloned()),
        expires_at: response.expires_in.map(|s| issued_at.saturating_add(s)),
        issued_at: Some(issued_at),
        scope: response.scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn token_url_table() {
        let table = [
            ("https://api.salesloft.com/v2", SALESLOFT_TOKEN_URL),
            ("http://127.0.0.1:4000/v2", "http://127.0.0.1:4000/oauth/token"),
            ("http://127.0.0.1:4000/v2/", "http://127.0.0.1:4000/oauth/token"),
            ("http://localhost:9", "http://localhost:9/oauth/token"),
            ("https://API.salesloft.com/v2", SALESLOFT_TOKEN_URL),
            // Look-alikes keep their own root (a `contains` match sent them to SalesLoft's token URL).
            ("https://api.salesloft.com.evil.example/v2", "https://api.salesloft.com.evil.example/oauth/token"),
            ("https://evil.example/api.salesloft.com/v2", "https://evil.example/api.salesloft.com/oauth/token"),
            ("https://xapi.salesloft.com/v2", "https://xapi.salesloft.com/oauth/token"),
        ];
        for (base, expected) in table {
            assert_eq!(OAuthConfig::token_url_for(base), expected, "{base}");
        }
    }

    #[test]
    fn responses_table() {
        let now = Duration::from_secs(1_000);
        let old = SecretString::from("old-refresh".to_string());
        let ok = parse_token_response(
            StatusCode::OK,
            br#"{"access_token":"a1","token_type":"bearer","expires_in":7200,"refresh_token":"r1","scope":"x","created_at":5}"#,
            now,
            Some(&old),
        )
        .expect("valid response");
        assert_eq!((ok.expires_at, ok.issued_at), (Some(8_200), Some(1_000)));
        assert_eq!(ok.refresh_token.as_ref().map(|r| r.expose_secret().to_string()), Some("r1".into()));

        let no_rotation =
            parse_token_response(StatusCode::OK, br#"{"access_token":"a2","expires_in":60}"#, now, Some(&old))
                .expect("valid response");
        assert_eq!(no_rotation.refresh_token.map(|r| r.expose_secret().to_string()), Some("old-refresh".into()));

        let table: [(StatusCode, &[u8], Option<&str>); 4] = [
            (
                StatusCode::BAD_REQUEST,
                br#"{"error":"invalid_grant","error_description":"revoked"}"#,
                Some("invalid_grant"),
            ),
            (StatusCode::UNAUTHORIZED, br#"{"error":"invalid_client"}"#, Some("invalid_client")),
            (StatusCode::BAD_GATEWAY, b"<html>oops</html>", None),
            (StatusCode::OK, br#"{"access_token":""}"#, None),
        ];
        let leaky: [&[u8]; 3] = [
            br#"{"access_token":"tok-123","refresh_token":98765432}"#,
            br#"{"access_token":{"v":"tok-123"}}"#,
            br#"{"access_token":"tok-123","expires_in":"tok-456"}"#,
        ];
        for body in leaky {
            let error = parse_token_response(StatusCode::OK, body, now, None).expect_err("malformed");
            let shown = format!("{error} {error:?}");
            for secret in ["tok-123", "tok-456", "98765432"] {
                assert!(!shown.contains(secret), "{secret} survived: {shown}");
            }
        }
        let described = parse_token_response(
            StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_grant","error_description":"refresh_token=r-9 revoked for Bearer tok-123"}"#,
            now,
            None,
        )
        .expect_err("an OAuth error");
        assert!(!described.to_string().contains("r-9") && !described.to_string().contains("tok-123"), "{described}");

        for (status, body, code) in table {
            match parse_token_response(status, body, now, None) {
                Err(Error::Auth { code: got, .. }) => assert_eq!(got.as_deref(), code, "{status}"),
                other => panic!("{status}: expected Error::Auth, got {other:?}"),
            }
        }
    }

    #[test]
    fn refresh_form_needs_a_refresh_token() {
        let config = OAuthConfig::new("http://x/oauth/token", "id", SecretString::from("s".to_string()));
        assert!(matches!(config.form(None), Err(Error::Auth { .. })));
        let refresh = SecretString::from("r".to_string());
        let form = config.form(Some(&refresh)).expect("form");
        assert!(
            form.contains(&("grant_type", "refresh_token".into())) && form.contains(&("refresh_token", "r".into()))
        );
        let cc = OAuthConfig { grant: OAuthGrant::ClientCredentials { scope: None }, ..config };
        assert!(cc.form(None).expect("form").contains(&("grant_type", "client_credentials".into())));
    }
}
