//! The ledgered upsert against the simulator, on SQLite and on a real PostgreSQL server: one audit record per
//! mutation SalesLoft received, a verifying chain, replay on rerun, reconciliation of an in-doubt create, and
//! refusal of a row whose key now names another payload.
//!
//! PostgreSQL tests need `SLPROD_TEST_PG_URL` (`eval "$(scripts/pg-test-server.sh start)"`); without it they
//! fail, they never skip.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use salesloft_client::api::Upserted;
use salesloft_client::journal::{JournalOpen, Mutation, RowJournal, UpsertJournal};
use salesloft_client::models::PersonInput;
use salesloft_client::upsert::{UpsertConfig, UpsertOutcome, upsert_people_journaled};
use salesloft_client::{Client, Error};
use salesloft_sim::{RunningSim, SimConfig, Simulator};
use salesloft_store::{ManualClock, Store, StoreOptions, StoreUrl};
use salesloft_sync::{JournalConfig, LedgerJournal, RunId};
use salesloft_testkit::{Backend, on_both_backends};
use serde_json::Value;

struct Fixture {
    sim: RunningSim,
    client: Client,
    store: Store,
    clock: ManualClock,
    _dir: tempfile::TempDir,
}

async fn fixture(backend: Backend) -> Fixture {
    let sim = Simulator::start(SimConfig { seed_people: 0, budget_per_minute: 1_000_000, ..SimConfig::default() })
        .await
        .expect("the simulator starts");
    let client = Client::with_api_key(sim.base_url(), sim.api_key().to_string().into()).expect("client");
    let clock = ManualClock::new(time::OffsetDateTime::now_utc());
    let dir = tempfile::tempdir().expect("tempdir");
    let url = StoreUrl::parse(&backend.store_url(dir.path())).expect("the test store URL parses");
    let options = StoreOptions { clock: Arc::new(clock.clone()), ..StoreOptions::default() };
    let store = salesloft_store::open_with(&url, options).await.expect("the store opens");
    Fixture { sim, client, store, clock, _dir: dir }
}

fn journal(store: &Store, run: &str) -> LedgerJournal {
    LedgerJournal::new(
        store.clone(),
        RunId::new(run).expect("run id"),
        JournalConfig {
            actor: "test".into(),
            lock_ttl: Duration::from_secs(90),
            lock_wait: Duration::from_secs(5),
            ..JournalConfig::default()
        },
    )
}

/// Successful person mutations SalesLoft received (POST /v2/people and PUT /v2/people/{id} answered 200).
async fn landed_mutations(sim: &RunningSim) -> u64 {
    let mutations = salesloft_testkit::sim::requests_to(sim.root_url(), &["POST", "PUT"], "/v2/people").await;
    mutations.iter().filter(|r| r["status"] == 200).count() as u64
}

fn kinds(outcomes: &[UpsertOutcome]) -> (usize, usize, usize, usize) {
    let count = |kind: &str| outcomes.iter().filter(|o| o.result.as_ref().is_ok_and(|u| u.kind() == kind)).count();
    (count("created"), count("updated"), count("unchanged"), outcomes.iter().filter(|o| o.result.is_err()).count())
}

fn people(range: std::ops::Range<usize>, title: &str) -> Vec<PersonInput> {
    range.map(|i| PersonInput::with_email(format!("p{i}@sync.example")).title(title)).collect()
}

async fn audit_records(store: &Store) -> Vec<salesloft_store::AuditRecord> {
    store.audit().records(1, 100_000).await.expect("audit records")
}

on_both_backends!(
    super;
    every_mutation_has_one_audit_record_and_the_chain_verifies,
    a_rerun_of_the_same_run_replays_and_sends_nothing,
    an_in_doubt_create_is_reconciled_not_duplicated,
    a_taken_create_and_its_update_are_both_recorded,
    an_edited_row_under_the_same_run_is_refused,
    a_pause_during_a_run_stops_the_rows_under_way_and_resume_finishes_them,
    a_row_that_failed_for_a_passing_reason_is_tried_again_on_rerun,
    the_ledger_keeps_only_what_recovery_needs,
    a_lease_lost_while_a_call_waits_stops_the_row_before_the_retry,
    a_live_holders_row_is_waited_for_not_taken_over_or_failed,
    a_permanent_failure_is_replayed_unless_retry_failed,
);

