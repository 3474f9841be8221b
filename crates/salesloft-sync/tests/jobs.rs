//! The gateway's sync jobs as a library ([`JobRunner`]), on SQLite and PostgreSQL: a pull job writes its sink
//! and then reads only what changed; a push job upserts its file and sends nothing for an unchanged file; two
//! replicas never run one job at once; a lost lease and a shutdown stop a run after a checkpointed page; a
//! paused store keeps push jobs quiet.
//!
//! Time never passes by itself here: the runners, and the simulator where a page must be held in flight, run
//! on a [`SteppedClock`] whose sleeps end only when the test moves it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use salesloft_client::Client;
use salesloft_client::models::{PersonId, PersonInput};
use salesloft_clock::{Clock, ClockInstant, SharedClock, Sleep};
use salesloft_sim::{RunningSim, SimConfig, Simulator};
use salesloft_store::{Store, StoreOptions, StoreUrl};
use salesloft_sync::jobs::{
    JobEvent, JobKind, JobOutcome, JobRecord, JobRunner, JobSpec, LeaseState, PullResource, RowReader, RunnerConfig,
    SourceRow, SourceRows, record,
};
use salesloft_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};

on_both_backends!(super;
    a_pull_job_writes_the_sink_and_its_next_run_reads_only_changes,
    a_push_job_upserts_its_file_and_an_unchanged_file_sends_nothing,
    two_replicas_never_run_one_job_at_once,
    a_lost_lease_stops_the_run_after_the_current_page,
    failing_renewals_cut_the_run_off_before_the_lease_lapses,
    a_paused_store_keeps_push_jobs_quiet,
    shutdown_mid_run_leaves_a_checkpoint_and_the_next_run_continues,
    shutdown_mid_push_finishes_the_current_row_and_the_next_run_sends_the_rest,
    a_lost_lease_stops_a_push_after_the_current_row,
);

const INTERVAL: Duration = Duration::from_secs(10);
/// How long a held page waits on the simulator's clock (released by the test).
const HELD: Duration = Duration::from_secs(600);

/// A clock whose sleeps end only when [`SteppedClock::advance`] moves it past their deadline; it also counts
/// the sleeps in progress, so a test can wait until something is parked on it.
#[derive(Debug, Clone)]
struct SteppedClock {
    now: Arc<watch::Sender<Duration>>,
    sleeping: Arc<watch::Sender<usize>>,
    wall_origin: Duration,
}

impl SteppedClock {
    fn new() -> Self {
        let wall_origin = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Self { now: Arc::new(watch::channel(Duration::ZERO).0), sleeping: Arc::new(watch::channel(0).0), wall_origin }
    }

    fn advance(&self, by: Duration) {
        self.now.send_modify(|now| *now += by);
    }

    /// Waits until at least `count` sleeps are in progress.
    async fn parked(&self, count: usize) {
        let mut sleeping = self.sleeping.subscribe();
        within(sleeping.wait_for(|n| *n >= count)).await.expect("the clock's sender lives");
    }

    fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }
}

/// Counts a sleep in progress until it ends or is dropped.
struct Parked(Arc<watch::Sender<usize>>);

impl Drop for Parked {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

impl Clock for SteppedClock {
    fn now(&self) -> ClockInstant {
        *self.now.borrow()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        let deadline = *self.now.borrow() + duration;
        let mut now = self.now.subscribe();
        self.sleeping.send_modify(|n| *n += 1);
        let parked = Parked(self.sleeping.clone());
        Box::pin(async move {
            let _parked = parked;
            let _ = now.wait_for(|now| *now >= deadline).await;
        })
    }

    fn unix_time(&self) -> Duration {
        self.wall_origin + *self.now.borrow()
    }
}

/// Bounds a wait so that a broken behaviour fails the test instead of hanging it (not a timing assertion).
async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future).await.expect("the awaited event never came")
}

/// JSON lines of [`PersonInput`], one row per line (the CLI plugs in `slprod push`'s reader instead).
struct JsonlReader;

