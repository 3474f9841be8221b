//! `/v2/accounts` (FACTS.md §5.2: `name` and `domain` required, domain unique on the team).

use crate::body::Params;
use crate::errors::{ApiError, Validation};
use crate::list::{FilterFn, Order};
use crate::records::accounts::{Account, SORTS};
use crate::routes::template::{self, Listing};
use crate::routes::{Ctx, Outcome};
use crate::store::TeamData;

fn render_account(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    template::render_row(&data.accounts, id, out, |account, out| account.render(id, &ctx.render, out))
}

/// `GET /v2/accounts`.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let query = ctx.query;
    let mut listing = Listing::parse(query, SORTS, "updated_at", false)?;
    let ids = listing.ids.take();
    let domain = query.get("domain").map(|text| text.trim().to_lowercase());
    let names = query.list("name");
    let crm_ids = query.list("crm_id");
    let archived = query.bool("archived")?;
    let owner_ids = query.int_list("owner_id")?;

    let mut filtering = listing.filtering(query);
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
    let order = listing.order(|key| Order::Key(Box::new(move |_, account: &Account| account.sort_value(key))));
    let filter: FilterFn<'_, Account> = Box::new(|_, account| {
        listing.in_ranges(account)
                // FACTS.md §5.2 (accounts list doc): "Name matches are exact and case sensitive".
                && names.as_ref().is_none_or(|wanted| account.name.as_ref().is_some_and(|n| wanted.contains(n)))
                && crm_ids.as_ref().is_none_or(|wanted| account.crm_id.as_ref().is_some_and(|c| wanted.contains(c)))
                && archived.is_none_or(|flag| account.archived_at.is_some() == flag)
                && owner_ids.as_ref().is_none_or(|wanted| account.owner_id.is_some_and(|o| wanted.contains(&o)))
    });
    let spec = listing.spec(candidates, order, filter, false);
    Ok(listing.respond(&data.accounts, spec, &filtering, |id, out| render_account(data, ctx, id, out)))
}

/// `GET /v2/accounts/{id}`.
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    template::get_one(2048, |out| render_account(data, ctx, id, out))
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
    template::written(2048, event_type, |out| render_account(data, ctx, id, out))
}

/// `DELETE /v2/accounts/{id}`: 204, idempotent.
pub fn delete(data: &mut TeamData, ctx: &Ctx<'_>, id: i64) -> Result<Outcome, ApiError> {
    let Some(event) = template::deleted_event(2048, "account_deleted", |out| render_account(data, ctx, id, out)) else {
        return Ok(Outcome::deleted(Vec::new()));
    };
    data.remove_account(id);
    Ok(Outcome::deleted(vec![event]))
}
