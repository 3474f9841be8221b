//! The two offset-paged queries a keyset walk uses, and the checks that make their offsets safe.
//!
//! Offsets (`page=2,3,…`) are only safe over a result that does not move. Both queries here are bounded
//! above by a time in the past, so a record created or updated during the walk — stamped *now* — can only
//! leave them, never enter (the probe's margin absorbs clock skew: see [`super::DEFAULT_WINDOW_MARGIN`]).
//! Because the result can only shrink, an unchanged `total_count` proves an unchanged result, and the checks
//! below turn that into a proof that nothing was skipped:
//!
//! - [`RangeWindow`]: pages 2…100 of `updated_at[gte|gt]=<cursor>&updated_at[lte]=<window end>`. A page is
//!   kept when the count is the one page 1 reported, the page holds exactly as many records as the count
//!   leaves for it, and every record is either later than the cursor's instant or at that instant and not
//!   returned before *in this window*. Positions of timestamp groups do not depend on how equal timestamps
//!   are ordered, so these pages partition the result even when SalesLoft orders ties differently on each
//!   request; a tie re-ordered across a page boundary shows as a repeated id, never as a silent gap.
//! - [`TiePass`]: every record at one instant (`updated_at[gte]=T&updated_at[lte]=T`), paged until the ids
//!   returned while the count stayed `C` number `C`. Those ids are then the whole group, whatever order
//!   SalesLoft used. Without counts, two consecutive passes must return the same ids.

use std::collections::HashSet;

use time::OffsetDateTime;

use crate::models::Timestamp;

/// One page's record identities, as the checks need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordKey {
    /// The record's id.
    pub id: i64,
    /// The record's `updated_at`.
    pub updated_at: Timestamp,
}

/// A window being read: pages 2, 3, … of the query whose page 1 opened it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RangeWindow {
    /// The window's lower bound as sent on page 1 (text, and whether it is strict `[gt]`); `None`: none.
    pub lower: Option<(String, bool)>,
    /// The window's own `updated_at[lte]`.
    pub upper: Timestamp,
    /// Where the window's time span begins, to size the next window.
    pub began: Option<OffsetDateTime>,
    /// The next page to ask for.
    pub next_page: u32,
    /// The `total_count` page 1 reported.
    pub count: u64,
    /// Ids returned *by this window* at the cursor's current instant.
    pub returned_at_cursor: HashSet<i64>,
}

/// How a window page fared against [`RangeWindow::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowCheck {
    /// Positions held: keep the page.
    Consistent,
    /// Records left the window (count or length changed) or the answer is malformed: drop the page and
    /// open a new window at the cursor.
    Moved,
    /// Equal timestamps at the cursor came back in another order (a repeated id): drop the page and read
    /// that instant as a tie group.
    Reordered,
}

impl RangeWindow {
    /// Judges page `page` of this window (see the module docs); `cursor` is the walk's current instant.
    pub fn check(
        &self,
        page: u32,
        per_page: u32,
        total_count: Option<u64>,
        records: &[RecordKey],
        cursor: Option<&Timestamp>,
    ) -> WindowCheck {
        if total_count != Some(self.count) {
            return WindowCheck::Moved;
        }
        let before = u64::from(per_page) * u64::from(page.saturating_sub(1));
        let expected = self.count.saturating_sub(before).min(u64::from(per_page));
        if records.len() as u64 != expected || !distinct(records) {
            return WindowCheck::Moved;
        }
        let Some(cursor) = cursor else {
            return WindowCheck::Consistent;
        };
        let mut verdict = WindowCheck::Consistent;
        for record in records {
            if record.updated_at < *cursor {
                return WindowCheck::Moved;
            }
            if record.updated_at == *cursor && self.returned_at_cursor.contains(&record.id) {
                verdict = WindowCheck::Reordered;
            }
        }
        verdict
    }
}

