//! Reading whole collections without deep pages.
//!
//! SalesLoft charges 3, 8, 10 or 30 per request for `page` above 100 (FACTS.md §2.2): walking 500 pages costs
//! 3 550 instead of 500. [`KeysetPager`] walks a keyset cursor instead — `sort_by=updated_at`,
//! `sort_direction=ASC`, `per_page=100`, with the lower bound moved to the last record's `updated_at`
//! (SalesLoft's recommended cursor poller, FACTS.md §4.5), reading up to 100 cheap pages per cursor position
//! (see "Windows" below) and never a page above 100. Use it for full and
//! incremental reads; persist [`KeysetPage::checkpoint`] after storing each page and resume with
//! [`KeysetPager::resume_from`]. [`OffsetPager`] is for small lists and lists that cannot be sorted by
//! `updated_at` (users); it refuses pages above 100 unless [`OffsetPager::allow_deep_pages`] is set.
//!
//! # Ties
//!
//! Many records can share one `updated_at` (bulk imports), and `updated_at[gt]` would skip the rest of a tie
//! group cut by a page boundary (FACTS.md §4.5 caveat). So the cursor uses `updated_at[gte]=<last>` and
//! remembers the ids already returned at that instant, dropping them when they come back. When a whole page
//! shares one instant (a tie group of 100 or more), the pager pages *inside* that instant with
//! `updated_at[gte]=T&updated_at[lte]=T&page=2,3,…`, then continues with `updated_at[gt]=T`. A tie group
//! larger than 100 pages × `per_page` would need a page above 100: that is an error unless deep pages are
//! allowed. Paging inside a tie relies on SalesLoft ordering equal timestamps the same way on every request
//! (the simulator orders by id); the id de-duplication makes a reordering produce no duplicates.
//!
//! # Windows
//!
//! The cursor alone re-reads one record per page (the `[gte]` overlap): 506 requests for 50 000 records, one
//! above the 1.01 × ⌈N/100⌉ target. So by default the pager reads in *windows*: page 1, 2, … up to 100 of one
//! query `updated_at[gte]=<cursor>&updated_at[lte]=<bound>&include_paging_counts=true` (pages up to 100
//! cost 1 — FACTS.md §2.2), then a new window from the cursor, so the overlap is paid once per 10 000
//! records. 50 000 records then take 503 requests: one probe, 501 window pages, one tail request.
//!
//! Offsets are only safe while the query's result does not move under them, which is what the bound is
//! for: it lies [`DEFAULT_WINDOW_MARGIN`] below the newest `updated_at` seen by a first probe request
//! (`sort_direction=DESC&per_page=1`). A record created or updated during the walk is stamped later than
//! the bound, so it can only *leave* the window, never enter or move inside it; leaving (or a delete)
//! lowers `total_count`, and a page whose `total_count` differs from its window's page 1 is dropped and a
//! new window starts at the cursor. Equal timestamps returned in another order by a later page show up as a
//! repeated id at the cursor's instant (a skipped record always comes with such a repeat, both pages holding
//! the same set); that page is dropped the same way. When the windows reach the bound, the walk continues
//! strictly after it with the plain cursor, which picks up whatever changed meanwhile. An API that sends no
//! `total_count`, or [`KeysetPager::windows`]`(false)`, gives the plain cursor throughout.
//!
//! Timestamps are sent back verbatim (microseconds and offset as SalesLoft wrote them — FACTS.md §4.4) and
//! compared as instants.

use std::collections::HashSet;
use std::marker::PhantomData;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};

use crate::api::list::{ListBuilder, MAX_CHEAP_PAGE, MAX_PER_PAGE, Resource, check_page};
use crate::models::{Keyed, ListResponse, SortDirection, Timestamp};
use crate::{Client, Error};

