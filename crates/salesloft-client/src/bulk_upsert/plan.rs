//! The pure part of a bulk upsert: input rows → one record per email → chunks of at most 5 000 records.
//!
//! Rows that share an email (trimmed, case-insensitive, as in [`crate::upsert`]) become **one** record: their
//! fields are merged in file order, a later row's value replacing an earlier one's, so the person ends as the
//! row-by-row path leaves it (each row applied in turn, the last row winning on every field it sets). One
//! record per email also keeps a job from holding two creates of one new email, which SalesLoft might apply
//! concurrently (its processing order inside a job is unconfirmed, FACTS.md §12). A row without an email
//! is not uploaded; it fails on its own, as in the row-by-row path.

use std::collections::HashMap;
use std::ops::Range;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::Error;
use crate::api::bulk_jobs::MAX_RECORDS_PER_UPLOAD;
use crate::models::{PersonInput, UpsertKey};

/// One input row: its index (the row-by-row path's index: the line number in `slprod push`) and its input.
#[derive(Debug, Clone)]
pub struct BulkRow {
    /// The row's index, kept in every outcome and ledger key.
    pub index: usize,
    /// The person fields.
    pub input: PersonInput,
}

/// One record of the job: every row of one email, merged.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRecord {
    /// The normalized email (the record's marker: unique inside a plan, so a record read back from
    /// `job_data` or `results` names its rows).
    pub email: String,
    /// Positions in the plan's rows of the rows merged into this record, in input order (the last won).
    pub rows: Vec<usize>,
    /// The body uploaded: the merged fields plus `upsert_key: email_address`.
    pub body: Value,
}

/// Where one chunk sits in the plan: the records it uploads and the input rows they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChunkSpan {
    /// Records of the plan in this chunk (`start..end`).
    pub records: Range<usize>,
    /// The smallest row index merged into the chunk.
    pub first_row: usize,
    /// The largest row index merged into the chunk.
    pub last_row: usize,
}

/// The whole plan: records in first-appearance order, chunked.
#[derive(Debug, Clone)]
pub struct BulkPlan {
    rows: Vec<BulkRow>,
    records: Vec<PlannedRecord>,
    chunks: Vec<ChunkSpan>,
    /// Positions (in `rows`) of rows without an email: never uploaded.
    without_email: Vec<usize>,
}

impl BulkPlan {
    /// Plans `rows` in chunks of `chunk_size` records. A chunk size of 0 or above 5 000 is refused (FACTS.md
    /// §12: "Up to 5 000 records per job_data call"): nothing would be sent.
    pub fn new(rows: Vec<BulkRow>, chunk_size: usize) -> Result<Self, Error> {
        if chunk_size == 0 || chunk_size > MAX_RECORDS_PER_UPLOAD {
            return Err(Error::Construction {
                reason: format!(
                    "a bulk chunk holds 1 to {MAX_RECORDS_PER_UPLOAD} records (FACTS.md §12), got {chunk_size}"
                ),
            });
        }
        let mut records: Vec<PlannedRecord> = Vec::new();
        let mut merged: Vec<Map<String, Value>> = Vec::new();
        let mut by_email: HashMap<String, usize> = HashMap::new();
        let mut without_email = Vec::new();
        for (position, row) in rows.iter().enumerate() {
            let Some(email) = row.input.normalized_email() else {
                without_email.push(position);
                continue;
            };
            let fields = match serde_json::to_value(&row.input) {
                Ok(Value::Object(fields)) => fields,
                _ => Map::new(),
            };
            match by_email.get(&email) {
                Some(&slot) => {
                    records[slot].rows.push(position);
                    merged[slot].extend(fields);
                }
                None => {
                    by_email.insert(email.clone(), records.len());
                    records.push(PlannedRecord { email, rows: vec![position], body: Value::Null });
                    merged.push(fields);
                }
            }
        }
        for (record, mut fields) in records.iter_mut().zip(merged) {
            fields.insert("upsert_key".to_string(), UpsertKey::EmailAddress.as_str().into());
            record.body = Value::Object(fields);
        }
        let chunks = (0..records.len())
            .step_by(chunk_size)
            .map(|start| {
                let end = (start + chunk_size).min(records.len());
                let indexes = records[start..end].iter().flat_map(|r| r.rows.iter().map(|&p| rows[p].index));
                let (first_row, last_row) =
                    indexes.fold((usize::MAX, 0), |(lo, hi), index| (lo.min(index), hi.max(index)));
                ChunkSpan { records: start..end, first_row, last_row }
            })
            .collect();
        Ok(Self { rows, records, chunks, without_email })
    }

    /// The input rows, as given.
    pub fn rows(&self) -> &[BulkRow] {
        &self.rows
    }

    /// The records to upload, in upload order.
    pub fn records(&self) -> &[PlannedRecord] {
        &self.records
    }

    /// The chunks, in upload order.
    pub fn chunks(&self) -> &[ChunkSpan] {
        &self.chunks
    }

    /// Positions (in [`BulkPlan::rows`]) of rows without an email.
    pub fn without_email(&self) -> &[usize] {
        &self.without_email
    }

