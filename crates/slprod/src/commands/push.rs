//! `slprod push people --from FILE.csv|FILE.jsonl`: upsert people by email and report, row by row, what
//! happened. A bad row (malformed CSV, missing email, invalid JSON line, value of the wrong type) fails on
//! its own; the others go on. Rows are read and sent in chunks of 100 (one lookup per chunk).
//!
//! Every row goes through the store's idempotency ledger, a per-email lock that holds across processes, and
//! the hash-chained audit log (`salesloft-sync`). A run is identified by the input file's content (or
//! `--run-id`): rerunning an interrupted push of the same file resumes it — finished rows replay their
//! recorded result, rows whose mutation was in doubt are looked up by email before anything is sent again.
//! Pushing an identical file again within the key retention (24 h) therefore sends only the lookups; pass a
//! new `--run-id` to apply it afresh. A rerun right after a crash does not wait for the dead process's leases
//! when it ran on this host (its pid is gone); a live holder's lease is waited out with a log line. Rows that
//! failed for a transient reason are tried again; permanent failures (422, 409) are replayed unless
//! `--retry-failed`. A paused store (the rollback switch) refuses the push.
//!
//! With `--bulk` (or `--bulk auto`, the default, once the file holds at least `--bulk-threshold` rows, 1 000 by
//! default) the rows go through one SalesLoft bulk job instead ([`bulk`]): ⌈N/5 000⌉ uploads plus a few job
//! calls and ⌈N/100⌉ result pages instead of ≈ 1.01 per row (FACTS.md §12), with the same ledger, audit
//! log, pause switch, per-row report and crash safety. Below the threshold the row-by-row path is kept: it
//! waits for no job, and skips rows whose person already has every value.
//!
//! The CSV and JSON-lines formats are described in [`crate::input`]. Row numbers in the report are line numbers
//! of the file.

mod bulk;

use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use salesloft_client::api::Upserted;
use salesloft_client::models::PersonInput;
use salesloft_client::upsert::{UpsertConfig, upsert_chunk_journaled};
use salesloft_client::{Client, Error};
use salesloft_sync::{JournalConfig, LedgerJournal, RunId};
use serde::Serialize;

use super::Context;
use crate::connect::{ConnectArgs, StoreArgs};
use crate::error::{CliError, Outcome, Status};
use crate::input::{InputFormat, Row};
use crate::output::OutputFormat;

/// Rows sent per lookup.
const CHUNK: usize = 100;

