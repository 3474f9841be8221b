//! `slprod serve --webhook-sink FILE --webhook-subscriber URL` end to end: a signed SalesLoft delivery is
//! forwarded to the subscriber and appended to the sink, and SIGTERM finishes the delivery in hand (line
//! written, delivery marked) before the process exits 0. The subscriber's secret never reaches the logs.

mod support;

use std::io::Read;
use std::process::Stdio;

use salesloft_testkit::webhooks::WebhookReceiver;

const SUBSCRIBER_SECRET: &str = "whsec_c3Vic2NyaWJlci1zaWduaW5nLWtleQ==";

#[tokio::test]
async fn serve_hands_a_delivery_to_the_subscriber_and_the_sink_and_a_sigterm_finishes_it() {
    let sim = support::sim(1).await;
    let dir = tempfile::tempdir().expect("dir");
    let sink = dir.path().join("webhooks.jsonl");
    let mut receiver = WebhookReceiver::start().await;
    let mut command = support::slprod_for(&sim, &support::sqlite_url(dir.path()));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--webhook-sink"])
        .arg(&sink)
        .args(["--webhook-subscriber", receiver.url()])
        .env("SLPROD_WEBHOOK_SUBSCRIBER_SECRET", SUBSCRIBER_SECRET)
        .env("SLPROD_INTERNAL_TOKEN", "tok")
        .env("SLPROD_WEBHOOK_SECRET", "wh")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (child, line) = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().expect("slprod starts");
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut line).expect("a line");
        (child, line)
    })
    .await
    .expect("join");
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("the one line: {line:?}")).to_owned();

    let body = br#"{"id":7,"updated_at":"2026-01-01T00:00:00Z"}"#;
    let delivered = reqwest::Client::new()
        .post(format!("{url}/webhooks/salesloft"))
        .header("x-salesloft-event", "person_updated")
        .header("x-salesloft-signature", salesloft_gateway::auth::sign("wh", body))
        .body(body.to_vec())
        .send()
        .await
        .expect("webhook");
    assert_eq!(delivered.status(), 200);
    let forwarded = receiver.next().await;
    assert_eq!((forwarded.event.as_str(), &forwarded.body[..]), ("person_updated", &body[..]));

    // The delivery is in hand (its POST is being answered): SIGTERM must let it finish.
    let pid = child.id().to_string();
    let (code, stderr) = tokio::task::spawn_blocking(move || {
        let mut child = child;
        let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(killed.success());
        let status = child.wait().expect("wait");
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        (status.code().unwrap_or(-1), stderr)
    })
    .await
    .expect("join");
    assert_eq!(code, 0, "SIGTERM is a clean stop: {stderr}");
    assert!(!stderr.contains("c3Vic2NyaWJlci1zaWduaW5nLWtleQ"), "the subscriber secret reached the logs");

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&sink)
        .expect("the sink exists")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 1, "one line: {lines:?}");
    assert_eq!((lines[0]["event"].as_str(), lines[0]["body"]["id"].as_i64()), (Some("person_updated"), Some(7)));
    let store = salesloft_store::open(&support::sqlite_url(dir.path())).await.expect("store");
    let counts = store.inbox().counts().await.expect("counts");
    assert_eq!((counts.processed, counts.pending, counts.processing), (1, 0, 0), "marked before the exit");
}
