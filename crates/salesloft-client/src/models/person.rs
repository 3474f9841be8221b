//! People (`/v2/people`): the read model [`Person`] and the write model [`PersonInput`] (FACTS.md §5.3).

use serde::{Deserialize, Serialize};

use super::common::{AccountId, CadenceId, Extra, ImportId, PersonId, PersonStageId, Ref, StepId, Timestamp, UserId};

/// A person as SalesLoft returns it. Nullable fields are `Option`; unknown fields land in [`Person::extra`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Person {
    /// Id.
    pub id: PersonId,
    /// When the person was created.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Last update; the keyset cursor field (FACTS.md §4.5).
    pub updated_at: Timestamp,
    /// Last time anyone contacted the person.
    #[serde(default)]
    pub last_contacted_at: Option<Timestamp>,
    /// Last time the person replied.
    #[serde(default)]
    pub last_replied_at: Option<Timestamp>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// "Either the full name or the email address".
    #[serde(default)]
    pub display_name: Option<String>,
    /// Email address, the unique lookup on the team.
    #[serde(default)]
    pub email_address: Option<String>,
    /// `"Name" <email>`.
    #[serde(default)]
    pub full_email_address: Option<String>,
    /// Secondary email.
    #[serde(default)]
    pub secondary_email_address: Option<String>,
    /// Personal email.
    #[serde(default)]
    pub personal_email_address: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Phone extension.
    #[serde(default)]
    pub phone_extension: Option<String>,
    /// Home phone.
    #[serde(default)]
    pub home_phone: Option<String>,
    /// Mobile phone.
    #[serde(default)]
    pub mobile_phone: Option<String>,
    /// LinkedIn profile URL.
    #[serde(default)]
    pub linkedin_url: Option<String>,
    /// Job title.
    #[serde(default)]
    pub title: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// State.
    #[serde(default)]
    pub state: Option<String>,
    /// Country.
    #[serde(default)]
    pub country: Option<String>,
    /// Work city.
    #[serde(default)]
    pub work_city: Option<String>,
    /// Work state.
    #[serde(default)]
    pub work_state: Option<String>,
    /// Work country.
    #[serde(default)]
    pub work_country: Option<String>,
    /// CRM URL.
    #[serde(default)]
    pub crm_url: Option<String>,
    /// CRM id.
    #[serde(default)]
    pub crm_id: Option<String>,
    /// CRM object type.
    #[serde(default)]
    pub crm_object_type: Option<String>,
    /// Owner's CRM id.
    #[serde(default)]
    pub owner_crm_id: Option<String>,
    /// Company name.
    #[serde(default)]
    pub person_company_name: Option<String>,
    /// Company website.
    #[serde(default)]
    pub person_company_website: Option<String>,
    /// Company industry.
    #[serde(default)]
    pub person_company_industry: Option<String>,
    /// Do not contact.
    #[serde(default)]
    pub do_not_contact: Option<bool>,
    /// Emails to this person bounce.
    #[serde(default)]
    pub bouncing: Option<bool>,
    /// Locale (time zone name).
    #[serde(default)]
    pub locale: Option<String>,
    /// Offset of the locale from UTC.
    #[serde(default)]
    pub locale_utc_offset: Option<i64>,
    /// EU resident.
    #[serde(default)]
    pub eu_resident: Option<bool>,
    /// Personal website.
    #[serde(default)]
    pub personal_website: Option<String>,
    /// Twitter handle.
    #[serde(default)]
    pub twitter_handle: Option<String>,
    /// `call`, `email` or `other`.
    #[serde(default)]
    pub last_contacted_type: Option<String>,
    /// `director`, `executive`, `individual_contributor`, `manager`, `vice_president` or `unknown`.
    #[serde(default)]
    pub job_seniority: Option<String>,
    /// Custom fields, name → value.
    #[serde(default)]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// Tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// `call`, `email`, `message`.
    #[serde(default)]
    pub contact_restrictions: Option<Vec<String>>,
    /// Number of successes.
    #[serde(default)]
    pub success_count: Option<i64>,
    /// Starred by the caller.
    #[serde(default)]
    pub starred: Option<bool>,
    /// Never touched.
    #[serde(default)]
    pub untouched: Option<bool>,
    /// Activity counters.
    #[serde(default)]
    pub counts: Option<PersonCounts>,
    /// The person's account.
    #[serde(default)]
    pub account: Option<Ref<AccountId>>,
    /// The owning user.
    #[serde(default)]
    pub owner: Option<Ref<UserId>>,
    /// Who contacted the person last.
    #[serde(default)]
    pub last_contacted_by: Option<Ref<UserId>>,
    /// The import that created the person.
    #[serde(default)]
    pub import: Option<Ref<ImportId>>,
    /// Person stage.
    #[serde(default)]
    pub person_stage: Option<Ref<PersonStageId>>,
    /// Most recent cadence.
    #[serde(default)]
    pub most_recent_cadence: Option<Ref<CadenceId>>,
    /// Cadence of the last completed step.
    #[serde(default)]
    pub last_completed_step_cadence: Option<Ref<CadenceId>>,
    /// Last completed step.
    #[serde(default)]
    pub last_completed_step: Option<Ref<StepId>>,
    /// Cadences the person is on.
    #[serde(default)]
    pub cadences: Option<Vec<Ref<CadenceId>>>,
    /// Fields not modelled here (e.g. the observed `account_crm_id`), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A person's activity counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PersonCounts {
    /// Emails sent.
    #[serde(default)]
    pub emails_sent: Option<i64>,
    /// Emails viewed.
    #[serde(default)]
    pub emails_viewed: Option<i64>,
    /// Emails clicked.
    #[serde(default)]
    pub emails_clicked: Option<i64>,
    /// Emails replied to.
    #[serde(default)]
    pub emails_replied_to: Option<i64>,
    /// Emails bounced.
    #[serde(default)]
    pub emails_bounced: Option<i64>,
    /// Calls.
    #[serde(default)]
    pub calls: Option<i64>,
    /// Counters not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The body of `POST /v2/people` and `PUT /v2/people/{id}`: every documented field, all optional; unset
