//! Running a list request over a [`Table`]: pick the cheapest driving order, filter lazily, skip to the page,
//! and stop one record past it (to know `next_page`) unless paging counts were asked for.

use crate::clock::Micros;
use crate::query::{Paging, TimeRange};
use crate::table::{Table, Timestamped};

/// A value records are sorted by. `None` sorts first ascending and last descending, which is exactly
/// SalesLoft's `ASC NULLS FIRST` / `DESC NULLS LAST` (FACTS.md §4.1).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortValue {
    /// Integers and timestamps.
    Int(i64),
    /// Text, compared case-insensitively.
    Text(String),
}

/// A sort key computed from a row.
pub type KeyFn<'a, R> = Box<dyn Fn(i64, &R) -> Option<SortValue> + 'a>;

/// A filter over rows.
pub type FilterFn<'a, R> = Box<dyn Fn(i64, &R) -> bool + 'a>;

/// How a list is ordered.
pub enum Order<'a, R> {
    /// By id (also `created_at`, which grows with id).
    Id,
    /// By `(updated_at, id)`, through the index.
    Updated,
    /// By any other key; every match is collected and sorted.
    Key(KeyFn<'a, R>),
}

/// One list request.
pub struct ListSpec<'a, R> {
    /// Only these ids (the `ids` filter, or ids resolved from an email filter).
    pub ids: Option<Vec<i64>>,
    /// The `updated_at` range, used to bound the index walk (and still checked by `filter`).
    pub updated: Option<&'a TimeRange>,
    /// The order.
    pub order: Order<'a, R>,
    /// `ASC` (true) or `DESC`.
    pub ascending: bool,
    /// Every other filter.
    pub filter: FilterFn<'a, R>,
    /// Paging.
    pub paging: Paging,
    /// `false` for lists that are not paginated (users without `page`): every match is returned.
    pub paginate: bool,
    /// No filter but the `updated_at` range applies (and no id set): a paging count is then the size of the
    /// index range, counted without looking rows up (windowed keyset walks ask for a count on every page).
    pub range_only: bool,
}

/// The ids of one page and what the metadata needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// Ids on this page, in order.
    pub ids: Vec<i64>,
    /// Whether a record exists past this page.
    pub has_more: bool,
    /// Total matches, when paging counts were asked for.
    pub total: Option<u64>,
}

/// Runs a list request.
pub fn run<R: Timestamped>(table: &Table<R>, spec: ListSpec<'_, R>) -> ListPage {
    let ListSpec { ids, updated, order, ascending, filter, paging, paginate, range_only } = spec;
    let offset = if paginate { paging.offset() } else { 0 };
    let limit = if paginate { paging.per_page } else { u64::MAX };
    let count_all = paging.include_counts;
    let matches = |id: i64| table.get(id).filter(|row| filter(id, row)).map(|row| (id, row));

    // Orders that need every match in hand: an explicit id set, or a key without an index.
    let collected: Option<Vec<i64>> = match (&ids, &order) {
        (Some(wanted), _) => {
            let mut unique = wanted.clone();
            unique.sort_unstable();
            unique.dedup();
            let rows: Vec<(i64, &R)> = unique.into_iter().filter_map(matches).collect();
            Some(sort_rows(rows, &order, ascending))
        }
        (None, Order::Key(_)) => {
            let rows: Vec<(i64, &R)> = table.by_id(true).filter(|(id, row)| filter(*id, row)).collect();
            Some(sort_rows(rows, &order, ascending))
        }
        _ => None,
    };
    if let Some(all) = collected {
        let total = all.len() as u64;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
        let end = usize::try_from(offset.saturating_add(limit)).unwrap_or(usize::MAX).min(all.len());
        return ListPage { ids: all[start..end].to_vec(), has_more: (end as u64) < total, total: Some(total) };
    }

    let (lower, upper) = updated.map_or((Micros::MIN, Micros::MAX), |range| (range.lower(), range.upper()));
    let index_counts = range_only && matches!(order, Order::Updated);
    let driver: Box<dyn Iterator<Item = i64> + '_> = match order {
        Order::Updated => table.by_updated(lower, upper, ascending),
        _ => Box::new(table.by_id(ascending).map(|(id, _)| id)),
    };
    let mut page = Vec::new();
    let mut seen: u64 = 0;
    let mut has_more = false;
    for id in driver.filter(|id| matches(*id).is_some()) {
        if seen >= offset && seen < offset.saturating_add(limit) {
            page.push(id);
        } else if seen >= offset.saturating_add(limit) {
            has_more = true;
            if !count_all || index_counts {
                break;
            }
        }
        seen += 1;
    }
    let total = match (count_all, index_counts) {
        (false, _) => None,
        (true, true) => Some(table.by_updated(lower, upper, true).count() as u64),
        (true, false) => Some(seen),
    };
    ListPage { ids: page, has_more, total }
}

