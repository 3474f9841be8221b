//! `slprod push people --bulk` against the simulator, on SQLite and on PostgreSQL: the happy path with a bad
//! line, a 422 per record and a duplicated email; SIGKILL at every bulk recovery point, then a rerun that
//! leaves every row exactly once and uploads no chunk twice; the pause switch honoured before an upload and
//! before the mark-ready; more than 5 000 records per chunk refused.
//!
//! PostgreSQL tests need `SLPROD_TEST_PG_URL`; without it they fail, they never skip.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use salesloft_sim::RunningSim;
use salesloft_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};
use support::{run as output, slprod_for as slprod};

/// Seven rows, six emails (row 8 repeats row 2's), in chunks of two: three uploads.
const ROWS: &str = "{\"email_address\":\"p0@bulk.example\",\"first_name\":\"Zero\"}\n\
{\"email_address\":\"p1@bulk.example\"}\n\
{\"email_address\":\"p2@bulk.example\"}\n\
{\"email_address\":\"p3@bulk.example\"}\n\
{\"email_address\":\"p4@bulk.example\"}\n\
{\"email_address\":\"p5@bulk.example\"}\n\
{\"email_address\":\"P0@bulk.example\",\"title\":\"Last row wins\"}\n";
const EMAILS: usize = 6;
const CHUNKS: usize = 3;

fn store_url(backend: Backend) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = backend.store_url(dir.path());
    (url, dir)
}

fn push(sim: &RunningSim, store: &str, file: &std::path::Path, extra: &[&str]) -> Command {
    let mut command = slprod(sim, store);
    command.args(["push", "people", "--bulk", "--lock-ttl", "2s"]).args(extra).arg("--from").arg(file);
    if !extra.contains(&"--bulk-chunk") {
        command.args(["--bulk-chunk", "2"]);
    }
    command
}

/// Requests of `method` to a path ending with `suffix`.
async fn sent(sim: &RunningSim, method: &str, suffix: &str) -> usize {
    salesloft_testkit::sim::request_log(sim.root_url())
        .await
        .iter()
        .filter(|r| {
            r["method"] == method && r["path"].as_str().is_some_and(|p| p.trim_end_matches(".json").ends_with(suffix))
        })
        .count()
}

async fn people_with_email(sim: &RunningSim, email: &str) -> Vec<Value> {
    let body: Value = reqwest::Client::new()
        .get(format!("{}/people", sim.base_url()))
        .bearer_auth(sim.api_key())
        .query(&[("email_addresses[]", email), ("per_page", "100")])
        .send()
        .await
        .expect("lookup")
        .json()
        .await
        .expect("lookup json");
    body["data"].as_array().cloned().unwrap_or_default()
}

