//! Per-resource handlers and request builders (handler + builder, after octocrab).
//!
//! Get a handler from the [`Client`](crate::Client) (`client.people()`), then call a plain `async fn` for
//! simple calls (`get`, `create`, `update`, `delete`) or a builder for calls with options
//! (`list().updated_after(t).per_page(100).send()`). Paths are sent without `.json` (FACTS.md §1.1: optional
//! in practice). Array filters are sent Rails-style, `email_addresses[]=a&email_addresses[]=b` (FACTS.md §4.3).
//! Every response is decoded with `serde_path_to_error`, so a shape mismatch names the JSON path
//! (`data[3].email_address`) in [`crate::Error::Decode`].

pub mod accounts;
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

/// Decodes a JSON body into `T`; on failure the error names the JSON path that did not match.
pub fn decode<T: DeserializeOwned>(operation: &str, body: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| Error::Decode {
        operation: operation.to_string(),
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    deserializer.end().map_err(|e| Error::Decode {
        operation: operation.to_string(),
        path: ".".to_string(),
        message: e.to_string(),
    })?;
    Ok(value)
}

/// Serializes a request body (these types cannot fail to serialize; an error is reported, never a panic).
pub(crate) fn to_body<T: serde::Serialize>(operation: &str, body: &T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(body)
        .map_err(|e| Error::Construction { reason: format!("{operation}: could not encode the body: {e}") })
}
