//! The keyset walk as a pure state machine: [`KeysetPlan::next_request`] says what to ask for next and
//! [`KeysetPlan::observe`] judges the answer and says which records are new. No I/O and no clock here, so
//! every path is tested with tables (below) and with a property test against a changing fake server
//! (`tests/pagination_adversarial.rs`).
//!
//! The walk has four phases:
//! 1. **probe** — one `sort_direction=DESC&per_page=50` request reads the newest records and SalesLoft's
//!    clock (`Date`); the pass's bound lies below those records and
//!    [`DEFAULT_WINDOW_MARGIN`](super::DEFAULT_WINDOW_MARGIN) below the clock;
//! 2. **range** — windows of up to 100 pages up to the bound, offsets checked by
//!    [`RangeWindow::check`];
//! 3. **tie** — a group of equal timestamps that the cursor cannot step over, read by [`TiePass`];
//! 4. **plain** — page 1 of the cursor, again and again, until a short page: the tail after the bound
//!    (whatever changed during the walk), or the whole walk when windows are off or SalesLoft sends no
//!    `total_count`.
//!
//! The invariant every phase keeps: every record stamped before the cursor's instant (or at it, once the
//! cursor is strict) that was not touched during the walk has been emitted, and `emitted` holds the ids
//! emitted at the cursor's instant.

use std::collections::HashSet;

use time::OffsetDateTime;

use super::window::{RangeWindow, RecordKey, TiePass, TieProgress, WindowCheck, distinct};
use crate::Error;
use crate::api::list::{MAX_CHEAP_PAGE, MAX_PER_PAGE};
use crate::models::{SortDirection, Timestamp};

/// How many of the newest records the probe reads (one request costs 1 whatever `per_page` is): the bound
/// goes below them, so the tail request that must follow the windows anyway (to catch changes made during
/// the walk) also carries them, instead of a last window page holding a few.
const PROBE_TAIL: u32 = 50;

/// The least `updated_at` span a window is given.
const MIN_WINDOW_SPAN: time::Duration = time::Duration::milliseconds(1);

/// One list request of the walk (`sort_by=updated_at` is implied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// `sort_direction`.
    pub direction: SortDirection,
    /// `per_page`.
    pub per_page: u32,
    /// `page`.
    pub page: u32,
    /// `updated_at[gte]` (`false`) or `updated_at[gt]` (`true`), verbatim.
    pub lower: Option<(String, bool)>,
    /// `updated_at[lte]`, verbatim.
    pub upper: Option<String>,
    /// `include_paging_counts=true`.
    pub counts: bool,
}

/// What an answer said besides its records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageFacts {
    /// `metadata.paging.per_page` as applied.
    pub per_page: Option<u32>,
    /// `metadata.paging.total_count`, present when counts were asked for and SalesLoft sent them.
    pub total_count: Option<u64>,
    /// `metadata.paging` was present and its `next_page` was null.
    pub next_page_null: bool,
    /// `metadata.paging.next_page` named a page: more records follow even when this page came back short
    /// (a server that serves fewer than `per_page` without saying so).
    pub next_page_announced: bool,
    /// The answer's `Date` header: SalesLoft's clock (asked for on the probe only).
    pub server_time: Option<OffsetDateTime>,
}

/// Where the cursor stands (see the module docs' invariant).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// The instant, verbatim as SalesLoft wrote it (or as the walk formatted a window end).
    pub at: Option<Timestamp>,
    /// Every record at `at` has been emitted: continue with `[gt]`.
    pub strict: bool,
    /// Ids emitted at `at` (empty when `strict`).
    pub emitted: HashSet<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Probe,
    Range(Range),
    Tie { pass: TiePass, then: Box<Phase> },
    Plain,
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Range {
    /// The pass's bound: no window reaches past it.
    bound: Timestamp,
    /// How much time the next window spans (`None`: up to the bound).
    span: Option<time::Duration>,
    /// The open window, if any.
    window: Option<RangeWindow>,
}

/// The keyset walk's state (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeysetPlan {
    per_page: u32,
    allow_deep_pages: bool,
    /// `None`: windows off (plain cursor throughout).
    margin: Option<time::Duration>,
    cursor: Cursor,
    phase: Phase,
}

