//! `/v2/notes` (FACTS.md §5.2, §5.5 Note, §6.3): every documented key, create/read/update/delete, the
//! required fields as 422s in the `{"errors":{field:[…]}}` shape, list filters, and the `note_*` webhooks.

mod common;

use std::time::Duration;

use common::{Harness, documented_keys, is_salesloft_timestamp};
use reqwest::Method;
use salesloft_sim::SimConfig;
use salesloft_testkit::webhooks::{Delivery, WebhookReceiver};
use serde_json::{Value, json};

fn ids(body: &Value) -> Vec<i64> {
    body["data"].as_array().expect("data array").iter().map(|r| r["id"].as_i64().expect("id")).collect()
}

/// A team without seeded notes (and tasks), so lists show only what a test wrote.
async fn empty_notes() -> Harness {
    Harness::with(SimConfig { seed_people: 0, seed_accounts: 3, ..SimConfig::default() }).await
}

#[tokio::test]
async fn a_note_has_every_documented_key_and_refs() {
    let h = Harness::start().await;
    let created = h
        .post(
            "/v2/notes.json",
            json!({"content":"Wants a demo","associated_with_type":"Person","associated_with_id":3,"call_id":77}),
        )
        .await
        .expect(200)
        .json();
    let data = created["data"].as_object().expect("data object");
    for key in documented_keys("Note") {
        assert!(data.contains_key(&key), "note has documented key {key}: {created}");
    }
    assert!(data["id"].is_i64());
    assert_eq!(data["content"], "Wants a demo");
    assert_eq!(data["associated_type"], "person", "the type is stored lower-case");
    let base = h.sim.base_url();
    assert_eq!(data["associated_with"], json!({"_href": format!("{base}/people/3"), "id": 3}));
    assert_eq!(data["call"], json!({"_href": format!("{base}/activities/calls/77"), "id": 77}));
    assert_eq!(data["user"]["id"], 1, "the note is the caller's by default");
    for key in ["created_at", "updated_at"] {
        assert!(is_salesloft_timestamp(data[key].as_str().expect("timestamp")), "{key}");
    }
    let without_call = h
        .post("/v2/notes", json!({"content":"x","associated_with_type":"account","associated_with_id":2}))
        .await
        .expect(200)
        .json();
    assert_eq!(without_call["data"]["call"], Value::Null, "unset refs are explicit nulls");
    assert_eq!(without_call["data"]["associated_with"]["_href"], format!("{base}/accounts/2"));
}

#[tokio::test]
async fn create_read_update_delete_with_json_and_form_bodies() {
    let h = empty_notes().await;
    let account = h.post("/v2/accounts", json!({"name":"Noted","domain":"noted.example"})).await.expect(200).json();
    let account_id = account["data"]["id"].as_i64().expect("id");
    let form = h
        .raw(
            Method::POST,
            "/v2/notes",
            "application/x-www-form-urlencoded",
            format!("content=From+a+form&associated_with_type=ACCOUNT&associated_with_id={account_id}&skip_crm_sync=true&subject=Call"),
        )
        .await
        .expect(200)
        .json();
    let id = form["data"]["id"].as_i64().expect("id");
    assert_eq!(form["data"]["content"], "From a form");
    assert_eq!(form["data"]["associated_type"], "account");

    let fetched = h.get(&format!("/v2/notes/{id}.json")).await.expect(200).json();
    assert_eq!(fetched["data"], form["data"]);

    let updated = h.put(&format!("/v2/notes/{id}"), json!({"content":"Edited","call_id":5})).await.expect(200).json();
    assert_eq!(updated["data"]["content"], "Edited");
    assert_eq!(updated["data"]["call"]["id"], 5);
    assert_eq!(updated["data"]["created_at"], form["data"]["created_at"]);
    assert!(updated["data"]["updated_at"].as_str() >= form["data"]["updated_at"].as_str());
    assert_eq!(h.get(&format!("/v2/notes/{id}")).await.expect(200).json()["data"], updated["data"], "PUT is stored");

    let deleted = h.delete(&format!("/v2/notes/{id}.json")).await.expect(204);
    assert!(deleted.text.is_empty(), "204 has no body");
    h.delete(&format!("/v2/notes/{id}")).await.expect(204); // idempotent
    h.get(&format!("/v2/notes/{id}")).await.expect(404);
    h.put(&format!("/v2/notes/{id}"), json!({"content":"gone"})).await.expect(404);
    h.get("/v2/notes/abc").await.expect(404);
}

