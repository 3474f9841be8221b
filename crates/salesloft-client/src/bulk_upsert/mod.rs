//! Upsert many people through one `person/upsert` bulk job (FACTS.md §12), keeping the promises of the
//! row-by-row path ([`crate::upsert`]): one outcome per input row, duplicate emails resolved to one person
//! (the last row winning), a durable journal of every step, and no duplicate after a crash.
//!
//! Cost: ⌈records/5 000⌉ uploads + 1 create + 1 mark-ready + the polls + ⌈records/100⌉ result pages, against
//! ≈ 1.01 per row for the row-by-row path (FACTS.md §12; the bulk routes' costs are unconfirmed: the
//! simulator charges 1 per request). Use it above a few hundred rows; below, the row-by-row path finishes
//! sooner (it waits for no job) and can skip unchanged rows.
//!
//! The run ([`bulk_upsert_people`]):
//! 1. plan ([`plan::BulkPlan`], pure): one record per email, chunks of at most 5 000;
//! 2. [`BulkJournal::open`] records the plan, or returns what an earlier run of the same plan reached;
//! 3. create the job, named [`BulkUpsertConfig::job_name`] (step `Creating` first, so a crash between the
//!    create and the recording of its id is in doubt; the rerun lists the open jobs and adopts the one with
//!    this name, and creates a new one only if none is found — an open job is never executed, so at worst
//!    one empty orphan stays open and changes nothing in SalesLoft);
//! 4. upload each chunk (step `Uploading` first). A chunk in doubt (a lost answer, a crash) is reconciled by
//!    reading the job's `job_data` with the `id[gt]` cursor ([`plan::chunk_landed`]): uploaded again only if
//!    its records are not there. Never a blind second upload;
//! 5. mark the job ready (in doubt: read the job; `executing` means it was);
//! 6. poll the job with exponential backoff on the pipeline's clock until `done`;
//! 7. read `results` with the `id[gt]` cursor and record one outcome per input row.
//!
//! The pipeline paces every call on the rate budget as usual.

pub mod journal;
pub mod plan;

use std::collections::HashMap;
use std::time::Duration;

use crate::api::Upserted;
use crate::api::bulk_jobs::{MAX_RECORDS_PER_UPLOAD, MAX_ROWS_PER_PAGE, PERSON_UPSERT};
use crate::error::ValidationError;
use crate::models::{BulkJobId, BulkJobRow, BulkJobState, BulkRowStatus, Person, UpsertType, normalize_email};
use crate::upsert::UpsertOutcome;
use crate::{Client, Error};

pub use journal::{BulkJournal, BulkProgress, BulkStep, NoBulkJournal, RowOutcome, StepState};
pub use plan::{BulkPlan, BulkRow, ChunkSpan, PlannedRecord};

/// How a bulk upsert runs.
#[derive(Debug, Clone)]
pub struct BulkUpsertConfig {
    /// Records per upload, 1..=5 000 (default 5 000, FACTS.md §12).
    pub chunk_size: usize,
    /// The job's name; a rerun recognises its job by it. Give each run its own (`slprod push <run id>`).
    pub job_name: String,
    /// The first wait before a poll (default 1 s); each later wait doubles, up to `poll_max`.
    pub poll_first: Duration,
    /// The longest wait between polls (default 30 s).
    pub poll_max: Duration,
    /// Polls before the run stops and leaves the job to a rerun (default 10 000: hours at 30 s).
    pub max_polls: u32,
    /// Keep each person as SalesLoft returned it in the outcomes (default true). With false an outcome's
    /// person carries only its `id`, `updated_at` and `email_address`: about a tenth of the memory for a
    /// run of 100 000 rows whose caller only counts and records them (`slprod push`).
    pub keep_people: bool,
    /// Which result rows are read (default [`BulkResults::Every`]).
    pub results: BulkResults,
}

/// Which result rows a bulk upsert reads once the job is done.
///
/// Result rows come 100 a page (FACTS.md §12), so reading every row of 100 000 costs 1 000 calls, thirty
/// times what the job itself costs (uploads, create, ready, polls). Reading only the failed rows' results costs
/// ⌈failures/100⌉, at the price of not knowing, for each applied row, whether the person was created or updated
/// ([`Upserted::Applied`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BulkResults {
    /// Every row's result: created or updated, with the person.
    #[default]
    Every,
    /// Only the failed rows' results (`status=error`); the others are [`Upserted::Applied`]. The filter is not
    /// documented by SalesLoft (FACTS.md §11–12): when an answer holds a row that is not an error, or the failures
    /// read do not add up to the job's `errors`, the run falls back to reading every row.
    FailuresOnly,
}

