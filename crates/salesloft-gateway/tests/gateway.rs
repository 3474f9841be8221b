//! The gateway over real HTTP on loopback in front of the simulator: the proxy, the webhook receiver,
//! health and readiness, and the admin endpoints, with every failure path the issue names. Each behaviour
//! runs on SQLite and on PostgreSQL (`on_both_backends!`; PostgreSQL from `SLPROD_TEST_PG_URL`).

mod support;

use std::time::Duration;

use reqwest::Method;
use salesloft_testkit::{Backend, on_both_backends};
use serde_json::json;
use support::{ADMIN, HEALTH_CACHE, Harness, INTERNAL_NEW, INTERNAL_OLD, MAX_WEBHOOK_BODY, SECRET_NEW, SECRET_OLD};

on_both_backends!(super;
    proxy_answers_with_salesloft_s_status_body_and_rate_headers,
    proxy_refuses_missing_wrong_and_admin_tokens_and_sends_nothing,
    proxied_mutations_are_sent_with_the_body_and_audited,
    a_paused_mutation_is_refused_and_not_sent_while_reads_pass,
    admin_refuses_the_internal_token_and_reports_status,
    webhooks_are_verified_under_any_current_secret_and_stored_once,
    webhook_body_over_the_limit_gets_413_and_malformed_json_is_a_dead_letter,
    health_turns_503_within_the_cache_when_salesloft_is_down_and_ready_stays_200,
    a_store_that_does_not_answer_fails_health_and_mutations_closed,
);

async fn proxy_answers_with_salesloft_s_status_body_and_rate_headers(backend: Backend) {
    let h = Harness::start(backend).await;
    let response =
        h.request(Method::GET, "/v2/people?per_page=2&page=2", Some(INTERNAL_OLD)).send().await.expect("answers");
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-ratelimit-remaining-minute"), "{:?}", response.headers());
    assert!(response.headers().contains_key("x-ratelimit-endpoint-cost"));
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(2), "the query string was forwarded: {body}");

    let (status, body) = h.send(h.request(Method::GET, "/v2/people/999999999", Some(INTERNAL_NEW))).await;
    assert_eq!(status, 404, "SalesLoft's status comes back: {body}");
    assert!(body["error"].is_string(), "SalesLoft's body comes back: {body}");
    let (status, _) = h.send(h.request(Method::GET, "/v2/../__sim/stats", Some(INTERNAL_NEW))).await;
    assert!(status == 400 || status == 404, "a path cannot leave /v2/, got {status}");
    h.stop().await.expect("stops cleanly");
}

async fn proxy_refuses_missing_wrong_and_admin_tokens_and_sends_nothing(backend: Backend) {
    let h = Harness::start(backend).await;
    for (token, case) in [(None, "missing"), (Some("wrong"), "wrong"), (Some(ADMIN), "admin token on the proxy")] {
        let (status, body) = h.send(h.request(Method::GET, "/v2/me", token)).await;
        assert_eq!(status, 401, "{case}: {body}");
        let (status, _) = h.send(h.request(Method::POST, "/v2/people", token).json(&json!({"x": 1}))).await;
        assert_eq!(status, 401, "{case} (mutation)");
    }
    assert_eq!(h.sim_requests(&["GET", "POST"], "/v2/").await, 0, "nothing refused reached SalesLoft");
    for token in [INTERNAL_OLD, INTERNAL_NEW] {
        let (status, body) = h.send(h.request(Method::GET, "/v2/me", Some(token))).await;
        assert_eq!(status, 200, "both tokens of a rotation work: {body}");
    }
    let log = salesloft_testkit::sim::requests_to(h.sim.root_url(), &["GET"], "/v2/me").await;
    assert_eq!(log.len(), 2);
    let text = serde_json::to_string(&log).expect("json");
    assert!(!text.contains(INTERNAL_OLD) && !text.contains(INTERNAL_NEW), "internal tokens never leave the gateway");
}

