//! [`KeysetPager`]: the thin I/O loop around the pure [`KeysetPlan`](super::plan::KeysetPlan).

use std::collections::HashSet;
use std::marker::PhantomData;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};

use super::DEFAULT_WINDOW_MARGIN;
use super::plan::{Cursor, KeysetPlan, PageFacts, PageQuery};
use super::window::RecordKey;
use crate::api::list::{ListBuilder, MAX_PER_PAGE, Resource};
use time::OffsetDateTime;

use crate::models::{Keyed, ListResponse, SortDirection, Timestamp};
use crate::{Client, Error};

/// Where a keyset walk stands; serialize it as a checkpoint and resume from it.
///
/// Every record stamped before `updated_at` (or at it, when `past_timestamp`) has been returned, and
/// `seen_ids` are the ids returned *at* `updated_at`. A checkpoint written by an older version with a
/// `tie_page` field still parses; the field is ignored (the walk re-reads that instant, without duplicates).
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

    fn to_plan(&self) -> Result<Cursor, Error> {
        let at = match &self.updated_at {
            Some(text) => Some(Timestamp::parse(text).map_err(|e| Error::Construction {
                reason: format!("checkpoint updated_at {text:?} is not an RFC 3339 timestamp: {e}"),
            })?),
            None => None,
        };
        let emitted: HashSet<i64> =
            if self.past_timestamp { HashSet::new() } else { self.seen_ids.iter().copied().collect() };
        Ok(Cursor { at, strict: self.past_timestamp && self.updated_at.is_some(), emitted })
    }

    fn from_plan(cursor: &Cursor) -> Self {
        let mut seen_ids: Vec<i64> = cursor.emitted.iter().copied().collect();
        seen_ids.sort_unstable();
        Self { updated_at: cursor.at.as_ref().map(|t| t.as_str().to_string()), seen_ids, past_timestamp: cursor.strict }
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
    /// The `page` parameter of the request that produced this page.
    pub request_page: u32,
}

/// Walks every record of a resource by `updated_at` ascending, each exactly once (see the
/// [module docs](super)).
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
    start: KeysetCursor,
    per_page: u32,
    allow_deep_pages: bool,
    /// `None`: windows off.
    margin: Option<std::time::Duration>,
    params: Vec<(String, String)>,
    /// Built on the first request, from the settings above.
    plan: Option<KeysetPlan>,
    checkpoint: KeysetCursor,
    requests: u64,
    marker: PhantomData<fn() -> T>,
}

impl<T: Resource + Keyed> KeysetPager<T> {
    /// A walk over every record, 100 per page, in windows (see the module docs).
    pub fn new(client: Client) -> Self {
        Self {
            client,
            start: KeysetCursor::default(),
            per_page: MAX_PER_PAGE,
            allow_deep_pages: false,
            margin: Some(DEFAULT_WINDOW_MARGIN),
            params: Vec::new(),
            plan: None,
            checkpoint: KeysetCursor::default(),
            requests: 0,
            marker: PhantomData,
        }
    }