/// fields are not sent (FACTS.md §5.3). A create needs `email_address`, or `phone` and `last_name`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PersonInput {
    /// Email address (the unique lookup on the team).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
    /// Tag date (create only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autotag_date: Option<bool>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// `call`, `email`, `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_restrictions: Option<Vec<String>>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// CRM id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_id: Option<String>,
    /// CRM id type (`salesforce`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_id_type: Option<String>,
    /// Custom fields, name → value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// Do not contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_not_contact: Option<bool>,
    /// Home phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_phone: Option<String>,
    /// Import id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<ImportId>,
    /// `director`, `executive`, `individual_contributor`, `manager`, `vice_president`, `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_seniority: Option<String>,
    /// LinkedIn URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linkedin_url: Option<String>,
    /// Locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Mobile phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    /// Owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<UserId>,
    /// Company industry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_company_industry: Option<String>,
    /// Company name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_company_name: Option<String>,
    /// Company website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_company_website: Option<String>,
    /// Person stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_stage_id: Option<PersonStageId>,
    /// Personal email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_email_address: Option<String>,
    /// Personal website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_website: Option<String>,
    /// Phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Phone extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_extension: Option<String>,
    /// Secondary email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_email_address: Option<String>,
    /// State.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Twitter handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twitter_handle: Option<String>,
    /// Work city.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_city: Option<String>,
    /// Work country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_country: Option<String>,
    /// Work state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_state: Option<String>,
}

impl PersonInput {
    /// An input with only the email address set.
    pub fn with_email(email: impl Into<String>) -> Self {
        Self { email_address: Some(email.into()), ..Self::default() }
    }

    /// Sets the first name.
    pub fn first_name(mut self, value: impl Into<String>) -> Self {
        self.first_name = Some(value.into());
        self
    }

    /// Sets the last name.
    pub fn last_name(mut self, value: impl Into<String>) -> Self {
        self.last_name = Some(value.into());
        self
    }

    /// Sets the title.
    pub fn title(mut self, value: impl Into<String>) -> Self {
        self.title = Some(value.into());
        self
    }

    /// The email address normalized for matching: trimmed and lower-cased; `None` when absent or blank.
    pub fn normalized_email(&self) -> Option<String> {
        self.email_address.as_deref().and_then(normalize_email)
    }

