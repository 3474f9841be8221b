//! `/v2/accounts` (FACTS.md §5.2: `name` and `domain` required, domain unique on the team).

use crate::body::Params;
use crate::envelope::{self, Filtering};
use crate::errors::{ApiError, Validation};
use crate::list::{self, ListSpec, Order};
use crate::records::accounts::{Account, SORTS};
use crate::routes::{Ctx, Event, Outcome, render_page};
use crate::store::TeamData;

fn render_account(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    let Some(account) = data.accounts.get(id) else {
        return false;
    };
    account.render(id, &ctx.render, out);
    true
}

/// `GET /v2/accounts`.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let query = ctx.query;
    let paging = query.paging()?;
    let sorting = query.sorting(SORTS, "updated_at")?;
    let ids = query.int_list("ids")?;
    let updated = query.time_range("updated_at")?;
    let created = query.time_range("created_at")?;
    let domain = query.get("domain").map(|text| text.trim().to_lowercase());
    let names = query.list("name");
    let crm_ids = query.list("crm_id");
    let archived = query.bool("archived")?;
    let owner_ids = query.int_list("owner_id")?;

    let mut filtering = Filtering::default();
    filtering.list("ids", query.list("ids").as_ref());
    filtering.time("updated_at", updated.as_ref());
    filtering.time("created_at", created.as_ref());
    filtering.scalar("domain", query.get("domain"));
    filtering.list("name", names.as_ref());
    filtering.list("crm_id", crm_ids.as_ref());
    filtering.scalar("archived", query.get("archived"));
    filtering.list("owner_id", query.list("owner_id").as_ref());

    let mut candidates = ids;
    if let Some(domain) = &domain {
        let found: Vec<i64> = data.account_id_by_domain(domain).into_iter().collect();
        candidates = Some(match candidates {
            Some(wanted) => found.into_iter().filter(|id| wanted.contains(id)).collect(),
            None => found,
        });
    }
    let order = match sorting.key {
        "updated_at" => Order::Updated,
        "created_at" => Order::Id,
        key => Order::Key(Box::new(move |_, account: &Account| account.sort_value(key))),
    };
    let spec = ListSpec {
        ids: candidates,
        updated: updated.as_ref(),
        order,
        ascending: sorting.ascending,
        filter: Box::new(|_, account: &Account| {
            updated.as_ref().is_none_or(|range| range.contains(account.updated_at))
                && created.as_ref().is_none_or(|range| range.contains(account.created_at))
                // FACTS.md §5.2 (accounts list doc): "Name matches are exact and case sensitive".
                && names.as_ref().is_none_or(|wanted| account.name.as_ref().is_some_and(|n| wanted.contains(n)))
                && crm_ids.as_ref().is_none_or(|wanted| account.crm_id.as_ref().is_some_and(|c| wanted.contains(c)))
                && archived.is_none_or(|flag| account.archived_at.is_some() == flag)
                && owner_ids.as_ref().is_none_or(|wanted| account.owner_id.is_some_and(|o| wanted.contains(&o)))
        }),
        paging,
        paginate: true,
        range_only: false,
    };
    let page = list::run(&data.accounts, spec);
    let records = render_page(&page.ids, |id, out| render_account(data, ctx, id, out));
    Ok(envelope::list(&filtering, Some((&paging, &page)), &sorting, &records))
}

/// `GET /v2/accounts/{id}`.
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    let mut out = String::with_capacity(2048);
    if !render_account(data, ctx, id, &mut out) {
        return Err(ApiError::NotFound);
    }
    Ok(envelope::single(&out))
}

fn check_team_rules(data: &TeamData, ctx: &Ctx<'_>, id: Option<i64>, account: &Account, errors: &mut Validation) {
    if let Some(domain) = &account.domain
        && let Some(existing) = data.account_id_by_domain(domain)
        && Some(existing) != id
    {
        errors.add("domain", ctx.config.taken_message.as_str());
    }
    if let Some(owner) = account.owner_id
        && data.users.get(owner).is_none()
    {
        errors.add("owner_id", "is invalid");
    }
}

/// `POST /v2/accounts`.
pub fn create(data: &mut TeamData, ctx: &Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let mut account = Account { created_at: ctx.now, updated_at: ctx.now, ..Account::default() };
    let mut errors = Validation::default();
    account.apply(params, ctx.now, &ctx.config.required_message, &mut errors);
    check_team_rules(data, ctx, None, &account, &mut errors);
    errors.finish()?;
    account.creator_id = Some(ctx.user_id);
    if account.owner_id.is_none() {
        account.owner_id = Some(ctx.user_id);
    }
    let id = data.accounts.allocate_id();
    data.put_account(id, account);
    written(data, ctx, id, "account_created")
}

/// `PUT /v2/accounts/{id}`.
pub fn update(data: &mut TeamData, ctx: &Ctx<'_>, id: i64, params: &Params) -> Result<Outcome, ApiError> {
    let mut account = data.accounts.get(id).ok_or(ApiError::NotFound)?.clone();
    let mut errors = Validation::default();
    account.apply(params, ctx.now, &ctx.config.required_message, &mut errors);
    check_team_rules(data, ctx, Some(id), &account, &mut errors);
    errors.finish()?;
    account.updated_at = ctx.now;
    data.put_account(id, account);
    written(data, ctx, id, "account_updated")
}

fn written(data: &TeamData, ctx: &Ctx<'_>, id: i64, event_type: &'static str) -> Result<Outcome, ApiError> {
    let mut record = String::with_capacity(2048);
    render_account(data, ctx, id, &mut record);
    Ok(Outcome::with_event(envelope::single(&record), event_type, record))
}

/// `DELETE /v2/accounts/{id}`: 204, idempotent.
pub fn delete(data: &mut TeamData, ctx: &Ctx<'_>, id: i64) -> Result<Outcome, ApiError> {
    let mut record = String::with_capacity(2048);
    if !render_account(data, ctx, id, &mut record) {
        return Ok(Outcome::deleted(Vec::new()));
    }
    data.remove_account(id);
    Ok(Outcome::deleted(vec![Event { event_type: "account_deleted", body: record }]))
}
