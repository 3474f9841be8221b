//! Multi-process behaviour, on both backends: real OS processes (the `race` example) racing for locks,
//! upserting one email, and being killed with SIGKILL at each ledger phase.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use common::TestStore;
use salesloft_store::{Phase, StoreUrl};

/// The `race` example binary, built by `cargo test` next to the test binaries.
fn race_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    // target/<profile>/deps/processes-HASH → target/<profile>/examples/race
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap_or_else(|| panic!("odd test path {exe:?}"));
    let bin = profile_dir.join("examples").join("race");
    assert!(bin.exists(), "{} is missing: `cargo test -p salesloft-store` builds it", bin.display());
    bin
}

/// The store's URL as a child process takes it (the test servers have no password).
fn url_arg(t: &TestStore) -> String {
    match &t.url {
        StoreUrl::Sqlite { path } => format!("sqlite://{}", path.display()),
        StoreUrl::Postgres { url, schema } => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}schema={}", schema.as_deref().unwrap_or("public"))
        }
    }
}

fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(race_bin());
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap_or_else(|e| panic!("spawning race {args:?}: {e}"))
}

fn read_line(child: &mut Child) -> String {
    let stdout = child.stdout.as_mut().unwrap_or_else(|| panic!("no stdout"));
    let mut line = String::new();
    // One byte at a time so no output is left in a dropped buffer.
    let mut reader = BufReader::with_capacity(1, stdout);
    reader.read_line(&mut line).unwrap_or_else(|e| panic!("reading child output: {e}"));
    line.trim().to_owned()
}

fn finish(child: Child, what: &str) -> String {
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what} exited with {:?}", out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

salesloft_testkit::on_both_backends!(
    crate, with crate::common::store;
    two_processes_racing_for_a_lock_get_one_holder,
    two_processes_incrementing_under_one_lock_lose_no_update,
    fifty_upserts_of_one_email_across_two_processes_make_one_person,
    sigkill_at_each_ledger_phase_then_rerun_converges,
);

/// Several processes starting together on a store nobody has created yet (replicas, or parallel CLI runs) all
/// open it: creating the file, switching it to WAL and migrating race, and SQLite may answer SQLITE_BUSY
/// without calling the busy handler, so a lost race must be retried rather than reported. Each opener walks
/// the same list of new stores, so one spawn gives many races.
fn openers_all_succeed(urls: &[String]) {
    let args: Vec<&str> = std::iter::once("open").chain(urls.iter().map(String::as_str)).collect();
    let children: Vec<Child> = (0..6).map(|_| spawn(&args, &[])).collect();
    for (i, child) in children.into_iter().enumerate() {
        assert_eq!(finish(child, &format!("opener {i}")).trim(), format!("opened {}", urls.len()));
    }
}

#[test]
fn processes_opening_new_sqlite_stores_together_all_succeed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let urls: Vec<String> =
        (0..40).map(|i| format!("sqlite://{}", dir.path().join(format!("new-{i}.sqlite")).display())).collect();
    openers_all_succeed(&urls);
}

#[test]
fn processes_opening_new_postgres_schemas_together_all_succeed() {
    let urls: Vec<String> = (0..10)
        .map(|_| {
            let schema = common::fresh_schema();
            match common::pg_store_url(&schema) {
                StoreUrl::Postgres { url, .. } => {
                    let sep = if url.contains('?') { '&' } else { '?' };
                    format!("{url}{sep}schema={schema}")
                }
                other => panic!("not a PostgreSQL URL: {other}"),
            }
        })
        .collect();
    openers_all_succeed(&urls);
}

