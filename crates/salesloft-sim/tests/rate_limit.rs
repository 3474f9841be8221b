//! The team cost budget (FACTS.md §2): rate headers on every authenticated response, deep-page costs by
//! page number, 429 with `Retry-After` when spent, refill in the next window.

mod common;

use std::time::Duration;

use common::Harness;
use reqwest::Method;
use salesloft_sim::clock::ManualClock;
use salesloft_sim::{SimConfig, Simulator};
use serde_json::json;

fn header_u64(answer: &common::Answer, name: &str) -> u64 {
    answer
        .header(name)
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("expected numeric header {name}, got {:?}", answer.header(name)))
}

#[tokio::test]
async fn every_authenticated_response_carries_cost_and_remaining() {
    let h = Harness::start().await;
    // Align to a fresh window so the count below cannot straddle a minute boundary.
    let me = h.get("/v2/me").await.expect(200);
    let before = header_u64(&me, "x-ratelimit-remaining-minute");
    assert_eq!(header_u64(&me, "x-ratelimit-endpoint-cost"), 1);
    assert!(before <= 599, "600 budget minus this request: {before}");
    for answer in [
        h.get("/v2/people/999999").await.expect(404),
        h.post("/v2/people", json!({})).await.expect(422),
        h.get("/v2/nothing-here").await.expect(404),
    ] {
        assert_eq!(header_u64(&answer, "x-ratelimit-endpoint-cost"), 1, "cost header on {}", answer.status);
        assert!(answer.header("x-ratelimit-remaining-minute").is_some(), "remaining header on {}", answer.status);
    }
}

#[tokio::test]
async fn deep_pages_cost_3_8_10_30_by_page_number() {
    let h = Harness::with(SimConfig { budget_per_minute: 100_000, ..SimConfig::default() }).await;
    let cases = [(1, 1), (100, 1), (101, 3), (150, 3), (151, 8), (250, 8), (251, 10), (500, 10), (501, 30), (9999, 30)];
    for (page, cost) in cases {
        let answer = h.get(&format!("/v2/people?per_page=1&page={page}")).await.expect(200);
        assert_eq!(header_u64(&answer, "x-ratelimit-endpoint-cost"), cost, "cost of page {page}");
    }
    let stats = h.stats().await;
    let expected: u64 = cases.iter().map(|(_, cost)| cost).sum();
    assert_eq!(stats["cost_used"], expected, "stats add up the costs: {stats}");
    assert_eq!(stats["max_page"], 9999);
}

#[tokio::test]
async fn spent_budget_answers_429_with_retry_after_until_the_next_window() {
    let h = Harness::with(SimConfig { budget_per_minute: 5, ..SimConfig::default() }).await;
    // Make the window boundary predictable: jump to the start of a fresh window first.
    let clock = h.control(Method::GET, "/clock", None).await.expect(200).json();
    let now = clock["unix_micros"].as_i64().expect("micros");
    let to_boundary = 60_000_000 - now.rem_euclid(60_000_000);
    h.sim.advance_clock(Duration::from_micros(to_boundary as u64 + 1_000));

    let mut remaining = Vec::new();
    for _ in 0..5 {
        remaining.push(header_u64(&h.get("/v2/me").await.expect(200), "x-ratelimit-remaining-minute"));
    }
    assert_eq!(remaining, vec![4, 3, 2, 1, 0]);
    let limited = h.get("/v2/me").await.expect(429);
    assert_eq!(limited.json(), json!({"error": "Rate limit exceeded"}));
    let retry_after = header_u64(&limited, "retry-after");
    assert!((1..=60).contains(&retry_after), "Retry-After is the seconds to the next window: {retry_after}");
    assert_eq!(header_u64(&limited, "x-ratelimit-remaining-minute"), 0);
    // A deep page cannot squeeze in either, and 429s do not consume budget by default.
    h.get("/v2/people?page=200").await.expect(429);

    h.sim.advance_clock(Duration::from_secs(retry_after));
    let refilled = h.get("/v2/me").await.expect(200);
    assert_eq!(header_u64(&refilled, "x-ratelimit-remaining-minute"), 4);
    let stats = h.stats().await;
    assert_eq!(stats["rate_limited"], 2, "{stats}");
    assert_eq!(stats["by_status"]["429"], 2, "{stats}");
}

#[tokio::test]
async fn window_length_and_costs_are_configurable() {
    let mut config = SimConfig { budget_per_minute: 2, minute: Duration::from_secs(1), ..SimConfig::default() };
    config.page_costs[0].cost = 2;
    config.listen = "127.0.0.1:0".parse().expect("addr");
    // A one-second window on real time could roll over between two requests of a slow run: on a manual clock
    // only the test moves time.
    let sim = Simulator::start_with_clock(config, ManualClock::new().shared()).await.expect("simulator starts");
    let h = Harness { sim, http: reqwest::Client::builder().no_proxy().build().expect("client") };
    let clock = h.control(Method::GET, "/clock", None).await.expect(200).json();
    let now = clock["unix_micros"].as_i64().expect("micros");
    h.sim.advance_clock(Duration::from_micros((1_000_000 - now.rem_euclid(1_000_000)) as u64 + 1_000));
    let first = h.get("/v2/me").await.expect(200);
    assert_eq!(header_u64(&first, "x-ratelimit-endpoint-cost"), 2);
    let limited = h.get("/v2/me").await.expect(429);
    assert_eq!(header_u64(&limited, "retry-after"), 1, "a compressed window still says at least 1 s");
    h.sim.advance_clock(Duration::from_secs(1));
    h.get("/v2/me").await.expect(200);
}

#[tokio::test]
async fn oauth_and_control_traffic_cost_nothing() {
    let h = Harness::with(SimConfig { budget_per_minute: 1, ..SimConfig::default() }).await;
    for _ in 0..3 {
        h.control(Method::GET, "/stats", None).await.expect(200);
        h.http
            .post(h.url("/oauth/token"))
            .form(&[("grant_type", "client_credentials"), ("client_id", "sim-client"), ("client_secret", "sim-secret")])
            .send()
            .await
            .expect("token answers");
    }
    h.get("/v2/me").await.expect(200);
    assert_eq!(h.stats().await["cost_used"], 1);
}