/// Arguments of `slprod push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// What to push.
    #[arg(value_enum)]
    pub resource: PushResource,
    /// Input file: `.csv` (header row) or `.jsonl` / `.ndjson` (one object per line).
    #[arg(long)]
    pub from: PathBuf,
    /// Input format; guessed from the file extension when absent.
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// Where and how to connect.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Summary format on standard output: an older spelling of the global `--output`.
    #[arg(long, value_enum)]
    pub report: Option<OutputFormat>,
    /// Writes in flight at once (the rate budget paces them).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// The store of the idempotency ledger, locks and audit log, and the audit chain's key.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Run id (letters, digits, `.`, `_`, `-`); default: derived from the input file's content, so rerunning
    /// the same file resumes it.
    #[arg(long)]
    pub run_id: Option<String>,
    /// How long a row's email lock and ledger lease last; rows left by a process that died are taken over
    /// after this. From 1s to 24h (bounded so lease arithmetic cannot overflow).
    #[arg(
        long,
        default_value = "90s",
        value_parser = crate::limits::duration_between(Duration::from_secs(1), Duration::from_secs(24 * 3600))
    )]
    pub lock_ttl: Duration,
    /// How long a row waits for another live process to release its email lock or ledger lease before it is
    /// reported as not done (a rerun tries it again); default: 4/3 of `--lock-ttl`. Leases of a process on
    /// this host that is gone (killed, crashed) are taken over at once, without waiting. At most 24h.
    #[arg(long, value_parser = crate::limits::duration_between(Duration::ZERO, Duration::from_secs(24 * 3600)))]
    pub lock_wait: Option<Duration>,
    /// Also send rows again that failed permanently (422 validation, 409 conflict) earlier in this run. Rows
    /// that failed for a transient reason (network, 5xx, timeout, lease, budget) are always tried again.
    #[arg(long)]
    pub retry_failed: bool,
    /// The longest input line (JSON lines) or record (CSV) accepted, in bytes. A longer JSON line fails as its
    /// own row; a longer CSV record stops the push (the reader cannot tell where it ends without reading it).
    #[arg(long, default_value_t = crate::limits::DEFAULT_MAX_LINE_BYTES, value_parser = clap::value_parser!(usize))]
    pub max_line_bytes: usize,
    /// Push through one SalesLoft bulk job: `on` (what a bare `--bulk` means), `off` (row by row), or `auto`
    /// (bulk once the file holds at least `--bulk-threshold` rows).
    #[arg(long, value_enum, default_value_t = BulkMode::Auto, num_args = 0..=1, default_missing_value = "on")]
    pub bulk: BulkMode,
    /// Rows from which `--bulk auto` takes the bulk path. Below it, row by row costs under ≈ 1 000 of the
    /// 600/min budget and needs no job to finish.
    #[arg(long, default_value_t = bulk::AUTO_THRESHOLD)]
    pub bulk_threshold: usize,
    /// Records per bulk upload, 1 to 5 000 (SalesLoft's limit per job_data call, FACTS.md §12).
    #[arg(long, default_value_t = salesloft_client::api::bulk_jobs::MAX_RECORDS_PER_UPLOAD)]
    pub bulk_chunk: usize,
    /// Which bulk results are read: `every` row's (created or updated, ⌈rows/100⌉ calls), or only the
    /// `failures` (⌈failures/100⌉ calls; the other rows are reported as applied). 100 000 rows cost about 1 031
    /// with `every` and about 32 with `failures`.
    #[arg(long, value_enum, default_value_t = BulkResultsArg::Every)]
    pub bulk_results: BulkResultsArg,
}

/// `--bulk-results`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BulkResultsArg {
    /// Every row's result.
    Every,
    /// Only the failed rows' results.
    Failures,
}

/// Whether `slprod push` uses a bulk job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BulkMode {
    /// Bulk from `--bulk-threshold` rows.
    Auto,
    /// Always bulk.
    On,
    /// Always row by row.
    Off,
}

/// Resources `slprod push` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PushResource {
    /// People, upserted by email address.
    People,
}

/// One failed row.
#[derive(Debug, Clone, Serialize)]
pub struct FailedRow {
    /// Line number in the input file.
    pub row: u64,
    /// The row's email, when it had one.
    pub email: Option<String>,
    /// Why it failed.
    pub reason: String,
}

/// The summary of a push.
#[derive(Debug, Default, Serialize)]
pub struct PushReport {
    /// Rows read (including bad ones).
    pub rows: u64,
    /// People created.
    pub created: u64,
    /// People updated.
    pub updated: u64,
    /// People that already had every value (nothing sent).
    pub unchanged: u64,
    /// Rows a bulk job applied without error whose result rows were not read (`--bulk-results failures`):
    /// created or updated, not known which.
    #[serde(skip_serializing_if = "is_zero")]
    pub applied: u64,
    /// Rows that failed.
    pub failed: u64,
    /// Rows left unsent because the pause switch was turned on during the push (a rerun finishes them).
    pub paused: u64,
    /// Each failed row, in file order.
    pub failures: Vec<FailedRow>,
    /// The SalesLoft bulk job the rows went through (bulk path only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bulk_job: Option<i64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl PushReport {
    fn fail(&mut self, row: u64, email: Option<String>, reason: String) {
        self.failed += 1;
        self.failures.push(FailedRow { row, email, reason });
    }

