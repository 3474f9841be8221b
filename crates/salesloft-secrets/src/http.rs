//! The HTTP plumbing the REST backends share: one reqwest client (rustls, the workspace's TLS stack) with
//! bounded timeouts, and the mapping of transport failures to [`SecretError::Unreachable`].

use std::time::Duration;

use crate::SecretError;

/// Time to connect to a secret manager.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for one request to a secret manager, connection to last byte.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// A client with the timeouts above. Redirects are not followed: a token header must not be sent elsewhere.
pub(crate) fn client() -> Result<reqwest::Client, SecretError> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| SecretError::Config {
            location: "secrets".into(),
            detail: format!("cannot build the HTTP client: {e}"),
        })
}

/// A transport failure as [`SecretError::Unreachable`]; the URL is dropped from reqwest's text (it is
/// already in `location`, and a query string could hold anything).
pub(crate) fn unreachable(location: &str, error: &reqwest::Error) -> SecretError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut detail = kind.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        detail = format!("{detail}: {inner}");
        source = inner.source();
    }
    SecretError::Unreachable { location: location.to_string(), detail: crate::error::tidy(&detail) }
}
