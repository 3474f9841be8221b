//! One run of a push job: upsert people by email from the source file, through the idempotency ledger, the
//! per-email locks and the audit log ([`crate::LedgerJournal`]) exactly as `slprod push` does.
//!
//! The run stops after the current row: once shutdown is asked for or the lease is lost, rows already under
//! way finish and no further row is opened (the rest of the file is left for the next run).
//!
//! The run id is the file's content hash, as for `slprod push`, and rows are numbered by their line: a job
//! resuming a run (interrupted, or left with transient failures) replays the rows already finished. The file
//! of the last complete run — every row sent, or failed in a way only a changed file can fix (no email, 422,
//! 409) — is not sent again at all, not even the lookups, because the job record keeps that run id.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use futures::FutureExt as _;
use futures::future::BoxFuture;
use salesloft_client::journal::{JournalOpen, UpsertJournal};

use salesloft_client::api::Upserted;
use salesloft_client::models::PersonInput;
use salesloft_client::upsert::{UpsertConfig, upsert_chunk_journaled};
use salesloft_client::{Client, Error};
use salesloft_store::Store;

use super::{JobOutcome, RunResult, RunnerConfig, SafePoint, SourceRow};
use crate::{JournalConfig, LedgerJournal, RunId};

/// Counts of a push run.
#[derive(Debug, Default)]
struct Tally {
    rows: u64,
    sent: u64,
    lookups: u64,
    failed: u64,
    /// Failed rows a rerun may fix (network, 5xx, timeouts, leases, budget): the run is not complete.
    retryable: u64,
    paused: u64,
    /// Rows not opened because the run is stopping (shutdown, lost lease): never sent, a rerun sends them.
    unsent: u64,
    first_failures: Vec<String>,
}

impl Tally {
    fn fail(&mut self, line: u64, reason: &str) {
        self.failed += 1;
        if self.first_failures.len() < 3 {
            self.first_failures.push(format!("row {line}: {reason}"));
        }
    }
}

/// Pushes `source` once.
pub(crate) async fn run(
    client: &Client,
    store: &Store,
    job: &str,
    source: &Path,
    config: &RunnerConfig,
    completed_run_id: Option<&str>,
    safe_point: &SafePoint,
) -> RunResult {
    // A paused store sends nothing; the next tick looks again.
    match store.pause().paused().await {
        Ok(Some(pause)) => {
            tracing::info!(job, by = %pause.by, reason = %pause.reason, "syncs are paused; the push job sends nothing");
            return RunResult {
                outcome: JobOutcome::Paused,
                error: Some(format!("paused by {}: {}", pause.by, pause.reason)),
                ..RunResult::failed("")
            };
        }
        Ok(None) => {}
        Err(error) => return RunResult::failed(format!("cannot read the pause switch: {error}")),
    }
    let Some(reader) = &config.row_reader else {
        return RunResult::failed("this runner has no input reader for push jobs");
    };
    // Hashing a large file is blocking I/O: off the async workers.
    let path = source.to_path_buf();
    let run = match tokio::task::spawn_blocking(move || run_id_of(&path)).await {
        Ok(Ok(run)) => run,
        Ok(Err(error)) => return RunResult::failed(error),
        Err(error) => return RunResult::failed(format!("cannot hash {}: {error}", source.display())),
    };
    if completed_run_id == Some(run.as_str()) {
        tracing::info!(job, %run, "the source file is unchanged since its last complete run; nothing to send");
        return RunResult { outcome: JobOutcome::Unchanged, error: None, ..RunResult::failed("") };
    }
    let rows = match reader.rows(source) {
        Ok(rows) => rows,
        Err(error) => return RunResult::failed(error),
    };
    tracing::info!(job, %run, "push run");
    let journal = Stoppable {
        inner: LedgerJournal::new(
            store.clone(),
            run.clone(),
            JournalConfig { actor: format!("slprod job {job}"), ..JournalConfig::default() },
        ),
        safe_point,
        refused: Mutex::new(HashSet::new()),
    };
    let upsert = UpsertConfig { concurrency: config.push_concurrency.max(1), ..UpsertConfig::default() };
    let chunk = config.push_chunk.max(1);
    let mut tally = Tally::default();
    let mut pending: Vec<(usize, PersonInput)> = Vec::with_capacity(chunk);
    let mut stopped = None;
    let mut read_error = None;
    for row in rows {
        match row {
            Ok(SourceRow::Person { line, input }) => {
                tally.rows += 1;
                pending.push((usize::try_from(line).unwrap_or(usize::MAX), *input));
            }
            Ok(SourceRow::Bad { line, reason, .. }) => {
                tally.rows += 1;
                tally.fail(line, &reason);
            }
            Err(error) => {
                read_error = Some(error);
                break;
            }
        }
        if pending.len() >= chunk {
            send(client, &mut pending, &upsert, &journal, &mut tally).await;
            // Every row of the chunk is finished in the ledger, or was never opened because the run is
            // stopping (the journal refuses rows once the safe point says stop).
            if tally.paused > 0 {
                break;
            }
            if let Some(reason) = safe_point.check() {
                stopped = Some(reason);
                break;
            }
        }
    }
    if stopped.is_none() && read_error.is_none() && tally.paused == 0 {
        send(client, &mut pending, &upsert, &journal, &mut tally).await;
    }
    let cost = tally.lookups + tally.sent;
    let base = RunResult { outcome: JobOutcome::Ok, rows: tally.rows, cost, error: None, completed_run_id: None };
    if stopped.is_none() && tally.unsent > 0 {
        // The last chunk was cut short: the stop came while it ran.
        stopped = safe_point.check();
    }
    if let Some((outcome, reason)) = stopped {
        let reason = match tally.unsent {
            0 => reason,
            unsent => format!("{reason} ({unsent} rows of the last chunk left for the next run)"),
        };
        return RunResult { outcome, error: Some(reason), ..base };
    }
    if let Some(error) = read_error {
        return RunResult { outcome: JobOutcome::Failed, error: Some(error), ..base };
    }
    if tally.paused > 0 {
        return RunResult {
            outcome: JobOutcome::Paused,
            error: Some(format!("{} rows not sent: syncs were paused during the run", tally.paused)),
            ..base
        };
    }
    // Complete when no row is left that a rerun could still send: the same file is then not read again.
    let completed_run_id = (tally.retryable == 0).then(|| run.as_str().to_string());
    if tally.failed > 0 {
        return RunResult {
            outcome: JobOutcome::Problems,
            error: Some(format!(
                "{} rows failed ({} may succeed on the next run): {}",
                tally.failed,
                tally.retryable,
                tally.first_failures.join("; ")
            )),
            completed_run_id,
            ..base
        };
    }
    RunResult { completed_run_id, ..base }
}

