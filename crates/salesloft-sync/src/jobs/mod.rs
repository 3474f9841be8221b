//! Sync jobs run by the gateway (`[[jobs]]` in `slprod.toml`, issue 9): pull a resource incrementally into a
//! JSON-lines sink, or push people from a CSV / JSON-lines file, every `interval`.
//!
//! Use [`JobRunner`] to run a set of [`JobSpec`]s until a shutdown future completes. Each job loops on its
//! own:
//!
//! 1. take the store lease `job:<name>` without waiting ([`salesloft_store::Locks::try_acquire`]); if another
//!    replica holds it, skip this tick — so with several replicas on one store, one runs a job at a time;
//! 2. keep the lease renewed while the run goes on ([`lease`]); a lost lease stops the run at its next safe
//!    point, renewals failing past the deadline below the lease cut it off at once;
//! 3. run the job once and record the outcome in the store ([`record`]: start, end, rows, cost, error), which
//!    `GET /admin/status` shows;
//! 4. release the lease and wait `interval` on the injected clock.
//!
//! Safe points: a pull stops after the page being fetched is written and checkpointed (the existing pull
//! checkpoint, [`crate::pull`]: the next run resumes from it, no record lost or duplicated); a push stops after
//! the current row (rows under way finish in the idempotency ledger and no further row is opened; a rerun
//! replays the finished ones and sends the rest).
//!
//! Pause switch: push jobs send nothing while the store is paused (outcome `paused`); pull jobs are reads and
//! run (DESIGN.md "Pause switch"). Push runs are identified by the file's content ([`crate::RunId`]): the file
//! of the last complete run is not sent again (outcome `unchanged`, no cost); a changed file is a new run, and
//! an interrupted run of the same file resumes through the ledger.
//!
//! Shutdown: when the future given to [`JobRunner::run`] completes, no new run starts, runs in progress stop at
//! their next safe point, leases are released, and `run` returns.

pub mod lease;
mod pull_job;
mod push_job;
pub mod record;

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use salesloft_client::Client;
use salesloft_client::models::PersonInput;
use salesloft_clock::{SharedClock, SystemClock};
use salesloft_store::Store;
use tokio::sync::{mpsc, watch};

pub use lease::LeaseState;
pub use record::{JobOutcome, JobRecord};

/// The lease a job run holds by default; it is renewed every third of it.
pub const DEFAULT_JOB_LEASE: Duration = Duration::from_secs(90);

/// Resources a pull job reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullResource {
    /// `/v2/people`.
    People,
    /// `/v2/accounts`.
    Accounts,
    /// `/v2/cadences`.
    Cadences,
    /// `/v2/cadence_memberships`.
    CadenceMemberships,
}

impl PullResource {
    /// Every pull resource, in the order the configuration documents them.
    pub const ALL: [PullResource; 4] =
        [PullResource::People, PullResource::Accounts, PullResource::Cadences, PullResource::CadenceMemberships];

    /// The name used in the configuration and the checkpoint (`people`, `cadence_memberships`, …).
    pub fn name(self) -> &'static str {
        match self {
            PullResource::People => "people",
            PullResource::Accounts => "accounts",
            PullResource::Cadences => "cadences",
            PullResource::CadenceMemberships => "cadence_memberships",
        }
    }

    /// The resource called `name`, if a pull job can read it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|resource| resource.name() == name)
    }
}

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    /// Pull `resource` incrementally into the JSON-lines file `sink`, checkpointed per page.
    Pull {
        /// What to read.
        resource: PullResource,
        /// The JSON-lines file records are appended to.
        sink: PathBuf,
    },
    /// Upsert people by email from `source` (CSV or JSON lines, read by the runner's [`RowReader`]).
    PushPeople {
        /// The input file.
        source: PathBuf,
    },
}

/// One configured job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// Unique name (`[A-Za-z0-9._-]`): the lease is `job:<name>`, the record `job-run:<name>`.
    pub name: String,
    /// What it does.
    pub kind: JobKind,
    /// Time between the end of one run (or skipped tick) and the next try; at least one second.
    pub interval: Duration,
}

impl JobSpec {
    /// Checks a job name: not empty, at most 128 characters of `[A-Za-z0-9._-]` (it names a lease and a store
    /// row, and appears in logs).
    pub fn check_name(name: &str) -> Result<(), String> {
        if name.is_empty() {
            return Err("a job name must not be empty".to_string());
        }
        if name.len() > 128 {
            return Err("a job name has at most 128 characters".to_string());
        }
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            return Err(format!("job name {name:?} may only hold letters, digits, '.', '_' and '-'"));
        }
        Ok(())
    }

    /// `pull` or `push`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            JobKind::Pull { .. } => "pull",
            JobKind::PushPeople { .. } => "push",
        }
    }

    /// The resource read or written.
    pub fn resource_name(&self) -> &'static str {
        match &self.kind {
            JobKind::Pull { resource, .. } => resource.name(),
            JobKind::PushPeople { .. } => "people",
        }
    }
}

