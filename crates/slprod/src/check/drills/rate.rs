//! RATE-2..4: a large read never asks for a page past 100 (FACTS.md §2.2); a write burst is paced under the
//! budget with no 429; the rate-limit headers (FACTS.md §2.3) reach the logs and the metrics.

use std::time::{Duration, Instant};

use futures::StreamExt;
use salesloft_client::Client;
use salesloft_client::clock::SystemClock;
use salesloft_client::models::PersonInput;
use salesloft_client::transport::{page_cost, telemetry};
use salesloft_sim::SimConfig;
use serde_json::json;

use super::errors::capture_logs;
use super::{n, stats};
use crate::check::model::Finding;
use crate::check::target::Env;

/// People in the large read: past page 100 at 100 a page, so a page walker would pay deep-page prices.
const LARGE_READ: u64 = 12_000;

/// RATE-2: reading 12 000 people (120 pages of 100) never asks for a page over 100.
pub async fn no_deep_pages(env: &mut Env) -> Result<Finding, String> {
    let sim =
        env.sim(SimConfig { seed_people: LARGE_READ, budget_per_minute: 1_000_000, ..SimConfig::default() }).await?;
    let (client, _clock) = env.client_for(&sim)?;
    let mut read = 0u64;
    let mut pages = client.people().keyset().per_page(100).pages().boxed();
    while let Some(page) = pages.next().await {
        read += page.map_err(|e| format!("the large read failed: {e}"))?.records.len() as u64;
    }
    drop(pages);
    let stats = stats(env, &sim).await?;
    sim.shutdown().await;
    let (max_page, cost, requests) = (n(&stats, "/max_page"), n(&stats, "/cost_used"), n(&stats, "/requests"));
    let walking: u64 = (1..=LARGE_READ.div_ceil(100)).map(|p| u64::from(page_cost(p))).sum();
    let evidence = json!({
        "records_seeded": LARGE_READ, "records_read": read, "requests": requests, "cost": cost,
        "deepest_page_asked": max_page, "page_walking_would_cost": walking,
    });
    Ok(Finding::verdict(
        read == LARGE_READ && max_page <= 100,
        format!("{read} records for cost {cost}; deepest page {max_page} (page-walking would cost {walking})"),
        format!("read {read} of {LARGE_READ} records; deepest page asked {max_page}"),
        evidence,
    ))
}

