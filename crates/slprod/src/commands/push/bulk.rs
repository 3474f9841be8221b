//! The bulk path of `slprod push people` (`--bulk`, or `--bulk auto` from [`AUTO_THRESHOLD`] rows): every row
//! of the file goes through one `person/upsert` bulk job ([`salesloft_client::bulk_upsert`]), journaled in
//! the store by [`BulkLedger`] under the run id, so a rerun after a crash resumes the same job and uploads no
//! chunk twice. The report is the row-by-row path's: one outcome per row, failures with their line.
//!
//! The whole file is held in memory for the plan (one record per email, last row winning): a row and its
//! record take about 1.5 kB, so 100 000 rows take ≈ 150 MB, plus the store's and the client's own.

use salesloft_client::bulk_upsert::{BulkResults, BulkRow, BulkUpsertConfig, bulk_upsert_people_streamed};
use salesloft_client::{Client, Error};
use salesloft_store::Store;
use salesloft_sync::{BulkLedger, RunId};

use super::{BulkMode, PushArgs, PushReport, describe};
use crate::error::CliError;
use crate::input::{InputFormat, Row};

/// Rows from which `--bulk auto` takes the bulk path. Row by row costs ≈ 1.01 per row; a bulk job costs
/// ⌈N/5 000⌉ + 2 + polls + ⌈N/100⌉ (FACTS.md §12, costs unconfirmed), so bulk is cheaper from a few dozen
/// rows. Below 1 000 rows, though, row by row still fits in two minutes of the 600/min budget, reports as
/// each row lands, skips unchanged rows, and does not wait for SalesLoft to process a job; from 1 000 rows
/// the budget saved (≈ 990 of 1 010) outweighs that.
pub const AUTO_THRESHOLD: usize = 1_000;

/// The rows of the input, and which path takes them.
pub enum Rows {
    /// Every row, for the bulk path.
    Bulk(Vec<Row>),
    /// The row-by-row path: rows already read, then the rest of the input.
    RowByRow {
        /// Rows read while deciding.
        buffered: Vec<Row>,
        /// The rest, still to read.
        rest: Box<dyn Iterator<Item = Result<Row, String>>>,
    },
}

/// Reads the input as far as needed to choose the path (`--bulk auto`: up to the threshold); the bulk path
/// reads it all.
pub fn take_bulk_rows(
    format: InputFormat,
    file: impl std::io::Read + Send + 'static,
    args: &PushArgs,
) -> Result<Rows, CliError> {
    let mut rows = crate::input::rows(format, file, args.max_line_bytes).map_err(CliError::Input)?;
    let mut buffered = Vec::new();
    let bulk = match args.bulk {
        BulkMode::Off => false,
        BulkMode::On => true,
        BulkMode::Auto => {
            for row in rows.by_ref() {
                buffered.push(row.map_err(CliError::Input)?);
                if buffered.len() >= args.bulk_threshold.max(1) {
                    break;
                }
            }
            buffered.len() >= args.bulk_threshold.max(1)
        }
    };
    if !bulk {
        return Ok(Rows::RowByRow { buffered, rest: rows });
    }
    for row in rows {
        buffered.push(row.map_err(CliError::Input)?);
    }
    Ok(Rows::Bulk(buffered))
}

/// Pushes `rows` through one bulk job and fills `report`; returns who paused the run and why, if the pause
/// switch stopped it.
pub async fn push(
    client: &Client,
    store: &Store,
    run: &RunId,
    rows: Vec<Row>,
    args: &PushArgs,
    report: &mut PushReport,
) -> Result<Option<(String, String)>, CliError> {
    let mut people = Vec::with_capacity(rows.len());
    for row in rows {
        report.rows += 1;
        match row {
            Row::Person { line, input } => {
                people.push(BulkRow { index: usize::try_from(line).unwrap_or(usize::MAX), input: *input })
            }
            Row::Bad { line, email, reason } => report.fail(line, email, reason),
        }
    }
    let journal = BulkLedger::new(store.clone(), run.clone(), "slprod push", args.lock_ttl);
    let config = BulkUpsertConfig {
        chunk_size: args.bulk_chunk,
        job_name: journal.job_name(),
        // The report only counts rows: the people themselves would hold ≈ 3 kB each.
        keep_people: false,
        results: match args.bulk_results {
            super::BulkResultsArg::Every => BulkResults::Every,
            super::BulkResultsArg::Failures => BulkResults::FailuresOnly,
        },
        ..BulkUpsertConfig::default()
    };
    // Which rows were planned, to find those the run did not finish.
    let planned: Vec<(u64, Option<String>)> = people
        .iter()
        .map(|row| (row.index as u64, row.input.email_address.as_deref().map(|e| e.trim().to_string())))
        .collect();
    // Outcomes are counted as they come, not kept: a kept outcome holds ≈ 1.5 kB.
    let mut finished = std::collections::HashSet::with_capacity(planned.len());
    let mut count = |row: salesloft_client::UpsertOutcome| {
        finished.insert(row.index as u64);
        report.count(row.index as u64, row.email, row.result);
    };
    let outcome = bulk_upsert_people_streamed(client, people, &config, &journal, &mut count).await.map_err(
        |error| match error {
            Error::Construction { reason } => CliError::Input(reason),
            other => CliError::Input(format!("the bulk push could not start: {}", describe(&other))),
        },
    )?;
    tracing::info!(job = ?outcome.job.map(|j| j.0), calls = outcome.calls.total(), "bulk push: {:?}", outcome.calls);
    report.bulk_job = outcome.job.map(|job| job.0);
    let mut paused_by = None;
    for (line, email) in planned.into_iter().filter(|(line, _)| !finished.contains(line)) {
        match &outcome.stopped {
            Some(Error::Paused { by, reason }) => {
                report.paused += 1;
                paused_by.get_or_insert((by.clone(), reason.clone()));
            }
            Some(error) => report.fail(
                line,
                email,
                format!("the bulk job did not finish: {} (run the same push again to resume it)", describe(error)),
            ),
            None => report.fail(line, email, "no result for this row in the bulk job".to_string()),
        }
    }
    Ok(paused_by)
}
