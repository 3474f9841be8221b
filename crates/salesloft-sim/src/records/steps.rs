//! Cadence steps (`/v2/steps`, read-only; FACTS.md §5.2, §5.5 Step).

use crate::clock::Micros;
use crate::json::ObjectWriter;
use crate::records::Render;
use crate::table::timestamped;

/// `sort_by` values of `/v2/steps` (FACTS.md §4.1 "calls/notes/steps: created_at, updated_at"; default
/// `updated_at`).
pub const SORTS: &[&str] = &["created_at", "updated_at"];

/// Step `type` values (OpenAPI Step: "Valid types are: email, phone, integration, other").
pub const STEP_TYPES: &[&str] = &["email", "phone", "integration", "other"];

/// One step of a cadence: what happens on which day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The cadence it belongs to.
    pub cadence_id: i64,
    /// Day of the cadence (1-based).
    pub day: i64,
    /// Number of the step on its day (1-based).
    pub step_number: i64,
    /// Name.
    pub name: String,
    /// `email|phone|integration|other`.
    pub step_type: &'static str,
    /// Whether the step is switched off.
    pub disabled: bool,
    /// Whether it is a multitouch step.
    pub multitouch_enabled: bool,
    /// Created.
    pub created_at: Micros,
    /// Updated.
    pub updated_at: Micros,
}

timestamped!(Step);

impl Step {
    /// `display_name` as the OpenAPI example shows it: `"Day 1: Step 2 - Phone"`.
    pub fn display_name(&self) -> String {
        let mut kind = self.step_type.to_owned();
        if let Some(first) = kind.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        format!("Day {}: Step {} - {kind}", self.day, self.step_number)
    }

    /// Renders the Step object with every documented key (`schemas.md` Step). `details` (the step's
    /// template or instructions) is not simulated and renders as null.
    pub fn render(&self, id: i64, render: &Render<'_>, out: &mut String) {
        let base = render.base;
        let mut object = ObjectWriter::new(out);
        render
            .head(&mut object, id, self)
            .bool("disabled", Some(self.disabled))
            .str("type", Some(self.step_type))
            .str("name", Some(&self.name))
            .str("display_name", Some(&self.display_name()))
            .int("day", Some(self.day))
            .int("step_number", Some(self.step_number))
            .bool("multitouch_enabled", Some(self.multitouch_enabled))
            .reference("details", base, "action_details", None)
            .reference("cadence", base, "cadences", Some(self.cadence_id));
        object.finish();
    }
}
