//! The pipeline that executes an [`ApiRequest`]: today the HTTP layer with a static bearer credential and
//! SalesLoft's error mapping; the resilience layers wrap [`Pipeline::execute`] (see the module docs of
//! [`crate::transport`]).

use http::StatusCode;
use secrecy::SecretString;

use super::http::{HttpConfig, HttpTransport, RawResponse};
use super::request::{ApiRequest, ApiResponse, RateLimitInfo};
use crate::error::{Error, FieldErrors, ValidationError};

/// Executes requests against one SalesLoft API root. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct Pipeline {
    http: HttpTransport,
    bearer: SecretString,
}

impl Pipeline {
    /// A pipeline for `base_url` using `api_key` as the bearer credential.
    pub fn with_api_key(base_url: &str, api_key: SecretString) -> Result<Self, Error> {
        Ok(Self { http: HttpTransport::new(base_url, HttpConfig::default())?, bearer: api_key })
    }

    /// The API root.
    pub fn base_url(&self) -> &str {
        self.http.base_url()
    }

    /// Sends `request` and returns its 2xx answer, or the typed error for anything else.
    pub async fn execute(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        let raw = self.http.send(&request, &self.bearer).await?;
        into_result(request.operation, raw, 1)
    }
}

/// Turns one raw answer into a success or SalesLoft's typed error (FACTS.md §3: singular `error` on
/// 401/403/404, an `errors` field map on 422).
pub fn into_result(operation: &str, raw: RawResponse, attempts: u32) -> Result<ApiResponse, Error> {
    let rate = RateLimitInfo::from_headers(&raw.headers);
    if raw.status.is_success() {
        return Ok(ApiResponse { status: raw.status, headers: raw.headers, body: raw.body, rate, attempts });
    }
    let (message, errors) = parse_error_body(&raw.body);
    let operation = operation.to_string();
    Err(match raw.status {
        StatusCode::UNPROCESSABLE_ENTITY => {
            Error::Validation { operation, error: ValidationError { errors, message } }
        }
        StatusCode::UNAUTHORIZED => {
            Error::Unauthorized { operation, message: message.unwrap_or_else(|| "unauthorized".into()) }
        }
        StatusCode::TOO_MANY_REQUESTS => {
            Error::RateLimited { operation, retry_after: super::retry_after(&raw.headers) }
        }
        status => Error::Api {
            operation,
            status,
            message: message.unwrap_or_else(|| excerpt(&raw.body)),
            errors,
        },
    })
}

/// Reads `{"error": "..."}` and/or `{"errors": {field: [..]}}`; anything else yields nothing.
fn parse_error_body(body: &[u8]) -> (Option<String>, FieldErrors) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, FieldErrors::new());
    };
    let message = value.get("error").and_then(|v| v.as_str()).map(str::to_string);
    let mut errors = FieldErrors::new();
    if let Some(map) = value.get("errors").and_then(|v| v.as_object()) {
        for (field, messages) in map {
            let list = match messages {
                serde_json::Value::Array(items) => {
                    items.iter().map(|m| m.as_str().map(str::to_string).unwrap_or_else(|| m.to_string())).collect()
                }
                serde_json::Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            };
            errors.insert(field.clone(), list);
        }
    }
    (message, errors)
}

/// The first 200 characters of a body, for errors whose body is not SalesLoft's JSON.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}