#[tokio::test]
async fn required_fields_and_bad_values_are_422_on_their_field() {
    let h = Harness::start().await;
    let missing = h.post("/v2/notes", json!({})).await.expect(422).json();
    assert_eq!(
        missing,
        json!({"errors":{"content":["is required"],"associated_with_type":["is required"],"associated_with_id":["is required"]}})
    );
    let each = [
        (json!({"associated_with_type":"person","associated_with_id":1}), "content"),
        (json!({"content":"  ","associated_with_type":"person","associated_with_id":1}), "content"),
        (json!({"content":"x","associated_with_id":1}), "associated_with_type"),
        (json!({"content":"x","associated_with_type":"person"}), "associated_with_id"),
        (json!({"content":"x","associated_with_type":"cadence","associated_with_id":1}), "associated_with_type"),
        (json!({"content":"x","associated_with_type":"person","associated_with_id":999_999}), "associated_with_id"),
        (json!({"content":"x","associated_with_type":"account","associated_with_id":999_999}), "associated_with_id"),
        (json!({"content":"x","associated_with_type":"person","associated_with_id":"one"}), "associated_with_id"),
        (json!({"content":"x","associated_with_type":"person","associated_with_id":1,"call_id":[1]}), "call_id"),
        (
            json!({"content":"x","associated_with_type":"person","associated_with_id":1,"skip_crm_sync":"maybe"}),
            "skip_crm_sync",
        ),
        (
            json!({"content":"x","associated_with_type":"person","associated_with_id":1,"user_guid":"nobody"}),
            "user_guid",
        ),
        (json!({"content":{"a":1},"associated_with_type":"person","associated_with_id":1}), "content"),
    ];
    for (body, field) in each {
        let answer = h.post("/v2/notes", body.clone()).await.expect(422).json();
        let errors = answer["errors"].as_object().expect("errors object");
        assert!(
            errors
                .get(field)
                .and_then(Value::as_array)
                .is_some_and(|m| !m.is_empty() && m.iter().all(Value::is_string)),
            "{body} → 422 on {field}: {answer}"
        );
    }
    // A call can hold one note; PUT requires content.
    h.post("/v2/notes", json!({"content":"a","associated_with_type":"person","associated_with_id":1,"call_id":9}))
        .await
        .expect(200);
    let taken = h
        .post("/v2/notes", json!({"content":"b","associated_with_type":"person","associated_with_id":2,"call_id":9}))
        .await
        .expect(422)
        .json();
    assert!(taken["errors"]["call_id"].is_array(), "{taken}");
    let put = h.put("/v2/notes/1", json!({"call_id":3})).await.expect(422).json();
    assert_eq!(put, json!({"errors":{"content":["is required"]}}));
    h.raw(Method::POST, "/v2/notes", "application/json", "{\"content\": ").await.expect(400);
    h.get("/v2/me").await.expect(200);
}

