//! The idempotent `/api/` endpoints over real HTTP in front of the simulator (issue 9): replay, conflicts,
//! keys in flight, validation, the pause switch, SalesLoft's 422 and 5xx, concurrent upserts of one email,
//! authentication, and the in-doubt reconcile after a crash. Each behaviour runs on SQLite and on
//! PostgreSQL (`on_both_backends!`; PostgreSQL from `SLPROD_TEST_PG_URL`).

mod support;

use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use salesloft_gateway::api::{self, cadence_memberships, people};
use salesloft_sim::SimConfig;
use salesloft_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};
use support::{ADMIN, Harness, INTERNAL_NEW, INTERNAL_OLD};

on_both_backends!(super;
    an_upsert_is_created_once_and_replayed_with_the_same_answer,
    another_body_under_a_used_key_is_a_conflict,
    a_key_in_flight_gets_409_with_retry_after_and_nothing_is_sent,
    missing_or_invalid_keys_and_bad_bodies_get_400_and_nothing_is_sent,
    while_paused_nothing_is_sent_and_the_ledger_is_untouched,
    a_salesloft_422_is_stored_and_replayed,
    a_transient_5xx_releases_the_key_and_a_retry_succeeds,
    concurrent_upserts_of_one_email_with_different_keys_make_one_person,
    wrong_missing_and_admin_tokens_get_401,
    an_in_doubt_person_create_that_landed_is_reconciled_not_repeated,
    a_membership_is_added_once_replayed_and_conflicts_on_another_body,
    an_in_doubt_membership_is_reconciled_by_listing_before_sending,
    a_membership_refused_by_salesloft_is_stored_and_replayed_and_a_5xx_is_not,
);

const UPSERT: &str = "/api/people/upsert";
const MEMBERSHIPS: &str = "/api/cadence_memberships";

/// An answer: status, headers and JSON body (`Null` when not JSON).
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn replayed(&self) -> bool {
        self.headers.get(api::IDEMPOTENT_REPLAYED).is_some_and(|v| v == "true")
    }

    fn retry_after(&self) -> Option<u64> {
        self.headers.get("retry-after")?.to_str().ok()?.parse().ok()
    }
}

/// POSTs `body` (raw text) to `path` with the internal token and `key` as the `Idempotency-Key`.
async fn post_raw(h: &Harness, path: &str, token: Option<&str>, key: Option<&str>, body: &str) -> Answer {
    let mut builder =
        h.request(Method::POST, path, token).header("content-type", "application/json").body(body.to_string());
    if let Some(key) = key {
        builder = builder.header("idempotency-key", key);
    }
    let response = builder.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    Answer { status, headers, body }
}

async fn post(h: &Harness, path: &str, key: &str, body: &Value) -> Answer {
    post_raw(h, path, Some(INTERNAL_NEW), Some(key), &body.to_string()).await
}

/// People with `email` at the simulator, through the proxy.
async fn people_with(h: &Harness, email: &str) -> Vec<Value> {
    let path = format!("/v2/people?email_addresses[]={email}&per_page=100");
    let (status, body) = h.send(h.request(Method::GET, &path, Some(INTERNAL_OLD))).await;
    assert_eq!(status, 200, "lookup: {body}");
    body["data"].as_array().cloned().unwrap_or_default()
}

async fn audit_operations(h: &Harness) -> Vec<(String, Option<String>)> {
    let records = h.store.audit().records(1, 1000).await.expect("audit records");
    records.into_iter().map(|r| (r.operation, r.idempotency_key)).collect()
}

