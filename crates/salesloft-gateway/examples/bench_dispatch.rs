//! Webhook hand-off benchmark: N stored deliveries (one resource each, as a burst of distinct people) handed to
//! the JSONL sink by the gateway's dispatcher; prints deliveries per second, to set beside the intake figure of
//! `scripts/bench-gateway.sh` (a dispatcher slower than intake builds a backlog the lag gauge shows).
//!
//! ```text
//! cargo run --release -p salesloft-gateway --example bench_dispatch -- [--n 20000] [--batch 32] [--workers 2] [--store URL]
//! ```
//! Default store: a fresh SQLite file in a temp dir. The simulator is not involved: the proxy is never called.

use std::time::{Duration, Instant};

use salesloft_gateway::dispatch::DispatchConfig;
use salesloft_gateway::{Gateway, GatewayConfig, Secrets};
use salesloft_store::Delivery;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = arg(&args, "--n").map_or(Ok(20_000), |v| v.parse())?;
    let batch: usize = arg(&args, "--batch").map_or(Ok(DispatchConfig::default().batch), |v| v.parse())?;
    let workers: usize = arg(&args, "--workers").map_or(Ok(DispatchConfig::default().workers), |v| v.parse())?;
    let dir = tempfile::tempdir()?;
    let url =
        arg(&args, "--store").unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.sqlite").display()));
    let store = salesloft_store::open(&url).await?;
    let inbox = store.inbox();
    for chunk in (0..n).collect::<Vec<_>>().chunks(2_000) {
        let deliveries = chunk
            .iter()
            .map(|i| {
                let body = format!(r#"{{"id":{i},"updated_at":"2026-11-30T12:00:00.000000Z","first_name":"Bench"}}"#);
                Delivery::new("person_updated", body.into_bytes())
            })
            .collect();
        inbox.insert_batch(deliveries).await?;
    }
    let sink = dir.path().join("sink.jsonl");
    let pipeline = salesloft_client::transport::Pipeline::with_api_key(
        "http://127.0.0.1:9/v2",
        secrecy::SecretString::from("ak-unused".to_string()),
    )?;
    let config = GatewayConfig {
        internal_tokens: Secrets::parse_list("bench-internal"),
        webhook_secrets: Secrets::parse_list("bench-secret"),
        dispatch: DispatchConfig { sink: Some(sink.clone()), batch, workers, ..DispatchConfig::default() },
        ..GatewayConfig::default()
    };
    let gateway = Gateway::new(pipeline, store.clone(), config)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let serving = tokio::spawn(gateway.serve(listener, async move {
        let _ = stopped.await;
    }));
    loop {
        let counts = inbox.counts().await?;
        if counts.processed as usize >= n {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(format!("only {} of {n} handed on in 10 minutes", counts.processed).into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(());
    let _ = serving.await;
    let lines = std::fs::read_to_string(&sink)?.lines().count();
    println!(
        "dispatch: {n} deliveries handed to the sink in {:.2} s = {:.0}/s (workers {workers}, batch {batch}, {} sink lines, store {})",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        lines,
        if url.starts_with("sqlite") { "SQLite" } else { "PostgreSQL" }
    );
    Ok(())
}
