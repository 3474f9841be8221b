//! ERR-2..5: 429 waits at least Retry-After; 5xx is retried with growing delays, at most 3 attempts; a 422 is
//! logged with its payload and no secret; an outage opens the breaker, which fails fast and recovers.
//! Waits are recorded on a manual clock, so the drills measure them exactly without sleeping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use salesloft_client::models::PersonInput;
use salesloft_client::transport::CircuitState;
use salesloft_sim::SimConfig;
use serde_json::{Value, json};
use tracing::instrument::WithSubscriber;

use super::{n, stats};
use crate::check::model::Finding;
use crate::check::target::Env;

fn sim_config() -> SimConfig {
    SimConfig { seed_people: 3, budget_per_minute: 100_000, ..SimConfig::default() }
}

/// ERR-2: a 429 with `Retry-After: 3` is retried after at least 3 s.
pub async fn throttled(env: &mut Env) -> Result<Finding, String> {
    let honour = env.config().retry.honour_retry_after.unwrap_or(true);
    let sim = env.sim(sim_config()).await?;
    let (client, clock) = env.client_for(&sim)?;
    env.control(
        &sim,
        "faults",
        json!({"method": "GET", "path": "/v2/me", "sequence": [{"status": 429, "retry_after": "3"}]}),
    )
    .await?;
    let answer = client.me().await;
    let waits: Vec<f64> = clock.sleeps().iter().map(Duration::as_secs_f64).collect();
    let stats = stats(env, &sim).await?;
    sim.shutdown().await;
    let waited_enough = waits.iter().any(|w| *w >= 3.0);
    let evidence = json!({
        "config": {"retry.honour_retry_after": honour},
        "sent": "GET /v2/me", "answered": "429 with Retry-After: 3, then 200",
        "measured_waits_s": waits, "requests": n(&stats, "/requests"),
        "outcome": answer.as_ref().map(|_| "200").map_err(|e| e.to_string()),
    });
    Ok(Finding::verdict(
        honour && waited_enough && answer.is_ok(),
        format!("429 → waited {:.1} s (Retry-After 3 s) → 200", waits.iter().copied().fold(0.0, f64::max)),
        if honour {
            format!(
                "429 with Retry-After 3 s: waits {waits:?}, call {}",
                if answer.is_ok() { "succeeded" } else { "failed" }
            )
        } else {
            "retry.honour_retry_after = false: a server's Retry-After is ignored".to_string()
        },
        evidence,
    ))
}

/// ERR-3: a 5xx storm is retried with exponential backoff, at most 3 attempts in all.
pub async fn server_errors(env: &mut Env) -> Result<Finding, String> {
    let retry = crate::connect::retry_config(env.config()).map_err(|e| e.to_string())?;
    let sim = env.sim(sim_config()).await?;
    let (client, clock) = env.client_for(&sim)?;
    let storm: Vec<Value> = (0..6).map(|_| json!({"status": 503})).collect();
    env.control(&sim, "faults", json!({"method": "GET", "path": "/v2/me", "sequence": storm})).await?;
    let answer = client.me().await;
    let stats = stats(env, &sim).await?;
    sim.shutdown().await;
    let attempts = n(&stats, "/by_route/GET ~1v2~1me");
    let waits = clock.sleeps();
    let ceilings: Vec<f64> = (0..waits.len() as u32).map(|k| retry.backoff.ceiling(k).as_secs_f64()).collect();
    let within = waits.iter().zip(&ceilings).all(|(w, c)| w.as_secs_f64() <= *c + 1e-9);
    let growing = ceilings.windows(2).all(|w| w[1] >= w[0]) && retry.backoff.ceiling(1) > retry.backoff.ceiling(0);
    let evidence = json!({
        "config": {"retry.max_attempts": retry.max_attempts, "base_delay_ms": retry.backoff.base.as_millis() as u64,
                   "max_delay_ms": retry.backoff.cap.as_millis() as u64},
        "sent": "GET /v2/me", "answered": "503 every time",
        "attempts": attempts, "waits_s": waits.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
        "backoff_ceilings_s": ceilings, "outcome": answer.as_ref().map(|_| "200").map_err(|e| e.to_string()),
    });
    let ok = (2..=3).contains(&attempts) && answer.is_err() && within && growing && waits.len() as u64 == attempts - 1;
    Ok(Finding::verdict(
        ok,
        format!("503 storm: {attempts} attempts, waits within doubling ceilings {ceilings:?} s, then the error"),
        if attempts > 3 {
            format!(
                "503 storm: {attempts} attempts, over the checklist's 3 (retry.max_attempts = {})",
                retry.max_attempts
            )
        } else if attempts < 2 {
            "503: not retried at all (retry.max_attempts = 1)".to_string()
        } else {
            format!("503 storm: waits {waits:?} do not follow growing ceilings {ceilings:?}")
        },
        evidence,
    ))
}

/// A `MakeWriter` that appends every log line to a shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

/// Runs `future` with every log record of the client (debug and up) captured as JSON lines.
pub async fn capture_logs<T>(future: impl std::future::Future<Output = T>) -> (T, String) {
    let capture = Capture::default();
    let subscriber =
        tracing_subscriber::fmt().json().with_writer(capture.clone()).with_max_level(tracing::Level::DEBUG).finish();
    let out = future.with_subscriber(subscriber).await;
    (out, capture.text())
}

