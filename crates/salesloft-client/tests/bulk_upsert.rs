//! The bulk upsert of people against the simulator (FACTS.md §12): the happy path with duplicate emails and
//! several chunks, a 422 per record, a lost upload answer reconciled from `job_data` (no second upload), and
//! the 5 000-record limit. The simulator and the client share one manual clock: the client's poll waits
//! advance it, and the job progresses on it, so nothing sleeps.

mod support;

use std::sync::Arc;

use salesloft_client::Client;
use salesloft_client::api::Upserted;
use salesloft_client::bulk_upsert::{BulkRow, BulkUpsertConfig, NoBulkJournal, bulk_upsert_people};
use salesloft_client::clock::ManualClock;
use salesloft_client::models::{BulkJobId, PersonInput};
use salesloft_client::transport::Pipeline;
use salesloft_client::{Error, UpsertOutcome};
use salesloft_sim::{RunningSim, SimConfig, Simulator};
use serde_json::{Value, json};

/// A simulator and a client on one manual clock.
async fn start(seed_people: u64) -> (RunningSim, Client, ManualClock) {
    let clock = ManualClock::new();
    let config = SimConfig { seed_people, budget_per_minute: 1_000_000, ..SimConfig::default() };
    let sim = Simulator::start_with_clock(config, clock.shared()).await.expect("the simulator starts");
    let pipeline = Pipeline::builder(sim.base_url())
        .api_key(sim.api_key().to_string().into())
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("a pipeline for the sim");
    (sim, Client::new(pipeline), clock)
}

fn rows(inputs: Vec<PersonInput>) -> Vec<BulkRow> {
    inputs.into_iter().enumerate().map(|(i, input)| BulkRow { index: i + 2, input }).collect()
}

fn config(chunk_size: usize) -> BulkUpsertConfig {
    BulkUpsertConfig { chunk_size, job_name: "test run".to_string(), ..BulkUpsertConfig::default() }
}

fn kind(outcome: &UpsertOutcome) -> String {
    match &outcome.result {
        Ok(done) => done.kind().to_string(),
        Err(error) => format!("error: {error}"),
    }
}

/// Requests of `method` whose path ends with `suffix`, from the simulator's log.
async fn sent(sim: &RunningSim, method: &str, suffix: &str) -> usize {
    support::requests(sim, 10_000)
        .await
        .iter()
        .filter(|r| r["method"] == method && r["path"].as_str().is_some_and(|p| p.ends_with(suffix)))
        .count()
}

