//! `POST /v2/person_upserts` (FACTS.md §5.2): create, then update by `email_address`, `id` or `crm_id`;
//! the `{"data":{"person","upsert_type"}}` answer; the same validation, uniqueness and webhook events as
//! `/v2/people`.

mod common;

use common::{Harness, documented_keys};
use reqwest::Method;
use salesloft_sim::SimConfig;
use serde_json::json;

#[tokio::test]
async fn create_then_update_by_email_and_by_id() {
    let h = Harness::start().await;
    let created = h
        .post(
            "/v2/person_upserts.json",
            json!({"upsert_key":"email_address","email_address":"Up@Example.com","first_name":"Up","title":"CEO"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(created["data"]["upsert_type"], "create");
    let person = created["data"]["person"].as_object().expect("person object");
    for key in documented_keys("Person") {
        assert!(person.contains_key(&key), "upserted person has documented key {key}");
    }
    let id = person["id"].as_i64().expect("id");
    assert_eq!(created["data"].as_object().map(|d| d.len()), Some(2), "only person and upsert_type: {created}");
    let fetched = h.get(&format!("/v2/people/{id}")).await.expect(200).json();
    assert_eq!(fetched["data"], created["data"]["person"], "the created person is stored");

    let by_email = h
        .post(
            "/v2/person_upserts",
            json!({"upsert_key":"email_address","email_address":"UP@example.com","title":"CTO"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(by_email["data"]["upsert_type"], "update");
    assert_eq!(by_email["data"]["person"]["id"], id, "matched case-insensitively");
    assert_eq!(by_email["data"]["person"]["title"], "CTO");
    assert_eq!(by_email["data"]["person"]["first_name"], "Up", "fields not sent are kept");

    let by_id = h
        .post("/v2/person_upserts", json!({"upsert_key":"id","id":id,"email_address":"moved@example.com"}))
        .await
        .expect(200)
        .json();
    assert_eq!(by_id["data"]["upsert_type"], "update");
    assert_eq!(by_id["data"]["person"]["email_address"], "moved@example.com");
    let stored = h.get(&format!("/v2/people/{id}")).await.expect(200).json();
    assert_eq!(stored["data"], by_id["data"]["person"]);

    // A seeded person is found by its email too, and form bodies work.
    let seeded = h.get("/v2/people/9").await.expect(200).json();
    let email = seeded["data"]["email_address"].as_str().expect("email");
    let form = h
        .raw(
            Method::POST,
            "/v2/person_upserts",
            "application/x-www-form-urlencoded",
            format!("upsert_key=email_address&email_address={}&title=Formed", email.replace('@', "%40")),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        (form["data"]["upsert_type"].as_str(), form["data"]["person"]["id"].as_i64()),
        (Some("update"), Some(9))
    );
}

#[tokio::test]
async fn upsert_by_crm_id() {
    let h = Harness::start().await;
    let crm = "003000000000001AAA";
    let first = h
        .post(
            "/v2/person_upserts",
            json!({"upsert_key":"crm_id","crm_id":crm,"crm_id_type":"salesforce","email_address":"crm@example.com"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(first["data"]["upsert_type"], "create");
    let second = h
        .post(
            "/v2/person_upserts",
            json!({"upsert_key":"crm_id","crm_id":crm,"crm_id_type":"salesforce","last_name":"Crm"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(second["data"]["upsert_type"], "update");
    assert_eq!(second["data"]["person"]["id"], first["data"]["person"]["id"]);
    assert_eq!(second["data"]["person"]["last_name"], "Crm");
}

#[tokio::test]
async fn the_upsert_key_and_its_field_are_validated() {
    let h = Harness::start().await;
    for key in [json!("phone"), json!("EMAIL"), json!(["id"])] {
        let answer = h.post("/v2/person_upserts", json!({"upsert_key":key,"email_address":"k@example.com"})).await;
        let answer = answer.expect(422).json();
        assert!(answer["errors"]["upsert_key"].is_array(), "upsert_key={key}: {answer}");
    }
    let no_email = h.post("/v2/person_upserts", json!({"upsert_key":"email_address","first_name":"x"})).await;
    assert_eq!(no_email.expect(422).json(), json!({"errors":{"email_address":["is required"]}}));
    let no_id = h.post("/v2/person_upserts", json!({"upsert_key":"id","email_address":"i@example.com"})).await;
    assert_eq!(no_id.expect(422).json(), json!({"errors":{"id":["is required"]}}));
    let bad_id = h.post("/v2/person_upserts", json!({"upsert_key":"id","id":"abc"})).await.expect(422).json();
    assert!(bad_id["errors"]["id"].is_array(), "{bad_id}");
    let no_crm = h.post("/v2/person_upserts", json!({"upsert_key":"crm_id","email_address":"c@example.com"})).await;
    assert_eq!(no_crm.expect(422).json(), json!({"errors":{"crm_id":["is required"]}}));
    h.post("/v2/person_upserts", json!({"upsert_key":"id","id":999_999,"title":"x"})).await.expect(404);

    // "the request will fail if the upsert record id and id parameter don't match".
    let seeded = h.get("/v2/people/2").await.expect(200).json();
    let email = seeded["data"]["email_address"].clone();
    let mismatch =
        h.post("/v2/person_upserts", json!({"upsert_key":"email_address","email_address":email,"id":3})).await;
    assert!(mismatch.expect(422).json()["errors"]["id"].is_array());

    // The people validation applies: a bad email on create, a taken email on update.
    let invalid =
        h.post("/v2/person_upserts", json!({"upsert_key":"email_address","email_address":"not-an-email"})).await;
    assert_eq!(invalid.expect(422).json(), json!({"errors":{"email_address":["is invalid"]}}));
    let taken = h.post("/v2/person_upserts", json!({"upsert_key":"id","id":3,"email_address":email})).await;
    assert_eq!(taken.expect(422).json(), json!({"errors":{"email_address":["is already taken"]}}));
    h.raw(Method::POST, "/v2/person_upserts", "application/json", "{\"upsert_key\":").await.expect(400);
}

#[tokio::test]
async fn without_an_upsert_key_it_only_creates() {
    let h = Harness::start().await;
    let created = h.post("/v2/person_upserts", json!({"email_address":"plain@example.com"})).await.expect(200).json();
    assert_eq!(created["data"]["upsert_type"], "create");
    // "If upsert_key is not provided, this endpoint will not update an existing record".
    let again = h.post("/v2/person_upserts", json!({"email_address":"plain@example.com"})).await.expect(422).json();
    assert_eq!(again, json!({"errors":{"email_address":["is already taken"]}}));
}

#[tokio::test]
async fn several_matches_fail_when_duplicate_emails_are_allowed() {
    let h = Harness::with(SimConfig { unique_person_email: false, ..SimConfig::default() }).await;
    h.post("/v2/people", json!({"email_address":"twin@example.com"})).await.expect(200);
    h.post("/v2/people", json!({"email_address":"twin@example.com"})).await.expect(200);
    let answer =
        h.post("/v2/person_upserts", json!({"upsert_key":"email_address","email_address":"twin@example.com"})).await;
    assert!(answer.expect(422).json()["errors"]["email_address"].is_array());
}

#[tokio::test]
async fn upserts_announce_person_created_and_person_updated() {
    let h = Harness::with(SimConfig { webhook_retries: 0, ..SimConfig::default() }).await;
    for event in ["person_created", "person_updated"] {
        h.post(
            "/v2/webhook_subscriptions",
            json!({"callback_url":"http://127.0.0.1:9/x","callback_token":"k","event_type":event}),
        )
        .await
        .expect(200);
    }
    let body = json!({"upsert_key":"email_address","email_address":"hooked@example.com"});
    let created = h.post("/v2/person_upserts", body.clone()).await.expect(200).json();
    h.post("/v2/person_upserts", body).await.expect(200);
    tokio::time::timeout(std::time::Duration::from_secs(10), h.sim.wait_for_webhook_attempts(2))
        .await
        .expect("two attempts");
    let mut seen: Vec<(String, Option<i64>)> =
        h.sim.webhook_deliveries().into_iter().map(|d| (d.event_type, d.resource_id)).collect();
    seen.sort();
    let id = created["data"]["person"]["id"].as_i64();
    assert_eq!(seen, vec![("person_created".to_owned(), id), ("person_updated".to_owned(), id)]);
}
