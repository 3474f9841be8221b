//! The checkpointed pull as a library call (what `slprod pull` and, later, a gateway job run): records on disk
//! before the checkpoint, an interrupted pull resumes without duplicates or gaps, a file without a checkpoint
//! is refused, and a pull to a stream writes every record.

use std::collections::HashSet;
use std::path::Path;

use salesloft_client::Client;
use salesloft_client::models::Person;
use salesloft_sim::{RunningSim, SimConfig, Simulator};
use salesloft_store::Store;
use salesloft_sync::{PullError, PullOptions, pull_to_file, pull_to_writer};
use serde_json::{Value, json};

async fn setup(people: u64) -> (RunningSim, Client, Store, tempfile::TempDir) {
    let sim = Simulator::start(SimConfig { seed_people: people, budget_per_minute: 1_000_000, ..SimConfig::default() })
        .await
        .expect("the simulator starts");
    let client = Client::with_api_key(sim.base_url(), sim.api_key().to_string().into()).expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        salesloft_store::open(&format!("sqlite://{}", dir.path().join("pull.sqlite").display())).await.expect("store");
    (sim, client, store, dir)
}

fn ids_in(path: &Path) -> Vec<i64> {
    std::fs::read_to_string(path)
        .expect("output file")
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("a JSON line")["id"].as_i64().expect("an id"))
        .collect()
}

fn assert_exactly(ids: &[i64], expected: usize) {
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "expected no duplicates, got {} lines for {} ids", ids.len(), unique.len());
    assert_eq!(ids.len(), expected, "expected {expected} records, got {}", ids.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_pull_resumes_from_its_checkpoint() {
    let (sim, client, store, dir) = setup(1_000).await;
    let out = dir.path().join("people.jsonl");
    // The newest-record probe and three pages are served, then the API refuses (403 is never retried).
    let rule = json!({"method": "GET", "path": "/v2/people", "sequence": [
        {"latency_ms": 0}, {"latency_ms": 0}, {"latency_ms": 0}, {"latency_ms": 0}, {"status": 403}
    ]});
    salesloft_testkit::sim::add_fault(sim.root_url(), rule).await;
    let mut seen = Vec::new();
    let error =
        pull_to_file::<Person>(&client, store.clone(), "people", &out, &PullOptions::default(), |n| seen.push(n))
            .await
            .expect_err("the 403 stops the pull");
    assert!(error.is_interrupted(), "stopped part-way, resumable: {error}");
    let PullError::Interrupted { records, checkpoint: Some(name), .. } = &error else {
        panic!("expected Interrupted with a checkpoint, got {error:?}");
    };
    assert_eq!(ids_in(&out).len() as u64, *records, "the checkpoint covers exactly what is on disk");
    assert!(name.starts_with("pull:people:"), "{name}");
    assert_eq!(seen.last(), Some(records), "progress reported the committed count");

    // As if killed after writing part of a page but before its checkpoint.
    let mut text = std::fs::read_to_string(&out).expect("read");
    text.push_str("{\"id\": 999999, \"half a rec");
    std::fs::write(&out, text).expect("write");

    let summary = pull_to_file::<Person>(&client, store.clone(), "people", &out, &PullOptions::default(), |_| {})
        .await
        .expect("the rerun finishes");
    assert!(summary.resumed);
    assert_eq!(summary.total_records, 1_000);
    assert_eq!(summary.new_records, 1_000 - records);
    assert_exactly(&ids_in(&out), 1_000);

    // A file of another pull is refused; --overwrite starts over.
    let error = pull_to_file::<Person>(&client, store.clone(), "accounts", &out, &PullOptions::default(), |_| {})
        .await
        .expect_err("no checkpoint for accounts, the file exists");
    assert!(!error.is_interrupted() && error.to_string().contains("--overwrite"), "{error}");
    store.close().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_to_a_stream_writes_every_record() {
    let (sim, client, store, _dir) = setup(250).await;
    let mut buffer = Vec::new();
    let summary =
        pull_to_writer::<Person, _>(&client, &mut buffer, &PullOptions::default(), |_| {}).await.expect("pulls");
    assert_eq!((summary.total_records, summary.checkpoint), (250, None));
    let ids: Vec<i64> = String::from_utf8(buffer)
        .expect("utf-8")
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON")["id"].as_i64().expect("id"))
        .collect();
    assert_exactly(&ids, 250);
    store.close().await;
    sim.shutdown().await;
}
