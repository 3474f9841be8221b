//! Error bodies in SalesLoft's two shapes (FACTS.md §3): a singular `{"error": "..."}` for 401/403/404/429
//! and a field map `{"errors": {"field": ["message", …]}}` for 422.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::json::{ObjectWriter, push_str};

/// Why an API request failed, rendered as SalesLoft renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 404 `{"error":"Not Found"}` (unknown route or record; FACTS.md §10.1, text unconfirmed).
    NotFound,
    /// 422 `{"errors":{field:[messages]}}`, fields in insertion order.
    Validation(Vec<(String, Vec<String>)>),
    /// 422 with a singular `{"error": …}` (a refused scoped field, FACTS.md §1.4).
    Unprocessable(String),
    /// 400 with a singular error (unparseable body).
    BadRequest(String),
    /// 413: the body is larger than the configured limit.
    PayloadTooLarge,
    /// 408: the body did not arrive within [`crate::SimConfig::read_timeout`].
    RequestTimeout,
}

impl ApiError {
    /// A 422 with one message on one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![(field.into(), vec![message.into()])])
    }

    /// The error as one line of text, for a bulk job's result row (whose `error` is a string, OpenAPI
    /// `BulkJobResult`): a 422's fields as `"<field> <message>"` joined by `"; "`, otherwise the singular
    /// error's text. The wording SalesLoft uses there is unconfirmed (FACTS.md §12).
    pub fn message(&self) -> String {
        match self {
            Self::NotFound => "Not Found".to_owned(),
            Self::Unprocessable(message) | Self::BadRequest(message) => message.clone(),
            Self::PayloadTooLarge => "Request Entity Too Large".to_owned(),
            Self::RequestTimeout => "Request Timeout".to_owned(),
            Self::Validation(fields) => fields
                .iter()
                .flat_map(|(field, messages)| messages.iter().map(move |message| format!("{field} {message}")))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    /// The HTTP response.
    pub fn into_response(self) -> Response {
        match self {
            Self::NotFound => error_response(StatusCode::NOT_FOUND, "Not Found"),
            Self::BadRequest(message) => error_response(StatusCode::BAD_REQUEST, &message),
            Self::Unprocessable(message) => error_response(StatusCode::UNPROCESSABLE_ENTITY, &message),
            Self::PayloadTooLarge => error_response(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"),
            Self::RequestTimeout => error_response(StatusCode::REQUEST_TIMEOUT, "Request Timeout"),
            Self::Validation(fields) => {
                let mut body = String::with_capacity(64);
                let mut object = ObjectWriter::new(&mut body);
                object.object("errors", |errors| {
                    for (field, messages) in &fields {
                        errors.str_array(field, messages);
                    }
                });
                object.finish();
                json_response(StatusCode::UNPROCESSABLE_ENTITY, body)
            }
        }
    }
}

/// Collects validation messages per field, keeping the order fields were checked in.
#[derive(Debug, Default)]
pub struct Validation {
    fields: Vec<(String, Vec<String>)>,
}

impl Validation {
    /// Adds one message to one field.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        match self.fields.iter_mut().find(|(name, _)| name == field) {
            Some((_, messages)) => messages.push(message.into()),
            None => self.fields.push((field.to_owned(), vec![message.into()])),
        }
    }

    /// Adds a message to a field that has none yet (e.g. "is required" after a type error was reported).
    pub fn add_once(&mut self, field: &str, message: impl Into<String>) {
        if !self.fields.iter().any(|(name, _)| name == field) {
            self.add(field, message);
        }
    }

    /// `Ok` when nothing was added, otherwise the 422.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.fields.is_empty() { Ok(()) } else { Err(ApiError::Validation(self.fields)) }
    }
}

/// A response with a JSON body.
pub fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

/// A response with a singular `{"error": message}` body.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    let mut body = String::with_capacity(message.len() + 12);
    body.push_str("{\"error\":");
    push_str(&mut body, message);
    body.push('}');
    json_response(status, body)
}

/// 204 No Content.
pub fn no_content() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}
