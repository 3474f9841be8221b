//! Response envelopes (FACTS.md §5.1, §4.2): `{"data": {...}}` for one record and
//! `{"metadata": {"filtering", "paging", "sorting"}, "data": [...]}` for lists.

use crate::json::{ObjectWriter, push_str};
use crate::list::ListPage;
use crate::query::{Paging, Sorting, TimeRange};

/// `metadata.filtering`: the filters that were applied, echoed as given.
#[derive(Debug, Default)]
pub struct Filtering {
    fields: Vec<(String, String)>,
}

impl Filtering {
    /// Echoes an array filter.
    pub fn list(&mut self, name: &str, values: Option<&Vec<String>>) {
        if let Some(values) = values {
            let mut raw = String::from("[");
            for (index, value) in values.iter().enumerate() {
                if index > 0 {
                    raw.push(',');
                }
                push_str(&mut raw, value);
            }
            raw.push(']');
            self.fields.push((name.to_owned(), raw));
        }
    }

    /// Echoes a time-range filter as `{"gt": "<as given>", …}`.
    pub fn time(&mut self, name: &str, range: Option<&TimeRange>) {
        if let Some(range) = range {
            let mut raw = String::new();
            let mut object = ObjectWriter::new(&mut raw);
            for (op, text) in &range.echo {
                object.str(op, Some(text));
            }
            object.finish();
            self.fields.push((name.to_owned(), raw));
        }
    }

    /// Echoes a filter already rendered as JSON (`id` → `{"gt":"123"}`).
    pub fn raw(&mut self, name: &str, raw: String) {
        self.fields.push((name.to_owned(), raw));
    }

    /// Echoes a scalar filter (booleans, single ids) as given.
    pub fn scalar(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            let mut raw = String::new();
            push_str(&mut raw, value);
            self.fields.push((name.to_owned(), raw));
        }
    }
}

/// `{"data": <record>}`.
pub fn single(record: &str) -> String {
    let mut out = String::with_capacity(record.len() + 10);
    out.push_str("{\"data\":");
    out.push_str(record);
    out.push('}');
    out
}

/// A list body. `paging` is `None` for lists that are not paginated (`/v2/users` without `page`).
pub fn list(
    filtering: &Filtering,
    paging: Option<(&Paging, &ListPage)>,
    sorting: &Sorting,
    records: &[String],
) -> String {
    let capacity = records.iter().map(String::len).sum::<usize>() + 256;
    let mut out = String::with_capacity(capacity);
    let mut body = ObjectWriter::new(&mut out);
    body.object("metadata", |metadata| {
        metadata.object("filtering", |object| {
            for (name, raw) in &filtering.fields {
                object.raw(name, raw);
            }
        });
        if let Some((paging, page)) = paging {
            metadata.object("paging", |object| {
                object
                    .int("per_page", Some(paging.per_page as i64))
                    .int("current_page", Some(paging.page as i64))
                    .int("next_page", page.has_more.then(|| (paging.page as i64).saturating_add(1)))
                    .int("prev_page", (paging.page > 1).then(|| paging.page as i64 - 1));
                if paging.include_counts {
                    // FACTS.md §4.1: `limit_paging_counts` caps the counts at 10 000 records.
                    let mut total = page.total.unwrap_or(page.ids.len() as u64);
                    if paging.limit_counts {
                        total = total.min(10_000);
                    }
                    object
                        .int("total_pages", Some(total.div_ceil(paging.per_page) as i64))
                        .int("total_count", Some(total as i64));
                }
            });
        }
        metadata.object("sorting", |object| {
            // FACTS.md §4.1: echoed as "DESC NULLS LAST"; the ASC form is assumed symmetric.
            let direction = if sorting.ascending { "ASC NULLS FIRST" } else { "DESC NULLS LAST" };
            object.str("sort_by", Some(sorting.key)).str("sort_direction", Some(direction));
        });
    });
    // The records are appended directly: `{"metadata":{…},"data":[…]}`.
    out.push_str(",\"data\":[");
    for (index, record) in records.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(record);
    }
    out.push_str("]}");
    out
}
