//! The innermost layer: one HTTP attempt with reqwest (rustls), with timeouts; the raw body is kept for
//! decoding, audit and error messages.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use secrecy::{ExposeSecret, SecretString};

use super::request::ApiRequest;
use crate::Error;

/// Timeouts of one attempt.
#[derive(Debug, Clone, Copy)]
pub struct HttpConfig {
    /// Time allowed to establish a connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole attempt (connect, send, receive the body).
    pub request_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { connect_timeout: Duration::from_secs(10), request_timeout: Duration::from_secs(30) }
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
}

impl HttpTransport {
    /// A transport for `base_url`, the API root including the version (e.g. `https://api.salesloft.com/v2`).
    pub fn new(base_url: &str, config: HttpConfig) -> Result<Self, Error> {
        let parsed = url::Url::parse(base_url)
            .map_err(|e| Error::Construction { reason: format!("invalid base URL {base_url:?}: {e}") })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Construction { reason: format!("base URL must be http or https: {base_url:?}") });
        }
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("salesloft-prod/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Construction { reason: format!("HTTP client: {e}") })?;
        Ok(Self { client, base_url: base_url.trim_end_matches('/').to_string() })
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
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let response = builder.send().await.map_err(|e| dispatch_error(request.operation, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| dispatch_error(request.operation, &e))?;
        Ok(RawResponse { status, headers, body })
    }
}

impl HttpTransport {
    /// POSTs a form to an absolute URL (the OAuth token endpoint) with the same client and timeouts. The form
    /// holds secrets: it is never logged, and errors are described without the URL's query.
    pub async fn post_form(&self, url: &str, form: &[(&'static str, String)]) -> Result<RawResponse, reqwest::Error> {
        let response = self.client.post(url).header(http::header::ACCEPT, "application/json").form(form).send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        Ok(RawResponse { status, headers, body })
    }
}

/// A reqwest error's description with its URL removed and its causes appended.
pub(crate) fn describe(error: &reqwest::Error) -> String {
    error.without_url_ref()
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
