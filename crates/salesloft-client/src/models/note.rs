//! Notes (`/v2/notes`): [`Note`] and the write model [`NoteInput`].

use serde::{Deserialize, Serialize};

use super::common::{Extra, NoteId, Ref, Timestamp, UserId};

/// A note on a person or an account (FACTS.md §5.2, schema `Note` of the official OpenAPI).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Note {
    /// Id.
    pub id: NoteId,
    /// The text.
    #[serde(default)]
    pub content: Option<String>,
    /// `person` or `account`: what [`associated_with`](Self::associated_with) refers to.
    #[serde(default)]
    pub associated_type: Option<String>,
    /// The person or account the note is on (its id type depends on `associated_type`).
    #[serde(default)]
    pub associated_with: Option<Ref<i64>>,
    /// The call the note belongs to, if any.
    #[serde(default)]
    pub call: Option<Ref<i64>>,
    /// The user who wrote it.
    #[serde(default)]
    pub user: Option<Ref<UserId>>,
    /// When the note was created.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Last update; the keyset cursor field (notes sort by `updated_at`).
    pub updated_at: Timestamp,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What a note is attached to (`associated_with_type` + `associated_with_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteSubject {
    /// A person.
    Person(super::PersonId),
    /// An account.
    Account(super::AccountId),
}

impl NoteSubject {
    /// `person` or `account`, as the API spells the type.
    pub fn type_name(self) -> &'static str {
        match self {
            NoteSubject::Person(_) => "person",
            NoteSubject::Account(_) => "account",
        }
    }

    /// The id of the person or account.
    pub fn id(self) -> i64 {
        match self {
            NoteSubject::Person(id) => id.0,
            NoteSubject::Account(id) => id.0,
        }
    }
}

/// The body of `POST /v2/notes` (`content`, `associated_with_type` and `associated_with_id` required) and
/// `PUT /v2/notes/{id}` (`content` required; `call_id` optional) — FACTS.md §5.2.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NoteInput {
    /// The text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// `person` or `account` (create only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_with_type: Option<String>,
    /// The person's or account's id (create only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_with_id: Option<i64>,
    /// The call the note belongs to (a call can have one note).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<i64>,
    /// Subject of the CRM activity (create only; SalesLoft defaults it to `Note`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Skip the CRM sync of this note (create only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_crm_sync: Option<bool>,
    /// Write the note for this user (team admins only; create only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_guid: Option<String>,
}

impl NoteInput {
    /// A create body: `content` on `subject`.
    pub fn new(subject: NoteSubject, content: impl Into<String>) -> Self {
        Self {
            content: Some(content.into()),
            associated_with_type: Some(subject.type_name().to_string()),
            associated_with_id: Some(subject.id()),
            ..Self::default()
        }
    }

    /// An update body: the new `content`.
    pub fn content(content: impl Into<String>) -> Self {
        Self { content: Some(content.into()), ..Self::default() }
    }

    /// Sets the CRM activity's subject.
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Attaches the note to a call.
    pub fn with_call_id(mut self, call_id: i64) -> Self {
        self.call_id = Some(call_id);
        self
    }

    /// Skips (or not) the CRM sync.
    pub fn skip_crm_sync(mut self, skip: bool) -> Self {
        self.skip_crm_sync = Some(skip);
        self
    }
}
