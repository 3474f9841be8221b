//! Emails (`/v2/activities/emails`, read-only; FACTS.md §5.2, §5.5 Email).
//!
//! `subject` and `error_message` are "determined sensitive" (OpenAPI): every Email carries both keys, and
//! `subject` is filled only when the request asks for it with `scoped_fields` (FACTS.md §1.4). `body` is not
//! in the Email schema; it appears, as a key, only when asked for. See [`Scoped`].

use crate::clock::Micros;
use crate::json::ObjectWriter;
use crate::list::SortValue;
use crate::records::Render;
use crate::table::timestamped;

/// `sort_by` values of `/v2/activities/emails` (FACTS.md §4.1: `updated_at, send_time`, default
/// `updated_at`).
pub const SORTS: &[&str] = &["updated_at", "send_time"];

/// `status` values (OpenAPI Email).
pub const STATUSES: &[&str] = &[
    "sent",
    "sent_from_gmail",
    "sent_from_external",
    "pending",
    "pending_reply_check",
    "scheduled",
    "sending",
    "delivering",
    "failed",
    "cancelled",
    "pending_through_gmail",
    "pending_through_external",
];

/// `scoped_fields` values (FACTS.md §1.4, §8.1: Airbyte asks for `["subject","body"]`).
pub const SCOPED_FIELDS: &[&str] = &["subject", "body"];

/// Which scoped fields a request asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scoped {
    /// Fill `subject`.
    pub subject: bool,
    /// Add `body`.
    pub body: bool,
}

/// Counters of an email (OpenAPI EmailCounts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Attachments.
    pub attachments: i64,
    /// Link clicks.
    pub clicks: i64,
    /// Replies.
    pub replies: i64,
    /// Unique devices that opened it.
    pub unique_devices: i64,
    /// Unique locations that opened it.
    pub unique_locations: i64,
    /// Opens.
    pub views: i64,
}

/// An email sent (or to be sent) to a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The sender.
    pub user_id: i64,
    /// The recipient person.
    pub person_id: Option<i64>,
    /// The recipient's address.
    pub recipient_email_address: String,
    /// The action it belongs to.
    pub action_id: Option<i64>,
    /// The cadence (none for a one-off email).
    pub cadence_id: Option<i64>,
    /// The step.
    pub step_id: Option<i64>,
    /// The task it was sent for.
    pub task_id: Option<i64>,
    /// The CRM activity it was logged as.
    pub crm_activity_id: Option<i64>,
    /// Status (one of [`STATUSES`]).
    pub status: &'static str,
    /// Whether it bounced.
    pub bounced: bool,
    /// Subject (sensitive).
    pub subject: String,
    /// Body (sensitive, not in the schema).
    pub body: String,
    /// Personalization percentage as text (`"13.4"`).
    pub personalization: String,
    /// When it was sent.
    pub sent_at: Option<Micros>,
    /// When it will be sent, or null once sent.
    pub send_after: Option<Micros>,
    /// Click tracking on.
    pub click_tracking: bool,
    /// View tracking on.
    pub view_tracking: bool,
    /// Counters.
    pub counts: Counts,
    /// Created.
    pub created_at: Micros,
    /// Updated.
    pub updated_at: Micros,
}

timestamped!(Email);

impl Email {
    /// Whether it is a one-off email (sent outside a cadence).
    pub fn one_off(&self) -> bool {
        self.cadence_id.is_none()
    }

    /// Sort key for `sort_by`: `send_time` is `sent_at`, or `send_after` while unsent (null sorts per
    /// FACTS.md §4.1).
    pub fn sort_value(&self, key: &str) -> Option<SortValue> {
        match key {
            "send_time" => self.sent_at.or(self.send_after).map(SortValue::Int),
            _ => Some(SortValue::Int(self.updated_at)),
        }
    }

    /// Renders the Email object with every documented key (`schemas.md` Email) plus the scoped fields asked
    /// for.
    pub fn render(&self, id: i64, scoped: Scoped, render: &Render<'_>, out: &mut String) {
        let base = render.base;
        let counts = self.counts;
        let mut object = ObjectWriter::new(out);
        render
            .head(&mut object, id, self)
            .str("recipient_email_address", Some(&self.recipient_email_address))
            .str("status", Some(self.status))
            .bool("bounced", Some(self.bounced))
            .str("send_after", render.ts_opt(self.send_after).as_deref())
            .str("sent_at", render.ts_opt(self.sent_at).as_deref())
            .bool("view_tracking", Some(self.view_tracking))
            .bool("click_tracking", Some(self.click_tracking))
            .str("personalization", Some(&self.personalization))
            .object("counts", |object| {
                object
                    .int("clicks", Some(counts.clicks))
                    .int("views", Some(counts.views))
                    .int("replies", Some(counts.replies))
                    .int("unique_devices", Some(counts.unique_devices))
                    .int("unique_locations", Some(counts.unique_locations))
                    .int("attachments", Some(counts.attachments));
            })
            .raw("headers", "{}")
            .reference("user", base, "users", Some(self.user_id))
            .reference("recipient", base, "people", self.person_id)
            .reference("mailing", base, "mailings", None)
            .reference("action", base, "actions", self.action_id)
            .reference("crm_activity", base, "crm_activities", self.crm_activity_id)
            .reference("cadence", base, "cadences", self.cadence_id)
            .reference("step", base, "steps", self.step_id)
            .reference("email_template", base, "email_templates", None)
            .reference("task", base, "tasks", self.task_id)
            .str("error_message", (self.status == "failed").then_some("Delivery failed"))
            .str("subject", scoped.subject.then_some(self.subject.as_str()));
        if scoped.body {
            object.str("body", Some(&self.body));
        }
        object.finish();
    }
}
