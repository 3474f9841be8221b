//! Lists (FACTS.md §4): paging metadata, `per_page` clamping, paging counts, sorting, array filters in both
//! encodings, time filters with microsecond compare, unknown params ignored, bad values 422, `/v2/users`
//! without `page`, and a keyset walk over a large seeded team.

mod common;

use std::collections::BTreeSet;

use common::Harness;
use salesloft_sim::SimConfig;
use serde_json::{Value, json};

fn ids(body: &Value) -> Vec<i64> {
    body["data"].as_array().expect("data array").iter().map(|r| r["id"].as_i64().expect("id")).collect()
}

#[tokio::test]
async fn paging_metadata_counts_and_past_the_end() {
    let h = Harness::with(SimConfig { seed_people: 30, ..SimConfig::default() }).await;
    let first = h.get("/v2/people").await.expect(200).json();
    assert_eq!(first["data"].as_array().map(Vec::len), Some(25), "per_page defaults to 25");
    assert_eq!(
        first["metadata"]["paging"],
        json!({"per_page":25,"current_page":1,"next_page":2,"prev_page":null}),
        "no counts unless asked"
    );
    assert_eq!(first["metadata"]["sorting"], json!({"sort_by":"updated_at","sort_direction":"DESC NULLS LAST"}));
    assert_eq!(first["metadata"]["filtering"], json!({}));

    let second = h.get("/v2/people?page=2&include_paging_counts=true").await.expect(200).json();
    assert_eq!(
        second["metadata"]["paging"],
        json!({"per_page":25,"current_page":2,"next_page":null,"prev_page":1,"total_pages":2,"total_count":30})
    );
    let beyond = h.get("/v2/people?page=9").await.expect(200).json();
    assert_eq!(beyond["data"], json!([]));
    assert_eq!(beyond["metadata"]["paging"]["next_page"], Value::Null);

    let clamped = h.get("/v2/people?per_page=1000&page=0").await.expect(200).json();
    assert_eq!(clamped["metadata"]["paging"]["per_page"], 100, "per_page is clamped to 100");
    assert_eq!(clamped["metadata"]["paging"]["current_page"], 1, "page is corrected to 1");
    let tiny = h.get("/v2/people?per_page=0").await.expect(200).json();
    assert_eq!(tiny["metadata"]["paging"]["per_page"], 1);

    let all: BTreeSet<i64> = ids(&first).into_iter().chain(ids(&second)).collect();
    assert_eq!(all.len(), 30, "two pages cover every person once");
}

#[tokio::test]
async fn array_filters_accept_both_encodings_and_missing_ids_are_skipped() {
    let h = Harness::start().await;
    let bracket =
        h.get("/v2/people?ids[]=3&ids[]=1&ids[]=999999&sort_by=created_at&sort_direction=ASC").await.expect(200).json();
    assert_eq!(ids(&bracket), vec![1, 3]);
    let comma = h.get("/v2/people?ids=3,1&sort_by=created_at&sort_direction=asc").await.expect(200).json();
    assert_eq!(ids(&comma), vec![1, 3]);
    assert_eq!(comma["metadata"]["filtering"]["ids"], json!(["3", "1"]));

    let one = h.get("/v2/people/4").await.expect(200).json();
    let two = h.get("/v2/people/5").await.expect(200).json();
    let (a, b) =
        (one["data"]["email_address"].as_str().expect("email"), two["data"]["email_address"].as_str().expect("email"));
    let by_email = h
        .get(&format!("/v2/people?email_addresses={a},{b}&sort_by=created_at&sort_direction=ASC"))
        .await
        .expect(200)
        .json();
    assert_eq!(ids(&by_email), vec![4, 5]);
    let by_email_brackets = h
        .get(&format!("/v2/people?email_addresses[]={a}&email_addresses[]=nobody@example.com"))
        .await
        .expect(200)
        .json();
    assert_eq!(ids(&by_email_brackets), vec![4]);
}

