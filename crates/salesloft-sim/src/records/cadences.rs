//! Cadences (`/v2/cadences`, read-only; FACTS.md §5.2, §5.5 Cadence — no `current_state`).

use crate::clock::Micros;
use crate::json::ObjectWriter;
use crate::list::SortValue;
use crate::records::Render;
use crate::table::timestamped;

/// `sort_by` values of `/v2/cadences` (FACTS.md §4.1; default `updated_at`).
pub const SORTS: &[&str] = &["created_at", "updated_at", "name"];

/// A cadence.
#[derive(Debug, Clone)]
pub struct Cadence {
    /// Name.
    pub name: String,
    /// Team cadence (anyone may add people).
    pub team_cadence: bool,
    /// Shared.
    pub shared: bool,
    /// Draft.
    pub draft: bool,
    /// Archived at.
    pub archived_at: Option<Micros>,
    /// Owner user id.
    pub owner_id: i64,
    /// Cadence function.
    pub cadence_function: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Created.
    pub created_at: Micros,
    /// Updated.
    pub updated_at: Micros,
}

timestamped!(Cadence);

impl Cadence {
    /// Sort key.
    pub fn sort_value(&self, key: &str) -> Option<SortValue> {
        match key {
            "name" => Some(SortValue::Text(self.name.to_lowercase())),
            "created_at" => Some(SortValue::Int(self.created_at)),
            _ => Some(SortValue::Int(self.updated_at)),
        }
    }

    /// Renders the Cadence object with every documented key. `people` is the number of current members.
    pub fn render(&self, id: i64, people: i64, render: &Render<'_>, out: &mut String) {
        let base = render.base;
        let mut object = ObjectWriter::new(out);
        render
            .head(&mut object, id, self)
            .str("archived_at", render.ts_opt(self.archived_at).as_deref())
            .bool("team_cadence", Some(self.team_cadence))
            .bool("shared", Some(self.shared))
            .bool("remove_bounces_enabled", Some(true))
            .bool("remove_replies_enabled", Some(true))
            .bool("opt_out_link_included", Some(true))
            .bool("draft", Some(self.draft))
            .int("cadence_framework_id", None)
            .str("cadence_function", Some(&self.cadence_function))
            .str("name", Some(&self.name))
            .str("external_identifier", None)
            .str_array("tags", &self.tags)
            .reference("creator", base, "users", Some(self.owner_id))
            .reference("owner", base, "users", Some(self.owner_id))
            .reference("bounced_stage", base, "person_stages", None)
            .reference("replied_stage", base, "person_stages", None)
            .reference("added_stage", base, "person_stages", None)
            .reference("finished_stage", base, "person_stages", None)
            .reference("cadence_priority", base, "cadence_priorities", None)
            .raw("groups", "[]")
            .object("counts", |counts| {
                counts
                    .int("cadence_people", Some(people))
                    .int("people_acted_on_count", Some(0))
                    .int("target_daily_people", Some(0))
                    .int("opportunities_created", Some(0))
                    .int("meetings_booked", Some(0));
            });
        object.finish();
    }
}