impl KeysetPlan {
    /// A walk from `cursor`; `margin` is the windows' distance below the newest record, `None` for the
    /// plain cursor only.
    pub fn new(cursor: Cursor, per_page: u32, allow_deep_pages: bool, margin: Option<std::time::Duration>) -> Self {
        let margin = margin.map(|m| time::Duration::try_from(m).unwrap_or(time::Duration::MAX));
        let phase = if margin.is_some() { Phase::Probe } else { Phase::Plain };
        Self { per_page: per_page.clamp(1, MAX_PER_PAGE), allow_deep_pages, margin, cursor, phase }
    }

    /// The cursor to checkpoint after the records of the last [`observe`](Self::observe) are stored.
    pub fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    /// The next request, or `None` when the walk has caught up. Errors when the next request would need a
    /// page above 100 that was not allowed (a tie group of more than 10 000 records).
    pub fn next_request(&self) -> Result<Option<PageQuery>, Error> {
        let cursor_lower = || self.cursor.at.as_ref().map(|t| (t.as_str().to_string(), self.cursor.strict));
        let query = |page: u32, lower: Option<(String, bool)>, upper: Option<String>, counts: bool| PageQuery {
            direction: SortDirection::Asc,
            per_page: self.per_page,
            page,
            lower,
            upper,
            counts,
        };
        let query = match &self.phase {
            Phase::Done => return Ok(None),
            Phase::Probe => PageQuery {
                direction: SortDirection::Desc,
                per_page: PROBE_TAIL,
                page: 1,
                lower: None,
                upper: None,
                counts: false,
            },
            Phase::Plain => query(1, cursor_lower(), None, false),
            Phase::Range(range) => match &range.window {
                Some(window) => {
                    query(window.next_page, window.lower.clone(), Some(window.upper.as_str().to_string()), true)
                }
                None => query(1, cursor_lower(), Some(self.window_end(range).as_str().to_string()), true),
            },
            Phase::Tie { pass, .. } => {
                let at = pass.at.as_str().to_string();
                query(pass.page, Some((at.clone(), false)), Some(at), true)
            }
        };
        if query.page > MAX_CHEAP_PAGE && !self.allow_deep_pages {
            let at = self.cursor.at.as_ref().map_or("?", Timestamp::as_str);
            return Err(Error::Pagination {
                reason: format!(
                    "more than {} records share updated_at {at}: reading them all would need page {} \
                     (FACTS.md §2.2: pages above 100 cost 3–30); allow deep pages to continue",
                    u64::from(MAX_CHEAP_PAGE) * u64::from(self.per_page),
                    query.page
                ),
            });
        }
        Ok(Some(query))
    }

    /// The end of a new window: the cursor plus the span, never past the bound, truncated to microseconds
    /// (SalesLoft compares at microsecond precision — FACTS.md §4.3 — so the bound means the same on both
    /// sides).
    fn window_end(&self, range: &Range) -> Timestamp {
        let (Some(span), Some(at)) = (range.span, &self.cursor.at) else {
            return range.bound.clone();
        };
        match at.datetime().checked_add(span) {
            Some(end) if end < range.bound.datetime() => micros(end),
            _ => range.bound.clone(),
        }
    }

