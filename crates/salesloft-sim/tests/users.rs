//! `PUT /v2/users/{id}` (FACTS.md §5.2: `active, group_id, role_id, work_country`): updates are stored and
//! announced as `user_updated`; bad values are 422s on their field and change nothing.

mod common;

use common::Harness;
use salesloft_sim::SimConfig;
use serde_json::{Value, json};

#[tokio::test]
async fn put_updates_active_group_role_and_work_country() {
    let h = Harness::start().await;
    let before = h.get("/v2/users/2").await.expect(200).json();
    assert_eq!(before["data"]["work_country"], "US");
    let updated = h
        .put("/v2/users/2.json", json!({"active":false,"group_id":7,"role_id":"admin","work_country":"pe"}))
        .await
        .expect(200)
        .json();
    let data = &updated["data"];
    assert_eq!(data["active"], false);
    assert_eq!(data["group"]["id"], 7);
    assert_eq!(data["role"], json!({"id":"Admin"}));
    assert_eq!(data["team_admin"], true);
    assert_eq!(data["work_country"], "PE", "alpha-2 codes are stored upper-case");
    assert_eq!(data["created_at"], before["data"]["created_at"]);
    assert!(data["updated_at"].as_str() > before["data"]["updated_at"].as_str());
    assert_eq!(h.get("/v2/users/2").await.expect(200).json(), updated, "the update is stored");
    let inactive = h.get("/v2/users?active=false").await.expect(200).json();
    assert_eq!(
        inactive["data"].as_array().map(|users| users.iter().map(|u| u["id"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(2)])
    );

    let form = h
        .raw(
            reqwest::Method::PUT,
            "/v2/users/3",
            "application/x-www-form-urlencoded",
            "role_id=12345&group_id=&work_country=",
        )
        .await
        .expect(200)
        .json();
    assert_eq!(form["data"]["role"], json!({"id":"12345"}), "a custom role id");
    assert_eq!(form["data"]["group"], Value::Null);
    assert_eq!(form["data"]["work_country"], Value::Null);
    h.put("/v2/users/999", json!({"active":true})).await.expect(404);
}

#[tokio::test]
async fn bad_values_are_422_on_their_field_and_change_nothing() {
    let h = Harness::start().await;
    let before = h.get("/v2/users/2").await.expect(200).json();
    let bad = [
        ("active", json!("perhaps")),
        ("group_id", json!("seven")),
        ("group_id", json!(-1)),
        ("role_id", json!("Overlord")),
        ("role_id", json!("")),
        ("work_country", json!("Peru")),
        ("work_country", json!("P1")),
        ("work_country", json!(["US"])),
    ];
    for (field, value) in bad {
        // A valid change next to the bad one is not applied either.
        let mut body = json!({"active": false, "group_id": 5});
        body[field] = value.clone();
        let answer = h.put("/v2/users/2", body).await.expect(422).json();
        assert!(answer["errors"][field].as_array().is_some_and(|m| !m.is_empty()), "{field}={value}: {answer}");
    }
    assert_eq!(h.get("/v2/users/2").await.expect(200).json(), before, "nothing changed");
}

#[tokio::test]
async fn a_user_update_is_announced_as_user_updated() {
    let h = Harness::with(SimConfig { webhook_retries: 0, ..SimConfig::default() }).await;
    h.post(
        "/v2/webhook_subscriptions",
        json!({"callback_url":"http://127.0.0.1:9/x","callback_token":"k","event_type":"user_updated"}),
    )
    .await
    .expect(200);
    h.put("/v2/users/3", json!({"work_country":"DE"})).await.expect(200);
    tokio::time::timeout(std::time::Duration::from_secs(10), h.sim.wait_for_webhook_attempts(1))
        .await
        .expect("one attempt");
    let delivery = &h.sim.webhook_deliveries()[0];
    assert_eq!((delivery.event_type.as_str(), delivery.resource_id), ("user_updated", Some(3)));
}
