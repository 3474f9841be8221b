//! `/v2/tasks` (FACTS.md §5.2, §5.5 Task, §6.3): every documented key, create/read/update (no DELETE),
//! required fields as 422s, `idempotency_key` returning the existing task, list filters and sorting.

mod common;

use common::{Harness, documented_keys, is_salesloft_timestamp};
use reqwest::Method;
use salesloft_sim::SimConfig;
use serde_json::{Value, json};

fn ids(body: &Value) -> Vec<i64> {
    body["data"].as_array().expect("data array").iter().map(|r| r["id"].as_i64().expect("id")).collect()
}

fn task(subject: &str, person: i64, due: &str) -> Value {
    json!({"subject":subject,"person_id":person,"user_id":1,"task_type":"call","due_date":due,"current_state":"scheduled"})
}

/// A team with 20 people and no seeded tasks (seeded tasks come with seeded people).
async fn no_seeded_tasks() -> Harness {
    let h = Harness::with(SimConfig { seed_people: 0, seed_users: 3, ..SimConfig::default() }).await;
    for i in 0..20 {
        h.post("/v2/people", json!({"email_address": format!("t{i}@example.com")})).await.expect(200);
    }
    h
}

#[tokio::test]
async fn a_task_has_every_documented_key() {
    let h = Harness::start().await;
    let created = h
        .post(
            "/v2/tasks.json",
            json!({"subject":"Call John","person_id":"7","user_id":2,"task_type":"Email","due_date":"2024-03-01",
                   "current_state":"scheduled","remind_at":"2024-02-29T09:00:00Z","description":"Ask about budget"}),
        )
        .await
        .expect(200)
        .json();
    let data = created["data"].as_object().expect("data");
    for key in documented_keys("Task") {
        assert!(data.contains_key(&key), "task has documented key {key}: {created}");
    }
    let base = h.sim.base_url();
    assert_eq!(data["subject"], "Call John");
    assert_eq!(data["task_type"], "email");
    assert_eq!(data["current_state"], "scheduled");
    assert_eq!(data["due_date"], "2024-03-01");
    assert_eq!(data["due_at"], Value::Null);
    assert_eq!(data["description"], "Ask about budget");
    assert_eq!(data["person"], json!({"_href": format!("{base}/people/7"), "id": 7}));
    assert_eq!(data["user"]["id"], 2);
    assert_eq!(data["created_by_user"]["id"], 1, "created by the caller");
    assert_eq!((&data["completed_at"], &data["completed_by"]), (&Value::Null, &Value::Null));
    assert!(is_salesloft_timestamp(data["remind_at"].as_str().expect("remind_at")));
    assert!(is_salesloft_timestamp(data["created_at"].as_str().expect("created_at")));
    assert!(data.get("idempotency_key").is_none(), "the key is not part of the Task object");
}

#[tokio::test]
async fn create_read_update_and_complete() {
    let h = Harness::start().await;
    let form = h
        .raw(
            Method::POST,
            "/v2/tasks",
            "application/x-www-form-urlencoded",
            "subject=Form+task&person_id=3&user_id=1&task_type=general&due_date=2024-05-05&current_state=scheduled",
        )
        .await
        .expect(200)
        .json();
    let id = form["data"]["id"].as_i64().expect("id");
    assert_eq!(h.get(&format!("/v2/tasks/{id}.json")).await.expect(200).json()["data"], form["data"]);

    let moved = h
        .put(&format!("/v2/tasks/{id}"), json!({"subject":"Renamed","due_date":"2024-06-01","is_logged":false}))
        .await
        .expect(200)
        .json();
    assert_eq!(
        (moved["data"]["subject"].as_str(), moved["data"]["due_date"].as_str()),
        (Some("Renamed"), Some("2024-06-01"))
    );
    assert_eq!(moved["data"]["current_state"], "scheduled");
    assert_eq!(moved["data"]["created_at"], form["data"]["created_at"]);

    let done = h
        .put(&format!("/v2/tasks/{id}"), json!({"current_state":"completed","description":"Talked"}))
        .await
        .expect(200)
        .json();
    assert_eq!(done["data"]["current_state"], "completed");
    assert_eq!(done["data"]["completed_by"]["id"], 1);
    assert!(is_salesloft_timestamp(done["data"]["completed_at"].as_str().expect("completed_at")));
    assert_eq!(done["data"]["description"], "Talked");

    // No DELETE in the OpenAPI; unknown ids are 404.
    h.delete(&format!("/v2/tasks/{id}")).await.expect(404);
    h.get(&format!("/v2/tasks/{id}")).await.expect(200);
    h.get("/v2/tasks/999999").await.expect(404);
    h.put("/v2/tasks/999999", json!({"subject":"x"})).await.expect(404);
}