#[tokio::test]
async fn time_filters_compare_in_microseconds_and_echo_as_given() {
    let h = Harness::start().await;
    let person = h.get("/v2/people/10").await.expect(200).json();
    let stamp = person["data"]["updated_at"].as_str().expect("updated_at").replace('+', "%2B");
    let gte = h.get(&format!("/v2/people?ids=10&updated_at[gte]={stamp}")).await.expect(200).json();
    assert_eq!(ids(&gte), vec![10]);
    let gt = h.get(&format!("/v2/people?ids=10&updated_at[gt]={stamp}")).await.expect(200).json();
    assert_eq!(ids(&gt), Vec::<i64>::new());
    let lte = h.get(&format!("/v2/people?ids=10&updated_at[lte]={stamp}")).await.expect(200).json();
    assert_eq!(ids(&lte), vec![10]);
    let lt = h.get(&format!("/v2/people?ids=10&updated_at[lt]={stamp}")).await.expect(200).json();
    assert_eq!(ids(&lt), Vec::<i64>::new());
    let echoed = h.get("/v2/people?updated_at[gte]=2024-06-07T14:51:20.851224Z").await.expect(200).json();
    assert_eq!(echoed["metadata"]["filtering"], json!({"updated_at":{"gte":"2024-06-07T14:51:20.851224Z"}}));
    let created = h
        .get("/v2/people?created_at[lt]=2024-01-01T00:05:00Z&sort_by=created_at&sort_direction=ASC")
        .await
        .expect(200)
        .json();
    assert_eq!(ids(&created), vec![1, 2, 3, 4], "seeded people are created a minute apart from 2024-01-01");
}