async fn two_processes_racing_for_a_lock_get_one_holder(t: &TestStore) {
    let url = url_arg(t);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for round in 0..3 {
        let go = dir.path().join(format!("go-{round}"));
        let go_arg = go.display().to_string();
        let name = format!("race-{round}");
        let mut a = spawn(&["lock", &url, &name, "proc-a", &go_arg], &[]);
        let mut b = spawn(&["lock", &url, &name, "proc-b", &go_arg], &[]);
        assert_eq!((read_line(&mut a), read_line(&mut b)), ("ready".into(), "ready".into()));
        std::fs::write(&go, b"go").unwrap_or_else(|e| panic!("{e}"));
        let outcomes = [finish(a, "proc a"), finish(b, "proc b")];
        let acquired = outcomes.iter().filter(|o| o.starts_with("acquired")).count();
        let busy = outcomes.iter().filter(|o| o.trim() == "busy").count();
        assert_eq!((acquired, busy), (1, 1), "round {round}: expected one holder, got {outcomes:?}");
    }
}

async fn two_processes_incrementing_under_one_lock_lose_no_update(t: &TestStore) {
    let url = url_arg(t);
    let a = spawn(&["counter", &url, "100", "proc-a"], &[]);
    let b = spawn(&["counter", &url, "100", "proc-b"], &[]);
    finish(a, "proc a");
    finish(b, "proc b");
    let value = t.store.checkpoints().get("counter").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(value, Some(serde_json::json!(200)), "a lost update means two processes held the lock at once");
}

async fn fifty_upserts_of_one_email_across_two_processes_make_one_person(t: &TestStore) {
    let url = url_arg(t);
    let a = spawn(&["upsert", &url, "ada@example.com", "25", "proc-a"], &[]);
    let b = spawn(&["upsert", &url, "ada@example.com", "25", "proc-b"], &[]);
    finish(a, "proc a");
    finish(b, "proc b");
    let person = t.store.checkpoints().get("remote:people:ada@example.com").await.unwrap_or_else(|e| panic!("{e}"));
    let person = person.unwrap_or_else(|| panic!("no person was created"));
    assert_eq!((person["creates"].as_i64(), person["updates"].as_i64()), (Some(1), Some(49)), "got {person}");
    let records = t.store.audit().records(1, 1000).await.unwrap_or_else(|e| panic!("{e}"));
    let creates = records.iter().filter(|r| r.operation == "people.create").count();
    assert_eq!((records.len(), creates), (50, 1), "expected one audit record per mutation");
    let report = t.store.audit().verify().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "audit chain must verify: {report:?}");
}

async fn sigkill_at_each_ledger_phase_then_rerun_converges(t: &TestStore) {
    let url = url_arg(t);
    for stop_at in ["started", "request_sent", "sent", "completed"] {
        let key = format!("create-{stop_at}");
        let email = format!("{stop_at}@example.com");
        let mut child = spawn(&["crash", &url, &key, &email, stop_at], &[]);
        assert_eq!(read_line(&mut child), format!("at {stop_at}"));
        child.kill().unwrap_or_else(|e| panic!("SIGKILL: {e}")); // Child::kill sends SIGKILL on Unix.
        let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
        assert!(!status.success(), "the child must have died, got {status:?}");
        // The rerun runs 200 s ahead so the dead holder's 90 s lease has lapsed.
        let rerun = spawn(&["crash", &url, &key, &email, "none"], &[("SLPROD_TEST_CLOCK_AHEAD_SECS", "200")]);
        let out = finish(rerun, "rerun");
        let person =
            t.store.checkpoints().get(&format!("remote:people:{email}")).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            person.as_ref().and_then(|p| p["creates"].as_i64()),
            Some(1),
            "killed at {stop_at}: expected exactly one create, got {person:?} (rerun said {out:?})"
        );
        let entry = t.store.ledger().get(&key).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entry.map(|e| e.phase), Some(Phase::Completed), "killed at {stop_at}");
        let records = t.store.audit().records(1, 1000).await.unwrap_or_else(|e| panic!("{e}"));
        let mine = records.iter().filter(|r| r.idempotency_key.as_deref() == Some(key.as_str())).count();
        assert_eq!(mine, 1, "killed at {stop_at}: expected one audit record for the create");
        let report = t.store.audit().verify().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(report.ok, "killed at {stop_at}: audit chain must verify: {report:?}");
    }
}