impl RowReader for JsonlReader {
    fn rows(&self, path: &Path) -> Result<SourceRows, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let rows: Vec<Result<SourceRow, String>> = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                let line_no = index as u64 + 1;
                Ok(match serde_json::from_str::<PersonInput>(line) {
                    Ok(input) => SourceRow::Person { line: line_no, input: Box::new(input) },
                    Err(e) => SourceRow::Bad { line: line_no, email: None, reason: e.to_string() },
                })
            })
            .collect();
        Ok(Box::new(rows.into_iter()))
    }
}

/// The simulator (on `clock`, when given), a client, a store on `backend` (on `store_clock`, when given).
struct Fixture {
    sim: RunningSim,
    client: Client,
    store: Store,
    url: String,
    dir: tempfile::TempDir,
}

async fn fixture(
    backend: Backend,
    people: u64,
    clock: Option<&SteppedClock>,
    store_clock: Option<&SteppedClock>,
) -> Fixture {
    let config = SimConfig { seed_people: people, budget_per_minute: 1_000_000, ..SimConfig::default() };
    let sim = match clock {
        Some(clock) => Simulator::start_with_clock(config, clock.shared()).await,
        None => Simulator::start(config).await,
    }
    .expect("the simulator starts");
    let client = Client::with_api_key(sim.base_url(), sim.api_key().to_string().into()).expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = backend.store_url(dir.path());
    let store = open(&url, store_clock).await;
    Fixture { sim, client, store, url, dir }
}

async fn open(url: &str, clock: Option<&SteppedClock>) -> Store {
    let mut options = StoreOptions::default();
    if let Some(clock) = clock {
        options.clock = clock.shared();
    }
    salesloft_store::open_with(&StoreUrl::parse(url).expect("url"), options).await.expect("store")
}

fn pull_job(name: &str, sink: &Path) -> JobSpec {
    JobSpec {
        name: name.into(),
        kind: JobKind::Pull { resource: PullResource::People, sink: sink.to_path_buf() },
        interval: INTERVAL,
    }
}

fn push_job(name: &str, source: &Path) -> JobSpec {
    JobSpec { name: name.into(), kind: JobKind::PushPeople { source: source.to_path_buf() }, interval: INTERVAL }
}

/// A started runner: its events, and the trigger that shuts it down.
struct Replica {
    events: mpsc::UnboundedReceiver<JobEvent>,
    log: Vec<JobEvent>,
    shutdown: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

fn start(client: &Client, store: &Store, jobs: Vec<JobSpec>, clock: &SteppedClock, holder: &str) -> Replica {
    start_with(client, store, jobs, clock, holder, |_| {})
}

fn start_with(
    client: &Client,
    store: &Store,
    jobs: Vec<JobSpec>,
    clock: &SteppedClock,
    holder: &str,
    tune: impl FnOnce(&mut RunnerConfig),
) -> Replica {
    let (tx, events) = mpsc::unbounded_channel();
    let mut config = RunnerConfig {
        holder: holder.to_string(),
        clock: clock.shared(),
        row_reader: Some(Arc::new(JsonlReader)),
        events: Some(tx),
        ..RunnerConfig::default()
    };
    tune(&mut config);
    let runner = JobRunner::new(client.clone(), store.clone(), jobs, config);
    let (shutdown, stop) = oneshot::channel::<()>();
    let done = tokio::spawn(runner.run(async move {
        let _ = stop.await;
    }));
    Replica { events, log: Vec::new(), shutdown: Some(shutdown), done }
}

/// The next event on `events` that satisfies `wanted`; every event received is appended to `log`.
async fn next_matching(
    events: &mut mpsc::UnboundedReceiver<JobEvent>,
    log: &mut Vec<JobEvent>,
    wanted: impl Fn(&JobEvent) -> bool,
) -> JobEvent {
    loop {
        let event = within(events.recv()).await.expect("a runner is alive");
        log.push(event.clone());
        if wanted(&event) {
            return event;
        }
    }
}

impl Replica {
    /// The next event that satisfies `wanted` (every event is kept in `log`).
    async fn until(&mut self, wanted: impl Fn(&JobEvent) -> bool) -> JobEvent {
        next_matching(&mut self.events, &mut self.log, wanted).await
    }

    async fn finished(&mut self) -> JobOutcome {
        match self.until(|e| matches!(e, JobEvent::Finished { .. })).await {
            JobEvent::Finished { outcome, .. } => outcome,
            _ => unreachable!("filtered"),
        }
    }

