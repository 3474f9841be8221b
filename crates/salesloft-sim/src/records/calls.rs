//! Calls (`/v2/activities/calls`; FACTS.md §5.2, §5.5 Call).

use crate::clock::Micros;
use crate::json::ObjectWriter;
use crate::records::Render;
use crate::table::timestamped;

/// `sort_by` values of `/v2/activities/calls` (FACTS.md §4.1: `created_at, updated_at`, default
/// `updated_at`).
pub const SORTS: &[&str] = &["created_at", "updated_at"];

/// A logged call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The user who made it.
    pub user_id: i64,
    /// The person called.
    pub person_id: i64,
    /// The phone action it completed.
    pub action_id: Option<i64>,
    /// The cadence of that action.
    pub cadence_id: Option<i64>,
    /// The step of that action.
    pub step_id: Option<i64>,
    /// The note logged with it (`notes` of the create become a Note on the person).
    pub note_id: Option<i64>,
    /// Result of the call (e.g. `Connected`).
    pub disposition: Option<String>,
    /// Outcome of the conversation (e.g. `Demo Scheduled`).
    pub sentiment: Option<String>,
    /// Length in seconds.
    pub duration: Option<i64>,
    /// Number called.
    pub to: Option<String>,
    /// `linked_call_data_record_ids` of the create (kept, not rendered: not in the Call object).
    pub call_data_record_ids: Vec<i64>,
    /// `crm_params` of the create (kept, not rendered; there is no CRM).
    pub crm_params: Vec<(String, String)>,
    /// Created.
    pub created_at: Micros,
    /// Updated.
    pub updated_at: Micros,
}

timestamped!(Call);

impl Call {
    /// Renders the Call object with every documented key (`schemas.md` Call). Recordings are not simulated
    /// (`[]`), nor CRM activities (null).
    pub fn render(&self, id: i64, render: &Render<'_>, out: &mut String) {
        let base = render.base;
        let mut object = ObjectWriter::new(out);
        object
            .int("id", Some(id))
            .str("to", self.to.as_deref())
            .int("duration", self.duration)
            .str("sentiment", self.sentiment.as_deref())
            .str("disposition", self.disposition.as_deref())
            .str("created_at", Some(&render.ts(self.created_at)))
            .str("updated_at", Some(&render.ts(self.updated_at)))
            .raw("recordings", "[]")
            .reference("user", base, "users", Some(self.user_id))
            .reference("action", base, "actions", self.action_id)
            .reference("called_person", base, "people", Some(self.person_id))
            .reference("crm_activity", base, "crm_activities", None)
            .reference("note", base, "notes", self.note_id)
            .reference("cadence", base, "cadences", self.cadence_id)
            .reference("step", base, "steps", self.step_id);
        object.finish();
    }
}
