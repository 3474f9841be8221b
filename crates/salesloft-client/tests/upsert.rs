//! Upsert by email against the simulator: batched lookups, create vs update, the 422 "taken" fallback.

mod support;

use salesloft_client::api::Upserted;
use salesloft_client::models::{Person, PersonInput};
use salesloft_client::transport::IdempotencyKey;
use salesloft_client::{UpsertOutcome, upsert_people};
use serde_json::json;

fn count(outcomes: &[UpsertOutcome], kind: &str) -> usize {
    outcomes.iter().filter(|o| o.result.as_ref().is_ok_and(|u| u.kind() == kind)).count()
}

async fn existing_people(client: &salesloft_client::Client, n: u32) -> Vec<Person> {
    client.people().list().per_page(n).send().await.expect("list").data
}

#[tokio::test]
async fn existing_and_new_emails_are_updated_and_created_once() {
    let (sim, client) = support::start(50).await;
    let existing = existing_people(&client, 30).await;
    let mut inputs: Vec<PersonInput> = existing
        .iter()
        .map(|p| {
            PersonInput::with_email(p.email_address.clone().expect("seeded email").to_uppercase()).title("Upserted")
        })
        .collect();
    for i in 0..20 {
        inputs.push(PersonInput::with_email(format!("new{i}@upsert.example")).first_name("New"));
    }
    inputs.push(PersonInput::default().first_name("No email"));
    inputs.push(PersonInput::with_email("new3@upsert.example").title("Second row for the same email"));
    let before = support::stat(&support::stats(&sim).await, "cost_used");

    let outcomes = upsert_people(&client, inputs).await;

    assert_eq!(outcomes.len(), 52, "one outcome per row");
    assert!(outcomes.windows(2).all(|w| w[0].index < w[1].index), "outcomes in input order");
    assert_eq!(count(&outcomes, "created"), 20, "created");
    assert_eq!(count(&outcomes, "updated"), 31, "updated (30 existing + the repeated new email)");
    let failed: Vec<_> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    assert_eq!(failed.len(), 1, "only the row without an email fails, got {failed:?}");
    assert_eq!(failed[0].index, 50);
    let message = failed[0].result.as_ref().err().map(ToString::to_string).unwrap_or_default();
    assert!(message.contains("email_address"), "the failure names the missing email: {message}");

    // One lookup for the chunk + 20 creates + 31 updates.
    let cost = support::stat(&support::stats(&sim).await, "cost_used") - before;
    assert_eq!(cost, 52, "expected cost 1 + 20 + 31 = 52, got {cost}");

    let repeated = client.people().find_by_emails(["new3@upsert.example"]).await.expect("lookup");
    assert_eq!(repeated.len(), 1, "no duplicate person, got {}", repeated.len());
    assert_eq!(repeated[0].title.as_deref(), Some("Second row for the same email"), "rows applied in order");

    sim.shutdown().await;
}