    /// The body for an update: the same fields minus the create-only `autotag_date`.
    pub fn for_update(&self) -> PersonInput {
        PersonInput { autotag_date: None, ..self.clone() }
    }

    /// True when every field this input sets already has that value on `person`, so an update would change
    /// nothing. Fields whose current value cannot be read from a [`Person`] count as changed.
    pub fn is_satisfied_by(&self, person: &Person) -> bool {
        fn same<T: PartialEq>(want: &Option<T>, have: &Option<T>) -> bool {
            want.is_none() || want == have
        }
        fn same_ref<Id: PartialEq + Copy>(want: &Option<Id>, have: &Option<Ref<Id>>) -> bool {
            want.is_none() || *want == have.as_ref().map(|r| r.id)
        }
        let email_same = match (&self.email_address, &person.email_address) {
            (None, _) => true,
            (Some(want), Some(have)) => normalize_email(want) == normalize_email(have) && want.trim() == have,
            (Some(_), None) => false,
        };
        let custom_same = match (&self.custom_fields, &person.custom_fields) {
            (None, _) => true,
            (Some(want), Some(have)) => want.iter().all(|(k, v)| have.get(k) == Some(v)),
            (Some(want), None) => want.is_empty(),
        };
        email_same
            && custom_same
            && self.autotag_date.is_none()
            && self.crm_id_type.is_none()
            && self.import_id.is_none()
            && same_ref(&self.account_id, &person.account)
            && same_ref(&self.owner_id, &person.owner)
            && same_ref(&self.person_stage_id, &person.person_stage)
            && same(&self.first_name, &person.first_name)
            && same(&self.last_name, &person.last_name)
            && same(&self.city, &person.city)
            && same(&self.contact_restrictions, &person.contact_restrictions)
            && same(&self.country, &person.country)
            && same(&self.crm_id, &person.crm_id)
            && same(&self.do_not_contact, &person.do_not_contact)
            && same(&self.home_phone, &person.home_phone)
            && same(&self.job_seniority, &person.job_seniority)
            && same(&self.linkedin_url, &person.linkedin_url)
            && same(&self.locale, &person.locale)
            && same(&self.mobile_phone, &person.mobile_phone)
            && same(&self.person_company_industry, &person.person_company_industry)
            && same(&self.person_company_name, &person.person_company_name)
            && same(&self.person_company_website, &person.person_company_website)
            && same(&self.personal_email_address, &person.personal_email_address)
            && same(&self.personal_website, &person.personal_website)
            && same(&self.phone, &person.phone)
            && same(&self.phone_extension, &person.phone_extension)
            && same(&self.secondary_email_address, &person.secondary_email_address)
            && same(&self.state, &person.state)
            && same(&self.tags, &person.tags)
            && same(&self.title, &person.title)
            && same(&self.twitter_handle, &person.twitter_handle)
            && same(&self.work_city, &person.work_city)
            && same(&self.work_country, &person.work_country)
            && same(&self.work_state, &person.work_state)
    }
}

/// Normalizes an email for matching: trimmed, lower-cased; `None` when blank.
pub fn normalize_email(email: &str) -> Option<String> {
    let trimmed = email.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_lowercase())
}

/// Which field `POST /v2/person_upserts` matches an existing person on (FACTS.md §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpsertKey {
    /// The person's id (the body carries `id`).
    Id,
    /// The CRM id (needs the `person:set_crm_id` scope and a `crm_id_type`).
    CrmId,
    /// The email address.
    EmailAddress,
}

impl UpsertKey {
    /// The value SalesLoft expects in `upsert_key`.
    pub fn as_str(self) -> &'static str {
        match self {
            UpsertKey::Id => "id",
            UpsertKey::CrmId => "crm_id",
            UpsertKey::EmailAddress => "email_address",
        }
    }
}

/// Whether `POST /v2/person_upserts` created or updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpsertType {
    /// No person matched: one was created.
    Create,
    /// A person matched and was updated.
    Update,
}

/// The `data` of a `POST /v2/person_upserts` response: `{"person": {...}, "upsert_type": "create"|"update"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PersonUpsert {
    /// The person as it now is.
    pub person: Person,
    /// Create or update.
    pub upsert_type: UpsertType,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
