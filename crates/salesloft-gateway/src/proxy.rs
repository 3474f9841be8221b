//! The proxy: `/v2/...` with SalesLoft's own paths, query strings and bodies, forwarded through the client
//! pipeline (telemetry, retry, breaker, rate budget, auth).
//!
//! - Callers present `Authorization: Bearer <internal token>` (constant-time check, [`crate::auth`]); the
//!   admin token is not accepted here. The caller's `Authorization` is never forwarded: the pipeline puts
//!   SalesLoft's credential on the outgoing request, so it never leaves the gateway.
//! - The answer is SalesLoft's: status, body, `content-type`, `retry-after` and the `x-ratelimit-*` headers
//!   (FACTS.md §2.3). When the pipeline gives up without an answer to pass on (breaker open, retries spent on
//!   429/5xx, transport failure), the gateway answers in SalesLoft's error shape `{"error": …}` (FACTS.md §3)
//!   with the last status, 503 for an open breaker, 502/504 for transport failures.
//! - A mutation (any method but GET, HEAD, OPTIONS) is refused with 503 and a JSON reason while the store's
//!   pause switch is on, and is then not sent; an unreadable switch refuses too (fail closed). Reads pass.
//! - Every mutation that was sent gets an audit record (store audit chain): caller (which internal token),
//!   operation, path, redacted query and body, SalesLoft's status, `Idempotency-Key` and `X-Request-Id`.
//! - A POST is not retried by the pipeline (SalesLoft has no idempotency header, FACTS.md §5.2); GET, PUT
//!   and DELETE are, as the pipeline's classifier decides.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use salesloft_client::Error;
use salesloft_client::redact::Redactor;
use salesloft_client::transport::{ApiRequest, ApiResponse};
use salesloft_store::AuditEntry;
use serde_json::{Value, json};

use crate::Shared;
use crate::metrics::{AUDIT_FAILURES_TOTAL, PAUSED_REFUSALS_TOTAL};
use crate::respond;

/// The operation label proxied calls carry in the client's metrics and spans.
pub const OPERATION: &str = "gateway.proxy";

/// True for methods that change something at SalesLoft (everything but GET, HEAD, OPTIONS).
pub fn is_mutation(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The path under the API root (`/v2/people/42` → `people/42`), or `None` for a path that could leave it: a
/// `.` or `..` segment (also percent-encoded) would be normalised away by the URL parser and reach, say,
/// `/oauth/token` on SalesLoft's host.
pub fn upstream_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v2/")?;
    let escapes = rest.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    });
    (!rest.is_empty() && !escapes).then_some(rest)
}

/// `/v2/{*path}`, any method.
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match crate::auth::bearer(&headers).map(|token| shared.config.internal_tokens.position(token)) {
        Some(Some(index)) => format!("internal-token-{index}"),
        _ if shared.config.insecure_dev && shared.config.internal_tokens.is_empty() => "insecure-dev".to_string(),
        _ => return respond::unauthorized(),
    };
    let Some(path) = upstream_path(uri.path()) else {
        return respond::error(StatusCode::BAD_REQUEST, "the path must stay under /v2/ (no . or .. segments)");
    };
    let query: Vec<(String, String)> = match serde_urlencoded::from_str(uri.query().unwrap_or("")) {
        Ok(query) => query,
        Err(_) => return respond::error(StatusCode::BAD_REQUEST, "the query string is not valid form encoding"),
    };
    let mutation = is_mutation(&method);
    if mutation {
        match shared.store.pause().paused().await {
            Ok(None) => {}
            Ok(Some(info)) => {
                metrics::counter!(PAUSED_REFUSALS_TOTAL).increment(1);
                return respond::json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({
                        "error": "paused: mutations are not sent to SalesLoft",
                        "paused": respond::pause_info(&info),
                    }),
                );
            }
            Err(error) => {
                tracing::error!(%error, "cannot read the pause switch; refusing the mutation");
                return respond::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the pause switch cannot be read; mutations are refused until it can",
                );
            }
        }
    }

    let mut request = ApiRequest::new(OPERATION, method.clone(), path).answer_any_status();
    request.query = query;
    if !body.is_empty() {
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_string();
        request = request.raw_body(content_type, body.clone());
    }
    let audit_query = request.query.clone();
    let result = shared.pipeline.execute(request).await;

    if mutation {
        let status = match &result {
            Ok(answer) => Some(answer.status.as_u16()),
            Err(error) => error.status().map(|s| s.as_u16()),
        };
        let sent = Sent { caller: &caller, method: &method, path, query: &audit_query, body: &body, headers: &headers };
        audit(&shared, &sent, status).await;
    }
    match result {
        Ok(answer) => pass_on(answer),
        Err(error) => from_error(&error),
    }
}

