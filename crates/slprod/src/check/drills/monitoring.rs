//! MON-2..5: each checklist alert fires in the built-in evaluator and in `promtool test rules`; p99 latency is
//! tracked per read/write class with histogram buckets at the 300/500 ms baselines (DESIGN.md MON-5).

use std::time::Instant;

use salesloft_client::models::PersonInput;
use salesloft_client::transport::telemetry;
use salesloft_sim::SimConfig;
use serde_json::json;

use crate::check::model::Finding;
use crate::check::target::Env;

/// MON-2..4: the alert `name` fires on its fault and stays silent without it.
pub async fn alert(_env: &mut Env, name: &str) -> Result<Finding, String> {
    Err(format!("the {name} drill needs the alert definitions (salesloft-gateway alerts), not built yet"))
}

/// The `q`-quantile of `samples` (nearest rank), in the samples' unit.
pub fn quantile(samples: &[f64], q: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// MON-5: 200 reads and 50 writes; the client's latency histogram carries a read/write class and buckets at
/// 0.3 s and 0.5 s, and the p99 of each class is reported against its baseline.
pub async fn latency(env: &mut Env) -> Result<Finding, String> {
    let handle = salesloft_gateway::metrics::install();
    let sim = env.sim(SimConfig { seed_people: 20, budget_per_minute: 1_000_000, ..SimConfig::default() }).await?;
    let (client, _clock) = env.client_for(&sim)?;
    let (mut reads, mut writes) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        let started = Instant::now();
        client.me().await.map_err(|e| format!("read failed: {e}"))?;
        reads.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    for i in 0..50 {
        let started = Instant::now();
        let input = PersonInput::with_email(format!("latency{i}.{}@drill.example", uuid::Uuid::new_v4().simple()));
        client.people().create(&input).await.map_err(|e| format!("write failed: {e}"))?;
        writes.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // The report's latency plot shows these samples (a measurement of the client on loopback).
    env.plots.latency_ms.insert("read".into(), reads.clone());
    env.plots.latency_ms.insert("write".into(), writes.clone());
    sim.shutdown().await;
    let metrics = handle.render();
    let bucket = |class: &str, le: &str| {
        metrics.lines().any(|l| {
            l.starts_with(&format!("{}_bucket", telemetry::REQUEST_DURATION_SECONDS))
                && l.contains(&format!("class=\"{class}\""))
                && l.contains(&format!("le=\"{le}\""))
        })
    };
    let histograms = ["read", "write"].iter().all(|c| bucket(c, "0.3") && bucket(c, "0.5"));
    let read_baseline = env.config().alerts.read_baseline_ms.unwrap_or(300) as f64;
    let write_baseline = env.config().alerts.write_baseline_ms.unwrap_or(500) as f64;
    let p99_read = quantile(&reads, 0.99);
    let p99_write = quantile(&writes, 0.99);
    let evidence = json!({
        "histogram": telemetry::REQUEST_DURATION_SECONDS, "buckets_at_0.3_and_0.5_per_class": histograms,
        "p99_ms": {"read": p99_read, "write": p99_write},
        "baselines_ms": {"read": read_baseline, "write": write_baseline},
        "within_baseline": {"read": p99_read.map(|p| p <= read_baseline), "write": p99_write.map(|p| p <= write_baseline)},
    });
    Ok(Finding::verdict(
        histograms && p99_read.is_some() && p99_write.is_some(),
        format!(
            "p99 read {:.1} ms (baseline {read_baseline:.0}), write {:.1} ms (baseline {write_baseline:.0}); histograms per class",
            p99_read.unwrap_or_default(),
            p99_write.unwrap_or_default()
        ),
        "the latency histogram lacks a read/write class or the 0.3 s / 0.5 s buckets".to_string(),
        evidence,
    ))
}
