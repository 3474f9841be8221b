//! Notes, tasks and `person_upserts`: decoding of SalesLoft-shaped bodies and request shapes.

mod support;

use salesloft_client::api::decode;
use salesloft_client::models::{Envelope, Note, NoteInput, NoteSubject, PersonId, Task, TaskInput, UserId};

#[test]
fn a_note_decodes_and_keeps_unknown_fields() {
    let note: Envelope<Note> = decode("notes.get", &support::fixture("note.json")).expect("decodes");
    let note = note.data;
    assert_eq!(note.associated_type.as_deref(), Some("person"));
    assert_eq!(note.associated_with.as_ref().map(|r| r.id), Some(42));
    assert_eq!(note.call, None);
    assert_eq!(note.updated_at.as_str(), "2024-02-03T03:04:05.654321-05:00");
    assert!(note.extra.contains_key("crm_activity_id"), "unknown fields are kept: {:?}", note.extra);
}

#[test]
fn a_task_decodes() {
    let task: Envelope<Task> = decode("tasks.get", &support::fixture("task.json")).expect("decodes");
    assert_eq!(task.data.person.as_ref().map(|r| r.id), Some(PersonId(42)));
    assert_eq!(task.data.due_date.as_deref(), Some("2026-12-01"));
    assert_eq!(task.data.current_state.as_deref(), Some("scheduled"));
}

#[test]
fn a_note_create_body_names_its_subject() {
    let body = serde_json::to_value(NoteInput::new(NoteSubject::Person(PersonId(42)), "hi")).expect("encode");
    assert_eq!(body, serde_json::json!({"content": "hi", "associated_with_type": "person", "associated_with_id": 42}));
}

#[test]
fn a_task_create_body_has_every_required_field_and_the_key() {
    let input =
        TaskInput::scheduled("Call Ada", PersonId(42), UserId(7), "call", "2026-12-01").with_idempotency_key("k1");
    let body = serde_json::to_value(input).expect("encode");
    for field in ["subject", "person_id", "user_id", "task_type", "due_date", "current_state", "idempotency_key"] {
        assert!(body.get(field).is_some(), "{field} missing from {body}");
    }
    assert_eq!(body["current_state"], "scheduled");
}

#[tokio::test]
async fn notes_round_trip_against_the_simulator() {
    use futures::TryStreamExt;
    use salesloft_client::models::PersonInput;

    let (sim, client) = support::start(0).await;
    let person = client.people().create(&PersonInput::with_email("noted@example.com")).await.expect("person");
    let notes = client.notes();
    let subject = NoteSubject::Person(person.id);
    let created = notes.create(&NoteInput::new(subject, "Call back in May")).await.expect("create");
    assert_eq!(created.content.as_deref(), Some("Call back in May"));
    assert_eq!(created.associated_with.as_ref().map(|r| r.id), Some(person.id.0));

    let updated = notes.update(created.id, &NoteInput::content("Call back in June")).await.expect("update");
    assert_eq!(updated.content.as_deref(), Some("Call back in June"));
    let listed = notes.list().associated_with(subject).send().await.expect("list");
    assert_eq!(listed.data.iter().map(|n| n.id).collect::<Vec<_>>(), vec![created.id]);
    let walked: Vec<Note> = notes.keyset().items().try_collect().await.expect("keyset");
    assert!(walked.iter().any(|n| n.id == created.id), "the keyset walk sees the note");

    let missing = notes.create(&NoteInput::content("no subject")).await.expect_err("422");
    let validation = missing.validation().expect("a validation error");
    assert!(validation.errors.contains_key("associated_with_type"), "got {validation:?}");

    notes.delete(created.id).await.expect("delete");
    notes.delete(created.id).await.expect("a repeated delete is fine");
    assert_eq!(notes.get(created.id).await.expect_err("gone").status().map(|s| s.as_u16()), Some(404));
    sim.shutdown().await;
}

/// SalesLoft's own duplicate guard: a task create whose answer is lost is retried with the same
/// `idempotency_key`, and there is still one task.
#[tokio::test]
async fn a_task_create_whose_answer_is_lost_is_retried_into_one_task() {
    use salesloft_client::models::PersonInput;

    let (sim, client, clock) = support::start_manual(0).await;
    let person = client.people().create(&PersonInput::with_email("tasked@example.com")).await.expect("person");
    let me = client.me().await.expect("me");
    support::add_fault(
        &sim,
        serde_json::json!({"method": "POST", "path": "/v2/tasks", "sequence": [{"drop_after": true}]}),
    )
    .await;
    let input = TaskInput::scheduled("Call Ada", person.id, UserId(me.id.0), "call", "2026-12-01")
        .with_idempotency_key("crm-task-7781");
    let task = client.tasks().create(&input).await.expect("the retry answers with the task");
    assert_eq!(task.subject.as_deref(), Some("Call Ada"));

    let same_key = client.tasks().list().idempotency_key("crm-task-7781").send().await.expect("list");
    assert_eq!(same_key.data.len(), 1, "exactly one task: {:?}", same_key.data);
    assert_eq!(same_key.data[0].id, task.id);
    let posts = support::requests(&sim, 20).await.iter().filter(|r| r["method"] == "POST").count();
    assert_eq!(posts, 3, "person create + the lost task create + its retry");
    assert_eq!(clock.sleeps().len(), 1, "one backoff wait before the retry");

    let done = client.tasks().update(task.id, &TaskInput::complete()).await.expect("complete");
    assert_eq!(done.current_state.as_deref(), Some("completed"));
    sim.shutdown().await;
}

#[tokio::test]
async fn person_upserts_create_then_update_by_email_and_by_id() {
    use salesloft_client::models::{PersonInput, UpsertKey, UpsertType};

    let (sim, client) = support::start(0).await;
    let people = client.people();
    let created = people
        .upsert(UpsertKey::EmailAddress, &PersonInput::with_email("up@example.com").title("A"))
        .await
        .expect("create");
    assert_eq!(created.upsert_type, UpsertType::Create);
    let updated = people
        .upsert(UpsertKey::EmailAddress, &PersonInput::with_email("UP@example.com").title("B"))
        .await
        .expect("update");
    assert_eq!((updated.upsert_type, updated.person.id), (UpsertType::Update, created.person.id));
    let by_id = people.upsert_id(created.person.id, &PersonInput::default().title("C")).await.expect("by id");
    assert_eq!((by_id.upsert_type, by_id.person.title.as_deref()), (UpsertType::Update, Some("C")));
    assert!(matches!(
        people.upsert(UpsertKey::Id, &PersonInput::default()).await,
        Err(salesloft_client::Error::Construction { .. })
    ));
    assert_eq!(people.find_by_emails(["up@example.com"]).await.expect("lookup").len(), 1);
    sim.shutdown().await;
}