/// Sends the pending rows as one chunk (one lookup) and counts the outcomes.
async fn send(
    client: &Client,
    pending: &mut Vec<(usize, PersonInput)>,
    upsert: &UpsertConfig,
    journal: &Stoppable<'_>,
    tally: &mut Tally,
) {
    if pending.is_empty() {
        return;
    }
    let rows = std::mem::take(pending);
    tally.lookups += 1;
    for outcome in upsert_chunk_journaled(client, rows, upsert, journal).await {
        if journal.was_refused(outcome.index) {
            tally.unsent += 1;
            continue;
        }
        match outcome.result {
            Ok(Upserted::Created(_) | Upserted::Updated(_) | Upserted::Applied { .. }) => tally.sent += 1,
            Ok(Upserted::Unchanged(_)) => {}
            Err(Error::Paused { .. }) => tally.paused += 1,
            Err(error) => {
                // A row without an email, a 422 or a 409 fails the same way every time: only a changed file
                // (a new run) can fix it, so it does not keep the run incomplete.
                let definitive =
                    matches!(error, Error::Construction { .. }) || crate::ledger_journal::is_definitive(&error);
                if !definitive {
                    tally.retryable += 1;
                }
                tally.fail(outcome.index as u64, &error.to_string());
            }
        }
    }
}

/// The run id of an input file: a hash of its content, as `slprod push` derives it.
fn run_id_of(path: &Path) -> Result<RunId, String> {
    RunId::for_file(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The ledger journal, refusing to open any further row once the run must stop: rows already open finish
/// (their mutation is sent and recorded), rows not yet open are never sent and are left for the next run. This
/// is the push's safe point: after the current row.
struct Stoppable<'a> {
    inner: LedgerJournal,
    safe_point: &'a SafePoint,
    refused: Mutex<HashSet<usize>>,
}

impl Stoppable<'_> {
    fn was_refused(&self, index: usize) -> bool {
        self.refused.lock().unwrap_or_else(PoisonError::into_inner).contains(&index)
    }
}

impl UpsertJournal for Stoppable<'_> {
    fn open<'b>(
        &'b self,
        index: usize,
        email: &'b str,
        input: &'b PersonInput,
    ) -> BoxFuture<'b, Result<JournalOpen, Error>> {
        if let Some((_, reason)) = self.safe_point.check() {
            self.refused.lock().unwrap_or_else(PoisonError::into_inner).insert(index);
            let refusal = Error::journal(format!("not sent: {reason}"));
            return async move { Ok(JournalOpen::Refuse(refusal)) }.boxed();
        }
        self.inner.open(index, email, input)
    }
}