#[tokio::test]
async fn rerunning_the_same_rows_sends_only_the_lookup() {
    let (sim, client) = support::start(20).await;
    let inputs: Vec<PersonInput> =
        (0..10).map(|i| PersonInput::with_email(format!("same{i}@upsert.example")).title("Same")).collect();
    let first = upsert_people(&client, inputs.clone()).await;
    assert_eq!(count(&first, "created"), 10);
    let before = support::stat(&support::stats(&sim).await, "cost_used");
    let second = upsert_people(&client, inputs).await;
    assert_eq!(count(&second, "unchanged"), 10, "nothing to change the second time");
    let cost = support::stat(&support::stats(&sim).await, "cost_used") - before;
    assert_eq!(cost, 1, "expected one lookup, got cost {cost}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_person_created_behind_our_back_is_updated_after_the_422() {
    let (sim, client) = support::start(0).await;
    let racer = client.people().create(&PersonInput::with_email("Race@Example.com")).await.expect("pre-create");
    // The upsert's lookup sees a stale, empty answer (as if the person was created just after it ran).
    support::add_fault(
        &sim,
        json!({"method": "GET", "path": "/v2/people", "sequence": [{"status": 200, "body": {
            "data": [], "metadata": {"filtering": {}, "paging": {"per_page": 100, "current_page": 1, "next_page": null, "prev_page": null}, "sorting": {}}
        }}]}),
    )
    .await;

    let outcomes = upsert_people(&client, vec![PersonInput::with_email("race@example.com").title("Won")]).await;

    match &outcomes[0].result {
        Ok(Upserted::Updated(person)) => {
            assert_eq!(person.id, racer.id, "the existing person was updated");
            assert_eq!(person.title.as_deref(), Some("Won"));
        }
        other => panic!("expected Updated after the 422 taken, got {other:?}"),
    }
    let log = support::requests(&sim, 10).await;
    let statuses: Vec<(String, u64)> = log
        .iter()
        .rev()
        .map(|r| (r["method"].as_str().unwrap_or("").to_string(), r["status"].as_u64().unwrap_or(0)))
        .collect();
    assert!(statuses.contains(&("POST".to_string(), 422)), "the create was refused with 422: {statuses:?}");
    let all = client.people().find_by_emails(["race@example.com"]).await.expect("lookup");
    assert_eq!(all.len(), 1, "still exactly one person");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_single_upsert_builder_creates_then_updates() {
    let (sim, client) = support::start(0).await;
    let people = client.people();
    let first = people
        .upsert_by_email(PersonInput::with_email(" Ada@Example.com ").first_name("Ada"))
        .idempotency_key(IdempotencyKey::new("test-ada-1").expect("key"))
        .send()
        .await
        .expect("first upsert");
    assert!(matches!(first, Upserted::Created(_)), "expected Created, got {first:?}");
    let second = people.upsert_by_email(PersonInput::with_email("ada@example.com").title("Countess")).send().await;
    match second {
        Ok(Upserted::Updated(person)) => assert_eq!(Some(person.id), first.person().map(|p| p.id)),
        other => panic!("expected Updated, got {other:?}"),
    }
    let error = people.upsert_by_email(PersonInput::default()).send().await.expect_err("no email");
    assert!(matches!(error, salesloft_client::Error::Construction { .. }), "got {error:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn two_hundred_fifty_rows_take_three_lookups() {
    let (sim, client) = support::start(0).await;
    let inputs: Vec<PersonInput> =
        (0..250).map(|i| PersonInput::with_email(format!("bulk{i}@upsert.example"))).collect();
    let outcomes = upsert_people(&client, inputs).await;
    assert_eq!(count(&outcomes, "created"), 250);
    let stats = support::stats(&sim).await;
    let lookups = stats["by_route"]["GET /v2/people"].as_u64().unwrap_or(0);
    assert_eq!(lookups, 3, "expected ⌈250/100⌉ = 3 lookups, got {lookups}: {stats}");
    sim.shutdown().await;
}

/// A journal that lets every row proceed with a fixed-prefix key and records the rows it opened.
#[derive(Default)]
struct RecordingJournal {
    opened: std::sync::Mutex<Vec<(usize, String)>>,
}

impl salesloft_client::journal::UpsertJournal for RecordingJournal {
    fn open<'a>(
        &'a self,
        index: usize,
        email: &'a str,
        input: &'a PersonInput,
    ) -> futures::future::BoxFuture<'a, Result<salesloft_client::journal::JournalOpen, salesloft_client::Error>> {
        self.opened.lock().expect("lock").push((index, email.to_string()));
        Box::pin(async move {
            let key = IdempotencyKey::new(format!("batch-row-{index}")).expect("key");
            let no_journal = salesloft_client::upsert::NoJournal;
            let opened = salesloft_client::journal::UpsertJournal::open(&no_journal, index, email, input).await?;
            Ok(match opened {
                salesloft_client::journal::JournalOpen::Proceed { row, in_doubt, .. } => {
                    salesloft_client::journal::JournalOpen::Proceed { row, in_doubt, key }
                }
                other => other,
            })
        })
    }
}

#[tokio::test]
async fn the_batch_builder_takes_settings_and_a_journal() {
    let (sim, client) = support::start(0).await;
    let inputs: Vec<PersonInput> =
        (0..3).map(|i| PersonInput::with_email(format!("batch{i}@upsert.example")).title("Batch")).collect();
    let journal = RecordingJournal::default();
    let first = client.people().upsert_batch(inputs.clone()).concurrency(1).journal(&journal).send().await;
    assert_eq!(count(&first, "created"), 3, "{first:?}");
    let opened = journal.opened.lock().expect("lock").clone();
    assert_eq!(
        opened,
        (0..3).map(|i| (i, format!("batch{i}@upsert.example"))).collect::<Vec<_>>(),
        "the journal opened every row, in order"
    );

    // The same rows again: unchanged by default, updated when skipping is off.
    let again = client.people().upsert_batch(inputs.clone()).send().await;
    assert_eq!(count(&again, "unchanged"), 3, "{again:?}");
    let forced = client.people().upsert_batch(inputs).skip_unchanged(false).send().await;
    assert_eq!(count(&forced, "updated"), 3, "{forced:?}");
    sim.shutdown().await;
}

/// A journal whose `open` stands for an email lock taken after the batch lookup: for the first row, another
/// writer creates the person between that lookup and the lock.
struct LockAfterAnotherWriter {
    client: salesloft_client::Client,
    wrote: std::sync::atomic::AtomicBool,
}

struct PlainRow;

impl salesloft_client::journal::RowJournal for PlainRow {
    fn sending<'a>(
        &'a mut self,
        _: salesloft_client::journal::Mutation,
        _: &'a serde_json::Value,
    ) -> futures::future::BoxFuture<'a, Result<(), salesloft_client::Error>> {
        Box::pin(async { Ok(()) })
    }

    fn answered<'a>(
        &'a mut self,
        _: salesloft_client::journal::Mutation,
        _: Option<u16>,
    ) -> futures::future::BoxFuture<'a, Result<(), salesloft_client::Error>> {
        Box::pin(async { Ok(()) })
    }

    fn finish<'a>(
        self: Box<Self>,
        _: &'a Result<Upserted, salesloft_client::Error>,
        _: bool,
    ) -> futures::future::BoxFuture<'a, Result<(), salesloft_client::Error>> {
        Box::pin(async { Ok(()) })
    }
}