async fn proxied_mutations_are_sent_with_the_body_and_audited(backend: Backend) {
    let h = Harness::start(backend).await;
    let person = json!({"email_address": "proxy@example.com", "first_name": "Pro", "last_name": "Xy"});
    let (status, body) = h
        .send(
            h.request(Method::POST, "/v2/people", Some(INTERNAL_NEW))
                .header("idempotency-key", "key-1")
                .header("x-request-id", "corr-1")
                .json(&person),
        )
        .await;
    assert!(status == 200 || status == 201, "{status} {body}");
    assert_eq!(body["data"]["email_address"], "proxy@example.com", "the body was forwarded: {body}");
    let (status, body) = h.send(h.request(Method::POST, "/v2/people", Some(INTERNAL_NEW)).json(&person)).await;
    assert_eq!(status, 422, "SalesLoft's 422 comes back as it came: {body}");

    let records = h.store.audit().records(1, 100).await.expect("audit records");
    assert_eq!(records.len(), 2, "one record per mutation: {records:?}");
    let first = &records[0];
    assert_eq!(
        (first.actor.as_str(), first.operation.as_str(), first.resource.as_str(), first.response_status),
        ("internal-token-2", "proxy.POST", "/v2/people", Some(i64::from(status_of_create(&records))))
    );
    assert_eq!((first.idempotency_key.as_deref(), first.correlation_id.as_deref()), (Some("key-1"), Some("corr-1")));
    assert_eq!(records[1].response_status, Some(422));
    assert!(h.store.audit().verify().await.expect("verify").ok, "the chain verifies");
}

fn status_of_create(records: &[salesloft_store::AuditRecord]) -> u16 {
    records[0].response_status.and_then(|s| u16::try_from(s).ok()).filter(|s| *s == 200 || *s == 201).unwrap_or(0)
}

async fn a_paused_mutation_is_refused_and_not_sent_while_reads_pass(backend: Backend) {
    let h = Harness::start(backend).await;
    let (status, _) =
        h.send(h.request(Method::POST, "/admin/pause", Some(ADMIN)).json(&json!({"reason": "incident 42"}))).await;
    assert_eq!(status, 200);
    let person = json!({"email_address": "paused@example.com", "first_name": "P"});
    let (status, body) = h.send(h.request(Method::POST, "/v2/people", Some(INTERNAL_OLD)).json(&person)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["paused"]["reason"], "incident 42", "the JSON says why: {body}");
    assert!(body["paused"]["since"].as_str().is_some_and(|t| t.contains('T') && t.ends_with('Z')), "RFC 3339: {body}");
    let (status, _) = h.send(h.request(Method::DELETE, "/v2/people/1", Some(INTERNAL_OLD))).await;
    assert_eq!(status, 503);
    assert_eq!(h.sim_requests(&["POST", "PUT", "DELETE"], "/v2/").await, 0, "no paused mutation was sent");
    assert!(h.store.audit().records(1, 10).await.expect("audit").is_empty(), "nothing sent, nothing audited");
    let (status, _) = h.send(h.request(Method::GET, "/v2/people", Some(INTERNAL_OLD))).await;
    assert_eq!(status, 200, "reads pass while paused");

    let (status, _) = h.send(h.request(Method::POST, "/admin/resume", Some(ADMIN))).await;
    assert_eq!(status, 200);
    let (status, body) = h.send(h.request(Method::POST, "/v2/people", Some(INTERNAL_OLD)).json(&person)).await;
    assert!(status == 200 || status == 201, "mutations flow after resume: {status} {body}");
    assert_eq!(h.sim_requests(&["POST"], "/v2/people").await, 1);
}

