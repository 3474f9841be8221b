//! Named sync checkpoints (e.g. the keyset cursor `updated_at`/`id` of an incremental read), written after
//! each page so a restarted sync resumes where it stopped (DESIGN.md "Pagination").

use serde_json::Value;

use crate::{Result, Store, StoreError};

/// Handle on the checkpoints.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    store: Store,
}

impl Checkpoints {
    pub(crate) fn new(store: Store) -> Self {
        Self { store }
    }

    /// The checkpoint called `name`, if any.
    pub async fn get(&self, name: &str) -> Result<Option<Value>> {
        let text: Option<String> = dispatch!(self.store, checkpoints::get(name))?;
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| StoreError::StoredJson { what: format!("checkpoint {name:?}"), detail: e.to_string() })
        })
        .transpose()
    }

    /// Sets the checkpoint called `name` (insert or replace).
    pub async fn put(&self, name: &str, value: &Value) -> Result<()> {
        let text = serde_json::to_string(value)
            .map_err(|e| StoreError::Unserializable { what: "checkpoint value", detail: e.to_string() })?;
        let now = self.store.now();
        dispatch!(self.store, checkpoints::put(name, &text, now))
    }

    /// Removes the checkpoint called `name`; returns whether it existed.
    pub async fn delete(&self, name: &str) -> Result<bool> {
        dispatch!(self.store, checkpoints::delete(name))
    }
}

/// The checkpoint name under which a gateway sync job's last run is recorded (`job-run:<job>`): shared by the
/// job runner (`salesloft-sync`), which writes it, and `GET /admin/status`, which reads it.
pub fn job_run_name(job: &str) -> String {
    format!("job-run:{job}")
}
