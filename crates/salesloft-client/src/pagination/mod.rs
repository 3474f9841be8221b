//! Reading whole collections without deep pages, and without losing a record.
//!
//! SalesLoft charges 3, 8, 10 or 30 per request for `page` above 100 (FACTS.md §2.2): walking 500 pages costs
//! 3 550 instead of 500. [`KeysetPager`] walks a keyset cursor instead — `sort_by=updated_at`,
//! `sort_direction=ASC`, `per_page=100`, the lower bound moved to the last record's `updated_at`
//! (SalesLoft's recommended cursor poller, FACTS.md §4.5) — and never asks for a page above 100. Use it for
//! full and incremental reads; persist [`KeysetPage::checkpoint`] after storing each page and resume with
//! [`KeysetPager::resume_from`]. [`OffsetPager`] is for small lists and lists that cannot be sorted by
//! `updated_at` (users); it refuses pages above 100 unless [`OffsetPager::allow_deep_pages`] is set.
//!
//! # Every record exactly once
//!
//! A record that nobody touches during a walk is returned exactly once, whatever else changes meanwhile
//! (creates, updates, deletes between any two requests) and in whatever order SalesLoft returns records
//! that share one `updated_at`. Records touched during the walk are returned at least once in their newest
//! state, or not at all when deleted. Where SalesLoft's answers make that impossible to prove, the walk
//! fails with [`Error::Pagination`](crate::Error::Pagination) instead of skipping silently.
//!
//! - **Ties.** Many records can share one `updated_at` (a bulk import stamps hundreds at once), and
//!   `updated_at[gt]` would skip the rest of a group cut by a page boundary (FACTS.md §4.5 caveat). So the
//!   cursor uses `updated_at[gte]` and remembers the ids returned at that instant. A group the cursor cannot
//!   step over (a full page at the cursor's instant) is read as a group: `updated_at[gte]=T&[lte]=T` with
//!   paging counts, until the ids returned while the count held number that count (`window.rs`).
//! - **Windows.** The plain cursor re-reads one record per page (the `[gte]` overlap). So the walk reads
//!   pages 1…100 of one query, `updated_at[gte]=<cursor>&updated_at[lte]=<end>&include_paging_counts=true`
//!   (pages up to 100 cost 1), whose end lies at most at a bound [`DEFAULT_WINDOW_MARGIN`] below the newest
//!   record seen by a first probe. A record created or updated during the walk is stamped after the bound,
//!   so it can only *leave* a window; a page is kept only when the window's count is unchanged and no id at
//!   the cursor's instant repeats, which proves the offsets did not move (`window.rs`). Otherwise the page
//!   is dropped and a new window starts at the cursor. After the bound, the plain cursor reads the rest.
//!
//! The state machine is pure (`plan.rs`): the pager only sends what it says and hands it the answers. A full
//! read of 50 000 people costs 502 requests (1.004 × ⌈N/100⌉: the probe, 501 window pages, the tail), and
//! 20 000 people in tie groups of 150/250/500 cost 206/208/209 (`examples/bench_read_cost.rs`). In the tail
//! (records stamped within the margin of SalesLoft's clock) and against a server without paging counts, a
//! group of 100 or more equal timestamps costs one request more, or a second pass without counts: proving a
//! group complete needs its ids read under one count, and no filter SalesLoft offers splits a group.
//!
//! Timestamps are sent back verbatim (microseconds and offset as SalesLoft wrote them — FACTS.md §4.4) and
//! compared as instants.

mod keyset;
mod offset;
mod plan;
mod window;

pub use keyset::{KeysetCursor, KeysetPage, KeysetPager};
pub use offset::OffsetPager;

/// The default distance between the newest `updated_at` and the windows' upper bound (see the module docs).
pub const DEFAULT_WINDOW_MARGIN: std::time::Duration = std::time::Duration::from_secs(60);

#[cfg(test)]
mod tests;
