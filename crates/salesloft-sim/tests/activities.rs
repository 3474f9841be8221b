//! `/v2/activities/emails`, `/v2/activities/calls` and `POST /v2/activities` (FACTS.md §5.2, §5.5
//! Email/Call, §1.4 scoped fields, §6.3 webhooks): every documented key, each filter, sorting, `.json`
//! paths, call creation and its 422s, completing actions and tasks, the `call_created` webhook, and stats.

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

async fn list(h: &Harness, path: &str) -> Vec<i64> {
    ids(&h.get(path).await.expect(200).json())
}

async fn user_guid(h: &Harness, id: i64) -> String {
    let user = h.get(&format!("/v2/users/{id}")).await.expect(200).json();
    user["data"]["guid"].as_str().expect("guid").to_owned()
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A").replace('@', "%40")
}

// ---------------------------------------------------------------- emails

#[tokio::test]
async fn an_email_has_every_documented_key_and_no_contents_unless_asked() {
    let h = Harness::start().await;
    let body = h.get("/v2/activities/emails/1.json").await.expect(200).json();
    let data = body["data"].as_object().expect("data");
    for key in documented_keys("Email") {
        assert!(data.contains_key(&key), "email has documented key {key}: {body}");
    }
    for key in documented_keys("EmailCounts") {
        assert!(data["counts"].get(&key).is_some(), "counts has {key}: {body}");
    }
    let base = h.sim.base_url();
    assert_eq!(data["recipient"], json!({"_href": format!("{base}/people/1"), "id": 1}));
    assert_eq!(data["cadence"]["id"], 1);
    assert_eq!(data["step"]["id"], 1);
    assert_eq!(data["status"], "sent");
    assert_eq!(data["subject"], Value::Null, "subject is a scoped field");
    assert!(!data.contains_key("body"), "body only when asked for");
    assert!(is_salesloft_timestamp(data["sent_at"].as_str().expect("sent_at")));
    assert_eq!(data["send_after"], Value::Null);
    assert_eq!(h.get("/v2/activities/emails/1").await.expect(200).json(), body);
    h.get("/v2/activities/emails/999").await.expect(404);
    h.post("/v2/activities/emails", json!({})).await.expect(404);

    let scoped = h.get("/v2/activities/emails/1?scoped_fields[]=subject&scoped_fields[]=body").await.expect(200).json();
    assert!(scoped["data"]["subject"].as_str().expect("subject").starts_with("Quick question"));
    assert!(scoped["data"]["body"].as_str().expect("body").starts_with("<p>Hi"));
    let listed = h.get(r#"/v2/activities/emails?scoped_fields=["subject","body"]"#).await.expect(200).json();
    assert!(listed["data"].as_array().expect("data").iter().all(|e| e["subject"].is_string() && e["body"].is_string()));
    let subject_only = h.get("/v2/activities/emails?scoped_fields=subject").await.expect(200).json();
    assert!(subject_only["data"][0]["subject"].is_string());
    assert!(subject_only["data"][0].get("body").is_none());
    h.get("/v2/activities/emails?scoped_fields=signature").await.expect(422);
}

#[tokio::test]
async fn scoped_fields_without_the_email_contents_scope_are_422() {
    let h = Harness::with(SimConfig { email_contents_scope: false, ..SimConfig::default() }).await;
    let refused = h.get("/v2/activities/emails?scoped_fields[]=subject").await.expect(422).json();
    assert_eq!(
        refused,
        json!({"error": "Requested scoped field(s) could not be returned, required scope access not included."})
    );
    h.get("/v2/activities/emails/1?scoped_fields[]=body").await.expect(422);
    h.get("/v2/activities/emails").await.expect(200);
}

#[tokio::test]
async fn emails_filter() {
    let h = Harness::start().await;
    let asc = "sort_by=send_time&sort_direction=ASC";
    assert_eq!(list(&h, &format!("/v2/activities/emails?{asc}")).await, vec![1, 2, 3, 4, 5]);
    assert_eq!(list(&h, &format!("/v2/activities/emails?bounced=true&{asc}")).await, vec![3]);
    assert_eq!(list(&h, &format!("/v2/activities/emails?bounced=false&{asc}")).await, vec![1, 2, 4, 5]);
    assert_eq!(list(&h, &format!("/v2/activities/emails?one_off=true&{asc}")).await, vec![2, 4]);
    assert_eq!(list(&h, &format!("/v2/activities/emails?one_off=false&{asc}")).await, vec![1, 3, 5]);
    assert_eq!(list(&h, &format!("/v2/activities/emails?status=scheduled&{asc}")).await, vec![5]);
    assert_eq!(list(&h, &format!("/v2/activities/emails?status[]=sent&status[]=failed&{asc}")).await, vec![1, 2, 3, 4]);
    assert_eq!(list(&h, &format!("/v2/activities/emails?cadence_id=1&{asc}")).await, vec![1, 3, 5]);
    assert_eq!(list(&h, &format!("/v2/activities/emails?step_id=1&{asc}")).await, vec![1, 3, 5]);
    assert!(list(&h, "/v2/activities/emails?step_id=2").await.is_empty());
    assert_eq!(list(&h, &format!("/v2/activities/emails?person_id=2,4&{asc}")).await, vec![2, 4]);
    assert_eq!(list(&h, "/v2/activities/emails?user_id=1").await.len(), 5);
    assert!(list(&h, "/v2/activities/emails?user_id=2").await.is_empty());
    assert!(list(&h, "/v2/activities/emails?action_id=1").await.is_empty());
    assert!(list(&h, "/v2/activities/emails?crm_activity_id=1").await.is_empty());
    assert_eq!(list(&h, "/v2/activities/emails?personalization=20.0").await, vec![2]);
    assert_eq!(list(&h, "/v2/activities/emails?ids=3,1,77&sort_by=send_time&sort_direction=ASC").await, vec![1, 3]);

    let person = h.get("/v2/people/2").await.expect(200).json();
    let address = person["data"]["email_address"].as_str().expect("email").to_uppercase();
    assert_eq!(list(&h, &format!("/v2/activities/emails?email_addresses[]={}", urlencode(&address))).await, vec![2]);

    let fourth = h.get("/v2/activities/emails/4").await.expect(200).json();
    let sent_at = fourth["data"]["sent_at"].as_str().expect("sent_at").to_owned();
    let updated = fourth["data"]["updated_at"].as_str().expect("updated_at").to_owned();
    let sent_since = list(&h, &format!("/v2/activities/emails?sent_at[gte]={}&{asc}", urlencode(&sent_at))).await;
    assert_eq!(sent_since, vec![4], "the scheduled email has no sent_at");
    let body = h.get(&format!("/v2/activities/emails?updated_at[lt]={}&{asc}", urlencode(&updated))).await.expect(200);
    let body = body.json();
    assert_eq!(ids(&body), vec![1, 2, 3]);
    assert_eq!(body["metadata"]["filtering"]["updated_at"]["lt"], updated.as_str());

    for bad in
        ["status=lost", "bounced=perhaps", "one_off=2", "person_id=x", "sent_at[gt]=yesterday", "sort_by=created_at"]
    {
        h.get(&format!("/v2/activities/emails?{bad}")).await.expect(422);
    }
}

#[tokio::test]
async fn emails_sort_by_updated_at_and_send_time() {
    let h = Harness::start().await;
    assert_eq!(list(&h, "/v2/activities/emails").await, vec![5, 4, 3, 2, 1], "default updated_at DESC");
    assert_eq!(list(&h, "/v2/activities/emails?sort_direction=ASC").await, vec![1, 2, 3, 4, 5]);
    let body = h.get("/v2/activities/emails?sort_by=send_time").await.expect(200).json();
    assert_eq!(ids(&body), vec![5, 4, 3, 2, 1], "the scheduled email sends last");
    assert_eq!(body["metadata"]["sorting"], json!({"sort_by":"send_time","sort_direction":"DESC NULLS LAST"}));
    let paged = h.get("/v2/activities/emails?per_page=2&page=2&sort_direction=ASC").await.expect(200).json();
    assert_eq!(ids(&paged), vec![3, 4]);
    assert_eq!(paged["metadata"]["paging"]["next_page"], 3);
}

// ---------------------------------------------------------------- calls

#[tokio::test]
async fn a_call_has_every_documented_key() {
    let h = Harness::start().await;
    let body = h.get("/v2/activities/calls/1.json").await.expect(200).json();
    let data = body["data"].as_object().expect("data");
    for key in documented_keys("Call") {
        assert!(data.contains_key(&key), "call has documented key {key}: {body}");
    }
    let base = h.sim.base_url();
    assert_eq!(data["called_person"], json!({"_href": format!("{base}/people/1"), "id": 1}));
    assert_eq!(data["disposition"], "Connected");
    assert_eq!(data["sentiment"], "Interested");
    assert_eq!(data["duration"], 60);
    assert_eq!(data["recordings"], json!([]));
    assert_eq!((&data["action"], &data["note"], &data["crm_activity"]), (&Value::Null, &Value::Null, &Value::Null));
    assert!(is_salesloft_timestamp(data["created_at"].as_str().expect("created_at")));
    assert_eq!(h.get("/v2/activities/calls/1").await.expect(200).json(), body);
    h.get("/v2/activities/calls/404").await.expect(404);
    h.delete("/v2/activities/calls/1").await.expect(404);
}

#[tokio::test]
async fn calls_filter_and_sort() {
    let h = Harness::start().await;
    let asc = "sort_by=created_at&sort_direction=ASC";
    assert_eq!(list(&h, &format!("/v2/activities/calls?{asc}")).await, vec![1, 2, 3, 4, 5]);
    assert_eq!(list(&h, "/v2/activities/calls?sort_by=created_at").await, vec![5, 4, 3, 2, 1]);
    assert_eq!(list(&h, "/v2/activities/calls?sort_by=updated_at&sort_direction=asc").await, vec![1, 2, 3, 4, 5]);
    assert_eq!(list(&h, &format!("/v2/activities/calls?sentiment=Interested&{asc}")).await, vec![1, 3, 5]);
    assert!(list(&h, "/v2/activities/calls?sentiment=interested").await.is_empty(), "case sensitive");
    assert_eq!(list(&h, &format!("/v2/activities/calls?disposition=No%20Answer&{asc}")).await, vec![2, 4]);
    assert_eq!(list(&h, &format!("/v2/activities/calls?person_id[]=2&person_id[]=5&{asc}")).await, vec![2, 5]);
    assert_eq!(list(&h, &format!("/v2/activities/calls?ids=4,2,404&{asc}")).await, vec![2, 4]);
    let guid = user_guid(&h, 1).await;
    let other = user_guid(&h, 2).await;
    assert_eq!(list(&h, &format!("/v2/activities/calls?user_guid={guid}")).await.len(), 5);
    assert!(list(&h, &format!("/v2/activities/calls?user_guid={other}")).await.is_empty());

    let third = h.get("/v2/activities/calls/3").await.expect(200).json();
    let at = urlencode(third["data"]["created_at"].as_str().expect("created_at"));
    assert_eq!(list(&h, &format!("/v2/activities/calls?created_at[gte]={at}&{asc}")).await, vec![3, 4, 5]);
    assert_eq!(list(&h, &format!("/v2/activities/calls?updated_at[lt]={at}&{asc}")).await, vec![1, 2]);
    for bad in ["person_id=abc", "created_at[gt]=never", "sort_by=duration", "per_page=lots"] {
        h.get(&format!("/v2/activities/calls?{bad}")).await.expect(422);
    }
}

#[tokio::test]
async fn creating_calls() {
    let h = Harness::start().await;
    let minimal = h.post("/v2/activities/calls.json", json!({"person_id": 7})).await.expect(200).json();
    let data = minimal["data"].as_object().expect("data");
    for key in documented_keys("Call") {
        assert!(data.contains_key(&key), "created call has {key}: {minimal}");
    }
    assert_eq!(data["id"], 6, "after the 5 seeded calls");
    assert_eq!(data["called_person"]["id"], 7);
    assert_eq!(data["user"]["id"], 1, "the caller by default");
    assert_eq!((&data["duration"], &data["note"], &data["action"]), (&Value::Null, &Value::Null, &Value::Null));
    assert_eq!(h.get("/v2/activities/calls/6").await.expect(200).json(), minimal);

    let guid = user_guid(&h, 2).await;
    let full = h
        .post(
            "/v2/activities/calls",
            json!({"person_id":"8","duration":"95","disposition":"Connected","sentiment":"Demo Scheduled",
                   "to":"+15550100008","notes":"Wants a demo","user_guid":guid,
                   "linked_call_data_record_ids":[11,12],"crm_params":{"subject":"Call"}}),
        )
        .await
        .expect(200)
        .json();
    let call = &full["data"];
    assert_eq!((call["duration"].as_i64(), call["to"].as_str()), (Some(95), Some("+15550100008")));
    assert_eq!(call["sentiment"], "Demo Scheduled");
    assert_eq!(call["user"]["id"], 2, "user_guid logs it for another user (the caller is an admin)");
    let note_id = call["note"]["id"].as_i64().expect("the notes became a note");
    let note = h.get(&format!("/v2/notes/{note_id}")).await.expect(200).json();
    assert_eq!(note["data"]["content"], "Wants a demo");
    assert_eq!(note["data"]["call"]["id"], call["id"]);
    assert_eq!(note["data"]["associated_with"]["id"], 8);

    // A phone action is completed by its call; the call takes its cadence and step.
    let with_action = h.post("/v2/activities/calls", json!({"person_id":2,"action_id":2})).await.expect(200).json();
    assert_eq!(with_action["data"]["action"]["id"], 2);
    assert_eq!(
        (with_action["data"]["cadence"]["id"].as_i64(), with_action["data"]["step"]["id"].as_i64()),
        (Some(1), Some(2))
    );
    h.get("/v2/actions/2").await.expect(404);
    assert!(!list(&h, "/v2/actions").await.contains(&2));

    let form = h
        .raw(Method::POST, "/v2/activities/calls", "application/x-www-form-urlencoded", "person_id=9&duration=30")
        .await
        .expect(200)
        .json();
    assert_eq!((form["data"]["called_person"]["id"].as_i64(), form["data"]["duration"].as_i64()), (Some(9), Some(30)));
    let listed = list(&h, "/v2/activities/calls?person_id=9").await;
    assert_eq!(listed, vec![form["data"]["id"].as_i64().expect("id")]);
}

#[tokio::test]
async fn bad_calls_are_422_on_their_field() {
    let h = Harness::start().await;
    let cases = [
        (json!({}), "person_id", "is required"),
        (json!({"person_id": null}), "person_id", "is required"),
        (json!({"person_id": 999_999}), "person_id", "is invalid"),
        (json!({"person_id": "seven"}), "person_id", "must be an integer"),
        (json!({"person_id": 1e30}), "person_id", "must be an integer"),
        (json!({"person_id": 1, "duration": -1}), "duration", "must be greater than or equal to 0"),
        (json!({"person_id": 1, "duration": "long"}), "duration", "must be an integer"),
        (json!({"person_id": 1, "action_id": 999}), "action_id", "is invalid"),
        (json!({"person_id": 1, "action_id": 1}), "action_id", "must be a phone action"),
        (json!({"person_id": 1, "action_id": 5}), "action_id", "does not belong to person_id"),
        (json!({"person_id": 1, "user_guid": "nobody"}), "user_guid", "is invalid"),
        (json!({"person_id": 1, "crm_params": "x"}), "crm_params", "is invalid"),
        (json!({"person_id": 1, "notes": ["a"]}), "notes", "is invalid"),
        (
            json!({"person_id": 1, "linked_call_data_record_ids": ["a"]}),
            "linked_call_data_record_ids",
            "must be positive integers",
        ),
    ];
    for (body, field, message) in cases {
        let answer = h.post("/v2/activities/calls", body.clone()).await.expect(422).json();
        assert_eq!(answer, json!({"errors": {field: [message]}}), "body {body}");
    }
    h.post("/v2/activities/calls", json!({"person_id":1,"linked_call_data_record_ids":[5]})).await.expect(200);
    let reused = h.post("/v2/activities/calls", json!({"person_id":2,"linked_call_data_record_ids":[5]})).await;
    assert_eq!(
        reused.expect(422).json(),
        json!({"errors": {"linked_call_data_record_ids": ["is already linked to a call"]}})
    );
    h.post("/v2/activities/calls", json!({"person_id":5,"action_id":5})).await.expect(200);
    let twice = h.post("/v2/activities/calls", json!({"person_id":5,"action_id":5})).await.expect(422).json();
    assert_eq!(twice, json!({"errors": {"action_id": ["has already been completed"]}}));
    h.raw(Method::POST, "/v2/activities/calls", "application/json", "{not json").await.expect(400);
    assert_eq!(list(&h, "/v2/activities/calls?per_page=100").await.len(), 7, "only the two valid creates added");
}

// ---------------------------------------------------------------- POST /v2/activities

#[tokio::test]
async fn an_activity_completes_an_integration_action() {
    let h = Harness::start().await;
    assert_eq!(list(&h, "/v2/steps?has_due_actions=true&sort_by=created_at&sort_direction=ASC").await, vec![1, 2, 3]);
    let done = h.post("/v2/activities.json", json!({"action_id": 3})).await.expect(200).json();
    let data = done["data"].as_object().expect("data");
    assert_eq!(data.keys().collect::<Vec<_>>(), vec!["updated_at"], "the Activity object: {done}");
    assert!(is_salesloft_timestamp(data["updated_at"].as_str().expect("updated_at")));
    h.get("/v2/actions/3").await.expect(404);
    assert_eq!(list(&h, "/v2/actions?sort_by=created_at&sort_direction=ASC").await, vec![1, 2, 4, 5]);
    assert_eq!(
        list(&h, "/v2/steps?has_due_actions=true&sort_by=created_at&sort_direction=ASC").await,
        vec![1, 2],
        "step 3's only due action is done"
    );
    let twice = h.post("/v2/activities", json!({"action_id": 3})).await.expect(422).json();
    assert_eq!(twice, json!({"errors": {"action_id": ["has already been completed"]}}));
}

#[tokio::test]
async fn bad_activities_are_422() {
    let h = Harness::start().await;
    let cases = [
        (json!({}), "action_id", "or task_id is required"),
        (json!({"action_id": 3, "task_id": 1}), "task_id", "cannot be given with action_id"),
        (json!({"action_id": 1}), "action_id", "must be an integration action"),
        (json!({"action_id": 2}), "action_id", "must be an integration action"),
        (json!({"action_id": 424_242}), "action_id", "is invalid"),
        (json!({"action_id": "x"}), "action_id", "must be an integer"),
        (json!({"task_id": 424_242}), "task_id", "is invalid"),
        (json!({"task_id": [1]}), "task_id", "must be an integer"),
    ];
    for (body, field, message) in cases {
        let answer = h.post("/v2/activities", body.clone()).await.expect(422).json();
        assert_eq!(answer, json!({"errors": {field: [message]}}), "body {body}");
    }
    assert_eq!(list(&h, "/v2/actions").await.len(), 5, "nothing was completed");
    h.get("/v2/activities").await.expect(404);
}

#[tokio::test]
async fn an_activity_completes_a_task_and_announces_it() {
    let h =
        Harness::with(SimConfig { webhook_retry_interval: Duration::from_millis(10), ..SimConfig::default() }).await;
    let mut deliveries = WebhookReceiver::start().await;
    let url = deliveries.url().to_owned();
    for event in ["task_updated", "task_completed"] {
        h.post("/v2/webhook_subscriptions", json!({"callback_url":url,"callback_token":"t","event_type":event}))
            .await
            .expect(200);
    }
    h.post("/v2/activities", json!({"task_id": 2})).await.expect(200);
    let task = h.get("/v2/tasks/2").await.expect(200).json();
    assert_eq!(task["data"]["current_state"], "completed");
    assert_eq!(task["data"]["completed_by"]["id"], 1);
    let mut events = [deliveries.next().await, deliveries.next().await];
    events.sort_by(|a, b| a.event.cmp(&b.event));
    assert_eq!(events[0].event, "task_completed");
    assert_eq!(events[1].event, "task_updated");
    let payload: Value = serde_json::from_slice(&events[0].body).expect("json payload");
    assert_eq!(payload, task["data"]);
    let twice = h.post("/v2/activities", json!({"task_id": 2})).await.expect(422).json();
    assert_eq!(twice, json!({"errors": {"task_id": ["has already been completed"]}}));
}

// ---------------------------------------------------------------- webhooks and stats

#[tokio::test]
async fn a_created_call_is_delivered_as_call_created() {
    let h =
        Harness::with(SimConfig { webhook_retry_interval: Duration::from_millis(10), ..SimConfig::default() }).await;
    let mut deliveries = WebhookReceiver::start().await;
    let url = deliveries.url().to_owned();
    h.post("/v2/webhook_subscriptions", json!({"callback_url":url,"callback_token":"t","event_type":"call_created"}))
        .await
        .expect(200);
    h.post("/v2/activities/calls", json!({"person_id": 999_999})).await.expect(422);
    let created = h.post("/v2/activities/calls", json!({"person_id": 4, "duration": 12})).await.expect(200).json();
    let Delivery { event, body, .. } = deliveries.next().await;
    assert_eq!(event, "call_created");
    let payload: Value = serde_json::from_slice(&body).expect("json payload");
    assert_eq!(payload, created["data"], "the bare Call, as the API renders it");
}

#[tokio::test]
async fn the_new_routes_are_charged_and_counted() {
    let h = Harness::start().await;
    let paths = [
        (Method::GET, "/v2/steps", None),
        (Method::GET, "/v2/steps/1.json", None),
        (Method::GET, "/v2/actions.json", None),
        (Method::GET, "/v2/actions/1", None),
        (Method::GET, "/v2/activities/emails", None),
        (Method::GET, "/v2/activities/emails/1.json", None),
        (Method::GET, "/v2/activities/calls.json", None),
        (Method::GET, "/v2/activities/calls/1", None),
        (Method::POST, "/v2/activities/calls", Some(json!({"person_id": 1}))),
        (Method::POST, "/v2/activities.json", Some(json!({"action_id": 3}))),
    ];
    for (method, path, body) in paths.clone() {
        let answer = h.call(method, path, body).await.expect(200);
        assert_eq!(answer.header("x-ratelimit-endpoint-cost"), Some("1"), "{path} is charged");
    }
    h.get("/v2/activities/calls?page=101").await.expect(200);
    let stats = h.stats().await;
    for label in [
        "GET /v2/steps",
        "GET /v2/steps/{id}",
        "GET /v2/actions",
        "GET /v2/actions/{id}",
        "GET /v2/activities/emails",
        "GET /v2/activities/emails/{id}",
        "GET /v2/activities/calls/{id}",
        "POST /v2/activities/calls",
        "POST /v2/activities",
    ] {
        assert_eq!(stats["by_route"][label], 1, "{label} in {stats}");
    }
    assert_eq!(stats["by_route"]["GET /v2/activities/calls"], 2);
    assert_eq!(stats["cost_used"], 10 + 3, "page 101 costs 3");
}
