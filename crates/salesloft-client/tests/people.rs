//! People: decoding fixtures, decode-error paths, and CRUD against the simulator.

mod support;

use salesloft_client::Error;
use salesloft_client::api::decode;
use salesloft_client::models::{ListResponse, Person, PersonId, PersonInput};

#[test]
fn a_real_people_page_decodes_and_keeps_unknown_fields() {
    let page: ListResponse<Person> = decode("people.list", &support::fixture("people_list.json")).expect("decodes");
    assert_eq!(page.data.len(), 2, "expected 2 people, got {}", page.data.len());
    let first = &page.data[0];
    assert_eq!(first.id, PersonId(182735));
    assert_eq!(first.updated_at.as_str(), "2024-06-07T10:51:20.851224-04:00", "updated_at must stay verbatim");
    assert_eq!(first.account.as_ref().map(|a| a.id.0), Some(9));
    assert_eq!(first.extra.get("account_crm_id").and_then(|v| v.as_str()), Some("0015e00000abcd"));
    // The two records name the same instant with different offsets: compared as instants they are equal.
    assert_eq!(first.updated_at, page.data[1].updated_at);
    let second = &page.data[1];
    assert_eq!(second.owner.as_ref().map(|o| (o.href.clone(), o.id.0)), Some((None, 49067)), "ref without _href");
    assert!(second.extra.contains_key("a_field_from_the_future"));
    assert_eq!(page.next_page(), Some(2));

    // Written back out, nothing is lost.
    let json = serde_json::to_value(first).expect("serializes");
    assert_eq!(json["account_crm_id"], "0015e00000abcd");
    assert_eq!(json["updated_at"], "2024-06-07T10:51:20.851224-04:00");
}

#[test]
fn a_decode_error_names_the_json_path() {
    let error = decode::<ListResponse<Person>>("people.list", &support::fixture("people_bad_email.json"))
        .expect_err("email_address 42 must not decode");
    match &error {
        Error::Decode { operation, path, message } => {
            assert_eq!(operation, "people.list");
            assert_eq!(path, "data[3].email_address", "expected the failing path, got {path:?} ({message})");
            assert!(message.contains("invalid type"), "expected a type error, got {message:?}");
        }
        other => panic!("expected Error::Decode, got {other:?}"),
    }
    assert!(error.to_string().contains("data[3].email_address"), "display names the path: {error}");
}

#[test]
fn a_bad_timestamp_is_a_decode_error_not_a_panic() {
    let body = br#"{"data":{"id":1,"updated_at":"yesterday"}}"#;
    let error = decode::<salesloft_client::models::Envelope<Person>>("people.get", body).expect_err("must fail");
    assert!(
        matches!(&error, Error::Decode { path, .. } if path == "data.updated_at"),
        "expected a decode error at data.updated_at, got {error:?}"
    );
}

#[test]
fn person_input_sends_only_the_fields_set() {
    let input = PersonInput::with_email("ada@example.com").first_name("Ada");
    let json = serde_json::to_value(&input).expect("serializes");
    assert_eq!(json, serde_json::json!({"email_address": "ada@example.com", "first_name": "Ada"}));
}

#[tokio::test]
async fn create_get_update_find_delete_against_the_simulator() {
    let (sim, client) = support::start(10).await;
    let people = client.people();

    let created = people
        .create(&PersonInput::with_email("grace@example.com").first_name("Grace").last_name("Hopper"))
        .await
        .expect("create");
    assert_eq!(created.email_address.as_deref(), Some("grace@example.com"));

    let fetched = people.get(created.id).await.expect("get");
    assert_eq!(fetched.id, created.id);

    let updated = people.update(created.id, &PersonInput::default().title("Rear Admiral")).await.expect("update");
    assert_eq!(updated.title.as_deref(), Some("Rear Admiral"));

    let found = people.find_by_emails(["GRACE@example.com"]).await.expect("lookup");
    assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), vec![created.id], "lookup by email");

    let page = people.list().email_addresses(["grace@example.com"]).per_page(100).send().await.expect("list");
    assert_eq!(page.data.len(), 1);

    people.delete(created.id).await.expect("delete");
    people.delete(created.id).await.expect("delete is idempotent");
    let gone = people.get(created.id).await.expect_err("deleted person is gone");
    assert_eq!(gone.status().map(|s| s.as_u16()), Some(404), "expected 404, got {gone:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_email_is_a_typed_taken_error() {
    let (sim, client) = support::start(0).await;
    client.people().create(&PersonInput::with_email("dup@example.com")).await.expect("first create");
    let error = client.people().create(&PersonInput::with_email("dup@example.com")).await.expect_err("duplicate");
    assert!(
        error.validation().is_some_and(|v| v.is_taken("email_address")),
        "expected 422 taken on email_address, got {error:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn deep_pages_are_refused_before_anything_is_sent() {
    let (sim, client) = support::start(10).await;
    let error = client.people().list().page(101).send().await.expect_err("page 101 refused");
    assert!(matches!(error, Error::Construction { .. }), "expected a construction error, got {error:?}");
    let stats = support::stats(&sim).await;
    assert_eq!(support::stat(&stats, "requests"), 0, "no request may be sent: {stats}");

    let page = client.people().list().page(101).allow_deep_pages(true).per_page(1).send().await.expect("allowed");
    assert!(page.data.is_empty() || page.data.len() == 1);
    let stats = support::stats(&sim).await;
    assert_eq!(support::stat(&stats, "max_page"), 101, "the allowed deep page was sent: {stats}");
    sim.shutdown().await;
}

#[tokio::test]
async fn per_page_above_100_is_clamped_and_filters_go_rails_style() {
    let (sim, client) = support::start(150).await;
    let page = client.people().list().per_page(500).send().await.expect("list");
    assert_eq!(page.data.len(), 100, "expected 100 records (per_page clamped), got {}", page.data.len());
    client.people().find_by_emails(["a@example.com", "b@example.com"]).await.expect("lookup");
    let log = support::requests(&sim, 2).await;
    let query = log[0]["query"].as_str().unwrap_or_default().to_string();
    assert!(
        query.contains("email_addresses%5B%5D=a%40example.com") || query.contains("email_addresses[]=a@example.com"),
        "expected email_addresses[]=…, got {query}"
    );
    let first_query = log[1]["query"].as_str().unwrap_or_default();
    assert!(first_query.contains("per_page=100"), "expected per_page=100, got {first_query}");
    sim.shutdown().await;
}