fn sort_rows<R: Timestamped>(mut rows: Vec<(i64, &R)>, order: &Order<'_, R>, ascending: bool) -> Vec<i64> {
    match order {
        Order::Id => rows.sort_by_key(|(id, _)| *id),
        Order::Updated => rows.sort_by_key(|(id, row)| (row.updated_at(), *id)),
        Order::Key(key) => {
            let mut keyed: Vec<(Option<SortValue>, i64)> = rows.iter().map(|(id, row)| (key(*id, row), *id)).collect();
            keyed.sort();
            if !ascending {
                keyed.reverse();
            }
            return keyed.into_iter().map(|(_, id)| id).collect();
        }
    }
    let ids = rows.iter().map(|(id, _)| *id);
    if ascending { ids.collect() } else { ids.rev().collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Row(Micros);
    impl Timestamped for Row {
        fn created_at(&self) -> Micros {
            0
        }
        fn updated_at(&self) -> Micros {
            self.0
        }
    }

    fn table() -> Table<Row> {
        let mut table = Table::default();
        for id in 1..=10 {
            table.put(id, Row(100 - id));
        }
        table
    }

    fn paging(page: u64, per_page: u64, include_counts: bool) -> Paging {
        Paging { page, per_page, page_given: true, include_counts, limit_counts: false }
    }

    #[test]
    fn pages_through_the_updated_index() {
        let table = table();
        let range = TimeRange { gt: Some(92), ..TimeRange::default() };
        let spec = ListSpec {
            ids: None,
            updated: Some(&range),
            order: Order::Updated,
            ascending: true,
            filter: Box::new(|_, row: &Row| range.contains(row.0)),
            paging: paging(1, 3, false),
            paginate: true,
            range_only: false,
        };
        let page = run(&table, spec);
        assert_eq!(page, ListPage { ids: vec![7, 6, 5], has_more: true, total: None });
    }

    #[test]
    fn a_range_only_count_comes_from_the_index_and_matches_the_filtered_count() {
        let table = table();
        let range = TimeRange { gte: Some(91), lte: Some(97), ..TimeRange::default() };
        for range_only in [true, false] {
            let spec = ListSpec {
                ids: None,
                updated: Some(&range),
                order: Order::Updated,
                ascending: true,
                filter: Box::new(|_, row: &Row| range.contains(row.0)),
                paging: paging(2, 2, true),
                paginate: true,
                range_only,
            };
            assert_eq!(run(&table, spec), ListPage { ids: vec![7, 6], has_more: true, total: Some(7) });
        }
    }

    #[test]
    fn ids_filter_with_counts_and_past_end() {
        let table = table();
        let spec = ListSpec {
            ids: Some(vec![3, 1, 99, 3]),
            updated: None,
            order: Order::Id,
            ascending: false,
            filter: Box::new(|_, _: &Row| true),
            paging: paging(1, 25, true),
            paginate: true,
            range_only: false,
        };
        assert_eq!(run(&table, spec), ListPage { ids: vec![3, 1], has_more: false, total: Some(2) });
        let spec = ListSpec {
            ids: None,
            updated: None,
            order: Order::Id,
            ascending: true,
            filter: Box::new(|_, _: &Row| true),
            paging: paging(5, 25, true),
            paginate: true,
            range_only: false,
        };
        assert_eq!(run(&table, spec), ListPage { ids: vec![], has_more: false, total: Some(10) });
    }
}
