//! `/v2/people` (FACTS.md §5.3).

use crate::body::Params;
use crate::envelope::Filtering;
use crate::errors::{ApiError, Validation};
use crate::list::{FilterFn, Order};
use crate::records::people::{Person, SORTS};
use crate::routes::template::{self, Listing};
use crate::routes::{Ctx, Outcome};
use crate::store::TeamData;

/// Renders person `id` as the API does; `false` when there is none.
pub fn render_person(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    let Some(row) = data.people.get(id) else {
        return false;
    };
    let mut person = data.person(id, row).into_owned();
    // A reference to a deleted account renders as null (FACTS.md §5.2: deleting an account unlinks people).
    if person.account_id.is_some_and(|account| data.accounts.get(account).is_none()) {
        person.account_id = None;
    }
    person.render(id, row, &data.current_cadences(id), &ctx.render, out);
    true
}

/// `GET /v2/people`.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let query = ctx.query;
    let mut listing = Listing::parse(query, SORTS, "updated_at", false)?;
    let emails = query.list("email_addresses");
    let account_ids = query.int_list("account_id")?;
    let owner_ids = query.int_list("owner_id")?;
    let do_not_contact = query.bool("do_not_contact")?;
    let cadences = cadence_filter(query)?;

    let mut filtering = Filtering::default();
    filtering.list("ids", query.list("ids").as_ref());
    filtering.list("email_addresses", emails.as_ref());
    filtering.time("updated_at", listing.updated.as_ref());
    filtering.time("created_at", listing.created.as_ref());
    filtering.list("account_id", query.list("account_id").as_ref());
    filtering.list("owner_id", query.list("owner_id").as_ref());
    filtering.scalar("do_not_contact", query.get("do_not_contact"));
    filtering.list("cadence_id", query.list("cadence_id").as_ref());

    // An email filter is resolved through the index to an id set (and intersected with `ids`).
    let mut candidates = listing.ids.take();
    if let Some(emails) = &emails {
        let by_email: Vec<i64> = emails.iter().filter_map(|email| data.person_id_by_email(email)).collect();
        candidates = Some(match candidates {
            Some(wanted) => by_email.into_iter().filter(|id| wanted.contains(id)).collect(),
            None => by_email,
        });
    }
    // `cadence_id` without `_is_null` is resolved through the memberships to an id set as well.
    if let Some((cadence_ids, false)) = &cadences {
        let on: Vec<i64> = data.people_on_cadences(cadence_ids);
        candidates = Some(match candidates {
            Some(wanted) => on.into_iter().filter(|id| wanted.contains(id)).collect(),
            None => on,
        });
    }
    let needs_data = account_ids.is_some() || owner_ids.is_some() || do_not_contact.is_some();
    let range_only = candidates.is_none() && listing.created.is_none() && cadences.is_none() && !needs_data;
    let order = listing.order(|key| Order::Key(Box::new(move |id, row| data.person(id, row).sort_value(key, row))));
    let filter: FilterFn<'_, _> = Box::new(|id, row| {
        if !listing.in_ranges(row) {
            return false;
        }
        if let Some((cadence_ids, true)) = &cadences {
            let current = data.current_cadences(id);
            if !current.is_empty() && !current.iter().any(|cadence| cadence_ids.contains(cadence)) {
                return false;
            }
        }
        if !needs_data {
            return true;
        }
        let person = data.person(id, row);
        account_ids.as_ref().is_none_or(|wanted| person.account_id.is_some_and(|a| wanted.contains(&a)))
            && owner_ids.as_ref().is_none_or(|wanted| person.owner_id.is_some_and(|o| wanted.contains(&o)))
            && do_not_contact.is_none_or(|flag| person.do_not_contact == flag)
    });
    let spec = listing.spec(candidates, order, filter, range_only);
    Ok(listing.respond(&data.people, spec, &filtering, |id, out| render_person(data, ctx, id, out)))
}

