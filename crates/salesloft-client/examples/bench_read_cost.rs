//! Benchmark: the SalesLoft cost of a full read of 50 000 people with the keyset pager (windows of up to 100
//! pages, the default) and with the plain cursor (page 1 only), against the simulator, compared with
//! ⌈N/100⌉ and with page-walking (pages 1..500 cost 3 550 — FACTS.md §2.2).
//!
//! Run: `cargo run --release -p salesloft-client --example bench_read_cost [-- N [TIE]]`; with `TIE` > 1 the
//! people come in blocks of `TIE` sharing one `updated_at` (a bulk import). Prints figures; asserts nothing
//! about time.

use futures::TryStreamExt;
use salesloft_client::Client;
use salesloft_sim::{SimConfig, Simulator};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let tie: u64 = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(0);
    let sim = Simulator::start(SimConfig {
        seed_people: n,
        seed_people_tie_group: tie,
        budget_per_minute: 100_000_000,
        ..SimConfig::default()
    })
    .await?;
    if tie > 1 {
        println!("people in blocks of {tie} sharing one updated_at");
    }
    let client = Client::with_api_key(sim.base_url(), sim.api_key().to_string().into())?;
    let stats_url = format!("{}/__sim/stats", sim.root_url());
    let http = reqwest::Client::new();

    let ideal = n.div_ceil(100);
    let mut cost = 0;
    for windows in [true, false] {
        let _ = http.post(format!("{}/__sim/reset", sim.root_url())).send().await?;
        let started = std::time::Instant::now();
        let mut pages = std::pin::pin!(client.people().keyset().windows(windows).pages());
        let mut records = 0u64;
        while let Some(page) = pages.try_next().await? {
            records += page.records.len() as u64;
        }
        let elapsed = started.elapsed();
        let stats: Value = http.get(&stats_url).send().await?.json().await?;
        let used = stats["cost_used"].as_u64().unwrap_or(0);
        let requests = stats["requests"].as_u64().unwrap_or(0);
        let mode = if windows { "keyset read, windows (default)" } else { "keyset read, plain cursor" };
        println!("{mode}: {records} of {n} people, {requests} requests, max page {}", stats["max_page"]);
        println!("  cost {used}  = {:.4} × ⌈N/100⌉ ({ideal})  (target ≤ 1.01 ×)", used as f64 / ideal as f64);
        if !windows {
            println!("  plain-cursor floor 1 + ⌈(N−100)/99⌉ = {}", 1 + n.saturating_sub(100).div_ceil(99));
        }
        println!("  elapsed {:.2?} (informational)", elapsed);
        if windows {
            cost = used;
        }
    }

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
        "page-walking read: {walked} people over {page} pages, cost {walk_cost} ({:.2} × the windowed read)",
        walk_cost as f64 / cost.max(1) as f64
    );
    sim.shutdown().await;
    Ok(())
}