/// One record of a push job's input.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceRow {
    /// A row that decoded.
    Person {
        /// Its line in the file (also its row index in the ledger, as `slprod push` numbers rows).
        line: u64,
        /// The person to upsert.
        input: Box<PersonInput>,
    },
    /// A row that did not decode; it fails on its own.
    Bad {
        /// Its line in the file.
        line: u64,
        /// Its email, when one could be read.
        email: Option<String>,
        /// Why it is bad.
        reason: String,
    },
}

/// The rows of an input file; an `Err` item means reading stopped there.
pub type SourceRows = Box<dyn Iterator<Item = Result<SourceRow, String>> + Send>;

/// Reads a push job's input file into rows. `slprod` plugs in the reader of `slprod push` (CSV or JSON lines
/// by extension, with its size limits), so a job reads files exactly as the command does.
pub trait RowReader: Send + Sync {
    /// The rows of `path`; `Err` when it cannot be read at all.
    fn rows(&self, path: &Path) -> Result<SourceRows, String>;
}

/// Something that happened in a runner, for logs and tests ([`RunnerConfig::events`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEvent {
    /// A run started under the lease.
    Started {
        /// The job.
        job: String,
        /// The runner's holder name.
        holder: String,
    },
    /// Another holder has the lease (or it could not be taken); this tick is skipped.
    Skipped {
        /// The job.
        job: String,
        /// The runner's holder name.
        holder: String,
        /// Who holds it, when known.
        held_by: Option<String>,
    },
    /// A pull page was written and checkpointed; `records` in the sink now.
    Page {
        /// The job.
        job: String,
        /// Records the sink holds.
        records: u64,
    },
    /// The lease changed state while the run went on.
    Lease {
        /// The job.
        job: String,
        /// The new state.
        state: LeaseState,
    },
    /// The job waits for its next tick (after a run or a skipped tick).
    Idle {
        /// The job.
        job: String,
        /// The runner's holder name.
        holder: String,
    },
    /// A run ended; its lease is about to be released.
    Finished {
        /// The job.
        job: String,
        /// The runner's holder name.
        holder: String,
        /// How it ended.
        outcome: JobOutcome,
    },
}

/// How a [`JobRunner`] runs.
#[derive(Clone)]
pub struct RunnerConfig {
    /// This replica's holder name for leases and records (default: `slprod jobs@host:pid:random`).
    pub holder: String,
    /// The lease a run holds (default [`DEFAULT_JOB_LEASE`]); renewed every third of it.
    pub lease_ttl: Duration,
    /// The clock intervals and lease renewals are timed on.
    pub clock: SharedClock,
    /// Rows per push chunk: one lookup per chunk (default 100, the lookup batch).
    pub push_chunk: usize,
    /// Push writes in flight at once (default 4; the rate budget paces them).
    pub push_concurrency: usize,
    /// Reads push jobs' input files; without one, push jobs fail.
    pub row_reader: Option<Arc<dyn RowReader>>,
    /// Where to send [`JobEvent`]s, if anywhere.
    pub events: Option<mpsc::UnboundedSender<JobEvent>>,
}

impl fmt::Debug for RunnerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunnerConfig")
            .field("holder", &self.holder)
            .field("lease_ttl", &self.lease_ttl)
            .field("push_chunk", &self.push_chunk)
            .field("push_concurrency", &self.push_concurrency)
            .field("row_reader", &self.row_reader.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            holder: crate::holder::this_process("slprod jobs"),
            lease_ttl: DEFAULT_JOB_LEASE,
            clock: SystemClock::shared(),
            push_chunk: salesloft_client::upsert::LOOKUP_BATCH,
            push_concurrency: 4,
            row_reader: None,
            events: None,
        }
    }
}

/// Runs jobs on an interval until shut down; see the module docs.
#[derive(Debug)]
pub struct JobRunner {
    client: Client,
    store: Store,
    jobs: Vec<JobSpec>,
    config: RunnerConfig,
}

/// Whether shutdown was asked for.
#[derive(Debug, Clone)]
struct Stop(watch::Receiver<bool>);

impl Stop {
    fn requested(&self) -> bool {
        *self.0.borrow()
    }

