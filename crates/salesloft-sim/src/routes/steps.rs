//! `/v2/steps` (read-only; FACTS.md §5.2: filters `ids, cadence_id, type, has_due_actions`; FACTS.md §4.1:
//! `sort_by created_at|updated_at`). Steps are seeded with their cadences and never change, so no
//! `step_*` webhook event is ever sent.

use crate::errors::ApiError;
use crate::list::{FilterFn, Order};
use crate::records::steps::{SORTS, STEP_TYPES, Step};
use crate::routes::template::{self, Listing};
use crate::routes::{Ctx, enum_list};
use crate::store::TeamData;

fn render_step(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    template::render_row(&data.steps, id, out, |step, out| step.render(id, &ctx.render, out))
}

/// `GET /v2/steps`: filters `ids, cadence_id, type` (values checked), `has_due_actions` (an open, due
/// action on the step), `updated_at[…]`, `created_at[…]`. The OpenAPI documents `cadence_id` and `type` as
/// single values; several (`k[]=a&k[]=b` or `k=a,b`) are accepted and any one matches.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let query = ctx.query;
    let mut listing = Listing::parse(query, SORTS, "updated_at", false)?;
    let ids = listing.ids.take();
    let cadence_ids = query.int_list("cadence_id")?;
    let types = enum_list(query, "type", STEP_TYPES)?;
    let has_due_actions = query.bool("has_due_actions")?;

    let mut filtering = listing.filtering(query);
    filtering.list("cadence_id", query.list("cadence_id").as_ref());
    filtering.list("type", types.as_ref());
    filtering.scalar("has_due_actions", query.get("has_due_actions"));

    let range_only = ids.is_none()
        && listing.created.is_none()
        && cadence_ids.is_none()
        && types.is_none()
        && has_due_actions.is_none();
    let order = listing.order(|_| Order::Updated);
    let filter: FilterFn<'_, Step> = Box::new(|id, step| {
        listing.in_ranges(step)
            && cadence_ids.as_ref().is_none_or(|wanted| wanted.contains(&step.cadence_id))
            && types.as_ref().is_none_or(|wanted| wanted.iter().any(|t| t == step.step_type))
            && has_due_actions.is_none_or(|flag| data.step_has_due_actions(id) == flag)
    });
    let spec = listing.spec(ids, order, filter, range_only);
    Ok(listing.respond(&data.steps, spec, &filtering, |id, out| render_step(data, ctx, id, out)))
}

/// `GET /v2/steps/{id}`.
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    template::get_one(512, |out| render_step(data, ctx, id, out))
}