    /// The bodies of chunk `k`.
    pub fn chunk_bodies(&self, k: usize) -> Vec<Value> {
        self.chunks
            .get(k)
            .map(|span| self.records[span.records.clone()].iter().map(|r| r.body.clone()).collect())
            .unwrap_or_default()
    }

    /// How many records precede chunk `k` (what the job holds once chunks `0..k` landed).
    pub fn records_before(&self, k: usize) -> usize {
        self.chunks.get(k).map_or(self.records.len(), |span| span.records.start)
    }
}

/// Whether the emails read back from a job's `job_data` (in upload order) show that chunks `0..k` landed
/// and whether chunk `k` did too. Pure: the reconcile step of a chunk whose upload is in doubt.
///
/// Uploads are whole chunks and SalesLoft stores an upload atomically or not at all (assumed: the simulator
/// does; FACTS.md §12 does not say), so the job holds either the records before chunk `k` or those plus all
/// of chunk `k`. Anything else means the job was changed by someone else: refuse rather than guess.
pub fn chunk_landed(plan: &BulkPlan, k: usize, uploaded: &[Option<String>]) -> Result<bool, String> {
    let Some(span) = plan.chunks().get(k) else {
        return Err(format!("the plan has no chunk {k}"));
    };
    let before = span.records.start;
    let with = span.records.end;
    let expected = |n: usize| plan.records()[..n].iter().map(|r| Some(r.email.as_str()));
    let seen = || uploaded.iter().map(Option::as_deref);
    if uploaded.len() == before && seen().eq(expected(before)) {
        return Ok(false);
    }
    if uploaded.len() == with && seen().eq(expected(with)) {
        return Ok(true);
    }
    Err(format!(
        "the job holds {} records that do not match the plan (expected the {before} records before chunk {} or \
         the {with} records through it); refusing to upload again",
        uploaded.len(),
        k + 1
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(index: usize, input: PersonInput) -> BulkRow {
        BulkRow { index, input }
    }

    #[test]
    fn rows_of_one_email_merge_in_file_order_and_the_last_row_wins() {
        let rows = vec![
            row(2, PersonInput::with_email("Ada@Example.com").first_name("Ada").title("Engineer")),
            row(3, PersonInput::with_email("bob@example.com")),
            row(4, PersonInput::with_email(" ada@example.com ").title("CTO")),
            row(5, PersonInput::default().first_name("No email")),
        ];
        let plan = BulkPlan::new(rows, 5_000).expect("plan");
        assert_eq!(plan.records().len(), 2, "one record per email");
        let ada = &plan.records()[0];
        assert_eq!(ada.email, "ada@example.com");
        assert_eq!(ada.rows, vec![0, 2]);
        assert_eq!(ada.body["title"], "CTO", "the later row's value wins");
        assert_eq!(ada.body["first_name"], "Ada", "a value only the earlier row set stays");
        assert_eq!(ada.body["upsert_key"], "email_address");
        assert_eq!(plan.without_email(), &[3]);
    }

    #[test]
    fn chunks_cover_every_record_once_and_name_their_rows() {
        let rows = (0..12).map(|i| row(i + 2, PersonInput::with_email(format!("p{i}@example.com")))).collect();
        let plan = BulkPlan::new(rows, 5).expect("plan");
        let spans: Vec<_> = plan.chunks().iter().map(|c| (c.records.clone(), c.first_row, c.last_row)).collect();
        assert_eq!(spans, vec![(0..5, 2, 6), (5..10, 7, 11), (10..12, 12, 13)]);
        assert_eq!(plan.chunk_bodies(2).len(), 2);
        assert_eq!(plan.records_before(1), 5);
        assert_eq!(plan.records_before(3), 12);
    }

    #[test]
    fn a_chunk_size_over_five_thousand_or_zero_is_refused() {
        for size in [0, 5_001, usize::MAX] {
            match BulkPlan::new(Vec::new(), size) {
                Err(Error::Construction { reason }) => assert!(reason.contains("5000"), "{reason}"),
                other => panic!("chunk size {size}: expected a construction error, got {other:?}"),
            }
        }
        assert!(BulkPlan::new(Vec::new(), 5_000).is_ok());
    }

    #[test]
    fn reconcile_tells_landed_from_not_landed_and_refuses_anything_else() {
        let rows = (0..6).map(|i| row(i, PersonInput::with_email(format!("p{i}@example.com")))).collect();
        let plan = BulkPlan::new(rows, 2).expect("plan");
        let emails = |n: usize| (0..n).map(|i| Some(format!("p{i}@example.com"))).collect::<Vec<_>>();
        assert_eq!(chunk_landed(&plan, 1, &emails(2)), Ok(false), "only chunk 0 is there");
        assert_eq!(chunk_landed(&plan, 1, &emails(4)), Ok(true), "chunk 1 landed");
        assert_eq!(chunk_landed(&plan, 0, &emails(0)), Ok(false));
        assert!(chunk_landed(&plan, 1, &emails(3)).is_err(), "half a chunk");
        assert!(chunk_landed(&plan, 1, &emails(6)).is_err(), "more than the chunk");
        let mut swapped = emails(4);
        swapped.swap(2, 3);
        assert!(chunk_landed(&plan, 1, &swapped).is_err(), "other records");
        assert!(chunk_landed(&plan, 9, &emails(0)).is_err(), "no such chunk");
    }
}
