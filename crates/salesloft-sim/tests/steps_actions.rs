//! `/v2/steps` and `/v2/actions` (FACTS.md §5.2, §5.5 Step/Action, §4.1): every documented key, each
//! filter, sorting, `.json` paths, 404s and 422s. Completing actions is in `activities.rs`.

mod common;

use common::{Harness, documented_keys, is_salesloft_timestamp};
use serde_json::{Value, json};

fn ids(body: &Value) -> Vec<i64> {
    body["data"].as_array().expect("data array").iter().map(|r| r["id"].as_i64().expect("id")).collect()
}

async fn list(h: &Harness, path: &str) -> Vec<i64> {
    ids(&h.get(path).await.expect(200).json())
}

#[tokio::test]
async fn a_step_has_every_documented_key() {
    let h = Harness::start().await;
    let body = h.get("/v2/steps/2.json").await.expect(200).json();
    let data = body["data"].as_object().expect("data");
    for key in documented_keys("Step") {
        assert!(data.contains_key(&key), "step has documented key {key}: {body}");
    }
    let base = h.sim.base_url();
    assert_eq!(data["id"], 2);
    assert_eq!(data["type"], "phone");
    assert_eq!(data["display_name"], "Day 1: Step 2 - Phone");
    assert_eq!((data["day"].as_i64(), data["step_number"].as_i64()), (Some(1), Some(2)));
    assert_eq!(data["cadence"], json!({"_href": format!("{base}/cadences/1"), "id": 1}));
    assert_eq!(data["details"], Value::Null);
    assert_eq!(data["disabled"], false);
    assert!(is_salesloft_timestamp(data["created_at"].as_str().expect("created_at")));
    assert!(is_salesloft_timestamp(data["updated_at"].as_str().expect("updated_at")));
    assert_eq!(h.get("/v2/steps/2").await.expect(200).json(), body, "with and without .json");
    h.get("/v2/steps/999999").await.expect(404);
    h.get("/v2/steps/abc").await.expect(404);
    h.post("/v2/steps", json!({})).await.expect(404);
}

#[tokio::test]
async fn steps_are_seeded_three_per_cadence_and_filter() {
    let h = Harness::start().await;
    let all = h.get("/v2/steps.json?per_page=100&include_paging_counts=true").await.expect(200).json();
    assert_eq!(all["metadata"]["paging"]["total_count"], 15, "5 cadences × 3 steps");
    assert_eq!(list(&h, "/v2/steps?cadence_id=2&sort_by=created_at&sort_direction=ASC").await, vec![4, 5, 6]);
    assert_eq!(list(&h, "/v2/steps?cadence_id[]=1&cadence_id[]=3&sort_by=created_at").await, vec![9, 8, 7, 3, 2, 1]);
    assert_eq!(list(&h, "/v2/steps?type=phone&sort_by=created_at&sort_direction=asc").await, vec![2, 5, 8, 11, 14]);
    assert_eq!(list(&h, "/v2/steps?type=other&sort_by=created_at&sort_direction=asc").await, vec![6, 12]);
    assert_eq!(list(&h, "/v2/steps?ids=3,1,99&sort_by=created_at&sort_direction=asc").await, vec![1, 3]);
    // Seeded actions: persons 1..5 on steps 1,2,3,1,2; odd persons' actions are due.
    assert_eq!(list(&h, "/v2/steps?has_due_actions=true&sort_by=created_at&sort_direction=asc").await, vec![1, 2, 3]);
    let not_due = list(&h, "/v2/steps?has_due_actions=false&per_page=100").await;
    assert_eq!(not_due.len(), 12);
    assert!(!not_due.contains(&1));

    let step = h.get("/v2/steps/7").await.expect(200).json();
    let updated = step["data"]["updated_at"].as_str().expect("updated_at").to_owned();
    let created = step["data"]["created_at"].as_str().expect("created_at").to_owned();
    let exact = list(&h, &format!("/v2/steps?updated_at[gte]={0}&updated_at[lte]={0}", urlencode(&updated))).await;
    assert_eq!(exact, vec![7]);
    let before = list(&h, &format!("/v2/steps?created_at[lt]={}&per_page=100", urlencode(&created))).await;
    assert_eq!(before.len(), 6, "steps of cadences 1 and 2 were created earlier: {before:?}");
    let echoed = h.get(&format!("/v2/steps?updated_at[gt]={}", urlencode(&updated))).await.expect(200).json();
    assert_eq!(echoed["metadata"]["filtering"]["updated_at"]["gt"], updated.as_str());

    for bad in ["type=video", "has_due_actions=maybe", "cadence_id=x", "ids=1,a", "updated_at[gt]=soon"] {
        let answer = h.get(&format!("/v2/steps?{bad}")).await.expect(422).json();
        assert!(answer["errors"].is_object(), "{bad}: {answer}");
    }
}

