//! Per-resource handlers and request builders (handler + builder, after octocrab).
//!
//! Get a handler from the [`Client`](crate::Client) (`client.people()`), then call a plain `async fn` for
//! simple calls (`get`, `create`, `update`, `delete`) or a builder for calls with options
//! (`list().updated_after(t).per_page(100).send()`). Paths are sent without `.json` (FACTS.md §1.1: optional
//! in practice). Array filters are sent Rails-style, `email_addresses[]=a&email_addresses[]=b` (FACTS.md §4.3).
//! Every response is decoded with `serde_path_to_error`, so a shape mismatch names the JSON path
//! (`data[3].email_address`) in [`crate::Error::Decode`].

pub mod accounts;
pub mod bulk_jobs;
pub mod cadence_memberships;
pub mod cadences;
pub mod list;
pub mod me;
pub mod notes;
pub mod people;
pub mod tasks;
pub mod users;
pub mod webhook_subscriptions;

pub use accounts::AccountsHandler;
pub use bulk_jobs::{BulkJobsHandler, CursorList};
pub use cadence_memberships::{CadenceMembershipsHandler, CreateMembership};
pub use cadences::CadencesHandler;
pub use list::{ListBuilder, Resource};
pub use notes::NotesHandler;
pub use people::{PeopleHandler, UpsertByEmail, Upserted};
pub use tasks::TasksHandler;
pub use users::UsersHandler;
pub use webhook_subscriptions::WebhookSubscriptionsHandler;

use serde::de::DeserializeOwned;

use crate::Error;

/// Decodes a JSON body into `T`; on failure the error names the JSON path that did not match. The message
/// never carries the offending value: serde quotes it (`invalid type: string "jane@example.com", expected
/// u64`), and the value may be PII or a token, so quoted values are replaced by `"…"` and the rest redacted.
pub fn decode<T: DeserializeOwned>(operation: &str, body: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| Error::Decode {
        operation: operation.to_string(),
        path: redact_path(&e.path().to_string()),
        message: crate::redact::hide_quoted_values(&e.inner().to_string()),
    })?;
    deserializer.end().map_err(|e| Error::Decode {
        operation: operation.to_string(),
        path: ".".to_string(),
        message: crate::redact::hide_quoted_values(&e.to_string()),
    })?;
    Ok(value)
}

/// A JSON path with map keys that look like secrets or emails redacted (paths name keys, which are data in a
/// map such as `custom_fields`).
fn redact_path(path: &str) -> String {
    crate::redact::Redactor::default().redact_text(path)
}

/// Serializes a request body (these types cannot fail to serialize; an error is reported, never a panic).
pub(crate) fn to_body<T: serde::Serialize>(operation: &str, body: &T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(body)
        .map_err(|e| Error::Construction { reason: format!("{operation}: could not encode the body: {e}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_name_the_path_but_never_the_value() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Person {
            id: u64,
        }
        let bodies: [&[u8]; 4] = [
            br#"{"id": "jane@example.com"}"#,
            br#"{"id": -1234567}"#,
            br#"{"id": "Bearer tok-123 \" quoted"}"#,
            br#"{"id": 1} trailing-tok-123"#,
        ];
        for body in bodies {
            match decode::<Person>("people.get", body) {
                Err(Error::Decode { path, message, .. }) => {
                    let shown = format!("{path} {message}");
                    for value in ["jane", "tok-123", "1234567"] {
                        assert!(!shown.contains(value), "value survived: {shown}");
                    }
                }
                other => panic!("expected a decode error, got {other:?}"),
            }
        }
        match decode::<Person>("people.get", br#"{"id": "x"}"#) {
            Err(Error::Decode { path, message, .. }) => {
                assert_eq!(path, "id");
                assert!(message.contains("invalid type") && message.contains("expected u64"), "{message}");
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
    }
}
