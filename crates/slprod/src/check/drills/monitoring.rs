//! MON-2..5: each checklist alert fires in the built-in evaluator and in `promtool test rules`; p99 latency is
//! tracked per read/write class with histogram buckets at the 300/500 ms baselines (DESIGN.md MON-5).

use std::time::Instant;

use salesloft_client::models::PersonInput;
use salesloft_client::transport::telemetry;
use salesloft_sim::SimConfig;
use serde_json::{Value, json};

use crate::check::model::Finding;
use crate::check::target::Env;

/// The checklist's thresholds (CONFIG.md `[alerts]`): a configured one may be stricter, never looser.
fn checklist_threshold(name: &str) -> (&'static str, u32) {
    match name {
        salesloft_alerts::definition::SERVER_ERRORS => ("alerts.server_errors_per_minute", 5),
        salesloft_alerts::definition::RATE_LIMITED => ("alerts.rate_limited_per_minute", 10),
        _ => ("alerts.auth_failures", 1),
    }
}

/// The fault that should fire `name`, as a fault-script step of the simulator, and how many per 15 s tick.
fn fault(name: &str) -> (Value, usize) {
    match name {
        salesloft_alerts::definition::SERVER_ERRORS => (json!({"status": 503}), 3),
        salesloft_alerts::definition::RATE_LIMITED => (json!({"status": 429, "retry_after": "1"}), 5),
        _ => (json!({"status": 401}), 1),
    }
}

/// `promtool test rules` on the exported rules, once per run: `Some(Ok(output))` passed, `Some(Err)` failed,
/// `None` when promtool is not installed.
async fn promtool(env: &mut Env) -> Option<Result<String, String>> {
    if let Some(cached) = &env.promtool {
        return cached.clone();
    }
    let tool = std::env::var("SLPROD_PROMTOOL")
        .ok()
        .or_else(|| std::env::var("SLPROD_TEST_PROMTOOL").ok())
        .unwrap_or_else(|| "promtool".to_string());
    let dir = env.scratch.path().join("alerts");
    let thresholds = crate::alerting::thresholds(&env.config().alerts);
    let budget = env.config().budget.cost_per_minute.unwrap_or(600);
    let outcome = match salesloft_alerts::export::export(&dir, &thresholds, budget, &Default::default()) {
        Err(error) => Some(Err(format!("the export failed: {error}"))),
        Ok(files) => {
            let tests = files.get(1).cloned().unwrap_or_default();
            let mut command = std::process::Command::new(&tool);
            command.arg("test").arg("rules").arg(&tests);
            let ran = tokio::task::spawn_blocking(move || command.output()).await.map_err(std::io::Error::other);
            match ran.and_then(|output| output) {
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
                Err(error) => Some(Err(format!("{tool} did not run: {error}"))),
                Ok(out) => {
                    let text =
                        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
                    Some(if out.status.success() { Ok(text) } else { Err(text) })
                }
            }
        }
    };
    env.promtool = Some(outcome.clone());
    outcome
}