    /// Waits until the runner waits for its next tick (its wait is timed), so moving the clock now ends it.
    async fn idle(&mut self) {
        self.until(|e| matches!(e, JobEvent::Idle { .. })).await;
    }

    async fn stop(mut self) -> Vec<JobEvent> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        within(&mut self.done).await.expect("the runner returns");
        while let Ok(event) = self.events.try_recv() {
            self.log.push(event);
        }
        self.log
    }
}

fn ids_in(path: &Path) -> Vec<i64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("a JSON line")["id"].as_i64().expect("an id"))
        .collect()
}

fn assert_unique(ids: &[i64]) {
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "expected no duplicate in the sink, got {} lines for {} ids",
        ids.len(),
        unique.len()
    );
}

async fn last_run(store: &Store, job: &str) -> JobRecord {
    record::load(store, job).await.expect("store").expect("the job recorded a run")
}

/// Requests under `/v2/people` (any method) in the simulator's log.
async fn people_requests(sim: &RunningSim) -> Vec<Value> {
    salesloft_testkit::sim::requests_to(sim.root_url(), &["GET", "POST", "PUT"], "/v2/people").await
}

/// Holds the `nth` (1-based) `GET /v2/people` on the simulator's clock; the first is the newest-record probe,
/// then come the pages.
async fn hold_request(sim: &RunningSim, nth: usize) {
    let mut sequence: Vec<Value> = (1..nth).map(|_| json!({"latency_ms": 0})).collect();
    sequence.push(json!({"latency_ms": HELD.as_millis() as u64}));
    salesloft_testkit::sim::add_fault(
        sim.root_url(),
        json!({"method": "GET", "path": "/v2/people", "sequence": sequence}),
    )
    .await;
}

fn write_people(path: &PathBuf, emails: &[&str]) {
    let text: String = emails
        .iter()
        .map(|email| {
            format!("{}\n", json!({"email_address": email, "first_name": "Job", "last_name": email.len().to_string()}))
        })
        .collect();
    std::fs::write(path, text).expect("write the source");
}

async fn a_pull_job_writes_the_sink_and_its_next_run_reads_only_changes(backend: Backend) {
    let f = fixture(backend, 250, None, None).await;
    let clock = SteppedClock::new();
    let sink = f.dir.path().join("people.jsonl");
    let mut replica = start(&f.client, &f.store, vec![pull_job("people-to-warehouse", &sink)], &clock, "replica-a");
    assert_eq!(replica.finished().await, JobOutcome::Ok);
    replica.idle().await;
    let first = ids_in(&sink);
    assert_eq!(first.len(), 250, "the first run writes every person");
    assert_unique(&first);
    let run = last_run(&f.store, "people-to-warehouse").await;
    assert_eq!((run.outcome, run.rows, run.kind.as_str()), (JobOutcome::Ok, 250, "pull"));
    assert!(run.finished_at.is_some() && run.cost >= 3, "{run:?}");

    // Three people change later; the next run appends exactly those.
    f.sim.advance_clock(Duration::from_secs(60));
    let changed = [first[3], first[100], first[200]];
    for id in changed {
        let input = PersonInput::default().title("Changed");
        f.client.people().update(PersonId(id), &input).await.expect("update");
    }
    clock.advance(INTERVAL);
    assert_eq!(replica.finished().await, JobOutcome::Ok);
    let all = ids_in(&sink);
    assert_eq!(&all[250..], &changed[..], "the second run appended only the changed people");
    assert_eq!(last_run(&f.store, "people-to-warehouse").await.rows, 3);
    replica.stop().await;
    f.store.close().await;
    f.sim.shutdown().await;
}

