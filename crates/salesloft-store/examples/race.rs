//! A child process for the store's multi-process tests (`tests/processes.rs`); also a runnable demo of the
//! ledger + lock + audit pattern an upsert uses. Modes:
//!
//! - `open URL...` — opens (creating and migrating) each store in turn, then prints `opened N`.
//! - `lock URL NAME HOLDER GO_FILE` — waits until GO_FILE exists, tries the lock once (60 s lease), prints
//!   `acquired FENCE` or `busy`.
//! - `counter URL N HOLDER` — N times: take lock `counter`, read checkpoint `counter`, write it + 1, release.
//! - `upsert URL EMAIL TASKS HOLDER` — TASKS concurrent upserts of one email: lock per email, then look the
//!   person up in a fake remote (a checkpoint row), then create or update through the ledger, with one audit
//!   record per mutation.
//! - `crash URL KEY EMAIL STOP_AT` — one create through the ledger; prints `at PHASE` and waits forever at
//!   STOP_AT (`started`, `request_sent`, `sent`, `completed`) so the test can SIGKILL it there; `none` runs to the
//!   end, reconciling an in-doubt create by looking the email up before sending again.
//!
//! `SLPROD_TEST_CLOCK_AHEAD_SECS` moves this process's clock ahead, so a rerun sees a dead holder's lease lapsed
//! without the test sleeping.

use std::sync::Arc;
use std::time::Duration;

use salesloft_store::clock::{ClockInstant, Sleep, SystemClock};
use salesloft_store::{AuditEntry, Begin, Clock, Phase, Store, StoreOptions, StoreUrl};
use serde_json::json;
use time::OffsetDateTime;

#[derive(Debug)]
struct AheadClock(Duration, SystemClock);

impl Clock for AheadClock {
    fn now(&self) -> ClockInstant {
        self.1.now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        self.1.sleep(duration)
    }

    fn unix_time(&self) -> Duration {
        self.1.unix_time() + self.0
    }

    fn now_utc(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.0
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(error) = run(&args).await {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}

async fn open(url: &str) -> Result<Store, Error> {
    let ahead = std::env::var("SLPROD_TEST_CLOCK_AHEAD_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let options = StoreOptions {
        clock: Arc::new(AheadClock(Duration::from_secs(ahead), SystemClock::new())),
        ..StoreOptions::default()
    };
    Ok(salesloft_store::open_with(&StoreUrl::parse(url)?, options).await?)
}

fn arg<'a>(args: &'a [String], i: usize, what: &str) -> Result<&'a str, Error> {
    args.get(i).map(String::as_str).ok_or_else(|| format!("missing argument {i}: {what}").into())
}

