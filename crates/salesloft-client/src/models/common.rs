//! Shapes shared by every resource: ids, embedded references, timestamps, envelopes and list metadata
//! (FACTS.md §4.2, §5.1).

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Declares a newtype id over SalesLoft's integer ids, so ids of different resources cannot be swapped.
macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw integer id.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}

id_type!(
    /// The id of a person (`/v2/people/{id}`).
    PersonId,
    /// The id of an account (`/v2/accounts/{id}`).
    AccountId,
    /// The id of a cadence (`/v2/cadences/{id}`).
    CadenceId,
    /// The id of a cadence membership (`/v2/cadence_memberships/{id}`).
    CadenceMembershipId,
    /// The id of a user (`/v2/users/{id}`).
    UserId,
    /// The id of a team (`/v2/team`).
    TeamId,
    /// The id of a webhook subscription (`/v2/webhook_subscriptions/{id}`).
    WebhookSubscriptionId,
    /// The id of a cadence step (`/v2/steps/{id}`).
    StepId,
    /// The id of an action (`/v2/actions/{id}`).
    ActionId,
    /// The id of a person stage (`/v2/person_stages/{id}`).
    PersonStageId,
    /// The id of an account stage or tier.
    AccountStageId,
    /// The id of a group (`/v2/groups/{id}`).
    GroupId,
    /// The id of an import (`/v2/imports/{id}`).
    ImportId,
    /// The id of a note (`/v2/notes/{id}`).
    NoteId,
    /// The id of a task (`/v2/tasks/{id}`).
    TaskId,
    /// The id of a bulk job (`/v2/bulk_jobs/{id}`, FACTS.md §12).
    BulkJobId,
);

/// The id of a role: SalesLoft sends it as a string (`{"id":"Admin"}`) for built-in roles and may send an
/// integer for custom roles (FACTS.md §5.1), so both are accepted and kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RoleId(pub String);

impl<'de> Deserialize<'de> for RoleId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(i64),
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Text(text) => RoleId(text),
            Raw::Number(number) => RoleId(number.to_string()),
        })
    }
}

impl fmt::Display for RoleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An embedded reference to another record: `{"_href": "https://api.salesloft.com/v2/users/1", "id": 1}`.
///
/// `_href` is "present if this resource is available in the API" and some references carry only `id`
/// (FACTS.md §5.1), so it is optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ref<Id> {
    /// The API URL of the record, when SalesLoft exposes it.
    #[serde(rename = "_href", default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// The record's id.
    pub id: Id,
}

impl<Id> Ref<Id> {
    /// A reference with only an id.
    pub fn new(id: Id) -> Self {
        Self { href: None, id }
    }
}

/// A SalesLoft timestamp: the parsed instant **and** the original text.
///
/// SalesLoft sends microsecond ISO-8601 with the account's offset (`2024-03-07T02:46:00.302715-05:00`) and
/// compares filters "using microsecond precision" (FACTS.md §4.3, §4.4). A cursor must send the value back
/// verbatim, so the text is kept and re-serialized unchanged; comparisons use the instant (two texts with
/// different offsets can name the same instant).
#[derive(Debug, Clone)]
pub struct Timestamp {
    raw: String,
    at: OffsetDateTime,
}

impl Timestamp {
    /// Parses an RFC 3339 timestamp, keeping the text.
    pub fn parse(text: &str) -> Result<Self, time::error::Parse> {
        let at = OffsetDateTime::parse(text, &Rfc3339)?;
        Ok(Self { raw: text.to_string(), at })
    }

    /// A timestamp for `at`, formatted as RFC 3339 (microseconds kept when present).
    pub fn from_datetime(at: OffsetDateTime) -> Self {
        let raw = at.format(&Rfc3339).unwrap_or_else(|_| at.unix_timestamp().to_string());
        Self { raw, at }
    }

    /// The text exactly as SalesLoft sent it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The instant.
    pub fn datetime(&self) -> OffsetDateTime {
        self.at
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl Eq for Timestamp {}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.at.cmp(&other.at)
    }
}

impl Hash for Timestamp {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.at.hash(state);
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl std::str::FromStr for Timestamp {
    type Err = time::error::Parse;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Self {
        Self::from_datetime(at)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Timestamp::parse(&text)
            .map_err(|e| serde::de::Error::custom(format!("invalid RFC 3339 timestamp {text:?}: {e}")))
    }
}

/// The single-record envelope `{"data": {...}}` (FACTS.md §5.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The record.
    pub data: T,
}

/// A list answer: `{"data": [...], "metadata": {...}}` (FACTS.md §4.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListResponse<T> {
    /// The records of this page.
    pub data: Vec<T>,
    /// Filtering, paging and sorting as SalesLoft applied them.
    #[serde(default)]
    pub metadata: Metadata,
}

impl<T> ListResponse<T> {
    /// The next page number, if SalesLoft says there is one.
    pub fn next_page(&self) -> Option<u32> {
        self.metadata.paging.as_ref().and_then(|p| p.next_page)
    }
}

/// List metadata. Every part is optional: `/users` without `page` has no `paging` (FACTS.md §4.1).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Metadata {
    /// The filters SalesLoft applied, echoed (`{}` when none).
    #[serde(default)]
    pub filtering: serde_json::Map<String, serde_json::Value>,
    /// Paging, absent for unpaginated lists.
    #[serde(default)]
    pub paging: Option<Paging>,
    /// The sort SalesLoft applied (`{"sort_by":"updated_at","sort_direction":"DESC NULLS LAST"}`).
    #[serde(default)]
    pub sorting: serde_json::Map<String, serde_json::Value>,
}

/// Offset paging metadata (FACTS.md §4.2). `total_pages`/`total_count` only with `include_paging_counts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paging {
    /// Records per page as applied (SalesLoft silently clamps to 1–100).
    #[serde(default)]
    pub per_page: Option<u32>,
    /// This page.
    #[serde(default)]
    pub current_page: Option<u32>,
    /// The next page, `null` on the last one.
    #[serde(default)]
    pub next_page: Option<u32>,
    /// The previous page, `null` on the first one.
    #[serde(default)]
    pub prev_page: Option<u32>,
    /// Total pages, only with `include_paging_counts=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_pages: Option<u64>,
    /// Total records, only with `include_paging_counts=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u64>,
}

/// Fields a record carries that this crate does not model; kept so nothing is lost when a record is written
/// back out (JSON lines).
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// Sort direction for list endpoints (FACTS.md §4.1; SalesLoft's default is `DESC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortDirection {
    /// Oldest / smallest first (nulls first).
    #[serde(rename = "ASC")]
    Asc,
    /// Newest / largest first (nulls last).
    #[serde(rename = "DESC")]
    Desc,
}

impl SortDirection {
    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            SortDirection::Asc => "ASC",
            SortDirection::Desc => "DESC",
        }
    }
}
