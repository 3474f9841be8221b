//! Benchmark: the pipeline's per-call overhead against a bare reqwest call, both to the simulator on
//! loopback, in the same run.
//!
//! The simulator gets an effectively unlimited budget so no call waits; the pipeline runs every layer
//! (span, breaker, retry bookkeeping, budget reservation and correction, auth, metrics facade with no
//! recorder, error mapping). The two clients alternate in blocks so drift affects both equally. Figures are
//! per call: p50, p99 and mean, and the difference of the means.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/main/target-transport cargo run --release -p salesloft-client --example bench_overhead -- [calls]
//! ```

use std::time::{Duration, Instant};

use http::Method;
use salesloft_client::transport::{ApiRequest, Pipeline, RateBudgetConfig};
use salesloft_sim::{SimConfig, Simulator};
use secrecy::SecretString;

const BLOCK: usize = 100;

fn summary(name: &str, samples: &mut [Duration]) -> f64 {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    let mean = samples.iter().sum::<Duration>().as_secs_f64() / samples.len() as f64;
    println!(
        "  {name:<16} p50 {:>8.1} µs   p99 {:>8.1} µs   mean {:>8.1} µs   (n = {})",
        pick(0.50).as_secs_f64() * 1e6,
        pick(0.99).as_secs_f64() * 1e6,
        mean * 1e6,
        samples.len()
    );
    mean
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let sim = Simulator::start(SimConfig { seed_people: 100, budget_per_minute: u32::MAX / 2, ..SimConfig::default() })
        .await?;
    let key = sim.api_key().to_string();
    let pipeline = Pipeline::builder(sim.base_url())
        .api_key(SecretString::from(key.clone()))
        .rate_budget(RateBudgetConfig { limit: u32::MAX / 2, ..RateBudgetConfig::default() })
        .build()?;
    let bare = reqwest::Client::builder().build()?;
    let url = format!("{}/me", sim.base_url());

    let bare_call = || async {
        let response = bare.get(&url).bearer_auth(&key).header("accept", "application/json").send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        assert!(status.is_success() && !body.is_empty(), "bare call failed: {status}");
        Ok::<_, reqwest::Error>(())
    };
    let pipeline_call = || async { pipeline.execute(ApiRequest::new("me.get", Method::GET, "me")).await.map(|_| ()) };

    // Warm-up: connections, allocator, the simulator's caches.
    for _ in 0..200 {
        bare_call().await?;
        pipeline_call().await?;
    }
    let (mut bare_samples, mut pipeline_samples) = (Vec::with_capacity(calls), Vec::with_capacity(calls));
    while bare_samples.len() < calls {
        for _ in 0..BLOCK {
            let start = Instant::now();
            bare_call().await?;
            bare_samples.push(start.elapsed());
        }
        for _ in 0..BLOCK {
            let start = Instant::now();
            pipeline_call().await?;
            pipeline_samples.push(start.elapsed());
        }
    }
    println!("bench_overhead: GET /v2/me against the simulator on loopback, {calls} calls each, blocks of {BLOCK}");
    let bare_mean = summary("bare reqwest", &mut bare_samples);
    let pipeline_mean = summary("pipeline", &mut pipeline_samples);
    println!("  pipeline overhead per call (mean difference): {:.1} µs", (pipeline_mean - bare_mean) * 1e6);
    sim.shutdown().await;
    Ok(())
}
