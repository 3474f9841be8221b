//! Every store operation, written once, generic over [`super::Backend`]: one module per concept, named after
//! the front module that calls it (`crate::ledger` calls `ops::ledger`, and so on).
//!
//! Every write, even a single statement, goes through [`super::Backend::begin_write`], so on SQLite it queues
//! on the in-process write gate instead of meeting another local writer in SQLite's sleeping busy handler.

pub(crate) mod audit;
pub(crate) mod budget;
pub(crate) mod checkpoints;
pub(crate) mod inbox;
pub(crate) mod ledger;
pub(crate) mod locks;
pub(crate) mod pause;
