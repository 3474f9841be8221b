//! `/v2/activities/calls` (FACTS.md §5.2: GET list and by id; POST requires `person_id`, optional
//! `action_id, crm_params, disposition, duration, linked_call_data_record_ids, notes, sentiment, to,
//! user_guid`). A create sends the `call_created` webhook (FACTS.md §6.3); calls cannot be updated through
//! the API, so `call_updated` is never sent.

use crate::body::Params;
use crate::envelope::Filtering;
use crate::errors::{ApiError, Validation};
use crate::list::{FilterFn, Order};
use crate::records::calls::{Call, SORTS};
use crate::records::notes::{Associated, Note};
use crate::routes::template::{self, Listing};
use crate::routes::{Ctx, Outcome};
use crate::store::TeamData;

fn render_call(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    template::render_row(&data.calls, id, out, |call, out| call.render(id, &ctx.render, out))
}

/// `GET /v2/activities/calls`: filters `ids, created_at[…], updated_at[…], user_guid` (unknown guids match
/// nothing), `person_id`, `sentiment` and `disposition` ("matches are exact and case sensitive");
/// `sort_by created_at|updated_at`.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let query = ctx.query;
    let mut listing = Listing::parse(query, SORTS, "updated_at", false)?;
    let ids = listing.ids.take();
    let guids = query.list("user_guid");
    let user_ids: Option<Vec<i64>> =
        guids.as_ref().map(|guids| guids.iter().filter_map(|guid| data.user_id_by_guid(guid)).collect());
    let person_ids = query.int_list("person_id")?;
    let sentiments = query.list("sentiment");
    let dispositions = query.list("disposition");

    let mut filtering = Filtering::default();
    filtering.list("ids", query.list("ids").as_ref());
    filtering.time("created_at", listing.created.as_ref());
    filtering.time("updated_at", listing.updated.as_ref());
    filtering.list("user_guid", guids.as_ref());
    filtering.list("person_id", query.list("person_id").as_ref());
    filtering.list("sentiment", sentiments.as_ref());
    filtering.list("disposition", dispositions.as_ref());

    let range_only = ids.is_none()
        && listing.created.is_none()
        && user_ids.is_none()
        && person_ids.is_none()
        && sentiments.is_none()
        && dispositions.is_none();
    let order = listing.order(|_| Order::Updated);
    let text_in = |wanted: &Option<Vec<String>>, value: &Option<String>| {
        wanted.as_ref().is_none_or(|wanted| value.as_ref().is_some_and(|v| wanted.contains(v)))
    };
    let filter: FilterFn<'_, Call> = Box::new(|_, call| {
        listing.in_ranges(call)
            && user_ids.as_ref().is_none_or(|wanted| wanted.contains(&call.user_id))
            && person_ids.as_ref().is_none_or(|wanted| wanted.contains(&call.person_id))
            && text_in(&sentiments, &call.sentiment)
            && text_in(&dispositions, &call.disposition)
    });
    let spec = listing.spec(ids, order, filter, range_only);
    Ok(listing.respond(&data.calls, spec, &filtering, |id, out| render_call(data, ctx, id, out)))
}

/// `GET /v2/activities/calls/{id}`.
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    template::get_one(1024, |out| render_call(data, ctx, id, out))
}

/// `user_guid` of a write: "Defaults to the authenticated user. Only team admins can pass another user's
/// guid" (OpenAPI). Unknown guid or a non-admin naming someone else → 422 on `user_guid` (the status of the
/// refusal is unconfirmed; notes do the same).
pub fn acting_user(data: &TeamData, ctx: &Ctx<'_>, params: &Params, errors: &mut Validation) -> i64 {
    let Some(Some(guid)) = params.string("user_guid", errors) else {
        return ctx.user_id;
    };
    match data.user_id_by_guid(&guid) {
        None => {
            errors.add("user_guid", "is invalid");
            ctx.user_id
        }
        Some(other) if other != ctx.user_id && !data.is_admin(ctx.user_id) => {
            errors.add("user_guid", "only team admins may log activities for other users");
            ctx.user_id
        }
        Some(other) => other,
    }
}

