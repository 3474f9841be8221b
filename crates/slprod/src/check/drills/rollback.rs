//! ROLL-1..3: `slprod rollback` against the embedded gateway: it pauses every mutation (and a mutation sent
//! afterwards is refused before it reaches SalesLoft), verifies `/health`, and notifies a Slack-compatible
//! webhook with the reason. The rollback runs once; the three checks read its report.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};

use crate::check::model::Finding;
use crate::check::target::Env;
use crate::commands::rollback::{PauseTarget, Rollback};

/// What the rollback drill saw, shared by ROLL-1..3.
#[derive(Debug, Clone)]
pub struct RollbackDrill {
    paused: Result<String, String>,
    mutation_while_paused: (u16, Value),
    mutations_reaching_salesloft: u64,
    polls: Vec<Value>,
    healthy: Option<bool>,
    notified: Option<Result<u32, String>>,
    notification: Option<Value>,
}

async fn run_drill(env: &mut Env) -> Result<RollbackDrill, String> {
    if let Some(drill) = &env.rollback {
        return Ok(drill.clone());
    }
    let http = env.http.clone();
    let embedded = env.embedded().await?;
    let (notify_url, bodies) = super::catcher().await?;
    let rollback = Rollback {
        target: PauseTarget::Gateway {
            url: embedded.gateway_url.clone(),
            token: SecretString::from(embedded.tokens.admin.clone()),
        },
        health_url: Some(format!("{}/health", embedded.gateway_url)),
        notify: Some(SecretString::from(notify_url)),
        reason: "slprod check rollback drill".into(),
        by: "slprod check".into(),
        health_timeout: Duration::from_secs(10),
        poll_interval: Duration::from_millis(200),
        clock: salesloft_client::clock::SystemClock::shared(),
        http: http.clone(),
    };
    let report = rollback.run().await;
    // A mutation after the pause: refused by the gateway, never sent to SalesLoft.
    let posts_before = super::n(&env.embedded_stats().await?, "/by_route/POST ~1v2~1people");
    let embedded = env.embedded().await?;
    let answer = http
        .post(format!("{}/v2/people", embedded.gateway_url))
        .bearer_auth(&embedded.tokens.internal)
        .json(&json!({"email_address": "while.paused@drill.example"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let mutation = (answer.status().as_u16(), answer.json::<Value>().await.unwrap_or_default());
    let admin = embedded.tokens.admin.clone();
    let gateway = embedded.gateway_url.clone();
    let posts_after = super::n(&env.embedded_stats().await?, "/by_route/POST ~1v2~1people");
    // Lift the switch again so the checks after this one run on a live gateway.
    let _ = http.post(format!("{gateway}/admin/resume")).bearer_auth(&admin).send().await;
    let drill = RollbackDrill {
        paused: report.pause.clone(),
        mutation_while_paused: mutation,
        mutations_reaching_salesloft: posts_after - posts_before,
        polls: report
            .polls
            .iter()
            .map(|p| json!({"status": p.status, "latency_ms": p.latency.as_secs_f64() * 1000.0, "detail": p.detail}))
            .collect(),
        healthy: report.healthy,
        notified: report.notified.clone(),
        notification: bodies.lock().unwrap_or_else(|e| e.into_inner()).first().cloned(),
    };
    env.rollback = Some(drill.clone());
    Ok(drill)
}

/// ROLL-1: the pause holds: the switch is on, and a mutation sent afterwards is refused before SalesLoft.
pub async fn pause(env: &mut Env) -> Result<Finding, String> {
    let drill = run_drill(env).await?;
    let (status, body) = &drill.mutation_while_paused;
    let evidence = json!({
        "pause": drill.paused, "mutation_after_pause": {"status": status, "body": body},
        "mutations_reaching_salesloft": drill.mutations_reaching_salesloft,
    });
    Ok(Finding::verdict(
        drill.paused.is_ok() && *status == 503 && drill.mutations_reaching_salesloft == 0,
        "rollback paused every mutation: the next one got 503 and never reached SalesLoft",
        format!(
            "pause {:?}; a mutation afterwards got {status}, {} reached SalesLoft",
            drill.paused, drill.mutations_reaching_salesloft
        ),
        evidence,
    ))
}

/// ROLL-2: the rollback polled `/health` until it answered 200.
pub async fn health(env: &mut Env) -> Result<Finding, String> {
    let drill = run_drill(env).await?;
    let evidence = json!({"polls": drill.polls, "healthy": drill.healthy});
    Ok(Finding::verdict(
        drill.healthy == Some(true),
        format!("/health answered 200 after {} poll(s)", drill.polls.len()),
        format!("/health did not answer 200 ({} polls)", drill.polls.len()),
        evidence,
    ))
}

/// ROLL-3: the rollback posted a notification with the reason and the health result.
pub async fn notify(env: &mut Env) -> Result<Finding, String> {
    let drill = run_drill(env).await?;
    let text = drill.notification.as_ref().and_then(|n| n.get("text")).and_then(Value::as_str).unwrap_or_default();
    let evidence = json!({"delivered": drill.notified.as_ref().map(|r| r.clone().map(|a| json!({"attempts": a}))), "message": drill.notification});
    Ok(Finding::verdict(
        matches!(drill.notified, Some(Ok(_))) && text.contains("slprod check rollback drill"),
        format!("notified: {text:?}"),
        format!("notification: {:?}, message {:?}", drill.notified, drill.notification),
        evidence,
    ))
}