    async fn wait(&mut self) {
        // A dropped sender means the shutdown trigger is gone: stop too.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// What one run did, before it becomes a [`JobRecord`].
#[derive(Debug)]
pub(crate) struct RunResult {
    pub(crate) outcome: JobOutcome,
    pub(crate) rows: u64,
    pub(crate) cost: u64,
    pub(crate) error: Option<String>,
    /// Push: the run id, when every row was sent.
    pub(crate) completed_run_id: Option<String>,
}

impl RunResult {
    pub(crate) fn failed(error: impl Into<String>) -> Self {
        Self { outcome: JobOutcome::Failed, rows: 0, cost: 0, error: Some(error.into()), completed_run_id: None }
    }
}

/// The safe-point check a run makes: `Some` when it must stop (shutdown, or the lease was taken over).
pub(crate) struct SafePoint {
    stop: Stop,
    lease: watch::Receiver<LeaseState>,
}

impl SafePoint {
    pub(crate) fn check(&self) -> Option<(JobOutcome, String)> {
        if let LeaseState::Lost(reason) | LeaseState::Expiring(reason) = &*self.lease.borrow() {
            return Some((JobOutcome::LeaseLost, reason.clone()));
        }
        self.stop.requested().then(|| (JobOutcome::Stopped, "stopped by shutdown; the next run continues".into()))
    }
}

impl JobRunner {
    /// A runner of `jobs` through `client` (the gateway's, so jobs spend the same team budget) on `store`.
    pub fn new(client: Client, store: Store, jobs: Vec<JobSpec>, config: RunnerConfig) -> Self {
        Self { client, store, jobs, config }
    }

    /// The jobs it runs.
    pub fn jobs(&self) -> &[JobSpec] {
        &self.jobs
    }

    /// Runs every job until `shutdown` completes, then stops them at a safe point, releases their leases and
    /// returns.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let (trigger, stop) = watch::channel(false);
        let trigger = tokio::spawn(async move {
            shutdown.await;
            let _ = trigger.send(true);
            // Keep the sender alive so that `Stop::wait` sees `true`, not a closed channel.
            std::future::pending::<()>().await;
        });
        let runner = Arc::new(self);
        let loops: Vec<_> = (0..runner.jobs.len())
            .map(|index| tokio::spawn(runner.clone().job_loop(index, Stop(stop.clone()))))
            .collect();
        for handle in loops {
            if let Err(error) = handle.await {
                tracing::error!(%error, "a job loop ended abnormally");
            }
        }
        trigger.abort();
    }

    async fn job_loop(self: Arc<Self>, index: usize, mut stop: Stop) {
        let job = &self.jobs[index];
        loop {
            if stop.requested() {
                break;
            }
            self.tick(job, &stop).await;
            // The wait is timed from here; `Idle` is sent once it is, so an observer that moves the clock after
            // seeing it moves it past this wait.
            let wait = self.config.clock.sleep(job.interval);
            self.emit(JobEvent::Idle { job: job.name.clone(), holder: self.config.holder.clone() });
            tokio::select! {
                () = wait => {}
                () = stop.wait() => break,
            }
        }
        tracing::info!(job = %job.name, "job loop stopped");
    }

    fn emit(&self, event: JobEvent) {
        if let Some(events) = &self.config.events {
            let _ = events.send(event);
        }
    }

    /// One tick: take the lease or skip, run, record, release.
    async fn tick(&self, job: &JobSpec, stop: &Stop) {
        let holder = &self.config.holder;
        let lease_name = format!("job:{}", job.name);
        let lease = match lease::JobLease::try_take(
            &self.store,
            &lease_name,
            holder,
            self.config.lease_ttl,
            self.config.clock.clone(),
        )
        .await
        {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                let held_by = self.store.locks().holder(&lease_name).await.ok().flatten().map(|info| info.holder);
                tracing::debug!(job = %job.name, held_by = ?held_by, "another replica runs this job; skipping");
                self.emit(JobEvent::Skipped { job: job.name.clone(), holder: holder.clone(), held_by });
                return;
            }
            Err(error) => {
                tracing::warn!(job = %job.name, %error, "cannot take the job's lease; skipping this tick");
                self.emit(JobEvent::Skipped { job: job.name.clone(), holder: holder.clone(), held_by: None });
                return;
            }
        };
        self.emit(JobEvent::Started { job: job.name.clone(), holder: holder.clone() });
        let previous = match record::load(&self.store, &job.name).await {
            Ok(previous) => previous,
            Err(error) => {
                tracing::warn!(job = %job.name, %error, "cannot read the job's last record");
                None
            }
        };
        let mut record = JobRecord {
            kind: job.kind_name().to_string(),
            resource: job.resource_name().to_string(),
            holder: holder.clone(),
            started_at: now_rfc3339(&self.store),
            finished_at: None,
            outcome: JobOutcome::Running,
            rows: 0,
            cost: 0,
            error: None,
            completed_run_id: previous.as_ref().and_then(|p| p.completed_run_id.clone()),
        };
        if let Err(error) = record::save(&self.store, &job.name, &record).await {
            tracing::warn!(job = %job.name, %error, "cannot record the job's start");
        }
        tracing::info!(job = %job.name, kind = job.kind_name(), resource = job.resource_name(), "job run started");
        let result = self.run_under(job, &lease, stop, record.completed_run_id.as_deref()).await;
        record.finished_at = Some(now_rfc3339(&self.store));
        record.outcome = result.outcome;
        record.rows = result.rows;
        record.cost = result.cost;
        record.error = match result.outcome {
            // An unchanged file keeps the verdict of the run that pushed it (e.g. its rows that failed).
            JobOutcome::Unchanged => previous
                .as_ref()
                .and_then(|p| p.error.as_ref())
                .map(|e| format!("unchanged since the last complete run, which reported: {e}")),
            _ => result.error,
        };
        if result.completed_run_id.is_some() {
            record.completed_run_id = result.completed_run_id;
        }
        match result.outcome {
            JobOutcome::Failed | JobOutcome::Problems | JobOutcome::LeaseLost => tracing::warn!(
                job = %job.name, outcome = ?record.outcome, rows = record.rows, error = ?record.error, "job run ended"
            ),
            _ => tracing::info!(job = %job.name, outcome = ?record.outcome, rows = record.rows, "job run ended"),
        }
        if let Err(error) = record::save(&self.store, &job.name, &record).await {
            tracing::warn!(job = %job.name, %error, "cannot record the job's outcome");
        }
        self.emit(JobEvent::Finished { job: job.name.clone(), holder: holder.clone(), outcome: record.outcome });
        lease.release().await;
    }

