//! `/v2/tasks` (FACTS.md §5.2: POST requires `subject, person_id, user_id, task_type (call|email|general),
//! due_date, current_state (scheduled)`; body `idempotency_key`, also a list filter). There is no DELETE
//! in the OpenAPI, so `DELETE /v2/tasks/{id}` is 404 like any unknown route.
//!
//! Webhook events (FACTS.md §6.3): `task_created`; `task_updated` on every update, and `task_completed` as
//! well when an update moves the task to `completed` (whether SalesLoft sends one or both is unconfirmed).

use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::body::Params;
use crate::clock::{Micros, parse_timestamp};
use crate::envelope;
use crate::errors::{ApiError, Validation};
use crate::list::{FilterFn, Order};
use crate::records::tasks::{SORTS, STATES, TASK_TYPES, TIME_INTERVALS, Task, parse_date};
use crate::routes::template::{self, Listing};
use crate::routes::{Ctx, Event, Outcome, enum_list};
use crate::store::TeamData;

fn render_task(data: &TeamData, ctx: &Ctx<'_>, id: i64, out: &mut String) -> bool {
    template::render_row(&data.tasks, id, out, |task, out| task.render(id, &ctx.render, out))
}

/// Today on the team's calendar (the offset rendered timestamps carry).
fn today(ctx: &Ctx<'_>) -> Date {
    let offset = UtcOffset::from_whole_seconds(ctx.render.offset_minutes.saturating_mul(60)).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ctx.now) * 1000)
        .map_or(OffsetDateTime::UNIX_EPOCH.date(), |now| now.to_offset(offset).date())
}

/// `(first, last)` day of the `time_interval_filter` window; `overdue` is everything before today. Weeks
/// run Monday to Sunday. Date arithmetic saturates, so a clock advanced to the end of time cannot panic.
fn interval(name: &str, today: Date) -> (Date, Date) {
    let plus = |date: Date, days: i64| date.checked_add(Duration::days(days)).unwrap_or(Date::MAX);
    let monday =
        today.checked_sub(Duration::days(i64::from(today.weekday().number_days_from_monday()))).unwrap_or(Date::MIN);
    match name {
        "overdue" => (Date::MIN, today.previous_day().unwrap_or(Date::MIN)),
        "tomorrow" => (plus(today, 1), plus(today, 1)),
        "this_week" => (monday, plus(monday, 6)),
        "next_week" => (plus(monday, 7), plus(monday, 13)),
        _ => (today, today),
    }
}

/// `GET /v2/tasks`: filters `ids, user_id, person_id, account_id, current_state, task_type,
/// time_interval_filter, idempotency_key, locale, updated_at[…], created_at[…]`; `sort_by due_date|due_at`,
/// default `due_date ASC` (FACTS.md §4.1).
pub fn list(data: &TeamData, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let query = ctx.query;
    let mut listing = Listing::parse(query, SORTS, "due_date", true)?;
    let user_ids = query.int_list("user_id")?;
    let person_ids = query.int_list("person_id")?;
    let account_ids = query.int_list("account_id")?;
    let states = enum_list(ctx.query, "current_state", STATES)?;
    let types = enum_list(ctx.query, "task_type", TASK_TYPES)?;
    let locales = query.list("locale");
    let key = query.get("idempotency_key");
    let window = match query.get("time_interval_filter") {
        None => None,
        Some(name) if TIME_INTERVALS.contains(&name) => Some((name == "overdue", interval(name, today(ctx)))),
        Some(_) => {
            return Err(ApiError::field(
                "time_interval_filter",
                format!("must be one of: {}", TIME_INTERVALS.join(", ")),
            ));
        }
    };

    let mut filtering = listing.filtering(query);
    filtering.list("user_id", query.list("user_id").as_ref());
    filtering.list("person_id", query.list("person_id").as_ref());
    filtering.list("account_id", query.list("account_id").as_ref());
    filtering.list("current_state", states.as_ref());
    filtering.list("task_type", types.as_ref());
    filtering.list("locale", locales.as_ref());
    filtering.scalar("idempotency_key", key);
    filtering.scalar("time_interval_filter", query.get("time_interval_filter"));

    // An idempotency key names at most one task: resolve it through the index.
    let mut candidates = listing.ids.take();
    if let Some(key) = key {
        let found: Vec<i64> = data.task_id_by_key(key).into_iter().collect();
        candidates = Some(match candidates {
            Some(wanted) => found.into_iter().filter(|id| wanted.contains(id)).collect(),
            None => found,
        });
    }
    let needs_person = account_ids.is_some() || locales.is_some();
    let sort_key = listing.sorting.key;
    let order = Order::Key(Box::new(move |_, task: &Task| task.sort_value(sort_key)));
    let filter: FilterFn<'_, Task> = Box::new(|_, task| {
        let basic = listing.in_ranges(task)
            && user_ids.as_ref().is_none_or(|wanted| wanted.contains(&task.user_id))
            && person_ids.as_ref().is_none_or(|wanted| wanted.contains(&task.person_id))
            && states.as_ref().is_none_or(|wanted| wanted.iter().any(|s| s == task.current_state))
            && types.as_ref().is_none_or(|wanted| wanted.iter().any(|t| t == task.task_type))
            && window.is_none_or(|(overdue, (first, last))| {
                (first..=last).contains(&task.due_date) && (!overdue || task.current_state == "scheduled")
            });
        if !basic || !needs_person {
            return basic;
        }
        let Some(row) = data.people.get(task.person_id) else {
            return false;
        };
        let person = data.person(task.person_id, row);
        account_ids.as_ref().is_none_or(|wanted| person.account_id.is_some_and(|a| wanted.contains(&a)))
            && locales
                .as_ref()
                .is_none_or(|wanted| person.locale.as_ref().is_some_and(|l| wanted.iter().any(|w| w == l)))
    });
    let spec = listing.spec(candidates, order, filter, false);
    Ok(listing.respond(&data.tasks, spec, &filtering, |id, out| render_task(data, ctx, id, out)))
}

