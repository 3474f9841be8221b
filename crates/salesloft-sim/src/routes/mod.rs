//! The `/v2` API: routing by resource and the shared shape of a handler.
//!
//! Paths are matched after `/v2/` with any `.json` suffix removed (FACTS.md §1.1: both forms work). An
//! unknown path, an unknown method on a known path, or a non-integer id is 404 `{"error":"Not Found"}`
//! (FACTS.md §10.1).

mod accounts;
mod actions;
mod activities;
mod bulk_jobs;
mod cadence_memberships;
mod cadences;
mod calls;
mod emails;
mod notes;
mod people;
pub(crate) mod person_upserts;
mod steps;
mod tasks;
mod template;
mod users;
mod webhook_subscriptions;

use std::sync::{PoisonError, RwLock};

use axum::http::{Method, StatusCode};
use axum::response::Response;

use crate::body::Params;
use crate::clock::Micros;
use crate::config::SimConfig;
use crate::envelope;
use crate::errors::{ApiError, json_response, no_content};
use crate::query::Query;
use crate::records::Render;
use crate::store::TeamData;

/// A resource change that webhooks announce: the event type and the bare resource JSON (FACTS.md §6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// e.g. `person_created`.
    pub event_type: &'static str,
    /// The rendered resource, exactly the bytes that are signed and sent.
    pub body: String,
}

/// What a handler produced.
pub struct Outcome {
    /// The response.
    pub response: Response,
    /// Events to deliver to webhook subscribers.
    pub events: Vec<Event>,
}

impl Outcome {
    fn ok(body: String) -> Self {
        Self { response: json_response(StatusCode::OK, body), events: Vec::new() }
    }

    fn with_event(body: String, event_type: &'static str, record: String) -> Self {
        Self { response: json_response(StatusCode::OK, body), events: vec![Event { event_type, body: record }] }
    }

    fn deleted(events: Vec<Event>) -> Self {
        Self { response: no_content(), events }
    }
}

/// What every handler may read besides the data.
pub struct Ctx<'a> {
    /// Configuration (validation messages, uniqueness switch).
    pub config: &'a SimConfig,
    /// Rendering context.
    pub render: Render<'a>,
    /// Now, on the simulator clock.
    pub now: Micros,
    /// The user the credential acts as.
    pub user_id: i64,
    /// Query parameters.
    pub query: &'a Query,
}

/// One parsed API request.
pub struct ApiRequest<'a> {
    /// Method.
    pub method: &'a Method,
    /// Path segments after `/v2/`, `.json` removed from the last.
    pub segments: Vec<&'a str>,
    /// Body parameters (writes only).
    pub params: Params,
}

/// Splits a `/v2/...` path into segments, dropping the `.json` suffix. `None` when not under `/v2/`.
pub fn segments(path: &str) -> Option<Vec<&str>> {
    let rest = path.strip_prefix("/v2/")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let rest = rest.strip_suffix(".json").unwrap_or(rest);
    if rest.is_empty() {
        return None;
    }
    Some(rest.split('/').collect())
}

/// Route templates (after `/v2/`, ids as `{id}`) that get their own stats label.
const KNOWN_ROUTES: &[&str] = &[
    "me",
    "team",
    "users",
    "users/{id}",
    "people",
    "people/{id}",
    "person_upserts",
    "accounts",
    "accounts/{id}",
    "cadences",
    "cadences/{id}",
    "cadence_memberships",
    "cadence_memberships/{id}",
    "notes",
    "notes/{id}",
    "tasks",
    "tasks/{id}",
    "steps",
    "steps/{id}",
    "actions",
    "actions/{id}",
    "activities",
    "activities/emails",
    "activities/emails/{id}",
    "activities/calls",
    "activities/calls/{id}",
    "webhook_subscriptions",
    "webhook_subscriptions/{id}",
    "bulk_jobs",
    "bulk_jobs/{id}",
    "bulk_jobs/{id}/job_data",
    "bulk_jobs/{id}/results",
];

/// Stats label of anything that is not a known route (so stats keys stay bounded whatever callers send).
pub const OTHER_ROUTE: &str = "other";

/// The route label for stats: `GET /v2/people/{id}`, `POST /oauth/token`, or [`OTHER_ROUTE`] for an unknown
/// method or path.
pub fn route_label(method: &Method, path: &str) -> String {
    const METHODS: &[Method] =
        &[Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS];
    if !METHODS.contains(method) {
        return OTHER_ROUTE.to_owned();
    }
    match segments(path) {
        Some(parts) => {
            let template = parts
                .iter()
                .map(|part| if part.parse::<i64>().is_ok() { "{id}" } else { part })
                .collect::<Vec<_>>()
                .join("/");
            if KNOWN_ROUTES.contains(&template.as_str()) {
                format!("{method} /v2/{template}")
            } else {
                OTHER_ROUTE.to_owned()
            }
        }
        None if path == "/oauth/token" || path == "/oauth/authorize" => format!("{method} {path}"),
        None => OTHER_ROUTE.to_owned(),
    }
}

