//! `slprod push` across processes, on SQLite and on a real PostgreSQL server: concurrent pushes of one email
//! from two processes make one SalesLoft person and one audit record per mutation; a push killed with SIGKILL
//! at each ledger phase converges on rerun to exactly one person and a verifying audit chain.
//!
//! PostgreSQL tests need `SLPROD_TEST_PG_URL` (`eval "$(scripts/pg-test-server.sh start)"`); without it they
//! fail, they never skip.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use salesloft_sim::RunningSim;
use salesloft_testkit::{Backend, on_both_backends};
use serde_json::Value;
use support::{run as output, slprod_for as slprod};

/// A fresh store URL for `backend` (a temp SQLite file or a fresh PostgreSQL schema) and its temp dir.
fn store_url(backend: Backend) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = backend.store_url(dir.path());
    (url, dir)
}

async fn sim() -> RunningSim {
    support::sim(0).await
}

/// Person mutations SalesLoft received (any answer).
async fn mutations_sent(sim: &RunningSim) -> usize {
    salesloft_testkit::sim::requests_to(sim.root_url(), &["POST", "PUT"], "/v2/people").await.len()
}

async fn people_with_email(sim: &RunningSim, email: &str) -> usize {
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
    body["data"].as_array().map(Vec::len).unwrap_or(0)
}

/// `slprod audit export` as parsed records, and whether `slprod audit verify` passes.
async fn audit(sim: &RunningSim, store: &str) -> (Vec<Value>, bool) {
    let mut export = slprod(sim, store);
    export.args(["audit", "export"]);
    let (code, stdout, stderr) = output(export).await;
    assert_eq!(code, 0, "audit export failed: {stderr}");
    let records = stdout.lines().map(|l| serde_json::from_str(l).expect("an audit JSON line")).collect();
    let mut verify = slprod(sim, store);
    verify.args(["audit", "verify"]);
    let (code, _, _) = output(verify).await;
    (records, code == 0)
}

on_both_backends!(
    super;
    fifty_upserts_of_one_email_from_two_processes_make_one_person,
    a_push_killed_at_each_ledger_phase_converges_on_rerun,
    a_paused_store_refuses_to_push,
    twenty_kills_at_random_points_then_a_rerun_lands_every_row_once,
    a_pause_set_while_a_push_runs_stops_it_and_a_rerun_after_resume_finishes,
);

async fn fifty_upserts_of_one_email_from_two_processes_make_one_person(backend: Backend) {
    let sim = sim().await;
    let (store, dir) = store_url(backend);
    let mut commands = Vec::new();
    for process in 0..2 {
        let file = dir.path().join(format!("rows-{process}.jsonl"));
        let rows: String = (0..25)
            .map(|i| format!("{{\"email_address\":\"Same@Race.example\",\"title\":\"p{process} row {i}\"}}\n"))
            .collect();
        std::fs::write(&file, rows).expect("write rows");
        let mut command = slprod(&sim, &store);
        command.args(["push", "people", "--from"]).arg(&file);
        commands.push(output(command));
    }
    let results = futures::future::join_all(commands).await;
    for (code, stdout, stderr) in &results {
        assert_eq!(*code, 0, "each push succeeds: stdout {stdout} stderr {stderr}");
    }

    assert_eq!(people_with_email(&sim, "same@race.example").await, 1, "exactly one SalesLoft person");
    let sent = mutations_sent(&sim).await;
    let (records, verifies) = audit(&sim, &store).await;
    assert!(sent >= 1, "at least the create was sent");
    assert_eq!(records.len(), sent, "one audit record per mutation sent: {records:?}");
    assert!(verifies, "the audit chain verifies");
    sim.shutdown().await;
}