async fn every_mutation_has_one_audit_record_and_the_chain_verifies(backend: Backend) {
    let f = fixture(backend).await;
    let config = UpsertConfig::default();
    let first = upsert_people_journaled(&f.client, people(0..30, "First"), &config, &journal(&f.store, "one")).await;
    assert_eq!(kinds(&first), (30, 0, 0, 0), "first run: 30 created");

    // A second run changes half of them and leaves the rest as they are.
    let mut rows = people(0..15, "Second");
    rows.extend(people(15..30, "First"));
    let second = upsert_people_journaled(&f.client, rows, &config, &journal(&f.store, "two")).await;
    assert_eq!(kinds(&second), (0, 15, 15, 0), "second run: 15 updated, 15 unchanged");

    let landed = landed_mutations(&f.sim).await;
    let records = audit_records(&f.store).await;
    assert_eq!(landed, 45, "SalesLoft received 30 creates and 15 updates");
    assert_eq!(records.len() as u64, landed, "one audit record per mutation");
    assert_eq!(records.iter().filter(|r| r.operation == "people.create").count(), 30);
    assert_eq!(records.iter().filter(|r| r.operation == "people.update").count(), 15);
    assert!(records.iter().all(|r| r.response_status == Some(200)), "statuses recorded");
    let exported = serde_json::to_string(&records.iter().map(|r| &r.request).collect::<Vec<_>>()).expect("json");
    assert!(
        (0..30).all(|i| !exported.contains(&format!("p{i}@sync.example"))),
        "emails are masked in the audit log: {exported}"
    );
    let report = f.store.audit().verify().await.expect("verify");
    assert!(report.ok, "the chain verifies: {report:?}");
    f.sim.shutdown().await;
}

async fn a_rerun_of_the_same_run_replays_and_sends_nothing(backend: Backend) {
    let f = fixture(backend).await;
    let config = UpsertConfig::default();
    let rows = people(0..10, "Once");
    let first = upsert_people_journaled(&f.client, rows.clone(), &config, &journal(&f.store, "same")).await;
    assert_eq!(kinds(&first), (10, 0, 0, 0));
    let before = salesloft_testkit::sim::stats(f.sim.root_url()).await["requests"].as_u64().expect("requests");

    let again = upsert_people_journaled(&f.client, rows, &config, &journal(&f.store, "same")).await;
    assert_eq!(kinds(&again), (10, 0, 0, 0), "the recorded results are replayed");
    let after = salesloft_testkit::sim::stats(f.sim.root_url()).await["requests"].as_u64().expect("requests");
    assert_eq!(after - before, 1, "only the batched lookup was sent on the rerun");
    assert_eq!(audit_records(&f.store).await.len(), 10, "no new audit records");
    f.sim.shutdown().await;
}