#[tokio::test]
async fn user_guid_picks_the_user() {
    let h = Harness::start().await;
    let user = h.get("/v2/users/2").await.expect(200).json();
    let guid = user["data"]["guid"].as_str().expect("guid");
    let note = h
        .post(
            "/v2/notes",
            json!({"content":"for 2","associated_with_type":"person","associated_with_id":1,"user_guid":guid}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(note["data"]["user"]["id"], 2);
    // "Only team admins may create notes on behalf of other users": demote the caller (user 1).
    h.put("/v2/users/1", json!({"role_id":"User"})).await.expect(200);
    let refused = h
        .post(
            "/v2/notes",
            json!({"content":"for 2","associated_with_type":"person","associated_with_id":1,"user_guid":guid}),
        )
        .await
        .expect(422)
        .json();
    assert!(refused["errors"]["user_guid"].is_array(), "{refused}");
    let me = h.get("/v2/me").await.expect(200).json();
    let own_guid = me["data"]["guid"].as_str().expect("guid");
    let own = json!({"content":"mine","associated_with_type":"person","associated_with_id":1,"user_guid":own_guid});
    assert_eq!(h.post("/v2/notes", own).await.expect(200).json()["data"]["user"]["id"], 1);
}

#[tokio::test]
async fn list_filters_sorting_and_paging() {
    let h = empty_notes().await;
    for _ in 0..3 {
        h.post("/v2/people", json!({"email_address": format!("n{}@example.com", fastrand_id())})).await.expect(200);
    }
    let mut made = Vec::new();
    for (kind, id) in [("person", 1), ("person", 2), ("account", 1), ("person", 1)] {
        let note = h
            .post("/v2/notes", json!({"content":"n","associated_with_type":kind,"associated_with_id":id}))
            .await
            .expect(200)
            .json();
        made.push(note["data"]["id"].as_i64().expect("id"));
    }
    let all = h.get("/v2/notes?sort_by=created_at&sort_direction=ASC").await.expect(200).json();
    assert_eq!(ids(&all), made);
    assert_eq!(all["metadata"]["sorting"], json!({"sort_by":"created_at","sort_direction":"ASC NULLS FIRST"}));
    let newest_first = h.get("/v2/notes").await.expect(200).json();
    assert_eq!(ids(&newest_first), made.iter().rev().copied().collect::<Vec<_>>(), "default updated_at DESC");

    let on_person_1 =
        h.get("/v2/notes?associated_with_type=person&associated_with_id=1&sort_by=created_at&sort_direction=asc").await;
    let on_person_1 = on_person_1.expect(200).json();
    assert_eq!(ids(&on_person_1), vec![made[0], made[3]]);
    assert_eq!(on_person_1["metadata"]["filtering"], json!({"associated_with_type":"person","associated_with_id":"1"}));
    let accounts = h.get("/v2/notes?associated_with_type=Account").await.expect(200).json();
    assert_eq!(ids(&accounts), vec![made[2]]);
    let by_ids = h.get(&format!("/v2/notes?ids[]={}&ids[]=999", made[1])).await.expect(200).json();
    assert_eq!(ids(&by_ids), vec![made[1]]);
    let paged = h.get("/v2/notes?per_page=3&page=2&include_paging_counts=true").await.expect(200).json();
    assert_eq!(paged["metadata"]["paging"]["total_count"], 4);
    assert_eq!(ids(&paged).len(), 1);

    // Time filters compare in microseconds.
    h.put(&format!("/v2/notes/{}", made[0]), json!({"content":"touched"})).await.expect(200);
    let touched = h.get(&format!("/v2/notes/{}", made[0])).await.expect(200).json();
    let stamp = touched["data"]["updated_at"].as_str().expect("ts").replace('+', "%2B");
    let after = h.get(&format!("/v2/notes?updated_at[gte]={stamp}")).await.expect(200).json();
    assert_eq!(ids(&after), vec![made[0]]);
    let strictly = h.get(&format!("/v2/notes?updated_at[gt]={stamp}")).await.expect(200).json();
    assert_eq!(ids(&strictly), Vec::<i64>::new());
    let created = touched["data"]["created_at"].as_str().expect("ts").replace('+', "%2B");
    let created_before = h.get(&format!("/v2/notes?created_at[lte]={created}")).await.expect(200).json();
    assert_eq!(ids(&created_before), vec![made[0]]);

    for bad in [
        "/v2/notes?associated_with_type=cadence",
        "/v2/notes?associated_with_id=1",
        "/v2/notes?associated_with_type=person&associated_with_id=x",
        "/v2/notes?sort_by=content",
        "/v2/notes?updated_at[gt]=soon",
        "/v2/notes?ids=a",
    ] {
        let answer = h.get(bad).await.expect(422).json();
        assert!(answer["errors"].is_object(), "{bad}: {answer}");
    }
}

#[tokio::test]
async fn seeded_notes_are_on_the_first_people() {
    let h = Harness::start().await;
    let seeded = h.get("/v2/notes?sort_by=created_at&sort_direction=ASC").await.expect(200).json();
    assert_eq!(ids(&seeded), vec![1, 2, 3, 4, 5]);
    assert_eq!(seeded["data"][0]["associated_with"]["id"], 1);
    let other = Harness::start().await;
    let again = other.get("/v2/notes?sort_by=created_at&sort_direction=ASC").await.expect(200).text;
    assert_eq!(
        h.get("/v2/notes?sort_by=created_at&sort_direction=ASC").await.text.replace(h.sim.base_url(), "BASE"),
        again.replace(other.sim.base_url(), "BASE"),
        "seeding is deterministic"
    );
}

fn fastrand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test]
async fn note_changes_are_delivered_as_note_webhooks() {
    let h =
        Harness::with(SimConfig { webhook_retry_interval: Duration::from_millis(10), ..SimConfig::default() }).await;
    let mut deliveries = WebhookReceiver::start().await;
    let url = deliveries.url().to_owned();
    for event in ["note_created", "note_updated", "note_deleted"] {
        h.post("/v2/webhook_subscriptions", json!({"callback_url":url,"callback_token":"t","event_type":event}))
            .await
            .expect(200);
    }
    let created = h
        .post("/v2/notes", json!({"content":"hook","associated_with_type":"person","associated_with_id":4}))
        .await
        .expect(200)
        .json();
    let Delivery { event, body, .. } = deliveries.next().await;
    assert_eq!(event, "note_created");
    assert_eq!(serde_json::from_slice::<Value>(&body).expect("json"), created["data"], "bare note payload");
    let id = created["data"]["id"].as_i64().expect("id");
    let updated = h.put(&format!("/v2/notes/{id}"), json!({"content":"hook 2"})).await.expect(200).json();
    let Delivery { event, body, .. } = deliveries.next().await;
    assert_eq!(event, "note_updated");
    assert_eq!(serde_json::from_slice::<Value>(&body).expect("json"), updated["data"]);
    h.delete(&format!("/v2/notes/{id}")).await.expect(204);
    let Delivery { event, body, .. } = deliveries.next().await;
    assert_eq!(event, "note_deleted");
    assert_eq!(serde_json::from_slice::<Value>(&body).expect("json")["id"], id);
    // A repeated delete of a missing note announces nothing: the next delivery is a new note's.
    h.delete(&format!("/v2/notes/{id}")).await.expect(204);
    h.post("/v2/notes", json!({"content":"later","associated_with_type":"person","associated_with_id":4}))
        .await
        .expect(200);
    assert_eq!(deliveries.next().await.event, "note_created");
}
