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