async fn an_in_doubt_create_is_reconciled_not_duplicated(backend: Backend) {
    let f = fixture(backend).await;
    let input = PersonInput::with_email("doubt@sync.example").title("Doubt");
    let crashed = journal(&f.store, "crash");
    // The crashed process: opened the row, advanced to *request sent*, and its POST landed — then it died
    // before recording the answer (its lease and lock are never released).
    let JournalOpen::Proceed { mut row, in_doubt, .. } =
        crashed.open(0, "doubt@sync.example", &input).await.expect("open")
    else {
        panic!("a new row proceeds");
    };
    assert!(!in_doubt);
    row.sending(Mutation::Create, &serde_json::to_value(&input).expect("json")).await.expect("sending");
    f.client.people().create(&input).await.expect("the create lands");
    std::mem::forget(row);

    // The rerun, after the dead holder's lease has lapsed.
    f.clock.advance(Duration::from_secs(91));
    let outcomes =
        upsert_people_journaled(&f.client, vec![input], &UpsertConfig::default(), &journal(&f.store, "crash")).await;
    assert!(
        matches!(outcomes[0].result, Ok(Upserted::Unchanged(_))),
        "expected the in-doubt create to be found, got {:?}",
        outcomes[0].result
    );
    let found = f.client.people().find_by_emails(["doubt@sync.example"]).await.expect("lookup");
    assert_eq!(found.len(), 1, "exactly one person");
    let records = audit_records(&f.store).await;
    let operations: Vec<&str> = records.iter().map(|r| r.operation.as_str()).collect();
    assert_eq!(operations, ["people.reconcile"], "the landed create is accounted for once");
    assert!(f.store.audit().verify().await.expect("verify").ok);
    f.sim.shutdown().await;
}

async fn a_taken_create_and_its_update_are_both_recorded(backend: Backend) {
    let f = fixture(backend).await;
    f.client.people().create(&PersonInput::with_email("race@sync.example")).await.expect("pre-create");
    // The batched lookup answers from a stale view (the person appears just after it ran).
    let stale = serde_json::json!({"method": "GET", "path": "/v2/people", "sequence": [{"status": 200, "body": {
        "data": [], "metadata": {"filtering": {}, "paging": {"per_page": 100, "current_page": 1, "next_page": null, "prev_page": null}, "sorting": {}}
    }}]});
    add_fault(&f.sim, stale).await;

    let outcomes = upsert_people_journaled(
        &f.client,
        vec![PersonInput::with_email("race@sync.example").title("Won")],
        &UpsertConfig::default(),
        &journal(&f.store, "race"),
    )
    .await;
    assert!(matches!(outcomes[0].result, Ok(Upserted::Updated(_))), "got {:?}", outcomes[0].result);
    let records = audit_records(&f.store).await;
    let seen: Vec<(&str, Option<i64>)> = records.iter().map(|r| (r.operation.as_str(), r.response_status)).collect();
    assert_eq!(seen, [("people.create", Some(422)), ("people.update", Some(200))]);
    assert!(f.store.audit().verify().await.expect("verify").ok);
    f.sim.shutdown().await;
}

async fn an_edited_row_under_the_same_run_is_refused(backend: Backend) {
    let f = fixture(backend).await;
    let config = UpsertConfig::default();
    let first = upsert_people_journaled(&f.client, people(0..1, "Original"), &config, &journal(&f.store, "edit")).await;
    assert_eq!(kinds(&first), (1, 0, 0, 0));
    let edited = upsert_people_journaled(&f.client, people(0..1, "Edited"), &config, &journal(&f.store, "edit")).await;
    match &edited[0].result {
        Err(Error::Journal { message, .. }) => assert!(message.contains("different payload"), "{message}"),
        other => panic!("expected a journal conflict, got {other:?}"),
    }
    let other_run =
        upsert_people_journaled(&f.client, people(0..1, "Edited"), &config, &journal(&f.store, "edit-2")).await;
    assert_eq!(kinds(&other_run), (0, 1, 0, 0), "a new run applies the edit");
    f.sim.shutdown().await;
}

/// Wraps a journal and turns the pause switch on just before row `pause_at` marks its mutation sent: the
/// moment an operator runs `slprod pause` while a push is under way.
struct PauseMidRun {
    inner: LedgerJournal,
    store: Store,
    pause_at: usize,
}

struct PauseMidRunRow {
    inner: Box<dyn RowJournal>,
    pause: Option<Store>,
}