    /// Continues from a saved checkpoint (a windowed walk probes a new upper bound first).
    pub fn resume_from(mut self, cursor: KeysetCursor) -> Self {
        self.checkpoint = cursor.clone();
        self.start = cursor;
        self.plan = None;
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

    /// Allows paging past page 100 inside a tie group of more than 10 000 records (each such request
    /// costs 3–30 — FACTS.md §2.2).
    pub fn allow_deep_pages(mut self, allow: bool) -> Self {
        self.allow_deep_pages = allow;
        self
    }

    /// Reads in windows (the default) or with the plain keyset only (`false`: every request is `page=1`
    /// of the cursor, one re-read record per page).
    pub fn windows(mut self, on: bool) -> Self {
        self.margin = if on { Some(self.margin.unwrap_or(DEFAULT_WINDOW_MARGIN)) } else { None };
        self
    }

    /// How far below the newest `updated_at` the windows' upper bound lies (default
    /// [`DEFAULT_WINDOW_MARGIN`]): records updated during the walk must be stamped above the bound, so the
    /// margin absorbs clock skew between SalesLoft's servers.
    pub fn window_margin(&self) -> std::time::Duration {
        self.margin.unwrap_or(DEFAULT_WINDOW_MARGIN)
    }

    /// Sets the margin of [`window_margin`](Self::window_margin) (windows stay as they are).
    pub fn with_window_margin(mut self, margin: std::time::Duration) -> Self {
        if self.margin.is_some() {
            self.margin = Some(margin);
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
        &self.checkpoint
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    fn list(&self, query: &PageQuery) -> ListBuilder<'_, T> {
        let mut list = ListBuilder::<T>::new(&self.client)
            .sort_by("updated_at")
            .sort_direction(query.direction)
            .per_page(query.per_page)
            .page(query.page)
            .allow_deep_pages(self.allow_deep_pages);
        if let Some((t, strict)) = &query.lower {
            list = list.param(if *strict { "updated_at[gt]" } else { "updated_at[gte]" }, t.clone());
        }
        if let Some(t) = &query.upper {
            list = list.param("updated_at[lte]", t.clone());
        }
        if query.counts {
            // Exact counts: a count capped at 10 000 could hide a record leaving a bigger window
            // (FACTS.md §4.1, `limit_paging_counts`).
            list = list.include_paging_counts(true).param("limit_paging_counts", "false");
        }
        for (key, value) in &self.params {
            list = list.param(key.clone(), value.clone());
        }
        list
    }

    /// Sends one request of the walk; the probe (the only descending one) also reads SalesLoft's clock from
    /// the `Date` header, which every HTTP origin server with a clock sends (RFC 9110 §6.6.1).
    async fn send(&self, query: &PageQuery) -> Result<(ListResponse<T>, Option<OffsetDateTime>), Error> {
        let list = self.list(query);
        if query.direction != SortDirection::Desc {
            return Ok((list.send().await?, None));
        }
        let response = self.client.pipeline.execute(list.build()?).await?;
        let server_time = response
            .headers
            .get(http::header::DATE)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| httpdate::parse_http_date(text).ok())
            .map(OffsetDateTime::from);
        Ok((crate::api::decode(T::LIST_OPERATION, &response.body)?, server_time))
    }

    /// Fetches the next page of new records; `None` when the walk has caught up.
    pub async fn next_page(&mut self) -> Result<Option<KeysetPage<T>>, Error> {
        if self.plan.is_none() {
            let cursor = self.start.to_plan()?;
            self.plan = Some(KeysetPlan::new(cursor, self.per_page, self.allow_deep_pages, self.margin));
        }
        loop {
            let Some(query) = self.plan.as_ref().map(KeysetPlan::next_request).transpose()?.flatten() else {
                return Ok(None);
            };
            let (response, server_time) = self.send(&query).await?;
            self.requests += 1;
            let paging = response.metadata.paging.as_ref();
            let facts = PageFacts {
                per_page: paging.and_then(|p| p.per_page),
                total_count: paging.and_then(|p| p.total_count),
                next_page_null: paging.is_some_and(|p| p.next_page.is_none()),
                next_page_announced: paging.is_some_and(|p| p.next_page.is_some()),
                server_time,
            };
            let keys: Vec<RecordKey> = response
                .data
                .iter()
                .map(|r| RecordKey { id: r.key_id(), updated_at: r.updated_at().clone() })
                .collect();
            let Some(plan) = self.plan.as_mut() else {
                return Ok(None);
            };
            let emit = plan.observe(&query, facts, &keys)?;
            self.checkpoint = KeysetCursor::from_plan(plan.cursor());
            if emit.is_empty() {
                continue;
            }
            let mut data: Vec<Option<T>> = response.data.into_iter().map(Some).collect();
            let records = emit.into_iter().filter_map(|i| data.get_mut(i).and_then(Option::take)).collect();
            return Ok(Some(KeysetPage { records, checkpoint: self.checkpoint.clone(), request_page: query.page }));
        }
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