/// The audit log's operations, and whether the chain verifies.
async fn audit(sim: &RunningSim, store: &str) -> (Vec<String>, bool) {
    let mut export = slprod(sim, store);
    export.args(["audit", "export"]);
    let (code, stdout, stderr) = output(export).await;
    assert_eq!(code, 0, "audit export failed: {stderr}");
    let operations = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("an audit JSON line")["operation"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let mut verify = slprod(sim, store);
    verify.args(["audit", "verify"]);
    (operations, output(verify).await.0 == 0)
}

fn count(operations: &[String], name: &str) -> usize {
    operations.iter().filter(|o| *o == name).count()
}

/// Every email is one person and the duplicated one carries both rows' values.
async fn assert_every_row_once(sim: &RunningSim, what: &str) {
    for i in 0..EMAILS {
        let found = people_with_email(sim, &format!("p{i}@bulk.example")).await;
        assert_eq!(found.len(), 1, "{what}: exactly one person for p{i}");
    }
    let merged = &people_with_email(sim, "p0@bulk.example").await[0];
    assert_eq!(
        (merged["first_name"].as_str(), merged["title"].as_str()),
        (Some("Zero"), Some("Last row wins")),
        "{what}"
    );
}

on_both_backends!(
    super;
    a_bulk_push_reports_every_row_and_audits_each_once,
    a_bulk_push_reading_only_failures_reports_the_failures_and_the_rest_as_applied,
    a_results_filter_that_salesloft_ignores_falls_back_to_reading_every_result,
    a_bulk_push_killed_at_each_recovery_point_converges_on_rerun,
    a_pause_set_during_a_bulk_push_stops_it_before_the_next_upload_or_the_mark_ready,
);

async fn a_bulk_push_reports_every_row_and_audits_each_once(backend: Backend) {
    let sim = support::sim(0).await;
    let (store, dir) = store_url(backend);
    let file = dir.path().join("rows.jsonl");
    let rows = format!("{ROWS}not json\n{{\"email_address\":\"broken\"}}\n{{\"first_name\":\"no email\"}}\n");
    std::fs::write(&file, rows).expect("write rows");

    let (code, stdout, stderr) = output(push(&sim, &store, &file, &[])).await;

    assert_eq!(code, 1, "some rows failed: {stdout} {stderr}");
    assert!(stdout.starts_with("10 rows: 6 created, 1 updated, 0 unchanged, 3 failed"), "{stdout}");
    assert!(stdout.contains("row 8:"), "the bad line is reported with its line: {stdout}");
    assert!(stdout.contains("row 9 (broken):") && stdout.contains("email_address is invalid"), "422: {stdout}");
    assert!(stdout.contains("row 10:") && stdout.contains("missing email_address"), "{stdout}");
    assert_every_row_once(&sim, "happy path").await;
    assert_eq!(sent(&sim, "POST", "/bulk_jobs").await, 1, "one job");
    assert_eq!(sent(&sim, "POST", "/job_data").await, 4, "seven records in chunks of two");
    assert_eq!(sent(&sim, "POST", "/people").await + sent(&sim, "PUT", "/people").await, 0, "no row-by-row call");
    let (operations, verifies) = audit(&sim, &store).await;
    assert!(verifies, "the audit chain verifies");
    assert_eq!(count(&operations, "people.bulk_upsert"), 8, "one audit record per uploaded row: {operations:?}");
    assert_eq!(count(&operations, "bulk_jobs.job_data.create"), 4, "{operations:?}");
    assert_eq!(count(&operations, "bulk_jobs.create") + count(&operations, "bulk_jobs.update"), 2);

    // The same file again: the recorded plan and job are replayed; nothing is sent but the result reads.
    let (code, again, _) = output(push(&sim, &store, &file, &[])).await;
    assert_eq!((code, again), (1, stdout), "a rerun reports the same");
    assert_eq!(sent(&sim, "POST", "/job_data").await + sent(&sim, "POST", "/bulk_jobs").await, 5, "nothing sent again");
    assert_eq!(audit(&sim, &store).await.0.len(), operations.len(), "no audit record added");

    // More than 5 000 records per chunk is refused before anything is sent.
    let mut big = slprod(&sim, &store);
    big.args(["push", "people", "--bulk", "--bulk-chunk", "5001", "--run-id", "big", "--from"]).arg(&file);
    let (code, _, stderr) = output(big).await;
    assert_eq!(code, 2, "refused: {stderr}");
    assert!(stderr.contains("5000") && stderr.contains("5001"), "{stderr}");
    sim.shutdown().await;
}

async fn a_bulk_push_reading_only_failures_reports_the_failures_and_the_rest_as_applied(backend: Backend) {
    let sim = support::sim(0).await;
    let (store, dir) = store_url(backend);
    let file = dir.path().join("rows.jsonl");
    let rows = format!("{ROWS}not json\n{{\"email_address\":\"broken\"}}\n{{\"first_name\":\"no email\"}}\n");
    std::fs::write(&file, rows).expect("write rows");

    let (code, stdout, stderr) = output(push(&sim, &store, &file, &["--bulk-results", "failures"])).await;

    assert_eq!(code, 1, "some rows failed: {stdout} {stderr}");
    assert!(stdout.starts_with("10 rows: 0 created, 0 updated, 0 unchanged, 3 failed"), "{stdout}");
    assert!(stdout.contains("7 rows applied by the bulk job"), "{stdout}");
    assert!(stdout.contains("row 9 (broken):") && stdout.contains("email_address is invalid"), "the 422: {stdout}");
    assert_every_row_once(&sim, "failures only").await;
    let results: Vec<Value> = salesloft_testkit::sim::request_log(sim.root_url())
        .await
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/results")))
        .collect();
    assert_eq!(results.len(), 1, "one page of failures, not every row's result: {results:?}");
    assert!(results[0]["query"].as_str().is_some_and(|q| q.contains("status=error")), "{results:?}");
    let (operations, verifies) = audit(&sim, &store).await;
    assert!(verifies, "the audit chain verifies");
    assert_eq!(count(&operations, "people.bulk_upsert"), 8, "one audit record per uploaded row: {operations:?}");

    let (code, again, _) = output(push(&sim, &store, &file, &["--bulk-results", "failures"])).await;
    assert_eq!((code, again), (1, stdout), "a rerun reports the same");
    assert_eq!(audit(&sim, &store).await.0.len(), operations.len(), "no audit record added");
    sim.shutdown().await;
}

/// SalesLoft does not document the `status` filter of the results (FACTS.md §12): a server that ignores it
/// answers rows that are not errors, and the run must then read every result instead of calling the rest
/// applied.
async fn a_results_filter_that_salesloft_ignores_falls_back_to_reading_every_result(backend: Backend) {
    let sim = support::sim(0).await;
    let (store, dir) = store_url(backend);
    let file = dir.path().join("rows.jsonl");
    std::fs::write(&file, ROWS).expect("write rows");
    // The first results call answers a success row, as a server ignoring `status=error` would.
    let ignored = json!({"data": [{"id": 1, "status": "success", "record": {"email_address": "p0@bulk.example"},
                                   "resource": null, "error": null}]});
    salesloft_testkit::sim::add_fault(
        sim.root_url(),
        json!({"method": "GET", "path": "/v2/bulk_jobs/*/results", "sequence": [{"status": 200, "body": ignored}]}),
    )
    .await;

    let (code, stdout, stderr) = output(push(&sim, &store, &file, &["--bulk-results", "failures"])).await;

    assert_eq!(code, 0, "{stdout} {stderr}");
    assert!(stdout.starts_with("7 rows: 6 created, 1 updated, 0 unchanged, 0 failed"), "every result read: {stdout}");
    assert!(!stdout.contains("applied"), "{stdout}");
    assert_every_row_once(&sim, "filter ignored").await;
    sim.shutdown().await;
}

async fn a_bulk_push_killed_at_each_recovery_point_converges_on_rerun(backend: Backend) {
    let mut points: Vec<&str> = salesloft_sync::fault_points::BULK.to_vec();
    points.extend(["bulk_upload_sending:2", "bulk_upload_answered:3"]);
    for point in points {
        let sim = support::sim(0).await;
        let (store, dir) = store_url(backend);
        let file = dir.path().join("rows.jsonl");
        std::fs::write(&file, ROWS).expect("write rows");

        let mut first = push(&sim, &store, &file, &[]);
        first.env("SLPROD_FAULT_PAUSE_AT", point).stdout(Stdio::null()).stderr(Stdio::piped());
        let (reached, seen) = tokio::task::spawn_blocking(move || {
            let mut child = first.spawn().expect("spawn slprod");
            let stderr = child.stderr.take().expect("stderr");
            let mut seen = Vec::new();
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap_or_default();
                let reached = line.contains("paused at");
                seen.push(line);
                if reached {
                    child.kill().expect("SIGKILL");
                    let _ = child.wait();
                    return (true, seen);
                }
            }
            let _ = child.wait();
            (false, seen)
        })
        .await
        .expect("join");
        assert!(reached, "{point}: never reached: {seen:?}");

        let (code, stdout, stderr) = output(push(&sim, &store, &file, &[])).await;
        assert_eq!(code, 0, "{point}: the rerun succeeds: {stdout} {stderr}");
        assert!(stdout.starts_with("7 rows: 6 created, 1 updated, 0 unchanged, 0 failed"), "{point}: {stdout}");
        assert_every_row_once(&sim, point).await;
        assert_eq!(sent(&sim, "POST", "/bulk_jobs").await, 1, "{point}: one job created in all");
        assert_eq!(sent(&sim, "POST", "/job_data").await, CHUNKS, "{point}: no chunk uploaded twice");
        let (operations, verifies) = audit(&sim, &store).await;
        assert!(verifies, "{point}: the audit chain verifies");
        assert_eq!(count(&operations, "people.bulk_upsert"), 7, "{point}: one record per row: {operations:?}");
        let uploads =
            count(&operations, "bulk_jobs.job_data.create") + count(&operations, "bulk_jobs.job_data.reconcile");
        assert_eq!(uploads, CHUNKS, "{point}: one record per upload: {operations:?}");

        let (code, _, stderr) = output(push(&sim, &store, &file, &[])).await;
        assert_eq!(code, 0, "{point}: replay: {stderr}");
        assert_eq!(sent(&sim, "POST", "/job_data").await, CHUNKS, "{point}: the replay uploads nothing");
        sim.shutdown().await;
        drop(dir);
    }
}

