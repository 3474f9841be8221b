//! Cadence memberships (`/v2/cadence_memberships`): adding a person to a cadence.

use serde::{Deserialize, Serialize};

use super::common::{ActionId, CadenceId, CadenceMembershipId, Extra, PersonId, Ref, Timestamp, UserId};

/// A person's membership of a cadence (FACTS.md §5.4). The embedded `cadence` is only a reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CadenceMembership {
    /// Id.
    pub id: CadenceMembershipId,
    /// When the person was added.
    #[serde(default)]
    pub added_at: Option<Timestamp>,
    /// When the membership was created.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Last update; the keyset cursor field.
    pub updated_at: Timestamp,
    /// The person was deleted.
    #[serde(default)]
    pub person_deleted: Option<bool>,
    /// The person is on the cadence now.
    #[serde(default)]
    pub currently_on_cadence: Option<bool>,
    /// `processing`, `staged`, `active`, `scheduled`, `completed`, `removed`, `removed_no_action` or `reassigned`.
    #[serde(default)]
    pub current_state: Option<String>,
    /// The cadence.
    #[serde(default)]
    pub cadence: Option<Ref<CadenceId>>,
    /// The person.
    #[serde(default)]
    pub person: Option<Ref<PersonId>>,
    /// The user the person was added for.
    #[serde(default)]
    pub user: Option<Ref<UserId>>,
    /// Latest action.
    #[serde(default)]
    pub latest_action: Option<Ref<ActionId>>,
    /// Counters.
    #[serde(default)]
    pub counts: Option<CadenceMembershipCounts>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A membership's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CadenceMembershipCounts {
    /// Bounces.
    #[serde(default)]
    pub bounces: Option<i64>,
    /// Calls.
    #[serde(default)]
    pub calls: Option<i64>,
    /// Clicks.
    #[serde(default)]
    pub clicks: Option<i64>,
    /// Replies.
    #[serde(default)]
    pub replies: Option<i64>,
    /// Emails sent.
    #[serde(default)]
    pub sent_emails: Option<i64>,
    /// Views.
    #[serde(default)]
    pub views: Option<i64>,
    /// Counters not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}
