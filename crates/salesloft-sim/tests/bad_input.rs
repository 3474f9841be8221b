//! Bad input never crashes the simulator: malformed JSON, huge bodies, odd paths and encodings get the
//! answers SalesLoft would give, and the server keeps serving.

mod common;

use common::Harness;
use reqwest::Method;
use salesloft_sim::SimConfig;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn malformed_and_odd_bodies() {
    let h = Harness::start().await;
    let malformed = h.raw(Method::POST, "/v2/people", "application/json", "{\"email_address\": ").await.expect(400);
    assert!(malformed.json()["error"].is_string(), "singular error: {}", malformed.text);
    h.raw(Method::POST, "/v2/people", "application/json", "[1,2,3]").await.expect(422);
    h.raw(Method::POST, "/v2/people", "application/json", "\"just a string\"").await.expect(422);
    h.raw(Method::POST, "/v2/people", "application/json", vec![0xff, 0xfe, 0x00]).await.expect(400);
    h.raw(Method::POST, "/v2/people", "text/plain", "%%%&&&===").await.expect(422);
    let typed = h
        .post("/v2/people", json!({"email_address":{"nested":true},"tags":"single","custom_fields":[1]}))
        .await
        .expect(422)
        .json();
    assert!(typed["errors"]["email_address"].is_array() && typed["errors"]["custom_fields"].is_array(), "{typed}");
    h.post("/v2/people", json!({"email_address":"ok@example.com","do_not_contact":"perhaps"})).await.expect(422);
    h.get("/v2/me").await.expect(200);
}

#[tokio::test]
async fn huge_bodies_are_413() {
    let h = Harness::with(SimConfig { max_body_bytes: 64 * 1024, ..SimConfig::default() }).await;
    let huge = format!("{{\"email_address\":\"a@b.co\",\"title\":\"{}\"}}", "x".repeat(200 * 1024));
    h.raw(Method::POST, "/v2/people", "application/json", huge).await.expect(413);
    h.get("/v2/me").await.expect(200);
}

#[tokio::test]
async fn odd_paths_and_methods_are_404() {
    let h = Harness::start().await;
    for path in [
        "/v2",
        "/v2/",
        "/v2/people/abc",
        "/v2/people/1/extra",
        "/v2/people/99999999999999999999999",
        "/v2/%E2%98%83",
        "/v2/people/-1",
        "/v2/people.json.json",
        "/v3/people",
        "/",
        "/favicon.ico",
    ] {
        let answer = h.get(path).await;
        assert_eq!(answer.status.as_u16(), 404, "GET {path} → {} {}", answer.status, answer.text);
    }
    h.call(Method::PATCH, "/v2/me", None).await.expect(404);
    h.call(Method::POST, "/v2/cadences", Some(json!({}))).await.expect(404);
    h.call(Method::DELETE, "/v2/users/1", None).await.expect(404);
    assert_eq!(h.get("/v2/nope").await.expect(404).json(), json!({"error":"Not Found"}));
}

#[tokio::test]
async fn odd_query_strings_are_tolerated() {
    let h = Harness::start().await;
    for query in ["ids[", "ids[]]=1", "%ZZ=1", "page=%FF", "per_page=-5", "updated_at[weird]=x", "&&&=&", "ids[]="] {
        let answer = h.get(&format!("/v2/people?{query}")).await;
        assert!(matches!(answer.status.as_u16(), 200 | 422), "?{query} → {} {}", answer.status, answer.text);
    }
}

#[tokio::test]
async fn raw_garbage_on_the_socket_does_not_stop_the_server() {
    let h = Harness::start().await;
    let mut stream = tokio::net::TcpStream::connect(h.sim.local_addr()).await.expect("connects");
    stream.write_all(b"\x00\x01GARBAGE / HTTP/9.9\r\n\r\n").await.expect("writes");
    let mut buffer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut buffer)).await;
    h.get("/v2/me").await.expect(200);
}

#[tokio::test]
async fn extreme_numbers_do_not_overflow() {
    let h = Harness::start().await;
    let max = i64::MAX;
    let answer = h.get(&format!("/v2/people?page={max}&per_page={max}&include_paging_counts=true")).await.expect(200);
    assert_eq!(answer.json()["data"], serde_json::json!([]));
    h.get(&format!("/v2/people?ids={max},-{max}")).await.expect(200);
    h.get("/v2/people?updated_at[gt]=9999-12-31T23:59:59.999999Z&updated_at[lt]=0001-01-01T00:00:00Z")
        .await
        .expect(200);
    h.control(Method::POST, "/outage", Some(json!({"seconds": 1e300}))).await.expect(200);
    h.get("/v2/me").await.expect(503);
    h.control(Method::DELETE, "/outage", None).await.expect(204);
    // The clock saturates at the end of time instead of overflowing.
    h.control(Method::POST, "/clock", Some(json!({"advance_seconds": 1e300}))).await.expect(200);
    h.get("/v2/me").await.expect(200);
}

#[tokio::test]
async fn the_newer_routes_answer_bad_bodies_with_400_or_422_and_cost_budget() {
    let h = Harness::start().await;
    let routes = [
        (Method::POST, "/v2/notes"),
        (Method::PUT, "/v2/notes/1"),
        (Method::POST, "/v2/tasks"),
        (Method::PUT, "/v2/tasks/1"),
        (Method::POST, "/v2/person_upserts"),
        (Method::PUT, "/v2/users/2"),
    ];
    let huge = json!({"content": ["x"], "associated_with_id": 1e30, "person_id": 1e30, "user_id": -1e30,
        "due_date": "99999-01-01", "remind_at": "9999-99-99", "subject": {"a": [1]}, "upsert_key": 12,
        "id": 1e300, "active": 2, "group_id": 1e30, "role_id": [1], "work_country": "x".repeat(10_000)});
    for (method, path) in routes {
        h.raw(method.clone(), path, "application/json", "{\"content\": ").await.expect(400);
        let answer = h.call(method.clone(), path, Some(huge.clone())).await.expect(422);
        assert!(answer.json()["errors"].is_object(), "{method} {path}: {}", answer.text);
        assert_eq!(answer.header("x-ratelimit-endpoint-cost"), Some("1"), "{method} {path} is charged");
    }
    let stats = h.stats().await;
    assert_eq!(stats["cost_used"], 12, "every write costs 1: {stats}");
    for route in
        ["POST /v2/notes", "PUT /v2/notes/{id}", "POST /v2/tasks", "POST /v2/person_upserts", "PUT /v2/users/{id}"]
    {
        assert_eq!(stats["by_route"][route], 2, "{route} in {stats}");
    }
    h.get("/v2/tasks?time_interval_filter=next_week").await.expect(200);
    h.control(Method::POST, "/clock", Some(json!({"advance_seconds": 1e300}))).await.expect(200);
    h.get("/v2/tasks?time_interval_filter=next_week").await.expect(200);
}
