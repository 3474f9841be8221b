//! The template every resource handler shares: the common head of a list request (`paging`, `sort_by`,
//! `ids`, `updated_at[…]`, `created_at[…]`), running it over a table into the list envelope, and answering
//! one rendered record (a get, a write with its webhook event, a delete).
//!
//! A resource module keeps only what is its own: its filters and their validation, its sort keys, and how
//! a record renders.

use crate::envelope::{self, Filtering};
use crate::errors::ApiError;
use crate::list::{self, FilterFn, ListSpec, Order};
use crate::query::{Paging, Query, Sorting, TimeRange};
use crate::routes::{Event, Outcome, render_page};
use crate::table::{Table, Timestamped};

/// The parameters every paginated list reads first, in this order (so the first bad one is the one
/// reported): `page`/`per_page`/counts, `sort_by`/`sort_direction`, `ids`, `updated_at[…]`, `created_at[…]`.
pub struct Listing {
    /// Paging.
    pub paging: Paging,
    /// Sorting.
    pub sorting: Sorting,
    /// The `ids` filter (taken out by the handler, which may narrow it further).
    pub ids: Option<Vec<i64>>,
    /// The `updated_at` range.
    pub updated: Option<TimeRange>,
    /// The `created_at` range (`None` for resources without that filter).
    pub created: Option<TimeRange>,
}

impl Listing {
    /// Reads the common parameters; `sort_by` must be one of `sorts` (default `default_key`, direction
    /// `default_ascending`).
    pub fn parse(
        query: &Query,
        sorts: &[&'static str],
        default_key: &'static str,
        default_ascending: bool,
    ) -> Result<Self, ApiError> {
        let paging = query.paging()?;
        let sorting = query.sorting_with(sorts, default_key, default_ascending)?;
        let ids = query.int_list("ids")?;
        let updated = query.time_range("updated_at")?;
        let created = query.time_range("created_at")?;
        Ok(Self { paging, sorting, ids, updated, created })
    }

    /// The `filtering` metadata of the common filters: `ids`, `updated_at`, `created_at`, in that order.
    pub fn filtering(&self, query: &Query) -> Filtering {
        let mut filtering = Filtering::default();
        filtering.list("ids", query.list("ids").as_ref());
        filtering.time("updated_at", self.updated.as_ref());
        filtering.time("created_at", self.created.as_ref());
        filtering
    }

    /// Whether a row is inside the `updated_at` and `created_at` ranges.
    #[inline]
    pub fn in_ranges<R: Timestamped>(&self, row: &R) -> bool {
        self.updated.as_ref().is_none_or(|range| range.contains(row.updated_at()))
            && self.created.as_ref().is_none_or(|range| range.contains(row.created_at()))
    }

    /// The order of `sort_by`: `created_at` by id, `updated_at` through the index, any other key by `key`.
    pub fn order<'a, R>(&self, key: impl FnOnce(&'static str) -> Order<'a, R>) -> Order<'a, R> {
        match self.sorting.key {
            "created_at" => Order::Id,
            "updated_at" => Order::Updated,
            other => key(other),
        }
    }

    /// A paginated list request over `ids` (the candidates), in `order`, keeping rows that pass `filter`.
    /// `range_only` as in [`ListSpec::range_only`].
    pub fn spec<'a, R>(
        &'a self,
        ids: Option<Vec<i64>>,
        order: Order<'a, R>,
        filter: FilterFn<'a, R>,
        range_only: bool,
    ) -> ListSpec<'a, R> {
        ListSpec {
            ids,
            updated: self.updated.as_ref(),
            order,
            ascending: self.sorting.ascending,
            filter,
            paging: self.paging,
            paginate: true,
            range_only,
        }
    }

    /// Runs `spec` over `table` and renders the page with `render_one` into the list envelope (with
    /// `paging` metadata).
    pub fn respond<R: Timestamped>(
        &self,
        table: &Table<R>,
        spec: ListSpec<'_, R>,
        filtering: &Filtering,
        render_one: impl FnMut(i64, &mut String) -> bool,
    ) -> String {
        let page = list::run(table, spec);
        let records = render_page(&page.ids, render_one);
        envelope::list(filtering, Some((&self.paging, &page)), &self.sorting, &records)
    }
}

/// `GET /v2/<resource>/{id}`: the record `render` writes (into a buffer of `capacity`), or 404 when it
/// reports there is none.
pub fn get_one(capacity: usize, render: impl FnOnce(&mut String) -> bool) -> Result<String, ApiError> {
    let mut out = String::with_capacity(capacity);
    if !render(&mut out) {
        return Err(ApiError::NotFound);
    }
    Ok(envelope::single(&out))
}

/// A write's answer: the record `render` writes, announced as `event_type`.
pub fn written(
    capacity: usize,
    event_type: &'static str,
    render: impl FnOnce(&mut String) -> bool,
) -> Result<Outcome, ApiError> {
    let mut record = String::with_capacity(capacity);
    render(&mut record);
    Ok(Outcome::with_event(envelope::single(&record), event_type, record))
}

/// The event of a delete: the record as it was, rendered before it goes; `None` when there is none (a
/// delete is then a 204 with no event).
pub fn deleted_event(
    capacity: usize,
    event_type: &'static str,
    render: impl FnOnce(&mut String) -> bool,
) -> Option<Event> {
    let mut record = String::with_capacity(capacity);
    render(&mut record).then_some(Event { event_type, body: record })
}

/// Renders row `id` of `table` with `render` into `out`; `false` when there is no such row.
#[inline]
pub fn render_row<R: Timestamped>(
    table: &Table<R>,
    id: i64,
    out: &mut String,
    render: impl FnOnce(&R, &mut String),
) -> bool {
    let Some(row) = table.get(id) else {
        return false;
    };
    render(row, out);
    true
}
