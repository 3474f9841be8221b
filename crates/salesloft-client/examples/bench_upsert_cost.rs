//! Benchmark: the SalesLoft cost of upserting 10 000 people by email, half of them existing, against the
//! simulator. Target ≤ 1.05 × N (one lookup per 100 emails, then one write per row).
//!
//! Run: `cargo run --release -p salesloft-client --example bench_upsert_cost [-- N]`. Prints figures.

use futures::TryStreamExt;
use salesloft_client::models::{Person, PersonInput};
use salesloft_client::{Client, upsert_people};
use salesloft_sim::{SimConfig, Simulator};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let existing = n / 2;
    let sim =
        Simulator::start(SimConfig { seed_people: existing, budget_per_minute: 100_000_000, ..SimConfig::default() })
            .await?;
    let client = Client::with_api_key(sim.base_url(), sim.api_key().to_string().into())?;
    let http = reqwest::Client::new();

    // The existing people's emails (read, then the stats are reset: reset keeps the seeded data).
    let people: Vec<Person> = client.people().keyset().items().try_collect().await?;
    let _ = http.post(format!("{}/__sim/reset", sim.root_url())).send().await?;

    let mut inputs: Vec<PersonInput> = people
        .iter()
        .filter_map(|p| p.email_address.clone())
        .map(|email| PersonInput::with_email(email).title("Benchmarked"))
        .collect();
    for i in 0..(n - inputs.len() as u64) {
        inputs.push(PersonInput::with_email(format!("bench{i}@upsert.example")).first_name("Bench"));
    }
    let total = inputs.len() as u64;

    let started = std::time::Instant::now();
    let outcomes = upsert_people(&client, inputs).await;
    let elapsed = started.elapsed();
    let kinds = |k: &str| outcomes.iter().filter(|o| o.result.as_ref().is_ok_and(|u| u.kind() == k)).count();
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    let stats: Value = http.get(format!("{}/__sim/stats", sim.root_url())).send().await?.json().await?;
    let cost = stats["cost_used"].as_u64().unwrap_or(0);
    println!(
        "upsert of {total} people: {} created, {} updated, {} unchanged, {failed} failed",
        kinds("created"),
        kinds("updated"),
        kinds("unchanged")
    );
    println!("  cost {cost} = {:.4} per upsert (target ≤ 1.05)", cost as f64 / total as f64);
    println!("  by route {}", stats["by_route"]);
    println!("  elapsed {:.2?} (informational)", elapsed);
    sim.shutdown().await;
    Ok(())
}