/// `GET /v2/tasks/{id}`.
pub fn get(data: &TeamData, ctx: &Ctx<'_>, id: i64) -> Result<String, ApiError> {
    template::get_one(1024, |out| render_task(data, ctx, id, out))
}

/// A string that must be present and not blank (on a create), or may be absent but not blank (on an update).
fn required_string(
    params: &Params,
    name: &str,
    required: &str,
    create: bool,
    errors: &mut Validation,
) -> Option<String> {
    match params.string(name, errors) {
        Some(Some(text)) => Some(text.trim().to_owned()),
        Some(None) => {
            errors.add(name, required);
            None
        }
        None => {
            if create && !params.has(name) {
                errors.add(name, required);
            }
            None
        }
    }
}

/// A value that must be one of `allowed`.
fn one_of(
    params: &Params,
    name: &str,
    allowed: &[&'static str],
    required: &str,
    create: bool,
    errors: &mut Validation,
) -> Option<&'static str> {
    let text = required_string(params, name, required, create, errors)?;
    let found = allowed.iter().find(|value| value.eq_ignore_ascii_case(&text)).copied();
    if found.is_none() {
        errors.add(name, format!("must be one of: {}", allowed.join(", ")));
    }
    found
}

/// `due_date`: "ISO-8601 date format required".
fn due_date(params: &Params, required: &str, create: bool, errors: &mut Validation) -> Option<Date> {
    let text = required_string(params, "due_date", required, create, errors)?;
    let parsed = parse_date(&text);
    if parsed.is_none() {
        errors.add("due_date", "must be an ISO-8601 date (YYYY-MM-DD)");
    }
    parsed
}

/// `remind_at`: "ISO-8601 datetime format required"; null or blank clears it.
fn remind_at(params: &Params, errors: &mut Validation) -> Option<Option<Micros>> {
    match params.string("remind_at", errors)? {
        None => Some(None),
        Some(text) => match parse_timestamp(&text) {
            Some(micros) => Some(Some(micros)),
            None => {
                errors.add("remind_at", "must be an ISO-8601 datetime");
                None
            }
        },
    }
}

/// A required id that must name an existing record.
fn existing_id(
    params: &Params,
    name: &str,
    required: &str,
    exists: impl Fn(i64) -> bool,
    errors: &mut Validation,
) -> Option<i64> {
    match params.int(name, errors) {
        Some(Some(id)) if exists(id) => Some(id),
        Some(Some(_)) => {
            errors.add(name, "is invalid");
            None
        }
        Some(None) => {
            errors.add(name, required);
            None
        }
        None => {
            if !params.has(name) {
                errors.add(name, required);
            }
            None
        }
    }
}

