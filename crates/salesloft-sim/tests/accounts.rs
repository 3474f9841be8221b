//! `/v2/accounts` (FACTS.md §5.2): name and domain required, domain unique per team, filters, delete.

mod common;

use common::{Harness, documented_keys};
use serde_json::json;

#[tokio::test]
async fn accounts_have_every_documented_key() {
    let h = Harness::start().await;
    let account = h.get("/v2/accounts/1").await.expect(200).json();
    for key in documented_keys("Account") {
        assert!(account["data"].get(&key).is_some(), "account has {key}");
    }
    assert!(account["data"]["counts"].get("people").is_some());
}

#[tokio::test]
async fn create_requires_name_and_domain_and_domains_are_unique() {
    let h = Harness::start().await;
    let missing = h.post("/v2/accounts", json!({})).await.expect(422).json();
    assert_eq!(missing, json!({"errors":{"name":["is required"],"domain":["is required"]}}));
    let created = h.post("/v2/accounts.json", json!({"name":"Acme","domain":"Acme.example"})).await.expect(200).json();
    assert_eq!(created["data"]["domain"], "acme.example", "domains are stored lowercase");
    let dup = h.post("/v2/accounts", json!({"name":"Other","domain":"ACME.example"})).await.expect(422).json();
    assert_eq!(dup, json!({"errors":{"domain":["is already taken"]}}));
    let seeded = h.get("/v2/accounts/2").await.expect(200).json();
    let seeded_domain = seeded["data"]["domain"].as_str().expect("domain");
    h.post("/v2/accounts", json!({"name":"Copy","domain":seeded_domain})).await.expect(422);
}

#[tokio::test]
async fn update_archive_filter_and_delete() {
    let h = Harness::start().await;
    let id = h.post("/v2/accounts", json!({"name":"Globo","domain":"globo.example"})).await.expect(200).json()["data"]
        ["id"]
        .as_i64()
        .expect("id");
    let archived = h.put(&format!("/v2/accounts/{id}"), json!({"archived":true})).await.expect(200).json();
    assert!(archived["data"]["archived_at"].is_string(), "archived sets archived_at");
    h.put(&format!("/v2/accounts/{id}"), json!({"domain":""})).await.expect(422);
    let by_domain = h.get("/v2/accounts?domain=GLOBO.example").await.expect(200).json();
    assert_eq!(by_domain["data"][0]["id"], id);
    let only_archived = h.get("/v2/accounts?archived=true").await.expect(200).json();
    assert_eq!(only_archived["data"].as_array().map(Vec::len), Some(1));
    h.delete(&format!("/v2/accounts/{id}")).await.expect(204);
    h.delete(&format!("/v2/accounts/{id}")).await.expect(204);
    h.get(&format!("/v2/accounts/{id}")).await.expect(404);
    // The domain is free again.
    h.post("/v2/accounts", json!({"name":"Globo 2","domain":"globo.example"})).await.expect(200);
}

#[tokio::test]
async fn people_of_a_deleted_account_lose_the_reference() {
    let h = Harness::start().await;
    let person = h.get("/v2/people/1").await.expect(200).json();
    let account = person["data"]["account"]["id"].as_i64().expect("seeded people have an account");
    h.delete(&format!("/v2/accounts/{account}")).await.expect(204);
    let after = h.get("/v2/people/1").await.expect(200).json();
    assert!(after["data"]["account"].is_null(), "{}", after["data"]["account"]);
}