    /// Judges the answer to `query` (the last [`next_request`](Self::next_request)) and returns the indices
    /// of the records to emit, in order. Errors when SalesLoft's answers break the walk's assumptions
    /// (records outside the bounds asked for, out of order, or a tie group that never settles): an error
    /// is better than a silently missing record.
    pub fn observe(&mut self, query: &PageQuery, facts: PageFacts, records: &[RecordKey]) -> Result<Vec<usize>, Error> {
        let per_page = facts.per_page.filter(|&p| p > 0).unwrap_or(query.per_page);
        if query.direction == SortDirection::Asc {
            check_answer(query, records)?;
        }
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Done => Ok(Vec::new()),
            Phase::Probe => {
                self.observe_probe(records, facts.server_time);
                Ok(Vec::new())
            }
            Phase::Plain => {
                let emit = self.take(records);
                let full = records.len() >= per_page as usize;
                self.phase = if (full || facts.next_page_announced) && whole_page_at_one_instant(records) {
                    Phase::Tie { pass: TiePass::new(last_instant(records)), then: Box::new(Phase::Plain) }
                } else if records.is_empty() || facts.next_page_null || (!full && !facts.next_page_announced) {
                    Phase::Done
                } else {
                    Phase::Plain
                };
                Ok(emit)
            }
            Phase::Range(range) => self.observe_range(range, query, per_page, facts, records),
            Phase::Tie { mut pass, then } => {
                let cursor_before = self.cursor.clone();
                let emit = self.take(records);
                match pass.observe(per_page, facts.total_count, facts.next_page_null, records) {
                    TieProgress::Complete => {
                        self.cursor = Cursor { at: Some(pass.at.clone()), strict: true, emitted: HashSet::new() };
                        self.phase = match *then {
                            Phase::Range(range) => Phase::Range(Range { window: None, ..range }),
                            other => other,
                        };
                    }
                    TieProgress::Next(page) => {
                        let (at, requests) = (pass.at.clone(), pass.total);
                        let exhausted = pass.exhausted(per_page);
                        pass.page = page;
                        // The phase is kept even on the error, so a caller that asks again is refused again
                        // instead of seeing a finished walk.
                        self.phase = Phase::Tie { pass, then };
                        if exhausted {
                            // Nothing of this page reaches the caller, so nothing of it counts as emitted.
                            self.cursor = cursor_before;
                            return Err(Error::Pagination {
                                reason: format!(
                                    "the records sharing updated_at {at} did not settle after {requests} requests \
                                     (they kept changing, or come back in a new order on every request without \
                                     paging counts); stopped rather than risk missing one"
                                ),
                            });
                        }
                    }
                }
                Ok(emit)
            }
        }
    }

    /// Sets the pass's bound: below the probe's newest records (read by the tail), `margin` below SalesLoft's
    /// clock (without a `Date` header: `margin` below the newest record). A record changed during the walk
    /// is stamped with SalesLoft's clock, so it lands above the bound unless a server's clock lags, or a
    /// transaction commits, more than `margin` late.
    fn observe_probe(&mut self, records: &[RecordKey], server_time: Option<OffsetDateTime>) {
        let (Some(newest), Some(oldest)) = (records.first(), records.last()) else {
            self.phase = Phase::Done;
            return;
        };
        if records.len() < PROBE_TAIL as usize {
            // The whole collection fits in the tail.
            self.phase = Phase::Plain;
            return;
        }
        let margin = self.margin.unwrap_or(time::Duration::ZERO);
        let below_tail = oldest.updated_at.datetime().checked_sub(time::Duration::MICROSECOND);
        let bound = match server_time {
            Some(now) => now.checked_sub(margin).zip(below_tail).map(|(clock, tail)| clock.min(tail)),
            None => newest.updated_at.datetime().checked_sub(margin).zip(below_tail).map(|(m, t)| m.min(t)),
        };
        let Some(bound) = bound.map(micros) else {
            self.phase = Phase::Plain;
            return;
        };
        let behind_cursor = self.cursor.at.as_ref().is_some_and(|at| {
            bound.datetime() < at.datetime() || (bound.datetime() == at.datetime() && self.cursor.strict)
        });
        self.phase = if behind_cursor { Phase::Plain } else { Phase::Range(Range { bound, span: None, window: None }) };
    }

    fn observe_range(
        &mut self,
        mut range: Range,
        query: &PageQuery,
        per_page: u32,
        facts: PageFacts,
        records: &[RecordKey],
    ) -> Result<Vec<usize>, Error> {
        let window_end = match &range.window {
            Some(window) => window.upper.clone(),
            None => self.window_end(&range),
        };
        let Some(mut window) = range.window.take() else {
            // Page 1 of a new window: an ordinary keyset page (bounded above).
            let Some(count) = facts.total_count else {
                // No counts: offsets cannot be checked, so the rest is read with the plain cursor.
                let emit = self.take(records);
                let full = records.len() >= per_page as usize;
                self.phase = if (full || facts.next_page_announced) && whole_page_at_one_instant(records) {
                    Phase::Tie { pass: TiePass::new(last_instant(records)), then: Box::new(Phase::Plain) }
                } else {
                    Phase::Plain
                };
                return Ok(emit);
            };
            let cursor_before = (!self.cursor.strict).then(|| self.cursor.at.clone()).flatten();
            let emit = self.take(records);
            // The count decides, not the page's length: a short page with more counted is not the end.
            let last = records.is_empty() || count <= records.len() as u64;
            if last {
                self.window_ran_out(range, window_end);
            } else if whole_page_at_one_instant(records) && cursor_before.as_ref() == Some(&last_instant(records)) {
                // The whole page sits at the cursor's instant: the cursor cannot step, read the group.
                let pass = TiePass::new(last_instant(records));
                self.phase = Phase::Tie { pass, then: Box::new(Phase::Range(range)) };
            } else {
                let began = query
                    .lower
                    .as_ref()
                    .and_then(|(t, _)| Timestamp::parse(t).ok())
                    .map(|t| t.datetime())
                    .or_else(|| records.first().map(|r| r.updated_at.datetime()));
                range.window = Some(RangeWindow {
                    lower: query.lower.clone(),
                    upper: window_end,
                    began,
                    next_page: 2,
                    count,
                    returned_at_cursor: ids_at_cursor(records, self.cursor.at.as_ref()),
                });
                self.phase = Phase::Range(range);
            }
            return Ok(emit);
        };
        match window.check(query.page, per_page, facts.total_count, records, self.cursor.at.as_ref()) {
            WindowCheck::Moved => {
                self.phase = Phase::Range(range);
                return Ok(Vec::new());
            }
            WindowCheck::Reordered => {
                let at = self.cursor.at.clone().unwrap_or_else(|| last_instant(records));
                self.phase = Phase::Tie { pass: TiePass::new(at), then: Box::new(Phase::Range(range)) };
                return Ok(Vec::new());
            }
            WindowCheck::Consistent => {}
        }
        let before = self.cursor.at.clone();
        let emit = self.take(records);
        if self.cursor.at == before {
            window.returned_at_cursor.extend(ids_at_cursor(records, self.cursor.at.as_ref()));
        } else {
            window.returned_at_cursor = ids_at_cursor(records, self.cursor.at.as_ref());
        }
        let read = u64::from(query.page) * u64::from(per_page);
        // The length check above ties the page to the count, so the count alone says when the window is out.
        if read >= window.count {
            self.window_ran_out(range, window_end);
        } else if query.page >= MAX_CHEAP_PAGE {
            // 1.5 × the span this window needed for 100 pages, so the next one should fill too.
            if let (Some(began), Some(at)) = (window.began, &self.cursor.at) {
                let needed = at.datetime() - began;
                range.span = Some((needed * 3_i32 / 2_i32).max(MIN_WINDOW_SPAN));
            }
            self.phase = Phase::Range(range);
        } else {
            window.next_page = query.page + 1;
            range.window = Some(window);
            self.phase = Phase::Range(range);
        }
        Ok(emit)
    }

    /// Every record up to `end` has been emitted: the next window starts strictly after it and spans twice
    /// as long; at the pass's bound, the walk goes on with the plain cursor (the tail).
    fn window_ran_out(&mut self, range: Range, end: Timestamp) {
        let passed = self.cursor.at.as_ref().is_some_and(|at| at.datetime() > end.datetime());
        if !passed {
            self.cursor = Cursor { at: Some(end.clone()), strict: true, emitted: HashSet::new() };
        }
        self.phase = if end.datetime() >= range.bound.datetime() {
            Phase::Plain
        } else {
            Phase::Range(Range { span: range.span.map(|s| s.saturating_mul(2)), window: None, ..range })
        };
    }

    /// Emits the records not emitted before and moves the cursor to the page's last instant.
    fn take(&mut self, records: &[RecordKey]) -> Vec<usize> {
        let mut emit = Vec::with_capacity(records.len());
        for (index, record) in records.iter().enumerate() {
            let old = match &self.cursor.at {
                Some(at) => {
                    record.updated_at < *at
                        || (record.updated_at == *at
                            && (self.cursor.strict || self.cursor.emitted.contains(&record.id)))
                }
                None => false,
            };
            if !old {
                emit.push(index);
            }
        }
        let Some(last) = records.last() else {
            return emit;
        };
        let same_instant = self.cursor.at.as_ref() == Some(&last.updated_at) && !self.cursor.strict;
        let moves_forward = self.cursor.at.as_ref().is_none_or(|at| last.updated_at > *at);
        if same_instant {
            self.cursor.emitted.extend(records.iter().filter(|r| r.updated_at == last.updated_at).map(|r| r.id));
        } else if moves_forward {
            self.cursor = Cursor {
                at: Some(last.updated_at.clone()),
                strict: false,
                emitted: records.iter().filter(|r| r.updated_at == last.updated_at).map(|r| r.id).collect(),
            };
        }
        emit
    }
}

