//! `slprod auth login` and `slprod auth status`: put an OAuth token set into its secret once, and show what
//! the secret holds — its expiry and where it lives, never a token.
//!
//! `login` runs the authorization-code flow (FACTS.md §1.2): it prints the authorize URL, takes the code (from
//! `--code`, or pasted on standard input — the code itself or the whole redirect URL), exchanges it at the
//! token endpoint and writes the set to `--oauth-tokens-ref` with a compare-and-set, creating the secret when
//! it is missing. The client id and secret come from the same flags, variables and file keys as `pull`'s.

use std::sync::Arc;

use clap::{Args, Subcommand};
use salesloft_client::transport::OAuthConfig;
use salesloft_client::transport::auth::oauth::parse_token_response;
use salesloft_secrets::{Secret, SecretError, decode_tokens, encode_tokens};
use secrecy::ExposeSecret;
use serde_json::json;

use super::Context;
use crate::config::SecretRef;
use crate::connect::ConnectArgs;
use crate::error::{CliError, Outcome, Status};

/// `slprod auth …`.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuthCommand,
}

/// The `auth` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Run the OAuth authorization-code flow once and store the tokens in --oauth-tokens-ref.
    Login(LoginArgs),
    /// Show the stored tokens' expiry and source (never their values).
    Status(StatusArgs),
}

/// Arguments of `slprod auth login`. `Debug` shows no secret.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Client id and secret, API root and token URL, and where the tokens go (--oauth-tokens-ref).
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The authorization code (or the whole redirect URL); without it the command prompts for it.
    #[arg(long)]
    pub code: Option<String>,
    /// The redirect URI registered for the app (sent with the code, as the token endpoint requires).
    #[arg(long, env = "SALESLOFT_OAUTH_REDIRECT_URI")]
    pub redirect_uri: String,
}

/// Arguments of `slprod auth status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Where the tokens are (--oauth-tokens-ref, or salesloft.oauth_tokens_ref).
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Runs an `auth` subcommand.
pub async fn run(args: AuthArgs, context: &Context) -> Result<Outcome, CliError> {
    match args.command {
        AuthCommand::Login(login_args) => login(login_args, context).await,
        AuthCommand::Status(status_args) => status(status_args, context).await,
    }
}

/// The code in `input`: the value of a `code=` query parameter when it is a URL, else the trimmed text.
fn code_of(input: &str) -> Option<String> {
    let input = input.trim();
    if let Ok(url) = url::Url::parse(input)
        && url.has_host()
    {
        return url.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.to_string()).filter(|c| !c.is_empty());
    }
    (!input.is_empty()).then(|| input.to_string())
}

/// The authorize URL beside a token URL (`…/oauth/token` → `…/oauth/authorize`).
fn authorize_url(token_url: &str, client_id: &str, redirect_uri: &str) -> String {
    let base = match token_url.strip_suffix("/token") {
        Some(root) => format!("{root}/authorize"),
        None => "https://accounts.salesloft.com/oauth/authorize".to_string(),
    };
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .finish();
    format!("{base}?{query}")
}

fn secret_error(error: SecretError) -> CliError {
    CliError::Secret(error)
}

/// The secret behind `reference`.
fn open(reference: &SecretRef) -> Result<Secret, CliError> {
    let parsed = reference
        .to_secrets_ref()
        .map_err(|message| crate::config::ConfigError::Secret { key: "--oauth-tokens-ref".into(), message })?;
    Secret::open(parsed).map_err(secret_error)
}