impl UpsertJournal for PauseMidRun {
    fn open<'a>(
        &'a self,
        index: usize,
        email: &'a str,
        input: &'a PersonInput,
    ) -> BoxFuture<'a, Result<JournalOpen, Error>> {
        async move {
            Ok(match self.inner.open(index, email, input).await? {
                JournalOpen::Proceed { row, in_doubt, key } => {
                    let pause = (index == self.pause_at).then(|| self.store.clone());
                    JournalOpen::Proceed { row: Box::new(PauseMidRunRow { inner: row, pause }), in_doubt, key }
                }
                other => other,
            })
        }
        .boxed()
    }
}

impl RowJournal for PauseMidRunRow {
    fn sending<'a>(&'a mut self, mutation: Mutation, body: &'a Value) -> BoxFuture<'a, Result<(), Error>> {
        async move {
            if let Some(store) = self.pause.take() {
                store.pause().set_paused(true, "ops", "incident drill").await.expect("pause");
            }
            self.inner.sending(mutation, body).await
        }
        .boxed()
    }

    fn answered<'a>(&'a mut self, mutation: Mutation, status: Option<u16>) -> BoxFuture<'a, Result<(), Error>> {
        self.inner.answered(mutation, status)
    }

    fn finish<'a>(
        self: Box<Self>,
        outcome: &'a Result<Upserted, Error>,
        reconciled: bool,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.inner.finish(outcome, reconciled)
    }
}

async fn a_pause_during_a_run_stops_the_rows_under_way_and_resume_finishes_them(backend: Backend) {
    let f = fixture(backend).await;
    let config = UpsertConfig { concurrency: 1, ..UpsertConfig::default() };
    let paused_run = PauseMidRun { inner: journal(&f.store, "pause"), store: f.store.clone(), pause_at: 4 };
    let first = upsert_people_journaled(&f.client, people(0..10, "Paused"), &config, &paused_run).await;
    assert_eq!(kinds(&first).0, 4, "rows before the pause were created: {first:?}");
    for outcome in &first[4..] {
        assert!(
            matches!(outcome.result, Err(Error::Paused { .. })),
            "row {} must stop on the pause, got {:?}",
            outcome.index,
            outcome.result
        );
    }
    assert_eq!(landed_mutations(&f.sim).await, 4, "no mutation was sent once the pause was set");

    f.store.pause().set_paused(false, "ops", "drill over").await.expect("resume");
    let second =
        upsert_people_journaled(&f.client, people(0..10, "Paused"), &config, &journal(&f.store, "pause")).await;
    assert_eq!(kinds(&second), (10, 0, 0, 0), "resume: 4 replayed and 6 created");
    assert_eq!(landed_mutations(&f.sim).await, 10, "one create per row in all");
    for i in 0..10 {
        let found = f.client.people().find_by_emails([format!("p{i}@sync.example")]).await.expect("lookup");
        assert_eq!(found.len(), 1, "p{i}: exactly one person");
    }
    assert_eq!(audit_records(&f.store).await.len(), 10, "one audit record per create");
    f.sim.shutdown().await;
}

async fn add_fault(sim: &RunningSim, rule: Value) {
    salesloft_testkit::sim::add_fault(sim.root_url(), rule).await
}

async fn a_row_that_failed_for_a_passing_reason_is_tried_again_on_rerun(backend: Backend) {
    let f = fixture(backend).await;
    let person = f.client.people().create(&PersonInput::with_email("gone@sync.example")).await.expect("create");
    // The update meets a 404 (the person looked deleted for a moment): not a permanent failure.
    add_fault(
        &f.sim,
        serde_json::json!({"method": "PUT", "path": format!("/v2/people/{}", person.id.0), "sequence": [{"status": 404}]}),
    )
    .await;
    let rows = vec![PersonInput::with_email("gone@sync.example").title("Back")];
    let first =
        upsert_people_journaled(&f.client, rows.clone(), &UpsertConfig::default(), &journal(&f.store, "404")).await;
    assert!(first[0].result.as_ref().err().and_then(Error::status).is_some_and(|s| s == 404), "{first:?}");
    let again = upsert_people_journaled(&f.client, rows, &UpsertConfig::default(), &journal(&f.store, "404")).await;
    assert!(
        matches!(again[0].result, Ok(Upserted::Updated(_))),
        "the rerun sends the row again instead of replaying the 404: {:?}",
        again[0].result
    );
    f.sim.shutdown().await;
}

