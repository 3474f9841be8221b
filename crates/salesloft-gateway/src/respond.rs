//! The gateway's own JSON answers (`{"error": …}`), as opposed to SalesLoft's answers the proxy passes on.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

/// `status` with `{"error": message}`, SalesLoft's singular error shape (FACTS.md §3).
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// `status` with `body`.
pub(crate) fn json(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// 401 for a missing or wrong token (the same answer for both, so a caller learns nothing more).
pub(crate) fn unauthorized() -> Response {
    let mut response = error(StatusCode::UNAUTHORIZED, "missing or invalid bearer token");
    response.headers_mut().insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
    response
}

/// 404 for a path the gateway does not serve.
pub(crate) async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not found")
}

/// The pause switch as JSON: `{"by", "reason", "since"}`, `since` in RFC 3339.
pub(crate) fn pause_info(info: &salesloft_store::PauseInfo) -> Value {
    serde_json::to_value(info).unwrap_or_else(|_| json!({"by": info.by, "reason": info.reason}))
}