impl Default for BulkUpsertConfig {
    fn default() -> Self {
        Self {
            chunk_size: MAX_RECORDS_PER_UPLOAD,
            job_name: format!("salesloft-client bulk upsert {}", uuid::Uuid::new_v4()),
            poll_first: Duration::from_secs(1),
            poll_max: Duration::from_secs(30),
            max_polls: 10_000,
            keep_people: true,
            results: BulkResults::Every,
        }
    }
}

/// The waits between polls: `first`, doubling, capped at `max`. Pure.
pub fn poll_wait(first: Duration, max: Duration, poll: u32) -> Duration {
    first.saturating_mul(2u32.saturating_pow(poll.min(31))).min(max)
}

/// The processing rate assumed when estimating polls: the simulator's default (`bulk_records_per_second`).
/// SalesLoft's own rate is unconfirmed (FACTS.md §12).
pub const ASSUMED_RECORDS_PER_SECOND: f64 = 1_000.0;

/// The calls a first run of `records` records (after dedup) is expected to make, at one call per request as
/// the simulator charges (FACTS.md §12: SalesLoft's cost of the bulk routes is unconfirmed): ⌈records/chunk⌉
/// uploads, 1 create, 1 mark-ready, the polls of a job processed at `records_per_second` under
/// [`poll_wait`]'s backoff, and ⌈records/100⌉ result pages. Pure.
pub fn estimated_calls(records: u64, chunk_size: u64, records_per_second: f64, config: &BulkUpsertConfig) -> BulkCalls {
    if records == 0 {
        return BulkCalls::default();
    }
    let processing = Duration::from_secs_f64(records as f64 / records_per_second.max(f64::MIN_POSITIVE));
    // The first poll comes at once, then one after each wait until the waits cover the processing time.
    let mut polls = 1u32;
    let mut waited = Duration::ZERO;
    while waited < processing && polls < config.max_polls {
        waited += poll_wait(config.poll_first, config.poll_max, polls - 1);
        polls += 1;
    }
    let as_u32 = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    BulkCalls {
        creates: 1,
        uploads: as_u32(records.div_ceil(chunk_size.max(1))),
        ready: 1,
        polls,
        result_pages: as_u32(records.div_ceil(u64::from(MAX_ROWS_PER_PAGE))),
        ..BulkCalls::default()
    }
}

/// The calls a run made, by kind (what the rate budget paid for).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkCalls {
    /// `POST /bulk_jobs`.
    pub creates: u32,
    /// `GET /bulk_jobs?state=open` pages read to find a job whose create was in doubt.
    pub job_lists: u32,
    /// `POST …/job_data`.
    pub uploads: u32,
    /// `GET …/job_data` pages read to reconcile an upload in doubt.
    pub reconcile_pages: u32,
    /// `PUT /bulk_jobs/{id}`.
    pub ready: u32,
    /// `GET /bulk_jobs/{id}` (polls and reconcile reads).
    pub polls: u32,
    /// `GET …/results` pages.
    pub result_pages: u32,
}

impl BulkCalls {
    /// Every call.
    pub fn total(&self) -> u32 {
        self.creates
            + self.job_lists
            + self.uploads
            + self.reconcile_pages
            + self.ready
            + self.polls
            + self.result_pages
    }
}

/// What a bulk run did.
#[derive(Debug, Default)]
pub struct BulkUpsertReport {
    /// The job, once there was one.
    pub job: Option<BulkJobId>,
    /// One outcome per input row that has one, by row index. Rows without one were not finished (see
    /// `stopped`).
    pub outcomes: Vec<UpsertOutcome>,
    /// Why the run stopped before every row had an outcome ([`Error::Paused`] for the pause switch); a
    /// rerun of the same plan resumes it.
    pub stopped: Option<Error>,
    /// The calls made.
    pub calls: BulkCalls,
}

