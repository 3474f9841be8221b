//! Live checks: SMOKE-1, SMOKE-2 (as `slprod smoke` runs them) and MON-1 (the gateway's `/health` and
//! `/metrics`), against the configured SalesLoft and gateway with reads only, or the embedded ones.

use std::time::{Duration, Instant};

use salesloft_client::Client;
use salesloft_client::transport::RetryConfig;
use serde_json::json;

use super::model::Finding;
use super::target::{Env, Target};

/// The read baseline (`alerts.read_baseline_ms`, default 300 ms; DESIGN.md MON-5).
fn read_baseline(env: &Env) -> Duration {
    Duration::from_millis(env.config().alerts.read_baseline_ms.unwrap_or(300))
}

/// A client for the live SalesLoft: the configured one, or the embedded simulator. One attempt per call: a
/// live check reports SalesLoft's first answer.
async fn live_client(env: &mut Env) -> Result<(Client, String), String> {
    let config = env.config().clone();
    match env.target().clone() {
        Target::Configured { connect, .. } => {
            let source = connect.credential_source(&config);
            let pipeline = connect
                .pipeline_builder(&config)
                .map_err(|e| e.to_string())?
                .retry(RetryConfig { max_attempts: 1, ..RetryConfig::default() })
                .build()
                .map_err(|e| e.to_string())?;
            Ok((Client::new(pipeline), source))
        }
        Target::Embedded => {
            let sim = &env.embedded().await?.sim;
            let pipeline = salesloft_client::transport::Pipeline::builder(sim.base_url())
                .api_key(secrecy::SecretString::from(sim.api_key().to_string()))
                .retry(RetryConfig { max_attempts: 1, ..RetryConfig::default() })
                .build()
                .map_err(|e| e.to_string())?;
            Ok((Client::new(pipeline), "the embedded simulator's API key".to_string()))
        }
    }
}

/// SMOKE-1: `GET /me` answers 200 with the user's email.
pub async fn me(env: &mut Env) -> Result<Finding, String> {
    let (client, source) = live_client(env).await?;
    let baseline = read_baseline(env);
    let started = Instant::now();
    let answer = client.me().await;
    let latency = started.elapsed();
    let base = client.pipeline().base_url().to_string();
    // The credential's expiry and refresh path, as the pipeline holds it after the call (none for an API key).
    let token = match client.pipeline().state().token_expiry {
        Some((at, in_secs)) => json!({"kind": "oauth", "expires_at_unix": at, "expires_in_s": in_secs,
                                      "refresh": "before expiry, under the connection's lock, written back"}),
        None => json!({"kind": "api_key", "expires": "never (revoked by an admin only)"}),
    };
    Ok(match answer {
        Ok(user) => {
            let evidence = json!({
                "request": format!("GET {base}/me"), "status": 200, "email": user.email, "credential": token,
                "latency_ms": latency.as_secs_f64() * 1000.0, "read_baseline_ms": baseline.as_millis() as u64,
            });
            match user.email {
                Some(email) => Finding::pass(
                    format!(
                        "GET /me: 200 as {email} in {:.0} ms (baseline {} ms)",
                        latency.as_secs_f64() * 1000.0,
                        baseline.as_millis()
                    ),
                    evidence,
                ),
                None => Finding::fail("GET /me answered 200 without the user's email", evidence),
            }
        }
        // Nothing answered: the check could not run (exit 2), which is not the same as SalesLoft saying no.
        Err(error @ (salesloft_client::Error::Dispatch { .. } | salesloft_client::Error::Timeout { .. })) => {
            return Err(format!("SalesLoft at {base} could not be reached: {error}"));
        }
        Err(error) => {
            let cause = match &error {
                salesloft_client::Error::Unauthorized { .. } | salesloft_client::Error::Auth { .. } => {
                    format!("authentication failed with {source}")
                }
                _ => "GET /me failed".to_string(),
            };
            Finding::fail(
                format!("{cause}: {error}"),
                json!({"request": format!("GET {base}/me"), "error": error.to_string()}),
            )
        }
    })
}

