//! Hooks that let a durable journal (the idempotency ledger and audit log of `salesloft-store`) follow every
//! mutation an upsert sends, without this crate knowing about storage.
//!
//! For each row the upsert asks the [`UpsertJournal`] to [`open`](UpsertJournal::open) it. The journal can
//! replay a result recorded earlier (nothing is sent), refuse the row, or let it proceed — saying whether an
//! earlier attempt is **in doubt** (it may have sent a mutation whose outcome was never recorded, e.g. the
//! process was killed). An in-doubt row is looked up by email again before anything is sent, so a create that
//! did land is found instead of duplicated (DESIGN.md "Data integrity", brandur's recovery points).
//!
//! While the row runs, the upsert reports each mutation before it is sent ([`RowJournal::sending`]) and
//! with its answer ([`RowJournal::answered`]), then the row's final outcome ([`RowJournal::finish`]). A
//! journal error fails the row rather than letting a mutation go unrecorded.

use futures::future::BoxFuture;

use crate::Error;
use crate::api::Upserted;
use crate::models::{Person, PersonId, PersonInput};
use crate::transport::IdempotencyKey;

/// A mutation the upsert is about to send or has sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    /// `POST /people`.
    Create,
    /// `PUT /people/{id}`.
    Update(PersonId),
}

impl Mutation {
    /// The operation name used in logs and the audit log: `people.create` or `people.update`.
    pub fn operation(&self) -> &'static str {
        match self {
            Mutation::Create => "people.create",
            Mutation::Update(_) => "people.update",
        }
    }

    /// The resource path: `people` for a create, `people/{id}` for an update.
    pub fn resource(&self) -> String {
        match self {
            Mutation::Create => "people".to_string(),
            Mutation::Update(id) => format!("people/{}", id.0),
        }
    }
}

/// What the journal decided when a row was opened.
pub enum JournalOpen {
    /// Run the row. `in_doubt` means an earlier attempt may have sent a mutation whose outcome is unknown:
    /// look the email up again before sending anything.
    Proceed {
        /// The row's journal, told about every mutation.
        row: Box<dyn RowJournal>,
        /// An earlier attempt is in doubt.
        in_doubt: bool,
        /// The idempotency key that protects this row's create (so the pipeline may retry it).
        key: IdempotencyKey,
    },
    /// The row was finished earlier: its recorded result. Nothing is sent.
    Done(Box<Upserted>),
    /// The row must not run (e.g. its key was used for a different payload, or it failed definitively
    /// before).
    Refuse(Error),
}

impl std::fmt::Debug for JournalOpen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JournalOpen::Proceed { in_doubt, key, .. } => {
                f.debug_struct("Proceed").field("in_doubt", in_doubt).field("key", key).finish_non_exhaustive()
            }
            JournalOpen::Done(done) => f.debug_tuple("Done").field(&done.kind()).finish(),
            JournalOpen::Refuse(error) => f.debug_tuple("Refuse").field(error).finish(),
        }
    }
}

/// A journal for a batch of upserts.
pub trait UpsertJournal: Send + Sync {
    /// Opens row `index` (0-based) for `email` (normalized: trimmed, lower case). Called once per row, in
    /// input order for rows that share an email.
    fn open<'a>(
        &'a self,
        index: usize,
        email: &'a str,
        input: &'a PersonInput,
    ) -> BoxFuture<'a, Result<JournalOpen, Error>>;

    /// True when [`UpsertJournal::open`] takes a lock that serializes every row of one email, across
    /// processes. A lookup made before that lock is held can be stale by the time it is (another holder may
    /// have created the person meanwhile, and a team that allows duplicate emails would then get a second
    /// one — DESIGN.md DATA-2), so the upsert skips its batched lookup and looks each row up after opening
    /// it: one lookup per row instead of one per 100. The default is false.
    fn looks_up_under_lock(&self) -> bool {
        false
    }
}

/// The journal of one row.
pub trait RowJournal: Send {
    /// `mutation` with `body` is about to be sent. An error stops the row before anything is sent.
    fn sending<'a>(&'a mut self, mutation: Mutation, body: &'a serde_json::Value) -> BoxFuture<'a, Result<(), Error>>;

    /// Runs one mutation call (already announced with [`RowJournal::sending`]) under the row's guard. A durable
    /// journal keeps its lease renewed in the background while the call runs, ends the call early with an error
    /// when the lease is lost (so nothing more — no retry — is sent), and bounds it with a deadline below the
    /// lease. The default runs the call as it is.
    fn guard<'a>(&'a mut self, call: BoxFuture<'a, Result<Person, Error>>) -> BoxFuture<'a, Result<Person, Error>> {
        call
    }

    /// `mutation` was answered with `status` (`None` when no answer came: timeout, dropped connection).
    /// Called for every mutation, including a create rejected as "taken" before the update that follows it.
    fn answered<'a>(&'a mut self, mutation: Mutation, status: Option<u16>) -> BoxFuture<'a, Result<(), Error>>;

    /// The row's final outcome. `reconciled` is true when an in-doubt earlier attempt turned out to have
    /// landed (the lookup found the person with the expected values, so nothing was sent this time).
    fn finish<'a>(
        self: Box<Self>,
        outcome: &'a Result<Upserted, Error>,
        reconciled: bool,
    ) -> BoxFuture<'a, Result<(), Error>>;
}