async fn a_push_killed_at_each_ledger_phase_converges_on_rerun(backend: Backend) {
    for point in salesloft_sync::fault_points::ALL {
        let sim = sim().await;
        let (store, dir) = store_url(backend);
        let file = dir.path().join("one.jsonl");
        std::fs::write(&file, "{\"email_address\":\"crash@kill.example\",\"title\":\"Survivor\"}\n").expect("write");

        // The first push stops at `point`; the test kills it there with SIGKILL.
        let mut first = slprod(&sim, &store);
        first
            .args(["push", "people", "--lock-ttl", "1s", "--from"])
            .arg(&file)
            .env("SLPROD_FAULT_PAUSE_AT", point)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let paused = tokio::task::spawn_blocking(move || {
            let mut child = first.spawn().expect("spawn slprod");
            let stderr = child.stderr.take().expect("stderr");
            let mut seen = Vec::new();
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap_or_default();
                let reached = line.contains("paused at");
                seen.push(line);
                if reached {
                    child.kill().expect("SIGKILL");
                    let status = child.wait().expect("wait");
                    return (true, status.code(), seen);
                }
            }
            let status = child.wait().expect("wait");
            (false, status.code(), seen)
        })
        .await
        .expect("join");
        assert!(paused.0, "{point}: the push never reached the pause point: {:?}", paused.2);
        assert_eq!(paused.1, None, "{point}: killed by a signal, not exited");

        // The rerun takes over the dead process's lock and lease once they lapse, and converges.
        let mut rerun = slprod(&sim, &store);
        rerun.args(["push", "people", "--lock-ttl", "1s", "--from"]).arg(&file);
        let (code, stdout, stderr) = output(rerun).await;
        assert_eq!(code, 0, "{point}: the rerun succeeds: stdout {stdout} stderr {stderr}");

        assert_eq!(people_with_email(&sim, "crash@kill.example").await, 1, "{point}: exactly one person");
        let sent = mutations_sent(&sim).await;
        let (records, verifies) = audit(&sim, &store).await;
        assert!(verifies, "{point}: the audit chain verifies");
        let expected_records = match *point {
            // Killed after the create landed but before it was recorded: the rerun finds the person and
            // records the reconciliation; nothing is sent again.
            "response_received" => {
                assert_eq!(sent, 1, "{point}: the create was not sent again");
                vec!["people.reconcile"]
            }
            _ => {
                assert_eq!(sent, 1, "{point}: one create in all");
                vec!["people.create"]
            }
        };
        let operations: Vec<&str> = records.iter().filter_map(|r| r["operation"].as_str()).collect();
        assert_eq!(operations, expected_records, "{point}: audit records");
        // A third run replays the recorded result: nothing more is sent.
        let mut again = slprod(&sim, &store);
        again.args(["push", "people", "--from"]).arg(&file);
        let (code, _, stderr) = output(again).await;
        assert_eq!(code, 0, "{point}: replay: {stderr}");
        assert_eq!(mutations_sent(&sim).await, sent, "{point}: the replay sent no mutation");
        sim.shutdown().await;
        drop(dir);
    }
}

async fn a_paused_store_refuses_to_push(backend: Backend) {
    let sim = sim().await;
    let (store_url, dir) = store_url(backend);
    let mut pause = slprod(&sim, &store_url);
    pause.args(["pause", "--by", "ops", "--reason", "rollback drill"]);
    assert_eq!(output(pause).await.0, 0, "slprod pause");
    let mut show = slprod(&sim, &store_url);
    show.arg("paused");
    assert_eq!(output(show).await.0, 1, "slprod paused exits 1 while paused");
    let file = dir.path().join("one.jsonl");
    std::fs::write(&file, "{\"email_address\":\"paused@hold.example\"}\n").expect("write");
    let mut push = slprod(&sim, &store_url);
    push.args(["push", "people", "--from"]).arg(&file);
    let (code, _, stderr) = output(push).await;
    assert_eq!(code, 2, "a paused store refuses the push: {stderr}");
    assert!(stderr.contains("paused") && stderr.contains("rollback drill"), "the reason is given: {stderr}");
    assert_eq!(mutations_sent(&sim).await, 0, "nothing was sent");
    let mut resume = slprod(&sim, &store_url);
    resume.arg("resume");
    assert_eq!(output(resume).await.0, 0, "slprod resume");
    let mut push = slprod(&sim, &store_url);
    push.args(["push", "people", "--from"]).arg(&file);
    let (code, _, stderr) = output(push).await;
    assert_eq!(code, 0, "after resume the push runs: {stderr}");
    assert_eq!(mutations_sent(&sim).await, 1, "the create was sent");
    sim.shutdown().await;
}

/// A small seeded generator (xorshift64*), so the kill points are random but the same on every run.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }
}