async fn login(args: LoginArgs, context: &Context) -> Result<Outcome, CliError> {
    let config = &context.config;
    let reference = args.connect.tokens_ref(config)?.ok_or_else(|| {
        CliError::Input("auth login needs --oauth-tokens-ref REF (or salesloft.oauth_tokens_ref)".into())
    })?;
    let oauth: OAuthConfig = args.connect.oauth_config(config)?;
    let code = match &args.code {
        Some(given) => code_of(given).ok_or_else(|| CliError::Input("--code is empty".into()))?,
        None => {
            eprintln!("Open this URL, approve the app, then paste the code (or the whole redirect URL):");
            eprintln!("{}", authorize_url(&oauth.token_url, &oauth.client_id, &args.redirect_uri));
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| CliError::Input(format!("cannot read the code from standard input: {e}")))?;
            code_of(&line).ok_or_else(|| CliError::Input("no code was entered".into()))?
        }
    };
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", args.redirect_uri.as_str()),
        ("client_id", oauth.client_id.as_str()),
        ("client_secret", oauth.client_secret.expose_secret()),
    ];
    let response = reqwest::Client::new()
        .post(&oauth.token_url)
        .form(&form)
        .send()
        .await
        .map_err(|e| CliError::Connect(format!("the token endpoint {} is unreachable: {e}", oauth.token_url)))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| CliError::Connect(format!("reading the token answer: {e}")))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let tokens = parse_token_response(status, &body, now, None)
        .map_err(|e| CliError::Connect(format!("the authorization code was refused: {e}")))?;

    let secret = Arc::new(open(&reference)?);
    let locker = crate::connect::flock_for(&reference);
    let _lock = locker.lock().await.map_err(|e| CliError::Connect(e.to_string()))?;
    let value = encode_tokens(&tokens);
    // Created when missing; written over whatever the secret held (a login replaces the grant), with one
    // re-read should another writer slip in between.
    let mut stored = None;
    for _ in 0..3 {
        let read = secret.snapshot().await.map_err(secret_error)?;
        match secret.compare_and_set(&value, &read).await {
            Ok(snapshot) => {
                stored = Some(snapshot);
                break;
            }
            Err(SecretError::Conflict { .. }) => continue,
            Err(other) => return Err(secret_error(other)),
        }
    }
    let stored = stored.ok_or_else(|| secret_error(SecretError::Conflict { location: reference.to_string() }))?;
    let expires = tokens.expires_at.map(format_unix);
    Ok(Outcome::new(
        Status::Done,
        json!({"stored": reference.to_string(), "expires_at": expires, "version": stored.version.map(|v| v.0),
               "refresh_token": tokens.refresh_token.is_some()}),
        format!(
            "stored the OAuth tokens in {reference} (access token expires {})\n",
            expires.as_deref().unwrap_or("never")
        ),
    ))
}

async fn status(args: StatusArgs, context: &Context) -> Result<Outcome, CliError> {
    let config = &context.config;
    let reference = args.connect.tokens_ref(config)?.ok_or_else(|| {
        CliError::Input("auth status needs --oauth-tokens-ref REF (or salesloft.oauth_tokens_ref)".into())
    })?;
    let secret = open(&reference)?;
    let snapshot = secret.snapshot().await.map_err(secret_error)?;
    let Some(value) = snapshot.value else {
        return Ok(Outcome::new(
            Status::Problems,
            json!({"source": reference.to_string(), "stored": false}),
            format!("no OAuth tokens in {reference}: run `slprod auth login --oauth-tokens-ref {reference}`\n"),
        ));
    };
    let tokens = decode_tokens(&value, &reference.to_string()).map_err(secret_error)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let left = tokens.expires_at.map(|at| i64::try_from(at).unwrap_or(i64::MAX) - i64::try_from(now).unwrap_or(0));
    let expired = left.is_some_and(|l| l <= 0);
    let expires = tokens.expires_at.map(format_unix);
    let text = match (&expires, left) {
        (Some(at), Some(left)) if left > 0 => {
            format!("OAuth tokens in {reference}: access token expires {at} (in {left} s)")
        }
        (Some(at), _) => format!("OAuth tokens in {reference}: access token expired at {at} (refreshed on next use)"),
        _ => format!("OAuth tokens in {reference}: no expiry recorded"),
    };
    let refresh = if tokens.refresh_token.is_some() { "a refresh token is stored" } else { "no refresh token" };
    Ok(Outcome::new(
        Status::Done,
        json!({
            "source": reference.to_string(),
            "stored": true,
            "expires_at": expires,
            "expires_in_secs": left,
            "expired": expired,
            "refresh_token": tokens.refresh_token.is_some(),
            "scope": tokens.scope,
            "version": snapshot.version.map(|v| v.0),
        }),
        format!("{text}; {refresh}\n"),
    ))
}

fn format_unix(seconds: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(seconds).unwrap_or(i64::MAX))
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| seconds.to_string())
}

/// For the tests of this module: a reference as the configuration would hold it.
#[cfg(test)]
fn parse_ref(text: &str) -> SecretRef {
    SecretRef::try_from(text.to_string()).expect("reference")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_come_from_urls_or_plain_text() {
        assert_eq!(code_of("  abc123\n").as_deref(), Some("abc123"));
        assert_eq!(code_of("https://app.example/cb?code=xyz&context=1").as_deref(), Some("xyz"));
        assert_eq!(code_of("https://app.example/cb?error=denied"), None);
        assert_eq!(code_of("   "), None);
        let url = authorize_url("http://127.0.0.1:9/oauth/token", "cid", "https://app.example/cb");
        assert_eq!(
            url,
            "http://127.0.0.1:9/oauth/authorize?client_id=cid&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code"
        );
        assert_eq!(parse_ref("vault:secret/x#t").to_string(), "vault:secret/x#t");
    }
}
