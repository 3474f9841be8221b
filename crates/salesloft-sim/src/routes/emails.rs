//! `/v2/activities/emails` (read-only; FACTS.md §5.2: filters `bounced, crm_activity_id, action_id,
//! user_id, status, cadence_id, step_id, one_off, scoped_fields, person_id, email_addresses,
//! personalization, sent_at, updated_at`; FACTS.md §4.1: `sort_by updated_at|send_time`).
//!
//! Scoped fields (FACTS.md §1.4): `scoped_fields[]=subject` fills the Email's `subject` (otherwise null, as
//! it is "determined sensitive"), `scoped_fields[]=body` adds a `body` key; both need the privileged
//! `email_contents:read` scope. The simulator's credentials hold every scope, so both work unless
//! [`crate::SimConfig::email_contents_scope`] is off, when any `scoped_fields` request is 422
//! `{"error":"Requested scoped field(s) could not be returned, required scope access not included."}` (the
//! text and status Airbyte's test mocks). An unknown scoped field is a 422 on `scoped_fields`. Emails never
//! change in the simulator, so no `email_updated` webhook is ever sent.

use crate::envelope::Filtering;
use crate::errors::ApiError;
use crate::list::{FilterFn, Order};
use crate::query::Query;
use crate::records::emails::{Email, SCOPED_FIELDS, SORTS, STATUSES, Scoped};
use crate::routes::template::{self, Listing};
use crate::routes::{Ctx, enum_list};
use crate::store::TeamData;

/// The 422 text for a scoped field the credential may not read (FACTS.md §1.4).
pub const SCOPE_MISSING_MESSAGE: &str =
    "Requested scoped field(s) could not be returned, required scope access not included.";

fn render_email(data: &TeamData, ctx: &Ctx<'_>, id: i64, scoped: Scoped, out: &mut String) -> bool {
    template::render_row(&data.emails, id, out, |email, out| email.render(id, scoped, &ctx.render, out))
}

/// `scoped_fields`: which sensitive fields to render.
fn scoped_fields(ctx: &Ctx<'_>, query: &Query) -> Result<(Scoped, Option<Vec<String>>), ApiError> {
    let Some(fields) = enum_list(query, "scoped_fields", SCOPED_FIELDS)? else {
        return Ok((Scoped::default(), None));
    };
    if !fields.is_empty() && !ctx.config.email_contents_scope {
        return Err(ApiError::Unprocessable(SCOPE_MISSING_MESSAGE.to_owned()));
    }
    let scoped = Scoped {
        subject: fields.iter().any(|field| field == "subject"),
        body: fields.iter().any(|field| field == "body"),
    };
    Ok((scoped, Some(fields)))
}

/// `GET /v2/activities/emails`.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let query = ctx.query;
    let paging = query.paging()?;
    let sorting = query.sorting(SORTS, "updated_at")?;
    let (scoped, fields) = scoped_fields(ctx, query)?;
    let ids = query.int_list("ids")?;
    let updated = query.time_range("updated_at")?;
    let listing = Listing { paging, sorting, ids: None, updated, created: None };
    let sent = query.time_range("sent_at")?;
    let bounced = query.bool("bounced")?;
    let one_off = query.bool("one_off")?;
    let crm_activity_ids = query.int_list("crm_activity_id")?;
    let action_ids = query.int_list("action_id")?;
    let user_ids = query.int_list("user_id")?;
    let statuses = enum_list(query, "status", STATUSES)?;
    let cadence_ids = query.int_list("cadence_id")?;
    let step_ids = query.int_list("step_id")?;
    let person_ids = query.int_list("person_id")?;
    let addresses: Option<Vec<String>> =
        query.list("email_addresses").map(|list| list.iter().map(|address| address.trim().to_lowercase()).collect());
    let personalization = query.list("personalization");

    let mut filtering = Filtering::default();
    filtering.list("ids", query.list("ids").as_ref());
    filtering.time("updated_at", listing.updated.as_ref());
    filtering.time("sent_at", sent.as_ref());
    filtering.scalar("bounced", query.get("bounced"));
    filtering.scalar("one_off", query.get("one_off"));
    filtering.list("crm_activity_id", query.list("crm_activity_id").as_ref());
    filtering.list("action_id", query.list("action_id").as_ref());
    filtering.list("user_id", query.list("user_id").as_ref());
    filtering.list("status", statuses.as_ref());
    filtering.list("cadence_id", query.list("cadence_id").as_ref());
    filtering.list("step_id", query.list("step_id").as_ref());
    filtering.list("person_id", query.list("person_id").as_ref());
    filtering.list("email_addresses", query.list("email_addresses").as_ref());
    filtering.list("personalization", personalization.as_ref());
    filtering.list("scoped_fields", fields.as_ref());

    let in_ids = |wanted: &Option<Vec<i64>>, value: Option<i64>| {
        wanted.as_ref().is_none_or(|wanted| value.is_some_and(|v| wanted.contains(&v)))
    };
    let range_only = ids.is_none()
        && sent.is_none()
        && bounced.is_none()
        && one_off.is_none()
        && crm_activity_ids.is_none()
        && action_ids.is_none()
        && user_ids.is_none()
        && statuses.is_none()
        && cadence_ids.is_none()
        && step_ids.is_none()
        && person_ids.is_none()
        && addresses.is_none()
        && personalization.is_none();
    let order = listing.order(|_| Order::Key(Box::new(|_, email: &Email| email.sort_value("send_time"))));
    let filter: FilterFn<'_, Email> = Box::new(|_, email| {
        listing.in_ranges(email)
            && sent.as_ref().is_none_or(|range| email.sent_at.is_some_and(|at| range.contains(at)))
            && bounced.is_none_or(|flag| email.bounced == flag)
            && one_off.is_none_or(|flag| email.one_off() == flag)
            && in_ids(&crm_activity_ids, email.crm_activity_id)
            && in_ids(&action_ids, email.action_id)
            && in_ids(&user_ids, Some(email.user_id))
            && statuses.as_ref().is_none_or(|wanted| wanted.iter().any(|s| s == email.status))
            && in_ids(&cadence_ids, email.cadence_id)
            && in_ids(&step_ids, email.step_id)
            && in_ids(&person_ids, email.person_id)
            && addresses.as_ref().is_none_or(|wanted| wanted.contains(&email.recipient_email_address.to_lowercase()))
            && personalization.as_ref().is_none_or(|wanted| wanted.contains(&email.personalization))
    });
    let spec = listing.spec(ids, order, filter, range_only);
    Ok(listing.respond(&data.emails, spec, &filtering, |id, out| render_email(data, ctx, id, scoped, out)))
}

/// `GET /v2/activities/emails/{id}` (takes `scoped_fields` too).
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    let (scoped, _) = scoped_fields(ctx, ctx.query)?;
    template::get_one(1024, |out| render_email(data, ctx, id, scoped, out))
}