async fn admin_refuses_the_internal_token_and_reports_status(backend: Backend) {
    let h = Harness::start(backend).await;
    for token in [None, Some(INTERNAL_OLD), Some("wrong")] {
        let pause = h.request(Method::POST, "/admin/pause", token).json(&json!({"reason": "x"}));
        assert_eq!(h.send(pause).await.0, 401, "pause with {token:?}");
        assert_eq!(h.send(h.request(Method::POST, "/admin/resume", token)).await.0, 401);
        assert_eq!(h.send(h.request(Method::GET, "/admin/status", token)).await.0, 401);
    }
    assert_eq!(h.store.pause().paused().await.expect("switch"), None, "a refused pause changed nothing");
    let (status, body) = h.send(h.request(Method::POST, "/admin/pause", Some(ADMIN)).json(&json!({}))).await;
    assert_eq!(status, 400, "a reason is required: {body}");
    let (status, body) = h.send(h.request(Method::GET, "/admin/status", Some(ADMIN))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["paused"].clone(), body["breaker"].as_str()), (json!(null), Some("closed")), "{body}");
    assert_eq!(body["inbox"]["pending"], 0, "{body}");
    assert!(body["budget"]["limit"].is_u64() && body["version"].is_string(), "{body}");
    let pause = h.request(Method::POST, "/admin/pause", Some(ADMIN)).json(&json!({"reason": "drill", "by": "ops"}));
    assert_eq!(h.send(pause).await.0, 200);
    let info = h.store.pause().paused().await.expect("switch").expect("paused in the store");
    assert_eq!((info.by.as_str(), info.reason.as_str()), ("ops", "drill"));
    let (_, body) = h.send(h.request(Method::GET, "/admin/status", Some(ADMIN))).await;
    assert_eq!(body["paused"]["reason"], "drill", "{body}");
}

async fn webhooks_are_verified_under_any_current_secret_and_stored_once(backend: Backend) {
    let h = Harness::start(backend).await;
    let first = br#"{"id":1,"updated_at":"2026-01-01T00:00:00Z","first_name":"A"}"#;
    let second = br#"{"id":2,"updated_at":"2026-01-01T00:00:00Z","first_name":"B"}"#;
    for (body, secret) in [(&first[..], None), (first, Some("wrong-secret")), (first, Some(INTERNAL_OLD))] {
        let (status, reply) = h.deliver("person_updated", body, secret).await;
        assert_eq!(status, 401, "{secret:?}: {reply}");
    }
    let tampered = h
        .http
        .post(format!("{}/webhooks/salesloft", h.url))
        .header("x-salesloft-event", "person_updated")
        .header("x-salesloft-signature", salesloft_gateway::auth::sign(SECRET_OLD, first))
        .body(second.to_vec());
    assert_eq!(h.send(tampered).await.0, 401, "a signature over another body does not verify");
    let counts = h.store.inbox().counts().await.expect("counts");
    assert_eq!((counts.pending, counts.dead), (0, 0), "nothing unverified was stored");

    let (status, reply) = h.deliver("person_updated", first, Some(SECRET_OLD)).await;
    assert_eq!((status, reply["duplicate"].as_bool()), (200, Some(false)), "old secret: {reply}");
    let (status, reply) = h.deliver("person_updated", second, Some(SECRET_NEW)).await;
    assert_eq!((status, reply["duplicate"].as_bool()), (200, Some(false)), "new secret: {reply}");
    let (status, reply) = h.deliver("person_updated", first, Some(SECRET_NEW)).await;
    assert_eq!((status, reply["duplicate"].as_bool()), (200, Some(true)), "a replay is acknowledged: {reply}");
    let counts = h.store.inbox().counts().await.expect("counts");
    assert_eq!(counts.pending, 2, "the replay was not stored twice");
    let item = h.store.inbox().claim_next("test", Duration::from_secs(60)).await.expect("claim").expect("a delivery");
    assert_eq!((item.event_type.as_str(), item.body.as_slice()), ("person_updated", &first[..]), "stored raw");
}