async fn twenty_kills_at_random_points_then_a_rerun_lands_every_row_once(backend: Backend) {
    const ROWS: usize = 40;
    let sim = sim().await;
    let (store, dir) = store_url(backend);
    let file = dir.path().join("many.jsonl");
    let rows: String =
        (0..ROWS).map(|i| format!("{{\"email_address\":\"kill{i}@nine.example\",\"title\":\"Row {i}\"}}\n")).collect();
    std::fs::write(&file, rows).expect("write rows");
    let mut random = Seeded(0x5EED_0007);
    // The default 90 s lease, and no waiting for other holders (`--lock-wait 0s`): every holder the reruns
    // meet is a killed process on this host, whose leases must be taken over at once — a row reported as
    // "in progress" or "kept locked" fails the final rerun.
    let mut landed = Vec::new();
    for round in 0..20 {
        let mut push = slprod(&sim, &store);
        push.args(["push", "people", "--lock-wait", "0s", "--from"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = push.spawn().expect("spawn slprod");
        // A random point of the run: the kill lands while starting, looking up, or with rows in flight.
        let delay = std::time::Duration::from_millis(20 + random.below(300));
        tokio::time::sleep(delay).await;
        let _ = child.kill();
        let status = child.wait().expect("wait");
        assert!(status.code().is_none() || status.success(), "round {round}: killed or done, got {status:?}");
        landed.push(people_listed(&sim).await.len());
    }
    eprintln!("people after each kill: {landed:?}");
    let mut rerun = slprod(&sim, &store);
    rerun.args(["push", "people", "--lock-wait", "0s", "--from"]).arg(&file);
    let (code, stdout, stderr) = output(rerun).await;
    assert_eq!(code, 0, "the rerun after the last kill finishes the job: stdout {stdout} stderr {stderr}");
    assert!(stdout.contains(&format!("{ROWS} rows:")) && stdout.contains(" 0 failed"), "{stdout}");

    let mut emails = people_listed(&sim).await;
    emails.sort();
    let mut expected: Vec<String> = (0..ROWS).map(|i| format!("kill{i}@nine.example")).collect();
    expected.sort();
    assert_eq!(emails, expected, "every row landed exactly once");
    let (_, verifies) = audit(&sim, &store).await;
    assert!(verifies, "the audit chain verifies");
    sim.shutdown().await;
}

/// The emails of every person the simulator holds (up to 100).
async fn people_listed(sim: &RunningSim) -> Vec<String> {
    let body: Value = reqwest::Client::new()
        .get(format!("{}/people", sim.base_url()))
        .bearer_auth(sim.api_key())
        .query(&[("per_page", "100")])
        .send()
        .await
        .expect("list people")
        .json()
        .await
        .expect("people json");
    body["data"]
        .as_array()
        .map(|people| people.iter().filter_map(|p| p["email_address"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

async fn a_pause_set_while_a_push_runs_stops_it_and_a_rerun_after_resume_finishes(backend: Backend) {
    const ROWS: usize = 6;
    let sim = sim().await;
    let (store_url, dir) = store_url(backend);
    let file = dir.path().join("pause.jsonl");
    let rows: String = (0..ROWS).map(|i| format!("{{\"email_address\":\"halt{i}@pause.example\"}}\n")).collect();
    std::fs::write(&file, rows).expect("write rows");
    // The first create is slow to answer, so the pause lands while it is in flight.
    let slow = serde_json::json!({"method": "POST", "path": "/v2/people", "sequence": [{"latency_ms": 1500}]});
    salesloft_testkit::sim::add_fault(sim.root_url(), slow).await;

    let mut push = slprod(&sim, &store_url);
    push.args(["push", "people", "--concurrency", "1", "--run-id", "halt", "--from"]).arg(&file);
    let running = output(push);
    let watcher = async {
        // Wait until the first row is marked sent (its create is in flight), then pause.
        let store = salesloft_store::open(&store_url).await.expect("open the store");
        let mut tries = 0;
        loop {
            let entry = store.ledger().get("people.upsert:halt:1").await.ok().flatten();
            if entry.is_some_and(|e| e.phase == salesloft_store::Phase::RequestSent) {
                break;
            }
            tries += 1;
            assert!(tries < 2000, "the first row never reached request_sent");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        // What `slprod pause` does, without a process start between seeing the row in flight and pausing.
        store.pause().set_paused(true, "ops", "mid-run drill").await.expect("pause");
        store.close().await;
    };
    let ((code, stdout, stderr), ()) = tokio::join!(running, watcher);
    assert_eq!(code, 3, "a push paused part-way exits 3: stdout {stdout} stderr {stderr}");
    assert!(stdout.contains(&format!("{} rows not sent", ROWS - 1)), "{stdout}");
    assert!(stderr.contains("mid-run drill") && stderr.contains("slprod resume"), "{stderr}");
    assert_eq!(mutations_sent(&sim).await, 1, "only the create already in flight went out after the pause");

    let mut resume = slprod(&sim, &store_url);
    resume.arg("resume");
    assert_eq!(output(resume).await.0, 0, "slprod resume");
    let mut rerun = slprod(&sim, &store_url);
    rerun.args(["push", "people", "--concurrency", "1", "--run-id", "halt", "--from"]).arg(&file);
    let (code, stdout, stderr) = output(rerun).await;
    assert_eq!(code, 0, "the rerun finishes the rest: {stdout} {stderr}");
    assert_eq!(mutations_sent(&sim).await, ROWS, "one create per row in all");
    for i in 0..ROWS {
        assert_eq!(people_with_email(&sim, &format!("halt{i}@pause.example")).await, 1, "row {i}: one person");
    }
    sim.shutdown().await;
}
