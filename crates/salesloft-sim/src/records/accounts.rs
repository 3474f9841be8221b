//! Accounts (`/v2/accounts`; FACTS.md §5.2, §5.5 Account).

use crate::body::Params;
use crate::clock::Micros;
use crate::errors::Validation;
use crate::json::ObjectWriter;
use crate::list::SortValue;
use crate::records::Render;
use crate::table::timestamped;

/// `sort_by` values of `/v2/accounts` (FACTS.md §4.1; default `updated_at`).
pub const SORTS: &[&str] = &[
    "created_at",
    "updated_at",
    "last_contacted_at",
    "account_stage",
    "account_stage_name",
    "account_tier",
    "account_tier_name",
    "name",
    "counts_people",
];

/// An account (company).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// Name (required).
    pub name: Option<String>,
    /// Domain (required, unique on the team, stored lowercase).
    pub domain: Option<String>,
    /// Conversational name.
    pub conversational_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// LinkedIn URL.
    pub linkedin_url: Option<String>,
    /// Twitter handle.
    pub twitter_handle: Option<String>,
    /// Street.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Locale.
    pub locale: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Company type.
    pub company_type: Option<String>,
    /// Founded.
    pub founded: Option<String>,
    /// Revenue range.
    pub revenue_range: Option<String>,
    /// Size.
    pub size: Option<String>,
    /// CRM id.
    pub crm_id: Option<String>,
    /// Owner.
    pub owner_id: Option<i64>,
    /// Creator.
    pub creator_id: Option<i64>,
    /// Account tier.
    pub account_tier_id: Option<i64>,
    /// Company stage.
    pub company_stage_id: Option<i64>,
    /// Do not contact.
    pub do_not_contact: bool,
    /// Archived at.
    pub archived_at: Option<Micros>,
    /// Custom fields.
    pub custom_fields: Vec<(String, String)>,
    /// Tags.
    pub tags: Vec<String>,
    /// Created.
    pub created_at: Micros,
    /// Updated.
    pub updated_at: Micros,
}

timestamped!(Account);

fn string_slot<'a>(account: &'a mut Account, name: &str) -> Option<&'a mut Option<String>> {
    Some(match name {
        "name" => &mut account.name,
        "domain" => &mut account.domain,
        "conversational_name" => &mut account.conversational_name,
        "description" => &mut account.description,
        "phone" => &mut account.phone,
        "website" => &mut account.website,
        "linkedin_url" => &mut account.linkedin_url,
        "twitter_handle" => &mut account.twitter_handle,
        "street" => &mut account.street,
        "city" => &mut account.city,
        "state" => &mut account.state,
        "postal_code" => &mut account.postal_code,
        "country" => &mut account.country,
        "locale" => &mut account.locale,
        "industry" => &mut account.industry,
        "company_type" => &mut account.company_type,
        "founded" => &mut account.founded,
        "revenue_range" => &mut account.revenue_range,
        "size" => &mut account.size,
        "crm_id" => &mut account.crm_id,
        _ => return None,
    })
}

const STRING_FIELDS: &[&str] = &[
    "name",
    "domain",
    "conversational_name",
    "description",
    "phone",
    "website",
    "linkedin_url",
    "twitter_handle",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "locale",
    "industry",
    "company_type",
    "founded",
    "revenue_range",
    "size",
    "crm_id",
];