/// Cost of one `/v2` request (FACTS.md §2): the bulk-job routes cost what [`SimConfig`] sets for them
/// (`bulk_job_cost`, `bulk_job_data_cost`, `bulk_results_cost`; FACTS.md §12: unconfirmed, presumably 1 per
/// request), everything else its `page` parameter's cost (FACTS.md §2.2).
pub fn cost(config: &SimConfig, path: &str, page: u64) -> u32 {
    match segments(path).as_deref() {
        Some(["bulk_jobs"] | ["bulk_jobs", _]) => config.bulk_job_cost,
        Some(["bulk_jobs", _, "job_data"]) => config.bulk_job_data_cost,
        Some(["bulk_jobs", _, "results"]) => config.bulk_results_cost,
        _ => config.page_cost(page),
    }
}

/// Whether a request may start a bulk job (so the background runner should look).
pub fn may_start_bulk_job(method: &Method, path: &str) -> bool {
    is_write(method) && matches!(segments(path).as_deref(), Some(["bulk_jobs", _]))
}

/// Whether the method writes (and so takes the write lock and reads a body).
pub fn is_write(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

/// Runs an API request against the team's data.
pub fn handle(data: &RwLock<TeamData>, ctx: &Ctx<'_>, request: ApiRequest<'_>) -> Outcome {
    let result = if is_write(request.method) {
        let mut guard = data.write().unwrap_or_else(PoisonError::into_inner);
        write(&mut guard, ctx, &request)
    } else {
        let guard = data.read().unwrap_or_else(PoisonError::into_inner);
        read(&guard, ctx, &request).map(Outcome::ok)
    };
    result.unwrap_or_else(|error| Outcome { response: error.into_response(), events: Vec::new() })
}

fn parse_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().map_err(|_| ApiError::NotFound)
}

fn read(data: &TeamData, ctx: &Ctx<'_>, request: &ApiRequest<'_>) -> Result<String, ApiError> {
    if *request.method != Method::GET && *request.method != Method::HEAD {
        return Err(ApiError::NotFound);
    }
    match request.segments.as_slice() {
        ["me"] => users::me(data, ctx),
        ["team"] => {
            let mut out = String::with_capacity(1024);
            data.team.render(&ctx.render, &mut out);
            Ok(envelope::single(&out))
        }
        ["users"] => users::list(data, ctx),
        ["users", id] => users::get(data, ctx, parse_id(id)?),
        ["people"] => people::list(data, ctx),
        ["people", id] => people::get(data, ctx, parse_id(id)?),
        ["accounts"] => accounts::list(data, ctx),
        ["accounts", id] => accounts::get(data, ctx, parse_id(id)?),
        ["cadences"] => cadences::list(data, ctx),
        ["cadences", id] => cadences::get(data, ctx, parse_id(id)?),
        ["cadence_memberships"] => cadence_memberships::list(data, ctx),
        ["cadence_memberships", id] => cadence_memberships::get(data, ctx, parse_id(id)?),
        ["notes"] => notes::list(data, ctx),
        ["notes", id] => notes::get(data, ctx, parse_id(id)?),
        ["tasks"] => tasks::list(data, ctx),
        ["tasks", id] => tasks::get(data, ctx, parse_id(id)?),
        ["steps"] => steps::list(data, ctx),
        ["steps", id] => steps::get(data, ctx, parse_id(id)?),
        ["actions"] => actions::list(data, ctx),
        ["actions", id] => actions::get(data, ctx, parse_id(id)?),
        ["activities", "emails"] => emails::list(data, ctx),
        ["activities", "emails", id] => emails::get(data, ctx, parse_id(id)?),
        ["activities", "calls"] => calls::list(data, ctx),
        ["activities", "calls", id] => calls::get(data, ctx, parse_id(id)?),
        ["webhook_subscriptions"] => webhook_subscriptions::list(data, ctx),
        ["webhook_subscriptions", id] => webhook_subscriptions::get(data, ctx, parse_id(id)?),
        ["bulk_jobs"] => bulk_jobs::list(data, ctx),
        ["bulk_jobs", id] => bulk_jobs::get(data, ctx, parse_id(id)?),
        ["bulk_jobs", id, "job_data"] => bulk_jobs::rows(data, ctx, parse_id(id)?, false),
        ["bulk_jobs", id, "results"] => bulk_jobs::rows(data, ctx, parse_id(id)?, true),
        _ => Err(ApiError::NotFound),
    }
}

