//! `slprod pull` and `slprod push` end to end: the binary against an in-process simulator.

mod support;

use std::collections::HashSet;
use std::path::Path;

use salesloft_sim::RunningSim;
use serde_json::{Value, json};
use support::sim;

/// Runs `slprod <args>` against `sim` off the async runtime (the simulator keeps serving meanwhile).
async fn slprod(sim: &RunningSim, args: Vec<String>) -> (i32, String, String) {
    let mut command = support::slprod_for(sim, &store_url());
    command.args(args);
    support::run(command).await
}

/// The store of this test binary's pushes: a temp SQLite file, never the working directory.
fn store_url() -> String {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"));
    support::sqlite_url(dir.path())
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn ids_in(path: &Path) -> Vec<i64> {
    std::fs::read_to_string(path)
        .expect("output file")
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON line {line:?}: {e}"));
            value["id"].as_i64().expect("an id")
        })
        .collect()
}

fn assert_exactly(ids: &[i64], expected: usize) {
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "expected no duplicate records, got {} lines for {} ids",
        ids.len(),
        unique.len()
    );
    assert_eq!(ids.len(), expected, "expected {expected} records, got {}", ids.len());
}

async fn add_fault(sim: &RunningSim, rule: Value) {
    salesloft_testkit::sim::add_fault(sim.root_url(), rule).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_writes_every_record_once_and_a_rerun_adds_nothing() {
    let sim = sim(1_234).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("people.jsonl");
    let out_arg = out.to_string_lossy().to_string();

    let (code, _, stderr) = slprod(&sim, args(&["pull", "people", "--out", &out_arg])).await;
    assert_eq!(code, 0, "expected exit 0, got {code}: {stderr}");
    assert_exactly(&ids_in(&out), 1_234);
    let store = salesloft_store::open(&store_url()).await.expect("the pull's store");
    let name = format!("pull:people:{}", out.display());
    let checkpoint = store.checkpoints().get(&name).await.expect("read checkpoint");
    assert!(checkpoint.is_some_and(|c| c["records"] == 1_234), "the store holds the pull's checkpoint {name}");

    let (code, _, stderr) = slprod(&sim, args(&["pull", "people", "--out", &out_arg])).await;
    assert_eq!(code, 0, "expected exit 0 on the rerun, got {code}: {stderr}");
    assert_exactly(&ids_in(&out), 1_234);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_reads_notes_with_the_same_keyset_walk() {
    let sim = sim(10).await;
    let seeded = reqwest::Client::new()
        .get(format!("{}/notes?per_page=100", sim.base_url()))
        .bearer_auth(sim.api_key())
        .send()
        .await
        .expect("list notes")
        .json::<Value>()
        .await
        .expect("notes JSON");
    let expected = seeded["data"].as_array().map(Vec::len).unwrap_or(0);
    assert!(expected > 0, "the seed writes some notes: {seeded}");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("notes.jsonl");
    let out_arg = out.to_string_lossy().to_string();
    let (code, _, stderr) = slprod(&sim, args(&["pull", "notes", "--out", &out_arg])).await;
    assert_eq!(code, 0, "expected exit 0, got {code}: {stderr}");
    assert_exactly(&ids_in(&out), expected);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_pull_resumes_without_duplicates_or_gaps() {
    let sim = sim(1_000).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("people.jsonl");
    let out_arg = out.to_string_lossy().to_string();
    // The newest-record probe and three pages are served, then the API refuses (403 is never retried).
    add_fault(
        &sim,
        json!({"method": "GET", "path": "/v2/people", "sequence": [
            {"latency_ms": 0}, {"latency_ms": 0}, {"latency_ms": 0}, {"latency_ms": 0}, {"status": 403}
        ]}),
    )
    .await;
    let (code, _, stderr) = slprod(&sim, args(&["pull", "people", "--out", &out_arg])).await;
    assert_eq!(code, 1, "expected exit 1 (stopped part-way), got {code}: {stderr}");
    let partial = ids_in(&out);
    assert!(partial.len() >= 290 && partial.len() <= 300, "three pages written, got {}", partial.len());

    // As if killed after writing part of a page but before its checkpoint.
    let mut text = std::fs::read_to_string(&out).expect("read");
    text.push_str("{\"id\": 999999, \"half a rec");
    std::fs::write(&out, text).expect("write");

    let (code, _, stderr) = slprod(&sim, args(&["pull", "people", "--out", &out_arg])).await;
    assert_eq!(code, 0, "expected exit 0 after resuming, got {code}: {stderr}");
    assert_exactly(&ids_in(&out), 1_000);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_refuses_to_run_without_a_key_or_over_a_foreign_file() {
    let sim = sim(10).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("people.jsonl");
    std::fs::write(&out, "not ours\n").expect("write");
    let out_arg = out.to_string_lossy().to_string();
    let (code, _, stderr) = slprod(&sim, args(&["pull", "people", "--out", &out_arg])).await;
    assert_eq!(code, 2, "expected exit 2 for an existing file without checkpoint, got {code}: {stderr}");
    assert!(stderr.contains("--overwrite"), "the message says how to proceed: {stderr}");

    let mut command = support::slprod();
    command.args(["pull", "people", "--out", &out_arg, "--base-url", "http://127.0.0.1:9/v2"]);
    let (code, _, _) = support::run(command).await;
    assert_eq!(code, 2, "expected exit 2 without a credential");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_csv_reports_each_bad_row_and_goes_on() {
    let sim = sim(5).await;
    let existing: Value = reqwest::Client::new()
        .get(format!("{}/people?per_page=1", sim.base_url()))
        .bearer_auth(sim.api_key())
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let existing_email = existing["data"][0]["email_address"].as_str().expect("seeded email").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        format!(
            "email_address,first_name,do_not_contact,tags,custom_fields.Region\n\
             {existing_email},Known,false,a;b,North\n\
             new.person@example.com,New,,,\n\
             ,Nobody,,,\n\
             bad.bool@example.com,Bad,maybe,,\n\
             too,many,fields,here,really,yes\n\
             last.one@example.com,Last,true,,\n"
        ),
    )
    .expect("write csv");
    let csv_arg = csv.to_string_lossy().to_string();
    let (code, stdout, stderr) = slprod(&sim, args(&["push", "people", "--from", &csv_arg, "--report", "json"])).await;
    assert_eq!(code, 1, "expected exit 1 (some rows failed), got {code}: {stdout} {stderr}");
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("JSON report expected ({e}): {stdout}"));
    assert_eq!(report["created"], 2, "created: {report}");
    assert_eq!(report["updated"], 1, "updated: {report}");
    assert_eq!(report["failed"], 3, "failed: {report}");
    let rows: Vec<u64> =
        report["failures"].as_array().expect("failures").iter().map(|f| f["row"].as_u64().unwrap_or(0)).collect();
    assert_eq!(rows, vec![4, 5, 6], "failed rows are the file's lines 4, 5, 6: {report}");
    let reasons: Vec<String> = report["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .map(|f| f["reason"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(reasons[0].contains("email_address"), "missing email reason: {reasons:?}");
    assert!(reasons[1].contains("do_not_contact"), "bad boolean reason: {reasons:?}");
    assert!(reasons[2].contains("CSV"), "malformed row reason: {reasons:?}");

    // Text report, everything fine now: exit 0.
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "email_address,title\nnew.person@example.com,Boss\n").expect("write");
    let good_arg = good.to_string_lossy().to_string();
    let (code, stdout, stderr) = slprod(&sim, args(&["push", "people", "--from", &good_arg])).await;
    assert_eq!(code, 0, "expected exit 0, got {code}: {stdout} {stderr}");
    assert!(stdout.contains("1 updated"), "text summary: {stdout}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_jsonl_skips_invalid_lines() {
    let sim = sim(0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("people.jsonl");
    std::fs::write(
        &file,
        "{\"email_address\":\"j1@example.com\",\"first_name\":\"J\"}\n\
         {not json\n\
         \n\
         {\"email_address\":\"j2@example.com\",\"do_not_contact\":\"sometimes\"}\n\
         {\"email_address\":\"j3@example.com\"}\n",
    )
    .expect("write");
    let file_arg = file.to_string_lossy().to_string();
    let (code, stdout, stderr) = slprod(&sim, args(&["push", "people", "--from", &file_arg])).await;
    assert_eq!(code, 1, "expected exit 1, got {code}: {stdout} {stderr}");
    assert!(stdout.contains("2 created"), "two valid rows created: {stdout}");
    assert!(stdout.contains("row 2:") && stdout.contains("invalid JSON"), "line 2 reported: {stdout}");
    assert!(stdout.contains("row 4 (j2@example.com): invalid value at do_not_contact"), "line 4 reported: {stdout}");

    let missing = dir.path().join("missing.jsonl").to_string_lossy().to_string();
    let (code, _, _) = slprod(&sim, args(&["push", "people", "--from", &missing])).await;
    assert_eq!(code, 2, "expected exit 2 for a missing file");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_with_an_expired_oauth_token_refreshes_and_saves_the_rotated_token() {
    let sim = sim(250).await;
    let minted = support::mint_tokens(&sim, None).await;
    let refresh = minted["refresh_token"].as_str().expect("refresh token").to_string();
    let now = support::unix_now();
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens.json");
    support::write_token_file(&tokens, &minted, now - 10, now - 7210);
    let out = dir.path().join("people.jsonl").to_string_lossy().to_string();
    let tokens_arg = tokens.to_string_lossy().to_string();
    let mut command = support::slprod();
    command
        .args(["pull", "people", "--out", &out, "--base-url", sim.base_url(), "--oauth-token-file", &tokens_arg])
        .env("SALESLOFT_CLIENT_ID", "sim-client")
        .env("SALESLOFT_CLIENT_SECRET", "sim-secret")
        .env_remove("RUST_LOG");
    let (code, _, stderr) = support::run(command).await;
    assert_eq!(code, 0, "expected exit 0 with OAuth, got {code}: {stderr}");
    assert!(!stderr.contains(&refresh), "the refresh token never reaches the output");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&tokens).expect("tokens")).expect("json");
    assert_ne!(saved["refresh_token"].as_str(), Some(refresh.as_str()), "the rotated refresh token was saved");
    sim.shutdown().await;
}

/// The permission bits of `path` (owner, group, other).
#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display())).permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_on_disk_is_private_and_expired_rows_are_reaped() {
    let sim = sim(5).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("people.jsonl");
    let store = dir.path().join("private.sqlite");
    let store_arg = format!("sqlite://{}", store.display());
    let (code, _, stderr) =
        slprod(&sim, args(&["pull", "people", "--store", &store_arg, "--out", out.to_str().expect("utf-8 path")]))
            .await;
    assert_eq!(code, 0, "pull: {stderr}");
    assert_eq!(mode_of(&out), 0o600, "pull output is private");
    let file = dir.path().join("rows.jsonl");
    std::fs::write(&file, "{\"email_address\":\"private@disk.example\"}\n").expect("write");
    let (code, _, stderr) =
        slprod(&sim, args(&["push", "people", "--store", &store_arg, "--from", file.to_str().expect("utf-8")])).await;
    assert_eq!(code, 0, "push: {stderr}");
    assert_eq!(mode_of(&store), 0o600, "the store file is private");
    for suffix in ["-wal", "-shm"] {
        let side = dir.path().join(format!("private.sqlite{suffix}"));
        if side.exists() {
            assert_eq!(mode_of(&side), 0o600, "{} is private", side.display());
        }
    }
    let (code, stdout, stderr) = slprod(&sim, args(&["store", "reap", "--store", &store_arg])).await;
    assert_eq!(code, 0, "store reap: {stderr}");
    assert_eq!(stdout.trim(), "reaped 0 expired ledger keys and 0 expired inbox rows");
    let (code, stdout, _) = slprod(&sim, args(&["store", "reap", "--json", "--store", &store_arg])).await;
    assert_eq!(code, 0);
    let counts: Value = serde_json::from_str(stdout.trim()).expect("JSON counts");
    assert_eq!(counts, json!({"ledger_keys": 0, "inbox_rows": 0}));
    sim.shutdown().await;
}
