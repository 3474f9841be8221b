//! Bulk jobs (FACTS.md §12; OpenAPI schemas `BulkJob`, `BulkJobResult`, `JobDataCreationResult`): the job,
//! its uploaded records, and how both render.
//!
//! A job is `open` while records are uploaded, `executing` once marked `ready_to_execute`, and `done` when
//! every record has been applied. The records of a job live beside the job (in
//! [`crate::store::TeamData::bulk_records`]) so a job's counters can change without copying its records.

use serde_json::{Map, Value};

use crate::clock::Micros;
use crate::json::ObjectWriter;
use crate::records::Render;
use crate::table::timestamped;

/// Job types the simulator runs. FACTS.md §12: the docs page lists others (`cadence_membership/create`?),
/// unconfirmed and not simulated; any other type is a 422 on `type`.
pub const JOB_TYPES: &[&str] = &["person/upsert"];

/// Scopes a `person/upsert` job renders. FACTS.md §12: "The `scopes` field exists (e.g.
/// `person:set_crm_id`)"; how SalesLoft fills it is unconfirmed. Simulator credentials hold every scope, so
/// the job carries the one the OpenAPI example shows.
pub const PERSON_UPSERT_SCOPES: &[&str] = &["person:set_crm_id"];

/// `state` of a job (OpenAPI: "Must be one of: open, executing, done").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Taking uploads; may be changed.
    Open,
    /// Marked ready; records are being applied.
    Executing,
    /// Every record applied; results readable.
    Done,
}

impl JobState {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Executing => "executing",
            Self::Done => "done",
        }
    }

    /// Accepted `state` filter values.
    pub const NAMES: &'static [&'static str] = &["open", "executing", "done"];
}

/// One bulk job.
#[derive(Debug, Clone)]
pub struct BulkJob {
    /// `name` (optional).
    pub name: Option<String>,
    /// `type`, one of [`JOB_TYPES`].
    pub job_type: &'static str,
    /// `state`.
    pub state: JobState,
    /// Records uploaded.
    pub total: u64,
    /// Records applied so far.
    pub processed: u64,
    /// Records whose application failed.
    pub errors: u64,
    /// The user who created the job; records are applied as that user.
    pub user_id: i64,
    /// Created.
    pub created_at: Micros,
    /// Updated (on every upload, change and processing step).
    pub updated_at: Micros,
    /// When `ready_to_execute` was set.
    pub marked_ready_at: Option<Micros>,
    /// When processing started (the OpenAPI says "null until bulk job is done", which contradicts its own
    /// name; the simulator sets it when processing starts — unconfirmed).
    pub started_at: Option<Micros>,
    /// When the last record was applied.
    pub finished_at: Option<Micros>,
    /// Where processing stands on the clock (not rendered; see [`crate::bulk`]).
    pub pacing: Pacing,
}

/// Pacing of an executing job, kept beside its public counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pacing {
    /// Clock time up to which credit has been counted.
    pub since: Micros,
    /// Credit left over from the last step, below one record.
    pub carry: u64,
    /// Held by the `stuck` control: no credit, nothing applied.
    pub stuck: bool,
}

timestamped!(BulkJob);

impl BulkJob {
    /// Renders the job: every `BulkJob` key of the OpenAPI, `id` first (webhook logs read it from there).
    pub fn render(&self, id: i64, render: &Render<'_>, out: &mut String) {
        let mut object = ObjectWriter::new(out);
        object
            .int("id", Some(id))
            .str("name", self.name.as_deref())
            .str("type", Some(self.job_type))
            .str("state", Some(self.state.as_str()))
            .raw("scopes", &scopes_json(self.job_type))
            .int("total", Some(count(self.total)))
            .int("processed", Some(count(self.processed)))
            .int("errors", Some(count(self.errors)))
            .bool("ready_to_execute", Some(self.state != JobState::Open))
            .str("created_at", Some(&render.ts(self.created_at)))
            .str("updated_at", Some(&render.ts(self.updated_at)))
            .str("marked_ready_at", render.ts_opt(self.marked_ready_at).as_deref())
            .str("started_at", render.ts_opt(self.started_at).as_deref())
            .str("finished_at", render.ts_opt(self.finished_at).as_deref());
        object.finish();
    }
}

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn scopes_json(job_type: &str) -> String {
    let scopes: &[&str] = if job_type == "person/upsert" { PERSON_UPSERT_SCOPES } else { &[] };
    serde_json::to_string(scopes).unwrap_or_else(|_| "[]".to_owned())
}

/// `status` of an uploaded record (OpenAPI: "Each status must be one of pending, success, error, retrying";
/// the simulator never retries, so `retrying` is accepted as a filter and matches nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordStatus {
    /// Not applied yet.
    Pending,
    /// Applied; the raw JSON of the resulting resource, `{"person":{…},"upsert_type":"create"|"update"}`
    /// (the OpenAPI example of `resource`, and exactly the `data` of a `POST /v2/person_upserts` answer).
    Success(String),
    /// Refused; the message (see [`crate::errors::ApiError::message`]).
    Error(String),
}

impl RecordStatus {
    /// The API spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Success(_) => "success",
            Self::Error(_) => "error",
        }
    }

    /// Accepted `status` filter values.
    pub const NAMES: &'static [&'static str] = &["pending", "success", "error", "retrying"];
}

/// One uploaded record (a row of `job_data`, and once the job is done, of `results`).
#[derive(Debug, Clone)]
pub struct JobRecord {
    /// Id, unique across the team's jobs and growing with upload order: the `id[gt]` cursor.
    pub id: i64,
    /// The parameters as uploaded.
    pub record: Map<String, Value>,
    /// Outcome so far.
    pub status: RecordStatus,
}

impl JobRecord {
    /// Renders the row as the OpenAPI's `BulkJobResult`: `{id, status, record, resource, error}`. `id` is the
    /// record's id ("ID of the record that was processed"), `record` the uploaded parameters, `resource` the
    /// upsert's answer or null, `error` a string or null. The shape of a row and the text of its error are
    /// unconfirmed (FACTS.md §12).
    pub fn render(&self, out: &mut String) {
        let record = serde_json::to_string(&self.record).unwrap_or_else(|_| "{}".to_owned());
        let mut object = ObjectWriter::new(out);
        object.int("id", Some(self.id)).str("status", Some(self.status.as_str())).raw("record", &record);
        match &self.status {
            RecordStatus::Success(resource) => object.raw("resource", resource).str("error", None),
            RecordStatus::Error(message) => object.str("resource", None).str("error", Some(message)),
            RecordStatus::Pending => object.str("resource", None).str("error", None),
        };
        object.finish();
    }
}
