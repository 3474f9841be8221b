//! Users (`/v2/me`, `/v2/users`; FACTS.md §5.5 User).

use crate::clock::Micros;
use crate::json::ObjectWriter;
use crate::list::SortValue;
use crate::records::Render;
use crate::table::timestamped;

/// `sort_by` values of `/v2/users` (FACTS.md §4.1; default `id`).
pub const SORTS: &[&str] = &["id", "email", "name", "group", "role"];

/// A user of the team.
#[derive(Debug, Clone)]
pub struct User {
    /// `guid` (UUID text).
    pub guid: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email.
    pub email: String,
    /// Whether the user is active.
    pub active: bool,
    /// Role id (`Admin` or `User`).
    pub role: String,
    /// Group id.
    pub group_id: Option<i64>,
    /// Time zone name.
    pub time_zone: String,
    /// Work country, an ISO 3166-1 alpha-2 code (`PUT /v2/users/{id}` sets it).
    pub work_country: Option<String>,
    /// Created.
    pub created_at: Micros,
    /// Updated.
    pub updated_at: Micros,
}

timestamped!(User);

impl User {
    /// Full name.
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// Sort key for `sort_by`.
    pub fn sort_value(&self, id: i64, key: &str) -> Option<SortValue> {
        match key {
            "email" => Some(SortValue::Text(self.email.to_lowercase())),
            "name" => Some(SortValue::Text(self.name().to_lowercase())),
            "group" => self.group_id.map(SortValue::Int),
            "role" => Some(SortValue::Text(self.role.clone())),
            _ => Some(SortValue::Int(id)),
        }
    }

    /// Renders the User object with every documented key.
    pub fn render(&self, id: i64, team_id: i64, render: &Render<'_>, out: &mut String) {
        let name = self.name();
        let full_email = format!("\"{name}\" <{}>", self.email);
        let mut object = ObjectWriter::new(out);
        object
            .int("id", Some(id))
            .str("guid", Some(&self.guid))
            .str("created_at", Some(&render.ts(self.created_at)))
            .str("updated_at", Some(&render.ts(self.updated_at)))
            .str("name", Some(&name))
            .str("first_name", Some(&self.first_name))
            .str("last_name", Some(&self.last_name))
            .str("job_role", None)
            .bool("active", Some(self.active))
            .str("time_zone", Some(&self.time_zone))
            .int("locale_utc_offset", Some(i64::from(render.offset_minutes) * 60))
            .str("slack_username", None)
            .str("twitter_handle", None)
            .str("email", Some(&self.email))
            .str("email_client_email_address", Some(&self.email))
            .str("sending_email_address", Some(&self.email))
            .str("from_address", Some(&self.email))
            .str("full_email_address", Some(&full_email))
            .str("bcc_email_address", None)
            .str("email_signature", Some(""))
            .str("email_signature_type", Some("html"))
            .bool("email_signature_click_tracking_disabled", Some(false))
            .bool("team_admin", Some(self.role == "Admin"))
            .bool("local_dial_enabled", Some(false))
            .bool("click_to_call_enabled", Some(true))
            .bool("email_client_configured", Some(true))
            .bool("crm_connected", Some(false))
            .raw("external_feature_flags", "{}")
            .raw("_private_fields", "{}")
            .str("work_country", self.work_country.as_deref())
            .str("seat_package", Some("advanced"))
            .reference("phone_client", render.base, "phone_clients", None)
            .reference("phone_number_assignment", render.base, "phone_number_assignments", None)
            .reference("group", render.base, "groups", self.group_id)
            .reference("team", render.base, "team", Some(team_id))
            .object("role", |role| {
                // FACTS.md §5.1: role refs carry only a string id, no `_href`.
                role.str("id", Some(&self.role));
            });
        object.finish();
    }
}
