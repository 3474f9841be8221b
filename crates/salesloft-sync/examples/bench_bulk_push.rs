//! Benchmark: pushing N people (default 100 000, a tenth of them existing) through one bulk job with the
//! store's ledger and audit log (what `slprod push --bulk` does), then the same rows row by row on the same
//! seeded data, against the simulator. Prints each path's SalesLoft cost, the wall time that cost takes at
//! the real budget of 600 per minute (FACTS.md §2.1; computed from the cost, not measured), and the peak RSS.
//!
//! The simulator and the client share a manual clock, so the job is processed at the simulator's default
//! 1 000 records/s of *simulated* time and the polls back off as they would, without waiting for real. The
//! bulk routes' costs are unconfirmed (FACTS.md §12): the simulator charges 1 per request.
//!
//! Run: `cargo run --release -p salesloft-sync --example bench_bulk_push [-- N]`.

use std::sync::Arc;
use std::time::Instant;

use futures::TryStreamExt;
use salesloft_client::bulk_upsert::{BulkRow, BulkUpsertConfig, bulk_upsert_people};
use salesloft_client::clock::ManualClock;
use salesloft_client::models::{Person, PersonInput};
use salesloft_client::transport::Pipeline;
use salesloft_client::{Client, upsert_people};
use salesloft_sim::{SimConfig, Simulator};
use salesloft_sync::{BulkLedger, RunId};
use serde_json::Value;

/// The team's budget per minute (FACTS.md §2.1).
const BUDGET_PER_MINUTE: f64 = 600.0;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let existing = n / 10;
    let clock = ManualClock::new();
    let config = SimConfig { seed_people: existing, budget_per_minute: 100_000_000, ..SimConfig::default() };
    let sim = Simulator::start_with_clock(config, clock.shared()).await?;
    let pipeline = Pipeline::builder(sim.base_url())
        .api_key(sim.api_key().to_string().into())
        .clock(Arc::new(clock.clone()))
        .build()?;
    let client = Client::new(pipeline);
    let http = reqwest::Client::new();
    let reset = || http.post(format!("{}/__sim/reset", sim.root_url())).send();
    let cost = || async {
        let stats: Value = http.get(format!("{}/__sim/stats", sim.root_url())).send().await?.json().await?;
        Ok::<_, reqwest::Error>((stats["cost_used"].as_u64().unwrap_or(0), stats["by_route"].clone()))
    };

    let people: Vec<Person> = client.people().keyset().items().try_collect().await?;
    let mut inputs: Vec<PersonInput> = people
        .iter()
        .filter_map(|p| p.email_address.clone())
        .map(|email| PersonInput::with_email(email).title("Benchmarked"))
        .collect();
    for i in 0..(n - inputs.len() as u64) {
        inputs.push(PersonInput::with_email(format!("bench{i}@bulk.example")).first_name("Bench"));
    }
    let total = inputs.len() as u64;

    // Bulk, with the ledger and audit log on a fresh SQLite store.
    reset().await?;
    let dir = tempfile::tempdir()?;
    let store = salesloft_store::open(&format!("sqlite://{}", dir.path().join("bench.sqlite").display())).await?;
    let journal =
        BulkLedger::new(store.clone(), RunId::new("bench")?, "bench_bulk_push", std::time::Duration::from_secs(90));
    let rows: Vec<BulkRow> =
        inputs.iter().cloned().enumerate().map(|(i, input)| BulkRow { index: i + 1, input }).collect();
    let config = BulkUpsertConfig { job_name: journal.job_name(), ..BulkUpsertConfig::default() };
    let started = Instant::now();
    let report = bulk_upsert_people(&client, rows, &config, &journal).await?;
    let bulk_wall = started.elapsed();
    let (bulk_cost, bulk_routes) = cost().await?;
    let bulk_rss = peak_rss();
    let failed = report.outcomes.iter().filter(|o| o.result.is_err()).count();
    let kind = |k: &str| report.outcomes.iter().filter(|o| o.result.as_ref().is_ok_and(|u| u.kind() == k)).count();
    if let Some(error) = &report.stopped {
        println!("bulk run stopped: {error}");
    }
    let calls = report.calls;
    let job_calls = calls.total() - calls.result_pages;
    let audit_records = store.audit().head().await?.seq;
    store.close().await;

    // Row by row, on the same seeded data (reset), same rows.
    reset().await?;
    let started = Instant::now();
    let outcomes = upsert_people(&client, inputs).await;
    let rows_wall = started.elapsed();
    let (rows_cost, _) = cost().await?;
    let rows_failed = outcomes.iter().filter(|o| o.result.is_err()).count();

    let at_budget = |cost: u64| cost as f64 / BUDGET_PER_MINUTE;
    println!("push of {total} people ({existing} existing), bulk vs row by row, against the simulator");
    println!(
        "  bulk:       cost {bulk_cost} ({} created, {} updated, {failed} failed); at 600/min: {:.2} min",
        kind("created"),
        kind("updated"),
        at_budget(bulk_cost)
    );
    println!(
        "              calls: {} uploads, {} create, {} mark-ready, {} polls, {} result pages; the job without its \
         result reads: {job_calls} (target ≤ 50: {})",
        calls.uploads,
        calls.creates,
        calls.ready,
        calls.polls,
        calls.result_pages,
        if job_calls <= 50 { "met" } else { "missed" }
    );
    if bulk_cost > 50 {
        println!(
            "              result reads are ⌈N/100⌉ = {} (per_page ≤ 100, FACTS.md §12): with every row's outcome \
             read back, {total} people cannot cost ≤ 50 in all",
            total.div_ceil(100)
        );
    }
    println!("              by route {bulk_routes}");
    println!("              ledger + audit: {audit_records} audit records; local wall {bulk_wall:.2?} (informational)");
    println!(
        "  row by row: cost {rows_cost} ({rows_failed} failed); at 600/min: {:.1} min ({:.2} h)",
        at_budget(rows_cost),
        at_budget(rows_cost) / 60.0
    );
    println!("              local wall {rows_wall:.2?} (informational)");
    println!("  bulk costs {:.1}× less", rows_cost as f64 / bulk_cost.max(1) as f64);
    println!("  peak RSS: {} after the bulk run, {} at the end", bulk_rss, peak_rss());
    sim.shutdown().await;
    Ok(())
}

/// The process's peak resident set (`VmHWM`), as Linux reports it.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l["VmHWM:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}