/// RATE-3: a burst of 1 500 creates against a 600-per-minute budget (the simulator's minute shortened to 1 s,
/// the client told the same) is paced: no 429, cost per minute at or under the budget.
pub async fn write_burst(env: &mut Env) -> Result<Finding, String> {
    const WRITES: usize = 1_500;
    const BUDGET: u32 = 600;
    let minute = Duration::from_secs(1);
    let sim = env.sim(SimConfig { seed_people: 0, budget_per_minute: BUDGET, minute, ..SimConfig::default() }).await?;
    // The client paces to the *configured* budget (`[budget]`) while the simulator enforces SalesLoft's 600 (a
    // budget configured too high is corrected by `x-ratelimit-remaining-minute`, FACTS.md §2.3, and the drill
    // shows whether that holds). Real time: the pacing is what is measured, against the simulator's clock.
    let configured = env.config().budget.cost_per_minute.unwrap_or(BUDGET);
    let reserve_pct = env.config().budget.reserve_pct.unwrap_or(0).min(99);
    let pipeline = env
        .pipeline_for(&sim, SystemClock::shared())?
        .rate_budget(salesloft_client::transport::RateBudgetConfig {
            limit: configured.max(1),
            window: minute,
            reserve_fraction: f64::from(reserve_pct) / 100.0,
            ..salesloft_client::transport::RateBudgetConfig::default()
        })
        .build()
        .map_err(|e| e.to_string())?;
    let client = Client::new(pipeline);
    let started = Instant::now();
    // Latencies here include the waits for budget that the pacing adds on purpose, so they are not MON-5's samples.
    let outcomes: Vec<(Result<(), String>, Duration)> = futures::stream::iter(0..WRITES)
        .map(|i| {
            let client = &client;
            async move {
                let input = PersonInput::with_email(format!("burst{i}@drill.example")).first_name("Burst");
                let begun = Instant::now();
                let out = client.people().create(&input).await.map(|_| ()).map_err(|e| e.to_string());
                (out, begun.elapsed())
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let stats = stats(env, &sim).await?;
    let log = super::requests(env, &sim).await?;
    sim.shutdown().await;
    // Cost per simulated minute, from the simulator's own request log (its `at` in microseconds).
    let mut per_minute = std::collections::BTreeMap::<i64, u64>::new();
    for entry in &log {
        if let Some(at) = entry
            .get("at")
            .and_then(serde_json::Value::as_str)
            .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
        {
            let window = (at.unix_timestamp_nanos() / minute.as_nanos() as i128) as i64;
            *per_minute.entry(window).or_default() +=
                entry.get("cost").and_then(serde_json::Value::as_u64).unwrap_or(0);
        }
    }
    let first = per_minute.keys().next().copied().unwrap_or(0);
    env.plots.cost_per_minute = per_minute.iter().map(|(w, c)| ((w - first) as f64, *c as f64)).collect();
    env.plots.budget_per_minute = Some(f64::from(BUDGET));
    let failed = outcomes.iter().filter(|(o, _)| o.is_err()).count();
    let (limited, peak) = (n(&stats, "/rate_limited"), per_minute.values().copied().max().unwrap_or(0));
    let evidence = json!({
        "writes": WRITES, "salesloft_budget_per_minute": BUDGET,
        "config": {"budget.cost_per_minute": configured, "budget.reserve_pct": reserve_pct}, "minute_s": minute.as_secs_f64(),
        "elapsed_s": elapsed.as_secs_f64(), "failed": failed, "rate_limited_429": limited,
        "cost_per_minute": per_minute.values().collect::<Vec<_>>(), "peak_minute_cost": peak,
    });
    Ok(Finding::verdict(
        limited == 0 && failed == 0 && peak <= u64::from(BUDGET),
        format!(
            "{WRITES} writes in {:.1} minutes: no 429, peak minute {peak} of {BUDGET}",
            elapsed.as_secs_f64() / minute.as_secs_f64()
        ),
        format!("{WRITES} writes: {limited} answered 429, {failed} failed, peak minute cost {peak} of {BUDGET}"),
        evidence,
    ))
}

/// RATE-4: `x-ratelimit-endpoint-cost` and `x-ratelimit-remaining-minute` reach the logs and the metrics.
pub async fn headers_recorded(env: &mut Env) -> Result<Finding, String> {
    let handle = salesloft_gateway::metrics::install();
    let sim = env.sim(SimConfig { seed_people: 5, ..SimConfig::default() }).await?;
    let (client, _clock) = env.client_for(&sim)?;
    let (answer, logs) = capture_logs(async {
        for _ in 0..3 {
            client.me().await?;
        }
        client.people().list().per_page(5).send().await.map(|_| ())
    })
    .await;
    sim.shutdown().await;
    answer.map_err(|e| format!("the drill's reads failed: {e}"))?;
    let record =
        logs.lines().find(|l| l.contains("remaining_minute") && l.contains("endpoint_cost")).map(str::to_string);
    let metrics = handle.render();
    let series: Vec<&str> = [telemetry::COST_TOTAL, telemetry::RATELIMIT_REMAINING, telemetry::RATELIMIT_ENDPOINT_COST]
        .into_iter()
        .filter(|name| metrics.lines().any(|l| l.starts_with(name)))
        .collect();
    let sample: Vec<&str> = metrics.lines().filter(|l| l.starts_with(telemetry::RATELIMIT_REMAINING)).take(1).collect();
    let evidence = json!({
        "log_record": record.as_deref().and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok()),
        "metric_series": series, "metric_sample": sample,
    });
    Ok(Finding::verdict(
        record.is_some() && series.len() == 3,
        format!("cost and remaining budget in every response's log record and in {}", series.join(", ")),
        format!("log record with the headers: {}; metric series: {series:?}", record.is_some()),
        evidence,
    ))
}