/// Upserts `rows` by email through one `person/upsert` bulk job, journaled by `journal`; see the module
/// docs. A chunk size above 5 000 is refused before anything is sent. The outcomes come back in the
/// report, by row index.
pub async fn bulk_upsert_people(
    client: &Client,
    rows: Vec<BulkRow>,
    config: &BulkUpsertConfig,
    journal: &dyn BulkJournal,
) -> Result<BulkUpsertReport, Error> {
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut report = bulk_upsert_people_streamed(client, rows, config, journal, &mut |o| outcomes.push(o)).await?;
    outcomes.sort_by_key(|o| o.index);
    report.outcomes = outcomes;
    Ok(report)
}

/// [`bulk_upsert_people`], handing each row's outcome to `sink` as it is known (rows without an email first,
/// then in result order) instead of keeping them: a caller that only counts them holds no person per row
/// (an outcome is ≈ 1.5 kB). The report's `outcomes` stay empty.
pub async fn bulk_upsert_people_streamed(
    client: &Client,
    rows: Vec<BulkRow>,
    config: &BulkUpsertConfig,
    journal: &dyn BulkJournal,
    sink: &mut (dyn FnMut(UpsertOutcome) + Send),
) -> Result<BulkUpsertReport, Error> {
    let plan = BulkPlan::new(rows, config.chunk_size)?;
    let mut run = Run { client, config, journal, plan: &plan, report: BulkUpsertReport::default(), sink };
    for &position in plan.without_email() {
        let row = &plan.rows()[position];
        let result =
            Err(Error::Construction { reason: "missing email_address: upsert by email needs one".to_string() });
        (run.sink)(UpsertOutcome { index: row.index, email: None, result });
    }
    if !plan.records().is_empty()
        && let Err(error) = run.run().await
    {
        run.report.stopped = Some(error);
    }
    Ok(run.report)
}

struct Run<'a> {
    client: &'a Client,
    config: &'a BulkUpsertConfig,
    journal: &'a dyn BulkJournal,
    plan: &'a BulkPlan,
    report: BulkUpsertReport,
    sink: &'a mut (dyn FnMut(UpsertOutcome) + Send),
}

