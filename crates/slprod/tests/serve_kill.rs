//! `kill -9` of `slprod serve` during a flood of 5 000 signed webhooks loses no delivery it answered 2xx
//! (issue 9: a delivery is stored durably through the inbox writer *before* the 2xx), on SQLite and on
//! PostgreSQL. The kill lands at a seeded point of the flood; afterwards every acknowledged delivery must
//! be in the store, each once.

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use salesloft_testkit::Backend;

const DELIVERIES: usize = 5_000;
const SECRET: &str = "flood-test-webhook-secret-0123456789abcdef";

/// Starts `slprod serve` on `store` and returns the child and its base URL.
fn start_gateway(store: &str) -> (Child, String) {
    let mut command = support::slprod();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--store", store])
        // Webhook intake needs no SalesLoft; the gateway only probes it on /health.
        .env("SALESLOFT_BASE_URL", "http://127.0.0.1:9/v2")
        .env("SALESLOFT_API_KEY", format!("ak{}", "0".repeat(64)))
        .env("SLPROD_INTERNAL_TOKEN", "internal-token-for-the-flood-test")
        .env("SLPROD_WEBHOOK_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().expect("slprod serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the listening line");
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (child, url.to_string())
}

async fn flood_then_kill(backend: Backend, seed: usize) {
    let dir = tempfile::tempdir().expect("dir");
    let store = backend.store_url(dir.path());
    let (mut child, url) = start_gateway(&store);
    let http = reqwest::Client::builder().no_proxy().build().expect("client");
    let acknowledged = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let sent = Arc::new(AtomicUsize::new(0));
    // Kill once this many deliveries have been acknowledged: somewhere in the middle of the flood.
    let kill_after = 1_000 + (seed * 7_919) % 2_500;

    let mut workers = Vec::new();
    for worker in 0..32 {
        let (http, url, acknowledged, sent) = (http.clone(), url.clone(), acknowledged.clone(), sent.clone());
        workers.push(tokio::spawn(async move {
            let mut id = worker;
            while id < DELIVERIES {
                let body = format!(r#"{{"id":{id},"updated_at":"2026-11-30T12:00:00.{id:06}Z","title":"flood"}}"#);
                let signature = salesloft_gateway::auth::sign(SECRET, body.as_bytes());
                sent.fetch_add(1, Ordering::SeqCst);
                let answer = http
                    .post(format!("{url}/webhooks/salesloft"))
                    .header("x-salesloft-event", "person_updated")
                    .header("x-salesloft-signature", signature)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                // After the kill: refused or cut connections, never acknowledged.
                if answer.is_ok_and(|response| response.status().is_success()) {
                    acknowledged.lock().unwrap_or_else(|e| e.into_inner()).insert(id);
                }
                id += 32;
            }
        }));
    }
    loop {
        let acked = acknowledged.lock().unwrap_or_else(|e| e.into_inner()).len();
        if acked >= kill_after || sent.load(Ordering::SeqCst) >= DELIVERIES {
            break;
        }
        tokio::task::yield_now().await;
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    for worker in workers {
        worker.await.expect("worker");
    }
    let acknowledged = acknowledged.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(acknowledged.len() >= kill_after, "the kill came after {kill_after} acknowledgements");
    assert!(acknowledged.len() < DELIVERIES, "the kill interrupted the flood (else it proves nothing)");

    let store = salesloft_store::open(&store).await.expect("the store opens after the kill");
    let mut out = Vec::new();
    store.inbox().export(&mut out).await.expect("export");
    store.close().await;
    let mut stored = Vec::new();
    for line in String::from_utf8(out).expect("utf-8").lines() {
        let entry: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let resource = entry["resource_id"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| entry["resource_id"].as_i64().map(|i| i.to_string()));
        stored.push(resource.expect("a resource id").parse::<usize>().expect("numeric id"));
    }
    let unique: HashSet<usize> = stored.iter().copied().collect();
    assert_eq!(unique.len(), stored.len(), "no delivery stored twice");
    let lost: Vec<usize> = acknowledged.difference(&unique).copied().collect();
    assert!(lost.is_empty(), "{backend:?}: {} acknowledged deliveries lost: {lost:?}", lost.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_9_during_a_webhook_flood_loses_no_acknowledged_delivery() {
    for seed in 1..=2 {
        flood_then_kill(Backend::Sqlite, seed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill_9_during_a_webhook_flood_loses_no_acknowledged_delivery() {
    for seed in 1..=2 {
        flood_then_kill(Backend::Postgres, seed).await;
    }
}