    /// Counts one row's outcome (either path); a row stopped by the pause switch returns who paused and why.
    fn count(&mut self, row: u64, email: Option<String>, result: Result<Upserted, Error>) -> Option<(String, String)> {
        match result {
            Ok(Upserted::Created(_)) => self.created += 1,
            Ok(Upserted::Updated(_)) => self.updated += 1,
            Ok(Upserted::Unchanged(_)) => self.unchanged += 1,
            Ok(Upserted::Applied { .. }) => self.applied += 1,
            Err(Error::Paused { by, reason }) => {
                self.paused += 1;
                return Some((by, reason));
            }
            Err(error) => self.fail(row, email, describe(&error)),
        }
        None
    }
}

/// Runs `slprod push`: all rows done (0), some rows failed (1), could not run (2), paused part-way (3).
pub async fn run(args: PushArgs, context: &Context) -> Result<Outcome, CliError> {
    let PushResource::People = args.resource;
    let client = args.connect.client(&context.config)?;
    let result = push(&client, args, context).await;
    crate::connect::save_pending_tokens(&client, result).await
}

/// The push itself, with a connected client.
async fn push(client: &Client, args: PushArgs, context: &Context) -> Result<Outcome, CliError> {
    let format = args.format.or_else(|| InputFormat::guess(&args.from)).ok_or_else(|| {
        CliError::Input(format!("cannot tell the format of {}: pass --format csv|jsonl", args.from.display()))
    })?;
    let file = std::fs::File::open(&args.from)
        .map_err(|e| CliError::Input(format!("cannot open {}: {e}", args.from.display())))?;
    let size = file.metadata().map(|m| m.len()).ok();
    let run = match &args.run_id {
        Some(id) => RunId::new(id).map_err(|e| CliError::Input(e.to_string()))?,
        None => run_id_of(&args.from)?,
    };
    let store = args.store.open(&context.config).await?;
    if let Some(pause) = store.pause().paused().await.map_err(CliError::store("cannot read the pause switch"))? {
        return Err(CliError::PausedAtStart { by: pause.by, reason: pause.reason });
    }
    // Expired keys and deliveries go first (retention: keys 24 h, deliveries 7 days); a failure only delays it.
    match store.reap().await {
        Ok(reaped) if reaped.ledger_keys + reaped.inbox_rows > 0 => tracing::info!(
            ledger_keys = reaped.ledger_keys,
            inbox_rows = reaped.inbox_rows,
            "reaped expired store rows"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "could not reap expired store rows; going on"),
    }
    tracing::info!("push run {run} (store {})", store.url());
    let journal = LedgerJournal::new(
        store.clone(),
        run.clone(),
        JournalConfig {
            actor: "slprod push".to_string(),
            lock_ttl: args.lock_ttl,
            lock_wait: args.lock_wait.unwrap_or_else(|| (args.lock_ttl * 4 / 3).max(Duration::from_secs(5))),
            retry_failed: args.retry_failed,
            ..JournalConfig::default()
        },
    );
    let config = UpsertConfig { concurrency: args.concurrency.max(1), ..UpsertConfig::default() };
    let mut report = PushReport::default();
    let progress = context.ui.progress(size, "{bar:30} {bytes}/{total_bytes} read, {msg} ({elapsed})");
    let file = progress.wrap_read(file);
    let mut pusher =
        Pusher { client, config: &config, journal: &journal, pending: Vec::with_capacity(CHUNK), paused_by: None };
    let read = match bulk::take_bulk_rows(format, file, &args) {
        Err(error) => Err(error),
        Ok(bulk::Rows::Bulk(rows)) => {
            progress.set_message(format!("{} rows read; bulk job running", rows.len()));
            bulk::push(client, &store, &run, rows, &args, &mut report).await.map(|paused| pusher.paused_by = paused)
        }
        Ok(bulk::Rows::RowByRow { buffered, rest }) => {
            let read = read_rows(buffered.into_iter().map(Ok).chain(rest), &mut pusher, &mut report, &progress).await;
            if read.is_ok() {
                pusher.flush(&mut report).await;
            }
            read
        }
    };
    progress.finish_and_clear();
    store.close().await;
    read?;
    report.failures.sort_by_key(|f| f.row);
    let status = if report.failed == 0 { Status::Done } else { Status::Problems };
    let json = serde_json::to_value(&report).unwrap_or_default();
    let mut outcome = Outcome::new(status, json, report_text(&report));
    if args.report == Some(OutputFormat::Json) && context.ui.format() == OutputFormat::Text {
        // `--report json` keeps its old meaning: the pretty JSON report in place of the sentences.
        outcome.text = serde_json::to_string_pretty(&report).map(|text| text + "\n").unwrap_or_default();
    }
    if let Some((by, reason)) = pusher.paused_by {
        outcome = outcome.error(CliError::PausedDuringRun { by, reason, unsent: report.paused });
    }
    Ok(outcome)
}