impl Run<'_> {
    async fn run(&mut self) -> Result<(), Error> {
        let progress = self.journal.open(self.plan).await?;
        let job = self.job(&progress).await?;
        self.report.job = Some(job);
        if progress.ready != StepState::Done {
            for k in 0..self.plan.chunks().len() {
                let state = progress.chunks.get(k).copied().unwrap_or_default();
                self.chunk(job, k, state).await?;
            }
            self.mark_ready(job, progress.ready).await?;
        }
        let errors = self.wait_until_done(job).await?;
        let read_failures_only =
            self.config.results == BulkResults::FailuresOnly && self.read_failures(job, errors).await?;
        if !read_failures_only {
            self.read_results(job).await?;
        }
        if !progress.finished {
            self.journal.step(BulkStep::Finished).await?;
        }
        Ok(())
    }

    /// The run's job: recorded earlier, adopted (a create in doubt), or created now.
    async fn job(&mut self, progress: &BulkProgress) -> Result<BulkJobId, Error> {
        if let Some(job) = progress.job {
            return Ok(job);
        }
        if progress.creating == StepState::InDoubt
            && let Some(job) = self.find_open_job().await?
        {
            tracing::info!(job = job.0, "adopted the open bulk job an interrupted run created");
            self.journal.step(BulkStep::Created { job, reconciled: true }).await?;
            return Ok(job);
        }
        self.journal.step(BulkStep::Creating).await?;
        self.report.calls.creates += 1;
        let job = self.client.bulk_jobs().create(PERSON_UPSERT, Some(&self.config.job_name)).await?;
        self.journal.step(BulkStep::Created { job: job.id, reconciled: false }).await?;
        Ok(job.id)
    }

    /// An open job named after this run (the newest, should several be found).
    async fn find_open_job(&mut self) -> Result<Option<BulkJobId>, Error> {
        let mut after = None;
        let mut found = None;
        loop {
            self.report.calls.job_lists += 1;
            let page = self
                .client
                .bulk_jobs()
                .list()
                .state(BulkJobState::Open)
                .after(after)
                .per_page(MAX_ROWS_PER_PAGE)
                .send()
                .await?;
            let Some(last) = page.last() else {
                return Ok(found);
            };
            after = Some(last.id.0);
            for job in &page {
                if job.name.as_deref() == Some(self.config.job_name.as_str()) {
                    found = Some(job.id);
                }
            }
        }
    }

    /// Makes sure chunk `k` is in the job exactly once.
    async fn chunk(&mut self, job: BulkJobId, k: usize, state: StepState) -> Result<(), Error> {
        let mut in_doubt = match state {
            StepState::Done => return Ok(()),
            StepState::InDoubt => true,
            StepState::Pending => false,
        };
        // A lost answer is reconciled at once, then the upload tried again: at most a few times per run.
        for _attempt in 0..3 {
            if in_doubt && self.reconcile_chunk(job, k).await? {
                return Ok(());
            }
            self.journal.step(BulkStep::Uploading(k)).await?;
            let bodies = self.plan.chunk_bodies(k);
            self.report.calls.uploads += 1;
            match self.client.bulk_jobs().upload(job, &bodies).await {
                Ok(created) => {
                    return self
                        .journal
                        .step(BulkStep::Uploaded { chunk: k, records: created.records, reconciled: false })
                        .await;
                }
                Err(error) if error.may_have_been_sent() => {
                    tracing::warn!(job = job.0, chunk = k + 1, %error, "upload answer lost; reading job_data back");
                    in_doubt = true;
                }
                Err(error) => {
                    let status = error.status().map(|s| s.as_u16());
                    self.journal.step(BulkStep::NotUploaded { chunk: k, status }).await?;
                    return Err(error);
                }
            }
        }
        Err(Error::journal(format!(
            "chunk {} of bulk job {job}: no answer after 3 uploads; rerun to reconcile and resume",
            k + 1
        )))
    }

    /// Reads the job's `job_data` (every record, `id[gt]` cursor) and tells whether chunk `k` landed;
    /// records the answer. Costs ⌈records uploaded / 100⌉ reads, paid only after a crash or a lost answer.
    async fn reconcile_chunk(&mut self, job: BulkJobId, k: usize) -> Result<bool, Error> {
        let mut uploaded: Vec<Option<String>> = Vec::with_capacity(self.plan.records_before(k + 1));
        let mut after = None;
        loop {
            self.report.calls.reconcile_pages += 1;
            let page = self.client.bulk_jobs().job_data(job).after(after).per_page(MAX_ROWS_PER_PAGE).send().await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            uploaded.extend(page.iter().map(record_email));
            if page.len() < MAX_ROWS_PER_PAGE as usize {
                break;
            }
        }
        let landed = plan::chunk_landed(self.plan, k, &uploaded)
            .map_err(|reason| Error::journal(format!("bulk job {job}: {reason}")))?;
        let step = if landed {
            let records = self.plan.chunks()[k].records.len() as u64;
            BulkStep::Uploaded { chunk: k, records, reconciled: true }
        } else {
            BulkStep::NotUploaded { chunk: k, status: None }
        };
        self.journal.step(step).await?;
        Ok(landed)
    }

    async fn mark_ready(&mut self, job: BulkJobId, state: StepState) -> Result<(), Error> {
        if state == StepState::InDoubt {
            self.report.calls.polls += 1;
            if self.client.bulk_jobs().get(job).await?.state != BulkJobState::Open {
                return self.journal.step(BulkStep::MarkedReady { reconciled: true }).await;
            }
        }
        self.journal.step(BulkStep::MarkingReady).await?;
        self.report.calls.ready += 1;
        match self.client.bulk_jobs().mark_ready(job).await {
            Ok(_) => {}
            // A retried PUT whose first attempt landed finds the job no longer open: read it to be sure.
            Err(Error::Validation { .. }) => {
                self.report.calls.polls += 1;
                let now = self.client.bulk_jobs().get(job).await?;
                if now.state == BulkJobState::Open {
                    return Err(Error::journal(format!("bulk job {job} refused to be marked ready")));
                }
            }
            Err(error) => return Err(error),
        }
        self.journal.step(BulkStep::MarkedReady { reconciled: false }).await
    }

    /// Polls the job until `done`, waiting [`poll_wait`] on the pipeline's clock before each poll.
    async fn wait_until_done(&mut self, job: BulkJobId) -> Result<u64, Error> {
        let clock = self.client.pipeline().clock().clone();
        for poll in 0..self.config.max_polls {
            self.report.calls.polls += 1;
            let now = self.client.bulk_jobs().get(job).await?;
            tracing::debug!(
                job = job.0,
                state = now.state.as_str(),
                processed = now.processed,
                total = now.total,
                "polled"
            );
            match now.state {
                BulkJobState::Done => return Ok(now.errors),
                BulkJobState::Open => {
                    return Err(Error::journal(format!("bulk job {job} is open, though it was marked ready")));
                }
                _ => clock.sleep(poll_wait(self.config.poll_first, self.config.poll_max, poll)).await,
            }
        }
        Err(Error::journal(format!(
            "bulk job {job} still executing after {} polls; rerun to go on waiting",
            self.config.max_polls
        )))
    }

    /// Reads only the failed rows' results (`status=error`) and records every row: failed rows with their
    /// reason, the others as [`Upserted::Applied`]. Returns false, having recorded nothing, when the filter does
    /// not hold (a non-error row comes back) or the failures read differ from the job's `errors`: the caller
    /// then reads every result.
    async fn read_failures(&mut self, job: BulkJobId, errors: u64) -> Result<bool, Error> {
        let by_email: HashMap<&str, usize> =
            self.plan.records().iter().enumerate().map(|(i, r)| (r.email.as_str(), i)).collect();
        let mut failed: Vec<(usize, BulkJobRow)> = Vec::new();
        let mut seen = vec![false; self.plan.records().len()];
        let mut after = None;
        loop {
            self.report.calls.result_pages += 1;
            let page = self
                .client
                .bulk_jobs()
                .results(job)
                .status(BulkRowStatus::Error)
                .after(after)
                .per_page(MAX_ROWS_PER_PAGE)
                .send()
                .await?;
            if page.iter().any(|row| row.status != Some(BulkRowStatus::Error)) {
                tracing::warn!(
                    job = job.0,
                    "the results filter returned rows that are not errors; reading every result"
                );
                return Ok(false);
            }
            let full = page.len() == MAX_ROWS_PER_PAGE as usize;
            after = page.last().map(|row| row.id).or(after);
            for row in page {
                if let Some(slot) = record_email(&row).and_then(|email| by_email.get(email.as_str()).copied())
                    && !std::mem::replace(&mut seen[slot], true)
                {
                    failed.push((slot, row));
                }
            }
            if !full {
                break;
            }
        }
        if failed.len() as u64 != errors {
            tracing::warn!(
                job = job.0,
                read = failed.len(),
                errors,
                "failures read differ from the job's errors; reading every result"
            );
            return Ok(false);
        }
        for (slot, row) in &failed {
            self.record_rows(job, *slot, row).await?;
        }
        for slot in (0..seen.len()).filter(|slot| !seen[*slot]) {
            self.record_applied(job, slot).await?;
        }
        Ok(true)
    }

    /// Records every row merged into record `slot` as applied by `job` (its result row not read).
    async fn record_applied(&mut self, job: BulkJobId, slot: usize) -> Result<(), Error> {
        let record = &self.plan.records()[slot];
        let outcome: Result<Upserted, Error> = Ok(Upserted::Applied { job: job.0 });
        for &position in &record.rows {
            let row = &self.plan.rows()[position];
            self.journal
                .row(RowOutcome {
                    index: row.index,
                    email: &record.email,
                    input: &row.input,
                    job,
                    record_id: None,
                    outcome: &outcome,
                })
                .await?;
            let spelled = row.input.email_address.as_deref().map(|e| e.trim().to_string());
            (self.sink)(UpsertOutcome {
                index: row.index,
                email: spelled,
                result: Ok(Upserted::Applied { job: job.0 }),
            });
        }
        Ok(())
    }

    /// Reads every result and records one outcome per input row.
    async fn read_results(&mut self, job: BulkJobId) -> Result<(), Error> {
        let by_email: HashMap<&str, usize> =
            self.plan.records().iter().enumerate().map(|(i, r)| (r.email.as_str(), i)).collect();
        let mut seen = vec![false; self.plan.records().len()];
        let mut unseen = seen.len();
        let mut after = None;
        // The walk stops at a short page or once every record has its result: an empty page would cost a
        // call and say nothing new.
        while unseen > 0 {
            self.report.calls.result_pages += 1;
            let page = self.client.bulk_jobs().results(job).after(after).per_page(MAX_ROWS_PER_PAGE).send().await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for result in &page {
                let Some(slot) = record_email(result).and_then(|email| by_email.get(email.as_str()).copied()) else {
                    tracing::warn!(job = job.0, record = result.id, "a result that names no record of this run");
                    continue;
                };
                if std::mem::replace(&mut seen[slot], true) {
                    continue;
                }
                unseen -= 1;
                self.record_rows(job, slot, result).await?;
            }
            if page.len() < MAX_ROWS_PER_PAGE as usize {
                break;
            }
        }
        let missing = unseen;
        if missing > 0 {
            return Err(Error::journal(format!("bulk job {job} is done but {missing} records have no result")));
        }
        Ok(())
    }

    /// The outcome of every row merged into record `slot`: the first row gets what the record did (created
    /// or updated), later rows of the same email "updated" (as the row-by-row path applies them in turn); a
    /// refused record fails every row it merged.
    async fn record_rows(&mut self, job: BulkJobId, slot: usize, result: &BulkJobRow) -> Result<(), Error> {
        let record = &self.plan.records()[slot];
        for (nth, &position) in record.rows.iter().enumerate() {
            let row = &self.plan.rows()[position];
            let outcome = row_result(result, nth, self.config.keep_people);
            self.journal
                .row(RowOutcome {
                    index: row.index,
                    email: &record.email,
                    input: &row.input,
                    job,
                    record_id: Some(result.id),
                    outcome: &outcome,
                })
                .await?;
            let spelled = row.input.email_address.as_deref().map(|e| e.trim().to_string());
            (self.sink)(UpsertOutcome { index: row.index, email: spelled, result: outcome });
        }
        Ok(())
    }
}

