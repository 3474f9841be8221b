//! The request and response values that travel through the pipeline.
//!
//! Endpoint code (`crate::api`) builds an [`ApiRequest`] and hands it to
//! [`Pipeline::execute`](super::Pipeline::execute); every layer (telemetry, breaker, retry, rate budget, auth,
//! HTTP) sees the same value, so an attempt can be repeated with a fresh token or after a wait.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

/// The cost SalesLoft charges for a list request, by the `page` it asks for (FACTS.md §2.2, "Page # / Total
/// Cost": 1–100 → 1, 101–150 → 3, 151–250 → 8, 251–500 → 10, 501+ → 30). SalesLoft may change these, so
/// the rate budget corrects its estimate from `x-ratelimit-endpoint-cost` on every response.
pub fn page_cost(page: u64) -> u32 {
    match page {
        0..=100 => 1,
        101..=150 => 3,
        151..=250 => 8,
        251..=500 => 10,
        _ => 30,
    }
}

/// A key that makes a mutation safe to retry: the same key means the same logical operation.
///
/// SalesLoft has no idempotency header (FACTS.md §5.2), so the key is honoured on our side: a POST is retried
/// by the pipeline only when it carries one, because the caller (the upsert, the ledger) has arranged that a
/// repeat cannot create a duplicate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Wraps a caller-chosen key; rejects an empty key or one longer than 255 characters.
    pub fn new(key: impl Into<String>) -> Result<Self, crate::Error> {
        let key = key.into();
        if key.is_empty() || key.len() > 255 {
            return Err(crate::Error::Construction {
                reason: format!("an idempotency key must be 1–255 characters, got {}", key.len()),
            });
        }
        Ok(Self(key))
    }

    /// A fresh random (UUID v4) key.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One logical call to SalesLoft.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// A stable operation name used as the metric/span label, e.g. `people.list`, `people.create`.
    pub operation: &'static str,
    /// HTTP method.
    pub method: Method,
    /// Path relative to the base URL, without a leading slash or `.json` suffix, e.g. `people/42`.
    pub path: String,
    /// Query pairs in order (array filters repeat their key: `email_addresses[]`).
    pub query: Vec<(String, String)>,
    /// JSON body for POST/PUT.
    pub body: Option<serde_json::Value>,
    /// Present when a repeat of this request is known to be safe (see [`IdempotencyKey`]).
    pub idempotency_key: Option<IdempotencyKey>,
    /// A body sent byte for byte instead of [`ApiRequest::body`] (a proxy forwarding its caller's body).
    pub raw_body: Option<RawBody>,
    /// When true, an answer the retry policy will not repeat is returned as an [`ApiResponse`] whatever its
    /// status (4xx included), so a proxy can hand SalesLoft's status, headers and body back as they came. An
    /// answer that is retried and stays failing still ends in the typed [`crate::Error`].
    pub any_status: bool,
}

/// A request body kept as bytes, with its content type.
#[derive(Debug, Clone)]
pub struct RawBody {
    /// The `Content-Type` to send (`application/json` when the caller gave none).
    pub content_type: String,
    /// The bytes.
    pub bytes: Bytes,
}

impl ApiRequest {
    /// A request with no query, body or key.
    pub fn new(operation: &'static str, method: Method, path: impl Into<String>) -> Self {
        Self {
            operation,
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            idempotency_key: None,
            raw_body: None,
            any_status: false,
        }
    }

    /// Sends `bytes` as the body, byte for byte, with `content_type` (instead of a JSON value).
    pub fn raw_body(mut self, content_type: impl Into<String>, bytes: Bytes) -> Self {
        self.raw_body = Some(RawBody { content_type: content_type.into(), bytes });
        self
    }

    /// Returns every final answer as an [`ApiResponse`], whatever its status (see [`ApiRequest::any_status`]).
    pub fn answer_any_status(mut self) -> Self {
        self.any_status = true;
        self
    }

    /// Adds a query pair.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Sets the JSON body.
    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Marks the request as safe to repeat.
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// The `page` this request asks for (1 when absent or unparsable).
    pub fn page(&self) -> u64 {
        self.query.iter().find(|(k, _)| k == "page").and_then(|(_, v)| v.parse().ok()).unwrap_or(1)
    }

    /// The cost SalesLoft is expected to charge for this request (see [`page_cost`]).
    pub fn expected_cost(&self) -> u32 {
        page_cost(self.page())
    }

    /// True for methods that are safe to repeat without a key (GET, HEAD, PUT, DELETE are idempotent by
    /// HTTP semantics; SalesLoft's DELETE is documented idempotent — FACTS.md §3).
    pub fn is_idempotent(&self) -> bool {
        self.idempotency_key.is_some() || self.method != Method::POST
    }
}

/// SalesLoft's rate-limit headers as read from one response (FACTS.md §2.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitInfo {
    /// `x-ratelimit-endpoint-cost`: what this request cost.
    pub endpoint_cost: Option<u32>,
    /// `x-ratelimit-remaining-minute`: what is left of the team's budget this minute.
    pub remaining_minute: Option<u32>,
}

impl RateLimitInfo {
    /// Reads the two headers; absent or malformed values are `None`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let read = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
        Self {
            endpoint_cost: read("x-ratelimit-endpoint-cost"),
            remaining_minute: read("x-ratelimit-remaining-minute"),
        }
    }
}

/// A successful (2xx) answer — or any final answer when the request set [`ApiRequest::any_status`] — body kept
/// raw for decoding, audit and errors.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Bytes,
    /// The rate-limit headers of this response.
    pub rate: RateLimitInfo,
    /// Attempts it took (1 when the first one succeeded).
    pub attempts: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_costs_follow_the_published_table() {
        let table =
            [(1, 1), (100, 1), (101, 3), (150, 3), (151, 8), (250, 8), (251, 10), (500, 10), (501, 30), (10_000, 30)];
        for (page, cost) in table {
            assert_eq!(page_cost(page), cost, "page {page}");
        }
    }

    #[test]
    fn post_without_key_is_not_idempotent() {
        let post = ApiRequest::new("people.create", Method::POST, "people");
        assert!(!post.is_idempotent());
        assert!(post.clone().idempotency_key(IdempotencyKey::random()).is_idempotent());
        assert!(ApiRequest::new("people.get", Method::GET, "people/1").is_idempotent());
    }

    #[test]
    fn rate_headers_are_read_leniently() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-endpoint-cost", "3".parse().unwrap());
        headers.insert("x-ratelimit-remaining-minute", "garbage".parse().unwrap());
        let info = RateLimitInfo::from_headers(&headers);
        assert_eq!(info.endpoint_cost, Some(3));
        assert_eq!(info.remaining_minute, None);
    }
}
