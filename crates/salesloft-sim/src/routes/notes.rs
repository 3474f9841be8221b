//! `/v2/notes` (FACTS.md §5.2: POST requires `content, associated_with_type (person|account),
//! associated_with_id`; optional `call_id, skip_crm_sync, subject, user_guid`; PUT requires `content`;
//! DELETE 204). Webhook events `note_created`, `note_updated`, `note_deleted` (FACTS.md §6.3).

use crate::body::Params;
use crate::errors::{ApiError, Validation};
use crate::list::{FilterFn, Order};
use crate::records::notes::{Associated, Note, SORTS};
use crate::routes::template::{self, Listing};
use crate::routes::{Ctx, Outcome};
use crate::store::TeamData;

fn render_note(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    template::render_row(&data.notes, id, out, |note, out| note.render(id, &ctx.render, out))
}

/// `GET /v2/notes`: filters `ids`, `associated_with_type` + `associated_with_id`, `updated_at[…]`,
/// `created_at[…]`; `sort_by` `created_at|updated_at`.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let query = ctx.query;
    let mut listing = Listing::parse(query, SORTS, "updated_at", false)?;
    let ids = listing.ids.take();
    let associated_type = match query.get("associated_with_type") {
        None => None,
        Some(text) => Some(
            Associated::parse(text)
                .ok_or_else(|| ApiError::field("associated_with_type", "must be one of: person, account"))?,
        ),
    };
    let associated_id = query.int("associated_with_id")?;
    // The OpenAPI: "The associated_with_type must also be present if this parameter is used".
    if associated_id.is_some() && associated_type.is_none() {
        return Err(ApiError::field("associated_with_type", "must be present when associated_with_id is used"));
    }

    let mut filtering = listing.filtering(query);
    filtering.scalar("associated_with_type", query.get("associated_with_type"));
    filtering.scalar("associated_with_id", query.get("associated_with_id"));

    let order = listing.order(|_| Order::Updated);
    let filter: FilterFn<'_, Note> = Box::new(|_, note| {
        listing.in_ranges(note)
            && associated_type.is_none_or(|kind| note.associated_type == kind)
            && associated_id.is_none_or(|id| note.associated_with_id == id)
    });
    let spec = listing.spec(ids, order, filter, false);
    Ok(listing.respond(&data.notes, spec, &filtering, |id, out| render_note(data, ctx, id, out)))
}

/// `GET /v2/notes/{id}`.
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    template::get_one(512, |out| render_note(data, ctx, id, out))
}

/// `content`: required on POST and PUT, never blank.
fn content(params: &Params, ctx: &Ctx<'_>, errors: &mut Validation) -> Option<String> {
    match params.string("content", errors) {
        Some(Some(text)) => Some(text),
        Some(None) => {
            errors.add("content", ctx.config.required_message.as_str());
            None
        }
        None => {
            if !params.has("content") {
                errors.add("content", ctx.config.required_message.as_str());
            }
            None
        }
    }
}

/// `call_id`: optional; "The call cannot already have a note" (OpenAPI). Calls are not simulated, so any
/// positive id is accepted unless another note already holds it.
fn call_id(data: &TeamData, params: &Params, own: Option<i64>, errors: &mut Validation) -> Option<Option<i64>> {
    let value = params.int("call_id", errors)?;
    if let Some(call) = value {
        if call <= 0 {
            errors.add("call_id", "is invalid");
        } else if data.notes.by_id(true).any(|(id, note)| note.call_id == Some(call) && Some(id) != own) {
            errors.add("call_id", "already has a note");
        }
    }
    Some(value)
}

