//! OAuth scaffolding for the token tests: a grant minted by the simulator, token sets built from its answers,
//! the simulator's client credentials, a refresh as another process would make it, and a token store whose
//! saves can be made to fail.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use futures::future::BoxFuture;
use http::Method;
use salesloft_client::Error;
use salesloft_client::transport::auth::OAuthConfig;
use salesloft_client::transport::{FileTokenStore, TokenSet, TokenStore};
use salesloft_sim::RunningSim;
use secrecy::SecretString;
use serde_json::{Value, json};

/// The simulator's OAuth client id.
pub const CLIENT_ID: &str = "sim-client";
/// The simulator's OAuth client secret.
pub const CLIENT_SECRET: &str = "sim-secret";

/// Mints a grant for [`CLIENT_ID`] (`POST /__sim/tokens`), living `expires_in` seconds if given; the token
/// answer as JSON.
pub async fn mint(sim: &RunningSim, expires_in: Option<u64>) -> Value {
    let body = match expires_in {
        Some(seconds) => json!({"client_id": CLIENT_ID, "expires_in": seconds}),
        None => json!({"client_id": CLIENT_ID}),
    };
    super::control(sim, Method::POST, "tokens", body).await
}

/// Presents `refresh_token` to the simulator's token endpoint, as another process would.
pub async fn refresh(sim: &RunningSim, refresh_token: &str) -> reqwest::Response {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    let url = format!("{}/oauth/token", sim.root_url());
    reqwest::Client::new().post(&url).form(&form).send().await.expect("token call")
}

/// The token set of a token answer (`access_token`, `refresh_token`) with the given expiry and issue times.
pub fn token_set(answer: &Value, expires_at: Option<u64>, issued_at: Option<u64>) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(answer["access_token"].as_str().expect("access").to_string()),
        refresh_token: Some(SecretString::from(answer["refresh_token"].as_str().expect("refresh").to_string())),
        expires_at,
        issued_at,
        scope: None,
    }
}

/// The OAuth configuration of the simulator's client.
pub fn config(sim: &RunningSim) -> OAuthConfig {
    OAuthConfig::new(
        OAuthConfig::token_url_for(sim.base_url()),
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET.to_string()),
    )
}

/// A file store whose saves fail while `failing` is set; counts every save attempt.
#[derive(Debug)]
pub struct FlakyStore {
    /// The file underneath.
    pub file: FileTokenStore,
    /// Whether saves fail ("disk full").
    pub failing: AtomicBool,
    /// Save attempts so far.
    pub attempts: AtomicUsize,
}

impl FlakyStore {
    /// A store over `file` whose saves fail until told otherwise.
    pub fn failing(file: FileTokenStore) -> Self {
        Self { file, failing: AtomicBool::new(true), attempts: AtomicUsize::new(0) }
    }
}

impl TokenStore for FlakyStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenSet>, Error>> {
        self.file.load()
    }

    fn save<'a>(&'a self, tokens: &'a TokenSet) -> BoxFuture<'a, Result<(), Error>> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Box::pin(async { Err(Error::token_store("disk full")) });
        }
        self.file.save(tokens)
    }
}
