//! [`Table`]: records of one resource by id, with an `(updated_at, id)` index.
//!
//! The index makes the poller SalesLoft recommends (FACTS.md §4.5:
//! `sort_by=updated_at&sort_direction=ASC&updated_at[gt]=X`) cost O(page), not O(table), even with a million
//! seeded people.

use std::collections::{BTreeMap, BTreeSet};

use crate::clock::Micros;

/// What a table needs to know of its rows.
pub trait Timestamped {
    /// `created_at`, microseconds.
    fn created_at(&self) -> Micros;
    /// `updated_at`, microseconds.
    fn updated_at(&self) -> Micros;
}

/// Implements [`Timestamped`] for records that keep their stamps in `created_at` and `updated_at` fields.
macro_rules! timestamped {
    ($($record:ty),+ $(,)?) => {
        $(
            impl $crate::table::Timestamped for $record {
                fn created_at(&self) -> $crate::clock::Micros {
                    self.created_at
                }
                fn updated_at(&self) -> $crate::clock::Micros {
                    self.updated_at
                }
            }
        )+
    };
}
pub(crate) use timestamped;

/// Rows by id plus the `updated_at` index.
#[derive(Debug, Clone)]
pub struct Table<R> {
    rows: BTreeMap<i64, R>,
    by_updated: BTreeSet<(Micros, i64)>,
    next_id: i64,
}

impl<R> Default for Table<R> {
    fn default() -> Self {
        Self { rows: BTreeMap::new(), by_updated: BTreeSet::new(), next_id: 1 }
    }
}

impl<R: Timestamped> Table<R> {
    /// Inserts or replaces a row under `id`.
    pub fn put(&mut self, id: i64, row: R) {
        self.by_updated.insert((row.updated_at(), id));
        if let Some(old) = self.rows.insert(id, row) {
            let old_key = (old.updated_at(), id);
            if self.rows.get(&id).is_some_and(|new| new.updated_at() != old_key.0) {
                self.by_updated.remove(&old_key);
            }
        }
        self.next_id = self.next_id.max(id.saturating_add(1));
    }

    /// Takes an id for a new row.
    pub fn allocate_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        id
    }

    /// Removes a row.
    pub fn remove(&mut self, id: i64) -> Option<R> {
        let row = self.rows.remove(&id)?;
        self.by_updated.remove(&(row.updated_at(), id));
        Some(row)
    }

    /// One row.
    pub fn get(&self, id: i64) -> Option<&R> {
        self.rows.get(&id)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows in id order, ascending or descending.
    pub fn by_id(&self, ascending: bool) -> Box<dyn Iterator<Item = (i64, &R)> + '_> {
        let iter = self.rows.iter().map(|(id, row)| (*id, row));
        if ascending { Box::new(iter) } else { Box::new(iter.rev()) }
    }

    /// Ids in `(updated_at, id)` order within `[lower, upper]`, ascending or descending.
    pub fn by_updated(&self, lower: Micros, upper: Micros, ascending: bool) -> Box<dyn Iterator<Item = i64> + '_> {
        if lower > upper {
            return Box::new(std::iter::empty());
        }
        let range = self.by_updated.range((lower, i64::MIN)..=(upper, i64::MAX)).map(|(_, id)| *id);
        if ascending { Box::new(range) } else { Box::new(range.rev()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone)]
    struct Row(Micros);
    impl Timestamped for Row {
        fn created_at(&self) -> Micros {
            0
        }
        fn updated_at(&self) -> Micros {
            self.0
        }
    }

    #[test]
    fn index_follows_updates_and_removes() {
        let mut table = Table::default();
        table.put(1, Row(30));
        table.put(2, Row(10));
        table.put(3, Row(20));
        table.put(2, Row(40));
        assert_eq!(table.by_updated(i64::MIN, i64::MAX, true).collect::<Vec<_>>(), vec![3, 1, 2]);
        assert_eq!(table.by_updated(15, 35, false).collect::<Vec<_>>(), vec![1, 3]);
        table.remove(1);
        assert_eq!(table.by_updated(i64::MIN, i64::MAX, true).collect::<Vec<_>>(), vec![3, 2]);
        assert_eq!(table.allocate_id(), 4);
    }
}