    /// Runs `job` once while watching its lease: a taken-over lease is reported (the run stops at its next
    /// safe point); failing renewals cut the run off before the lease lapses.
    async fn run_under(
        &self,
        job: &JobSpec,
        lease: &lease::JobLease,
        stop: &Stop,
        completed_run_id: Option<&str>,
    ) -> RunResult {
        let safe_point = SafePoint { stop: stop.clone(), lease: lease.state() };
        let run = async {
            match &job.kind {
                JobKind::Pull { resource, sink } => {
                    let on_page = |records| self.emit(JobEvent::Page { job: job.name.clone(), records });
                    pull_job::run(&self.client, &self.store, *resource, sink, &safe_point, on_page).await
                }
                JobKind::PushPeople { source } => {
                    push_job::run(
                        &self.client,
                        &self.store,
                        &job.name,
                        source,
                        &self.config,
                        completed_run_id,
                        &safe_point,
                    )
                    .await
                }
            }
        };
        let mut run = std::pin::pin!(run);
        let mut state = lease.state();
        loop {
            tokio::select! {
                biased;
                result = &mut run => return result,
                changed = state.changed() => {
                    if changed.is_err() {
                        // The renewal task ended (after reporting its last state): let the run reach its end or
                        // its next safe point.
                        return run.await;
                    }
                    let current = state.borrow_and_update().clone();
                    self.emit(JobEvent::Lease { job: job.name.clone(), state: current.clone() });
                    if let LeaseState::Expiring(reason) = current {
                        return RunResult { outcome: JobOutcome::LeaseLost, ..RunResult::failed(reason) };
                    }
                }
            }
        }
    }
}

/// The store's time as RFC 3339 (the store's clock, so records agree across replicas).
fn now_rfc3339(store: &Store) -> String {
    store.now().format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| store.now().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_checked() {
        for good in ["people-to-warehouse", "a", "crm.push_1", &"x".repeat(128)] {
            assert_eq!(JobSpec::check_name(good), Ok(()), "{good:?}");
        }
        for bad in ["", "a b", "job:1", "naïve", "a/b", &"x".repeat(129)] {
            assert!(JobSpec::check_name(bad).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn pull_resources_round_trip_their_names() {
        for resource in PullResource::ALL {
            assert_eq!(PullResource::parse(resource.name()), Some(resource));
        }
        assert_eq!(PullResource::parse("notes"), None, "notes are not a job resource");
    }
}