/// The `cadence_id` filter: "Filters people by the cadence that they are currently on. Multiple
/// cadence_ids can be applied. An additional value of \"_is_null\" can be passed to filter people that are
/// not on a cadence" (OpenAPI). Returns the ids and whether `_is_null` was among them (then people on no
/// cadence match too).
fn cadence_filter(query: &crate::query::Query) -> Result<Option<(Vec<i64>, bool)>, ApiError> {
    let Some(values) = query.list("cadence_id") else {
        return Ok(None);
    };
    let mut ids = Vec::with_capacity(values.len());
    let mut is_null = false;
    for value in values {
        if value == "_is_null" {
            is_null = true;
        } else {
            ids.push(
                value.parse::<i64>().map_err(|_| ApiError::field("cadence_id", "must be an integer or _is_null"))?,
            );
        }
    }
    Ok(Some((ids, is_null)))
}

/// `GET /v2/people/{id}`.
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    template::get_one(2048, |out| render_person(data, ctx, id, out))
}

/// Team-level checks of a person write: unique email, existing account and owner.
fn check_team_rules(data: &TeamData, ctx: &Ctx<'_>, id: Option<i64>, person: &Person, errors: &mut Validation) {
    if ctx.config.unique_person_email
        && let Some(email) = &person.email_address
        && let Some(existing) = data.person_id_by_email(email)
        && Some(existing) != id
    {
        errors.add("email_address", ctx.config.taken_message.as_str());
    }
    if let Some(account) = person.account_id
        && data.accounts.get(account).is_none()
    {
        errors.add("account_id", "is invalid");
    }
    if let Some(owner) = person.owner_id
        && data.users.get(owner).is_none()
    {
        errors.add("owner_id", "is invalid");
    }
}

/// `POST /v2/people`.
pub fn create(data: &mut TeamData, ctx: &Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let id = create_person(data, ctx, params)?;
    written(data, ctx, id, "person_created")
}

/// Validates and stores a new person; returns its id. Shared with `/v2/person_upserts`, whose create
/// "is exactly the same as the individual create" (OpenAPI).
pub fn create_person(data: &mut TeamData, ctx: &Ctx<'_>, params: &Params) -> Result<i64, ApiError> {
    let mut person = Person::default();
    let mut errors = Validation::default();
    person.apply(params, &ctx.config.required_message, &mut errors);
    check_team_rules(data, ctx, None, &person, &mut errors);
    errors.finish()?;
    if person.owner_id.is_none() {
        person.owner_id = Some(ctx.user_id);
    }
    let id = data.people.allocate_id();
    data.put_person(id, ctx.now, ctx.now, person);
    Ok(id)
}

/// `PUT /v2/people/{id}`.
pub fn update(data: &mut TeamData, ctx: &Ctx<'_>, id: i64, params: &Params) -> Result<Outcome, ApiError> {
    update_person(data, ctx, id, params)?;
    written(data, ctx, id, "person_updated")
}

/// Validates and stores an update of person `id` (404 when there is none). Shared with
/// `/v2/person_upserts`.
pub fn update_person(data: &mut TeamData, ctx: &Ctx<'_>, id: i64, params: &Params) -> Result<(), ApiError> {
    let row = data.people.get(id).ok_or(ApiError::NotFound)?;
    let created_at = row.created_at;
    let mut person = data.person(id, row).into_owned();
    let mut errors = Validation::default();
    person.apply(params, &ctx.config.required_message, &mut errors);
    check_team_rules(data, ctx, Some(id), &person, &mut errors);
    errors.finish()?;
    data.put_person(id, created_at, ctx.now, person);
    Ok(())
}

fn written(data: &TeamData, ctx: &Ctx<'_>, id: i64, event_type: &'static str) -> Result<Outcome, ApiError> {
    template::written(2048, event_type, |out| render_person(data, ctx, id, out))
}

/// `DELETE /v2/people/{id}`: 204, also when already gone (FACTS.md §3: deletes are idempotent).
pub fn delete(data: &mut TeamData, ctx: &Ctx<'_>, id: i64) -> Result<Outcome, ApiError> {
    let Some(event) = template::deleted_event(2048, "person_deleted", |out| render_person(data, ctx, id, out)) else {
        return Ok(Outcome::deleted(Vec::new()));
    };
    data.remove_person(id, ctx.now);
    Ok(Outcome::deleted(vec![event]))
}