/// `POST /v2/tasks`.
///
/// `idempotency_key` ("Establishes a unique identifier to prevent duplicates from being created",
/// OpenAPI): when a task with the same key already exists on the team, the answer is 200 with that task,
/// unchanged, and no webhook event — whatever the rest of the body says, because a retry after a lost
/// response must not fail and the key, not the body, identifies the request. What SalesLoft answers to a
/// reused key is unconfirmed (FACTS.md §5.2, §11): `SimConfig::task_idempotency_returns_existing = false`
/// makes it a 422 `{"errors":{"idempotency_key":["<taken_message>"]}}` instead. Keys are compared exactly.
pub fn create(data: &mut TeamData, ctx: &Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let mut errors = Validation::default();
    let key = params.string("idempotency_key", &mut errors).flatten();
    errors.finish()?;
    if let Some(existing) = key.as_deref().and_then(|key| data.task_id_by_key(key)) {
        if !ctx.config.task_idempotency_returns_existing {
            return Err(ApiError::field("idempotency_key", ctx.config.taken_message.as_str()));
        }
        let mut record = String::with_capacity(1024);
        render_task(data, ctx, existing, &mut record);
        return Ok(Outcome::ok(envelope::single(&record)));
    }

    let mut errors = Validation::default();
    let required = ctx.config.required_message.as_str();
    let subject = required_string(params, "subject", required, true, &mut errors);
    let person_id = existing_id(params, "person_id", required, |id| data.people.get(id).is_some(), &mut errors);
    let user_id = existing_id(params, "user_id", required, |id| data.users.get(id).is_some(), &mut errors);
    let task_type = one_of(params, "task_type", TASK_TYPES, required, true, &mut errors);
    let due_date = due_date(params, required, true, &mut errors);
    // A create may only be `scheduled` ("valid options are: scheduled").
    let current_state = one_of(params, "current_state", &["scheduled"], required, true, &mut errors);
    let remind_at = remind_at(params, &mut errors).flatten();
    let description = params.string("description", &mut errors).flatten();
    errors.finish()?;
    let (Some(subject), Some(person_id), Some(user_id), Some(task_type), Some(due_date), Some(current_state)) =
        (subject, person_id, user_id, task_type, due_date, current_state)
    else {
        return Err(ApiError::field("subject", required));
    };
    let task = Task {
        subject,
        person_id,
        user_id,
        task_type,
        current_state,
        due_date,
        remind_at,
        description,
        idempotency_key: key,
        created_by_user_id: ctx.user_id,
        completed_at: None,
        completed_by_id: None,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    let id = data.tasks.allocate_id();
    data.put_task(id, task);
    template::written(1024, "task_created", |out| render_task(data, ctx, id, out))
}

/// `PUT /v2/tasks/{id}`: `subject, description, due_date, remind_at, current_state (completed only),
/// is_logged` (accepted, no effect), all optional.
pub fn update(data: &mut TeamData, ctx: &Ctx<'_>, id: i64, params: &Params) -> Result<Outcome, ApiError> {
    let mut task = data.tasks.get(id).ok_or(ApiError::NotFound)?.clone();
    let mut errors = Validation::default();
    let required = ctx.config.required_message.as_str();
    let subject = required_string(params, "subject", required, false, &mut errors);
    let due_date = due_date(params, required, false, &mut errors);
    // An update may only complete a task ("valid options are: completed").
    let state = one_of(params, "current_state", &["completed"], required, false, &mut errors);
    let remind_at = remind_at(params, &mut errors);
    let description = params.string("description", &mut errors);
    let _is_logged = params.bool("is_logged", &mut errors);
    errors.finish()?;
    if let Some(subject) = subject {
        task.subject = subject;
    }
    if let Some(due_date) = due_date {
        task.due_date = due_date;
    }
    if let Some(remind_at) = remind_at {
        task.remind_at = remind_at;
    }
    if let Some(description) = description {
        task.description = description;
    }
    let completed_now = state.is_some() && task.current_state != "completed";
    if completed_now {
        task.current_state = "completed";
        task.completed_at = Some(ctx.now);
        task.completed_by_id = Some(ctx.user_id);
    }
    task.updated_at = ctx.now;
    data.put_task(id, task);
    let mut record = String::with_capacity(1024);
    render_task(data, ctx, id, &mut record);
    let mut events = vec![Event { event_type: "task_updated", body: record.clone() }];
    if completed_now {
        events.push(Event { event_type: "task_completed", body: record.clone() });
    }
    let mut outcome = Outcome::ok(envelope::single(&record));
    outcome.events = events;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        crate::records::tasks::parse_date(text).expect("date")
    }

    #[test]
    fn interval_windows_follow_the_calendar_and_saturate() {
        let wednesday = date("2024-05-15");
        assert_eq!(interval("today", wednesday), (wednesday, wednesday));
        assert_eq!(interval("tomorrow", wednesday), (date("2024-05-16"), date("2024-05-16")));
        assert_eq!(interval("this_week", wednesday), (date("2024-05-13"), date("2024-05-19")));
        assert_eq!(interval("next_week", wednesday), (date("2024-05-20"), date("2024-05-26")));
        assert_eq!(interval("overdue", wednesday), (Date::MIN, date("2024-05-14")));
        assert_eq!(interval("next_week", Date::MAX).1, Date::MAX);
        assert_eq!(interval("overdue", Date::MIN).1, Date::MIN);
    }
}
