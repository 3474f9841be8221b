//! `/v2/cadences` (read-only; FACTS.md §5.2: cadences are created through cadence imports).

use crate::errors::ApiError;
use crate::list::{FilterFn, Order};
use crate::records::cadences::{Cadence, SORTS};
use crate::routes::Ctx;
use crate::routes::template::{self, Listing};
use crate::store::TeamData;

fn render_cadence(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    template::render_row(&data.cadences, id, out, |cadence, out| {
        cadence.render(id, data.cadence_people(id), &ctx.render, out)
    })
}

/// `GET /v2/cadences`.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let query = ctx.query;
    let mut listing = Listing::parse(query, SORTS, "updated_at", false)?;
    let ids = listing.ids.take();
    let team_cadence = query.bool("team_cadence")?;
    let shared = query.bool("shared")?;
    let archived = query.bool("archived")?;
    let names = query.list("name");

    let mut filtering = listing.filtering(query);
    filtering.scalar("team_cadence", query.get("team_cadence"));
    filtering.scalar("shared", query.get("shared"));
    filtering.scalar("archived", query.get("archived"));
    filtering.list("name", names.as_ref());

    let order = listing.order(|key| Order::Key(Box::new(move |_, cadence: &Cadence| cadence.sort_value(key))));
    let filter: FilterFn<'_, Cadence> = Box::new(|_, cadence| {
        listing.in_ranges(cadence)
            && team_cadence.is_none_or(|flag| cadence.team_cadence == flag)
            && shared.is_none_or(|flag| cadence.shared == flag)
            && archived.is_none_or(|flag| cadence.archived_at.is_some() == flag)
            && names.as_ref().is_none_or(|wanted| wanted.contains(&cadence.name))
    });
    let spec = listing.spec(ids, order, filter, false);
    Ok(listing.respond(&data.cadences, spec, &filtering, |id, out| render_cadence(data, ctx, id, out)))
}

/// `GET /v2/cadences/{id}`.
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    template::get_one(2048, |out| render_cadence(data, ctx, id, out))
}
