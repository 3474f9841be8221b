//! Cadence memberships (`/v2/cadence_memberships`; FACTS.md §5.4, §5.5 CadenceMembership).

use crate::clock::Micros;
use crate::json::ObjectWriter;
use crate::list::SortValue;
use crate::records::Render;
use crate::table::timestamped;

/// `sort_by` values (FACTS.md §4.1; default `updated_at`).
pub const SORTS: &[&str] = &["added_at", "updated_at"];

/// A person's (single, FACTS.md §5.4) membership record on a cadence.
#[derive(Debug, Clone)]
pub struct Membership {
    /// The person.
    pub person_id: i64,
    /// The cadence.
    pub cadence_id: i64,
    /// The user the person was added for.
    pub user_id: i64,
    /// Added (re-adding sets it again).
    pub added_at: Micros,
    /// Whether the person is on the cadence now.
    pub currently_on_cadence: bool,
    /// `processing|staged|active|scheduled|completed|removed|removed_no_action|reassigned`.
    pub current_state: &'static str,
    /// Whether the person was deleted.
    pub person_deleted: bool,
    /// Created.
    pub created_at: Micros,
    /// Updated.
    pub updated_at: Micros,
}

timestamped!(Membership);

impl Membership {
    /// Sort key.
    pub fn sort_value(&self, key: &str) -> Option<SortValue> {
        match key {
            "added_at" => Some(SortValue::Int(self.added_at)),
            _ => Some(SortValue::Int(self.updated_at)),
        }
    }

    /// Renders the CadenceMembership object with every documented key.
    pub fn render(&self, id: i64, render: &Render<'_>, out: &mut String) {
        let base = render.base;
        let mut object = ObjectWriter::new(out);
        object
            .int("id", Some(id))
            .str("added_at", Some(&render.ts(self.added_at)))
            .str("created_at", Some(&render.ts(self.created_at)))
            .str("updated_at", Some(&render.ts(self.updated_at)))
            .bool("person_deleted", Some(self.person_deleted))
            .bool("currently_on_cadence", Some(self.currently_on_cadence))
            .str("current_state", Some(self.current_state))
            .reference("cadence", base, "cadences", Some(self.cadence_id))
            .reference("person", base, "people", Some(self.person_id))
            .reference("user", base, "users", Some(self.user_id))
            .reference("latest_action", base, "actions", None)
            .object("counts", |counts| {
                counts
                    .int("views", Some(0))
                    .int("clicks", Some(0))
                    .int("replies", Some(0))
                    .int("calls", Some(0))
                    .int("sent_emails", Some(0))
                    .int("bounces", Some(0));
            });
        object.finish();
    }
}