/// `POST /v2/activities/calls`.
///
/// `person_id` must name an existing person (else 422 `is invalid`, as tasks do). `action_id` "will validate
/// that the action is still valid before completing it. The same action can never be successfully passed
/// twice to this endpoint. The action must have a type of 'phone'": an unknown action, a completed one, one
/// of another person, or one that is not a phone action is a 422 on `action_id`; a valid one is completed
/// (it disappears from `/v2/actions`) and the call takes its cadence and step. `duration` must be a
/// non-negative integer. `disposition`/`sentiment` are free text (the simulator has no disposition or
/// sentiment lists). `notes` becomes a Note on the person linked to the call (no `note_created` webhook:
/// whether SalesLoft sends one is unconfirmed). A call data record id may be linked to one call only
/// (422 on `linked_call_data_record_ids`). `crm_params` must be an object and is kept.
pub fn create(data: &mut TeamData, ctx: &Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let mut errors = Validation::default();
    let required = ctx.config.required_message.as_str();
    let person_id = match params.int("person_id", &mut errors) {
        Some(Some(id)) if data.people.get(id).is_some() => Some(id),
        Some(Some(_)) => {
            errors.add("person_id", "is invalid");
            None
        }
        Some(None) => {
            errors.add("person_id", required);
            None
        }
        None => {
            if !params.has("person_id") {
                errors.add("person_id", required);
            }
            None
        }
    };
    let action_id = params.int("action_id", &mut errors).flatten();
    if let Some(id) = action_id {
        match data.actions.get(id) {
            None => errors.add("action_id", "is invalid"),
            Some(action) if !action.is_open() => errors.add("action_id", "has already been completed"),
            Some(action) if action.action_type != "phone" => errors.add("action_id", "must be a phone action"),
            Some(action) if person_id.is_some_and(|person| person != action.person_id) => {
                errors.add("action_id", "does not belong to person_id");
            }
            Some(_) => {}
        }
    }
    let duration = params.int("duration", &mut errors).flatten();
    if duration.is_some_and(|seconds| seconds < 0) {
        errors.add("duration", "must be greater than or equal to 0");
    }
    let disposition = params.string("disposition", &mut errors).flatten();
    let sentiment = params.string("sentiment", &mut errors).flatten();
    let to = params.string("to", &mut errors).flatten();
    let notes = params.string("notes", &mut errors).flatten();
    let crm_params = params.string_map("crm_params", &mut errors).unwrap_or_default();
    let mut records = Vec::new();
    for item in params.string_list("linked_call_data_record_ids", &mut errors).unwrap_or_default() {
        match item.trim().parse::<i64>() {
            Ok(id) if id > 0 => records.push(id),
            _ => {
                errors.add_once("linked_call_data_record_ids", "must be positive integers");
            }
        }
    }
    if records.iter().any(|id| data.calls.by_id(true).any(|(_, call)| call.call_data_record_ids.contains(id))) {
        errors.add("linked_call_data_record_ids", "is already linked to a call");
    }
    let user_id = acting_user(data, ctx, params, &mut errors);
    errors.finish()?;
    let Some(person_id) = person_id else {
        return Err(ApiError::field("person_id", required));
    };

    let (mut cadence_id, mut step_id) = (None, None);
    if let Some(id) = action_id
        && let Some(mut action) = data.actions.get(id).cloned()
    {
        cadence_id = action.cadence_id;
        step_id = action.step_id;
        action.completed_at = Some(ctx.now);
        action.updated_at = ctx.now;
        data.actions.put(id, action);
    }
    let id = data.calls.allocate_id();
    let note_id = notes.map(|content| {
        let note_id = data.notes.allocate_id();
        data.notes.put(
            note_id,
            Note {
                content,
                associated_type: Associated::Person,
                associated_with_id: person_id,
                call_id: Some(id),
                user_id,
                subject: None,
                skip_crm_sync: false,
                created_at: ctx.now,
                updated_at: ctx.now,
            },
        );
        note_id
    });
    let call = Call {
        user_id,
        person_id,
        action_id,
        cadence_id,
        step_id,
        note_id,
        disposition,
        sentiment,
        duration,
        to,
        call_data_record_ids: records,
        crm_params,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    data.calls.put(id, call);
    template::written(1024, "call_created", |out| render_call(data, ctx, id, out))
}
