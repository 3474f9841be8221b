//! Where credentials may be sent: the checks every URL the library sends a bearer token or client secret to
//! must pass before a client is built.
//!
//! - **HTTPS only, except loopback.** A bearer token (API key or OAuth access token, FACTS.md §1.2) or the
//!   token endpoint's form (client secret and single-use refresh token, FACTS.md §1.3) sent over plain HTTP
//!   can be read by anyone on the path. Plain `http://` is accepted only for loopback hosts (`127.0.0.0/8`,
//!   `::1`, `localhost`), where the simulator and test fakes run.
//! - **No redirects** are followed (see [`super::http`]): a redirect would carry the request (and, for a 307/308
//!   of the token call, the form with the client secret) to a host nobody configured.
//! - **Exact hosts.** [`is_salesloft_api_host`] compares the whole host name, so a look-alike such as
//!   `api.salesloft.com.evil.example` is not treated as SalesLoft's (the OAuth token URL derived from it stays
//!   on that host; see [`super::auth::OAuthConfig::token_url_for`]).

use std::net::IpAddr;

use url::{Host, Url};

use crate::Error;

/// The host of SalesLoft's REST API (FACTS.md §1.1).
pub const SALESLOFT_API_HOST: &str = "api.salesloft.com";

/// Parses `url` and checks that credentials may be sent to it: `https`, or `http` to a loopback host.
/// `what` names the URL in the error (`"base URL"`, `"OAuth token URL"`).
///
/// ```
/// use salesloft_client::transport::url_policy::require_secure_url;
/// assert!(require_secure_url("https://api.salesloft.com/v2", "base URL").is_ok());
/// assert!(require_secure_url("http://127.0.0.1:4545/v2", "base URL").is_ok());
/// assert!(require_secure_url("http://api.salesloft.com/v2", "base URL").is_err());
/// ```
pub fn require_secure_url(url: &str, what: &str) -> Result<Url, Error> {
    // The URL itself is not echoed: a user may have pasted credentials into it (`https://user:pw@host`).
    let parsed = Url::parse(url).map_err(|e| Error::Construction { reason: format!("invalid {what}: {e}") })?;
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&parsed) => {}
        "http" => {
            return Err(Error::Construction {
                reason: format!(
                    "{what} uses plain http:// to {}; credentials are only sent over https:// (http:// is \
                     allowed for loopback hosts: 127.0.0.0/8, ::1, localhost)",
                    parsed.host_str().unwrap_or("<no host>")
                ),
            });
        }
        other => {
            return Err(Error::Construction { reason: format!("{what} must be https:// (got a {other}: URL)") });
        }
    }
    if parsed.host().is_none() {
        return Err(Error::Construction { reason: format!("{what} has no host") });
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Construction {
            reason: format!("{what} must not carry a user name or password; pass credentials separately"),
        });
    }
    Ok(parsed)
}

/// True when `url`'s host is a loopback address: `127.0.0.0/8`, `::1`, or the name `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        // `Url` lower-cases domain names.
        Some(Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

/// True when `url` is SalesLoft's API host exactly (`https://api.salesloft.com`, any path). A host that merely
/// contains or starts with that name (`api.salesloft.com.evil.example`, `evil-api.salesloft.com`) is not.
pub fn is_salesloft_api_host(url: &Url) -> bool {
    // `Url` lower-cases the host and drops a trailing default port, so an exact comparison is enough. A
    // trailing dot (fully-qualified form) names the same host.
    url.scheme() == "https"
        && url.port().is_none()
        && matches!(url.host(), Some(Host::Domain(name)) if name.trim_end_matches('.') == SALESLOFT_API_HOST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_url_table() {
        let table = [
            ("https://api.salesloft.com/v2", true),
            ("https://example.test/v2", true),
            ("http://127.0.0.1:4545/v2", true),
            ("http://127.9.8.7/v2", true),
            ("http://[::1]:80/v2", true),
            ("http://localhost:9/v2", true),
            ("http://LOCALHOST/v2", true),
            ("http://api.salesloft.com/v2", false),
            ("http://10.0.0.1/v2", false),
            ("http://128.0.0.1/v2", false),
            ("http://localhost.evil.example/v2", false),
            ("http://127.0.0.1.evil.example/v2", false),
            ("http://[::2]/v2", false),
            ("ftp://127.0.0.1/v2", false),
            ("https://user:pw@api.salesloft.com/v2", false),
            ("not a url", false),
        ];
        for (url, ok) in table {
            let got = require_secure_url(url, "base URL");
            assert_eq!(got.is_ok(), ok, "{url}: expected ok={ok}, got {got:?}");
            if let Err(error) = got {
                assert!(matches!(error, Error::Construction { .. }), "{url}: {error:?}");
                assert!(!error.to_string().contains("pw"), "{url}: the error echoes a password: {error}");
            }
        }
    }

    #[test]
    fn salesloft_host_is_matched_exactly() {
        let table = [
            ("https://api.salesloft.com/v2", true),
            ("https://API.SalesLoft.com/v2", true),
            ("https://api.salesloft.com:443/v2", true),
            ("https://api.salesloft.com./v2", true),
            ("https://api.salesloft.com.evil.example/v2", false),
            ("https://evil.example/api.salesloft.com/v2", false),
            ("https://evilapi.salesloft.com/v2", false),
            ("https://api.salesloft.com:8443/v2", false),
            ("http://api.salesloft.com/v2", false),
        ];
        for (url, expected) in table {
            let parsed = Url::parse(url).expect("url");
            assert_eq!(is_salesloft_api_host(&parsed), expected, "{url}");
        }
    }
}