async fn a_pause_set_during_a_bulk_push_stops_it_before_the_next_upload_or_the_mark_ready(backend: Backend) {
    // (extra flags, the step in flight when the pause lands, uploads before the pause)
    let cases: [(&[&str], &str, usize); 2] = [(&[], "chunk:1", 1), (&["--bulk-chunk", "5000"], "chunk:1", 1)];
    for (case, (extra, in_flight, uploads_before)) in cases.into_iter().enumerate() {
        let sim = support::sim(0).await;
        let (store_url, dir) = store_url(backend);
        let file = dir.path().join("rows.jsonl");
        std::fs::write(&file, ROWS).expect("write rows");
        let run = format!("halt{case}");
        // The first upload is slow to answer, so the pause lands while it is in flight.
        let slow = serde_json::json!({"method": "POST", "path": "/v2/bulk_jobs/*/job_data", "sequence": [{"latency_ms": 1500}]});
        salesloft_testkit::sim::add_fault(sim.root_url(), slow).await;
        let mut args = vec!["--run-id", run.as_str()];
        args.extend_from_slice(extra);
        let running = output(push(&sim, &store_url, &file, &args));
        let key = format!("people.bulk:{run}:{in_flight}");
        let watcher = async {
            let store = salesloft_store::open(&store_url).await.expect("open the store");
            let mut tries = 0;
            loop {
                let entry = store.ledger().get(&key).await.ok().flatten();
                if entry.is_some_and(|e| e.phase == salesloft_store::Phase::RequestSent) {
                    break;
                }
                tries += 1;
                assert!(tries < 2000, "{key} never reached request_sent");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            store.pause().set_paused(true, "ops", "bulk drill").await.expect("pause");
            store.close().await;
        };
        let ((code, stdout, stderr), ()) = tokio::join!(running, watcher);
        assert_eq!(code, 3, "case {case}: paused part-way exits 3: {stdout} {stderr}");
        assert!(stdout.contains("7 rows not sent"), "case {case}: {stdout}");
        assert!(stderr.contains("bulk drill"), "case {case}: {stderr}");
        assert_eq!(sent(&sim, "POST", "/job_data").await, uploads_before, "case {case}: no upload after the pause");
        assert_eq!(sent(&sim, "PUT", "/bulk_jobs/1").await, 0, "case {case}: the job was not marked ready");

        let mut resume = slprod(&sim, &store_url);
        resume.arg("resume");
        assert_eq!(output(resume).await.0, 0, "slprod resume");
        let (code, stdout, stderr) = output(push(&sim, &store_url, &file, &args)).await;
        assert_eq!(code, 0, "case {case}: the rerun finishes: {stdout} {stderr}");
        let chunks = if extra.is_empty() { CHUNKS } else { 1 };
        assert_eq!(sent(&sim, "POST", "/job_data").await, chunks, "case {case}: each chunk uploaded once");
        assert_every_row_once(&sim, "after the pause").await;
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_auto_takes_the_bulk_path_from_the_threshold_and_row_by_row_below_it() {
    let sim = support::sim(0).await;
    let (store, dir) = store_url(Backend::Sqlite);
    let file = dir.path().join("rows.jsonl");
    std::fs::write(&file, ROWS).expect("write rows");
    // Seven rows, under the default threshold: row by row, no job.
    let mut below = slprod(&sim, &store);
    below.args(["push", "people", "--run-id", "below", "--from"]).arg(&file);
    let (code, stdout, stderr) = output(below).await;
    assert_eq!(code, 0, "{stdout} {stderr}");
    assert_eq!(sent(&sim, "POST", "/bulk_jobs").await, 0, "no bulk job below the threshold");
    assert!(sent(&sim, "POST", "/people").await >= EMAILS, "row by row");
    // The same rows with the threshold at seven: one bulk job (the people exist now, so all are updates).
    let mut at = slprod(&sim, &store);
    at.args(["push", "people", "--bulk", "auto", "--bulk-threshold", "7", "--run-id", "at", "--from"]).arg(&file);
    let (code, stdout, stderr) = output(at).await;
    assert_eq!(code, 0, "{stdout} {stderr}");
    assert!(stdout.starts_with("7 rows: 0 created, 7 updated"), "{stdout}");
    assert_eq!(sent(&sim, "POST", "/bulk_jobs").await, 1, "one bulk job from the threshold");
    // `--bulk off` never makes a job.
    let mut off = slprod(&sim, &store);
    off.args(["push", "people", "--bulk", "off", "--bulk-threshold", "1", "--run-id", "off", "--from"]).arg(&file);
    assert_eq!(output(off).await.0, 0);
    assert_eq!(sent(&sim, "POST", "/bulk_jobs").await, 1, "--bulk off makes no job");
    sim.shutdown().await;
}
