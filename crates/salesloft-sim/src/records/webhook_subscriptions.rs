//! Webhook subscriptions (`/v2/webhook_subscriptions`; FACTS.md §6.1, §5.5 Subscription) and the event
//! types they may name (FACTS.md §6.3).

use crate::body::Params;
use crate::clock::Micros;
use crate::errors::Validation;
use crate::json::ObjectWriter;
use crate::table::timestamped;

/// Event types from the official table as transcribed in FACTS.md §6.3, plus `conversation_updated`
/// (amp-labs subscribes to it; unconfirmed, accepted so such clients work).
pub const EVENT_TYPES: &[&str] = &[
    "account_created",
    "account_updated",
    "account_deleted",
    "bulk_job_completed",
    "cadence_created",
    "cadence_updated",
    "cadence_deleted",
    "cadence_membership_created",
    "cadence_membership_updated",
    "call_created",
    "call_updated",
    "call_data_record_created",
    "call_data_record_updated",
    "conversation_created",
    "conversation_recording_created",
    "conversation_transcript_created",
    "conversation_updated",
    "email_updated",
    "email_with_body_and_subject_updated",
    "link_swap",
    "meeting_booked",
    "meeting_updated",
    "note_created",
    "note_updated",
    "note_deleted",
    "person_created",
    "person_updated",
    "person_deleted",
    "step_created",
    "step_updated",
    "step_deleted",
    "success_created",
    "task_created",
    "task_updated",
    "task_completed",
    "task_deleted",
    "user_created",
    "user_updated",
];

/// A webhook subscription.
#[derive(Debug, Clone, Default)]
pub struct Subscription {
    /// Where deliveries go.
    pub callback_url: String,
    /// Shared secret: the HMAC-SHA1 key of `x-salesloft-signature` (FACTS.md §6.2).
    pub callback_token: String,
    /// The event type.
    pub event_type: String,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// The user who created it.
    pub user_guid: String,
    /// Created (not rendered; the Subscription schema has no timestamps).
    pub created_at: Micros,
    /// Updated (not rendered).
    pub updated_at: Micros,
}

timestamped!(Subscription);

impl Subscription {
    /// Applies a create or update body. FACTS.md §6.1: POST requires `callback_url`, `callback_token`,
    /// `event_type`; PUT documents only `enabled` (api-evangelist also shows `callback_url`), so PUT accepts
    /// `enabled` and `callback_url`.
    pub fn apply(&mut self, params: &Params, creating: bool, required_message: &str, errors: &mut Validation) {
        let mut fields: Vec<(&str, &mut String)> = vec![("callback_url", &mut self.callback_url)];
        if creating {
            fields.push(("callback_token", &mut self.callback_token));
            fields.push(("event_type", &mut self.event_type));
        }
        for (name, slot) in fields {
            match params.string(name, errors) {
                Some(Some(value)) => *slot = value.trim().to_owned(),
                Some(None) => slot.clear(),
                None => {}
            }
            if creating && slot.is_empty() {
                errors.add(name, required_message);
            }
        }
        if !(self.callback_url.is_empty()
            || self.callback_url.starts_with("http://")
            || self.callback_url.starts_with("https://"))
        {
            errors.add("callback_url", "is invalid");
        }
        if creating && !self.event_type.is_empty() && !EVENT_TYPES.contains(&self.event_type.as_str()) {
            errors.add("event_type", "is invalid");
        }
        if let Some(enabled) = params.bool("enabled", errors) {
            self.enabled = enabled;
        }
    }

    /// Renders the Subscription object with every documented key.
    pub fn render(&self, id: i64, tenant_id: i64, out: &mut String) {
        let mut object = ObjectWriter::new(out);
        object
            .int("id", Some(id))
            .str("callback_url", Some(&self.callback_url))
            .str("callback_token", Some(&self.callback_token))
            .str("event_type", Some(&self.event_type))
            .bool("enabled", Some(self.enabled))
            .int("tenant_id", Some(tenant_id))
            .str("user_guid", Some(&self.user_guid));
        object.finish();
    }
}
