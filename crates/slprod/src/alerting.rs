//! `[alerts]` turned into what `salesloft_alerts` needs: the thresholds (read by `slprod alerts export`) and
//! the built-in evaluator with its Slack and PagerDuty channels (started by `slprod serve`). Both use the one
//! alert definition, so the exported rules and the built-in evaluator cannot disagree.

use std::sync::Arc;
use std::time::Duration;

use salesloft_alerts::Thresholds;
use salesloft_alerts::evaluator::notify::{Notifier, PAGERDUTY_EVENTS_URL, PagerDuty, RetryPolicy};
use salesloft_alerts::evaluator::{Evaluator, EvaluatorConfig, MetricsSource};
use salesloft_client::clock::SharedClock;
use secrecy::{ExposeSecret, SecretString};

use crate::config::{AlertsConfig, ConfigError};
use crate::error::CliError;

/// The thresholds of `[alerts]`, the checklist's where a key is absent.
pub fn thresholds(alerts: &AlertsConfig) -> Thresholds {
    let default = Thresholds::default();
    Thresholds {
        server_errors_per_minute: alerts.server_errors_per_minute.unwrap_or(default.server_errors_per_minute),
        rate_limited_per_minute: alerts.rate_limited_per_minute.unwrap_or(default.rate_limited_per_minute),
        auth_failures: alerts.auth_failures.unwrap_or(default.auth_failures),
        p99_latency_ms: alerts.p99_latency_ms.unwrap_or(default.p99_latency_ms),
        read_baseline_ms: alerts.read_baseline_ms.unwrap_or(default.read_baseline_ms),
        write_baseline_ms: alerts.write_baseline_ms.unwrap_or(default.write_baseline_ms),
    }
}

/// `https://` required, plain `http://` allowed for loopback hosts only (local catchers in tests): a
/// notification carries alert details and, for PagerDuty, the routing key.
fn secure_url(url: &str, key: &str) -> Result<(), CliError> {
    salesloft_client::transport::url_policy::require_secure_url(url, key)
        .map(|_| ())
        .map_err(|error| CliError::Input(format!("alerts.{key}: {error}")))
}

fn resolve(reference: &crate::config::SecretRef, key: &str) -> Result<SecretString, CliError> {
    reference.resolve().map_err(|message| ConfigError::Secret { key: format!("alerts.{key}"), message }.into())
}

/// The built-in evaluator over `source` (the gateway's recorder), or `None` when
/// `alerts.evaluation_interval_secs = 0` turns it off. Without a Slack or PagerDuty reference it still runs and
/// logs each alert at `warn`. Fails on an unmeasurable threshold, an unresolvable secret or a plain-HTTP URL.
pub fn evaluator(
    alerts: &AlertsConfig,
    source: Arc<dyn MetricsSource>,
    clock: SharedClock,
) -> Result<Option<Evaluator>, CliError> {
    let interval = alerts.evaluation_interval_secs.unwrap_or(15);
    if interval == 0 {
        return Ok(None);
    }
    let slack = match &alerts.slack_webhook_url_ref {
        Some(reference) => {
            let url = resolve(reference, "slack_webhook_url_ref")?;
            secure_url(url.expose_secret(), "slack_webhook_url_ref")?;
            Some(url)
        }
        None => None,
    };
    let pagerduty = match &alerts.pagerduty_routing_key_ref {
        Some(reference) => {
            let url = alerts.pagerduty_url.clone().unwrap_or_else(|| PAGERDUTY_EVENTS_URL.to_string());
            secure_url(&url, "pagerduty_url")?;
            Some(PagerDuty { url, routing_key: resolve(reference, "pagerduty_routing_key_ref")? })
        }
        None => None,
    };
    let notifier = Notifier::new(
        slack,
        pagerduty,
        RetryPolicy::default(),
        clock.clone(),
        salesloft_alerts::definition::DEFAULT_RUNBOOK_BASE.to_string(),
    );
    let config = EvaluatorConfig {
        thresholds: thresholds(alerts),
        interval: Duration::from_secs(interval),
        ..EvaluatorConfig::default()
    };
    Evaluator::new(config, source, notifier, clock).map(Some).map_err(|error| CliError::Input(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SecretRef;

    #[test]
    fn thresholds_come_from_the_file_and_default_to_the_checklist() {
        assert_eq!(thresholds(&AlertsConfig::default()), Thresholds::default());
        let config =
            AlertsConfig { server_errors_per_minute: Some(9), p99_latency_ms: Some(800), ..Default::default() };
        let got = thresholds(&config);
        assert_eq!((got.server_errors_per_minute, got.p99_latency_ms), (9, 800));
        assert_eq!(got.rate_limited_per_minute, 10);
    }

    #[tokio::test]
    async fn the_evaluator_refuses_plain_http_off_loopback_and_names_the_key_not_the_secret() {
        let clock = salesloft_client::clock::SystemClock::shared();
        let source: Arc<dyn MetricsSource> = Arc::new(String::new);
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("slack");
        std::fs::write(&file, "http://hooks.example.com/services/T000/B000/XXXSECRET").expect("write");
        let config = AlertsConfig { slack_webhook_url_ref: Some(SecretRef::File(file)), ..Default::default() };
        let error = evaluator(&config, source.clone(), clock.clone()).expect_err("plain http");
        let shown = error.to_string();
        assert!(shown.contains("alerts.slack_webhook_url_ref"), "{shown}");
        assert!(!shown.contains("XXXSECRET"), "the URL is a secret: {shown}");
        let off = AlertsConfig { evaluation_interval_secs: Some(0), ..Default::default() };
        assert!(evaluator(&off, source, clock).expect("off").is_none());
    }
}
