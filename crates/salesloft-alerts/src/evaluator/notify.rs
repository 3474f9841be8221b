//! Sends alert notifications: a Slack-compatible incoming webhook for every alert, and PagerDuty Events API v2
//! for pages (P1): `trigger`, then `resolve` with the same `dedup_key`, so PagerDuty closes the incident it
//! opened. A failed delivery (transport error, 5xx, 408, 429) is retried with doubling delays on the injected
//! clock; other 4xx answers (a wrong routing key) are final. The webhook URL and the routing key are secrets:
//! they are never logged, and errors name the channel, not the URL.

use std::time::Duration;

use salesloft_clock::SharedClock;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::definition::Alert;

/// PagerDuty's Events API v2 endpoint (`[alerts] pagerduty_url`).
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// Where PagerDuty events go.
#[derive(Debug, Clone)]
pub struct PagerDuty {
    /// The Events API v2 endpoint.
    pub url: String,
    /// The integration's routing key (`[alerts] pagerduty_routing_key_ref`).
    pub routing_key: SecretString,
}

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait before the first retry; it doubles after each.
    pub first_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { attempts: 5, first_delay: Duration::from_secs(1) }
    }
}

/// What happened to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// It started firing.
    Firing,
    /// It stopped.
    Resolved,
}

/// The channels and how to reach them.
#[derive(Debug, Clone)]
pub struct Notifier {
    http: reqwest::Client,
    slack: Option<SecretString>,
    pagerduty: Option<PagerDuty>,
    retry: RetryPolicy,
    clock: SharedClock,
    runbook_base: String,
}

/// The `dedup_key` of an alert's PagerDuty incident: the same for its trigger and its resolve.
pub fn dedup_key(alert: &Alert) -> String {
    format!("salesloft-prod/{}", alert.name)
}

/// The Slack message for `event` of `alert`.
pub fn slack_message(alert: &Alert, event: Event, runbook_base: &str) -> Value {
    let severity = alert.severity.as_str();
    let text = match event {
        Event::Firing => format!(
            "[{severity}] {} is firing: {}\n{}\nRunbook: {}",
            alert.name,
            alert.summary,
            alert.description,
            alert.runbook_url(runbook_base)
        ),
        Event::Resolved => format!("[{severity}] {} resolved: {}", alert.name, alert.summary),
    };
    json!({ "text": text })
}

/// The PagerDuty Events API v2 body for `event` of `alert` (the routing key added by the sender).
pub fn pagerduty_event(alert: &Alert, event: Event, runbook_base: &str) -> Value {
    match event {
        Event::Firing => json!({
            "event_action": "trigger",
            "dedup_key": dedup_key(alert),
            "payload": {
                "summary": alert.summary,
                "source": "salesloft-prod",
                "severity": "critical",
                "component": "salesloft",
                "class": alert.name,
                "custom_details": {"description": alert.description, "severity": alert.severity.as_str()},
            },
            "links": [{"href": alert.runbook_url(runbook_base), "text": "runbook"}],
        }),
        Event::Resolved => json!({"event_action": "resolve", "dedup_key": dedup_key(alert)}),
    }
}

impl Notifier {
    /// A notifier posting to `slack` (every alert) and `pagerduty` (P1), either optional.
    pub fn new(
        slack: Option<SecretString>,
        pagerduty: Option<PagerDuty>,
        retry: RetryPolicy,
        clock: SharedClock,
        runbook_base: String,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { http, slack, pagerduty, retry, clock, runbook_base }
    }

    /// True when no channel is configured (the evaluator then only logs).
    pub fn is_silent(&self) -> bool {
        self.slack.is_none() && self.pagerduty.is_none()
    }

    /// Sends `event` of `alert` to its channels; true when every channel took it.
    pub async fn send(&self, alert: &Alert, event: Event) -> bool {
        let mut delivered = true;
        if let Some(url) = &self.slack {
            let body = slack_message(alert, event, &self.runbook_base);
            delivered &= self.deliver("slack", url.expose_secret(), &body, alert.name).await;
        }
        if let Some(pagerduty) = self.pagerduty.as_ref().filter(|_| alert.severity.pages()) {
            let mut body = pagerduty_event(alert, event, &self.runbook_base);
            body["routing_key"] = Value::String(pagerduty.routing_key.expose_secret().to_string());
            delivered &= self.deliver("pagerduty", &pagerduty.url, &body, alert.name).await;
        }
        delivered
    }

    /// POSTs `body` until a 2xx, a final refusal, or the attempts run out.
    async fn deliver(&self, channel: &'static str, url: &str, body: &Value, alert: &str) -> bool {
        let mut delay = self.retry.first_delay;
        for attempt in 1..=self.retry.attempts.max(1) {
            let outcome = self.http.post(url).json(body).send().await;
            let retryable = match &outcome {
                Ok(response) if response.status().is_success() => {
                    tracing::info!(channel, alert, attempt, "alert notification delivered");
                    return true;
                }
                Ok(response) => {
                    let status = response.status();
                    tracing::warn!(channel, alert, attempt, status = status.as_u16(), "alert notification refused");
                    status.is_server_error() || status == 408 || status == 429
                }
                // reqwest's error names the URL, which holds the Slack secret: log only its kind.
                Err(error) => {
                    tracing::warn!(
                        channel,
                        alert,
                        attempt,
                        timeout = error.is_timeout(),
                        connect = error.is_connect(),
                        "alert notification not sent"
                    );
                    true
                }
            };
            if !retryable || attempt == self.retry.attempts {
                break;
            }
            self.clock.sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
        tracing::error!(channel, alert, "alert notification failed after its retries");
        false
    }
}
