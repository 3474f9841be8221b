//! Cadences and cadence memberships (FACTS.md §5.4): create with ids in the query or the body, list filters,
//! remove, re-add to the same record.

mod common;

use common::{Harness, documented_keys};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn cadences_are_listed_and_have_every_documented_key() {
    let h = Harness::start().await;
    let list = h.get("/v2/cadences.json?team_cadence=true").await.expect(200).json();
    let cadences = list["data"].as_array().expect("array");
    assert!(!cadences.is_empty() && cadences.iter().all(|c| c["team_cadence"] == true));
    let cadence = h.get("/v2/cadences/1").await.expect(200).json();
    for key in documented_keys("Cadence") {
        assert!(cadence["data"].get(&key).is_some(), "cadence has {key}");
    }
    assert!(cadence["data"].get("current_state").is_none(), "Cadence has no current_state (FACTS.md §5.5)");
}

#[tokio::test]
async fn create_with_ids_in_query_json_body_or_form_body() {
    let h = Harness::start().await;
    let from_query =
        h.call(Method::POST, "/v2/cadence_memberships.json?person_id=20&cadence_id=1", None).await.expect(200).json();
    for key in documented_keys("CadenceMembership") {
        assert!(from_query["data"].get(&key).is_some(), "membership has {key}");
    }
    assert_eq!(from_query["data"]["person"]["id"], 20);
    assert_eq!(from_query["data"]["currently_on_cadence"], true);
    let from_json = h.post("/v2/cadence_memberships", json!({"person_id":21,"cadence_id":1})).await.expect(200).json();
    assert_eq!(from_json["data"]["cadence"]["id"], 1);
    let from_form = h
        .raw(Method::POST, "/v2/cadence_memberships", "application/x-www-form-urlencoded", "person_id=22&cadence_id=3")
        .await
        .expect(200)
        .json();
    assert_eq!(from_form["data"]["person"]["id"], 22);

    let person = h.get("/v2/people/22").await.expect(200).json();
    assert_eq!(person["data"]["cadences"][0]["id"], 3, "the person shows the cadence");
}

#[tokio::test]
async fn validation_and_missing_records() {
    let h = Harness::start().await;
    let missing = h.post("/v2/cadence_memberships", json!({})).await.expect(422).json();
    assert_eq!(missing, json!({"errors":{"person_id":["is required"],"cadence_id":["is required"]}}));
    h.post("/v2/cadence_memberships", json!({"person_id":999999,"cadence_id":1})).await.expect(404);
    h.post("/v2/cadence_memberships", json!({"person_id":30,"cadence_id":999})).await.expect(404);
    h.post("/v2/cadence_memberships", json!({"person_id":30,"cadence_id":1})).await.expect(200);
    let again = h.post("/v2/cadence_memberships", json!({"person_id":30,"cadence_id":1})).await.expect(422).json();
    assert!(again["errors"]["person_id"].is_array(), "already on the cadence: {again}");
    // On behalf of a teammate only for team cadences (odd ids) or cadences the teammate owns.
    let other_owner =
        h.post("/v2/cadence_memberships", json!({"person_id":31,"cadence_id":4,"user_id":3})).await.expect(422).json();
    assert!(other_owner["errors"]["user_id"].is_array(), "{other_owner}");
}

#[tokio::test]
async fn list_filters_delete_and_readd_keep_one_record() {
    let h = Harness::start().await;
    let created = h.post("/v2/cadence_memberships", json!({"person_id":40,"cadence_id":2})).await.expect(200).json();
    let id = created["data"]["id"].as_i64().expect("id");
    let by_person = h.get("/v2/cadence_memberships?person_id=40").await.expect(200).json();
    assert_eq!(by_person["data"].as_array().map(Vec::len), Some(1));
    let by_pair = h.get("/v2/cadence_memberships?person_id=40&cadence_id=2").await.expect(200).json();
    assert_eq!(by_pair["data"][0]["id"], id);
    let on_cadence_1 = h.get("/v2/cadence_memberships?cadence_id=1&per_page=100").await.expect(200).json();
    assert!(on_cadence_1["data"].as_array().expect("array").iter().all(|m| m["cadence"]["id"] == 1));

    h.delete(&format!("/v2/cadence_memberships/{id}")).await.expect(204);
    h.delete(&format!("/v2/cadence_memberships/{id}")).await.expect(204);
    let removed = h.get(&format!("/v2/cadence_memberships/{id}")).await.expect(200).json();
    assert_eq!(removed["data"]["currently_on_cadence"], false);
    assert_eq!(removed["data"]["current_state"], "removed");
    let off = h.get("/v2/cadence_memberships?person_id=40&currently_on_cadence=false").await.expect(200).json();
    assert_eq!(off["data"][0]["id"], id);

    let readded = h.post("/v2/cadence_memberships", json!({"person_id":40,"cadence_id":2})).await.expect(200).json();
    assert_eq!(readded["data"]["id"], id, "re-adding reuses the single membership record");
    assert_eq!(readded["data"]["currently_on_cadence"], true);
}