/// Refuses an answer that breaks what the walk relies on: records in ascending `updated_at` order, within
/// the bounds asked for, each id once.
fn check_answer(query: &PageQuery, records: &[RecordKey]) -> Result<(), Error> {
    let fail = |what: String| Err(Error::Pagination { reason: format!("SalesLoft's answer {what}") });
    if records.windows(2).any(|pair| pair[0].updated_at > pair[1].updated_at) {
        return fail("is not sorted by updated_at ascending as asked".into());
    }
    if !distinct(records) {
        return fail("holds one id twice".into());
    }
    let parse = |text: &str| Timestamp::parse(text).ok();
    if let Some((lower, strict)) = &query.lower
        && let Some(lower) = parse(lower)
        && let Some(first) = records.first()
        && (first.updated_at < lower || (*strict && first.updated_at == lower))
    {
        return fail(format!("holds updated_at {} below the filter's {lower}", first.updated_at));
    }
    if let Some(upper) = query.upper.as_deref().and_then(parse)
        && let Some(last) = records.last()
        && last.updated_at > upper
    {
        return fail(format!("holds updated_at {} above the filter's {upper}", last.updated_at));
    }
    Ok(())
}

fn whole_page_at_one_instant(records: &[RecordKey]) -> bool {
    match (records.first(), records.last()) {
        (Some(first), Some(last)) => first.updated_at == last.updated_at,
        _ => false,
    }
}

