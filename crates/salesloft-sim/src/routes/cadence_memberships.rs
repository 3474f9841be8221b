//! `/v2/cadence_memberships` (FACTS.md §5.4): add a person to a cadence, list, remove.

use serde_json::Value;

use crate::body::Params;
use crate::envelope::Filtering;
use crate::errors::{ApiError, Validation};
use crate::list::{FilterFn, Order};
use crate::records::cadence_memberships::{Membership, SORTS};
use crate::routes::template::{self, Listing};
use crate::routes::{Ctx, Event, Outcome};
use crate::store::TeamData;

fn render_membership(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    template::render_row(&data.memberships, id, out, |membership, out| membership.render(id, &ctx.render, out))
}

/// `GET /v2/cadence_memberships`.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let query = ctx.query;
    let paging = query.paging()?;
    let sorting = query.sorting(SORTS, "updated_at")?;
    let ids = query.int_list("ids")?;
    let updated = query.time_range("updated_at")?;
    let listing = Listing { paging, sorting, ids: None, updated, created: None };
    let person_ids = query.int_list("person_id")?;
    let cadence_ids = query.int_list("cadence_id")?;
    let current = query.bool("currently_on_cadence")?;

    let mut filtering = Filtering::default();
    filtering.list("ids", query.list("ids").as_ref());
    filtering.time("updated_at", listing.updated.as_ref());
    filtering.list("person_id", query.list("person_id").as_ref());
    filtering.list("cadence_id", query.list("cadence_id").as_ref());
    filtering.scalar("currently_on_cadence", query.get("currently_on_cadence"));

    // A person + cadence filter resolves through the pair index.
    let mut candidates = ids;
    if let (Some(people), Some(cadences)) = (&person_ids, &cadence_ids) {
        let pairs: Vec<i64> = people
            .iter()
            .flat_map(|person| cadences.iter().filter_map(move |cadence| data.membership_for(*person, *cadence)))
            .collect();
        candidates = Some(match candidates {
            Some(wanted) => pairs.into_iter().filter(|id| wanted.contains(id)).collect(),
            None => pairs,
        });
    }
    let order = listing.order(|key| Order::Key(Box::new(move |_, membership: &Membership| membership.sort_value(key))));
    let filter: FilterFn<'_, Membership> = Box::new(|_, membership| {
        listing.in_ranges(membership)
            && person_ids.as_ref().is_none_or(|wanted| wanted.contains(&membership.person_id))
            && cadence_ids.as_ref().is_none_or(|wanted| wanted.contains(&membership.cadence_id))
            && current.is_none_or(|flag| membership.currently_on_cadence == flag)
    });
    let spec = listing.spec(candidates, order, filter, false);
    Ok(listing.respond(&data.memberships, spec, &filtering, |id, out| render_membership(data, ctx, id, out)))
}

/// `GET /v2/cadence_memberships/{id}`.
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    template::get_one(1024, |out| render_membership(data, ctx, id, out))
}

/// `POST /v2/cadence_memberships`: `person_id`, `cadence_id` (required), `user_id`, `step_id` from the query
/// string (as the spec says) or the body (as Salesloft's PHP sample and supaglue send them) — FACTS.md §5.4.
pub fn create(data: &mut TeamData, ctx: &Ctx<'_>, body: &Params) -> Result<Outcome, ApiError> {
    let mut params = body.clone();
    for name in ["person_id", "cadence_id", "user_id", "step_id"] {
        if let Some(value) = ctx.query.get(name) {
            params.insert_missing(name, Value::String(value.to_owned()));
        }
    }
    let mut errors = Validation::default();
    let person_id = params.int("person_id", &mut errors).flatten();
    let cadence_id = params.int("cadence_id", &mut errors).flatten();
    let user_id = params.int("user_id", &mut errors).flatten().unwrap_or(ctx.user_id);
    let required = ctx.config.required_message.as_str();
    if person_id.is_none() && !params.has("person_id") {
        errors.add("person_id", required);
    }
    if cadence_id.is_none() && !params.has("cadence_id") {
        errors.add("cadence_id", required);
    }
    errors.finish()?;
    let (Some(person_id), Some(cadence_id)) = (person_id, cadence_id) else {
        return Err(ApiError::field("person_id", required));
    };
    // "person_id and cadence_id … must be visible to the authenticated user": a missing record is 404
    // (Rails' record-not-found; the exact status is unconfirmed).
    let person_row = data.people.get(person_id).ok_or(ApiError::NotFound)?;
    let person = data.person(person_id, person_row);
    let cadence = data.cadences.get(cadence_id).ok_or(ApiError::NotFound)?;
    if data.users.get(user_id).is_none() {
        return Err(ApiError::field("user_id", "is invalid"));
    }
    // FACTS.md §5.4: on behalf of a teammate only for a team cadence or one the teammate owns.
    if user_id != ctx.user_id && !cadence.team_cadence && cadence.owner_id != user_id {
        return Err(ApiError::field("user_id", "cannot add people to this cadence on behalf of this user"));
    }
    if person.do_not_contact {
        return Err(ApiError::field("person_id", "is marked do not contact"));
    }
    let existing = data.membership_for(person_id, cadence_id);
    if let Some(id) = existing
        && data.memberships.get(id).is_some_and(|membership| membership.currently_on_cadence)
    {
        // Unconfirmed text; a 422 is what S-PACK reports for "already enrolled".
        return Err(ApiError::field("person_id", "is already on this cadence"));
    }
    let (id, event_type) = match existing {
        // "If a person is added to a cadence and re-added … there is a single membership record".
        Some(id) => (id, "cadence_membership_updated"),
        None => (data.memberships.allocate_id(), "cadence_membership_created"),
    };
    let created_at = existing.and_then(|id| data.memberships.get(id)).map_or(ctx.now, |old| old.created_at);
    data.put_membership(
        id,
        Membership {
            person_id,
            cadence_id,
            user_id,
            added_at: ctx.now,
            currently_on_cadence: true,
            current_state: "staged",
            person_deleted: false,
            created_at,
            updated_at: ctx.now,
        },
    );
    template::written(1024, event_type, |out| render_membership(data, ctx, id, out))
}

/// `DELETE /v2/cadence_memberships/{id}`: the person is removed from the cadence; the record stays with
/// `current_state: removed`. 204, idempotent.
pub fn delete(data: &mut TeamData, ctx: &Ctx<'_>, id: i64) -> Result<Outcome, ApiError> {
    let Some(mut membership) = data.memberships.get(id).cloned() else {
        return Ok(Outcome::deleted(Vec::new()));
    };
    if !membership.currently_on_cadence {
        return Ok(Outcome::deleted(Vec::new()));
    }
    membership.currently_on_cadence = false;
    membership.current_state = "removed";
    membership.updated_at = ctx.now;
    data.put_membership(id, membership);
    let mut record = String::with_capacity(1024);
    render_membership(data, ctx, id, &mut record);
    Ok(Outcome::deleted(vec![Event { event_type: "cadence_membership_updated", body: record }]))
}
