//! `POST /v2/activities` (FACTS.md §5.2: "complete an action/task (`action_id` or `task_id`)").
//!
//! The OpenAPI: "An activity will mark the associated action as completed. Currently, only certain action
//! types can have an activity explicitly created for them." `action_id`: "The same action can never be
//! successfully passed twice to this endpoint. The action must have a type of 'integration'." The answer is
//! an Activity, whose only documented key is `updated_at`: `{"data":{"updated_at":"…"}}`.
//!
//! Choices where the OpenAPI is unclear (unconfirmed):
//! - exactly one of `action_id` and `task_id`: neither → 422 on `action_id` ("… or task_id is required"),
//!   both → 422 on `task_id`;
//! - an unknown id → 422 `is invalid` on its field (as other writes treat ids in bodies), an action or task
//!   already completed → 422 `has already been completed`, an action that is not an `integration` action
//!   (or another user's, for a caller who is not an admin) → 422 on `action_id`;
//! - the OpenAPI also says the task "must have a type of 'integration'", but tasks only have the types
//!   `call|email|general` (FACTS.md §5.5), so any scheduled task may be completed; it is completed as
//!   `PUT /v2/tasks/{id}` with `current_state=completed` would (the caller completes it) and the same webhooks
//!   go out: `task_updated` and `task_completed`. Completing an action sends no webhook (no event type).

use crate::body::Params;
use crate::envelope;
use crate::errors::{ApiError, Validation};
use crate::json::ObjectWriter;
use crate::routes::{Ctx, Event, Outcome};
use crate::store::TeamData;

/// `POST /v2/activities`.
pub fn create(data: &mut TeamData, ctx: &Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let mut errors = Validation::default();
    let action_id = params.int("action_id", &mut errors).flatten();
    let task_id = params.int("task_id", &mut errors).flatten();
    errors.finish()?;
    let admin = data.is_admin(ctx.user_id);
    let mut errors = Validation::default();
    match (action_id, task_id) {
        (None, None) => {
            errors.add("action_id", format!("or task_id {}", ctx.config.required_message));
        }
        (Some(_), Some(_)) => errors.add("task_id", "cannot be given with action_id"),
        (Some(id), None) => match data.actions.get(id) {
            None => errors.add("action_id", "is invalid"),
            Some(action) if !admin && action.user_id != ctx.user_id => errors.add("action_id", "is invalid"),
            Some(action) if !action.is_open() => errors.add("action_id", "has already been completed"),
            Some(action) if action.action_type != "integration" => {
                errors.add("action_id", "must be an integration action");
            }
            Some(_) => {}
        },
        (None, Some(id)) => match data.tasks.get(id) {
            None => errors.add("task_id", "is invalid"),
            Some(task) if task.current_state == "completed" => errors.add("task_id", "has already been completed"),
            Some(_) => {}
        },
    }
    errors.finish()?;

    let mut events = Vec::new();
    if let Some(id) = action_id
        && let Some(mut action) = data.actions.get(id).cloned()
    {
        action.completed_at = Some(ctx.now);
        action.updated_at = ctx.now;
        data.actions.put(id, action);
    }
    if let Some(id) = task_id
        && let Some(mut task) = data.tasks.get(id).cloned()
    {
        task.current_state = "completed";
        task.completed_at = Some(ctx.now);
        task.completed_by_id = Some(ctx.user_id);
        task.updated_at = ctx.now;
        data.put_task(id, task);
        let mut record = String::with_capacity(1024);
        if let Some(task) = data.tasks.get(id) {
            task.render(id, &ctx.render, &mut record);
        }
        events.push(Event { event_type: "task_updated", body: record.clone() });
        events.push(Event { event_type: "task_completed", body: record });
    }
    let mut activity = String::with_capacity(64);
    let mut object = ObjectWriter::new(&mut activity);
    object.str("updated_at", Some(&ctx.render.ts(ctx.now)));
    object.finish();
    let mut outcome = Outcome::ok(envelope::single(&activity));
    outcome.events = events;
    Ok(outcome)
}
