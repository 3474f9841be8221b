//! `slprod serve`'s built-in evaluator end to end (for teams without Prometheus): a 401 from the simulator
//! fires SalesloftAuthFailure from the gateway's own counters, which posts to the Slack-compatible catcher and
//! triggers PagerDuty's Events API v2 at the other catcher; neither secret reaches the logs.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use salesloft_testkit::webhooks::WebhookReceiver;
use serde_json::{Value, json};

/// The gateway, killed when the test ends however it ends (a panic included).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_fires_the_auth_alert_to_slack_and_pagerduty_from_serve() {
    let sim = support::sim(1).await;
    let mut slack = WebhookReceiver::start().await;
    // PagerDuty fails once: the evaluator retries.
    let mut pagerduty = WebhookReceiver::failing_first(1).await;
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("slprod.toml");
    std::fs::write(
        &config,
        format!(
            "[alerts]\nevaluation_interval_secs = 1\nslack_webhook_url_ref = \"env:SLPROD_SLACK_WEBHOOK\"\n\
             pagerduty_routing_key_ref = \"env:SLPROD_PAGERDUTY_KEY\"\npagerduty_url = {}\n",
            json!(pagerduty.url())
        ),
    )
    .expect("config");
    let mut command = support::slprod_for(&sim, &support::sqlite_url(dir.path()));
    command
        .arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0", "--insecure-dev"])
        .env("SLPROD_SLACK_WEBHOOK", slack.url())
        .env("SLPROD_PAGERDUTY_KEY", "pd-key-secret-42")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("serve.log")).expect("log"));
    let (child, url) = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().expect("slprod serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("a line");
        let url = line.trim().strip_prefix("listening on ").map(str::to_string);
        (child, url.unwrap_or_else(|| panic!("the one line: {line:?}")))
    })
    .await
    .expect("join");
    let _running = Running(child);
    salesloft_testkit::sim::add_fault(
        sim.root_url(),
        json!({"method": "GET", "path": "/v2/me", "sequence": [{"status": 401}]}),
    )
    .await;
    let status = reqwest::get(format!("{url}/v2/me")).await.expect("proxy").status();
    assert_eq!(status, 401);

    let posted: Value = serde_json::from_slice(&slack.next().await.body).expect("JSON");
    let text = posted["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("[P1] SalesloftAuthFailure is firing"), "{posted}");
    assert!(text.contains("docs/operations.md#salesloftauthfailure"), "{text}");
    let mut events = Vec::new();
    for _ in 0..2 {
        events.push(serde_json::from_slice::<Value>(&pagerduty.next().await.body).expect("JSON"));
    }
    for event in &events {
        assert_eq!(event["event_action"], "trigger", "{event}");
        assert_eq!(event["routing_key"], "pd-key-secret-42");
        assert_eq!(event["dedup_key"], "salesloft-prod/SalesloftAuthFailure");
    }

    drop(_running);
    let logs = std::fs::read_to_string(dir.path().join("serve.log")).expect("logs");
    assert!(logs.contains("SalesLoft alert"), "the alert is logged: {logs}");
    for secret in ["pd-key-secret-42", slack.url()] {
        assert!(!logs.contains(secret), "{secret:?} reached the logs");
    }
}