async fn a_permanent_failure_is_replayed_unless_retry_failed(backend: Backend) {
    let f = fixture(backend).await;
    add_fault(
        &f.sim,
        serde_json::json!({"method": "POST", "path": "/v2/people", "sequence": [
            {"status": 422, "body": {"errors": {"title": ["is reserved"]}}}
        ]}),
    )
    .await;
    let rows = vec![PersonInput::with_email("strict@sync.example").title("Reserved")];
    let config = UpsertConfig::default();
    let first = upsert_people_journaled(&f.client, rows.clone(), &config, &journal(&f.store, "422")).await;
    assert!(matches!(first[0].result, Err(Error::Validation { .. })), "{first:?}");
    let replayed = upsert_people_journaled(&f.client, rows.clone(), &config, &journal(&f.store, "422")).await;
    match &replayed[0].result {
        Err(Error::Journal { message, .. }) => assert!(message.contains("--retry-failed"), "{message}"),
        other => panic!("a 422 is replayed, got {other:?}"),
    }
    let retry = LedgerJournal::new(
        f.store.clone(),
        RunId::new("422").expect("run id"),
        JournalConfig { actor: "test".into(), retry_failed: true, ..JournalConfig::default() },
    );
    let retried = upsert_people_journaled(&f.client, rows, &config, &retry).await;
    assert!(matches!(retried[0].result, Ok(Upserted::Created(_))), "--retry-failed sends it again: {retried:?}");
    assert_eq!(f.client.people().find_by_emails(["strict@sync.example"]).await.expect("lookup").len(), 1);
    f.sim.shutdown().await;
}

async fn the_ledger_keeps_only_what_recovery_needs(backend: Backend) {
    let f = fixture(backend).await;
    let rows = vec![PersonInput::with_email("private@sync.example").first_name("Ada").title("Secret title")];
    let config = UpsertConfig::default();
    let first = upsert_people_journaled(&f.client, rows.clone(), &config, &journal(&f.store, "pii")).await;
    assert!(matches!(first[0].result, Ok(Upserted::Created(_))), "{first:?}");
    let record = f.store.ledger().get("people.upsert:pii:0").await.expect("get").expect("the row's entry");
    let result = record.result.expect("a recorded result");
    let mut fields: Vec<&str> = result.as_object().expect("an object").keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["id", "kind", "updated_at"], "no personal data in the ledger: {result}");
    let text = result.to_string();
    assert!(!text.contains("private@") && !text.contains("Ada") && !text.contains("Secret"), "{text}");
    // …and that is enough to replay the row.
    let again = upsert_people_journaled(&f.client, rows, &config, &journal(&f.store, "pii")).await;
    match &again[0].result {
        Ok(Upserted::Created(person)) => {
            assert_eq!(Some(person.id), first[0].result.as_ref().ok().and_then(|p| p.person()).map(|p| p.id))
        }
        other => panic!("expected the replayed create, got {other:?}"),
    }
    f.sim.shutdown().await;
}

/// POST /v2/people requests SalesLoft received (any answer).
async fn creates_received(sim: &RunningSim) -> usize {
    salesloft_testkit::sim::requests_to(sim.root_url(), &["POST"], "/v2/people").await.len()
}