/// `person` with only its id, `updated_at` and email (see [`BulkUpsertConfig::keep_people`]).
fn slim(person: Person) -> Person {
    let minimal = serde_json::json!({
        "id": person.id,
        "updated_at": person.updated_at,
        "email_address": person.email_address,
    });
    serde_json::from_value(minimal).unwrap_or(person)
}

/// The normalized `email_address` of an uploaded record (the record's marker inside a plan).
fn record_email(row: &BulkJobRow) -> Option<String> {
    row.record.get("email_address").and_then(|v| v.as_str()).and_then(normalize_email)
}

/// The outcome of the `nth` row merged into a record, from the record's result.
fn row_result(result: &BulkJobRow, nth: usize, keep_people: bool) -> Result<Upserted, Error> {
    match (&result.status, result.person_resource()) {
        (Some(BulkRowStatus::Success), Some(resource)) => {
            let person = if keep_people { resource.person } else { slim(resource.person) };
            Ok(match (resource.upsert_type, nth) {
                (UpsertType::Create, 0) => Upserted::Created(person),
                _ => Upserted::Updated(person),
            })
        }
        _ => Err(Error::Validation {
            operation: "bulk_jobs.person_upsert".to_string(),
            error: ValidationError {
                errors: Default::default(),
                message: Some(result.error.clone().unwrap_or_else(|| "refused without a reason".to_string())),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_back_off_exponentially_up_to_the_cap() {
        let waits: Vec<u64> =
            (0..8).map(|p| poll_wait(Duration::from_secs(1), Duration::from_secs(30), p).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(poll_wait(Duration::from_secs(1), Duration::from_secs(30), u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn the_estimate_counts_uploads_job_calls_polls_and_result_pages() {
        let config = BulkUpsertConfig::default();
        // 100 000 records at 1 000/s: 100 s of processing, covered by waits 1+2+4+8+16+30+30+30 = 121 s.
        let calls = estimated_calls(100_000, 5_000, 1_000.0, &config);
        assert_eq!((calls.uploads, calls.creates, calls.ready, calls.polls, calls.result_pages), (20, 1, 1, 9, 1_000));
        assert_eq!(calls.total(), 1_031);
        let small = estimated_calls(1, 5_000, 1_000.0, &config);
        assert_eq!((small.uploads, small.polls, small.result_pages), (1, 2, 1));
        assert_eq!(estimated_calls(0, 5_000, 1_000.0, &config).total(), 0);
    }
}
