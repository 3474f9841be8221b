//! Durable SalesLoft operations: the client's calls made crash-safe and accountable with the store.
//!
//! [`LedgerJournal`] plugs the store's idempotency ledger, cross-process locks and hash-chained audit log into
//! the client's upsert-by-email ([`salesloft_client::upsert::upsert_people_journaled`]): every row runs under a
//! per-email lock that holds across processes and replicas, advances the ledger to *request sent* before each
//! mutation, and records the mutation in the audit log in the same transaction as the ledger step. After a
//! crash, a rerun of the same batch resumes each row: finished rows replay their recorded result, in-doubt rows
//! are looked up by email before anything is sent again (DESIGN.md "Data integrity").
//!
//! `slprod push` uses it, and so does the gateway's `POST /api/people/upsert` with caller-supplied keys
//! ([`LedgerJournal::for_request`]).
//!
//! [`jobs::JobRunner`] runs the gateway's sync jobs (`[[jobs]]`): leased, checkpointed, recorded in the store.
//!
//! [`BulkLedger`] does the same for a bulk upsert ([`salesloft_client::bulk_upsert`]): the plan, the job and
//! each chunk upload are recovery points, and every row gets its ledger entry and audit record.
//!
//! [`StoreBudget`] keeps the team's rate budget in the store, so gateway replicas pace one shared budget.

#![warn(missing_docs)]

pub mod bulk_ledger;
pub mod fault_points;
pub mod grant_lease;
pub mod holder;
pub mod jobs;
pub mod keys;
pub mod lease_keeper;
pub mod ledger_journal;
pub mod pull;
pub mod shared_budget;

pub use bulk_ledger::BulkLedger;
pub use grant_lease::StoreGrantLocker;
pub use keys::{RunId, RunIdHasher, canonical_json, row_fingerprint, row_key};
pub use ledger_journal::{JournalConfig, LedgerJournal, Refusal, failure_record};
pub use pull::{PullError, PullOptions, PullSummary, pull_to_file, pull_to_file_until, pull_to_writer};
pub use shared_budget::StoreBudget;