fn last_instant(records: &[RecordKey]) -> Timestamp {
    records.last().map(|r| r.updated_at.clone()).unwrap_or_else(|| micros(OffsetDateTime::UNIX_EPOCH))
}

fn ids_at_cursor(records: &[RecordKey], cursor: Option<&Timestamp>) -> HashSet<i64> {
    records.iter().filter(|r| Some(&r.updated_at) == cursor).map(|r| r.id).collect()
}

/// `at` truncated to microseconds, in UTC.
fn micros(at: OffsetDateTime) -> Timestamp {
    let at = at.to_offset(time::UtcOffset::UTC);
    let at = at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000).unwrap_or(at);
    Timestamp::from_datetime(at)
}

#[cfg(test)]
mod tests {
    //! One step of the planner per row: the phase, the answer, and what it must do next.

    use super::*;

    /// `(id, microseconds)` rows of one answer.
    type Rows = &'static [(i64, i64)];

    fn at(micros: i64) -> Timestamp {
        let base = OffsetDateTime::from_unix_timestamp(1_704_067_200).expect("base");
        Timestamp::from_datetime(base + time::Duration::microseconds(micros))
    }

    fn page(rows: &[(i64, i64)]) -> Vec<RecordKey> {
        rows.iter().map(|&(id, t)| RecordKey { id, updated_at: at(t) }).collect()
    }

    fn counted(total: u64) -> PageFacts {
        PageFacts { per_page: Some(2), total_count: Some(total), ..PageFacts::default() }
    }

    /// A plan in the range phase with a window [gte 10, lte 100] open after page 1 = ids 1, 2 at 10, 20.
    fn open_window(count: u64) -> KeysetPlan {
        let mut plan = KeysetPlan::new(Cursor::default(), 2, false, Some(std::time::Duration::ZERO));
        plan.phase = Phase::Range(Range { bound: at(100), span: None, window: None });
        let query = plan.next_request().expect("request").expect("some");
        assert_eq!((query.page, query.upper.clone(), query.counts), (1, Some(at(100).to_string()), true));
        let emit = plan.observe(&query, counted(count), &page(&[(1, 10), (2, 20)])).expect("observe");
        assert_eq!(emit, vec![0, 1]);
        plan
    }

    #[test]
    fn the_probe_puts_the_bound_below_the_newest_records_and_the_clock() {
        let mut plan = KeysetPlan::new(Cursor::default(), 100, false, Some(std::time::Duration::from_secs(1)));
        let query = plan.next_request().expect("request").expect("some");
        assert_eq!((query.direction, query.per_page), (SortDirection::Desc, PROBE_TAIL));
        let newest: Vec<(i64, i64)> = (0..50).map(|i| (100 - i, 5_000_000 - i)).collect();
        let clock = at(3_000_000).datetime();
        plan.observe(&query, PageFacts { server_time: Some(clock), ..PageFacts::default() }, &page(&newest))
            .expect("observe");
        match &plan.phase {
            Phase::Range(range) => assert_eq!(range.bound, at(2_000_000), "1 s below the clock"),
            other => panic!("expected the range phase, got {other:?}"),
        }
        let mut small = KeysetPlan::new(Cursor::default(), 100, false, Some(std::time::Duration::ZERO));
        small.observe(&query, PageFacts::default(), &page(&[(1, 1)])).expect("observe");
        assert_eq!(small.phase, Phase::Plain, "a collection smaller than the probe is read plainly");
    }