/// MON-2..4: the alert `name`, with the thresholds of `[alerts]` (the checklist's or stricter), fires in the
/// built-in evaluator while the simulator answers its fault, notifies Slack (and PagerDuty for P1, resolved
/// with the same `dedup_key` when the fault stops), stays silent without the fault, and fires in
/// `promtool test rules` on the exported rules.
pub async fn alert(env: &mut Env, name: &str) -> Result<Finding, String> {
    use salesloft_alerts::evaluator::notify::{Notifier, PagerDuty, RetryPolicy};
    use salesloft_alerts::evaluator::{Evaluator, EvaluatorConfig, MetricsSource, State};
    let thresholds = crate::alerting::thresholds(&env.config().alerts);
    let (key, checklist) = checklist_threshold(name);
    let configured = match name {
        salesloft_alerts::definition::SERVER_ERRORS => thresholds.server_errors_per_minute,
        salesloft_alerts::definition::RATE_LIMITED => thresholds.rate_limited_per_minute,
        _ => thresholds.auth_failures,
    };
    let handle = salesloft_gateway::metrics::install();
    let source: std::sync::Arc<dyn MetricsSource> = std::sync::Arc::new(move || handle.render());
    let (slack_url, slack) = super::catcher().await?;
    let (pd_url, pagerduty) = super::catcher().await?;
    let clock = salesloft_client::clock::ManualClock::new();
    let notifier = Notifier::new(
        Some(secrecy::SecretString::from(slack_url)),
        Some(PagerDuty { url: pd_url, routing_key: secrecy::SecretString::from("drill-routing-key".to_string()) }),
        RetryPolicy::default(),
        clock.shared(),
        salesloft_alerts::definition::DEFAULT_RUNBOOK_BASE.to_string(),
    );
    let config = EvaluatorConfig { thresholds, ..EvaluatorConfig::default() };
    let interval = config.interval;

    // Silent first: an evaluator over the same counters, ticking through six minutes of calls that succeed.
    let sim = env.sim(SimConfig { seed_people: 3, budget_per_minute: 1_000_000, ..SimConfig::default() }).await?;
    let pipeline = env
        .pipeline_for(&sim, clock.shared())?
        // One attempt each and no breaker: the drill counts what SalesLoft answers, and an open breaker would
        // (rightly) stop the very storm the alert is meant to see.
        .retry(salesloft_client::transport::RetryConfig { max_attempts: 1, ..Default::default() })
        .breaker(salesloft_client::transport::BreakerConfig { enabled: false, ..Default::default() })
        .build()
        .map_err(|e| e.to_string())?;
    let client = salesloft_client::Client::new(pipeline);
    let quiet_notifier = Notifier::new(None, None, RetryPolicy::default(), clock.shared(), String::new());
    let mut quiet =
        Evaluator::new(config.clone(), source.clone(), quiet_notifier, clock.shared()).map_err(|e| e.to_string())?;
    let mut silent = true;
    for _ in 0..24 {
        let _ = client.me().await;
        clock.advance(interval);
        quiet.tick().await;
        silent &= quiet.state(name) == Some(State::Inactive);
    }

    // Then the fault, a few responses every tick, until the alert fires (or ten minutes pass).
    let mut evaluator = Evaluator::new(config, source, notifier, clock.shared()).map_err(|e| e.to_string())?;
    let (step, per_tick) = fault(name);
    let mut fired_after = None;
    let mut responses = 0;
    for tick in 1..=40 {
        let steps: Vec<Value> = (0..per_tick).map(|_| step.clone()).collect();
        env.control(&sim, "faults", json!({"method": "GET", "path": "/v2/me", "sequence": steps})).await?;
        for _ in 0..per_tick {
            let _ = client.me().await;
            responses += 1;
        }
        clock.advance(interval);
        evaluator.tick().await;
        if evaluator.state(name) == Some(State::Firing) {
            fired_after = Some(tick as u64 * interval.as_secs());
            break;
        }
    }
    // The fault stops: the alert resolves once its window is past.
    let mut resolved = false;
    if fired_after.is_some() {
        for _ in 0..40 {
            let _ = client.me().await;
            clock.advance(interval);
            evaluator.tick().await;
            if evaluator.state(name) == Some(State::Inactive) {
                resolved = true;
                break;
            }
        }
    }
    sim.shutdown().await;
    let slack_messages: Vec<Value> = slack.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let pd_events: Vec<Value> = pagerduty.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let severity = salesloft_alerts::catalogue(&thresholds)
        .into_iter()
        .find(|a| a.name == name)
        .map(|a| a.severity.as_str())
        .unwrap_or("?");
    let pages = severity == "P1";
    let pd_actions: Vec<String> =
        pd_events.iter().filter_map(|e| e["event_action"].as_str().map(str::to_string)).collect();
    let pd_keys: std::collections::BTreeSet<String> =
        pd_events.iter().filter_map(|e| e["dedup_key"].as_str().map(str::to_string)).collect();
    let paged_right = if pages {
        pd_actions.first().map(String::as_str) == Some("trigger")
            && pd_actions.iter().any(|a| a == "resolve")
            && pd_keys.len() == 1
    } else {
        pd_events.is_empty()
    };
    let slack_ok = slack_messages.iter().any(|m| m.to_string().contains(name));
    let promtool = promtool(env).await;
    let promtool_ok = !matches!(promtool, Some(Err(_)));
    let stricter = configured <= checklist;
    let evidence = json!({
        "alert": name, "severity": severity,
        "threshold": {"key": key, "configured": configured, "checklist": checklist},
        "silent_without_fault": silent,
        "fault": step, "responses_with_fault": responses, "fired_after_s": fired_after, "resolved_after_fault": resolved,
        "slack_messages": slack_messages.len(), "pagerduty_actions": pd_actions, "pagerduty_dedup_keys": pd_keys,
        "promtool_test_rules": match &promtool {
            None => json!("promtool not installed: the exported rules were not unit-tested here"),
            Some(Ok(out)) => json!({"passed": true, "output": out.lines().take(6).collect::<Vec<_>>()}),
            Some(Err(out)) => json!({"passed": false, "output": out.lines().take(20).collect::<Vec<_>>()}),
        },
    });
    let ok = stricter && silent && fired_after.is_some() && resolved && slack_ok && paged_right && promtool_ok;
    Ok(Finding::verdict(
        ok,
        format!(
            "{name} ({severity}) fired after {} s of {} and resolved after; silent without it; Slack{}; promtool {}",
            fired_after.unwrap_or_default(),
            step["status"],
            if pages { " and PagerDuty (trigger, resolve)" } else { "" },
            match &promtool {
                None => "not installed",
                Some(Ok(_)) => "passed",
                Some(Err(_)) => "FAILED",
            }
        ),
        if !stricter {
            format!("{key} = {configured} is looser than the checklist's {checklist}")
        } else if !silent {
            format!("{name} fired without any fault")
        } else if fired_after.is_none() {
            format!("{name} never fired during ten minutes of {} answers", step["status"])
        } else if !resolved {
            format!("{name} did not resolve after the fault stopped")
        } else if !slack_ok || !paged_right {
            format!("{name}: notifications wrong: Slack {slack_ok}, PagerDuty actions {pd_actions:?}")
        } else {
            "promtool test rules failed on the exported rules".to_string()
        },
        evidence,
    ))
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
