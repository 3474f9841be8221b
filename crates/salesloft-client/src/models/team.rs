//! The team (`/v2/team`).

use serde::{Deserialize, Serialize};

use super::common::{Extra, TeamId, Timestamp};

/// The caller's team (`/v2/team`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Team {
    /// Id.
    pub id: TeamId,
    /// When the team was created.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// `group`, `professional` or `enterprise`.
    #[serde(default)]
    pub plan: Option<String>,
    /// Deactivated.
    #[serde(default)]
    pub deactivated: Option<bool>,
    /// Seats.
    #[serde(default)]
    pub license_limit: Option<i64>,
    /// Daily email limit.
    #[serde(default)]
    pub email_daily_limit: Option<i64>,
    /// `group_public` or `all_public`.
    #[serde(default)]
    pub group_privacy_setting: Option<String>,
    /// Default visibility.
    #[serde(default)]
    pub team_visibility_default: Option<String>,
    /// Plan features.
    #[serde(default)]
    pub plan_features: Option<serde_json::Map<String, serde_json::Value>>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
