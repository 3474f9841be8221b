//! The bulk ledger without SalesLoft, on SQLite and on PostgreSQL: what it records is what the next run reads
//! back (job id, chunks done or in doubt, mark-ready), the pause switch refuses every "about to send" step, the
//! same run id with another plan is refused, and a row refused by SalesLoft keeps its one audit record.
//!
//! PostgreSQL tests need `SLPROD_TEST_PG_URL`; without it they fail, they never skip.

use std::time::Duration;

use salesloft_client::Error;
use salesloft_client::bulk_upsert::{BulkJournal, BulkPlan, BulkRow, BulkStep, RowOutcome, StepState};
use salesloft_client::error::ValidationError;
use salesloft_client::models::{BulkJobId, PersonInput};
use salesloft_store::Store;
use salesloft_sync::{BulkLedger, RunId};
use salesloft_testkit::{Backend, on_both_backends};

async fn store(backend: Backend) -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = salesloft_store::open(&backend.store_url(dir.path())).await.expect("the store opens");
    (store, dir)
}

fn plan(emails: &[&str], chunk: usize) -> BulkPlan {
    let rows = emails.iter().enumerate().map(|(i, e)| BulkRow { index: i + 1, input: PersonInput::with_email(*e) });
    BulkPlan::new(rows.collect(), chunk).expect("plan")
}

fn ledger(store: &Store, run: &str) -> BulkLedger {
    BulkLedger::new(store.clone(), RunId::new(run).expect("run id"), "test", Duration::from_secs(30))
}

on_both_backends!(
    super;
    the_next_run_reads_back_every_recorded_step,
    the_pause_switch_refuses_each_step_that_would_send,
    another_plan_under_the_same_run_id_is_refused,
    a_refused_row_is_recorded_once,
);

async fn the_next_run_reads_back_every_recorded_step(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let plan = plan(&["a@x.example", "b@x.example", "c@x.example"], 2);
    let first = ledger(&store, "r1");
    let progress = first.open(&plan).await.expect("open");
    assert_eq!(
        (progress.job, progress.creating, progress.chunks.clone()),
        (None, StepState::Pending, vec![StepState::Pending; 2])
    );
    first.step(BulkStep::Creating).await.expect("creating");
    assert_eq!(
        ledger(&store, "r1").open(&plan).await.expect("reopen").creating,
        StepState::InDoubt,
        "a create in doubt"
    );
    first.step(BulkStep::Created { job: BulkJobId(7), reconciled: false }).await.expect("created");
    first.step(BulkStep::Uploading(0)).await.expect("uploading");
    first.step(BulkStep::Uploaded { chunk: 0, records: 2, reconciled: false }).await.expect("uploaded");
    first.step(BulkStep::Uploading(1)).await.expect("uploading 2");

    let progress = ledger(&store, "r1").open(&plan).await.expect("reopen");
    assert_eq!(progress.job, Some(BulkJobId(7)));
    assert_eq!(progress.chunks, vec![StepState::Done, StepState::InDoubt], "chunk 2 is in doubt");
    assert_eq!(progress.ready, StepState::Pending);
    let audit = store.audit().records(1, 100).await.expect("audit");
    let operations: Vec<&str> = audit.iter().map(|r| r.operation.as_str()).collect();
    assert_eq!(operations, ["bulk_jobs.create", "bulk_jobs.job_data.create"], "one record per mutation answered");
    assert!(!audit[1].request.contains("@"), "the audit keeps no email of an upload: {}", audit[1].request);

    // The upload's answer was lost and reconcile (in this process, still holding the step's lease) finds
    // chunk 2 missing: it is pending again, and its next upload goes ahead. (Another live process would be
    // refused the step while this one holds it.)
    let other = ledger(&store, "r1");
    other.open(&plan).await.expect("open");
    match other.step(BulkStep::Uploading(1)).await {
        Err(Error::Journal { message, .. }) => assert!(message.contains("in progress"), "{message}"),
        other => panic!("a step leased by a live holder is refused, got {other:?}"),
    }
    let second = first;
    second.step(BulkStep::NotUploaded { chunk: 1, status: None }).await.expect("not uploaded");
    assert_eq!(ledger(&store, "r1").open(&plan).await.expect("reopen").chunks[1], StepState::Pending);
    second.step(BulkStep::Uploading(1)).await.expect("uploading again");
    second.step(BulkStep::Uploaded { chunk: 1, records: 1, reconciled: false }).await.expect("uploaded");
    second.step(BulkStep::MarkingReady).await.expect("marking ready");
    second.step(BulkStep::MarkedReady { reconciled: false }).await.expect("ready");
    second.step(BulkStep::Finished).await.expect("finished");
    let progress = ledger(&store, "r1").open(&plan).await.expect("reopen");
    assert_eq!((progress.ready, progress.finished), (StepState::Done, true));
}

async fn the_pause_switch_refuses_each_step_that_would_send(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let plan = plan(&["a@x.example"], 1);
    let journal = ledger(&store, "r2");
    journal.open(&plan).await.expect("open");
    store.pause().set_paused(true, "ops", "drill").await.expect("pause");
    for step in [BulkStep::Creating, BulkStep::Uploading(0), BulkStep::MarkingReady] {
        match journal.step(step).await {
            Err(Error::Paused { by, reason }) => assert_eq!((by.as_str(), reason.as_str()), ("ops", "drill")),
            other => panic!("{step:?}: expected Paused, got {other:?}"),
        }
    }
    let progress = ledger(&store, "r2").open(&plan).await.expect("reopen");
    assert_eq!(
        (progress.creating, progress.chunks[0], progress.ready),
        (StepState::Pending, StepState::Pending, StepState::Pending),
        "nothing marked sent"
    );
}

async fn another_plan_under_the_same_run_id_is_refused(backend: Backend) {
    let (store, _dir) = store(backend).await;
    ledger(&store, "r3").open(&plan(&["a@x.example"], 1)).await.expect("open");
    match ledger(&store, "r3").open(&plan(&["b@x.example"], 1)).await {
        Err(Error::Journal { message, .. }) => assert!(message.contains("another plan"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn a_refused_row_is_recorded_once(backend: Backend) {
    let (store, _dir) = store(backend).await;
    let plan = plan(&["a@x.example"], 1);
    let input = &plan.rows()[0].input;
    let refused = Err(Error::Validation {
        operation: "bulk_jobs.person_upsert".into(),
        error: ValidationError { errors: Default::default(), message: Some("email_address is invalid".into()) },
    });
    for _ in 0..2 {
        let journal = ledger(&store, "r4");
        journal.open(&plan).await.expect("open");
        let row = RowOutcome {
            index: 1,
            email: "a@x.example",
            input,
            job: BulkJobId(3),
            record_id: Some(9),
            outcome: &refused,
        };
        journal.row(row).await.expect("row");
    }
    let audit = store.audit().records(1, 100).await.expect("audit");
    assert_eq!(audit.len(), 1, "one audit record for the row: {audit:?}");
    assert_eq!((audit[0].operation.as_str(), audit[0].response_status), ("people.bulk_upsert", Some(422)));
    assert_eq!(audit[0].idempotency_key.as_deref(), Some("people.upsert:r4:1"), "the row-by-row key");
    let entry = store.ledger().get("people.upsert:r4:1").await.expect("get").expect("entry");
    assert_eq!(entry.phase, salesloft_store::Phase::Failed);
}