#[tokio::test]
async fn required_fields_and_bad_values_are_422_on_their_field() {
    let h = Harness::start().await;
    let missing = h.post("/v2/tasks", json!({})).await.expect(422).json();
    let fields = ["subject", "person_id", "user_id", "task_type", "due_date", "current_state"];
    let expected: serde_json::Map<String, Value> =
        fields.iter().map(|f| ((*f).to_owned(), json!(["is required"]))).collect();
    assert_eq!(missing, json!({"errors": expected}));
    for field in fields {
        let mut body = task("t", 1, "2024-01-10");
        body.as_object_mut().expect("object").remove(field);
        let answer = h.post("/v2/tasks", body).await.expect(422).json();
        assert_eq!(answer, json!({"errors": {field: ["is required"]}}), "without {field}");
    }
    let bad = [
        ("subject", json!("  ")),
        ("person_id", json!(999_999)),
        ("person_id", json!("seven")),
        ("user_id", json!(42)),
        ("task_type", json!("meeting")),
        ("due_date", json!("next tuesday")),
        ("due_date", json!("2024-02-30")),
        ("current_state", json!("completed")),
        ("remind_at", json!("soon")),
        ("description", json!(["x"])),
        ("idempotency_key", json!({"k":1})),
    ];
    for (field, value) in bad {
        let mut body = task("t", 1, "2024-01-10");
        body[field] = value.clone();
        let answer = h.post("/v2/tasks", body).await.expect(422).json();
        assert!(
            answer["errors"][field].as_array().is_some_and(|m| !m.is_empty()),
            "{field}={value} → 422 on {field}: {answer}"
        );
    }
    let put_bad = [("current_state", json!("scheduled")), ("due_date", json!("2024/01/01")), ("subject", json!(""))];
    for (field, value) in put_bad {
        let answer = h.put("/v2/tasks/1", json!({ field: value })).await.expect(422).json();
        assert!(answer["errors"][field].is_array(), "PUT {field}={value}: {answer}");
    }
    h.raw(Method::POST, "/v2/tasks", "application/json", "{\"subject\"").await.expect(400);
}

#[tokio::test]
async fn idempotency_key_returns_the_existing_task_instead_of_a_duplicate() {
    let h = no_seeded_tasks().await;
    let mut body = task("Once", 4, "2024-02-02");
    body["idempotency_key"] = json!("6f1c1c56-8d1e-4a43-9a52-1d7d2c0d6d3e");
    let first = h.post("/v2/tasks", body.clone()).await.expect(200).json();
    let second = h.post("/v2/tasks", body.clone()).await.expect(200).json();
    assert_eq!(second, first, "the same task comes back");
    // The key, not the body, identifies the request: a changed retry still gets the original task.
    body["subject"] = json!("Changed on retry");
    let third = h.post("/v2/tasks", body).await.expect(200).json();
    assert_eq!(third["data"]["id"], first["data"]["id"]);
    assert_eq!(third["data"]["subject"], "Once");
    let all = h.get("/v2/tasks").await.expect(200).json();
    assert_eq!(ids(&all), vec![first["data"]["id"].as_i64().expect("id")], "no duplicate was created");

    let by_key = h.get("/v2/tasks?idempotency_key=6f1c1c56-8d1e-4a43-9a52-1d7d2c0d6d3e").await.expect(200).json();
    assert_eq!(ids(&by_key), ids(&all));
    let other_key = h.get("/v2/tasks?idempotency_key=other").await.expect(200).json();
    assert_eq!(ids(&other_key), Vec::<i64>::new());
    // Another key is another task.
    let mut fresh = task("Twice", 4, "2024-02-02");
    fresh["idempotency_key"] = json!("another");
    let other = h.post("/v2/tasks", fresh).await.expect(200).json();
    assert_ne!(other["data"]["id"], first["data"]["id"]);
}

#[tokio::test]
async fn a_reused_idempotency_key_can_be_a_422_instead() {
    let h = Harness::with(SimConfig { task_idempotency_returns_existing: false, ..SimConfig::default() }).await;
    let mut body = task("Once", 4, "2024-02-02");
    body["idempotency_key"] = json!("k-1");
    h.post("/v2/tasks", body.clone()).await.expect(200);
    let again = h.post("/v2/tasks", body).await.expect(422).json();
    assert_eq!(again, json!({"errors":{"idempotency_key":["is already taken"]}}));
}