/// ERR-4: a 422 is logged with the request payload; no credential appears in the log.
pub async fn validation_logged(env: &mut Env) -> Result<Finding, String> {
    let sim = env.sim(sim_config()).await?;
    let (client, _clock) = env.client_for(&sim)?;
    let body = json!({"errors": {"email_address": ["is invalid"]}});
    env.control(
        &sim,
        "faults",
        json!({"method": "POST", "path": "/v2/people", "sequence": [{"status": 422, "body": body}]}),
    )
    .await?;
    let secret = "sk-drill-secret-value-4f1d9c";
    let mut custom = serde_json::Map::new();
    custom.insert("api_token".into(), json!(secret));
    let mut input = PersonInput::with_email("drill.person@example.com").first_name("Drillpayload");
    input.custom_fields = Some(custom);
    let (answer, logs) = capture_logs(client.people().create(&input)).await;
    let api_key = sim.api_key().to_string();
    sim.shutdown().await;
    let record = logs.lines().find(|l| l.contains("rejected the request")).map(str::to_string);
    // The payload's fields are logged (values of personal fields masked, secrets redacted: FACTS.md §3 wants
    // the payload, the checklist no PII or secret in logs).
    let payload: Option<Value> = record
        .as_deref()
        .and_then(|r| serde_json::from_str::<Value>(r).ok())
        .and_then(|r| r.pointer("/fields/payload").and_then(Value::as_str).and_then(|p| serde_json::from_str(p).ok()));
    let has_payload = payload
        .as_ref()
        .is_some_and(|p| ["first_name", "email_address", "custom_fields"].iter().all(|k| p.get(k).is_some()));
    let leaks: Vec<&str> = [("the API key", api_key.as_str()), ("a secret field", secret)]
        .iter()
        .filter(|(_, v)| logs.contains(v))
        .map(|(n, _)| *n)
        .collect();
    let evidence = json!({
        "sent": "POST /v2/people with first_name, email_address and custom_fields.api_token",
        "answered": "422 {\"errors\":{\"email_address\":[\"is invalid\"]}}",
        "outcome": answer.err().map(|e| e.to_string()),
        "log_record": record.as_deref().and_then(|r| serde_json::from_str::<Value>(r).ok()),
        "secrets_in_log": leaks,
    });
    Ok(Finding::verdict(
        has_payload && leaks.is_empty(),
        "422 logged with its payload's fields and SalesLoft's field errors; personal values masked, no key or secret",
        if leaks.is_empty() {
            "the 422 log record lacks the request payload".to_string()
        } else {
            format!("the log leaks {}", leaks.join(" and "))
        },
        evidence,
    ))
}

/// ERR-5: during an outage the breaker opens, calls fail fast without reaching SalesLoft, and after the
/// outage a half-open probe closes it again.
pub async fn breaker(env: &mut Env) -> Result<Finding, String> {
    let config = crate::connect::breaker_config(env.config()).map_err(|e| e.to_string())?;
    let sim = env.sim(sim_config()).await?;
    let (client, clock) = env.client_for(&sim)?;
    env.control(&sim, "outage", json!({"seconds": 86_400})).await?;
    let mut opened_after = None;
    for call in 1..=12 {
        let _ = client.me().await;
        if client.pipeline().state().circuit == CircuitState::Open {
            opened_after = Some(call);
            break;
        }
    }
    let sent_when_open = n(&stats(env, &sim).await?, "/requests");
    let fast = client.me().await;
    let sent_after_fast = n(&stats(env, &sim).await?, "/requests");
    let failed_fast =
        matches!(fast, Err(salesloft_client::Error::CircuitOpen { .. })) && sent_after_fast == sent_when_open;
    let url = format!("{}/__sim/outage", sim.root_url());
    env.http.delete(&url).send().await.map_err(|e| format!("{url}: {e}"))?;
    clock.advance(config.open_for + Duration::from_secs(1));
    let mut recovered = false;
    for _ in 0..config.half_open_probes.max(1) + 2 {
        if client.me().await.is_ok() && client.pipeline().state().circuit == CircuitState::Closed {
            recovered = true;
            break;
        }
    }
    sim.shutdown().await;
    let evidence = json!({
        "config": {"breaker.enabled": config.enabled, "failure_threshold": config.consecutive_failures,
                   "open_secs": config.open_for.as_secs(), "half_open_probes": config.half_open_probes},
        "outage": "every /v2 request answers 503",
        "opened_after_calls": opened_after, "requests_sent_until_open": sent_when_open,
        "failed_fast_without_sending": failed_fast, "recovered_through_half_open": recovered,
    });
    Ok(Finding::verdict(
        opened_after.is_some() && failed_fast && recovered,
        format!(
            "outage: breaker opened after {} call(s) ({sent_when_open} requests), failed fast, closed again after the outage",
            opened_after.unwrap_or_default()
        ),
        if !config.enabled {
            "breaker.enabled = false: nothing stops a cascade during an outage".to_string()
        } else if opened_after.is_none() {
            "the breaker never opened during a 12-call outage".to_string()
        } else if !failed_fast {
            "the open breaker still sent requests".to_string()
        } else {
            "the breaker did not close after the outage ended".to_string()
        },
        evidence,
    ))
}