async fn a_push_job_upserts_its_file_and_an_unchanged_file_sends_nothing(backend: Backend) {
    let f = fixture(backend, 0, None, None).await;
    let clock = SteppedClock::new();
    let source = f.dir.path().join("people.jsonl");
    write_people(&source, &["a@jobs.test", "b@jobs.test", "c@jobs.test"]);
    let mut replica = start(&f.client, &f.store, vec![push_job("crm-push", &source)], &clock, "replica-a");
    assert_eq!(replica.finished().await, JobOutcome::Ok);
    let creates = salesloft_testkit::sim::requests_to(f.sim.root_url(), &["POST"], "/v2/people").await;
    assert_eq!(creates.len(), 3, "every row was created once");
    let run = last_run(&f.store, "crm-push").await;
    assert_eq!((run.rows, run.kind.as_str()), (3, "push"));
    assert!(run.completed_run_id.is_some(), "{run:?}");
    replica.idle().await;

    let before = people_requests(&f.sim).await.len();
    clock.advance(INTERVAL);
    assert_eq!(replica.finished().await, JobOutcome::Unchanged);
    assert_eq!(people_requests(&f.sim).await.len(), before, "an unchanged file sends nothing, not even lookups");
    assert_eq!(last_run(&f.store, "crm-push").await.cost, 0);
    replica.idle().await;

    // A changed file is a new run: the new row is created, the others are found unchanged.
    write_people(&source, &["a@jobs.test", "b@jobs.test", "c@jobs.test", "d@jobs.test"]);
    clock.advance(INTERVAL);
    assert_eq!(replica.finished().await, JobOutcome::Ok);
    let creates = salesloft_testkit::sim::requests_to(f.sim.root_url(), &["POST"], "/v2/people").await;
    assert_eq!(creates.len(), 4, "only the new row was created");
    replica.idle().await;

    // A row that can never succeed (not JSON) leaves the run complete with problems: the same file is not
    // read again, and its verdict stays visible.
    let mut text = std::fs::read_to_string(&source).expect("read");
    text.push_str("{not json\n");
    std::fs::write(&source, text).expect("write");
    clock.advance(INTERVAL);
    assert_eq!(replica.finished().await, JobOutcome::Problems);
    replica.idle().await;
    let before = people_requests(&f.sim).await.len();
    clock.advance(INTERVAL);
    assert_eq!(replica.finished().await, JobOutcome::Unchanged);
    assert_eq!(people_requests(&f.sim).await.len(), before, "the bad row is not retried every interval");
    let run = last_run(&f.store, "crm-push").await;
    assert!(run.error.as_deref().is_some_and(|e| e.contains("1 rows failed")), "{run:?}");
    replica.stop().await;
    f.store.close().await;
    f.sim.shutdown().await;
}

async fn two_replicas_never_run_one_job_at_once(backend: Backend) {
    let sim_clock = SteppedClock::new();
    let f = fixture(backend, 150, Some(&sim_clock), None).await;
    let clock = SteppedClock::new();
    let sink = f.dir.path().join("people.jsonl");
    // Each replica opens the store on its own, as two processes would.
    let other_store = open(&f.url, None).await;
    hold_request(&f.sim, 1).await;
    // Both replicas report to one channel, so the log is in the order things happened across them.
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut log = Vec::new();
    let shared = |config: &mut RunnerConfig| config.events = Some(tx.clone());
    let a = start_with(&f.client, &f.store, vec![pull_job("shared", &sink)], &clock, "replica-a", shared);
    let b = start_with(&f.client, &other_store, vec![pull_job("shared", &sink)], &clock, "replica-b", shared);
    let holder_of = |event: &JobEvent| match event {
        JobEvent::Started { holder, .. }
        | JobEvent::Skipped { holder, .. }
        | JobEvent::Idle { holder, .. }
        | JobEvent::Finished { holder, .. } => Some(holder.clone()),
        _ => None,
    };

    // One of them holds the job; its first request is held on the simulator's clock.
    let started = next_matching(&mut events, &mut log, |e| matches!(e, JobEvent::Started { .. })).await;
    let running = holder_of(&started).expect("a holder");
    let waiting = if running == "replica-a" { "replica-b" } else { "replica-a" }.to_string();
    sim_clock.parked(1).await;
    let is = |kind: fn(&JobEvent) -> bool, who: &str| {
        let who = who.to_string();
        move |e: &JobEvent| kind(e) && holder_of(e).as_deref() == Some(who.as_str())
    };
    let skipped = |e: &JobEvent| matches!(e, JobEvent::Skipped { .. });
    let idle = |e: &JobEvent| matches!(e, JobEvent::Idle { .. });
    let finished = |e: &JobEvent| matches!(e, JobEvent::Finished { .. });
    let skip = next_matching(&mut events, &mut log, is(skipped, &waiting)).await;
    assert_eq!(
        skip,
        JobEvent::Skipped { job: "shared".into(), holder: waiting.clone(), held_by: Some(running.clone()) },
        "the other replica skips while the job runs"
    );
    // The waiting replica's next tick comes while the run is still in flight: skipped again.
    next_matching(&mut events, &mut log, is(idle, &waiting)).await;
    clock.advance(INTERVAL);
    next_matching(&mut events, &mut log, is(skipped, &waiting)).await;
    next_matching(&mut events, &mut log, is(idle, &waiting)).await;
    sim_clock.advance(HELD);
    next_matching(&mut events, &mut log, is(finished, &running)).await;
    next_matching(&mut events, &mut log, is(idle, &running)).await;
    // Both try at the next tick: one after the other, never together.
    clock.advance(INTERVAL);
    next_matching(&mut events, &mut log, finished).await;

    a.stop().await;
    b.stop().await;
    drop(tx);
    while let Some(event) = events.recv().await {
        log.push(event);
    }
    // Runs never overlap: every Started is followed by its own Finished before the next Started.
    let mut in_run: Option<String> = None;
    for event in &log {
        match event {
            JobEvent::Started { holder, .. } => {
                assert_eq!(in_run, None, "{holder} started while another run was going on: {log:?}");
                in_run = Some(holder.clone());
            }
            JobEvent::Finished { holder, .. } => {
                assert_eq!(in_run.as_deref(), Some(holder.as_str()), "a run ended that was not going on: {log:?}");
                in_run = None;
            }
            _ => {}
        }
    }
    let runs = log.iter().filter(|e| matches!(e, JobEvent::Started { .. })).count();
    assert!(runs >= 2, "the job ran again once its lease was released: {log:?}");
    let ids = ids_in(&sink);
    assert_eq!(ids.len(), 150, "the sink holds every person once");
    assert_unique(&ids);
    other_store.close().await;
    f.store.close().await;
    f.sim.shutdown().await;
}

