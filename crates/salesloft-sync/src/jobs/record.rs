//! What a job's last run did, kept in the store so every replica (and `GET /admin/status`) sees it, whichever
//! replica ran it. It lives in the store's named checkpoints under [`salesloft_store::checkpoints::job_run_name`]
//! (`job-run:<name>`), one JSON row per job, overwritten by each run: no migration, both backends.

use salesloft_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    /// Started and not finished yet (or the replica died while running it).
    Running,
    /// Ran to the end.
    Ok,
    /// Push: the file is the one the last complete run pushed; nothing was sent.
    Unchanged,
    /// Push: the pause switch is on; nothing (more) was sent.
    Paused,
    /// Stopped at a safe point by shutdown; the next run continues.
    Stopped,
    /// Stopped because the lease was lost; the next run (on whichever replica) continues.
    LeaseLost,
    /// Push: some rows failed (the record's `error` says how many).
    Problems,
    /// Could not run, or stopped part-way by an error.
    Failed,
}

/// The record of a job's last run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// `pull` or `push`.
    pub kind: String,
    /// The resource.
    pub resource: String,
    /// Who ran it (holder name: actor, host, pid).
    pub holder: String,
    /// When the run started (RFC 3339, the store's clock).
    pub started_at: String,
    /// When it ended; `None` while running.
    pub finished_at: Option<String>,
    /// How it ended.
    pub outcome: JobOutcome,
    /// Rows handled by the run: records written (pull) or rows read (push).
    pub rows: u64,
    /// Estimated cost spent: pull, one per page read (keyset pages never go past page 100, so each costs 1);
    /// push, an upper bound: one per lookup of up to 100 rows plus one per row created or updated (replayed
    /// rows count although they send nothing).
    pub cost: u64,
    /// Why it failed or stopped (never a credential).
    pub error: Option<String>,
    /// Push: the run id (file content hash) of the last complete run (every row sent, or failed for good: no
    /// email, 422, 409); a file with that id is not sent again.
    pub completed_run_id: Option<String>,
}

/// The stored record of job `name`, if it ever ran.
pub async fn load(store: &Store, name: &str) -> Result<Option<JobRecord>, StoreError> {
    let key = salesloft_store::checkpoints::job_run_name(name);
    let Some(value) = store.checkpoints().get(&key).await? else { return Ok(None) };
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| StoreError::StoredJson { what: format!("job record {key:?}"), detail: e.to_string() })
}

/// Stores `record` as job `name`'s last run.
pub async fn save(store: &Store, name: &str, record: &JobRecord) -> Result<(), StoreError> {
    let value = serde_json::to_value(record)
        .map_err(|e| StoreError::Unserializable { what: "job record", detail: e.to_string() })?;
    store.checkpoints().put(&salesloft_store::checkpoints::job_run_name(name), &value).await
}
