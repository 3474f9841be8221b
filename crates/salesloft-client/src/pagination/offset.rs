//! Offset paging for small lists and lists that cannot use a keyset.

use std::marker::PhantomData;

use crate::api::list::{ListBuilder, MAX_PER_PAGE, Resource, check_page};
use crate::{Client, Error};

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
