//! Users (`/v2/users`, `/v2/me`).

use serde::{Deserialize, Serialize};

use super::common::{Extra, GroupId, Ref, RoleId, TeamId, Timestamp, UserId};

/// A user (also what `/v2/me` returns). `role.id` may be a string such as `"Admin"` (FACTS.md §5.1, §5.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// Id.
    pub id: UserId,
    /// When the user was created.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// The user's GUID (filters such as `owned_by_guid` use it).
    #[serde(default)]
    pub guid: Option<String>,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Login email.
    #[serde(default)]
    pub email: Option<String>,
    /// Active.
    #[serde(default)]
    pub active: Option<bool>,
    /// Job role.
    #[serde(default)]
    pub job_role: Option<String>,
    /// Time zone.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Work country.
    #[serde(default)]
    pub work_country: Option<String>,
    /// Team admin.
    #[serde(default)]
    pub team_admin: Option<bool>,
    /// From address.
    #[serde(default)]
    pub from_address: Option<String>,
    /// `"Name" <email>`.
    #[serde(default)]
    pub full_email_address: Option<String>,
    /// Sending address.
    #[serde(default)]
    pub sending_email_address: Option<String>,
    /// BCC address.
    #[serde(default)]
    pub bcc_email_address: Option<String>,
    /// Email client address.
    #[serde(default)]
    pub email_client_email_address: Option<String>,
    /// Email client configured.
    #[serde(default)]
    pub email_client_configured: Option<bool>,
    /// Email signature.
    #[serde(default)]
    pub email_signature: Option<String>,
    /// Signature type.
    #[serde(default)]
    pub email_signature_type: Option<String>,
    /// Signature click tracking disabled.
    #[serde(default)]
    pub email_signature_click_tracking_disabled: Option<bool>,
    /// Click to call.
    #[serde(default)]
    pub click_to_call_enabled: Option<bool>,
    /// Local dial.
    #[serde(default)]
    pub local_dial_enabled: Option<bool>,
    /// CRM connected.
    #[serde(default)]
    pub crm_connected: Option<bool>,
    /// Slack username.
    #[serde(default)]
    pub slack_username: Option<String>,
    /// Twitter handle.
    #[serde(default)]
    pub twitter_handle: Option<String>,
    /// Offset of the locale from UTC (observed, not in the spec).
    #[serde(default)]
    pub locale_utc_offset: Option<i64>,
    /// Group.
    #[serde(default)]
    pub group: Option<Ref<GroupId>>,
    /// Team.
    #[serde(default)]
    pub team: Option<Ref<TeamId>>,
    /// Role; the id may be text (`Admin`).
    #[serde(default)]
    pub role: Option<Ref<RoleId>>,
    /// Phone client (id only).
    #[serde(default)]
    pub phone_client: Option<Ref<serde_json::Value>>,
    /// Phone number assignment.
    #[serde(default)]
    pub phone_number_assignment: Option<Ref<serde_json::Value>>,
    /// Private fields.
    #[serde(rename = "_private_fields", default)]
    pub private_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// Feature flags.
    #[serde(default)]
    pub external_feature_flags: Option<serde_json::Map<String, serde_json::Value>>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
