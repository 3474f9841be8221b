//! Notes (`/v2/notes`; FACTS.md §5.2, §5.5 Note).

use crate::clock::Micros;
use crate::json::ObjectWriter;
use crate::records::Render;
use crate::table::timestamped;

/// `sort_by` values of `/v2/notes` (FACTS.md §4.1 "calls/notes/steps: created_at, updated_at"; default
/// `updated_at`).
pub const SORTS: &[&str] = &["created_at", "updated_at"];

/// What a note may be attached to. The OpenAPI: "Case insensitive type of item with which the note is
/// associated. Value must be one of: person, account".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Associated {
    /// A person (`associated_type: "person"`).
    Person,
    /// An account (`associated_type: "account"`).
    Account,
}

impl Associated {
    /// Parses `associated_with_type`, case-insensitively.
    pub fn parse(text: &str) -> Option<Self> {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("person") {
            Some(Self::Person)
        } else if trimmed.eq_ignore_ascii_case("account") {
            Some(Self::Account)
        } else {
            None
        }
    }

    /// The value rendered in `associated_type`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Account => "account",
        }
    }

    /// The API collection of the associated record, for its `_href`.
    pub fn resource(self) -> &'static str {
        match self {
            Self::Person => "people",
            Self::Account => "accounts",
        }
    }
}

/// A note on a person or an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The content (required, never blank).
    pub content: String,
    /// What it is attached to.
    pub associated_type: Associated,
    /// Id of the person or account it is attached to.
    pub associated_with_id: i64,
    /// The call it belongs to (calls are not simulated; the id is kept and rendered as given).
    pub call_id: Option<i64>,
    /// The user the note was created for (`user_guid`, default the caller).
    pub user_id: i64,
    /// Subject of the note's CRM activity (accepted and kept; not part of the Note object).
    pub subject: Option<String>,
    /// `skip_crm_sync` (accepted and kept; there is no CRM to sync).
    pub skip_crm_sync: bool,
    /// Created.
    pub created_at: Micros,
    /// Updated.
    pub updated_at: Micros,
}

timestamped!(Note);

impl Note {
    /// Renders the Note object with every documented key (`schemas.md` Note).
    pub fn render(&self, id: i64, render: &Render<'_>, out: &mut String) {
        let base = render.base;
        let mut object = ObjectWriter::new(out);
        render
            .head(&mut object, id, self)
            .str("content", Some(&self.content))
            .str("associated_type", Some(self.associated_type.name()))
            .reference("associated_with", base, self.associated_type.resource(), Some(self.associated_with_id))
            .reference("call", base, "activities/calls", self.call_id)
            .reference("user", base, "users", Some(self.user_id));
        object.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn associated_types_are_case_insensitive() {
        assert_eq!(Associated::parse("Person"), Some(Associated::Person));
        assert_eq!(Associated::parse(" ACCOUNT "), Some(Associated::Account));
        assert_eq!(Associated::parse("people"), None);
    }
}