#[tokio::test]
async fn list_filters_and_sorting() {
    let h = no_seeded_tasks().await;
    let person = h.put("/v2/people/3", json!({"locale":"Europe/Berlin","account_id":2})).await.expect(200).json();
    assert_eq!(person["data"]["account"]["id"], 2);
    let specs = [
        ("a", 1, 1, "call", "2024-03-03"),
        ("b", 2, 2, "email", "2024-03-01"),
        ("c", 3, 1, "general", "2024-03-02"),
        ("d", 3, 3, "call", "2024-03-04"),
    ];
    let mut made = Vec::new();
    for (subject, person, user, kind, due) in specs {
        let body = json!({"subject":subject,"person_id":person,"user_id":user,"task_type":kind,"due_date":due,"current_state":"scheduled"});
        made.push(h.post("/v2/tasks", body).await.expect(200).json()["data"]["id"].as_i64().expect("id"));
    }
    h.put(&format!("/v2/tasks/{}", made[3]), json!({"current_state":"completed"})).await.expect(200);

    let default = h.get("/v2/tasks").await.expect(200).json();
    assert_eq!(ids(&default), vec![made[1], made[2], made[0], made[3]], "due_date ASC by default");
    assert_eq!(default["metadata"]["sorting"], json!({"sort_by":"due_date","sort_direction":"ASC NULLS FIRST"}));
    let desc = h.get("/v2/tasks?sort_direction=DESC").await.expect(200).json();
    assert_eq!(ids(&desc), vec![made[3], made[0], made[2], made[1]]);
    h.get("/v2/tasks?sort_by=due_at").await.expect(200);
    h.get("/v2/tasks?sort_by=updated_at").await.expect(422);

    let by_ids = format!("ids={},{}", made[0], made[1]);
    let cases = [
        ("person_id=3", vec![made[2], made[3]]),
        ("person_id[]=1&person_id[]=2", vec![made[1], made[0]]),
        ("user_id=1", vec![made[2], made[0]]),
        ("task_type=call", vec![made[0], made[3]]),
        ("task_type=email,general", vec![made[1], made[2]]),
        ("current_state=completed", vec![made[3]]),
        ("current_state=scheduled&user_id=1,3", vec![made[2], made[0]]),
        ("account_id=2", vec![made[2], made[3]]),
        ("locale=Europe/Berlin", vec![made[2], made[3]]),
        (by_ids.as_str(), vec![made[1], made[0]]),
    ];
    for (query, expected) in cases {
        let answer = h.get(&format!("/v2/tasks?{query}")).await.expect(200).json();
        assert_eq!(ids(&answer), expected, "?{query}");
    }
    let touched = h.get(&format!("/v2/tasks/{}", made[3])).await.expect(200).json();
    let stamp = touched["data"]["updated_at"].as_str().expect("ts").replace('+', "%2B");
    let recent = h.get(&format!("/v2/tasks?updated_at[gte]={stamp}")).await.expect(200).json();
    assert_eq!(ids(&recent), vec![made[3]]);
    assert_eq!(recent["metadata"]["filtering"]["updated_at"]["gte"], touched["data"]["updated_at"]);
    let before = h.get(&format!("/v2/tasks?updated_at[lt]={stamp}")).await.expect(200).json();
    assert_eq!(ids(&before).len(), 3);
    // Everything is due in March 2024, long before the simulator's today: overdue unless completed.
    let overdue = h.get("/v2/tasks?time_interval_filter=overdue").await.expect(200).json();
    assert_eq!(ids(&overdue), vec![made[1], made[2], made[0]]);
    let today = h.get("/v2/tasks?time_interval_filter=today").await.expect(200).json();
    assert_eq!(ids(&today), Vec::<i64>::new());

    for bad in [
        "/v2/tasks?task_type=meeting",
        "/v2/tasks?current_state=open",
        "/v2/tasks?time_interval_filter=someday",
        "/v2/tasks?person_id=abc",
        "/v2/tasks?updated_at[gt]=soon",
    ] {
        let answer = h.get(bad).await.expect(422).json();
        assert!(answer["errors"].is_object(), "{bad}: {answer}");
    }
}

#[tokio::test]
async fn task_webhooks_created_updated_completed() {
    let h = Harness::with(SimConfig { webhook_retries: 0, ..SimConfig::default() }).await;
    for event in ["task_created", "task_updated", "task_completed"] {
        h.post(
            "/v2/webhook_subscriptions",
            json!({"callback_url":"http://127.0.0.1:9/x","callback_token":"k","event_type":event}),
        )
        .await
        .expect(200);
    }
    let id = h.post("/v2/tasks", task("Hook", 2, "2024-01-05")).await.expect(200).json()["data"]["id"].clone();
    h.put(&format!("/v2/tasks/{id}"), json!({"subject":"Hook 2"})).await.expect(200);
    h.put(&format!("/v2/tasks/{id}"), json!({"current_state":"completed"})).await.expect(200);
    tokio::time::timeout(std::time::Duration::from_secs(10), h.sim.wait_for_webhook_attempts(4))
        .await
        .expect("four attempts");
    let mut events: Vec<String> = h.sim.webhook_deliveries().into_iter().map(|d| d.event_type).collect();
    events.sort();
    assert_eq!(events, vec!["task_completed", "task_created", "task_updated", "task_updated"]);
    assert!(h.sim.webhook_deliveries().iter().all(|d| Some(&json!(d.resource_id)) == Some(&id)));
}

#[tokio::test]
async fn seeded_tasks_are_scheduled_on_the_first_people() {
    let h = Harness::start().await;
    let seeded = h.get("/v2/tasks").await.expect(200).json();
    assert_eq!(ids(&seeded), vec![1, 2, 3, 4, 5], "due_date ASC");
    let dues: Vec<&str> =
        seeded["data"].as_array().expect("array").iter().filter_map(|t| t["due_date"].as_str()).collect();
    assert_eq!(dues, vec!["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06"]);
    assert!(seeded["data"].as_array().expect("array").iter().all(|t| t["current_state"] == "scheduled"));
    let none = Harness::with(SimConfig { seed_people: 0, ..SimConfig::default() }).await;
    assert_eq!(none.get("/v2/tasks").await.expect(200).json()["data"], json!([]));
}
