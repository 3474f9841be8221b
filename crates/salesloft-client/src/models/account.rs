//! Accounts (`/v2/accounts`): [`Account`] and the write model [`AccountInput`].

use serde::{Deserialize, Serialize};

use super::common::{AccountId, AccountStageId, Extra, PersonId, Ref, Timestamp, UserId};

/// An account (company) as SalesLoft returns it (FACTS.md §5.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Account {
    /// Id.
    pub id: AccountId,
    /// When the account was created.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Last update; the keyset cursor field.
    pub updated_at: Timestamp,
    /// When the account was archived, if it is.
    #[serde(default)]
    pub archived_at: Option<Timestamp>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Domain, unique on the team.
    #[serde(default)]
    pub domain: Option<String>,
    /// Conversational name.
    #[serde(default)]
    pub conversational_name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Website.
    #[serde(default)]
    pub website: Option<String>,
    /// LinkedIn URL.
    #[serde(default)]
    pub linkedin_url: Option<String>,
    /// Twitter handle.
    #[serde(default)]
    pub twitter_handle: Option<String>,
    /// Street.
    #[serde(default)]
    pub street: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// State.
    #[serde(default)]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub postal_code: Option<String>,
    /// Country.
    #[serde(default)]
    pub country: Option<String>,
    /// Locale.
    #[serde(default)]
    pub locale: Option<String>,
    /// Industry.
    #[serde(default)]
    pub industry: Option<String>,
    /// Company type.
    #[serde(default)]
    pub company_type: Option<String>,
    /// Year founded.
    #[serde(default)]
    pub founded: Option<String>,
    /// Revenue range.
    #[serde(default)]
    pub revenue_range: Option<String>,
    /// Size.
    #[serde(default)]
    pub size: Option<String>,
    /// CRM id.
    #[serde(default)]
    pub crm_id: Option<String>,
    /// CRM URL.
    #[serde(default)]
    pub crm_url: Option<String>,
    /// CRM object type.
    #[serde(default)]
    pub crm_object_type: Option<String>,
    /// Owner's CRM id.
    #[serde(default)]
    pub owner_crm_id: Option<String>,
    /// Do not contact.
    #[serde(default)]
    pub do_not_contact: Option<bool>,
    /// Last contact.
    #[serde(default)]
    pub last_contacted_at: Option<Timestamp>,
    /// Type of the last contact.
    #[serde(default)]
    pub last_contacted_type: Option<String>,
    /// Custom fields.
    #[serde(default)]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// Tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Counters.
    #[serde(default)]
    pub counts: Option<AccountCounts>,
    /// Owning user.
    #[serde(default)]
    pub owner: Option<Ref<UserId>>,
    /// Creator.
    #[serde(default)]
    pub creator: Option<Ref<UserId>>,
    /// Who contacted the account last.
    #[serde(default)]
    pub last_contacted_by: Option<Ref<UserId>>,
    /// Person contacted last.
    #[serde(default)]
    pub last_contacted_person: Option<Ref<PersonId>>,
    /// Account stage.
    #[serde(default)]
    pub company_stage: Option<Ref<AccountStageId>>,
    /// Account tier.
    #[serde(default)]
    pub account_tier: Option<Ref<AccountStageId>>,
    /// User relationships.
    #[serde(default)]
    pub user_relationships: Option<serde_json::Value>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An account's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccountCounts {
    /// People on the account.
    #[serde(default)]
    pub people: Option<i64>,
    /// Counters not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The body of `POST /v2/accounts` and `PUT /v2/accounts/{id}`. SalesLoft requires `name` and `domain` on
/// both, and "domain must be unique on the current team" (FACTS.md §5.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccountInput {
    /// Name (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Domain (required, unique).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Conversational name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversational_name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// LinkedIn URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linkedin_url: Option<String>,
    /// Twitter handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twitter_handle: Option<String>,
    /// Street.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Industry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    /// Company type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_type: Option<String>,
    /// Year founded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub founded: Option<String>,
    /// Revenue range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue_range: Option<String>,
    /// Size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// CRM id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_id: Option<String>,
    /// Do not contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_not_contact: Option<bool>,
    /// Owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<UserId>,
    /// Account stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_stage_id: Option<AccountStageId>,
    /// Account tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_tier_id: Option<AccountStageId>,
    /// Custom fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Archive or unarchive (update only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

impl AccountInput {
    /// An input with the two required fields.
    pub fn new(name: impl Into<String>, domain: impl Into<String>) -> Self {
        Self { name: Some(name.into()), domain: Some(domain.into()), ..Self::default() }
    }
}