/// Where a keyset walk stands; serialize it as a checkpoint and resume from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysetCursor {
    /// The `updated_at` of the last record returned, verbatim; `None` to start from the oldest record.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Ids already returned whose `updated_at` is the same instant as [`updated_at`](Self::updated_at).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_ids: Vec<i64>,
    /// Every record at `updated_at` has been returned: the next request uses `updated_at[gt]`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub past_timestamp: bool,
    /// Paging inside one tie group: the next page of `updated_at[gte]=T&updated_at[lte]=T`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tie_page: Option<u32>,
}

impl KeysetCursor {
    /// A cursor at the very beginning (every record).
    pub fn start() -> Self {
        Self::default()
    }

    /// A cursor that returns records updated at or after `t` (`updated_at[gte]`).
    pub fn since(t: impl Into<Timestamp>) -> Self {
        Self { updated_at: Some(t.into().as_str().to_string()), ..Self::default() }
    }

    /// A cursor that returns records updated strictly after `t` (`updated_at[gt]`).
    pub fn after(t: impl Into<Timestamp>) -> Self {
        Self { updated_at: Some(t.into().as_str().to_string()), past_timestamp: true, ..Self::default() }
    }
}

/// One page of a keyset walk: the new records (already de-duplicated) and the checkpoint to save *after*
/// the records are stored.
#[derive(Debug, Clone)]
pub struct KeysetPage<T> {
    /// Records not returned before, in `updated_at` order.
    pub records: Vec<T>,
    /// The cursor after this page.
    pub checkpoint: KeysetCursor,
    /// The `page` parameter of the request that produced this page (1 except inside a tie group).
    pub request_page: u32,
}

/// Walks every record of a resource by `updated_at` ascending, ties broken by id (see the module docs).
///
/// ```no_run
/// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
/// use futures::TryStreamExt;
/// use salesloft_client::KeysetCursor;
/// let saved: Option<KeysetCursor> = None; // load a checkpoint here
/// let mut pager = client.people().keyset().resume_from(saved.unwrap_or_default());
/// while let Some(page) = pager.next_page().await? {
///     for person in &page.records { let _ = person.id; }
///     // flush the records, then persist page.checkpoint
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct KeysetPager<T> {
    client: Client,
    cursor: KeysetCursor,
    cursor_at: Option<Timestamp>,
    seen: HashSet<i64>,
    per_page: u32,
    allow_deep_pages: bool,
    params: Vec<(String, String)>,
    done: bool,
    requests: u64,
    windows: WindowState,
    marker: PhantomData<fn() -> T>,
}

/// How far a windowed walk has got (see the module docs, "Windows").
#[derive(Debug, Clone)]
enum WindowState {
    /// Plain keyset: every request is `page=1` of the cursor.
    Off,
    /// Windows are wanted; the upper bound is not known yet (the first request probes it).
    Unprobed {
        /// How far below the newest `updated_at` the bound is put.
        margin: std::time::Duration,
    },
    /// Reading records up to `upper` in windows of up to 100 pages.
    Bounded {
        /// The bound of the whole pass: no window reaches past it.
        upper: String,
        /// The window being read, if one is open.
        open: Option<Window>,
        /// How much `updated_at` time the next window spans: the last full window's span × 1.5, doubled
        /// after a window that ran out early. `None` until a window has filled (the first one spans to
        /// `upper`).
        span: Option<time::Duration>,
    },
    /// Every record up to the bound is out; the rest is read with the plain keyset.
    Tail,
}

/// One open window: pages 2, 3, … of the query whose page 1 started it.
#[derive(Debug, Clone)]
struct Window {
    /// The lower bound of page 1, verbatim, and whether it was `[gt]` (else `[gte]`); `None`: no lower bound.
    start: Option<(String, bool)>,
    /// The window's own `updated_at[lte]`, verbatim.
    upper: String,
    /// Where the window's time span begins (its lower bound, or its first record), to size the next one.
    began: Option<time::OffsetDateTime>,
    /// The next page to ask for.
    next_page: u32,
    /// `total_count` page 1 reported: any change means records left the window (updated or deleted), so
    /// offsets moved and the window is abandoned.
    count: u64,
}