/// SMOKE-2: `GET /people?per_page=1` answers data with a total count (`include_paging_counts`, FACTS.md §4.2).
pub async fn people_count(env: &mut Env) -> Result<Finding, String> {
    let (client, _) = live_client(env).await?;
    let started = Instant::now();
    let answer = client.people().list().per_page(1).include_paging_counts(true).send().await;
    let latency = started.elapsed();
    let request = format!("GET {}/people?per_page=1&include_paging_counts=true", client.pipeline().base_url());
    Ok(match answer {
        Ok(page) => {
            let total = page.metadata.paging.as_ref().and_then(|p| p.total_count);
            let evidence = json!({
                "request": request, "status": 200, "records": page.data.len(), "total_count": total,
                "latency_ms": latency.as_secs_f64() * 1000.0,
            });
            match total {
                Some(total) if page.data.len() <= 1 => {
                    Finding::pass(format!("{total} people in total; 1 per page as asked"), evidence)
                }
                Some(_) => Finding::fail(format!("asked for 1 per page, got {}", page.data.len()), evidence),
                None => Finding::fail("no metadata.paging.total_count although include_paging_counts=true", evidence),
            }
        }
        Err(error @ (salesloft_client::Error::Dispatch { .. } | salesloft_client::Error::Timeout { .. })) => {
            return Err(format!("SalesLoft could not be reached: {error}"));
        }
        Err(error) => Finding::fail(
            format!("GET /people failed: {error}"),
            json!({"request": request, "error": error.to_string()}),
        ),
    })
}

/// MON-1: the gateway's `/health` reports SalesLoft's connectivity and latency, and `/metrics` serves the
/// client's and the gateway's series.
pub async fn health(env: &mut Env) -> Result<Finding, String> {
    let gateway = match env.target().clone() {
        Target::Configured { gateway: Some(url), .. } => url,
        Target::Configured { gateway: None, .. } => {
            return Ok(Finding::skip("no gateway to check: pass --gateway or set rollback.health_url"));
        }
        Target::Embedded => env.embedded().await?.gateway_url.clone(),
    };
    let health_url = format!("{}/health", gateway.trim_end_matches('/'));
    let started = Instant::now();
    let answer = env.http.get(&health_url).send().await.map_err(|e| format!("{health_url}: {e}"))?;
    let status = answer.status().as_u16();
    let body: serde_json::Value = answer.json().await.unwrap_or_default();
    let latency = started.elapsed();
    let metrics_url = format!("{}/metrics", gateway.trim_end_matches('/'));
    let metrics = match env.http.get(&metrics_url).send().await {
        Ok(answer) if answer.status().is_success() => answer.text().await.unwrap_or_default(),
        Ok(answer) => format!("(answered {})", answer.status()),
        Err(error) => format!("(unreachable: {error})"),
    };
    let connected = body.pointer("/salesloft/connected").and_then(serde_json::Value::as_bool);
    let salesloft_latency = body.pointer("/salesloft/latency_ms").cloned();
    let series: Vec<&str> =
        ["gateway_requests_total", "salesloft_"].into_iter().filter(|s| metrics.contains(s)).collect();
    let evidence = json!({
        "request": format!("GET {health_url}"), "status": status, "body": body,
        "latency_ms": latency.as_secs_f64() * 1000.0, "metrics": metrics_url, "metric_families_seen": series,
    });
    let ok = status == 200 && connected == Some(true) && salesloft_latency.is_some() && series.len() == 2;
    Ok(Finding::verdict(
        ok,
        format!(
            "/health 200, SalesLoft connected ({} ms); /metrics serves gateway and client series",
            salesloft_latency.clone().unwrap_or_default()
        ),
        format!(
            "/health answered {status} (connected {connected:?}, latency {salesloft_latency:?}); /metrics families seen: {series:?}"
        ),
        evidence,
    ))
}

/// With `--allow-writes` on a configured SalesLoft: the marker person upserted by email twice (the second a
/// repeat of the first), then looked up: one person must have the email. `None` when live writes are off or
/// the target is the embedded simulator (whose drills already wrote).
pub async fn write_round_trip(env: &mut Env) -> Option<serde_json::Value> {
    let email = env.live_writes.clone()?;
    if matches!(env.target(), Target::Embedded) {
        return None;
    }
    let (client, _) = match live_client(env).await {
        Ok(client) => client,
        Err(error) => return Some(json!({"email": email, "error": error})),
    };
    let input = || salesloft_client::models::PersonInput::with_email(email.clone()).first_name("slprod check");
    let first = client.people().upsert_by_email(input()).send().await;
    let second = client.people().upsert_by_email(input()).send().await;
    let found = client.people().find_by_emails([email.as_str()]).await;
    Some(json!({
        "email": email,
        "first": first.as_ref().map(|u| u.kind()).map_err(|e| e.to_string()),
        "repeat": second.as_ref().map(|u| u.kind()).map_err(|e| e.to_string()),
        "people_with_the_email": found.as_ref().map(Vec::len).map_err(|e| e.to_string()),
    }))
}