/// SalesLoft's answer as it came: status, body and the headers a caller needs.
fn pass_on(answer: ApiResponse) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = answer.status;
    for (name, value) in &answer.headers {
        let name_str = name.as_str();
        if name_str.starts_with("x-ratelimit-") || name_str == "content-type" || name_str == "retry-after" {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
}

/// The pipeline gave up without an answer to pass on.
pub(crate) fn from_error(error: &Error) -> Response {
    let (status, retry_after) = match error {
        Error::CircuitOpen { retry_in, .. } => (StatusCode::SERVICE_UNAVAILABLE, Some(*retry_in)),
        Error::RateLimited { retry_after, .. } => (StatusCode::TOO_MANY_REQUESTS, *retry_after),
        Error::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, None),
        other => (other.status().unwrap_or(StatusCode::BAD_GATEWAY), None),
    };
    // The client's errors are redacted and never carry a token (salesloft_client::error).
    let mut response = respond::error(status, error.to_string());
    if let Some(wait) = retry_after {
        let secs = wait.as_secs().max(1).to_string();
        if let Ok(value) = HeaderValue::from_str(&secs) {
            response.headers_mut().insert(http::header::RETRY_AFTER, value);
        }
    }
    response
}

/// A proxied mutation as it was sent, for its audit record.
#[derive(Clone, Copy)]
struct Sent<'a> {
    /// `internal-token-N` (which token of the rotation) or `insecure-dev`.
    caller: &'a str,
    method: &'a Method,
    /// Under the API root, e.g. `people/42`.
    path: &'a str,
    query: &'a [(String, String)],
    body: &'a Bytes,
    headers: &'a HeaderMap,
}

/// Appends the audit record of one mutation that was sent (or may have been). A failure is logged and
/// counted; SalesLoft's answer still goes back, since the mutation happened.
async fn audit(shared: &Shared, sent: &Sent<'_>, status: Option<u16>) {
    let Sent { caller, method, path, query, body, headers } = *sent;
    let redactor = Redactor::default();
    let body_value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => redactor.redact_json(&value),
            Err(_) => json!({"non_json_bytes": body.len()}),
        }
    };
    let query: serde_json::Map<String, Value> =
        redactor.redact_query(query).into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let entry = AuditEntry {
        actor: caller.to_string(),
        operation: format!("proxy.{method}"),
        resource: format!("/v2/{}", redactor.redact_text(path)),
        request: json!({"query": query, "body": body_value}),
        response_status: status,
        idempotency_key: header("idempotency-key"),
        correlation_id: header("x-request-id"),
    };
    if let Err(error) = shared.store.audit().append(&entry).await {
        metrics::counter!(AUDIT_FAILURES_TOTAL).increment(1);
        tracing::error!(%error, operation = %entry.operation, "the audit record of a proxied mutation was not written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_under_the_api_root() {
        assert_eq!(upstream_path("/v2/people/42.json"), Some("people/42.json"));
        assert_eq!(upstream_path("/v2/people"), Some("people"));
        for escaping in ["/v2/../oauth/token", "/v2/people/%2E%2e/x", "/v2/./me", "/v2/", "/other", "/v2"] {
            assert_eq!(upstream_path(escaping), None, "{escaping}");
        }
    }

    #[test]
    fn only_reads_are_not_mutations() {
        assert!(!is_mutation(&Method::GET) && !is_mutation(&Method::HEAD) && !is_mutation(&Method::OPTIONS));
        assert!(is_mutation(&Method::POST) && is_mutation(&Method::PUT) && is_mutation(&Method::DELETE));
        assert!(is_mutation(&Method::PATCH));
    }
}
