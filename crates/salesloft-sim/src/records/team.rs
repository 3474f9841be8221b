//! The Team (`GET /v2/team`; FACTS.md §5.5).

use crate::clock::Micros;
use crate::json::ObjectWriter;
use crate::records::Render;

/// The simulated team. One team per simulator for now; kept as a struct so more can come later.
#[derive(Debug, Clone)]
pub struct Team {
    /// Team id.
    pub id: i64,
    /// Team name.
    pub name: String,
    /// `group` | `professional` | `enterprise`.
    pub plan: String,
    /// Creation time.
    pub created_at: Micros,
    /// Last update.
    pub updated_at: Micros,
}

impl Team {
    /// Renders the Team object with every documented key.
    pub fn render(&self, render: &Render<'_>, out: &mut String) {
        let mut object = ObjectWriter::new(out);
        object
            .int("id", Some(self.id))
            .str("name", Some(&self.name))
            .str("created_at", Some(&render.ts(self.created_at)))
            .str("updated_at", Some(&render.ts(self.updated_at)))
            .str("plan", Some(&self.plan))
            .raw("plan_features", "{}")
            .int("license_limit", Some(100))
            .bool("deactivated", Some(false))
            .bool("allow_automated_email_steps", Some(true))
            .bool("call_recording_disabled", Some(false))
            .bool("click_tracking_default", Some(true))
            .str("custom_tracking_domain", None)
            .bool("dispositions_required", Some(false))
            .int("email_daily_limit", Some(500))
            .str("group_privacy_setting", Some("all_public"))
            .bool("local_dial_enabled", Some(false))
            .bool("record_by_default", Some(false))
            .bool("sentiments_required", Some(false))
            .str("team_visibility_default", Some("public"))
            .raw("_private_fields", "{}");
        object.finish();
    }
}
