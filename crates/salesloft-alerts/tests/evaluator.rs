//! The built-in evaluator against local HTTP catchers (a Slack-compatible webhook and a PagerDuty Events API
//! v2 endpoint), on a manual clock: what it sends when an alert fires and resolves, that failed deliveries are
//! retried, that P2/P3 never page, and that an alert is not announced twice within 5 minutes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use salesloft_alerts::evaluator::notify::{Notifier, PagerDuty, RetryPolicy};
use salesloft_alerts::evaluator::{Evaluator, EvaluatorConfig, State};
use salesloft_clock::ManualClock;
use salesloft_testkit::webhooks::{Delivery, WebhookReceiver};
use secrecy::SecretString;
use serde_json::Value;

const ROUTING_KEY: &str = "pd-routing-key-0123456789";

/// Counters the test sets, rendered as the recorder would.
#[derive(Clone, Default)]
struct Counters(Arc<Mutex<Vec<(String, f64)>>>);

impl Counters {
    fn set(&self, series: &str, value: f64) {
        let mut all = self.0.lock().expect("lock");
        match all.iter_mut().find(|(s, _)| s == series) {
            Some((_, v)) => *v = value,
            None => all.push((series.to_string(), value)),
        }
    }

    fn render(&self) -> String {
        self.0.lock().expect("lock").iter().map(|(s, v)| format!("{s} {v}\n")).collect()
    }
}

const AUTH: &str = r#"salesloft_auth_failures_total{kind="invalid_grant"}"#;
const FIVE_XX: &str = r#"salesloft_responses_total{status="503",class="5xx"}"#;
const TOO_MANY: &str = r#"salesloft_responses_total{status="429",class="4xx"}"#;

struct Rig {
    clock: ManualClock,
    counters: Counters,
    evaluator: Evaluator,
    slack: WebhookReceiver,
    pagerduty: WebhookReceiver,
}

async fn rig(pagerduty_failures: usize) -> Rig {
    let clock = ManualClock::new();
    let counters = Counters::default();
    for series in [AUTH, FIVE_XX, TOO_MANY] {
        counters.set(series, 0.0);
    }
    let slack = WebhookReceiver::start().await;
    let pagerduty = WebhookReceiver::failing_first(pagerduty_failures).await;
    let notifier = Notifier::new(
        Some(SecretString::from(slack.url().to_string())),
        Some(PagerDuty { url: pagerduty.url().to_string(), routing_key: SecretString::from(ROUTING_KEY.to_string()) }),
        RetryPolicy { attempts: 4, first_delay: Duration::from_secs(1) },
        clock.shared(),
        "https://runbooks.example/operations.md".into(),
    );
    let source = counters.clone();
    let evaluator =
        Evaluator::new(EvaluatorConfig::default(), Arc::new(move || source.render()), notifier, clock.shared())
            .expect("evaluator");
    Rig { clock, counters, evaluator, slack, pagerduty }
}

impl Rig {
    /// Advances the clock by the evaluation interval and evaluates.
    async fn tick(&mut self) -> Vec<(&'static str, String)> {
        self.clock.advance(Duration::from_secs(15));
        self.evaluator.tick().await.into_iter().map(|s| (s.alert, format!("{:?}", s.event))).collect()
    }
}

fn json(delivery: &Delivery) -> Value {
    serde_json::from_slice(&delivery.body).expect("a JSON body")
}

#[tokio::test]
async fn an_auth_failure_pages_and_posts_then_resolves_with_the_same_dedup_key() {
    let mut rig = rig(0).await;
    assert!(rig.tick().await.is_empty(), "nothing without failures");
    rig.counters.set(AUTH, 1.0);
    assert_eq!(rig.tick().await, vec![("SalesloftAuthFailure", "Firing".to_string())]);

    let slack = json(&rig.slack.next().await);
    let text = slack["text"].as_str().expect("text");
    assert!(text.starts_with("[P1] SalesloftAuthFailure is firing"), "{text}");
    assert!(text.contains("https://runbooks.example/operations.md#salesloftauthfailure"), "{text}");
    let trigger = json(&rig.pagerduty.next().await);
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["routing_key"], ROUTING_KEY);
    assert_eq!(trigger["payload"]["severity"], "critical");
    let dedup_key = trigger["dedup_key"].as_str().expect("dedup_key").to_string();

    // Five minutes without a new failure: the window is empty, the alert resolves on both channels.
    let mut sent = Vec::new();
    for _ in 0..21 {
        sent.extend(rig.tick().await);
    }
    assert_eq!(sent, vec![("SalesloftAuthFailure", "Resolved".to_string())]);
    assert_eq!(rig.evaluator.state("SalesloftAuthFailure"), Some(State::Inactive));
    let resolved = json(&rig.slack.next().await);
    assert!(resolved["text"].as_str().is_some_and(|t| t.contains("SalesloftAuthFailure resolved")), "{resolved}");
    let resolve = json(&rig.pagerduty.next().await);
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], dedup_key.as_str(), "resolve closes the incident the trigger opened");
    assert!(rig.slack.try_next().is_none() && rig.pagerduty.try_next().is_none(), "nothing else was sent");
}

