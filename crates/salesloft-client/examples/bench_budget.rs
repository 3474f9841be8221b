//! Benchmark: sustained use of the SalesLoft cost budget with zero 429s, on a compressed minute.
//!
//! Starts the simulator with a 1-second "minute" and the documented 600 cost per window (FACTS.md §2.1),
//! then lets several workers hammer it through one [`Pipeline`] whose rate budget knows the same numbers.
//! Every tenth request asks for page 151, which costs 8 (FACTS.md §2.2), so the limiter has to price deep
//! pages. Afterwards the simulator's request log is grouped by server window: the figure is the cost served in
//! the *full* windows (the first and last are partial) over the budget those windows offered, and the number
//! of 429s.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/main/target-transport cargo run --release -p salesloft-client --example bench_budget -- [windows] [workers]
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use http::Method;
use salesloft_client::transport::{ApiRequest, Pipeline, RateBudgetConfig};
use salesloft_sim::{SimConfig, Simulator};
use secrecy::SecretString;
use serde_json::Value;

const BUDGET: u32 = 600;
const WINDOW: Duration = Duration::from_secs(1);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let windows: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(12);
    let workers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);

    let sim = Simulator::start(SimConfig {
        seed_people: 200,
        minute: WINDOW,
        budget_per_minute: BUDGET,
        request_log_capacity: 20_000,
        ..SimConfig::default()
    })
    .await?;
    let pipeline = Pipeline::builder(sim.base_url())
        .api_key(SecretString::from(sim.api_key().to_string()))
        .rate_budget(RateBudgetConfig { limit: BUDGET, window: WINDOW, ..RateBudgetConfig::default() })
        .build()?;

    let started = Instant::now();
    let deadline = started + WINDOW * windows as u32;
    let tasks: Vec<_> = (0..workers)
        .map(|worker| {
            let pipeline = pipeline.clone();
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0u64, 0u64);
                let mut n = worker as u64;
                while Instant::now() < deadline {
                    n += workers as u64;
                    let page = if n.is_multiple_of(10) { "151" } else { "1" };
                    let request = ApiRequest::new("people.list", Method::GET, "people")
                        .query("per_page", "1")
                        .query("page", page);
                    match pipeline.execute(request).await {
                        Ok(_) => ok += 1,
                        Err(error) => {
                            failed += 1;
                            eprintln!("call failed: {error}");
                        }
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    let (mut ok, mut failed) = (0, 0);
    for task in tasks {
        let (o, f) = task.await?;
        ok += o;
        failed += f;
    }
    let elapsed = started.elapsed();

    let root = sim.root_url().to_string();
    let client = reqwest::Client::new();
    let stats: Value = client.get(format!("{root}/__sim/stats")).send().await?.json().await?;
    let log: Vec<Value> = client.get(format!("{root}/__sim/requests?limit=10000")).send().await?.json().await?;
    if log.len() >= 10_000 {
        eprintln!("warning: the request log is truncated at 10 000 entries; use fewer windows");
    }

    // Cost served per server window (windows are aligned to whole seconds of the simulator clock).
    let mut per_window: BTreeMap<i64, u64> = BTreeMap::new();
    for entry in &log {
        if entry["status"].as_u64() != Some(200) {
            continue;
        }
        let Some(at) = entry["at"].as_str() else {
            continue;
        };
        let Ok(at) = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339) else {
            continue;
        };
        let index = (at.unix_timestamp_nanos() / WINDOW.as_nanos() as i128) as i64;
        *per_window.entry(index).or_default() += entry["cost"].as_u64().unwrap_or(0);
    }
    let full: Vec<u64> = per_window.values().copied().skip(1).collect::<Vec<_>>();
    let full = &full[..full.len().saturating_sub(1)];
    let used: u64 = full.iter().sum();
    let available = u64::from(BUDGET) * full.len() as u64;
    let state = pipeline.state();

    println!("bench_budget: {windows} windows of {WINDOW:?} at {BUDGET} cost, {workers} workers, {elapsed:.2?}");
    println!(
        "  calls ok {ok}, failed {failed}; simulator: requests {}, cost_used {}",
        stats["requests"], stats["cost_used"]
    );
    println!("  cost per full window: {full:?}");
    println!(
        "  sustained budget use: {used} / {available} = {:.1} % over {} full windows",
        100.0 * used as f64 / available.max(1) as f64,
        full.len()
    );
    println!("  429s: {}", stats["rate_limited"]);
    println!("  client retry tokens left: {}, circuit: {:?}", state.retry_tokens, state.circuit);
    sim.shutdown().await;
    Ok(())
}
