//! `POST /v2/person_upserts` (FACTS.md §5.2): create or update a person by `upsert_key` ∈ `id, crm_id,
//! email_address`; the answer is `{"data":{"person":{…},"upsert_type":"create"|"update"}}`.
//!
//! The OpenAPI: "The create and update behavior is exactly the same as the individual create and update
//! endpoints", so both go through [`people::create_person`] / [`people::update_person`] (same validation,
//! same unique email, same `person_created` / `person_updated` webhook events). Its `upsert_key` doc fixes
//! the rest:
//! - "The field must be provided in the input parameters, or the request will fail" → 422 on that field.
//! - "If upsert_key is not provided, this endpoint will not update an existing record" → no `upsert_key`
//!   is a plain create (so an existing email is a 422 `is already taken`, as on `POST /v2/people`). Any
//!   other value is a 422 on `upsert_key`.
//! - "The request will also fail if there are multiple records matched by the upsert field" → 422 on the
//!   field (possible only with `unique_person_email = false`, or for `crm_id`, which is not unique).
//! - "When id and another upsert_key are provided, the request will fail if the upsert record id and id
//!   parameter don't match" → 422 on `id`.
//! - `upsert_key=id` with an id that does not exist: 404, as `PUT /v2/people/{id}` answers (unconfirmed).

use axum::http::StatusCode;

use crate::body::Params;
use crate::envelope;
use crate::errors::{ApiError, Validation, json_response};
use crate::json::ObjectWriter;
use crate::routes::people;
use crate::routes::{Ctx, Event, Outcome};
use crate::store::TeamData;

/// Accepted `upsert_key` values.
pub const UPSERT_KEYS: &[&str] = &["id", "crm_id", "email_address"];

/// The person an upsert key names: `Ok(None)` when none does (a create).
fn find(data: &TeamData, ctx: &Ctx<'_>, key: &str, params: &Params) -> Result<Option<i64>, ApiError> {
    let mut errors = Validation::default();
    let required = ctx.config.required_message.as_str();
    let found = match key {
        "id" => match params.int("id", &mut errors) {
            Some(Some(id)) => Some(data.people.get(id).map(|_| id).ok_or(ApiError::NotFound)?),
            _ => {
                errors.add_once("id", required);
                None
            }
        },
        "email_address" => match params.string("email_address", &mut errors) {
            Some(Some(email)) => {
                let matches = data.people_ids_by_email(&email, ctx.config.unique_person_email);
                if matches.len() > 1 {
                    errors.add("email_address", "matches more than one person");
                }
                matches.first().copied()
            }
            _ => {
                errors.add_once("email_address", required);
                None
            }
        },
        _ => match params.string("crm_id", &mut errors) {
            Some(Some(crm_id)) => {
                let matches = data.people_ids_by_crm_id(crm_id.trim());
                if matches.len() > 1 {
                    errors.add("crm_id", "matches more than one person");
                }
                matches.first().copied()
            }
            _ => {
                errors.add_once("crm_id", required);
                None
            }
        },
    };
    if key != "id"
        && let Some(found) = found
        && let Some(Some(id)) = params.int("id", &mut errors)
        && id != found
    {
        errors.add("id", "does not match the upsert record");
    }
    errors.finish()?;
    Ok(found)
}

/// `POST /v2/person_upserts`.
pub fn upsert(data: &mut TeamData, ctx: &Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let applied = apply(data, ctx, params)?;
    Ok(Outcome {
        response: json_response(StatusCode::OK, envelope::single(&applied.resource)),
        events: vec![applied.event],
    })
}

/// What one upsert did.
pub struct Applied {
    /// `{"person":{…},"upsert_type":"create"|"update"}`: the `data` of the answer.
    pub resource: String,
    /// `person_created` or `person_updated`, with the person as its body.
    pub event: Event,
}

/// Applies one upsert: the whole of `POST /v2/person_upserts` but the answer's envelope. Bulk `person/upsert`
/// jobs apply each record through it, so a record has exactly the effect of the single call (FACTS.md §12).
pub fn apply(data: &mut TeamData, ctx: &Ctx<'_>, params: &Params) -> Result<Applied, ApiError> {
    let mut errors = Validation::default();
    let key = params.string("upsert_key", &mut errors);
    errors.finish()?;
    let key =
        match key.flatten() {
            None => None,
            Some(text) => {
                Some(UPSERT_KEYS.iter().find(|candidate| **candidate == text.trim()).copied().ok_or_else(|| {
                    ApiError::field("upsert_key", format!("must be one of: {}", UPSERT_KEYS.join(", ")))
                })?)
            }
        };
    let existing = match key {
        Some(key) => find(data, ctx, key, params)?,
        None => None,
    };
    let (id, upsert_type, event_type) = match existing {
        Some(id) => {
            people::update_person(data, ctx, id, params)?;
            (id, "update", "person_updated")
        }
        None => (people::create_person(data, ctx, params)?, "create", "person_created"),
    };
    let mut record = String::with_capacity(2048);
    people::render_person(data, ctx, id, &mut record);
    let mut resource = String::with_capacity(record.len() + 64);
    let mut object = ObjectWriter::new(&mut resource);
    object.raw("person", &record).str("upsert_type", Some(upsert_type));
    object.finish();
    Ok(Applied { resource, event: Event { event_type, body: record } })
}
