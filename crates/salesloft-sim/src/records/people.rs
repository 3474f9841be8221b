//! People (`/v2/people`; FACTS.md §5.3, `schemas.md` Person).
//!
//! Seeded people are not stored: a row holds its timestamps and, once written through the API, its data;
//! until then the data is generated from the seed on demand ([`crate::seed::person`]). A million seeded
//! people therefore cost a few dozen bytes each.

use crate::body::Params;
use crate::clock::Micros;
use crate::errors::Validation;
use crate::json::{ObjectWriter, push_reference};
use crate::list::SortValue;
use crate::records::Render;
use crate::table::timestamped;

/// `sort_by` values of `/v2/people` (FACTS.md §4.1; default `updated_at`).
pub const SORTS: &[&str] = &[
    "created_at",
    "updated_at",
    "last_contacted_at",
    "name",
    "title",
    "job_seniority",
    "call_count",
    "sent_emails",
    "clicked_emails",
    "replied_emails",
    "viewed_emails",
    "account",
    "cadence_stage_name",
];

/// FACTS.md §5.3: allowed `job_seniority` values.
pub const JOB_SENIORITIES: &[&str] =
    &["director", "executive", "individual_contributor", "manager", "vice_president", "unknown"];

/// FACTS.md §5.3: allowed `contact_restrictions` items.
pub const CONTACT_RESTRICTIONS: &[&str] = &["call", "email", "message"];

/// A stored person row: timestamps always, data once it differs from the seed.
#[derive(Debug, Clone)]
pub struct PersonRow {
    /// Created.
    pub created_at: Micros,
    /// Updated.
    pub updated_at: Micros,
    /// `None` while the person is exactly as seeded.
    pub data: Option<Box<Person>>,
}

timestamped!(PersonRow);

/// The writable attributes of a person (FACTS.md §5.3 body fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email address (unique on the team, case-insensitively).
    pub email_address: Option<String>,
    /// Secondary email.
    pub secondary_email_address: Option<String>,
    /// Personal email.
    pub personal_email_address: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Phone extension.
    pub phone_extension: Option<String>,
    /// Home phone.
    pub home_phone: Option<String>,
    /// Mobile phone.
    pub mobile_phone: Option<String>,
    /// LinkedIn URL.
    pub linkedin_url: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Work city.
    pub work_city: Option<String>,
    /// Work state.
    pub work_state: Option<String>,
    /// Work country.
    pub work_country: Option<String>,
    /// CRM id.
    pub crm_id: Option<String>,
    /// Company name on the person.
    pub person_company_name: Option<String>,
    /// Company website on the person.
    pub person_company_website: Option<String>,
    /// Company industry on the person.
    pub person_company_industry: Option<String>,
    /// Locale.
    pub locale: Option<String>,
    /// Personal website.
    pub personal_website: Option<String>,
    /// Twitter handle.
    pub twitter_handle: Option<String>,
    /// Job seniority.
    pub job_seniority: Option<String>,
    /// Opted out of all communication.
    pub do_not_contact: bool,
    /// Linked account.
    pub account_id: Option<i64>,
    /// Owning user.
    pub owner_id: Option<i64>,
    /// Import.
    pub import_id: Option<i64>,
    /// Person stage.
    pub person_stage_id: Option<i64>,
    /// Custom fields (name, value).
    pub custom_fields: Vec<(String, String)>,
    /// Tags.
    pub tags: Vec<String>,
    /// Contact restrictions.
    pub contact_restrictions: Vec<String>,
}

/// The string fields a write may set, with their slot in [`Person`].
fn string_slot<'a>(person: &'a mut Person, name: &str) -> Option<&'a mut Option<String>> {
    Some(match name {
        "first_name" => &mut person.first_name,
        "last_name" => &mut person.last_name,
        "email_address" => &mut person.email_address,
        "secondary_email_address" => &mut person.secondary_email_address,
        "personal_email_address" => &mut person.personal_email_address,
        "phone" => &mut person.phone,
        "phone_extension" => &mut person.phone_extension,
        "home_phone" => &mut person.home_phone,
        "mobile_phone" => &mut person.mobile_phone,
        "linkedin_url" => &mut person.linkedin_url,
        "title" => &mut person.title,
        "city" => &mut person.city,
        "state" => &mut person.state,
        "country" => &mut person.country,
        "work_city" => &mut person.work_city,
        "work_state" => &mut person.work_state,
        "work_country" => &mut person.work_country,
        "crm_id" => &mut person.crm_id,
        "person_company_name" => &mut person.person_company_name,
        "person_company_website" => &mut person.person_company_website,
        "person_company_industry" => &mut person.person_company_industry,
        "locale" => &mut person.locale,
        "personal_website" => &mut person.personal_website,
        "twitter_handle" => &mut person.twitter_handle,
        "job_seniority" => &mut person.job_seniority,
        _ => return None,
    })
}

