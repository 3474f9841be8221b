//! `/v2/actions` (read-only; FACTS.md §5.2, OpenAPI "List actions"): only open actions are served.
//!
//! The OpenAPI: the list returns "only actions that are currently in_progess"; a fetch by id returns
//! actions that are `in_progress` or `pending_activity`, and "Once an action is complete, the request for
//! that action will return a 404". A user who is not a team admin sees only their own actions; an admin sees
//! the team's and may filter by `user_guid`. Actions are completed through `POST /v2/activities/calls`
//! (phone actions) and `POST /v2/activities` (integration actions); there is no webhook event type for
//! actions (FACTS.md §6.3).

use crate::envelope::Filtering;
use crate::errors::ApiError;
use crate::list::{FilterFn, Order};
use crate::records::actions::{ACTION_TYPES, Action, SORTS};
use crate::routes::template::{self, Listing};
use crate::routes::{Ctx, enum_list};
use crate::store::TeamData;

fn render_action(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    let Some(action) = data.actions.get(id) else {
        return false;
    };
    if !action.is_open() || !visible(data, ctx, action) {
        return false;
    }
    action.render(id, &ctx.render, out);
    true
}

/// Whether the caller may see the action: admins see the team's, others their own.
fn visible(data: &TeamData, ctx: &Ctx<'_>, action: &Action) -> bool {
    action.user_id == ctx.user_id || data.is_admin(ctx.user_id)
}

/// `GET /v2/actions`: filters `ids, step_id, type` (values checked), `due_on[…]`, `user_guid` (unknown guids
/// match nothing), `person_id, cadence_id, multitouch_group_id, updated_at[…]`; `sort_by
/// created_at|updated_at`.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let query = ctx.query;
    let paging = query.paging()?;
    let sorting = query.sorting(SORTS, "updated_at")?;
    let ids = query.int_list("ids")?;
    let updated = query.time_range("updated_at")?;
    let listing = Listing { paging, sorting, ids: None, updated, created: None };
    let due_on = query.time_range("due_on")?;
    let step_ids = query.int_list("step_id")?;
    let types = enum_list(query, "type", ACTION_TYPES)?;
    let guids = query.list("user_guid");
    let user_ids: Option<Vec<i64>> =
        guids.as_ref().map(|guids| guids.iter().filter_map(|guid| data.user_id_by_guid(guid)).collect());
    let person_ids = query.int_list("person_id")?;
    let cadence_ids = query.int_list("cadence_id")?;
    let groups = query.int_list("multitouch_group_id")?;
    let admin = data.is_admin(ctx.user_id);

    let mut filtering = Filtering::default();
    filtering.list("ids", query.list("ids").as_ref());
    filtering.time("updated_at", listing.updated.as_ref());
    filtering.time("due_on", due_on.as_ref());
    filtering.list("step_id", query.list("step_id").as_ref());
    filtering.list("type", types.as_ref());
    filtering.list("user_guid", guids.as_ref());
    filtering.list("person_id", query.list("person_id").as_ref());
    filtering.list("cadence_id", query.list("cadence_id").as_ref());
    filtering.list("multitouch_group_id", query.list("multitouch_group_id").as_ref());

    let order = listing.order(|_| Order::Updated);
    let filter: FilterFn<'_, Action> = Box::new(|_, action| {
        // "Only actions that are currently in_progess will be returned by this endpoint."
        action.is_open()
            && action.status == "in_progress"
            && (admin || action.user_id == ctx.user_id)
            && listing.in_ranges(action)
            && due_on.as_ref().is_none_or(|range| range.contains(action.due_on))
            && step_ids.as_ref().is_none_or(|wanted| action.step_id.is_some_and(|s| wanted.contains(&s)))
            && types.as_ref().is_none_or(|wanted| wanted.iter().any(|t| t == action.action_type))
            && user_ids.as_ref().is_none_or(|wanted| wanted.contains(&action.user_id))
            && person_ids.as_ref().is_none_or(|wanted| wanted.contains(&action.person_id))
            && cadence_ids.as_ref().is_none_or(|wanted| action.cadence_id.is_some_and(|c| wanted.contains(&c)))
            && groups.as_ref().is_none_or(|wanted| action.multitouch_group_id.is_some_and(|g| wanted.contains(&g)))
    });
    // Completed actions are filtered out, so an index count would be wrong.
    let spec = listing.spec(ids, order, filter, false);
    Ok(listing.respond(&data.actions, spec, &filtering, |id, out| render_action(data, ctx, id, out)))
}

/// `GET /v2/actions/{id}`: 404 once the action is completed (or when it is another user's and the caller is
/// not an admin).
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    template::get_one(512, |out| render_action(data, ctx, id, out))
}
