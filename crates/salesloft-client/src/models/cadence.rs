//! Cadences (`/v2/cadences`, read-only here; created through `/v2/cadence_imports`).

use serde::{Deserialize, Serialize};

use super::common::{CadenceId, Extra, GroupId, PersonStageId, Ref, Timestamp, UserId};

/// A cadence as SalesLoft returns it. There is no `current_state`: use `draft` and `archived_at` (FACTS.md §5.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cadence {
    /// Id.
    pub id: CadenceId,
    /// When the cadence was created.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Last update; the keyset cursor field.
    pub updated_at: Timestamp,
    /// When the cadence was archived, if it is.
    #[serde(default)]
    pub archived_at: Option<Timestamp>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Draft.
    #[serde(default)]
    pub draft: Option<bool>,
    /// Shared.
    #[serde(default)]
    pub shared: Option<bool>,
    /// Team cadence.
    #[serde(default)]
    pub team_cadence: Option<bool>,
    /// `outbound`, `inbound`, `event` or `other`.
    #[serde(default)]
    pub cadence_function: Option<String>,
    /// Framework id.
    #[serde(default)]
    pub cadence_framework_id: Option<i64>,
    /// External identifier.
    #[serde(default)]
    pub external_identifier: Option<String>,
    /// Opt-out link included.
    #[serde(default)]
    pub opt_out_link_included: Option<bool>,
    /// Remove bounced people.
    #[serde(default)]
    pub remove_bounces_enabled: Option<bool>,
    /// Remove people who replied.
    #[serde(default)]
    pub remove_replies_enabled: Option<bool>,
    /// Tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Counters.
    #[serde(default)]
    pub counts: Option<CadenceCounts>,
    /// Owner.
    #[serde(default)]
    pub owner: Option<Ref<UserId>>,
    /// Creator.
    #[serde(default)]
    pub creator: Option<Ref<UserId>>,
    /// Groups.
    #[serde(default)]
    pub groups: Option<Vec<Ref<GroupId>>>,
    /// Stage set when added.
    #[serde(default)]
    pub added_stage: Option<Ref<PersonStageId>>,
    /// Stage set on bounce.
    #[serde(default)]
    pub bounced_stage: Option<Ref<PersonStageId>>,
    /// Stage set when finished.
    #[serde(default)]
    pub finished_stage: Option<Ref<PersonStageId>>,
    /// Stage set on reply.
    #[serde(default)]
    pub replied_stage: Option<Ref<PersonStageId>>,
    /// Priority.
    #[serde(default)]
    pub cadence_priority: Option<Ref<serde_json::Value>>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A cadence's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CadenceCounts {
    /// People on the cadence.
    #[serde(default)]
    pub cadence_people: Option<i64>,
    /// Meetings booked.
    #[serde(default)]
    pub meetings_booked: Option<i64>,
    /// Opportunities created.
    #[serde(default)]
    pub opportunities_created: Option<i64>,
    /// People acted on.
    #[serde(default)]
    pub people_acted_on_count: Option<i64>,
    /// Daily target.
    #[serde(default)]
    pub target_daily_people: Option<i64>,
    /// Counters not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}
