//! `/v2/people`: records with every documented key, create/update/delete, JSON and form bodies, validation
//! 422s with the `{"errors":{field:[…]}}` shape, unique email per team (FACTS.md §5.3, §3).

mod common;

use common::{Harness, documented_keys, is_salesloft_timestamp};
use reqwest::Method;
use salesloft_sim::SimConfig;
use serde_json::{Value, json};

#[tokio::test]
async fn a_person_has_every_documented_key_integer_ids_refs_and_microsecond_timestamps() {
    let h = Harness::start().await;
    let person = h.get("/v2/people/1.json").await.expect(200).json();
    let data = person["data"].as_object().expect("data object");
    for key in documented_keys("Person") {
        assert!(data.contains_key(&key), "person has documented key {key}");
    }
    for key in documented_keys("PersonCounts") {
        assert!(data["counts"].get(&key).is_some(), "person counts have {key}");
    }
    assert!(data["id"].is_i64());
    for key in ["created_at", "updated_at"] {
        let text = data[key].as_str().expect("timestamp");
        assert!(is_salesloft_timestamp(text), "{key} has microseconds and an offset: {text}");
    }
    assert!(data["last_contacted_at"].is_null(), "unset keys are explicit nulls");
    let account = &data["account"];
    assert_eq!(account["_href"], format!("{}/accounts/{}", h.sim.base_url(), account["id"]));
    assert!(account["id"].is_i64());
}

#[tokio::test]
async fn create_read_update_delete_with_json_and_form_bodies() {
    let h = Harness::start().await;
    let created = h
        .post("/v2/people.json", json!({"email_address":"New.Person@Example.com","first_name":"New","last_name":"Person","tags":["a","b"],"custom_fields":{"tier":"gold"}}))
        .await
        .expect(200)
        .json();
    let id = created["data"]["id"].as_i64().expect("integer id");
    assert_eq!(created["data"]["display_name"], "New Person");
    assert_eq!(created["data"]["tags"], json!(["a", "b"]));
    assert_eq!(created["data"]["custom_fields"], json!({"tier":"gold"}));
    assert_eq!(created["data"]["owner"]["id"], 1, "owner defaults to the caller");

    let form = h
        .raw(
            Method::POST,
            "/v2/people",
            "application/x-www-form-urlencoded",
            "phone=5551234&last_name=Formy&tags[]=x&do_not_contact=true",
        )
        .await
        .expect(200)
        .json();
    assert_eq!(form["data"]["last_name"], "Formy");
    assert_eq!(form["data"]["email_address"], Value::Null);
    assert_eq!(form["data"]["tags"], json!(["x"]));
    assert_eq!(form["data"]["do_not_contact"], true);

    let before = h.get(&format!("/v2/people/{id}")).await.expect(200).json();
    let updated = h.put(&format!("/v2/people/{id}"), json!({"title":"CTO","first_name":null})).await.expect(200).json();
    assert_eq!(updated["data"]["title"], "CTO");
    assert_eq!(updated["data"]["first_name"], Value::Null);
    assert_eq!(updated["data"]["created_at"], before["data"]["created_at"]);
    assert!(updated["data"]["updated_at"].as_str() >= before["data"]["updated_at"].as_str());

    let deleted = h.delete(&format!("/v2/people/{id}.json")).await.expect(204);
    assert!(deleted.text.is_empty(), "204 has no body");
    h.delete(&format!("/v2/people/{id}")).await.expect(204); // idempotent
    h.get(&format!("/v2/people/{id}")).await.expect(404);
    h.put(&format!("/v2/people/{id}"), json!({"title":"x"})).await.expect(404);
}

#[tokio::test]
async fn duplicate_email_is_422_is_already_taken_case_insensitively_also_against_seeded_people() {
    let h = Harness::start().await;
    h.post("/v2/people", json!({"email_address":"dup@example.com"})).await.expect(200);
    let again = h.post("/v2/people", json!({"email_address":"DUP@example.com"})).await.expect(422);
    assert_eq!(again.json(), json!({"errors":{"email_address":["is already taken"]}}));

    let seeded = h.get("/v2/people/7").await.expect(200).json();
    let email = seeded["data"]["email_address"].as_str().expect("seeded email").to_owned();
    h.post("/v2/people", json!({"email_address": email})).await.expect(422);
    // Updating a person to another's email is refused; keeping one's own is fine.
    h.put("/v2/people/8", json!({"email_address": email})).await.expect(422);
    h.put("/v2/people/7", json!({"email_address": email, "title":"Same"})).await.expect(200);
    // Once the seeded person changes email, the old one is free.
    h.put("/v2/people/7", json!({"email_address":"moved@example.com"})).await.expect(200);
    h.post("/v2/people", json!({"email_address": email})).await.expect(200);
}

#[tokio::test]
async fn uniqueness_is_configurable_and_validation_names_fields() {
    let h = Harness::with(SimConfig { unique_person_email: false, ..SimConfig::default() }).await;
    h.post("/v2/people", json!({"email_address":"same@example.com"})).await.expect(200);
    h.post("/v2/people", json!({"email_address":"same@example.com"})).await.expect(200);

    let missing = h.post("/v2/people", json!({"first_name":"Nobody"})).await.expect(422).json();
    assert_eq!(missing["errors"]["email_address"], json!(["is required"]));
    let only_phone = h.post("/v2/people", json!({"phone":"555"})).await.expect(422).json();
    assert!(only_phone["errors"]["email_address"].is_array(), "phone needs last_name: {only_phone}");
    let bad = h
        .post(
            "/v2/people",
            json!({"email_address":"not-an-email","job_seniority":"intern","account_id":"abc","owner_id":99999}),
        )
        .await
        .expect(422)
        .json();
    for field in ["email_address", "job_seniority", "account_id", "owner_id"] {
        assert!(bad["errors"][field].as_array().is_some_and(|m| !m.is_empty()), "{field} is reported: {bad}");
    }
    let bad_account =
        h.post("/v2/people", json!({"email_address":"a@b.co","account_id":424242})).await.expect(422).json();
    assert_eq!(bad_account["errors"]["account_id"], json!(["is invalid"]));
}

#[tokio::test]
async fn writes_are_visible_to_email_lookups_and_the_updated_at_cursor() {
    let h = Harness::start().await;
    let created = h.post("/v2/people", json!({"email_address":"cursor@example.com"})).await.expect(200).json();
    let stamp = created["data"]["updated_at"].as_str().expect("updated_at").to_owned();
    let found = h.get("/v2/people?email_addresses[]=CURSOR@example.com").await.expect(200).json();
    assert_eq!(found["data"][0]["id"], created["data"]["id"]);
    let newest = h.get("/v2/people?per_page=1").await.expect(200).json();
    assert_eq!(newest["data"][0]["id"], created["data"]["id"], "default sort is updated_at DESC");
    let encoded: String = stamp.replace('+', "%2B");
    let after = h
        .get(&format!("/v2/people?updated_at[gte]={encoded}&sort_by=updated_at&sort_direction=ASC"))
        .await
        .expect(200)
        .json();
    assert_eq!(after["data"][0]["id"], created["data"]["id"]);
    let strictly_after = h.get(&format!("/v2/people?updated_at[gt]={encoded}")).await.expect(200).json();
    assert_eq!(strictly_after["data"], json!([]), "gt excludes the record itself (microsecond compare)");
}