/// `POST /v2/notes`.
pub fn create(data: &mut TeamData, ctx: &Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let mut errors = Validation::default();
    let required = ctx.config.required_message.as_str();
    let content = content(params, ctx, &mut errors);
    let associated_type = match params.string("associated_with_type", &mut errors) {
        Some(Some(text)) => {
            let parsed = Associated::parse(&text);
            if parsed.is_none() {
                errors.add("associated_with_type", "must be one of: person, account");
            }
            parsed
        }
        Some(None) => {
            errors.add("associated_with_type", required);
            None
        }
        None => {
            if !params.has("associated_with_type") {
                errors.add("associated_with_type", required);
            }
            None
        }
    };
    let associated_id = match params.int("associated_with_id", &mut errors) {
        Some(Some(id)) => Some(id),
        Some(None) => {
            errors.add("associated_with_id", required);
            None
        }
        None => {
            if !params.has("associated_with_id") {
                errors.add("associated_with_id", required);
            }
            None
        }
    };
    if let (Some(kind), Some(id)) = (associated_type, associated_id) {
        let exists = match kind {
            Associated::Person => data.people.get(id).is_some(),
            Associated::Account => data.accounts.get(id).is_some(),
        };
        if !exists {
            errors.add("associated_with_id", "is invalid");
        }
    }
    let call_id = call_id(data, params, None, &mut errors).flatten();
    let skip_crm_sync = params.bool("skip_crm_sync", &mut errors).unwrap_or(false);
    let subject = params.string("subject", &mut errors).flatten();
    let mut user_id = ctx.user_id;
    let caller_is_admin = data.users.get(ctx.user_id).is_some_and(|user| user.role == "Admin");
    if let Some(Some(guid)) = params.string("user_guid", &mut errors) {
        match data.user_id_by_guid(&guid) {
            None => errors.add("user_guid", "is invalid"),
            // "Only team admins may create notes on behalf of other users" (OpenAPI). The status of the
            // refusal is unconfirmed; a 422 on the field keeps the error shape the client already handles.
            Some(other) if other != ctx.user_id && !caller_is_admin => {
                errors.add("user_guid", "only team admins may create notes on behalf of other users");
            }
            Some(other) => user_id = other,
        }
    }
    errors.finish()?;
    let (Some(content), Some(associated_type), Some(associated_with_id)) = (content, associated_type, associated_id)
    else {
        return Err(ApiError::field("content", required));
    };
    let note = Note {
        content,
        associated_type,
        associated_with_id,
        call_id,
        user_id,
        subject,
        skip_crm_sync,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    let id = data.notes.allocate_id();
    data.notes.put(id, note);
    written(data, ctx, id, "note_created")
}

/// `PUT /v2/notes/{id}`: `content` required, `call_id` optional (a note already on a call moves to the new
/// one). The OpenAPI says the answer is a Person; that is a spec artefact, the answer is the Note.
pub fn update(data: &mut TeamData, ctx: &Ctx<'_>, id: i64, params: &Params) -> Result<Outcome, ApiError> {
    let mut note = data.notes.get(id).ok_or(ApiError::NotFound)?.clone();
    let mut errors = Validation::default();
    let content = content(params, ctx, &mut errors);
    let call_id = call_id(data, params, Some(id), &mut errors);
    errors.finish()?;
    if let Some(content) = content {
        note.content = content;
    }
    if let Some(call_id) = call_id {
        note.call_id = call_id;
    }
    note.updated_at = ctx.now;
    data.notes.put(id, note);
    written(data, ctx, id, "note_updated")
}

fn written(data: &TeamData, ctx: &Ctx<'_>, id: i64, event_type: &'static str) -> Result<Outcome, ApiError> {
    template::written(512, event_type, |out| render_note(data, ctx, id, out))
}

/// `DELETE /v2/notes/{id}`: 204, also when already gone ("This operation can be called multiple times
/// successfully").
pub fn delete(data: &mut TeamData, ctx: &Ctx<'_>, id: i64) -> Result<Outcome, ApiError> {
    let Some(event) = template::deleted_event(512, "note_deleted", |out| render_note(data, ctx, id, out)) else {
        return Ok(Outcome::deleted(Vec::new()));
    };
    data.notes.remove(id);
    Ok(Outcome::deleted(vec![event]))
}
