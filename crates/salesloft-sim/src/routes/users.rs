//! `/v2/me` and `/v2/users` (FACTS.md §4.1: `/v2/users` pages only when `page` is given; without it, every
//! user and no `paging` key).

use crate::envelope::{self, Filtering};
use crate::errors::ApiError;
use crate::list::{self, ListSpec, Order};
use crate::records::users::{SORTS, User};
use crate::routes::{Ctx, render_page};
use crate::store::TeamData;

fn render_user(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    let Some(user) = data.users.get(id) else {
        return false;
    };
    user.render(id, data.team.id, &ctx.render, out);
    true
}

/// `GET /v2/me`: the user the credential acts as.
pub fn me(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    get(data, ctx, ctx.user_id)
}

/// `GET /v2/users/{id}`.
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    let mut out = String::with_capacity(2048);
    if !render_user(data, ctx, id, &mut out) {
        return Err(ApiError::NotFound);
    }
    Ok(envelope::single(&out))
}

/// `GET /v2/users`.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let query = ctx.query;
    let paging = query.paging()?;
    let sorting = query.sorting(SORTS, "id")?;
    let ids = query.int_list("ids")?;
    let guids = query.list("guid");
    let active = query.bool("active")?;

    let mut filtering = Filtering::default();
    filtering.list("ids", query.list("ids").as_ref());
    filtering.list("guid", guids.as_ref());
    filtering.scalar("active", query.get("active"));

    let order = match sorting.key {
        "id" => Order::Id,
        key => Order::Key(Box::new(move |id, user: &User| user.sort_value(id, key))),
    };
    let spec = ListSpec {
        ids,
        updated: None,
        order,
        ascending: sorting.ascending,
        filter: Box::new(|_, user: &User| {
            guids.as_ref().is_none_or(|wanted| wanted.contains(&user.guid))
                && active.is_none_or(|flag| user.active == flag)
        }),
        paging,
        paginate: paging.page_given,
    };
    let page = list::run(&data.users, spec);
    let records = render_page(&page.ids, |id, out| render_user(data, ctx, id, out));
    let paging_meta = paging.page_given.then_some((&paging, &page));
    Ok(envelope::list(&filtering, paging_meta, &sorting, &records))
}
