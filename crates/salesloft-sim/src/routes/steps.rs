//! `/v2/steps` (read-only; FACTS.md §5.2: filters `ids, cadence_id, type, has_due_actions`; FACTS.md §4.1:
//! `sort_by created_at|updated_at`). Steps are seeded with their cadences and never change, so no
//! `step_*` webhook event is ever sent.

use crate::envelope::{self, Filtering};
use crate::errors::ApiError;
use crate::list::{self, ListSpec, Order};
use crate::records::steps::{SORTS, STEP_TYPES, Step};
use crate::routes::{Ctx, enum_list, render_page};
use crate::store::TeamData;

fn render_step(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    let Some(step) = data.steps.get(id) else {
        return false;
    };
    step.render(id, &ctx.render, out);
    true
}

/// `GET /v2/steps`: filters `ids, cadence_id, type` (values checked), `has_due_actions` (an open, due
/// action on the step), `updated_at[…]`, `created_at[…]`. The OpenAPI documents `cadence_id` and `type` as
/// single values; several (`k[]=a&k[]=b` or `k=a,b`) are accepted and any one matches.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let query = ctx.query;
    let paging = query.paging()?;
    let sorting = query.sorting(SORTS, "updated_at")?;
    let ids = query.int_list("ids")?;
    let updated = query.time_range("updated_at")?;
    let created = query.time_range("created_at")?;
    let cadence_ids = query.int_list("cadence_id")?;
    let types = enum_list(query, "type", STEP_TYPES)?;
    let has_due_actions = query.bool("has_due_actions")?;

    let mut filtering = Filtering::default();
    filtering.list("ids", query.list("ids").as_ref());
    filtering.time("updated_at", updated.as_ref());
    filtering.time("created_at", created.as_ref());
    filtering.list("cadence_id", query.list("cadence_id").as_ref());
    filtering.list("type", types.as_ref());
    filtering.scalar("has_due_actions", query.get("has_due_actions"));

    let range_only =
        ids.is_none() && created.is_none() && cadence_ids.is_none() && types.is_none() && has_due_actions.is_none();
    let order = match sorting.key {
        "created_at" => Order::Id,
        _ => Order::Updated,
    };
    let spec = ListSpec {
        ids,
        updated: updated.as_ref(),
        order,
        ascending: sorting.ascending,
        filter: Box::new(|id, step: &Step| {
            updated.as_ref().is_none_or(|range| range.contains(step.updated_at))
                && created.as_ref().is_none_or(|range| range.contains(step.created_at))
                && cadence_ids.as_ref().is_none_or(|wanted| wanted.contains(&step.cadence_id))
                && types.as_ref().is_none_or(|wanted| wanted.iter().any(|t| t == step.step_type))
                && has_due_actions.is_none_or(|flag| data.step_has_due_actions(id) == flag)
        }),
        paging,
        paginate: true,
        range_only,
    };
    let page = list::run(&data.steps, spec);
    let records = render_page(&page.ids, |id, out| render_step(data, ctx, id, out));
    Ok(envelope::list(&filtering, Some((&paging, &page)), &sorting, &records))
}

/// `GET /v2/steps/{id}`.
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    let mut out = String::with_capacity(512);
    if !render_step(data, ctx, id, &mut out) {
        return Err(ApiError::NotFound);
    }
    Ok(envelope::single(&out))
}