impl salesloft_client::journal::UpsertJournal for LockAfterAnotherWriter {
    fn open<'a>(
        &'a self,
        _index: usize,
        email: &'a str,
        _input: &'a PersonInput,
    ) -> futures::future::BoxFuture<'a, Result<salesloft_client::journal::JournalOpen, salesloft_client::Error>> {
        Box::pin(async move {
            if !self.wrote.swap(true, std::sync::atomic::Ordering::SeqCst) {
                let other = PersonInput::with_email(email).first_name("Other writer");
                self.client.people().create(&other).await.expect("the other writer's create");
            }
            Ok(salesloft_client::journal::JournalOpen::Proceed {
                row: Box::new(PlainRow),
                in_doubt: false,
                key: IdempotencyKey::random(),
            })
        })
    }

    fn looks_up_under_lock(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn a_journal_that_locks_each_email_has_rows_looked_up_under_the_lock() {
    // A team that allows duplicate emails (FACTS.md §5.3): only a lookup made under the lock avoids a second
    // person when another writer created the first one after the batch lookup would have run.
    let config = salesloft_sim::SimConfig {
        seed_people: 5,
        budget_per_minute: 1_000_000,
        unique_person_email: false,
        ..salesloft_sim::SimConfig::default()
    };
    let (sim, client) = support::start_with(config).await;
    let journal = LockAfterAnotherWriter { client: client.clone(), wrote: false.into() };
    let input = PersonInput::with_email("late@upsert.example").title("Ours");
    let outcomes = salesloft_client::upsert::upsert_people_journaled(
        &client,
        vec![input],
        &salesloft_client::UpsertConfig::default(),
        &journal,
    )
    .await;
    let result = outcomes.into_iter().next().expect("one outcome").result.expect("upserted");
    assert_eq!(result.kind(), "updated", "the row found the other writer's person: {result:?}");
    let found = client.people().find_by_emails(["late@upsert.example"]).await.expect("lookup");
    assert_eq!(found.len(), 1, "one person, got {found:?}");
    assert_eq!(found[0].title.as_deref(), Some("Ours"));
    sim.shutdown().await;
}
