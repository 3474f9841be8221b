//! The list builder shared by every resource: paging, sorting, time-range and array filters.

use std::marker::PhantomData;

use http::Method;
use serde::de::DeserializeOwned;

use crate::models::{ListResponse, SortDirection, Timestamp};
use crate::transport::ApiRequest;
use crate::{Client, Error};

/// The highest `page` a list asks for unless told otherwise: pages above 100 cost 3–30 (FACTS.md §2.2).
pub const MAX_CHEAP_PAGE: u32 = 100;

/// The largest `per_page` SalesLoft honours (FACTS.md §4.1).
pub const MAX_PER_PAGE: u32 = 100;

/// A listable SalesLoft resource.
pub trait Resource: DeserializeOwned + Send + 'static {
    /// The collection path relative to the API root, without `.json` (e.g. `people`).
    const PATH: &'static str;
    /// The operation label of a list call (e.g. `people.list`).
    const LIST_OPERATION: &'static str;
}

macro_rules! resource {
    ($($ty:ty => $path:literal, $op:literal;)*) => {$(
        impl Resource for $ty {
            const PATH: &'static str = $path;
            const LIST_OPERATION: &'static str = $op;
        }
    )*};
}

resource! {
    crate::models::Person => "people", "people.list";
    crate::models::Account => "accounts", "accounts.list";
    crate::models::Cadence => "cadences", "cadences.list";
    crate::models::CadenceMembership => "cadence_memberships", "cadence_memberships.list";
    crate::models::User => "users", "users.list";
    crate::models::WebhookSubscription => "webhook_subscriptions", "webhook_subscriptions.list";
    crate::models::Note => "notes", "notes.list";
    crate::models::Task => "tasks", "tasks.list";
}

/// Builds one list request (`GET /v2/<resource>`). Resource-specific filters are added by impl blocks in the
/// resource modules (e.g. `email_addresses` for people).
#[derive(Debug, Clone)]
#[must_use = "a list builder does nothing until `send` is awaited"]
pub struct ListBuilder<'c, T> {
    client: &'c Client,
    query: Vec<(String, String)>,
    page: Option<u32>,
    per_page: Option<u32>,
    allow_deep_pages: bool,
    marker: PhantomData<fn() -> T>,
}

impl<'c, T: Resource> ListBuilder<'c, T> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client, query: Vec::new(), page: None, per_page: None, allow_deep_pages: false, marker: PhantomData }
    }

    /// Records per page, clamped to 1–100 (SalesLoft silently clamps too; default 25).
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = Some(per_page.clamp(1, MAX_PER_PAGE));
        self
    }

    /// The page to fetch (1-based). Pages above 100 are refused unless [`allow_deep_pages`](Self::allow_deep_pages).
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page.max(1));
        self
    }

    /// Allows `page > 100`, which SalesLoft charges 3, 8, 10 or 30 per request (FACTS.md §2.2).
    pub fn allow_deep_pages(mut self, allow: bool) -> Self {
        self.allow_deep_pages = allow;
        self
    }

    /// Sort field (e.g. `updated_at`); an invalid one makes SalesLoft answer 422.
    pub fn sort_by(self, field: impl Into<String>) -> Self {
        self.param("sort_by", field)
    }

    /// Sort direction (SalesLoft's default is `DESC`).
    pub fn sort_direction(self, direction: SortDirection) -> Self {
        self.param("sort_direction", direction.as_str())
    }

    /// Only records updated strictly after `t` (`updated_at[gt]`, microsecond comparison — FACTS.md §4.3).
    pub fn updated_after(self, t: impl Into<Timestamp>) -> Self {
        let t = t.into();
        self.param("updated_at[gt]", t.as_str())
    }

    /// Only records updated at or after `t` (`updated_at[gte]`).
    pub fn updated_since(self, t: impl Into<Timestamp>) -> Self {
        let t = t.into();
        self.param("updated_at[gte]", t.as_str())
    }

    /// Only records updated strictly before `t` (`updated_at[lt]`).
    pub fn updated_before(self, t: impl Into<Timestamp>) -> Self {
        let t = t.into();
        self.param("updated_at[lt]", t.as_str())
    }

    /// Only records updated at or before `t` (`updated_at[lte]`).
    pub fn updated_until(self, t: impl Into<Timestamp>) -> Self {
        let t = t.into();
        self.param("updated_at[lte]", t.as_str())
    }

    /// Only these ids (`ids[]=…`); missing ids are silently left out by SalesLoft.
    pub fn ids<I: IntoIterator<Item = impl Into<i64>>>(self, ids: I) -> Self {
        self.array("ids", ids.into_iter().map(|id| id.into().to_string()))
    }

    /// Asks for `total_pages` and `total_count` in the paging metadata.
    pub fn include_paging_counts(self, include: bool) -> Self {
        self.param("include_paging_counts", if include { "true" } else { "false" })
    }

    /// Any other query parameter, sent as given (unknown names are ignored by SalesLoft).
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// An array filter, sent Rails-style: `key[]=a&key[]=b` (FACTS.md §4.3).
    pub fn array<I: IntoIterator<Item = impl Into<String>>>(mut self, key: &str, values: I) -> Self {
        let key = format!("{key}[]");
        for value in values {
            self.query.push((key.clone(), value.into()));
        }
        self
    }

    /// The request this builder sends, or a construction error for a deep page that was not allowed.
    pub fn build(&self) -> Result<ApiRequest, Error> {
        let mut request = ApiRequest::new(T::LIST_OPERATION, Method::GET, T::PATH);
        if let Some(page) = self.page {
            check_page(page, self.allow_deep_pages)?;
            request = request.query("page", page.to_string());
        }
        if let Some(per_page) = self.per_page {
            request = request.query("per_page", per_page.to_string());
        }
        for (key, value) in &self.query {
            request = request.query(key.clone(), value.clone());
        }
        Ok(request)
    }

    /// Sends the request and decodes the page.
    pub async fn send(self) -> Result<ListResponse<T>, Error> {
        let request = self.build()?;
        self.client.send_json(request).await
    }
}

/// Refuses `page > 100` unless deep pages are allowed (FACTS.md §2.2: 3/8/10/30 per request beyond 100).
pub fn check_page(page: u32, allow_deep_pages: bool) -> Result<(), Error> {
    if page > MAX_CHEAP_PAGE && !allow_deep_pages {
        return Err(Error::Construction {
            reason: format!(
                "page {page} is above {MAX_CHEAP_PAGE} and costs {} per request (FACTS.md §2.2); walk a keyset \
                 cursor instead, or allow deep pages explicitly",
                crate::transport::page_cost(u64::from(page))
            ),
        });
    }
    Ok(())
}