async fn an_upsert_is_created_once_and_replayed_with_the_same_answer(backend: Backend) {
    let h = Harness::start(backend).await;
    let body = json!({"email_address": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"});
    let first = post(&h, UPSERT, "key-ada-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["action"], "created");
    assert_eq!(first.body["data"]["email_address"], "ada@example.com");
    assert!(!first.replayed(), "a first answer is not a replay");

    // Same key, same body (keys in another order): the stored answer, marked, and nothing sent again.
    let again = post_raw(
        &h,
        UPSERT,
        Some(INTERNAL_OLD),
        Some("key-ada-1"),
        r#"{"last_name":"Lovelace", "first_name":"Ada", "email_address":"ada@example.com"}"#,
    )
    .await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert!(again.replayed(), "Idempotent-Replayed: true expected, got {:?}", again.headers);
    assert_eq!(again.body, first.body, "the replay carries the first body");
    assert_eq!(h.sim_requests(&["POST"], "/v2/people").await, 1, "SalesLoft received exactly one create");
    assert_eq!(people_with(&h, "ada@example.com").await.len(), 1);

    let audit = audit_operations(&h).await;
    let key = api::ledger_key(people::ENDPOINT, "key-ada-1");
    assert_eq!(audit, vec![("people.create".to_string(), Some(key))], "one audit record per mutation");

    // An update under a new key: 200 "updated".
    let changed = json!({"email_address": "ada@example.com", "title": "Analyst"});
    let updated = post(&h, UPSERT, "key-ada-2", &changed).await;
    assert_eq!((updated.status, updated.body["action"].as_str()), (200, Some("updated")), "{}", updated.body);
    assert_eq!(h.sim_requests(&["PUT"], "/v2/people").await, 1);
    h.stop().await.expect("stops cleanly");
}

async fn another_body_under_a_used_key_is_a_conflict(backend: Backend) {
    let h = Harness::start(backend).await;
    let first = post(&h, UPSERT, "key-c", &json!({"email_address": "c@example.com", "first_name": "C"})).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let other = post(&h, UPSERT, "key-c", &json!({"email_address": "c@example.com", "first_name": "D"})).await;
    assert_eq!(other.status, 409, "{}", other.body);
    assert!(other.body["error"].as_str().is_some_and(|e| e.contains("different request body")), "{}", other.body);
    assert!(!other.replayed());
    assert_eq!(h.sim_requests(&["POST", "PUT"], "/v2/people").await, 1, "the conflicting body was not sent");
    h.stop().await.expect("stops cleanly");
}

async fn a_key_in_flight_gets_409_with_retry_after_and_nothing_is_sent(backend: Backend) {
    let h = Harness::start(backend).await;
    let body = json!({"email_address": "busy@example.com"});
    let key = api::ledger_key(people::ENDPOINT, "key-busy");
    let held = h
        .store
        .ledger()
        .begin(&key, &api::fingerprint(&body), "another-replica", Duration::from_secs(60))
        .await
        .expect("begin");
    assert!(held.lease().is_some(), "the test holds the lease: {held:?}");
    let answer = post(&h, UPSERT, "key-busy", &body).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    let wait = answer.retry_after().expect("Retry-After on a key in flight");
    assert!((1..=60).contains(&wait), "Retry-After is the lease's remaining seconds, got {wait}");
    assert_eq!(h.sim_requests(&["GET", "POST", "PUT"], "/v2/people").await, 0, "nothing was sent");

    // The same on the memberships endpoint.
    let body = json!({"person_id": 1, "cadence_id": 1});
    let key = api::ledger_key(cadence_memberships::ENDPOINT, "key-busy");
    h.store
        .ledger()
        .begin(&key, &api::fingerprint(&body), "another-replica", Duration::from_secs(60))
        .await
        .expect("begin");
    let answer = post(&h, MEMBERSHIPS, "key-busy", &body).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert!(answer.retry_after().is_some_and(|s| (1..=60).contains(&s)), "{:?}", answer.headers);
    assert_eq!(h.sim_requests(&["GET", "POST"], "/v2/cadence_memberships").await, 0);
    h.stop().await.expect("stops cleanly");
}

async fn missing_or_invalid_keys_and_bad_bodies_get_400_and_nothing_is_sent(backend: Backend) {
    let h = Harness::start(backend).await;
    let person = json!({"email_address": "v@example.com"}).to_string();
    let membership = json!({"person_id": 1, "cadence_id": 1}).to_string();
    let long = "k".repeat(256);
    for path_body in [(UPSERT, &person), (MEMBERSHIPS, &membership)] {
        let (path, body) = path_body;
        for (key, case) in [(None, "missing key"), (Some(""), "empty key"), (Some(long.as_str()), "256 characters")] {
            let answer = post_raw(&h, path, Some(INTERNAL_NEW), key, body).await;
            assert_eq!(answer.status, 400, "{path} {case}: {}", answer.body);
            assert!(answer.body["error"].as_str().is_some_and(|e| e.contains("Idempotency-Key")), "{}", answer.body);
        }
    }
    for (path, body, says) in [
        (UPSERT, "{not json", "not valid JSON"),
        (UPSERT, "[1]", "JSON object"),
        (UPSERT, r#"{"email_address":"v@example.com","frist_name":"V"}"#, "frist_name"),
        (UPSERT, r#"{"first_name":"V"}"#, "email_address is required"),
        (UPSERT, r#"{"email_address":"v@example.com","owner_id":"x"}"#, "owner_id"),
        (MEMBERSHIPS, r#"{"person_id":1}"#, "cadence_id"),
        (MEMBERSHIPS, r#"{"person_id":1,"cadence_id":2,"extra":3}"#, "extra"),
        (MEMBERSHIPS, r#"{"person_id":-1,"cadence_id":2}"#, "person_id"),
    ] {
        let answer = post_raw(&h, path, Some(INTERNAL_NEW), Some("key-v"), body).await;
        assert_eq!(answer.status, 400, "{path} {body}: {}", answer.body);
        assert!(
            answer.body["error"].as_str().is_some_and(|e| e.contains(says)),
            "{body}: expected {says:?} in {}",
            answer.body
        );
    }
    assert_eq!(h.sim_requests(&["GET", "POST", "PUT"], "/v2/").await, 0, "nothing refused reached SalesLoft");
    for endpoint in [people::ENDPOINT, cadence_memberships::ENDPOINT] {
        let entry = h.store.ledger().get(&api::ledger_key(endpoint, "key-v")).await.expect("ledger");
        assert_eq!(entry, None, "a refused request leaves no ledger entry");
    }
    h.stop().await.expect("stops cleanly");
}

async fn while_paused_nothing_is_sent_and_the_ledger_is_untouched(backend: Backend) {
    let h = Harness::start(backend).await;
    h.store.pause().set_paused(true, "ops", "incident 42").await.expect("pause");
    let person = json!({"email_address": "p@example.com"});
    let membership = json!({"person_id": 1, "cadence_id": 1});
    for (path, body, endpoint) in
        [(UPSERT, &person, people::ENDPOINT), (MEMBERSHIPS, &membership, cadence_memberships::ENDPOINT)]
    {
        let answer = post(&h, path, "key-p", body).await;
        assert_eq!(answer.status, 503, "{path}: {}", answer.body);
        assert!(answer.body["error"].as_str().is_some_and(|e| e.contains("paused")), "{}", answer.body);
        assert_eq!(answer.body["paused"]["reason"], "incident 42", "the JSON says why: {}", answer.body);
        let entry = h.store.ledger().get(&api::ledger_key(endpoint, "key-p")).await.expect("ledger");
        assert_eq!(entry, None, "{path}: the ledger is untouched");
    }
    assert_eq!(h.sim_requests(&["GET", "POST", "PUT"], "/v2/").await, 0, "nothing was sent while paused");

    h.store.pause().set_paused(false, "ops", "resolved").await.expect("resume");
    let answer = post(&h, UPSERT, "key-p", &person).await;
    assert_eq!(answer.status, 201, "after resume the same key proceeds: {}", answer.body);
    assert!(!answer.replayed());
    h.stop().await.expect("stops cleanly");
}

async fn a_salesloft_422_is_stored_and_replayed(backend: Backend) {
    let h = Harness::start(backend).await;
    let errors = json!({"email_address": ["is invalid"]});
    salesloft_testkit::sim::add_fault(
        h.sim.root_url(),
        json!({"method": "POST", "path": "/v2/people", "sequence": [{"status": 422, "body": {"errors": errors}}]}),
    )
    .await;
    let body = json!({"email_address": "bad@example.com"});
    let first = post(&h, UPSERT, "key-422", &body).await;
    assert_eq!(first.status, 422, "{}", first.body);
    assert_eq!(first.body["errors"], errors, "SalesLoft's field errors come back: {}", first.body);
    assert!(!first.replayed());
    let again = post(&h, UPSERT, "key-422", &body).await;
    assert_eq!(again.status, 422, "{}", again.body);
    assert!(again.replayed(), "{:?}", again.headers);
    assert_eq!(again.body, first.body);
    assert_eq!(h.sim_requests(&["POST"], "/v2/people").await, 1, "the refused create was not sent again");
    let audit = audit_operations(&h).await;
    assert_eq!(audit.len(), 1, "the refused create has its audit record: {audit:?}");
    h.stop().await.expect("stops cleanly");
}

async fn a_transient_5xx_releases_the_key_and_a_retry_succeeds(backend: Backend) {
    let h = Harness::start(backend).await;
    let outage = json!([{"status": 503}, {"status": 503}, {"status": 503}, {"status": 503}]);
    salesloft_testkit::sim::add_fault(
        h.sim.root_url(),
        json!({"method": "POST", "path": "/v2/people", "sequence": outage}),
    )
    .await;
    let body = json!({"email_address": "flaky@example.com", "first_name": "F"});
    let first = post(&h, UPSERT, "key-5xx", &body).await;
    assert!(first.status == 502 || first.status == 503, "a transient failure: {} {}", first.status, first.body);
    assert!(first.body["error"].is_string(), "{}", first.body);
    let sent = h.sim_requests(&["POST"], "/v2/people").await;
    assert!(sent >= 1, "the create was tried");
    reqwest::Client::new().delete(format!("{}/__sim/faults", h.sim.root_url())).send().await.expect("clear faults");

    let retry = post(&h, UPSERT, "key-5xx", &body).await;
    assert_eq!(retry.status, 201, "the same key proceeds after a transient failure: {}", retry.body);
    assert!(!retry.replayed(), "a transient failure is not replayed");
    assert_eq!(people_with(&h, "flaky@example.com").await.len(), 1);
    h.stop().await.expect("stops cleanly");
}

async fn concurrent_upserts_of_one_email_with_different_keys_make_one_person(backend: Backend) {
    // A team that allows duplicate emails (FACTS.md §5.3): SalesLoft's 422 "taken" does not save the day, only
    // the per-email lock with the lookup made under it does.
    let sim = SimConfig { unique_person_email: false, ..support::sim_config() };
    let h = Harness::start_with_sim(backend, sim, support::config).await;
    let a = json!({"email_address": "twin@example.com", "first_name": "A"});
    let b = json!({"email_address": "Twin@Example.com", "last_name": "B"});
    for round in 0..4 {
        let (a_key, b_key) = (format!("key-twin-a-{round}"), format!("key-twin-b-{round}"));
        let (first, second) = tokio::join!(post(&h, UPSERT, &a_key, &a), post(&h, UPSERT, &b_key, &b));
        let mut statuses = [first.status, second.status];
        statuses.sort_unstable();
        let expected = if round == 0 { [200, 201] } else { [200, 200] };
        assert_eq!(statuses, expected, "round {round}: {} / {}", first.body, second.body);
        let found = people_with(&h, "twin@example.com").await;
        assert_eq!(found.len(), 1, "round {round}: one person for one email: {found:?}");
        assert_eq!((found[0]["first_name"].as_str(), found[0]["last_name"].as_str()), (Some("A"), Some("B")));
    }
    assert_eq!(h.sim_requests(&["POST"], "/v2/people").await, 1, "one create in all");
    h.stop().await.expect("stops cleanly");
}

async fn wrong_missing_and_admin_tokens_get_401(backend: Backend) {
    let h = Harness::start(backend).await;
    let person = json!({"email_address": "t@example.com"}).to_string();
    let membership = json!({"person_id": 1, "cadence_id": 1}).to_string();
    for (path, body) in [(UPSERT, &person), (MEMBERSHIPS, &membership)] {
        for (token, case) in [(None, "missing"), (Some("wrong"), "wrong"), (Some(ADMIN), "admin token")] {
            let answer = post_raw(&h, path, token, Some("key-t"), body).await;
            assert_eq!(answer.status, 401, "{path} {case}: {}", answer.body);
        }
    }
    assert_eq!(h.sim_requests(&["GET", "POST", "PUT"], "/v2/").await, 0, "nothing refused reached SalesLoft");
    let answer = post_raw(&h, UPSERT, Some(INTERNAL_OLD), Some("key-t"), &person).await;
    assert_eq!(answer.status, 201, "the old token of a rotation works too: {}", answer.body);
    h.stop().await.expect("stops cleanly");
}

async fn an_in_doubt_person_create_that_landed_is_reconciled_not_repeated(backend: Backend) {
    let h = Harness::start(backend).await;
    let body = json!({"email_address": "crash@example.com", "first_name": "Cr"});
    // A gateway marked the key *request sent*, its create landed, and it died before recording the answer.
    let key = api::ledger_key(people::ENDPOINT, "key-crash");
    let ledger = h.store.ledger();
    let begin =
        ledger.begin(&key, &api::fingerprint(&body), "dead-replica", Duration::from_secs(60)).await.expect("begin");
    let lease = begin.lease().cloned().expect("a new key");
    ledger.advance_to_send(&lease, None).await.expect("request sent");
    ledger.release(lease).await.expect("the dead replica's lease is over");
    let (status, created) = h.send(h.request(Method::POST, "/v2/people", Some(INTERNAL_OLD)).json(&body)).await;
    assert_eq!(status, 200, "the create that landed: {created}");
    let posts_before = h.sim_requests(&["POST"], "/v2/people").await;

    let retry = post(&h, UPSERT, "key-crash", &body).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.body["data"]["id"], created["data"]["id"], "the person that landed: {}", retry.body);
    assert_eq!(h.sim_requests(&["POST"], "/v2/people").await, posts_before, "nothing was created again");
    assert_eq!(people_with(&h, "crash@example.com").await.len(), 1);
    let audit = audit_operations(&h).await;
    assert!(
        audit.contains(&("people.reconcile".to_string(), Some(key.clone()))),
        "the reconcile is audited: {audit:?}"
    );
    let replay = post(&h, UPSERT, "key-crash", &body).await;
    assert!(replay.replayed() && replay.body == retry.body, "{}", replay.body);
    h.stop().await.expect("stops cleanly");
}

/// A person (created through the upsert endpoint) and a cadence id from the simulator.
async fn person_and_cadence(h: &Harness, email: &str) -> (i64, i64) {
    let created = post(h, UPSERT, &format!("key-person-{email}"), &json!({"email_address": email})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let person = created.body["data"]["id"].as_i64().expect("person id");
    let (status, cadences) = h.send(h.request(Method::GET, "/v2/cadences?per_page=1", Some(INTERNAL_OLD))).await;
    assert_eq!(status, 200, "{cadences}");
    (person, cadences["data"][0]["id"].as_i64().expect("a seeded cadence"))
}

async fn a_membership_is_added_once_replayed_and_conflicts_on_another_body(backend: Backend) {
    let h = Harness::start(backend).await;
    let (person, cadence) = person_and_cadence(&h, "m@example.com").await;
    let body = json!({"person_id": person, "cadence_id": cadence});
    let first = post(&h, MEMBERSHIPS, "key-m", &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["data"]["person"]["id"], person, "{}", first.body);
    assert!(!first.replayed());
    let again = post(&h, MEMBERSHIPS, "key-m", &body).await;
    assert_eq!((again.status, again.replayed()), (201, true), "{}", again.body);
    assert_eq!(again.body, first.body);
    assert_eq!(h.sim_requests(&["POST"], "/v2/cadence_memberships").await, 1, "SalesLoft received one create");
    let other =
        post(&h, MEMBERSHIPS, "key-m", &json!({"person_id": person, "cadence_id": cadence, "step_id": 1})).await;
    assert_eq!(other.status, 409, "{}", other.body);
    let audit = audit_operations(&h).await;
    let key = api::ledger_key(cadence_memberships::ENDPOINT, "key-m");
    let records = audit.iter().filter(|(_, k)| k.as_deref() == Some(key.as_str())).count();
    assert_eq!(records, 1, "one audit record for the one membership mutation: {audit:?}");
    h.stop().await.expect("stops cleanly");
}

async fn an_in_doubt_membership_is_reconciled_by_listing_before_sending(backend: Backend) {
    let h = Harness::start(backend).await;
    let (person, cadence) = person_and_cadence(&h, "md@example.com").await;
    let body = json!({"person_id": person, "cadence_id": cadence});
    let key = api::ledger_key(cadence_memberships::ENDPOINT, "key-md");
    let ledger = h.store.ledger();
    let begin =
        ledger.begin(&key, &api::fingerprint(&body), "dead-replica", Duration::from_secs(60)).await.expect("begin");
    let lease = begin.lease().cloned().expect("a new key");
    ledger.advance_to_send(&lease, None).await.expect("request sent");
    ledger.release(lease).await.expect("the dead replica's lease is over");
    let path = format!("/v2/cadence_memberships?person_id={person}&cadence_id={cadence}");
    let (status, landed) = h.send(h.request(Method::POST, &path, Some(INTERNAL_OLD))).await;
    assert_eq!(status, 200, "the create that landed: {landed}");

    let retry = post(&h, MEMBERSHIPS, "key-md", &body).await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.body["data"]["id"], landed["data"]["id"], "{}", retry.body);
    assert_eq!(
        h.sim_requests(&["POST"], "/v2/cadence_memberships").await,
        1,
        "the in-doubt retry listed the memberships and sent no create"
    );
    let audit = audit_operations(&h).await;
    assert!(audit.contains(&("cadence_memberships.reconcile".to_string(), Some(key))), "{audit:?}");
    h.stop().await.expect("stops cleanly");
}

async fn a_membership_refused_by_salesloft_is_stored_and_replayed_and_a_5xx_is_not(backend: Backend) {
    let h = Harness::start(backend).await;
    let (person, cadence) = person_and_cadence(&h, "mr@example.com").await;
    let root = h.sim.root_url();
    let errors = json!({"cadence_id": ["is not active"]});
    let refused = json!({"status": 422, "body": {"errors": errors}});
    salesloft_testkit::sim::add_fault(
        root,
        json!({"method": "POST", "path": "/v2/cadence_memberships", "sequence": [refused]}),
    )
    .await;
    let body = json!({"person_id": person, "cadence_id": cadence});
    let first = post(&h, MEMBERSHIPS, "key-mr", &body).await;
    assert_eq!((first.status, &first.body["errors"]), (422, &errors), "{}", first.body);
    let again = post(&h, MEMBERSHIPS, "key-mr", &body).await;
    assert_eq!((again.status, again.replayed()), (422, true), "{}", again.body);
    assert_eq!(again.body, first.body);
    assert_eq!(h.sim_requests(&["POST"], "/v2/cadence_memberships").await, 1, "the refusal was not sent again");

    // A 5xx under another key: not stored, the lease released, and the same key then succeeds.
    let outage: Vec<Value> = (0..4).map(|_| json!({"status": 503})).collect();
    salesloft_testkit::sim::add_fault(
        root,
        json!({"method": "POST", "path": "/v2/cadence_memberships", "sequence": outage}),
    )
    .await;
    let failed = post(&h, MEMBERSHIPS, "key-mr-2", &body).await;
    assert!(failed.status == 502 || failed.status == 503, "{} {}", failed.status, failed.body);
    reqwest::Client::new().delete(format!("{root}/__sim/faults")).send().await.expect("clear faults");
    let retry = post(&h, MEMBERSHIPS, "key-mr-2", &body).await;
    assert_eq!((retry.status, retry.replayed()), (201, false), "{}", retry.body);
    let audit = audit_operations(&h).await;
    let key = api::ledger_key(cadence_memberships::ENDPOINT, "key-mr-2");
    assert!(audit.iter().any(|(op, k)| op == "cadence_memberships.create" && k.as_deref() == Some(key.as_str())));
    h.stop().await.expect("stops cleanly");
}