const STRING_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "email_address",
    "secondary_email_address",
    "personal_email_address",
    "phone",
    "phone_extension",
    "home_phone",
    "mobile_phone",
    "linkedin_url",
    "title",
    "city",
    "state",
    "country",
    "work_city",
    "work_state",
    "work_country",
    "crm_id",
    "person_company_name",
    "person_company_website",
    "person_company_industry",
    "locale",
    "personal_website",
    "twitter_handle",
    "job_seniority",
];

impl Person {
    /// Applies the body of a create or update, collecting field errors. Team-level checks (unique email,
    /// existing account and owner) are the caller's.
    pub fn apply(&mut self, params: &Params, required_message: &str, errors: &mut Validation) {
        for name in STRING_FIELDS {
            if let Some(value) = params.string(name, errors)
                && let Some(slot) = string_slot(self, name)
            {
                *slot = value.map(|text| text.trim().to_owned());
            }
        }
        if let Some(email) = &self.email_address
            && !looks_like_email(email)
        {
            errors.add("email_address", "is invalid");
        }
        if let Some(seniority) = &self.job_seniority
            && !JOB_SENIORITIES.contains(&seniority.as_str())
        {
            errors.add("job_seniority", format!("must be one of {}", JOB_SENIORITIES.join(", ")));
        }
        if let Some(flag) = params.bool("do_not_contact", errors) {
            self.do_not_contact = flag;
        }
        for (name, slot) in [
            ("account_id", &mut self.account_id),
            ("owner_id", &mut self.owner_id),
            ("import_id", &mut self.import_id),
            ("person_stage_id", &mut self.person_stage_id),
        ] {
            if let Some(value) = params.int(name, errors) {
                *slot = value;
            }
        }
        if let Some(fields) = params.string_map("custom_fields", errors) {
            self.custom_fields = fields;
        }
        if let Some(tags) = params.string_list("tags", errors) {
            self.tags = tags;
        }
        if let Some(restrictions) = params.string_list("contact_restrictions", errors) {
            if restrictions.iter().any(|item| !CONTACT_RESTRICTIONS.contains(&item.as_str())) {
                errors.add("contact_restrictions", "is invalid");
            } else {
                self.contact_restrictions = restrictions;
            }
        }
        if params.has("crm_id")
            && self.crm_id.is_some()
            && params.string("crm_id_type", &mut Validation::default()).flatten().as_deref() != Some("salesforce")
        {
            // FACTS.md §5.3: "You must provide a crm_id_type if this is included" (salesforce only).
            errors.add("crm_id_type", "must be salesforce");
        }
        // FACTS.md §5.3: "Either email_address or phone/last_name must be provided". Checked on updates too,
        // since clearing the email of a person without phone and last name leaves no lookup.
        if self.email_address.is_none() && (self.phone.is_none() || self.last_name.is_none()) {
            errors.add("email_address", required_message);
        }
    }