#[tokio::test]
async fn a_failed_page_is_retried_with_doubling_delays_until_it_lands() {
    let mut rig = rig(2).await;
    rig.tick().await;
    rig.counters.set(AUTH, 1.0);
    let sleeps_before = rig.clock.sleeps().len();
    rig.tick().await;
    for attempt in 1..=3 {
        let trigger = json(&rig.pagerduty.next().await);
        assert_eq!(trigger["event_action"], "trigger", "attempt {attempt}");
    }
    assert!(rig.pagerduty.try_next().is_none(), "no attempt after the one that landed");
    assert_eq!(rig.clock.sleeps()[sleeps_before..], [Duration::from_secs(1), Duration::from_secs(2)]);
}

#[tokio::test]
async fn rate_limiting_is_p2_it_posts_to_slack_and_never_pages() {
    let mut rig = rig(0).await;
    rig.tick().await;
    // 8 new 429s every 15 s (32 a minute), sustained past the 1 minute hold.
    let mut sent = Vec::new();
    for i in 1..=7 {
        rig.counters.set(TOO_MANY, 8.0 * f64::from(i));
        sent.extend(rig.tick().await);
    }
    assert_eq!(sent, vec![("SalesloftRateLimited", "Firing".to_string())]);
    let slack = json(&rig.slack.next().await);
    assert!(slack["text"].as_str().is_some_and(|t| t.starts_with("[P2] SalesloftRateLimited")), "{slack}");
    assert!(rig.pagerduty.try_next().is_none(), "a P2 never pages");
}

#[tokio::test]
async fn an_alert_is_not_announced_twice_within_five_minutes() {
    let mut rig = rig(0).await;
    rig.tick().await;
    let mut errors = 0.0;
    // A storm: 12 new 5xx per 15 s until the alert fires (after its 1 minute hold).
    let mut fired_at = None;
    for i in 0..10 {
        errors += 12.0;
        rig.counters.set(FIVE_XX, errors);
        if !rig.tick().await.is_empty() {
            fired_at = Some(i);
            break;
        }
    }
    assert!(fired_at.is_some(), "the storm fires the alert");
    rig.slack.next().await;
    rig.pagerduty.next().await;
    // Quiet for 75 s (the 1 minute window empties): it resolves.
    let mut sent = Vec::new();
    for _ in 0..5 {
        sent.extend(rig.tick().await);
    }
    assert_eq!(sent, vec![("SalesloftServerErrors", "Resolved".to_string())]);
    rig.slack.next().await;
    rig.pagerduty.next().await;
    // A second storm within 5 minutes of the first page: it fires again but nothing is sent...
    let mut sent = Vec::new();
    for _ in 0..6 {
        errors += 12.0;
        rig.counters.set(FIVE_XX, errors);
        sent.extend(rig.tick().await);
    }
    assert_eq!(rig.evaluator.state("SalesloftServerErrors"), Some(State::Firing));
    assert!(sent.is_empty(), "held back: {sent:?}");
    assert!(rig.slack.try_next().is_none() && rig.pagerduty.try_next().is_none());
    // ...until 5 minutes have passed since the first, when it is still firing: then once.
    let mut sent = Vec::new();
    for _ in 0..12 {
        errors += 12.0;
        rig.counters.set(FIVE_XX, errors);
        sent.extend(rig.tick().await);
    }
    assert_eq!(sent, vec![("SalesloftServerErrors", "Firing".to_string())]);
    assert_eq!(json(&rig.pagerduty.next().await)["event_action"], "trigger");
}

#[tokio::test]
async fn a_failure_before_the_first_tick_counts_from_the_baseline_read_at_construction() {
    let mut rig = rig(0).await;
    rig.counters.set(AUTH, 1.0);
    assert_eq!(rig.tick().await, vec![("SalesloftAuthFailure", "Firing".to_string())]);
}

#[tokio::test]
async fn a_connection_waiting_for_reauthorisation_keeps_the_auth_alert_up_until_it_is_cleared() {
    const MARK: &str = "salesloft_oauth_reauthorization_required";
    let mut rig = rig(0).await;
    rig.counters.set(MARK, 0.0);
    assert!(rig.tick().await.is_empty());
    rig.counters.set(AUTH, 1.0);
    rig.counters.set(MARK, 1.0);
    assert_eq!(rig.tick().await, vec![("SalesloftAuthFailure", "Firing".to_string())]);
    // Ten minutes: no new failure is counted (the client stopped refreshing), the mark holds the alert up.
    let mut sent = Vec::new();
    for _ in 0..40 {
        sent.extend(rig.tick().await);
    }
    assert!(sent.is_empty(), "no resolve while re-authorisation is required: {sent:?}");
    assert_eq!(rig.evaluator.state("SalesloftAuthFailure"), Some(State::Firing));
    rig.counters.set(MARK, 0.0);
    assert_eq!(rig.tick().await, vec![("SalesloftAuthFailure", "Resolved".to_string())]);
}