#[tokio::test]
async fn a_bulk_upsert_creates_updates_merges_duplicates_and_reports_every_row() {
    let (sim, client, clock) = start(5).await;
    let seeded = client.people().list().per_page(2).send().await.expect("list").data;
    let seeded_email = seeded[0].email_address.clone().expect("seeded email");
    let mut inputs = vec![PersonInput::with_email(seeded_email.to_uppercase()).title("Bulk updated")];
    for i in 0..6 {
        inputs.push(PersonInput::with_email(format!("new{i}@bulk.example")).first_name(format!("New {i}")));
    }
    inputs.push(PersonInput::default().first_name("No email"));
    inputs.push(PersonInput::with_email("NEW2@bulk.example").title("Last row wins"));
    let before = support::stat(&support::stats(&sim).await, "cost_used");

    let report = bulk_upsert_people(&client, rows(inputs), &config(3), &NoBulkJournal).await.expect("a plan");

    assert!(report.stopped.is_none(), "the run finished: {:?}", report.stopped);
    let kinds: Vec<(usize, String)> = report.outcomes.iter().map(|o| (o.index, kind(o))).collect();
    assert_eq!(kinds.len(), 9, "one outcome per row: {kinds:?}");
    assert_eq!(kinds[0], (2, "updated".to_string()), "the seeded person is updated");
    for (index, kind) in &kinds[1..7] {
        assert_eq!(kind, "created", "row {index}: {kinds:?}");
    }
    assert!(kinds[7].1.contains("missing email_address"), "the row without email fails alone: {kinds:?}");
    assert_eq!(kinds[8], (10, "updated".to_string()), "a later row of one email reads as an update");
    // 7 records in chunks of 3: 3 uploads.
    assert_eq!(sent(&sim, "POST", "/job_data").await, 3, "one upload per chunk");
    let calls = report.calls;
    assert_eq!((calls.creates, calls.uploads, calls.ready, calls.result_pages), (1, 3, 1, 1));
    let cost = support::stat(&support::stats(&sim).await, "cost_used") - before;
    assert_eq!(u64::from(calls.total()), cost, "the calls counted are the cost charged: {calls:?}");

    let merged = client.people().find_by_emails(["new2@bulk.example"]).await.expect("lookup");
    assert_eq!(merged.len(), 1, "one person for the duplicated email");
    assert_eq!(merged[0].title.as_deref(), Some("Last row wins"));
    assert_eq!(merged[0].first_name.as_deref(), Some("New 2"), "a value only the earlier row set stays");
    assert!(clock.sleeps().iter().all(|s| s.as_secs() >= 1), "the polls waited on the manual clock");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_record_refused_with_422_fails_its_rows_with_the_reason_and_the_rest_land() {
    let (sim, client, _clock) = start(0).await;
    let mut bad = PersonInput::with_email("bad@bulk.example");
    bad.job_seniority = Some("wizard".to_string());
    let inputs = vec![
        PersonInput::with_email("good@bulk.example"),
        bad,
        PersonInput::with_email("not-an-email"),
        PersonInput::with_email("also.good@bulk.example"),
    ];

    let report = bulk_upsert_people(&client, rows(inputs), &config(5_000), &NoBulkJournal).await.expect("a plan");

    assert!(report.stopped.is_none(), "{:?}", report.stopped);
    let kinds: Vec<String> = report.outcomes.iter().map(kind).collect();
    assert_eq!(kinds[0], "created");
    assert!(kinds[1].contains("422") && kinds[1].contains("job_seniority"), "the reason is kept: {kinds:?}");
    assert!(kinds[2].contains("email_address is invalid"), "{kinds:?}");
    assert_eq!(kinds[3], "created");
    match &report.outcomes[1].result {
        Err(Error::Validation { .. }) => {}
        other => panic!("a refused record is a validation error, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_lost_upload_answer_is_reconciled_from_job_data_without_a_second_upload() {
    let (sim, client, _clock) = start(0).await;
    // The second upload is stored, then its answer is lost.
    support::add_fault(
        &sim,
        json!({"method":"POST","path":"/v2/bulk_jobs/*/job_data","sequence":[{"latency_ms":0},{"drop_after":true}]}),
    )
    .await;
    let inputs = (0..5).map(|i| PersonInput::with_email(format!("p{i}@lost.example"))).collect();

    let report = bulk_upsert_people(&client, rows(inputs), &config(2), &NoBulkJournal).await.expect("a plan");

    assert!(report.stopped.is_none(), "{:?}", report.stopped);
    assert_eq!(sent(&sim, "POST", "/job_data").await, 3, "three chunks, each uploaded once");
    assert!(report.calls.reconcile_pages >= 1, "job_data was read back: {:?}", report.calls);
    assert!(report.outcomes.iter().all(|o| o.result.as_ref().is_ok_and(|u| matches!(u, Upserted::Created(_)))));
    let job = report.job.expect("a job");
    let body = client.bulk_jobs().get(job).await.expect("job");
    assert_eq!(body.total, 5, "every record stored once");
    sim.shutdown().await;
}

#[tokio::test]
async fn more_than_five_thousand_records_per_upload_is_refused_before_sending() {
    let (sim, client, _clock) = start(0).await;
    let records: Vec<Value> = (0..5_001).map(|i| json!({"email_address": format!("p{i}@big.example")})).collect();
    match client.bulk_jobs().upload(BulkJobId(1), &records).await {
        Err(Error::Construction { reason }) => assert!(reason.contains("5000") && reason.contains("5001"), "{reason}"),
        other => panic!("expected a construction error, got {other:?}"),
    }
    match bulk_upsert_people(
        &client,
        rows(vec![PersonInput::with_email("a@b.example")]),
        &config(5_001),
        &NoBulkJournal,
    )
    .await
    {
        Err(Error::Construction { reason }) => assert!(reason.contains("5001"), "{reason}"),
        other => panic!("expected a construction error, got {other:?}"),
    }
    assert_eq!(support::stat(&support::stats(&sim).await, "requests"), 0, "nothing was sent");
    sim.shutdown().await;
}