    /// `display_name`: "Either the full name or the email address" (FACTS.md §5.3).
    pub fn display_name(&self) -> Option<String> {
        let full =
            [self.first_name.as_deref(), self.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        if full.is_empty() { self.email_address.clone() } else { Some(full) }
    }

    /// Sort key for `sort_by` values without an index.
    pub fn sort_value(&self, key: &str, row: &PersonRow) -> Option<SortValue> {
        match key {
            "name" => self.display_name().map(|name| SortValue::Text(name.to_lowercase())),
            "title" => self.title.as_ref().map(|text| SortValue::Text(text.to_lowercase())),
            "job_seniority" => self.job_seniority.clone().map(SortValue::Text),
            "account" => self.account_id.map(SortValue::Int),
            "created_at" => Some(SortValue::Int(row.created_at)),
            // Activity counters and last-contacted are never set in the simulator (all zero / null), so
            // they sort like updated_at ties would: by null/zero then id.
            "last_contacted_at" | "cadence_stage_name" => None,
            "call_count" | "sent_emails" | "clicked_emails" | "replied_emails" | "viewed_emails" => {
                Some(SortValue::Int(0))
            }
            _ => Some(SortValue::Int(row.updated_at)),
        }
    }

    /// Renders the Person object with every documented key (explicit nulls). `cadences` are the cadences the
    /// person is currently on, most recent last.
    pub fn render(&self, id: i64, row: &PersonRow, cadences: &[i64], render: &Render<'_>, out: &mut String) {
        let base = render.base;
        let display = self.display_name();
        let full_email = self.email_address.as_ref().map(|email| match &display {
            Some(name) if name != email => format!("\"{name}\" <{email}>"),
            _ => email.clone(),
        });
        let mut cadence_refs = String::from("[");
        for (index, cadence) in cadences.iter().enumerate() {
            if index > 0 {
                cadence_refs.push(',');
            }
            push_reference(&mut cadence_refs, base, "cadences", *cadence);
        }
        cadence_refs.push(']');
        let mut object = ObjectWriter::new(out);
        render
            .head(&mut object, id, row)
            .str("last_contacted_at", None)
            .str("last_replied_at", None)
            .str("first_name", self.first_name.as_deref())
            .str("last_name", self.last_name.as_deref())
            .str("display_name", display.as_deref())
            .str("email_address", self.email_address.as_deref())
            .str("full_email_address", full_email.as_deref())
            .str("secondary_email_address", self.secondary_email_address.as_deref())
            .str("personal_email_address", self.personal_email_address.as_deref())
            .str("phone", self.phone.as_deref())
            .str("phone_extension", self.phone_extension.as_deref())
            .str("home_phone", self.home_phone.as_deref())
            .str("mobile_phone", self.mobile_phone.as_deref())
            .str("linkedin_url", self.linkedin_url.as_deref())
            .str("title", self.title.as_deref())
            .str("city", self.city.as_deref())
            .str("state", self.state.as_deref())
            .str("country", self.country.as_deref())
            .str("work_city", self.work_city.as_deref())
            .str("work_state", self.work_state.as_deref())
            .str("work_country", self.work_country.as_deref())
            .str("crm_url", None)
            .str("crm_id", self.crm_id.as_deref())
            .str("account_crm_id", None)
            .str("crm_object_type", self.crm_id.as_ref().map(|_| "Contact"))
            .str("owner_crm_id", None)
            .str("person_company_name", self.person_company_name.as_deref())
            .str("person_company_website", self.person_company_website.as_deref())
            .str("person_company_industry", self.person_company_industry.as_deref())
            .bool("do_not_contact", Some(self.do_not_contact))
            .bool("bouncing", Some(false))
            .str("locale", self.locale.as_deref())
            .int("locale_utc_offset", self.locale.as_ref().map(|_| i64::from(render.offset_minutes) * 60))
            .bool("eu_resident", Some(false))
            .str("personal_website", self.personal_website.as_deref())
            .str("twitter_handle", self.twitter_handle.as_deref())
            .str("last_contacted_type", None)
            .str("job_seniority", self.job_seniority.as_deref())
            .object("custom_fields", |fields| {
                for (name, value) in &self.custom_fields {
                    fields.str(name, Some(value));
                }
            })
            .str_array("tags", &self.tags)
            .str_array("contact_restrictions", &self.contact_restrictions)
            .int("success_count", Some(0))
            .bool("starred", Some(false))
            .bool("untouched", Some(cadences.is_empty()))
            .object("counts", |counts| {
                counts
                    .int("emails_sent", Some(0))
                    .int("emails_viewed", Some(0))
                    .int("emails_clicked", Some(0))
                    .int("emails_replied_to", Some(0))
                    .int("emails_bounced", Some(0))
                    .int("calls", Some(0));
            })
            .reference("account", base, "accounts", self.account_id)
            .reference("owner", base, "users", self.owner_id)
            .reference("last_contacted_by", base, "users", None)
            .reference("import", base, "imports", self.import_id)
            .reference("person_stage", base, "person_stages", self.person_stage_id)
            .reference("most_recent_cadence", base, "cadences", cadences.last().copied())
            .reference("last_completed_step_cadence", base, "cadences", None)
            .reference("last_completed_step", base, "steps", None)
            .raw("cadences", &cadence_refs);
        object.finish();
    }
}

/// A loose email check: something@something.something, no spaces.
pub fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
        && !domain.contains('@')
}