#[tokio::test]
async fn sorting_validation_unknown_params_and_bad_values() {
    let h = Harness::start().await;
    let bad_sort = h.get("/v2/people?sort_by=shoe_size").await.expect(422).json();
    assert!(bad_sort["errors"]["sort_by"].is_array(), "{bad_sort}");
    h.get("/v2/people?sort_direction=sideways").await.expect(422);
    h.get("/v2/people?updated_at[gt]=last-tuesday").await.expect(422);
    h.get("/v2/people?ids[]=abc").await.expect(422);
    h.get("/v2/people?per_page=many").await.expect(422);
    h.get("/v2/people?include_paging_counts=maybe").await.expect(422);
    // Unknown names (and the legacy `sort`) are ignored.
    let ignored = h.get("/v2/people?sort=updated_at&colour=blue&per_page=2").await.expect(200).json();
    assert_eq!(ignored["data"].as_array().map(Vec::len), Some(2));

    let by_name = h.get("/v2/people?sort_by=name&sort_direction=ASC&per_page=100").await.expect(200).json();
    let names: Vec<String> = by_name["data"]
        .as_array()
        .expect("array")
        .iter()
        .map(|p| p["display_name"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "sort_by=name ASC");
}

#[tokio::test]
async fn users_list_everyone_without_page_and_page_when_asked() {
    let h = Harness::with(SimConfig { seed_users: 4, ..SimConfig::default() }).await;
    let all = h.get("/v2/users.json").await.expect(200).json();
    assert_eq!(all["data"].as_array().map(Vec::len), Some(4));
    assert!(all["metadata"].get("paging").is_none(), "no paging without page: {}", all["metadata"]);
    let paged = h.get("/v2/users?page=1&per_page=3").await.expect(200).json();
    assert_eq!(paged["metadata"]["paging"]["next_page"], 2);
    let me = h.get("/v2/me").await.expect(200).json();
    let user = h.get("/v2/users/1").await.expect(200).json();
    assert_eq!(me, user, "/v2/me is user 1");
    let team = h.get("/v2/team").await.expect(200).json();
    for key in common::documented_keys("Team") {
        assert!(team["data"].get(&key).is_some(), "team has {key}");
    }
    for key in common::documented_keys("User") {
        assert!(me["data"].get(&key).is_some(), "user has {key}");
    }
}

#[tokio::test]
async fn keyset_walk_over_a_large_team_reads_every_person_once() {
    let h = Harness::with(SimConfig { seed_people: 2_000, budget_per_minute: 100_000, ..SimConfig::default() }).await;
    let mut seen = BTreeSet::new();
    let mut cursor = String::from("2000-01-01T00:00:00Z");
    for _ in 0..200 {
        let path = format!(
            "/v2/people?per_page=100&sort_by=updated_at&sort_direction=ASC&updated_at[gte]={}",
            cursor.replace('+', "%2B")
        );
        let page = h.get(&path).await.expect(200).json();
        let records = page["data"].as_array().expect("array").clone();
        let fresh: Vec<i64> =
            records.iter().map(|r| r["id"].as_i64().expect("id")).filter(|id| !seen.contains(id)).collect();
        seen.extend(fresh.iter().copied());
        if records.len() < 100 {
            break;
        }
        let last = records.last().expect("last")["updated_at"].as_str().expect("updated_at").to_owned();
        assert!(!fresh.is_empty() || last != cursor, "the walk makes progress");
        cursor = last;
    }
    assert_eq!(seen.len(), 2_000, "gte + id de-dup reads every person exactly once");
    assert_eq!(h.stats().await["max_page"], 1, "no deep pages needed");
}

#[tokio::test]
async fn a_million_seeded_people_answer_keyset_and_email_reads() {
    let h = Harness::with(SimConfig { seed_people: 1_000_000, ..SimConfig::default() }).await;
    let page = h
        .get("/v2/people?per_page=100&sort_by=updated_at&sort_direction=ASC&updated_at[gt]=2025-06-01T00:00:00Z")
        .await
        .expect(200)
        .json();
    assert_eq!(page["data"].as_array().map(Vec::len), Some(100));
    let last = h.get("/v2/people/1000000").await.expect(200).json();
    let email = last["data"]["email_address"].as_str().expect("email");
    let found = h.get(&format!("/v2/people?email_addresses[]={email}")).await.expect(200).json();
    assert_eq!(ids(&found), vec![1_000_000]);
    let counted = h.get("/v2/people?per_page=1&include_paging_counts=true&ids=1,2,3").await.expect(200).json();
    assert_eq!(counted["metadata"]["paging"]["total_count"], 3);
}

#[tokio::test]
async fn people_filter_by_the_cadence_they_are_currently_on() {
    let h = Harness::with(SimConfig { seed_people: 30, ..SimConfig::default() }).await;
    let asc = "sort_by=created_at&sort_direction=ASC&per_page=100";
    let on_one = h.get(&format!("/v2/people?cadence_id=1&{asc}")).await.expect(200).json();
    assert_eq!(ids(&on_one), (1..=10).collect::<Vec<_>>(), "the first ten people are seeded on cadence 1");
    h.post("/v2/cadence_memberships", json!({"person_id":11,"cadence_id":2})).await.expect(200);
    h.delete("/v2/cadence_memberships/3").await.expect(204);
    let either = h.get(&format!("/v2/people?cadence_id=1,2&{asc}")).await.expect(200).json();
    assert_eq!(ids(&either), vec![1, 2, 4, 5, 6, 7, 8, 9, 10, 11], "removed people are not on the cadence");
    assert_eq!(either["metadata"]["filtering"]["cadence_id"], json!(["1", "2"]));
    let nowhere = h.get(&format!("/v2/people?cadence_id=_is_null&{asc}")).await.expect(200).json();
    let expected: Vec<i64> = std::iter::once(3).chain(12..=30).collect();
    assert_eq!(ids(&nowhere), expected);
    let two_or_none = h.get(&format!("/v2/people?cadence_id[]=2&cadence_id[]=_is_null&{asc}")).await.expect(200).json();
    assert_eq!(ids(&two_or_none), std::iter::once(3).chain(11..=30).collect::<Vec<_>>());
    let with_ids = h.get(&format!("/v2/people?cadence_id=1&ids=2,3,12&{asc}")).await.expect(200).json();
    assert_eq!(ids(&with_ids), vec![2]);
    h.get("/v2/people?cadence_id=first").await.expect(422);
}