async fn a_lost_lease_stops_the_run_after_the_current_page(backend: Backend) {
    let sim_clock = SteppedClock::new();
    let store_clock = SteppedClock::new();
    let f = fixture(backend, 500, Some(&sim_clock), Some(&store_clock)).await;
    let clock = SteppedClock::new();
    let sink = f.dir.path().join("people.jsonl");
    // The probe and the first page go through; the second page is held.
    hold_request(&f.sim, 3).await;
    let mut replica = start(&f.client, &f.store, vec![pull_job("people", &sink)], &clock, "replica-a");
    replica.until(|e| matches!(e, JobEvent::Page { records: 100, .. })).await;
    sim_clock.parked(1).await;

    // The lease lapses (its renewal is late) and another holder takes the job.
    store_clock.advance(Duration::from_secs(91));
    let thief = f.store.locks().try_acquire("job:people", "replica-b", Duration::from_secs(90)).await.expect("store");
    assert!(thief.is_some(), "the lapsed lease can be taken");
    clock.advance(Duration::from_secs(30));
    let lost = replica.until(|e| matches!(e, JobEvent::Lease { .. })).await;
    assert!(matches!(lost, JobEvent::Lease { state: LeaseState::Lost(_), .. }), "{lost:?}");

    // The page in flight is written and checkpointed, then the run stops.
    sim_clock.advance(HELD);
    assert_eq!(replica.finished().await, JobOutcome::LeaseLost);
    let ids = ids_in(&sink);
    assert_eq!(ids.len(), 200, "stopped after the page that was in flight, not at the end");
    assert_unique(&ids);
    let run = last_run(&f.store, "people").await;
    assert_eq!((run.outcome, run.rows), (JobOutcome::LeaseLost, 200));
    replica.stop().await;
    f.store.close().await;
    f.sim.shutdown().await;
}