fn write(data: &mut TeamData, ctx: &Ctx<'_>, request: &ApiRequest<'_>) -> Result<Outcome, ApiError> {
    let params = &request.params;
    match (request.method.clone(), request.segments.as_slice()) {
        (Method::POST, ["people"]) => people::create(data, ctx, params),
        (Method::PUT | Method::PATCH, ["people", id]) => people::update(data, ctx, parse_id(id)?, params),
        (Method::DELETE, ["people", id]) => people::delete(data, ctx, parse_id(id)?),
        (Method::POST, ["accounts"]) => accounts::create(data, ctx, params),
        (Method::PUT | Method::PATCH, ["accounts", id]) => accounts::update(data, ctx, parse_id(id)?, params),
        (Method::DELETE, ["accounts", id]) => accounts::delete(data, ctx, parse_id(id)?),
        (Method::POST, ["cadence_memberships"]) => cadence_memberships::create(data, ctx, params),
        (Method::DELETE, ["cadence_memberships", id]) => cadence_memberships::delete(data, ctx, parse_id(id)?),
        (Method::POST, ["person_upserts"]) => person_upserts::upsert(data, ctx, params),
        (Method::PUT | Method::PATCH, ["users", id]) => users::update(data, ctx, parse_id(id)?, params),
        (Method::POST, ["notes"]) => notes::create(data, ctx, params),
        (Method::PUT | Method::PATCH, ["notes", id]) => notes::update(data, ctx, parse_id(id)?, params),
        (Method::DELETE, ["notes", id]) => notes::delete(data, ctx, parse_id(id)?),
        (Method::POST, ["tasks"]) => tasks::create(data, ctx, params),
        (Method::PUT | Method::PATCH, ["tasks", id]) => tasks::update(data, ctx, parse_id(id)?, params),
        (Method::POST, ["activities", "calls"]) => calls::create(data, ctx, params),
        (Method::POST, ["activities"]) => activities::create(data, ctx, params),
        (Method::POST, ["webhook_subscriptions"]) => webhook_subscriptions::create(data, ctx, params),
        (Method::PUT | Method::PATCH, ["webhook_subscriptions", id]) => {
            webhook_subscriptions::update(data, ctx, parse_id(id)?, params)
        }
        (Method::DELETE, ["webhook_subscriptions", id]) => webhook_subscriptions::delete(data, parse_id(id)?),
        (Method::POST, ["bulk_jobs"]) => bulk_jobs::create(data, ctx, params),
        (Method::PUT | Method::PATCH, ["bulk_jobs", id]) => bulk_jobs::update(data, ctx, parse_id(id)?, params),
        (Method::POST, ["bulk_jobs", id, "job_data"]) => bulk_jobs::upload(data, ctx, parse_id(id)?, params),
        _ => Err(ApiError::NotFound),
    }
}

/// A list filter whose values must come from `allowed` (422 naming the parameter otherwise).
fn enum_list(query: &Query, name: &str, allowed: &[&str]) -> Result<Option<Vec<String>>, ApiError> {
    let Some(values) = query.list(name) else {
        return Ok(None);
    };
    if values.iter().any(|value| !allowed.contains(&value.as_str())) {
        return Err(ApiError::field(name, format!("must be one of: {}", allowed.join(", "))));
    }
    Ok(Some(values))
}

/// Renders records of a page with `render_one`, then the list envelope.
fn render_page(ids: &[i64], mut render_one: impl FnMut(i64, &mut String) -> bool) -> Vec<String> {
    let mut records = Vec::with_capacity(ids.len());
    for id in ids {
        let mut out = String::with_capacity(1024);
        if render_one(*id, &mut out) {
            records.push(out);
        }
    }
    records
}

#[cfg(test)]
mod label_tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        let table = [
            (Method::GET, "/v2/people/123.json", "GET /v2/people/{id}"),
            (Method::GET, "/v2/activities/emails", "GET /v2/activities/emails"),
            (Method::POST, "/oauth/token", "POST /oauth/token"),
            (Method::GET, "/v2/people/abc", "other"),
            (Method::GET, "/v2/no-such-thing-1", "other"),
            (Method::GET, "/v2", "other"),
            (Method::GET, "/oauth/anything", "other"),
            (Method::from_bytes(b"BREW").expect("method"), "/v2/people", "other"),
        ];
        for (method, path, expected) in table {
            assert_eq!(route_label(&method, path), expected, "{method} {path}");
        }
    }
}
