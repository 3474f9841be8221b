//! Benchmark: the SalesLoft cost of a full read of 50 000 people with the keyset cursor, against the
//! simulator, compared with ⌈N/100⌉ and with page-walking (pages 1..500 cost 3 550 — FACTS.md §2.2).
//!
//! Run: `cargo run --release -p salesloft-client --example bench_read_cost [-- N]`. Prints figures; asserts
//! nothing about time.

use futures::TryStreamExt;
use salesloft_client::Client;
use salesloft_sim::{SimConfig, Simulator};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let sim =
        Simulator::start(SimConfig { seed_people: n, budget_per_minute: 100_000_000, ..SimConfig::default() }).await?;
    let client = Client::with_api_key(sim.base_url(), sim.api_key().to_string().into())?;
    let stats_url = format!("{}/__sim/stats", sim.root_url());
    let http = reqwest::Client::new();

    let started = std::time::Instant::now();
    let mut pages = std::pin::pin!(client.people().keyset().pages());
    let (mut records, mut max_request_page) = (0u64, 0u32);
    while let Some(page) = pages.try_next().await? {
        records += page.records.len() as u64;
        max_request_page = max_request_page.max(page.request_page);
    }
    let elapsed = started.elapsed();
    let stats: Value = http.get(&stats_url).send().await?.json().await?;
    let cost = stats["cost_used"].as_u64().unwrap_or(0);
    let requests = stats["requests"].as_u64().unwrap_or(0);
    let ideal = n.div_ceil(100);
    println!("keyset read: {records} of {n} people, {requests} requests, max page {}", stats["max_page"]);
    println!("  cost {cost}  = {:.4} × ⌈N/100⌉ ({ideal})  (target ≤ 1.01 ×)", cost as f64 / ideal as f64);
    println!("  exact-keyset floor 1 + ⌈(N−100)/99⌉ = {}", 1 + n.saturating_sub(100).div_ceil(99));
    println!("  elapsed {:.2?} (informational)", elapsed);

    // Page-walking for comparison: pages 1..⌈N/100⌉ with deep pages allowed.
    let _ = http.post(format!("{}/__sim/reset", sim.root_url())).send().await?;
    let mut page = 1u32;
    let mut walked = 0u64;
    loop {
        let list = client.people().list().per_page(100).page(page).allow_deep_pages(true).send().await?;
        walked += list.data.len() as u64;
        if list.next_page().is_none() || list.data.len() < 100 {
            break;
        }
        page += 1;
    }
    let stats: Value = http.get(&stats_url).send().await?.json().await?;
    let walk_cost = stats["cost_used"].as_u64().unwrap_or(0);
    println!(
        "page-walking read: {walked} people over {page} pages, cost {walk_cost} ({:.2} × the keyset read)",
        walk_cost as f64 / cost.max(1) as f64
    );
    sim.shutdown().await;
    Ok(())
}
