//! Benchmark: pushing N people (default 100 000, a tenth of them existing) through one bulk job with the
//! store's ledger and audit log (what `slprod push --bulk` does), then the same rows row by row on the same
//! seeded data, against the simulator. Prints each path's SalesLoft cost, the wall time that cost takes at
//! the real budget of 600 per minute (FACTS.md §2.1; computed from the cost, not measured), and the peak RSS
//! of the pushing process (client, ledger, audit) and of the simulator, which runs in a child process.
//!
//! Everything runs on real time: the simulator processes the job at its default 1 000 records/s and the
//! client polls with its real backoff (so 100 000 people take about two minutes of waiting). The bulk
//! routes' costs are unconfirmed (FACTS.md §12): the simulator charges 1 per request.
//!
//! Run: `cargo run --release -p salesloft-sync --example bench_bulk_push [-- N [every|failures]]` (`failures`: read
//! only the failed rows' results, as `slprod push --bulk-results failures`).

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use futures::TryStreamExt;
use salesloft_client::bulk_upsert::{BulkResults, BulkRow, BulkUpsertConfig, bulk_upsert_people_streamed};
use salesloft_client::models::{Person, PersonInput};
use salesloft_client::{Client, upsert_people};
use salesloft_sim::{SimConfig, Simulator};
use salesloft_sync::{BulkLedger, RunId};
use serde_json::Value;

/// The team's budget per minute (FACTS.md §2.1).
const BUDGET_PER_MINUTE: f64 = 600.0;
/// Set in the child process that runs the simulator: the number of people to seed.
const CHILD_ENV: &str = "BENCH_BULK_PUSH_SIM_SEED";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Ok(seed) = std::env::var(CHILD_ENV) {
        return run_simulator(seed.parse()?).await;
    }
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    // `failures`: read only the failed rows' results (BulkResults::FailuresOnly), as `push --bulk-results failures`.
    let results = match std::env::args().nth(2).as_deref() {
        Some("failures") => BulkResults::FailuresOnly,
        _ => BulkResults::Every,
    };
    let existing = n / 10;
    let (mut child, base_url, root_url, api_key) = spawn_simulator(existing)?;
    let result = bench(n, existing, results, &base_url, &root_url, &api_key, child.id()).await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

async fn bench(
    n: u64,
    existing: u64,
    results: BulkResults,
    base_url: &str,
    root_url: &str,
    api_key: &str,
    sim_pid: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::with_api_key(base_url, api_key.to_string().into())?;
    let http = reqwest::Client::new();
    let reset = || http.post(format!("{root_url}/__sim/reset")).send();
    let cost = || async {
        let stats: Value = http.get(format!("{root_url}/__sim/stats")).send().await?.json().await?;
        Ok::<_, reqwest::Error>((stats["cost_used"].as_u64().unwrap_or(0), stats["by_route"].clone()))
    };

    let people: Vec<Person> = client.people().keyset().items().try_collect().await?;
    let mut inputs: Vec<PersonInput> = people
        .iter()
        .filter_map(|p| p.email_address.clone())
        .map(|email| PersonInput::with_email(email).title("Benchmarked"))
        .collect();
    drop(people);
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
    let before_bulk = rss("self", "VmRSS:");
    reset_peak_rss();
    let config =
        BulkUpsertConfig { job_name: journal.job_name(), keep_people: false, results, ..BulkUpsertConfig::default() };
    let started = Instant::now();
    // Counted as they come, as `slprod push` does.
    let (mut created, mut updated, mut applied, mut failed) = (0u64, 0u64, 0u64, 0u64);
    let mut count = |outcome: salesloft_client::UpsertOutcome| match outcome.result {
        Ok(done) if done.kind() == "created" => created += 1,
        Ok(done) if done.kind() == "applied" => applied += 1,
        Ok(_) => updated += 1,
        Err(_) => failed += 1,
    };
    let report = bulk_upsert_people_streamed(&client, rows, &config, &journal, &mut count).await?;
    let bulk_wall = started.elapsed();
    let (bulk_cost, bulk_routes) = cost().await?;
    let bulk_rss = rss("self", "VmHWM:");
    if let Some(error) = &report.stopped {
        println!("bulk run stopped: {error}");
    }
    let calls = report.calls;
    let job_calls = calls.total() - calls.result_pages;
    let audit_records = store.audit().head().await?.seq;
    store.close().await;
    let sim_rss = rss(&sim_pid.to_string(), "VmHWM:");

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
        "  bulk ({results:?} results): cost {bulk_cost} ({created} created, {updated} updated, {applied} applied, \
         {failed} failed); at 600/min: {:.2} min (target ≤ 50 in all: {})",
        at_budget(bulk_cost),
        if bulk_cost <= 50 { "met" } else { "missed" }
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
             read back, {total} people cannot cost ≤ 50 in all (run with `failures` to read only the failed rows)",
            total.div_ceil(100)
        );
    }
    println!("              by route {bulk_routes}");
    println!(
        "              {audit_records} audit records; local wall {bulk_wall:.2?} (informational: mostly the job's \
         processing at 1 000 records/s and the polls' backoff)"
    );
    println!(
        "  row by row: cost {rows_cost} ({rows_failed} failed); at 600/min: {:.1} min ({:.2} h)",
        at_budget(rows_cost),
        at_budget(rows_cost) / 60.0
    );
    println!("              local wall {rows_wall:.2?} (informational: the simulator's budget is unlimited here)");
    println!("  bulk costs {:.1}× less", rows_cost as f64 / bulk_cost.max(1) as f64);
    println!(
        "  peak RSS of the pushing process (client, ledger, audit): {before_bulk} before the bulk run (rows built), \
         peak {bulk_rss} during it, peak {} over the whole run; the simulator's: {sim_rss}",
        rss("self", "VmHWM:")
    );
    Ok(())
}

/// Starts this example again as the simulator's process; returns it with its base URL, root URL and key.
fn spawn_simulator(seed: u64) -> Result<(Child, String, String, String), Box<dyn std::error::Error>> {
    let mut child = Command::new(std::env::current_exe()?)
        .env(CHILD_ENV, seed.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout from the simulator process")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let parts: Vec<&str> = line.split_whitespace().collect();
    let [base, root, key] = parts[..] else {
        let _ = child.kill();
        return Err(format!("unexpected first line from the simulator process: {line:?}").into());
    };
    Ok((child, base.to_string(), root.to_string(), key.to_string()))
}

/// The child: a simulator with `seed` people and an unlimited budget; prints `BASE ROOT KEY` and serves
/// until its standard input closes (the parent exits or kills it).
async fn run_simulator(seed: u64) -> Result<(), Box<dyn std::error::Error>> {
    let config = SimConfig { seed_people: seed, budget_per_minute: 100_000_000, ..SimConfig::default() };
    let sim = Simulator::start(config).await?;
    println!("{} {} {}", sim.base_url(), sim.root_url(), sim.api_key());
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
    })
    .await?;
    sim.shutdown().await;
    Ok(())
}

/// A line of `/proc/<pid>/status` (`VmRSS:` now, `VmHWM:` the peak since start or the last reset).
fn rss(pid: &str, field: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| status.lines().find(|l| l.starts_with(field)).map(|l| l[field.len()..].trim().to_string()))
        .unwrap_or_else(|| "unknown".to_string())
}

/// Resets this process's peak resident set (`VmHWM`) to the current one (Linux: `5` into
/// `/proc/self/clear_refs`), so the next reading is the peak of what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