async fn run(args: &[String]) -> Result<(), Error> {
    let mode = arg(args, 0, "mode")?;
    if mode == "open" {
        for url in &args[1..] {
            open(url).await.map_err(|e| format!("opening {url}: {e}"))?.close().await;
        }
        println!("opened {}", args.len() - 1);
        return Ok(());
    }
    let store = open(arg(args, 1, "store url")?).await?;
    match mode {
        "lock" => {
            let (name, holder, go) = (arg(args, 2, "name")?, arg(args, 3, "holder")?, arg(args, 4, "go file")?);
            println!("ready");
            // Start together: wait for the test's go signal (a file) so both processes race the same instant.
            while !std::path::Path::new(go).exists() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            match store.locks().try_acquire(name, holder, Duration::from_secs(60)).await? {
                Some(guard) => println!("acquired {}", guard.fence),
                None => println!("busy"),
            }
        }
        "counter" => {
            let n: usize = arg(args, 2, "n")?.parse()?;
            let holder = arg(args, 3, "holder")?;
            for _ in 0..n {
                let guard = store
                    .locks()
                    .acquire("counter", holder, Duration::from_secs(30), Duration::from_secs(60))
                    .await?
                    .ok_or("lock wait timed out")?;
                let value = store.checkpoints().get("counter").await?.and_then(|v| v.as_i64()).unwrap_or(0);
                store.checkpoints().put("counter", &json!(value + 1)).await?;
                if !store.locks().release(guard).await? {
                    return Err("lost the counter lock while holding it".into());
                }
            }
        }
        "upsert" => {
            let (email, tasks, holder) =
                (arg(args, 2, "email")?, arg(args, 3, "tasks")?.parse::<usize>()?, arg(args, 4, "holder")?);
            let mut handles = Vec::new();
            for i in 0..tasks {
                let (store, email, key) = (store.clone(), email.to_owned(), format!("{holder}-{i}"));
                let holder = format!("{holder}/{i}");
                handles.push(tokio::spawn(async move { upsert(&store, &email, &key, &holder).await }));
            }
            for handle in handles {
                handle.await??;
            }
        }
        "crash" => {
            let (key, email, stop_at) = (arg(args, 2, "key")?, arg(args, 3, "email")?, arg(args, 4, "stop at")?);
            crash_run(&store, key, email, stop_at).await?;
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    store.close().await;
    Ok(())
}

fn remote_key(email: &str) -> String {
    format!("remote:people:{email}")
}

fn audit(op: &str, email: &str, key: &str, status: u16) -> AuditEntry {
    AuditEntry {
        actor: "race-example".into(),
        operation: op.into(),
        resource: format!("people?email={email}"),
        request: json!({"email_address": email}),
        response_status: Some(status),
        idempotency_key: Some(key.into()),
        correlation_id: None,
    }
}

/// Lock the email, look it up, create or update through the ledger: the pattern of DESIGN.md "Upsert by email".
async fn upsert(store: &Store, email: &str, key: &str, holder: &str) -> Result<(), Error> {
    let lock = format!("email:{email}");
    let guard = store
        .locks()
        .acquire(&lock, holder, Duration::from_secs(30), Duration::from_secs(120))
        .await?
        .ok_or("lock wait timed out")?;
    let remote = store.checkpoints().get(&remote_key(email)).await?;
    let ledger = store.ledger();
    let lease = match ledger.begin(key, "fp", holder, Duration::from_secs(90)).await? {
        Begin::New(lease) => lease,
        other => return Err(format!("unexpected begin outcome {other:?}").into()),
    };
    ledger.advance(&lease, Phase::RequestSent, None).await?;
    let (op, person) = match remote {
        None => ("people.create", json!({"id": 1, "creates": 1, "updates": 0})),
        Some(mut person) => {
            person["updates"] = json!(person["updates"].as_i64().unwrap_or(0) + 1);
            ("people.update", person)
        }
    };
    store.checkpoints().put(&remote_key(email), &person).await?;
    ledger.complete(lease, &person, Some(&audit(op, email, key, 200))).await?;
    if !store.locks().release(guard).await? {
        return Err("lost the email lock while holding it".into());
    }
    Ok(())
}

fn stop(at: &str, stop_at: &str) {
    if at == stop_at {
        println!("at {at}");
        // Wait here until the test kills this process with SIGKILL.
        loop {
            std::thread::park();
        }
    }
}

/// One create with recovery points. A rerun after a kill resumes; an in-doubt create (RequestSent) is
/// reconciled by looking the email up before anything is sent again.
async fn crash_run(store: &Store, key: &str, email: &str, stop_at: &str) -> Result<(), Error> {
    let ledger = store.ledger();
    let (lease, phase) = match ledger.begin(key, "fp", "crash", Duration::from_secs(90)).await? {
        Begin::New(lease) => (lease, Phase::Started),
        Begin::Resume { phase, lease } => (lease, phase),
        Begin::Completed(_) => {
            println!("already completed");
            return Ok(());
        }
        other => return Err(format!("unexpected begin outcome {other:?}").into()),
    };
    stop("started", stop_at);
    if phase == Phase::RequestSent {
        // In doubt: did the create reach the remote before the crash?
        if let Some(person) = store.checkpoints().get(&remote_key(email)).await? {
            println!("reconciled: found the person, not sending again");
            ledger.complete(lease, &person, Some(&audit("people.create", email, key, 200))).await?;
            stop("completed", stop_at);
            return Ok(());
        }
    } else {
        ledger.advance(&lease, Phase::RequestSent, None).await?;
    }
    stop("request_sent", stop_at);
    {
        let creates =
            store.checkpoints().get(&remote_key(email)).await?.and_then(|p| p["creates"].as_i64()).unwrap_or(0);
        let person = json!({"id": 1, "creates": creates + 1});
        store.checkpoints().put(&remote_key(email), &person).await?;
        stop("sent", stop_at);
        ledger.complete(lease, &person, Some(&audit("people.create", email, key, 201))).await?;
    }
    stop("completed", stop_at);
    println!("done");
    Ok(())
}