async fn failing_renewals_cut_the_run_off_before_the_lease_lapses(backend: Backend) {
    let sim_clock = SteppedClock::new();
    let f = fixture(backend, 500, Some(&sim_clock), None).await;
    let clock = SteppedClock::new();
    let sink = f.dir.path().join("people.jsonl");
    hold_request(&f.sim, 3).await;
    let mut replica = start(&f.client, &f.store, vec![pull_job("people", &sink)], &clock, "replica-a");
    replica.until(|e| matches!(e, JobEvent::Page { records: 100, .. })).await;
    sim_clock.parked(1).await;
    // The store becomes unreachable: the renewal at 30 s fails, and at 60 s (two thirds of the 90 s lease) no
    // renewal has succeeded since the take — the run is cut off while the page is still in flight.
    f.store.close().await;
    clock.advance(Duration::from_secs(60));
    let expiring = replica.until(|e| matches!(e, JobEvent::Lease { .. })).await;
    assert!(matches!(expiring, JobEvent::Lease { state: LeaseState::Expiring(_), .. }), "{expiring:?}");
    assert_eq!(replica.finished().await, JobOutcome::LeaseLost);
    assert_eq!(ids_in(&sink).len(), 100, "the page in flight was dropped, not written");
    sim_clock.advance(HELD);
    replica.stop().await;
    f.sim.shutdown().await;
}

async fn a_paused_store_keeps_push_jobs_quiet(backend: Backend) {
    let f = fixture(backend, 0, None, None).await;
    let clock = SteppedClock::new();
    let source = f.dir.path().join("people.jsonl");
    write_people(&source, &["p@jobs.test", "q@jobs.test"]);
    f.store.pause().set_paused(true, "ops", "incident 42").await.expect("pause");
    let mut replica = start(&f.client, &f.store, vec![push_job("crm-push", &source)], &clock, "replica-a");
    assert_eq!(replica.finished().await, JobOutcome::Paused);
    assert!(people_requests(&f.sim).await.is_empty(), "nothing is sent while paused, not even a lookup");
    let run = last_run(&f.store, "crm-push").await;
    assert!(run.error.as_deref().is_some_and(|e| e.contains("incident 42")), "{run:?}");
    replica.idle().await;

    f.store.pause().set_paused(false, "", "").await.expect("resume");
    clock.advance(INTERVAL);
    assert_eq!(replica.finished().await, JobOutcome::Ok);
    let creates = salesloft_testkit::sim::requests_to(f.sim.root_url(), &["POST"], "/v2/people").await;
    assert_eq!(creates.len(), 2, "resumed: the rows go out");
    replica.stop().await;
    f.store.close().await;
    f.sim.shutdown().await;
}

async fn shutdown_mid_run_leaves_a_checkpoint_and_the_next_run_continues(backend: Backend) {
    let sim_clock = SteppedClock::new();
    let f = fixture(backend, 500, Some(&sim_clock), None).await;
    let clock = SteppedClock::new();
    let sink = f.dir.path().join("people.jsonl");
    hold_request(&f.sim, 3).await;
    let mut replica = start(&f.client, &f.store, vec![pull_job("people", &sink)], &clock, "replica-a");
    replica.until(|e| matches!(e, JobEvent::Page { records: 100, .. })).await;
    sim_clock.parked(1).await;
    // Shutdown while the second page is in flight: it is finished and checkpointed, then the runner returns.
    let shutdown = replica.shutdown.take().expect("trigger");
    let _ = shutdown.send(());
    sim_clock.advance(HELD);
    let events = replica.stop().await;
    assert!(
        events.iter().any(|e| matches!(e, JobEvent::Finished { outcome: JobOutcome::Stopped, .. })),
        "the run stopped at a safe point: {events:?}"
    );
    assert_eq!(ids_in(&sink).len(), 200, "the page in flight was written, then the run stopped");
    assert_eq!(f.store.locks().holder("job:people").await.expect("store"), None, "the lease was released");
    assert_eq!(last_run(&f.store, "people").await.outcome, JobOutcome::Stopped);

    // The next runner (a restart) continues from the checkpoint.
    let mut next = start(&f.client, &f.store, vec![pull_job("people", &sink)], &clock, "replica-a2");
    assert_eq!(next.finished().await, JobOutcome::Ok);
    let ids = ids_in(&sink);
    assert_eq!(ids.len(), 500, "nothing lost");
    assert_unique(&ids);
    assert_eq!(last_run(&f.store, "people").await.rows, 300, "the second run read only what was left");
    next.stop().await;
    f.store.close().await;
    f.sim.shutdown().await;
}

