//! The pause switch: one row every replica reads before sending a mutation (DESIGN.md "Pause switch").
//! Reads, health and webhook intake go on while paused.

use serde::Serialize;
use time::OffsetDateTime;

use crate::{Result, Store};

/// Who paused, why and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PauseInfo {
    /// Who set the flag.
    pub by: String,
    /// Why.
    pub reason: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

/// Handle on the pause switch.
#[derive(Debug, Clone)]
pub struct Pause {
    store: Store,
}

impl Pause {
    pub(crate) fn new(store: Store) -> Self {
        Self { store }
    }

    /// Pauses (`true`) or resumes (`false`) mutations for every replica.
    pub async fn set_paused(&self, paused: bool, by: &str, reason: &str) -> Result<()> {
        let now = self.store.now();
        dispatch!(self.store, pause::set(paused, by, reason, now))
    }

    /// `Some` while paused.
    pub async fn paused(&self) -> Result<Option<PauseInfo>> {
        dispatch!(self.store, pause::get())
    }
}
