//! Reading whole collections without deep pages.
//!
//! SalesLoft charges 3, 8, 10 or 30 per request for `page` above 100 (FACTS.md §2.2): walking 500 pages costs
//! 3 550 instead of 500. [`KeysetPager`] walks a keyset cursor instead — `sort_by=updated_at`,
//! `sort_direction=ASC`, `per_page=100`, always `page=1`, with the lower bound moved to the last record's
//! `updated_at` after each page (SalesLoft's recommended cursor poller, FACTS.md §4.5). Use it for full and
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
    marker: PhantomData<fn() -> T>,
}

impl<T: Resource + Keyed> KeysetPager<T> {
    /// A walk over every record, 100 per page.
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
            marker: PhantomData,
        }
    }

    /// Continues from a saved checkpoint.
    pub fn resume_from(mut self, cursor: KeysetCursor) -> Self {
        self.seen = cursor.seen_ids.iter().copied().collect();
        self.cursor_at = None;
        self.cursor = cursor;
        self.done = false;
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

    fn request(&self, page: u32) -> ListBuilder<'_, T> {
        let mut list = ListBuilder::<T>::new(&self.client)
            .sort_by("updated_at")
            .sort_direction(SortDirection::Asc)
            .per_page(self.per_page)
            .page(page)
            .allow_deep_pages(self.allow_deep_pages);
        if let Some(t) = &self.cursor.updated_at {
            if self.cursor.tie_page.is_some() {
                list = list.param("updated_at[gte]", t.clone()).param("updated_at[lte]", t.clone());
            } else if self.cursor.past_timestamp {
                list = list.param("updated_at[gt]", t.clone());
            } else {
                list = list.param("updated_at[gte]", t.clone());
            }
        }
        for (key, value) in &self.params {
            list = list.param(key.clone(), value.clone());
        }
        list
    }

    /// Fetches the next page of new records; `None` when the walk has caught up.
    pub async fn next_page(&mut self) -> Result<Option<KeysetPage<T>>, Error> {
        loop {
            if self.done {
                return Ok(None);
            }
            let at = self.cursor_instant()?;
            let page = self.cursor.tie_page.unwrap_or(1);
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
            let response: ListResponse<T> = self.request(page).send().await?;
            self.requests += 1;
            let per_page =
                response.metadata.paging.as_ref().and_then(|p| p.per_page).filter(|&p| p > 0).unwrap_or(self.per_page);
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

            let Some(last_record) = data.last() else {
                self.done = true;
                return Ok(None);
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
                // A tie group of at least a page: page 1 of `gte T & lte T` is this page (FACTS.md §4.5 caveat).
                self.cursor.tie_page = Some(2);
            } else if last {
                self.done = true;
            }
            if !records.is_empty() {
                return Ok(Some(self.page_of(records, page)));
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
