//! `/v2/me` and `/v2/users` (FACTS.md §4.1: `/v2/users` pages only when `page` is given; without it, every
//! user and no `paging` key). `PUT /v2/users/{id}` takes `active, group_id, role_id, work_country`
//! (FACTS.md §5.2) and announces `user_updated` (FACTS.md §6.3).

use crate::body::Params;
use crate::envelope::{self, Filtering};
use crate::errors::{ApiError, Validation};
use crate::list::{self, ListSpec, Order};
use crate::records::users::{SORTS, User};
use crate::routes::template;
use crate::routes::{Ctx, Outcome, render_page};
use crate::store::TeamData;

fn render_user(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    template::render_row(&data.users, id, out, |user, out| user.render(id, data.team.id, &ctx.render, out))
}

/// `GET /v2/me`: the user the credential acts as.
pub fn me(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    get(data, ctx, ctx.user_id)
}

/// `GET /v2/users/{id}`.
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    template::get_one(2048, |out| render_user(data, ctx, id, out))
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
        range_only: false,
    };
    let page = list::run(&data.users, spec);
    let records = render_page(&page.ids, |id, out| render_user(data, ctx, id, out));
    let paging_meta = paging.page_given.then_some((&paging, &page));
    Ok(envelope::list(&filtering, paging_meta, &sorting, &records))
}

/// `PUT /v2/users/{id}`. Every field is optional; a bad value is a 422 on its field and nothing changes.
/// - `active`: a boolean.
/// - `group_id`: a positive integer, or null for no group (groups are not simulated, so any id is taken).
/// - `role_id`: "Must be one of: Admin, User, or a custom role ID" (OpenAPI); `Admin`/`User` in any case,
///   or a custom role id made of digits (custom roles are not simulated).
/// - `work_country`: "The user's work country (alpha-2 code)": two ASCII letters, stored upper-case; null
///   or blank clears it.
pub fn update(data: &mut TeamData, ctx: &Ctx<'_>, id: i64, params: &Params) -> Result<Outcome, ApiError> {
    let mut user = data.users.get(id).ok_or(ApiError::NotFound)?.clone();
    let mut errors = Validation::default();
    if let Some(active) = params.bool("active", &mut errors) {
        user.active = active;
    }
    match params.int("group_id", &mut errors) {
        Some(Some(group)) if group <= 0 => errors.add("group_id", "is invalid"),
        Some(group) => user.group_id = group,
        None => {}
    }
    match params.string("role_id", &mut errors) {
        Some(Some(role)) => {
            let role = role.trim();
            if role.eq_ignore_ascii_case("admin") {
                user.role = "Admin".to_owned();
            } else if role.eq_ignore_ascii_case("user") {
                user.role = "User".to_owned();
            } else if !role.is_empty() && role.len() <= 18 && role.bytes().all(|b| b.is_ascii_digit()) {
                user.role = role.to_owned();
            } else {
                errors.add("role_id", "must be one of: Admin, User, or a custom role ID");
            }
        }
        Some(None) => errors.add("role_id", ctx.config.required_message.as_str()),
        None => {}
    }
    match params.string("work_country", &mut errors) {
        Some(Some(country)) => {
            let country = country.trim();
            if country.len() == 2 && country.bytes().all(|b| b.is_ascii_alphabetic()) {
                user.work_country = Some(country.to_ascii_uppercase());
            } else {
                errors.add("work_country", "must be an ISO 3166-1 alpha-2 country code");
            }
        }
        Some(None) => user.work_country = None,
        None => {}
    }
    errors.finish()?;
    user.updated_at = ctx.now;
    data.users.put(id, user);
    template::written(2048, "user_updated", |out| render_user(data, ctx, id, out))
}