/// The least `updated_at` span a window is given.
const MIN_WINDOW_SPAN: time::Duration = time::Duration::milliseconds(1);

/// What a window's page 1 request was: its bounds and where its span begins.
struct WindowOpening {
    start: Option<(String, bool)>,
    upper: Option<String>,
    began: Option<time::OffsetDateTime>,
}

/// The default distance between the newest `updated_at` and the windows' upper bound (see the module docs).
pub const DEFAULT_WINDOW_MARGIN: std::time::Duration = std::time::Duration::from_secs(60);

impl<T: Resource + Keyed> KeysetPager<T> {
    /// A walk over every record, 100 per page, in windows (see the module docs).
    pub fn new(client: Client) -> Self {
        Self {
            client,
            cursor: KeysetCursor::default(),
            cursor_at: None,
            seen: HashSet::new(),
            per_page: MAX_PER_PAGE,
            allow_deep_pages: false,
            params: Vec::new(),
            done: false,
            requests: 0,
            windows: WindowState::Unprobed { margin: DEFAULT_WINDOW_MARGIN },
            marker: PhantomData,
        }
    }

    /// Continues from a saved checkpoint (a windowed walk probes a new upper bound first).
    pub fn resume_from(mut self, cursor: KeysetCursor) -> Self {
        self.seen = cursor.seen_ids.iter().copied().collect();
        self.cursor_at = None;
        self.cursor = cursor;
        self.done = false;
        if !matches!(self.windows, WindowState::Off) {
            self.windows = WindowState::Unprobed { margin: self.window_margin() };
        }
        self
    }

    /// Only records updated at or after `t`.
    pub fn since(self, t: impl Into<Timestamp>) -> Self {
        self.resume_from(KeysetCursor::since(t))
    }

    /// Only records updated strictly after `t`.
    pub fn updated_after(self, t: impl Into<Timestamp>) -> Self {
        self.resume_from(KeysetCursor::after(t))
    }