/// Reading every record at one instant (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TiePass {
    /// The instant.
    pub at: Timestamp,
    /// The next page to ask for.
    pub page: u32,
    /// The count the current ids were collected under; `None` until an answer carried one.
    pub count: Option<u64>,
    /// Ids returned since the count last changed (with counts), or in the current pass (without).
    pub returned: HashSet<i64>,
    /// Without counts: the ids of the previous complete pass.
    pub previous_pass: Option<HashSet<i64>>,
    /// Requests since the count last changed (or since the group was entered, without counts): a server
    /// whose answers never settle gets an error instead of an endless walk.
    pub requests: u32,
    /// Requests since the group was entered, count changes included: a count that changes forever must end
    /// the walk too.
    pub total: u32,
}

/// What a tie page means for its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TieProgress {
    /// Every record of the group has been returned.
    Complete,
    /// Ask for this page next.
    Next(u32),
}

impl TiePass {
    /// Starts reading the group at `at` from page 1.
    pub fn new(at: Timestamp) -> Self {
        Self { at, page: 1, count: None, returned: HashSet::new(), previous_pass: None, requests: 0, total: 0 }
    }

    /// Takes page `self.page` of the group (records already checked to be at the instant).
    pub fn observe(
        &mut self,
        per_page: u32,
        total_count: Option<u64>,
        next_page_null: bool,
        records: &[RecordKey],
    ) -> TieProgress {
        self.requests = self.requests.saturating_add(1);
        self.total = self.total.saturating_add(1);
        let ids = records.iter().map(|r| r.id);
        match total_count {
            Some(count) => {
                if self.count != Some(count) {
                    // Records left the group: ids returned before may be gone, so only ids returned under
                    // this count prove anything. This page was answered under it, so it counts.
                    self.count = Some(count);
                    self.returned.clear();
                    self.requests = 1;
                }
                self.returned.extend(ids);
                if self.returned.len() as u64 >= count {
                    return TieProgress::Complete;
                }
                let read = u64::from(self.page) * u64::from(per_page);
                TieProgress::Next(if read >= count || records.is_empty() { 1 } else { self.page + 1 })
            }
            None => {
                let before = self.returned.len();
                self.returned.extend(ids);
                let repeated = self.returned.len() - before != records.len();
                let pass_over = records.len() < per_page as usize || next_page_null;
                if repeated {
                    // The order moved inside this pass: it proves nothing; start another.
                    self.returned.clear();
                    return TieProgress::Next(1);
                }
                if !pass_over {
                    return TieProgress::Next(self.page + 1);
                }
                let pass = std::mem::take(&mut self.returned);
                if self.previous_pass.as_ref() == Some(&pass) {
                    return TieProgress::Complete;
                }
                self.previous_pass = Some(pass);
                TieProgress::Next(1)
            }
        }
    }

    /// True when the group has taken more requests than [`request_limit`](Self::request_limit) under one count,
    /// or sixteen times that in all.
    pub fn exhausted(&self, per_page: u32) -> bool {
        let limit = self.request_limit(per_page);
        self.requests > limit || self.total > limit.saturating_mul(16)
    }

    /// Requests the group may take before the walk gives up: enough for SalesLoft to return the group in a
    /// new order on every request (a coupon collector: each record is missed by one page with probability
    /// 1 − 1/pages, so about pages × (ln(size) + 6) requests see every record with room to spare), few
    /// enough to stop a server whose answers never settle.
    pub fn request_limit(&self, per_page: u32) -> u32 {
        let size = self.count.unwrap_or_else(|| self.previous_pass.as_ref().map_or(0, |p| p.len() as u64));
        let pages = size.div_ceil(u64::from(per_page.max(1))).max(1) as f64;
        let limit = pages * ((size.max(1) as f64).ln() + 6.0) * 1.5 + 32.0;
        if limit >= f64::from(u32::MAX) { u32::MAX } else { limit as u32 }
    }
}

/// True when no id repeats within the page.
pub(crate) fn distinct(records: &[RecordKey]) -> bool {
    let mut ids = HashSet::with_capacity(records.len());
    records.iter().all(|r| ids.insert(r.id))
}