async fn a_lease_lost_while_a_call_waits_stops_the_row_before_the_retry(backend: Backend) {
    let f = fixture(backend).await;
    // The create is answered 429 with a 2 s Retry-After: the call then waits inside the pipeline before its
    // retry. A lease of 300 ms (store time) is renewed every 100 ms meanwhile.
    add_fault(
        &f.sim,
        serde_json::json!({"method": "POST", "path": "/v2/people", "sequence": [{"status": 429, "retry_after": 2}]}),
    )
    .await;
    let input = PersonInput::with_email("slow@sync.example").title("Slow");
    let journal = LedgerJournal::new(
        f.store.clone(),
        RunId::new("slow").expect("run id"),
        JournalConfig {
            actor: "test".into(),
            lock_ttl: Duration::from_millis(300),
            lock_wait: Duration::from_secs(5),
            ..JournalConfig::default()
        },
    );
    let client = f.client.clone();
    let row = input.clone();
    let running =
        tokio::spawn(
            async move { upsert_people_journaled(&client, vec![row], &UpsertConfig::default(), &journal).await },
        );
    // Once the create is marked sent, the lease lapses (store time) and another process takes the row over.
    // Polled by tries, not by time: each try is a store round trip, which paces the loop.
    let key = "people.upsert:slow:0";
    let mut tries = 0;
    loop {
        let entry = f.store.ledger().get(key).await.expect("get");
        if entry.is_some_and(|e| e.phase == salesloft_store::Phase::RequestSent) {
            break;
        }
        tries += 1;
        assert!(tries < 100_000, "the row never reached request_sent");
        tokio::task::yield_now().await;
    }
    f.clock.advance(Duration::from_secs(1));
    let fingerprint = salesloft_sync::row_fingerprint("slow@sync.example", &input);
    let other = f.store.ledger().begin(key, &fingerprint, "other-process", Duration::from_secs(90)).await;
    assert!(matches!(other, Ok(salesloft_store::Begin::Resume { .. })), "the other process takes over: {other:?}");

    // A hang guard only: without the guard the row would go on to retry after the Retry-After.
    let outcomes = tokio::time::timeout(Duration::from_secs(30), running).await.expect("the row ends").expect("join");
    match &outcomes[0].result {
        Err(Error::Journal { message, .. }) => assert!(message.contains("taken over"), "{message}"),
        other => panic!("expected the lost lease to stop the row, got {other:?}"),
    }
    assert_eq!(creates_received(&f.sim).await, 1, "the retry was never sent once the lease was lost");
    f.sim.shutdown().await;
}

async fn a_live_holders_row_is_waited_for_not_taken_over_or_failed(backend: Backend) {
    let f = fixture(backend).await;
    let input = PersonInput::with_email("busy@sync.example").title("Busy");
    // A live holder (this very process, so provably alive) opened the row and is still working on it.
    let holder = journal(&f.store, "busy");
    let JournalOpen::Proceed { row, .. } = holder.open(0, "busy@sync.example", &input).await.expect("open") else {
        panic!("a new row proceeds");
    };
    let impatient = LedgerJournal::new(
        f.store.clone(),
        RunId::new("busy").expect("run id"),
        JournalConfig { actor: "test".into(), lock_wait: Duration::from_millis(50), ..JournalConfig::default() },
    );
    let waited = upsert_people_journaled(&f.client, vec![input.clone()], &UpsertConfig::default(), &impatient).await;
    match &waited[0].result {
        Err(Error::Journal { message, .. }) => assert!(message.contains("rerun"), "{message}"),
        other => panic!("a live holder's row is waited for, not taken over: {other:?}"),
    }
    assert_eq!(landed_mutations(&f.sim).await, 0, "nothing was sent while the live holder had the row");
    let record = f.store.ledger().get("people.upsert:busy:0").await.expect("get").expect("entry");
    assert_ne!(record.phase, salesloft_store::Phase::Failed, "waiting is never recorded as a failure");
    // The holder goes away without a word; once its lease has run out a rerun finishes the row.
    std::mem::forget(row);
    f.clock.advance(Duration::from_secs(91));
    let rerun =
        upsert_people_journaled(&f.client, vec![input], &UpsertConfig::default(), &journal(&f.store, "busy")).await;
    assert!(matches!(rerun[0].result, Ok(Upserted::Created(_))), "{rerun:?}");
    f.sim.shutdown().await;
}