    #[test]
    fn window_pages_are_judged_by_count_length_and_repeats() {
        // (count on page 2, page 2's rows, the phase expected after it, records emitted)
        let cases: &[(u64, Rows, &str, usize)] = &[
            (5, &[(3, 30), (4, 40)], "window page 3", 2),
            (4, &[(3, 30), (4, 40)], "window dropped", 0),
            (5, &[(3, 30)], "window dropped", 0),
            (5, &[(2, 20), (3, 30)], "tie at 20", 0),
            (5, &[(1, 10), (3, 30)], "window dropped", 0),
        ];
        for &(count, rows, expected, emitted) in cases {
            let mut plan = open_window(5);
            let query = plan.next_request().expect("request").expect("some");
            assert_eq!((query.page, query.lower.clone()), (2, None));
            let emit = plan.observe(&query, counted(count), &page(rows)).expect("observe");
            let phase = match &plan.phase {
                Phase::Range(Range { window: Some(w), .. }) => format!("window page {}", w.next_page),
                Phase::Range(Range { window: None, .. }) => "window dropped".to_string(),
                Phase::Tie { pass, .. } => {
                    format!("tie at {}", (pass.at.datetime() - at(0).datetime()).whole_microseconds())
                }
                other => format!("{other:?}"),
            };
            assert_eq!((phase.as_str(), emit.len()), (expected, emitted), "count {count}, rows {rows:?}");
        }
    }

    #[test]
    fn a_tie_group_completes_only_when_the_ids_under_one_count_number_that_count() {
        let mut plan = KeysetPlan::new(Cursor::default(), 2, false, None);
        let query = plan.next_request().expect("request").expect("some");
        plan.observe(&query, PageFacts::default(), &page(&[(1, 7), (2, 7)])).expect("observe");
        assert!(matches!(plan.phase, Phase::Tie { .. }), "a full page at one instant opens a tie pass");
        // (count, rows, complete afterwards, emitted)
        let steps: &[(u64, Rows, bool, usize)] = &[
            (5, &[(1, 7), (2, 7)], false, 0),
            (5, &[(3, 7), (4, 7)], false, 2),
            // Someone left: the count drops, the ids so far prove nothing; this page counts under 4.
            (4, &[(6, 7)], false, 1),
            (4, &[(1, 7), (3, 7)], false, 0),
            (4, &[(4, 7), (6, 7)], true, 0),
        ];
        for &(count, rows, complete, emitted) in steps {
            let query = plan.next_request().expect("request").expect("some");
            assert_eq!(
                (query.lower.clone(), query.upper.clone()),
                (Some((at(7).to_string(), false)), Some(at(7).to_string()))
            );
            let emit = plan.observe(&query, counted(count), &page(rows)).expect("observe");
            assert_eq!(emit.len(), emitted, "rows {rows:?}");
            assert_eq!(!matches!(plan.phase, Phase::Tie { .. }), complete, "rows {rows:?}");
        }
        assert_eq!(plan.cursor().at, Some(at(7)));
        assert!(plan.cursor().strict, "the walk goes on strictly after the group");
    }

    #[test]
    fn answers_that_break_the_walk_are_errors() {
        let plan = KeysetPlan::new(Cursor { at: Some(at(10)), strict: true, emitted: HashSet::new() }, 2, false, None);
        let query = plan.next_request().expect("request").expect("some");
        for rows in [&[(1, 30), (2, 20)][..], &[(1, 10), (2, 20)], &[(1, 20), (1, 20)]] {
            let error = plan.clone().observe(&query, PageFacts::default(), &page(rows)).expect_err("refused");
            assert!(matches!(error, Error::Pagination { .. }), "rows {rows:?}: {error:?}");
        }
    }

