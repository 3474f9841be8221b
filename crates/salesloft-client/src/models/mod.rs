//! Typed SalesLoft records (read side) and request bodies (write side).
//!
//! Records are tolerant: nullable fields are `Option`, missing fields default, and unknown fields are kept
//! in an `extra` map so a record written back out (JSON lines) loses nothing. Timestamps are [`Timestamp`]:
//! parsed, but with SalesLoft's original text kept for cursors (FACTS.md §4.4).

pub mod account;
pub mod bulk_job;
pub mod cadence;
pub mod cadence_membership;
pub mod common;
pub mod note;
pub mod person;
pub mod task;
pub mod team;
pub mod user;
pub mod webhook_subscription;

pub use account::{Account, AccountCounts, AccountInput};
pub use bulk_job::{BulkJob, BulkJobRow, BulkJobState, BulkPersonResource, BulkRowStatus, JobDataCreated};
pub use cadence::{Cadence, CadenceCounts};
pub use cadence_membership::{CadenceMembership, CadenceMembershipCounts};
pub use common::{
    AccountId, AccountStageId, ActionId, BulkJobId, CadenceId, CadenceMembershipId, Envelope, Extra, GroupId, ImportId,
    ListResponse, Metadata, NoteId, Paging, PersonId, PersonStageId, Ref, RoleId, SortDirection, StepId, TaskId,
    TeamId, Timestamp, UserId, WebhookSubscriptionId,
};
pub use note::{Note, NoteInput, NoteSubject};
pub use person::{Person, PersonCounts, PersonInput, PersonUpsert, UpsertKey, UpsertType, normalize_email};
pub use task::{Task, TaskInput};
pub use team::Team;
pub use user::User;
pub use webhook_subscription::{WebhookSubscription, WebhookSubscriptionInput};

/// A record that a keyset cursor can walk: it has an integer id and an `updated_at` (FACTS.md §4.5).
pub trait Keyed {
    /// The record's id as an integer.
    fn key_id(&self) -> i64;
    /// The record's `updated_at`.
    fn updated_at(&self) -> &Timestamp;
}

macro_rules! keyed {
    ($($ty:ty),*) => {$(
        impl Keyed for $ty {
            fn key_id(&self) -> i64 {
                self.id.0
            }
            fn updated_at(&self) -> &Timestamp {
                &self.updated_at
            }
        }
    )*};
}

keyed!(Person, Account, Cadence, CadenceMembership, Note);