impl Account {
    /// Applies a create or update body. FACTS.md §5.2: `name` and `domain` are required on POST and PUT
    /// bodies alike (the OpenAPI marks both required on PUT too); here a PUT may omit them and keep the
    /// stored values, but may not blank them.
    pub fn apply(&mut self, params: &Params, now: Micros, required_message: &str, errors: &mut Validation) {
        for name in STRING_FIELDS {
            if let Some(value) = params.string(name, errors)
                && let Some(slot) = string_slot(self, name)
            {
                *slot = value.map(|text| text.trim().to_owned());
            }
        }
        // "Domains are unique and lowercase" (FACTS.md §5.2 via the accounts list filter doc).
        self.domain = self.domain.take().map(|domain| domain.to_lowercase());
        for (name, slot) in [
            ("owner_id", &mut self.owner_id),
            ("account_tier_id", &mut self.account_tier_id),
            ("company_stage_id", &mut self.company_stage_id),
        ] {
            if let Some(value) = params.int(name, errors) {
                *slot = value;
            }
        }
        if let Some(flag) = params.bool("do_not_contact", errors) {
            self.do_not_contact = flag;
        }
        if let Some(archived) = params.bool("archived", errors) {
            self.archived_at = match (archived, self.archived_at) {
                (true, Some(at)) => Some(at),
                (true, None) => Some(now),
                (false, _) => None,
            };
        }
        if let Some(fields) = params.string_map("custom_fields", errors) {
            self.custom_fields = fields;
        }
        if let Some(tags) = params.string_list("tags", errors) {
            self.tags = tags;
        }
        if self.name.is_none() {
            errors.add("name", required_message);
        }
        if self.domain.is_none() {
            errors.add("domain", required_message);
        }
    }

    /// Sort key for `sort_by` values without an index.
    pub fn sort_value(&self, key: &str) -> Option<SortValue> {
        match key {
            "name" => self.name.as_ref().map(|name| SortValue::Text(name.to_lowercase())),
            "account_tier" | "account_tier_name" => self.account_tier_id.map(SortValue::Int),
            "account_stage" | "account_stage_name" => self.company_stage_id.map(SortValue::Int),
            "created_at" => Some(SortValue::Int(self.created_at)),
            "last_contacted_at" => None,
            "counts_people" => Some(SortValue::Int(0)),
            _ => Some(SortValue::Int(self.updated_at)),
        }
    }

    /// Renders the Account object with every documented key.
    pub fn render(&self, id: i64, render: &Render<'_>, out: &mut String) {
        let base = render.base;
        let mut object = ObjectWriter::new(out);
        render
            .head(&mut object, id, self)
            .str("archived_at", render.ts_opt(self.archived_at).as_deref())
            .str("name", self.name.as_deref())
            .str("domain", self.domain.as_deref())
            .str("conversational_name", self.conversational_name.as_deref())
            .str("description", self.description.as_deref())
            .str("phone", self.phone.as_deref())
            .str("website", self.website.as_deref())
            .str("linkedin_url", self.linkedin_url.as_deref())
            .str("twitter_handle", self.twitter_handle.as_deref())
            .str("street", self.street.as_deref())
            .str("city", self.city.as_deref())
            .str("state", self.state.as_deref())
            .str("postal_code", self.postal_code.as_deref())
            .str("country", self.country.as_deref())
            .str("locale", self.locale.as_deref())
            .str("industry", self.industry.as_deref())
            .str("company_type", self.company_type.as_deref())
            .str("founded", self.founded.as_deref())
            .str("revenue_range", self.revenue_range.as_deref())
            .str("size", self.size.as_deref())
            .bool("do_not_contact", Some(self.do_not_contact))
            .object("custom_fields", |fields| {
                for (name, value) in &self.custom_fields {
                    fields.str(name, Some(value));
                }
            })
            .str_array("tags", &self.tags)
            .str("crm_id", self.crm_id.as_deref())
            .str("crm_object_type", self.crm_id.as_ref().map(|_| "Account"))
            .str("crm_url", None)
            .str("owner_crm_id", None)
            .str("last_contacted_at", None)
            .str("last_contacted_type", None)
            .raw("user_relationships", "[]")
            .object("counts", |counts| {
                // Counting people per account is not simulated; FACTS.md §5.5 allows `people: null`.
                counts.int("people", None);
            })
            .reference("owner", base, "users", self.owner_id)
            .reference("creator", base, "users", self.creator_id)
            .reference("last_contacted_by", base, "users", None)
            .reference("last_contacted_person", base, "people", None)
            .reference("company_stage", base, "account_stages", self.company_stage_id)
            .reference("account_tier", base, "account_tiers", self.account_tier_id);
        object.finish();
    }
}