#[tokio::test]
async fn steps_sort_by_created_at_and_updated_at() {
    let h = Harness::start().await;
    let by_created = list(&h, "/v2/steps?sort_by=created_at&sort_direction=ASC&per_page=100").await;
    assert_eq!(by_created, (1..=15).collect::<Vec<_>>());
    let body = h.get("/v2/steps?sort_by=updated_at&sort_direction=ASC&per_page=100").await.expect(200).json();
    let stamps: Vec<String> = body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|s| s["updated_at"].as_str().expect("ts").to_owned())
        .collect();
    let mut sorted = stamps.clone();
    sorted.sort();
    assert_eq!(stamps, sorted, "ascending by updated_at");
    assert_ne!(ids(&body), by_created, "updated_at order differs from created_at order");
    assert_eq!(body["metadata"]["sorting"]["sort_direction"], "ASC NULLS FIRST");
    let desc = list(&h, "/v2/steps?per_page=100").await;
    assert_eq!(desc, ids(&body).into_iter().rev().collect::<Vec<_>>(), "default updated_at DESC");
    h.get("/v2/steps?sort_by=name").await.expect(422);
    h.get("/v2/steps?sort_direction=sideways").await.expect(422);
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn an_action_has_every_documented_key() {
    let h = Harness::start().await;
    let body = h.get("/v2/actions/2.json").await.expect(200).json();
    let data = body["data"].as_object().expect("data");
    for key in documented_keys("Action") {
        assert!(data.contains_key(&key), "action has documented key {key}: {body}");
    }
    let base = h.sim.base_url();
    assert_eq!(data["type"], "phone");
    assert_eq!(data["status"], "in_progress");
    assert_eq!(data["due"], false);
    assert_eq!(data["person"], json!({"_href": format!("{base}/people/2"), "id": 2}));
    assert_eq!(data["step"], json!({"_href": format!("{base}/steps/2"), "id": 2}));
    assert_eq!(data["cadence"]["id"], 1);
    assert_eq!(data["user"]["id"], 1);
    assert_eq!((&data["multitouch_group_id"], &data["action_details"]), (&Value::Null, &Value::Null));
    assert!(is_salesloft_timestamp(data["due_on"].as_str().expect("due_on")));
    assert_eq!(h.get("/v2/actions/2").await.expect(200).json(), body);
    h.get("/v2/actions/999").await.expect(404);
    h.put("/v2/actions/2", json!({"status":"x"})).await.expect(404);
}

#[tokio::test]
async fn actions_filter_and_sort() {
    let h = Harness::start().await;
    assert_eq!(list(&h, "/v2/actions.json?sort_by=created_at&sort_direction=ASC").await, vec![1, 2, 3, 4, 5]);
    assert_eq!(list(&h, "/v2/actions?sort_by=created_at").await, vec![5, 4, 3, 2, 1]);
    assert_eq!(list(&h, "/v2/actions?step_id=2&sort_by=created_at&sort_direction=ASC").await, vec![2, 5]);
    assert_eq!(list(&h, "/v2/actions?type=integration").await, vec![3]);
    assert_eq!(list(&h, "/v2/actions?type=email&sort_by=created_at&sort_direction=ASC").await, vec![1, 4]);
    assert_eq!(list(&h, "/v2/actions?person_id[]=3&person_id[]=4&sort_by=created_at").await, vec![4, 3]);
    assert_eq!(list(&h, "/v2/actions?cadence_id=1").await.len(), 5);
    assert!(list(&h, "/v2/actions?cadence_id=2").await.is_empty());
    assert!(list(&h, "/v2/actions?multitouch_group_id=1").await.is_empty());
    assert_eq!(list(&h, "/v2/actions?ids=4,2&sort_by=created_at&sort_direction=ASC").await, vec![2, 4]);

    let users = h.get("/v2/users").await.expect(200).json();
    let guid = |id: i64| {
        users["data"].as_array().expect("users").iter().find(|u| u["id"] == id).expect("user")["guid"]
            .as_str()
            .expect("guid")
            .to_owned()
    };
    assert_eq!(list(&h, &format!("/v2/actions?user_guid={}", guid(1))).await.len(), 5);
    assert!(list(&h, &format!("/v2/actions?user_guid={}", guid(2))).await.is_empty());
    assert!(list(&h, "/v2/actions?user_guid=nobody").await.is_empty());

    let third = h.get("/v2/actions/3").await.expect(200).json();
    let due_on = third["data"]["due_on"].as_str().expect("due_on").to_owned();
    let updated = third["data"]["updated_at"].as_str().expect("updated_at").to_owned();
    let early =
        list(&h, &format!("/v2/actions?due_on[lte]={}&sort_by=created_at&sort_direction=ASC", urlencode(&due_on)))
            .await;
    assert_eq!(early, vec![1, 2, 3], "due_on grows with the person id");
    let later =
        list(&h, &format!("/v2/actions?updated_at[gt]={}&sort_by=created_at&sort_direction=ASC", urlencode(&updated)))
            .await;
    assert_eq!(later, vec![4, 5]);

    let body = h.get("/v2/actions?sort_by=updated_at&sort_direction=ASC").await.expect(200).json();
    assert_eq!(ids(&body), vec![1, 2, 3, 4, 5]);
    for bad in ["type=fax", "step_id=x", "due_on[gt]=later", "sort_by=due_on", "person_id=1.5"] {
        h.get(&format!("/v2/actions?{bad}")).await.expect(422);
    }
}