    #[test]
    fn a_tie_beyond_page_100_needs_permission() {
        let mut plan = KeysetPlan::new(Cursor::default(), 1, false, None);
        plan.phase = Phase::Tie { pass: TiePass { page: 101, ..TiePass::new(at(1)) }, then: Box::new(Phase::Plain) };
        assert!(matches!(plan.next_request(), Err(Error::Pagination { .. })));
        plan.allow_deep_pages = true;
        assert_eq!(plan.next_request().expect("allowed").map(|q| q.page), Some(101));
    }

    #[test]
    fn far_future_timestamps_and_huge_margins_do_not_overflow() {
        let end_of_time = Timestamp::parse("9999-12-31T23:59:59.999999Z").expect("max");
        let mut plan = KeysetPlan::new(Cursor::default(), 2, false, Some(std::time::Duration::MAX));
        let probe = plan.next_request().expect("request").expect("some");
        let newest: Vec<RecordKey> =
            (0..PROBE_TAIL as i64).map(|id| RecordKey { id, updated_at: end_of_time.clone() }).collect();
        let clock = Some(end_of_time.datetime());
        plan.observe(&probe, PageFacts { server_time: clock, ..PageFacts::default() }, &newest).expect("observe");
        assert_eq!(plan.phase, Phase::Plain, "a margin beyond the calendar leaves only the plain cursor");

        let mut plan = KeysetPlan::new(
            Cursor { at: Some(at(0)), strict: false, emitted: HashSet::new() },
            2,
            false,
            Some(std::time::Duration::ZERO),
        );
        plan.phase = Phase::Range(Range { bound: end_of_time.clone(), span: Some(time::Duration::MAX), window: None });
        let query = plan.next_request().expect("request").expect("some");
        assert_eq!(query.upper, Some(end_of_time.as_str().to_string()), "the span saturates at the bound");
        plan.observe(&query, counted(1), &page(&[(1, 5)])).expect("a short page ends the window");
        assert_eq!(plan.phase, Phase::Plain);
    }

    #[test]
    fn a_short_page_is_the_end_only_when_nothing_more_is_announced_or_counted() {
        // (facts, rows, the phase afterwards)
        let announced = PageFacts { next_page_announced: true, ..PageFacts::default() };
        let silent = PageFacts::default();
        let null = PageFacts { next_page_null: true, ..PageFacts::default() };
        for (facts, expected) in [(announced, Phase::Plain), (silent, Phase::Done), (null, Phase::Done)] {
            let mut plan = KeysetPlan::new(Cursor::default(), 4, false, None);
            let query = plan.next_request().expect("request").expect("some");
            plan.observe(&query, facts, &page(&[(1, 1), (2, 2)])).expect("observe");
            assert_eq!(plan.phase, expected, "{facts:?}");
        }
        // A window page 1 that is short but counts more does not end the window.
        let mut plan = open_window(9);
        assert!(matches!(plan.phase, Phase::Range(Range { window: Some(_), .. })), "count 9 > 2 read: window open");
        plan = open_window(2);
        assert!(matches!(plan.phase, Phase::Range(Range { window: None, .. }) | Phase::Plain), "count 2 read: out");
    }

    #[test]
    fn a_tie_group_that_never_settles_is_an_error_that_stays_an_error_and_emits_nothing() {
        let mut plan = KeysetPlan::new(Cursor::default(), 2, false, None);
        let query = plan.next_request().expect("request").expect("some");
        plan.observe(&query, PageFacts::default(), &page(&[(1, 7), (2, 7)])).expect("observe");
        let emitted_before = plan.cursor().clone();
        // The count changes on every answer: the ids never settle under one count.
        let mut error = None;
        let mut refused_id = 0;
        for step in 0..10_000_u64 {
            let query = plan.next_request().expect("request").expect("some");
            let id = i64::try_from(step).expect("small") + 100;
            if let Err(e) = plan.observe(&query, counted(3 + step % 2), &page(&[(id, 7)])) {
                (error, refused_id) = (Some(e), id);
                break;
            }
        }
        assert!(matches!(error, Some(Error::Pagination { .. })), "gave up: {error:?}");
        assert!(!plan.cursor().emitted.contains(&refused_id), "the refused page's record counts as not emitted");
        let query = plan.next_request().expect("request").expect("still walking, not done");
        let again = plan.observe(&query, counted(3), &page(&[(9_999, 7)]));
        assert!(matches!(again, Err(Error::Pagination { .. })), "asking again is refused again: {again:?}");
        assert!(emitted_before.emitted.is_subset(&plan.cursor().emitted));
    }
}
