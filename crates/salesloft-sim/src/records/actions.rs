//! Actions (`/v2/actions`, read-only; FACTS.md §5.2, §5.5 Action): the open work a cadence step asks of a
//! user for one person. Completing one (`POST /v2/activities/calls` with a phone action, `POST
//! /v2/activities` with an integration action) hides it: the OpenAPI says "Once an action is complete, the
//! request for that action will return a 404 status code".

use crate::clock::Micros;
use crate::json::ObjectWriter;
use crate::records::Render;
use crate::table::timestamped;

/// `sort_by` values of `/v2/actions` (OpenAPI: `created_at, updated_at`, default `updated_at`).
pub const SORTS: &[&str] = &["created_at", "updated_at"];

/// Action `type` values. The Action schema lists `email, phone, other` ("New types may be added"), and
/// `POST /v2/activities` completes actions "with a type of 'integration'", so `integration` is one too: an
/// action takes the type of its step.
pub const ACTION_TYPES: &[&str] = &["email", "phone", "integration", "other"];

/// An action of a person on a cadence step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// The person to act on.
    pub person_id: i64,
    /// The user who owns the action.
    pub user_id: i64,
    /// The cadence.
    pub cadence_id: Option<i64>,
    /// The step that scheduled it.
    pub step_id: Option<i64>,
    /// `email|phone|integration|other`.
    pub action_type: &'static str,
    /// `in_progress|pending_activity` (OpenAPI Action `status`).
    pub status: &'static str,
    /// Whether it is due (stored, not derived from the clock, so seeded data stays stable).
    pub due: bool,
    /// When it is due.
    pub due_on: Micros,
    /// Multitouch group (never set by the simulator).
    pub multitouch_group_id: Option<i64>,
    /// When it was completed; a completed action is no longer served.
    pub completed_at: Option<Micros>,
    /// Created.
    pub created_at: Micros,
    /// Updated.
    pub updated_at: Micros,
}

timestamped!(Action);

impl Action {
    /// Whether it can still be served and completed.
    pub fn is_open(&self) -> bool {
        self.completed_at.is_none()
    }

    /// Renders the Action object with every documented key (`schemas.md` Action). `action_details` (call
    /// instructions, email drafts) is not simulated and renders as null.
    pub fn render(&self, id: i64, render: &Render<'_>, out: &mut String) {
        let base = render.base;
        let mut object = ObjectWriter::new(out);
        render
            .head(&mut object, id, self)
            .str("type", Some(self.action_type))
            .bool("due", Some(self.due))
            .str("due_on", Some(&render.ts(self.due_on)))
            .str("status", Some(self.status))
            .int("multitouch_group_id", self.multitouch_group_id)
            .reference("user", base, "users", Some(self.user_id))
            .reference("person", base, "people", Some(self.person_id))
            .reference("cadence", base, "cadences", self.cadence_id)
            .reference("step", base, "steps", self.step_id)
            .reference("action_details", base, "action_details", None);
        object.finish();
    }
}
