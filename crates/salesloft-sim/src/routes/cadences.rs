//! `/v2/cadences` (read-only; FACTS.md §5.2: cadences are created through cadence imports).

use crate::envelope::{self, Filtering};
use crate::errors::ApiError;
use crate::list::{self, ListSpec, Order};
use crate::records::cadences::{Cadence, SORTS};
use crate::routes::{Ctx, render_page};
use crate::store::TeamData;

fn render_cadence(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    let Some(cadence) = data.cadences.get(id) else {
        return false;
    };
    cadence.render(id, data.cadence_people(id), &ctx.render, out);
    true
}

/// `GET /v2/cadences`.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let query = ctx.query;
    let paging = query.paging()?;
    let sorting = query.sorting(SORTS, "updated_at")?;
    let ids = query.int_list("ids")?;
    let updated = query.time_range("updated_at")?;
    let created = query.time_range("created_at")?;
    let team_cadence = query.bool("team_cadence")?;
    let shared = query.bool("shared")?;
    let archived = query.bool("archived")?;
    let names = query.list("name");

    let mut filtering = Filtering::default();
    filtering.list("ids", query.list("ids").as_ref());
    filtering.time("updated_at", updated.as_ref());
    filtering.time("created_at", created.as_ref());
    filtering.scalar("team_cadence", query.get("team_cadence"));
    filtering.scalar("shared", query.get("shared"));
    filtering.scalar("archived", query.get("archived"));
    filtering.list("name", names.as_ref());

    let order = match sorting.key {
        "updated_at" => Order::Updated,
        "created_at" => Order::Id,
        key => Order::Key(Box::new(move |_, cadence: &Cadence| cadence.sort_value(key))),
    };
    let spec = ListSpec {
        ids,
        updated: updated.as_ref(),
        order,
        ascending: sorting.ascending,
        filter: Box::new(|_, cadence: &Cadence| {
            updated.as_ref().is_none_or(|range| range.contains(cadence.updated_at))
                && created.as_ref().is_none_or(|range| range.contains(cadence.created_at))
                && team_cadence.is_none_or(|flag| cadence.team_cadence == flag)
                && shared.is_none_or(|flag| cadence.shared == flag)
                && archived.is_none_or(|flag| cadence.archived_at.is_some() == flag)
                && names.as_ref().is_none_or(|wanted| wanted.contains(&cadence.name))
        }),
        paging,
        paginate: true,
        range_only: false,
    };
    let page = list::run(&data.cadences, spec);
    let records = render_page(&page.ids, |id, out| render_cadence(data, ctx, id, out));
    Ok(envelope::list(&filtering, Some((&paging, &page)), &sorting, &records))
}

/// `GET /v2/cadences/{id}`.
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    let mut out = String::with_capacity(2048);
    if !render_cadence(data, ctx, id, &mut out) {
        return Err(ApiError::NotFound);
    }
    Ok(envelope::single(&out))
}
