//! The innermost layer: one HTTP attempt with reqwest (rustls), with timeouts; the raw body is kept for
//! decoding, audit and error messages.
//!
//! Every client built here refuses to follow redirects (a redirect would carry the bearer token, or the token
//! endpoint's form with the client secret and refresh token, to a host nobody configured — see
//! [`super::url_policy`]) and reads response bodies as a stream capped at [`HttpConfig::max_body_bytes`], so a
//! runaway or hostile answer ends in [`Error::BodyTooLarge`] instead of exhausting memory.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, StatusCode};
use secrecy::{ExposeSecret, SecretString};

use super::request::ApiRequest;
use crate::Error;

/// The default cap on one response body: 16 MiB. A full page of 100 people is well under 1 MiB; anything near
/// the cap is not a SalesLoft answer we can use.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Timeouts and limits of one attempt.
#[derive(Debug, Clone, Copy)]
pub struct HttpConfig {
    /// Time allowed to establish a connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole attempt (connect, send, receive the body).
    pub request_timeout: Duration,
    /// The most bytes of one response body that are read (after decompression); a longer body fails the
    /// attempt with [`Error::BodyTooLarge`]. Default [`DEFAULT_MAX_BODY_BYTES`].
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// The answer to one attempt, whatever its status.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

/// Sends attempts to one base URL.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    base_url: String,
    max_body_bytes: usize,
}

impl HttpTransport {
    /// A transport for `base_url`, the API root including the version (e.g. `https://api.salesloft.com/v2`).
    /// Fails with [`Error::Construction`] for a malformed URL, or a plain `http://` one to a host that is not
    /// loopback ([`super::url_policy::require_secure_url`]).
    pub fn new(base_url: &str, config: HttpConfig) -> Result<Self, Error> {
        super::url_policy::require_secure_url(base_url, "base URL")?;
        if config.max_body_bytes == 0 {
            return Err(Error::Construction { reason: "max_body_bytes must be positive".into() });
        }
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // Never follow a redirect: the bearer (or the token form) would go where nobody configured it.
            // A 3xx is returned as it is and surfaces as an error.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("salesloft-prod/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Construction { reason: format!("HTTP client: {e}") })?;
        Ok(Self { client, base_url: base_url.trim_end_matches('/').to_string(), max_body_bytes: config.max_body_bytes })
    }

    /// The API root this transport talks to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The full URL of `request` (no query).
    pub fn url_for(&self, request: &ApiRequest) -> String {
        format!("{}/{}", self.base_url, request.path.trim_start_matches('/'))
    }

    /// Sends one attempt with `bearer` as the credential.
    pub async fn send(&self, request: &ApiRequest, bearer: &SecretString) -> Result<RawResponse, Error> {
        let mut builder = self
            .client
            .request(request.method.clone(), self.url_for(request))
            .bearer_auth(bearer.expose_secret())
            .header(http::header::ACCEPT, "application/json");
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some(raw) = &request.raw_body {
            builder = builder.header(http::header::CONTENT_TYPE, raw.content_type.as_str()).body(raw.bytes.clone());
        } else if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let response = builder.send().await.map_err(|e| dispatch_error(request.operation, &e))?;
        self.read(request.operation, response).await
    }

    /// Reads a response whose body is streamed and capped at `max_body_bytes`.
    async fn read(&self, operation: &str, response: reqwest::Response) -> Result<RawResponse, Error> {
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_capped(operation, status, response, self.max_body_bytes).await?;
        Ok(RawResponse { status, headers, body })
    }
}

/// Reads `response`'s body chunk by chunk and stops as soon as it exceeds `limit` bytes (a declared
/// `Content-Length` over the limit fails before anything is read). Memory use is bounded by `limit`, whatever
/// the server sends or claims.
async fn read_capped(
    operation: &str,
    status: StatusCode,
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, Error> {
    let too_large = || Error::BodyTooLarge { operation: operation.to_string(), status, limit };
    let declared = response.content_length();
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    let initial = declared.map_or(0, |len| len as usize).min(64 * 1024);
    let mut body = BytesMut::with_capacity(initial);
    while let Some(chunk) = response.chunk().await.map_err(|e| dispatch_error(operation, &e))? {
        if chunk.len() > limit - body.len() {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

impl HttpTransport {
    /// POSTs a form to an absolute URL (the OAuth token endpoint) with the same client, timeouts, body cap and
    /// redirect policy. The form holds secrets: it is never logged, and errors are described without the URL.
    /// The URL is checked like a base URL (https, or http to loopback) before anything is sent.
    pub async fn post_form(
        &self,
        operation: &str,
        url: &str,
        form: &[(&'static str, String)],
    ) -> Result<RawResponse, Error> {
        super::url_policy::require_secure_url(url, "OAuth token URL")?;
        let response = self
            .client
            .post(url)
            .header(http::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(|e| dispatch_error(operation, &e))?;
        self.read(operation, response).await
    }
}

/// Maps a reqwest failure to a typed error. The URL is stripped from the message (reqwest includes it, and a
/// query may carry an email address).
fn dispatch_error(operation: &str, error: &reqwest::Error) -> Error {
    if error.is_timeout() {
        return Error::Timeout { operation: operation.to_string() };
    }
    let message = error.without_url_ref().to_string();
    Error::Dispatch { operation: operation.to_string(), message, connect: error.is_connect() }
}

trait WithoutUrlRef {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrlRef for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "<url>");
        }
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}
