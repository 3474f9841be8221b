//! One module per SalesLoft resource: the stored record, its JSON rendering with every documented key
//! (explicit nulls, FACTS.md §10.8 and `schemas.md`), and validation of writes.

pub mod accounts;
pub mod actions;
pub mod bulk_jobs;
pub mod cadence_memberships;
pub mod cadences;
pub mod calls;
pub mod emails;
pub mod notes;
pub mod people;
pub mod steps;
pub mod tasks;
pub mod team;
pub mod users;
pub mod webhook_subscriptions;

use crate::clock::{Micros, format_timestamp};
use crate::json::ObjectWriter;
use crate::table::Timestamped;

/// What rendering needs besides the record: the `_href` base and the team's UTC offset.
#[derive(Debug, Clone, Copy)]
pub struct Render<'a> {
    /// API root for `_href`s, e.g. `http://127.0.0.1:4545/v2`.
    pub base: &'a str,
    /// UTC offset of timestamps, minutes.
    pub offset_minutes: i32,
}

impl Render<'_> {
    /// A timestamp in SalesLoft's format.
    pub fn ts(&self, micros: Micros) -> String {
        format_timestamp(micros, self.offset_minutes)
    }

    /// An optional timestamp.
    pub fn ts_opt(&self, micros: Option<Micros>) -> Option<String> {
        micros.map(|value| self.ts(value))
    }

    /// Writes the keys most records open with, `id`, `created_at` and `updated_at` (from `stamps`), and
    /// hands the writer back for the record's own keys.
    pub fn head<'o, 'w>(
        &self,
        object: &'o mut ObjectWriter<'w>,
        id: i64,
        stamps: &impl Timestamped,
    ) -> &'o mut ObjectWriter<'w> {
        object
            .int("id", Some(id))
            .str("created_at", Some(&self.ts(stamps.created_at())))
            .str("updated_at", Some(&self.ts(stamps.updated_at())))
    }
}
