//! `/v2/webhook_subscriptions` (FACTS.md §6.1).
//!
//! The list "fetches all of the customer's webhook subscriptions" and documents no paging parameters, so it
//! returns every match with no `paging` metadata (tap-salesloft reads `data`; unconfirmed either way).

use crate::body::Params;
use crate::envelope::{self, Filtering};
use crate::errors::{ApiError, Validation};
use crate::query::Sorting;
use crate::records::webhook_subscriptions::Subscription;
use crate::routes::template;
use crate::routes::{Ctx, Outcome, render_page};
use crate::store::TeamData;

fn render_subscription(data: &TeamData, id: i64, out: &mut String) -> bool {
    template::render_row(&data.subscriptions, id, out, |subscription, out| subscription.render(id, data.team.id, out))
}

/// `GET /v2/webhook_subscriptions?enabled=`.
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let enabled = ctx.query.bool("enabled")?;
    let mut filtering = Filtering::default();
    filtering.scalar("enabled", ctx.query.get("enabled"));
    let ids: Vec<i64> = data
        .subscriptions
        .by_id(true)
        .filter(|(_, subscription)| enabled.is_none_or(|flag| subscription.enabled == flag))
        .map(|(id, _)| id)
        .collect();
    let records = render_page(&ids, |id, out| render_subscription(data, id, out));
    Ok(envelope::list(&filtering, None, &Sorting { key: "id", ascending: true }, &records))
}

/// `GET /v2/webhook_subscriptions/{id}`.
pub fn get(data: &TeamData, _ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    template::get_one(256, |out| render_subscription(data, id, out))
}

/// `POST /v2/webhook_subscriptions`.
pub fn create(data: &mut TeamData, ctx: &Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let user_guid = data.users.get(ctx.user_id).map(|user| user.guid.clone()).unwrap_or_default();
    let mut subscription =
        Subscription { enabled: true, user_guid, created_at: ctx.now, updated_at: ctx.now, ..Subscription::default() };
    let mut errors = Validation::default();
    subscription.apply(params, true, &ctx.config.required_message, &mut errors);
    errors.finish()?;
    let id = data.subscriptions.allocate_id();
    data.subscriptions.put(id, subscription);
    let mut out = String::with_capacity(256);
    render_subscription(data, id, &mut out);
    Ok(Outcome::ok(envelope::single(&out)))
}

/// `PUT /v2/webhook_subscriptions/{id}`.
pub fn update(data: &mut TeamData, ctx: &Ctx<'_>, id: i64, params: &Params) -> Result<Outcome, ApiError> {
    let mut subscription = data.subscriptions.get(id).ok_or(ApiError::NotFound)?.clone();
    let mut errors = Validation::default();
    subscription.apply(params, false, &ctx.config.required_message, &mut errors);
    errors.finish()?;
    subscription.updated_at = ctx.now;
    data.subscriptions.put(id, subscription);
    let mut out = String::with_capacity(256);
    render_subscription(data, id, &mut out);
    Ok(Outcome::ok(envelope::single(&out)))
}

/// `DELETE /v2/webhook_subscriptions/{id}`: 204, idempotent.
pub fn delete(data: &mut TeamData, id: i64) -> Result<Outcome, ApiError> {
    data.subscriptions.remove(id);
    Ok(Outcome::deleted(Vec::new()))
}
