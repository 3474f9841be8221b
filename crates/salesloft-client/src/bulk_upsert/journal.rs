//! Hooks that let a durable journal (the store's ledger in `salesloft-sync`) follow a bulk upsert from one
//! recovery point to the next, without this crate knowing about storage (as [`crate::journal`] does for the
//! row-by-row path).
//!
//! A run is a short chain of job-level steps — create the job, upload chunk 1..n, mark the job ready — then
//! one outcome per input row. The journal records each step **before** it is sent (`Creating`, `Uploading`,
//! `MarkingReady`, each refused while the pause switch is on) and when its answer came (`Created`,
//! `Uploaded`, `MarkedReady`). A step recorded as about to be sent but never answered is **in doubt** on the
//! next run, which reconciles it against SalesLoft before sending anything again.

use futures::future::BoxFuture;

use crate::Error;
use crate::api::Upserted;
use crate::models::{BulkJobId, PersonInput};

use super::plan::BulkPlan;

/// A job-level recovery point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkStep {
    /// The job is about to be created (refused while paused).
    Creating,
    /// The job was created: its id is what every later step needs.
    Created {
        /// The job.
        job: BulkJobId,
        /// Found by reconcile (an earlier attempt created it) rather than answered now.
        reconciled: bool,
    },
    /// Chunk `k` (0-based) is about to be uploaded (refused while paused).
    Uploading(usize),
    /// Chunk `k` is stored in the job (`records` records): its answer came, or reconcile found it.
    Uploaded {
        /// The chunk.
        chunk: usize,
        /// Records stored.
        records: u64,
        /// Found in `job_data` by reconcile rather than answered now.
        reconciled: bool,
    },
    /// Chunk `k` was certainly not stored (answered with an error, or found missing by reconcile): it is no
    /// longer in doubt, and the next attempt uploads it.
    NotUploaded {
        /// The chunk.
        chunk: usize,
        /// The answer's status, when the upload was answered (`None`: found missing by reconcile).
        status: Option<u16>,
    },
    /// The job is about to be marked ready (refused while paused).
    MarkingReady,
    /// The job is executing.
    MarkedReady {
        /// Found executing by reconcile rather than answered now.
        reconciled: bool,
    },
    /// Every row's outcome is recorded.
    Finished,
}

/// Where one step is, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepState {
    /// Not begun: send it.
    #[default]
    Pending,
    /// Recorded as about to be sent, never answered: reconcile before sending again.
    InDoubt,
    /// Done.
    Done,
}

/// What the journal recorded for this run before (nothing on a first run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkProgress {
    /// The job, once its id was recorded.
    pub job: Option<BulkJobId>,
    /// The create step.
    pub creating: StepState,
    /// One state per chunk of the plan.
    pub chunks: Vec<StepState>,
    /// The mark-ready step.
    pub ready: StepState,
    /// Every row's outcome was recorded by an earlier run.
    pub finished: bool,
}

/// One row's outcome, handed to [`BulkJournal::row`].
#[derive(Debug)]
pub struct RowOutcome<'a> {
    /// The row's index.
    pub index: usize,
    /// The normalized email.
    pub email: &'a str,
    /// The row as given.
    pub input: &'a PersonInput,
    /// The job that applied it.
    pub job: BulkJobId,
    /// The record's id in the job, when its result row was read.
    pub record_id: Option<i64>,
    /// Created or updated, or why SalesLoft refused it.
    pub outcome: &'a Result<Upserted, Error>,
}

/// A journal for one bulk run.
pub trait BulkJournal: Send + Sync {
    /// Records `plan` before anything is sent (a plan recorded earlier must be the same one, or the run is
    /// refused), and returns what earlier runs recorded.
    fn open<'a>(&'a self, plan: &'a BulkPlan) -> BoxFuture<'a, Result<BulkProgress, Error>>;

    /// Records `step`. The steps about to send something return [`Error::Paused`] while the pause switch is
    /// on, and nothing is sent.
    fn step(&self, step: BulkStep) -> BoxFuture<'_, Result<(), Error>>;

    /// Records one row's outcome (a row recorded earlier is left as it is: this is called again on reruns).
    fn row<'a>(&'a self, row: RowOutcome<'a>) -> BoxFuture<'a, Result<(), Error>>;
}

/// A journal that records nothing: every run starts afresh (for one-off scripts and tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBulkJournal;

impl BulkJournal for NoBulkJournal {
    fn open<'a>(&'a self, plan: &'a BulkPlan) -> BoxFuture<'a, Result<BulkProgress, Error>> {
        let progress =
            BulkProgress { chunks: vec![StepState::Pending; plan.chunks().len()], ..BulkProgress::default() };
        Box::pin(async move { Ok(progress) })
    }

    fn step(&self, _step: BulkStep) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }

    fn row<'a>(&'a self, _row: RowOutcome<'a>) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }
}