async fn shutdown_mid_push_finishes_the_current_row_and_the_next_run_sends_the_rest(backend: Backend) {
    let sim_clock = SteppedClock::new();
    let f = fixture(backend, 0, Some(&sim_clock), None).await;
    let clock = SteppedClock::new();
    let source = f.dir.path().join("people.jsonl");
    write_people(&source, &["r1@jobs.test", "r2@jobs.test", "r3@jobs.test"]);
    // The first create is held on the simulator's clock; rows go one at a time.
    let rule = json!({"method": "POST", "path": "/v2/people", "sequence": [{"latency_ms": HELD.as_millis() as u64}]});
    salesloft_testkit::sim::add_fault(f.sim.root_url(), rule).await;
    let one_at_a_time = |config: &mut RunnerConfig| config.push_concurrency = 1;
    let mut replica =
        start_with(&f.client, &f.store, vec![push_job("crm-push", &source)], &clock, "replica-a", one_at_a_time);
    replica.until(|e| matches!(e, JobEvent::Started { .. })).await;
    sim_clock.parked(1).await;
    let shutdown = replica.shutdown.take().expect("trigger");
    let _ = shutdown.send(());
    sim_clock.advance(HELD);
    let events = replica.stop().await;
    assert!(
        events.iter().any(|e| matches!(e, JobEvent::Finished { outcome: JobOutcome::Stopped, .. })),
        "the run stopped after the row in flight: {events:?}"
    );
    let creates = || salesloft_testkit::sim::requests_to(f.sim.root_url(), &["POST"], "/v2/people");
    assert_eq!(creates().await.len(), 1, "the row in flight finished; the others were not sent");
    let run = last_run(&f.store, "crm-push").await;
    assert!(run.error.as_deref().is_some_and(|e| e.contains("2 rows")), "{run:?}");
    assert_eq!(run.completed_run_id, None, "a stopped run is not complete");

    let mut next = start(&f.client, &f.store, vec![push_job("crm-push", &source)], &clock, "replica-a2");
    assert_eq!(next.finished().await, JobOutcome::Ok);
    assert_eq!(creates().await.len(), 3, "the rest was sent once; the finished row was replayed, not sent again");
    next.stop().await;
    f.store.close().await;
    f.sim.shutdown().await;
}

async fn a_lost_lease_stops_a_push_after_the_current_row(backend: Backend) {
    let sim_clock = SteppedClock::new();
    let store_clock = SteppedClock::new();
    let f = fixture(backend, 0, Some(&sim_clock), Some(&store_clock)).await;
    let clock = SteppedClock::new();
    let source = f.dir.path().join("people.jsonl");
    write_people(&source, &["l1@jobs.test", "l2@jobs.test", "l3@jobs.test"]);
    let rule = json!({"method": "POST", "path": "/v2/people", "sequence": [{"latency_ms": HELD.as_millis() as u64}]});
    salesloft_testkit::sim::add_fault(f.sim.root_url(), rule).await;
    let one_at_a_time = |config: &mut RunnerConfig| config.push_concurrency = 1;
    let mut replica =
        start_with(&f.client, &f.store, vec![push_job("crm-push", &source)], &clock, "replica-a", one_at_a_time);
    replica.until(|e| matches!(e, JobEvent::Started { .. })).await;
    sim_clock.parked(1).await;
    // The job's lease lapses and another replica takes it while the first create is in flight.
    store_clock.advance(Duration::from_secs(91));
    let thief = f.store.locks().try_acquire("job:crm-push", "replica-b", Duration::from_secs(90)).await.expect("store");
    assert!(thief.is_some(), "the lapsed lease can be taken");
    clock.advance(Duration::from_secs(30));
    let lost = replica.until(|e| matches!(e, JobEvent::Lease { .. })).await;
    assert!(matches!(lost, JobEvent::Lease { state: LeaseState::Lost(_), .. }), "{lost:?}");
    sim_clock.advance(HELD);
    assert_eq!(replica.finished().await, JobOutcome::LeaseLost);
    let creates = salesloft_testkit::sim::requests_to(f.sim.root_url(), &["POST"], "/v2/people").await;
    assert_eq!(creates.len(), 1, "the row in flight finished; no further row was sent under a lost lease");
    replica.stop().await;
    f.store.close().await;
    f.sim.shutdown().await;
}