    /// Records per request (1–100; default 100, the cheapest per record).
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = per_page.clamp(1, MAX_PER_PAGE);
        self
    }

    /// Allows paging past page 100 inside a huge tie group (each such request costs 3–30).
    pub fn allow_deep_pages(mut self, allow: bool) -> Self {
        self.allow_deep_pages = allow;
        self
    }

    /// Reads in windows (the default) or with the plain keyset only (`false`: every request is `page=1`
    /// and costs one re-read record per page).
    pub fn windows(mut self, on: bool) -> Self {
        self.windows = if on { WindowState::Unprobed { margin: self.window_margin() } } else { WindowState::Off };
        self
    }

    /// How far below the newest `updated_at` the windows' upper bound lies (default
    /// [`DEFAULT_WINDOW_MARGIN`]): records updated during the walk must be stamped above the bound, so the
    /// margin absorbs clock skew between SalesLoft's servers.
    pub fn window_margin(&self) -> std::time::Duration {
        match self.windows {
            WindowState::Unprobed { margin } => margin,
            _ => DEFAULT_WINDOW_MARGIN,
        }
    }

    /// Sets the margin of [`window_margin`](Self::window_margin).
    pub fn with_window_margin(mut self, margin: std::time::Duration) -> Self {
        if let WindowState::Unprobed { margin: current } = &mut self.windows {
            *current = margin;
        }
        self
    }

    /// An extra filter sent with every request (e.g. `("cadence_id[]", "3")`).
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((key.into(), value.into()));
        self
    }

    /// The cursor after the last page returned.
    pub fn checkpoint(&self) -> &KeysetCursor {
        &self.cursor
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    fn cursor_instant(&mut self) -> Result<Option<Timestamp>, Error> {
        if self.cursor_at.is_none()
            && let Some(text) = &self.cursor.updated_at
        {
            let parsed = Timestamp::parse(text).map_err(|e| Error::Construction {
                reason: format!("checkpoint updated_at {text:?} is not an RFC 3339 timestamp: {e}"),
            })?;
            self.cursor_at = Some(parsed);
        }
        Ok(self.cursor_at.clone())
    }

    /// The cursor's lower bound: the text and whether it is `[gt]`.
    fn cursor_bound(&self) -> Option<(String, bool)> {
        self.cursor.updated_at.as_ref().map(|t| (t.clone(), self.cursor.past_timestamp))
    }

    fn request(&self, page: u32, upper: Option<String>) -> ListBuilder<'_, T> {
        let mut list = ListBuilder::<T>::new(&self.client)
            .sort_by("updated_at")
            .sort_direction(SortDirection::Asc)
            .per_page(self.per_page)
            .page(page)
            .allow_deep_pages(self.allow_deep_pages);
        let window_start = match &self.windows {
            WindowState::Bounded { open: Some(window), .. } if self.cursor.tie_page.is_none() => {
                Some(window.start.clone())
            }
            _ => None,
        };
        if let Some(t) = &self.cursor.updated_at
            && self.cursor.tie_page.is_some()
        {
            list = list.param("updated_at[gte]", t.clone()).param("updated_at[lte]", t.clone());
        } else if let Some((t, past)) = window_start.unwrap_or_else(|| self.cursor_bound()) {
            list = list.param(if past { "updated_at[gt]" } else { "updated_at[gte]" }, t);
        }
        if let Some(upper) = upper {
            list = list.param("updated_at[lte]", upper).include_paging_counts(true);
        }
        for (key, value) in &self.params {
            list = list.param(key.clone(), value.clone());
        }
        list
    }

    /// Asks for the newest record (one request) and puts the windows' upper bound `margin` below its
    /// `updated_at`. Returns false when there is no record at all.
    async fn probe_upper_bound(&mut self, margin: std::time::Duration) -> Result<bool, Error> {
        let mut newest =
            ListBuilder::<T>::new(&self.client).sort_by("updated_at").sort_direction(SortDirection::Desc).per_page(1);
        for (key, value) in &self.params {
            newest = newest.param(key.clone(), value.clone());
        }
        let response: ListResponse<T> = newest.send().await?;
        self.requests += 1;
        let Some(record) = response.data.first() else {
            return Ok(false);
        };
        let upper = record.updated_at().datetime() - margin;
        self.windows = WindowState::Bounded {
            upper: Timestamp::from_datetime(upper).as_str().to_string(),
            open: None,
            span: None,
        };
        Ok(true)
    }

    /// The `updated_at[lte]` of the next request: the open window's, or for a new window the cursor plus the
    /// expected span (never past the pass's bound). `None` outside the bounded pass and inside a tie group.
    fn window_upper(&self, open: Option<&Window>) -> Option<String> {
        let WindowState::Bounded { upper, span, .. } = &self.windows else {
            return None;
        };
        if self.cursor.tie_page.is_some() {
            return None;
        }
        if let Some(window) = open {
            return Some(window.upper.clone());
        }
        let (Some(span), Some(at)) = (span, &self.cursor_at) else {
            return Some(upper.clone());
        };
        let bound = Timestamp::parse(upper).ok()?;
        let end = at.datetime() + *span;
        Some(if end < bound.datetime() { Timestamp::from_datetime(end).as_str().to_string() } else { upper.clone() })
    }

    /// Fetches the next page of new records; `None` when the walk has caught up.
    pub async fn next_page(&mut self) -> Result<Option<KeysetPage<T>>, Error> {
        loop {
            if self.done {
                return Ok(None);
            }
            if let WindowState::Unprobed { margin } = self.windows
                && !self.probe_upper_bound(margin).await?
            {
                self.done = true;
                return Ok(None);
            }
            let at = self.cursor_instant()?;
            let open_window = match &self.windows {
                WindowState::Bounded { open: Some(window), .. } if self.cursor.tie_page.is_none() => {
                    Some(window.clone())
                }
                _ => None,
            };
            let page = match (&open_window, self.cursor.tie_page) {
                (_, Some(tie_page)) => tie_page,
                (Some(window), None) => window.next_page,
                (None, None) => 1,
            };
            if page > MAX_CHEAP_PAGE && !self.allow_deep_pages {
                return Err(Error::Construction {
                    reason: format!(
                        "more than {} records share updated_at {}: paging inside that instant would need \
                         page {page}; allow deep pages to continue (FACTS.md §2.2)",
                        u64::from(MAX_CHEAP_PAGE) * u64::from(self.per_page),
                        self.cursor.updated_at.as_deref().unwrap_or("?"),
                    ),
                });
            }
            check_page(page, self.allow_deep_pages)?;
            let request_start = self.cursor_bound();
            let request_upper = self.window_upper(open_window.as_ref());
            let response: ListResponse<T> = self.request(page, request_upper.clone()).send().await?;
            self.requests += 1;
            let per_page =
                response.metadata.paging.as_ref().and_then(|p| p.per_page).filter(|&p| p > 0).unwrap_or(self.per_page);
            let total_count = response.metadata.paging.as_ref().and_then(|p| p.total_count);
            let full = !response.data.is_empty() && response.data.len() >= per_page as usize;
            let says_last = response.metadata.paging.as_ref().is_some_and(|p| p.next_page.is_none());
            let last = !full || says_last;
            let data = response.data;

            if self.cursor.tie_page.is_some() {
                let mut records = Vec::with_capacity(data.len());
                for record in data {
                    let tied = at.as_ref() == Some(record.updated_at());
                    if tied && !self.seen.insert(record.key_id()) {
                        continue;
                    }
                    records.push(record);
                }
                if last {
                    // Every record at this instant is out: continue strictly after it.
                    self.cursor.tie_page = None;
                    self.cursor.past_timestamp = true;
                    self.seen.clear();
                } else {
                    self.cursor.tie_page = Some(page + 1);
                }
                self.cursor.seen_ids = self.seen.iter().copied().collect();
                if !records.is_empty() {
                    return Ok(Some(self.page_of(records, page)));
                }
                continue;
            }

            if let Some(window) = &open_window
                && !self.window_page_is_consistent(window, total_count, &data, at.as_ref())
            {
                // Records left the window (offsets moved) or equal timestamps came back in another order:
                // this page may skip a record, so it is dropped and a new window starts at the cursor.
                self.close_window();
                continue;
            }

            let first_at = data.first().map(|record| record.updated_at().datetime());
            let Some(last_record) = data.last() else {
                self.window_ran_out(request_upper.as_deref());
                if self.done {
                    return Ok(None);
                }
                continue;
            };
            let last_at = last_record.updated_at().clone();
            let whole_page_tied = full && data.first().is_some_and(|first| *first.updated_at() == last_at);
            let same_instant = !self.cursor.past_timestamp && at.as_ref() == Some(&last_at);
            let old_seen = std::mem::take(&mut self.seen);
            let mut new_seen = if same_instant { old_seen.clone() } else { HashSet::new() };
            let mut records = Vec::with_capacity(data.len());
            for record in data {
                let dropped = !self.cursor.past_timestamp
                    && at.as_ref() == Some(record.updated_at())
                    && old_seen.contains(&record.key_id());
                if *record.updated_at() == last_at {
                    new_seen.insert(record.key_id());
                }
                if !dropped {
                    records.push(record);
                }
            }
            self.seen = new_seen;
            if !same_instant {
                self.cursor.updated_at = Some(last_at.as_str().to_string());
                self.cursor_at = Some(last_at);
            }
            self.cursor.past_timestamp = false;
            self.cursor.seen_ids = self.seen.iter().copied().collect();
            if whole_page_tied && !last {
                if open_window.is_some() {
                    // A tie group of a page or more inside a window: reopen at the instant, whose page 1
                    // drops what was seen and then pages inside the instant.
                    self.close_window();
                } else {
                    // A tie group of at least a page: page 1 of `gte T & lte T` is this page (FACTS.md §4.5).
                    self.close_window();
                    self.cursor.tie_page = Some(2);
                }
            } else if last {
                self.window_ran_out(request_upper.as_deref());
            } else {
                let began = request_start.as_ref().and_then(|(t, _)| Timestamp::parse(t).ok()).map(|t| t.datetime());
                let opened = WindowOpening { start: request_start, upper: request_upper, began: began.or(first_at) };
                self.advance_window(page, opened, open_window.is_some(), total_count);
            }
            if !records.is_empty() {
                return Ok(Some(self.page_of(records, page)));
            }
        }
    }

    /// A window page ≥ 2 is kept only when nothing left the window since page 1 (same `total_count`), it
    /// starts at or after the cursor, and no record at the cursor's instant comes back (equal timestamps in
    /// another order: a skipped record always shows as such a repeat, since both pages hold the same set).
    fn window_page_is_consistent(
        &self,
        window: &Window,
        total_count: Option<u64>,
        data: &[T],
        at: Option<&Timestamp>,
    ) -> bool {
        if total_count != Some(window.count) {
            return false;
        }
        let Some(at) = at else {
            return true;
        };
        data.iter().all(|record| {
            let t = record.updated_at();
            t > at || (t == at && !self.seen.contains(&record.key_id()))
        })
    }

    fn close_window(&mut self) {
        if let WindowState::Bounded { open, .. } = &mut self.windows {
            *open = None;
        }
    }

    /// After a full page: open a window after its page 1, move to the next page, or close it at page 100
    /// (sizing the next window from this one's span).
    fn advance_window(&mut self, page: u32, opened: WindowOpening, was_open: bool, count: Option<u64>) {
        let last_at = self.cursor_at.as_ref().map(Timestamp::datetime);
        let WindowState::Bounded { open, span, .. } = &mut self.windows else {
            return;
        };
        if page >= MAX_CHEAP_PAGE {
            let began = open.as_ref().and_then(|window| window.began).or(opened.began);
            if let (Some(began), Some(last_at)) = (began, last_at) {
                // 1.5 × the span this window needed for 100 pages, so the next one should fill too.
                let needed: time::Duration = last_at - began;
                let wanted: time::Duration = needed * 3_i32 / 2_i32;
                *span = Some(wanted.max(MIN_WINDOW_SPAN));
            }
            *open = None;
        } else if was_open {
            if let Some(window) = open {
                window.next_page = page + 1;
            }
        } else if let (Some(count), Some(upper)) = (count, opened.upper) {
            *open = Some(Window { start: opened.start, upper, began: opened.began, next_page: page + 1, count });
        } else {
            // No `total_count` in the answer: changes could not be detected, so read plainly from here on.
            self.windows = WindowState::Off;
        }
    }

    /// The query ran out. Below the pass's bound, every record up to the window's bound is out: the next
    /// window starts strictly after it and spans twice as long. At the pass's bound, the walk goes on
    /// strictly after it with the plain keyset (the tail). Outside the bounded pass, the walk has caught up.
    fn window_ran_out(&mut self, window_upper: Option<&str>) {
        match std::mem::replace(&mut self.windows, WindowState::Tail) {
            WindowState::Bounded { upper, span, .. } => {
                let reached = window_upper.unwrap_or(&upper).to_string();
                let passed =
                    self.cursor_instant().ok().flatten().is_some_and(|at| {
                        Timestamp::parse(&reached).is_ok_and(|bound| at.datetime() > bound.datetime())
                    });
                if !passed {
                    self.cursor = KeysetCursor {
                        updated_at: Some(reached.clone()),
                        past_timestamp: true,
                        ..KeysetCursor::default()
                    };
                    self.cursor_at = None;
                    self.seen.clear();
                }
                if reached != upper {
                    self.windows = WindowState::Bounded { upper, open: None, span: span.map(|s| s * 2) };
                }
            }
            other => {
                self.windows = other;
                self.done = true;
            }
        }
    }

    fn page_of(&self, records: Vec<T>, request_page: u32) -> KeysetPage<T> {
        KeysetPage { records, checkpoint: self.cursor.clone(), request_page }
    }

    /// The walk as a stream of pages (each with its checkpoint). The stream is boxed, so it is `Unpin`.
    pub fn pages(self) -> BoxStream<'static, Result<KeysetPage<T>, Error>>
    where
        T: Send,
    {
        stream::try_unfold(self, |mut pager| async move { Ok(pager.next_page().await?.map(|page| (page, pager))) })
            .boxed()
    }

    /// The walk as a stream of records. Use [`pages`](Self::pages) when you need checkpoints.
    pub fn items(self) -> BoxStream<'static, Result<T, Error>>
    where
        T: Send,
    {
        self.pages().map_ok(|page| stream::iter(page.records.into_iter().map(Ok))).try_flatten().boxed()
    }
}

