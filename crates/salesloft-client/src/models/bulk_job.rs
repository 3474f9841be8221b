//! Bulk jobs (FACTS.md §12): the job, the answer to an upload, and one row of `job_data` / `results`.
//!
//! The shapes follow the OpenAPI `BulkJob`, `JobDataCreationResult` and `BulkJobResult`; FACTS.md §12 calls
//! the result row's shape unconfirmed, so every field but `id` is optional and unknown fields are kept.

use serde::{Deserialize, Serialize};

use super::common::{BulkJobId, Extra, Timestamp};
use super::person::{Person, UpsertType};

/// Where a bulk job is: `open` (takes uploads), `executing` (marked ready, being applied), `done`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkJobState {
    /// Takes `job_data` uploads; may still be changed (FACTS.md §12: "only while open").
    Open,
    /// Marked ready; SalesLoft applies its records asynchronously.
    Executing,
    /// Every record applied; `results` holds one row per record.
    Done,
    /// A state this client does not know (kept so a new state does not break decoding).
    #[serde(untagged)]
    Other(String),
}

impl BulkJobState {
    /// The state as SalesLoft spells it.
    pub fn as_str(&self) -> &str {
        match self {
            BulkJobState::Open => "open",
            BulkJobState::Executing => "executing",
            BulkJobState::Done => "done",
            BulkJobState::Other(other) => other,
        }
    }
}

/// A bulk job (`GET /v2/bulk_jobs/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkJob {
    /// The job's id.
    pub id: BulkJobId,
    /// The name given at creation (this client names its jobs after the run, to find one again after a
    /// crash).
    #[serde(default)]
    pub name: Option<String>,
    /// The job type, e.g. `person/upsert`.
    #[serde(default, rename = "type")]
    pub job_type: Option<String>,
    /// Open, executing or done.
    pub state: BulkJobState,
    /// Records uploaded.
    #[serde(default)]
    pub total: u64,
    /// Records applied so far.
    #[serde(default)]
    pub processed: u64,
    /// Records refused so far.
    #[serde(default)]
    pub errors: u64,
    /// Whether the job was marked ready.
    #[serde(default)]
    pub ready_to_execute: bool,
    /// Created at.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Finished at (set once `done`).
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The answer to `POST /v2/bulk_jobs/{id}/job_data`: how many records were stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDataCreated {
    /// Records stored by this upload.
    pub records: u64,
}

/// The status of one uploaded record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkRowStatus {
    /// Not applied yet.
    Pending,
    /// Applied.
    Success,
    /// Refused (the row's `error` says why).
    Error,
    /// Being retried by SalesLoft.
    Retrying,
    /// A status this client does not know.
    #[serde(untagged)]
    Other(String),
}

/// The resource a `person/upsert` record produced: the `data` of a `POST /v2/person_upserts` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkPersonResource {
    /// The person as it now is.
    pub person: Person,
    /// Create or update.
    pub upsert_type: UpsertType,
}

/// One row of `GET /v2/bulk_jobs/{id}/job_data` or `…/results`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkJobRow {
    /// The record's id: one growing sequence in upload order, the `id[gt]` cursor.
    pub id: i64,
    /// Pending, success, error.
    #[serde(default)]
    pub status: Option<BulkRowStatus>,
    /// The record as uploaded.
    #[serde(default)]
    pub record: serde_json::Value,
    /// What the record produced, when it succeeded.
    #[serde(default)]
    pub resource: Option<serde_json::Value>,
    /// Why it was refused, as one line (wording unconfirmed, FACTS.md §12).
    #[serde(default)]
    pub error: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl BulkJobRow {
    /// The person resource of a successful `person/upsert` record, decoded (`None` when absent or of
    /// another shape).
    pub fn person_resource(&self) -> Option<BulkPersonResource> {
        serde_json::from_value(self.resource.clone()?).ok()
    }
}