async fn webhook_body_over_the_limit_gets_413_and_malformed_json_is_a_dead_letter(backend: Backend) {
    let h = Harness::start(backend).await;
    let big = format!(r#"{{"id":1,"updated_at":"t","pad":"{}"}}"#, "x".repeat(MAX_WEBHOOK_BODY));
    let (status, _) = h.deliver("person_updated", big.as_bytes(), Some(SECRET_OLD)).await;
    assert_eq!(status, 413);
    let (status, reply) = h.deliver("person_updated", b"{not json", Some(SECRET_NEW)).await;
    assert_eq!(status, 400, "{reply}");
    let counts = h.store.inbox().counts().await.expect("counts");
    assert_eq!((counts.pending, counts.dead), (0, 1), "kept as a dead letter, not as work");
    let (status, _) = h.deliver("person_updated", b"{not json", None).await;
    assert_eq!(status, 401, "an unsigned malformed body is not kept");
    assert_eq!(h.store.inbox().counts().await.expect("counts").dead, 1);
}

async fn health_turns_503_within_the_cache_when_salesloft_is_down_and_ready_stays_200(backend: Backend) {
    let h = Harness::start(backend).await;
    let (status, body) = h.send(h.request(Method::GET, "/health", None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["salesloft"]["connected"].as_bool(), body["store"]["ok"].as_bool()), (Some(true), Some(true)));
    assert_eq!(body["breaker"], "closed");
    assert!(body.get("token").is_some_and(serde_json::Value::is_null), "an API key has no expiry: {body}");
    for _ in 0..5 {
        assert_eq!(h.send(h.request(Method::GET, "/health", None)).await.0, 200);
    }
    assert_eq!(h.sim_requests(&["GET"], "/v2/me").await, 1, "probes within the cache send one GET /me");

    let outage = h.http.post(format!("{}/__sim/outage", h.sim.root_url())).json(&json!({"seconds": 3600}));
    assert!(outage.send().await.expect("control").status().is_success());
    assert_eq!(h.send(h.request(Method::GET, "/health", None)).await.0, 200, "still the cached probe");
    h.clock.advance(HEALTH_CACHE);
    let (status, body) = h.send(h.request(Method::GET, "/health", None)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["salesloft"]["connected"], false);
    assert!(body["reasons"][0].as_str().is_some_and(|r| r.contains("SalesLoft")), "{body}");
    let (status, body) = h.send(h.request(Method::GET, "/ready", None)).await;
    assert_eq!(status, 200, "SalesLoft down does not take the gateway out of the load balancer: {body}");
    let (status, body) = h.send(h.request(Method::GET, "/live", None)).await;
    assert_eq!(status, 200, "SalesLoft down does not make a liveness probe restart the gateway: {body}");

    h.clock.advance(HEALTH_CACHE);
    let (status, body) = h.send(h.request(Method::GET, "/health", None)).await;
    assert_eq!((status, body["breaker"].as_str()), (503, Some("open")), "consecutive failures open it: {body}");
    assert!(
        body["reasons"].as_array().is_some_and(|r| r.iter().any(|r| r.as_str().is_some_and(|r| r.contains("breaker"))))
    );
    let sent = h.sim_requests(&["GET"], "/v2/me").await;
    let (status, body) = h.send(h.request(Method::GET, "/v2/me", Some(INTERNAL_OLD))).await;
    assert_eq!(status, 503, "the open breaker fails fast: {body}");
    assert_eq!(h.sim_requests(&["GET"], "/v2/me").await, sent, "nothing sent while the breaker is open");
    assert_eq!(h.send(h.request(Method::GET, "/ready", None)).await.0, 200);
}

async fn a_store_that_does_not_answer_fails_health_and_mutations_closed(backend: Backend) {
    let h = Harness::start(backend).await;
    h.store.close().await;
    let (status, body) = h.send(h.request(Method::GET, "/health", None)).await;
    assert_eq!((status, body["store"]["ok"].as_bool()), (503, Some(false)), "{body}");
    let person = json!({"email_address": "nostore@example.com", "first_name": "N"});
    let (status, body) = h.send(h.request(Method::POST, "/v2/people", Some(INTERNAL_OLD)).json(&person)).await;
    assert_eq!(status, 503, "an unreadable pause switch refuses mutations: {body}");
    assert_eq!(h.sim_requests(&["POST"], "/v2/people").await, 0, "and nothing is sent");
    assert_eq!(h.send(h.request(Method::GET, "/v2/me", Some(INTERNAL_OLD))).await.0, 200, "reads still pass");
    let (status, _) = h.deliver("person_updated", br#"{"id":1,"updated_at":"t"}"#, Some(SECRET_OLD)).await;
    assert_eq!(status, 503, "a delivery that cannot be stored is not acknowledged");
}