/// Offset paging (`page=1,2,3…`) for lists that cannot use a keyset. Refuses `page > 100` unless
/// [`allow_deep_pages`](Self::allow_deep_pages) (FACTS.md §2.2). Stops at `next_page: null` or a short page.
///
/// ```no_run
/// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
/// use salesloft_client::{OffsetPager, models::User};
/// let mut pager = OffsetPager::<User>::new(client);
/// while let Some(users) = pager.next_page().await? {
///     let _ = users.len();
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct OffsetPager<T> {
    client: Client,
    next: Option<u32>,
    per_page: u32,
    allow_deep_pages: bool,
    params: Vec<(String, String)>,
    marker: PhantomData<fn() -> T>,
}

impl<T: Resource> OffsetPager<T> {
    /// Pages 1, 2, … of 100 records.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            next: Some(1),
            per_page: MAX_PER_PAGE,
            allow_deep_pages: false,
            params: Vec::new(),
            marker: PhantomData,
        }
    }

    /// Records per page (1–100).
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = per_page.clamp(1, MAX_PER_PAGE);
        self
    }

    /// Starts at this page.
    pub fn start_page(mut self, page: u32) -> Self {
        self.next = Some(page.max(1));
        self
    }

    /// Allows pages above 100 (3–30 cost each).
    pub fn allow_deep_pages(mut self, allow: bool) -> Self {
        self.allow_deep_pages = allow;
        self
    }

    /// An extra query parameter sent with every request.
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((key.into(), value.into()));
        self
    }

    /// Fetches the next page; `None` after the last. A page above 100 without permission is an error.
    pub async fn next_page(&mut self) -> Result<Option<Vec<T>>, Error> {
        let Some(page) = self.next else {
            return Ok(None);
        };
        check_page(page, self.allow_deep_pages)?;
        let mut list = ListBuilder::<T>::new(&self.client)
            .page(page)
            .per_page(self.per_page)
            .allow_deep_pages(self.allow_deep_pages);
        for (key, value) in &self.params {
            list = list.param(key.clone(), value.clone());
        }
        let response = list.send().await?;
        let per_page =
            response.metadata.paging.as_ref().and_then(|p| p.per_page).filter(|&p| p > 0).unwrap_or(self.per_page);
        let short = response.data.len() < per_page as usize;
        let says_last = response.metadata.paging.as_ref().is_none_or(|p| p.next_page.is_none());
        self.next = if short || says_last { None } else { Some(page + 1) };
        if response.data.is_empty() && self.next.is_none() {
            return Ok(None);
        }
        Ok(Some(response.data))
    }
}