/// Hands every good row to the pusher; an unreadable input stops it.
async fn read_rows(
    rows: impl Iterator<Item = Result<Row, String>>,
    pusher: &mut Pusher<'_>,
    report: &mut PushReport,
    progress: &indicatif::ProgressBar,
) -> Result<(), CliError> {
    for row in rows {
        match row.map_err(CliError::Input)? {
            Row::Person { line, input } => {
                report.rows += 1;
                pusher.push(line, *input, report).await;
            }
            Row::Bad { line, email, reason } => {
                report.rows += 1;
                report.fail(line, email, reason);
            }
        }
        progress.set_message(format!("{} rows, {} failed", report.rows, report.failed));
    }
    Ok(())
}

/// The run id of an input file: a hash of its content (streamed, so a large file is not held in memory).
fn run_id_of(path: &Path) -> Result<RunId, CliError> {
    RunId::for_file(path).map_err(|e| CliError::Input(format!("cannot read {}: {e}", path.display())))
}

struct Pusher<'a> {
    client: &'a Client,
    config: &'a UpsertConfig,
    journal: &'a LedgerJournal,
    pending: Vec<(usize, PersonInput)>,
    /// Set once a row was stopped by the pause switch: the rest of the file is counted, not sent.
    paused_by: Option<(String, String)>,
}

impl Pusher<'_> {
    async fn push(&mut self, row: u64, input: PersonInput, report: &mut PushReport) {
        if self.paused_by.is_some() {
            report.paused += 1;
            return;
        }
        self.pending.push((row as usize, input));
        if self.pending.len() >= CHUNK {
            self.flush(report).await;
        }
    }

    async fn flush(&mut self, report: &mut PushReport) {
        if self.pending.is_empty() {
            return;
        }
        let rows = std::mem::take(&mut self.pending);
        for outcome in upsert_chunk_journaled(self.client, rows, self.config, self.journal).await {
            if let Some(paused) = report.count(outcome.index as u64, outcome.email, outcome.result) {
                self.paused_by.get_or_insert(paused);
            }
        }
    }
}

/// A failure reason for the report (the error's own text; it never carries a credential).
fn describe(error: &Error) -> String {
    match error {
        Error::Construction { reason } => reason.clone(),
        other => other.to_string(),
    }
}

/// The report as sentences: a summary, then one line per failed row.
fn report_text(report: &PushReport) -> String {
    let mut text = format!(
        "{} rows: {} created, {} updated, {} unchanged, {} failed\n",
        report.rows, report.created, report.updated, report.unchanged, report.failed
    );
    if report.applied > 0 {
        text.push_str(&format!(
            "{} rows applied by the bulk job without error (created or updated: only failed rows' results were read)\n",
            report.applied
        ));
    }
    if report.paused > 0 {
        text.push_str(&format!("{} rows not sent: syncs were paused during the push\n", report.paused));
    }
    for failure in &report.failures {
        match &failure.email {
            Some(email) => text.push_str(&format!("row {} ({email}): {}\n", failure.row, failure.reason)),
            None => text.push_str(&format!("row {}: {}\n", failure.row, failure.reason)),
        }
    }
    text
}
