//! Handing stored webhook deliveries on (issue 9), over real HTTP on both backends: SalesLoft's signed
//! deliveries go in through `POST /webhooks/salesloft`, come out at a local Standard Webhooks subscriber and
//! in the JSONL sink, in order per resource and once each; stale updates are recorded and dropped; failures are
//! retried with backoff and end as dead letters; the sink survives a torn line and a crash before the mark.
//!
//! Time: the store runs on a `ManualClock` whose sleeps return at once, so backoff waits pass without
//! sleeping; the subscriber stamps each request with its `webhook-timestamp`, which shows the waits. A test
//! waits for the subscriber to have seen what it expects, then stops the gateway: a graceful stop finishes the
//! delivery in hand, so the store and the sink are final when `serve` returns.

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, StatusCode};
use salesloft_gateway::{Backoff, DispatchConfig, Gateway, GatewayConfig, Subscriber};
use salesloft_store::{ManualClock, Store, StoreOptions, StoreUrl};
use salesloft_testkit::{Backend, on_both_backends};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

on_both_backends!(super;
    deliveries_reach_subscriber_and_sink_once_each_in_order_per_resource,
    two_gateways_on_one_store_hand_each_delivery_on_once_in_order,
    a_stale_update_is_recorded_and_not_handed_on,
    a_failing_subscriber_is_retried_with_backoff_until_it_answers,
    a_dead_delivery_unblocks_the_later_ones_of_its_resource,
    a_crash_between_sink_line_and_mark_and_a_torn_line_leave_one_line_each,
    a_subscriber_answering_garbage_is_a_failed_attempt,
);

/// The subscriber's secret: `whsec_` + base64 of these bytes.
const KEY: &[u8] = b"subscriber-signing-key-0123456789";
const BASE: Duration = Duration::from_secs(10);

fn secret() -> String {
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(KEY))
}

/// One request the subscriber received.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
    answered: u16,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A local subscriber answering 500 to its first `fail_first` requests, then 204.
struct FakeSubscriber {
    url: String,
    seen: Arc<Mutex<Vec<Received>>>,
    rx: mpsc::UnboundedReceiver<Received>,
    /// Requests answered 2xx taken from `rx` so far.
    delivered: usize,
}

#[derive(Clone)]
struct SubState {
    fail_first: usize,
    seen: Arc<Mutex<Vec<Received>>>,
    tx: mpsc::UnboundedSender<Received>,
}

async fn subscriber(fail_first: usize) -> FakeSubscriber {
    async fn receive(State(state): State<SubState>, headers: HeaderMap, body: Bytes) -> StatusCode {
        let mut seen = state.seen.lock().unwrap_or_else(|p| p.into_inner());
        let status =
            if seen.len() < state.fail_first { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::NO_CONTENT };
        let received = Received { headers, body: body.to_vec(), answered: status.as_u16() };
        seen.push(received.clone());
        let _ = state.tx.send(received);
        status
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(SubState {
        fail_first,
        seen: seen.clone(),
        tx,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    FakeSubscriber { url, seen, rx, delivered: 0 }
}

impl FakeSubscriber {
    /// Waits until `n` requests were answered 2xx; returns every request so far.
    async fn until_delivered(&mut self, n: usize) -> Vec<Received> {
        while self.delivered < n {
            match tokio::time::timeout(Duration::from_secs(30), self.rx.recv()).await {
                Ok(Some(r)) if r.answered < 300 => self.delivered += 1,
                Ok(Some(_)) => {}
                other => panic!("the subscriber saw {} of {n} deliveries ({other:?})", self.delivered),
            }
        }
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A gateway serving with `dispatch` on a store at `url` whose clock is `clock`.
struct Running {
    url: String,
    store: Store,
    http: reqwest::Client,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), salesloft_gateway::GatewayError>>,
}

async fn gateway(url: &StoreUrl, clock: &ManualClock, dispatch: DispatchConfig) -> Running {
    let options = StoreOptions { clock: Arc::new(clock.clone()), ..StoreOptions::default() };
    let store = salesloft_store::open_with(url, options).await.expect("store");
    // The dispatcher never calls SalesLoft: a pipeline to a closed port will do.
    let pipeline =
        salesloft_client::transport::Pipeline::with_api_key("http://127.0.0.1:9/v2", "ak".to_string().into())
            .expect("pipeline");
    let config = GatewayConfig { dispatch, ..support::config(&salesloft_client::clock::ManualClock::new()) };
    let gateway = Gateway::new(pipeline, store.clone(), config).expect("gateway");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(gateway.serve(listener, async move {
        let _ = stopped.await;
    }));
    Running { url, store, http: reqwest::Client::new(), stop, task }
}

impl Running {
    async fn deliver(&self, event: &str, body: &str) {
        let response = self
            .http
            .post(format!("{}/webhooks/salesloft", self.url))
            .header("x-salesloft-event", event)
            .header("x-salesloft-signature", salesloft_gateway::auth::sign(support::SECRET_OLD, body.as_bytes()))
            .body(body.to_owned())
            .send()
            .await
            .expect("the gateway answers");
        assert_eq!(response.status().as_u16(), 200, "delivery of {body} stored");
    }

    /// Stops as SIGTERM would and waits for the drain (in-hand deliveries finished).
    async fn stop(self) -> Store {
        let _ = self.stop.send(());
        self.task.await.expect("serve does not panic").expect("a clean stop");
        self.store
    }
}

fn dispatch(sink: Option<PathBuf>, subscriber: &FakeSubscriber) -> DispatchConfig {
    DispatchConfig {
        sink,
        subscribers: vec![Subscriber::new(&subscriber.url, &secret()).expect("subscriber")],
        backoff: Backoff { base: BASE, max: Duration::from_secs(60) },
        // Far above any backoff, so the manual clock's jumps never lapse a claim in hand.
        visibility: Duration::from_secs(3600),
        idle_poll: Duration::from_millis(50),
        ..DispatchConfig::default()
    }
}

fn person(id: u64, seq: u32) -> String {
    format!(r#"{{"id":{id},"updated_at":"2026-01-01T00:00:{seq:02}.000000-05:00","seq":{seq}}}"#)
}

fn sink_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("sink line {l:?} is not JSON: {e}")))
        .collect()
}

fn start_clock() -> ManualClock {
    ManualClock::new(time::macros::datetime!(2026-11-30 12:00:00 UTC))
}

/// Checks a request as a Standard Webhooks consumer would, computing the HMAC here from the spec:
/// base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")) after `v1,`.
fn verify_standard_webhooks(r: &Received) {
    let (id, timestamp) = (r.header("webhook-id"), r.header("webhook-timestamp"));
    assert!(id.starts_with("msg_"), "webhook-id {id:?}");
    assert!(timestamp.parse::<i64>().is_ok(), "webhook-timestamp {timestamp:?}");
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(KEY).expect("key");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&r.body);
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    let signatures: Vec<&str> = r.header("webhook-signature").split(' ').collect();
    assert!(signatures.contains(&expected.as_str()), "signature {signatures:?}, expected {expected}");
    assert_eq!(r.header("content-type"), "application/json");
}

/// Per resource id, the `seq` values in the order they were handed on.
fn seqs_by_resource(bodies: impl Iterator<Item = Value>) -> std::collections::BTreeMap<u64, Vec<u64>> {
    let mut by = std::collections::BTreeMap::<u64, Vec<u64>>::new();
    for body in bodies {
        by.entry(body["id"].as_u64().unwrap_or(0)).or_default().push(body["seq"].as_u64().unwrap_or(0));
    }
    by
}

async fn deliveries_reach_subscriber_and_sink_once_each_in_order_per_resource(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = StoreUrl::parse(&backend.store_url(dir.path())).expect("url");
    let sink = dir.path().join("sink.jsonl");
    let mut sub = subscriber(0).await;
    let g = gateway(&url, &start_clock(), dispatch(Some(sink.clone()), &sub)).await;
    for seq in 0..5 {
        for id in 1..=3 {
            g.deliver(if seq == 0 { "person_created" } else { "person_updated" }, &person(id, seq)).await;
        }
    }
    g.deliver("person_updated", &person(1, 4)).await; // a SalesLoft retry of the same event: deduplicated
    let seen = sub.until_delivered(15).await;
    let store = g.stop().await;

    for r in &seen {
        verify_standard_webhooks(r);
        assert!(r.header("x-salesloft-event").starts_with("person_"), "{:?}", r.headers);
    }
    assert_eq!(seen.len(), 15, "one POST per delivery, none for the duplicate");
    let mut ids: Vec<&str> = seen.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 15, "a webhook-id per delivery");
    let want: Vec<u64> = (0..5).collect();
    for (id, seqs) in seqs_by_resource(seen.iter().map(Received::json)) {
        assert_eq!(seqs, want, "person {id} handed to the subscriber in order");
    }
    let lines = sink_lines(&sink);
    assert_eq!(lines.len(), 15, "one sink line per delivery");
    for (id, seqs) in seqs_by_resource(lines.iter().map(|l| l["body"].clone())) {
        assert_eq!(seqs, want, "person {id} in the sink in order");
    }
    assert!(lines.iter().all(|l| l["event"].as_str().is_some_and(|e| e.starts_with("person_"))));
    let counts = store.inbox().counts().await.expect("counts");
    assert_eq!((counts.processed, counts.pending, counts.dead, counts.stale), (15, 0, 0, 0));
}

async fn two_gateways_on_one_store_hand_each_delivery_on_once_in_order(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = StoreUrl::parse(&backend.store_url(dir.path())).expect("url");
    let clock = start_clock();
    let mut sub = subscriber(0).await;
    let sinks = [dir.path().join("a.jsonl"), dir.path().join("b.jsonl")];
    let a = gateway(&url, &clock, dispatch(Some(sinks[0].clone()), &sub)).await;
    let b = gateway(&url, &clock, dispatch(Some(sinks[1].clone()), &sub)).await;
    const RESOURCES: u64 = 3;
    const PER: u32 = 8;
    for seq in 0..PER {
        for id in 1..=RESOURCES {
            // Intake alternates between the replicas, as a load balancer would spread SalesLoft's POSTs.
            let g = if (u64::from(seq) + id) % 2 == 0 { &a } else { &b };
            g.deliver("person_updated", &person(id, seq)).await;
        }
    }
    let total = RESOURCES as usize * PER as usize;
    let seen = sub.until_delivered(total).await;
    a.stop().await;
    let store = b.stop().await;

    assert_eq!(seen.len(), total, "each delivery POSTed once");
    let want: Vec<u64> = (0..u64::from(PER)).collect();
    for (id, seqs) in seqs_by_resource(seen.iter().map(Received::json)) {
        assert_eq!(seqs, want, "person {id}: handed on in order across both replicas");
    }
    let mut all: Vec<i64> = sinks.iter().flat_map(|s| sink_lines(s)).filter_map(|l| l["inbox_id"].as_i64()).collect();
    all.sort_unstable();
    let expected: Vec<i64> = {
        let mut ids: Vec<i64> = store.inbox().list(0, 1000).await.expect("list").iter().map(|e| e.id).collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(all, expected, "every delivery in exactly one sink, once");
    assert_eq!(store.inbox().counts().await.expect("counts").processed, total as i64);
}

async fn a_stale_update_is_recorded_and_not_handed_on(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = StoreUrl::parse(&backend.store_url(dir.path())).expect("url");
    let sink = dir.path().join("sink.jsonl");
    let mut sub = subscriber(0).await;
    let g = gateway(&url, &start_clock(), dispatch(Some(sink.clone()), &sub)).await;
    // 07:21:16-05:00 is 12:21:16 UTC: later than the 10:00 UTC that arrives next (a string compare says the
    // opposite). Then a delete at the same instant as the first: news, handed on.
    g.deliver("person_updated", r#"{"id":5,"updated_at":"2025-11-20T07:21:16.193200-05:00","v":"new"}"#).await;
    g.deliver("person_updated", r#"{"id":5,"updated_at":"2025-11-20T10:00:00Z","v":"old"}"#).await;
    g.deliver("person_deleted", r#"{"id":5,"updated_at":"2025-11-20T12:21:16.1932Z","v":"gone"}"#).await;
    let seen = sub.until_delivered(2).await;
    let admin: Value = g
        .http
        .get(format!("{}/admin/status", g.url))
        .bearer_auth(support::ADMIN)
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    let store = g.stop().await;

    let handed: Vec<String> = seen.iter().map(|r| r.json()["v"].as_str().unwrap_or("").to_owned()).collect();
    assert_eq!(handed, ["new", "gone"], "the older update is not handed on");
    assert_eq!(sink_lines(&sink).len(), 2);
    let counts = store.inbox().counts().await.expect("counts");
    assert_eq!((counts.processed, counts.stale), (2, 1));
    assert_eq!(admin["inbox"]["stale"], 1, "/admin/status shows it: {admin}");
    assert!(admin["inbox"]["lag_secs"].as_i64().is_some(), "/admin/status shows the lag: {admin}");
    let entries = store.inbox().list(0, 10).await.expect("list");
    assert_eq!(entries.iter().map(|e| e.state.as_str()).collect::<Vec<_>>(), ["processed", "stale", "processed"]);
}

async fn a_failing_subscriber_is_retried_with_backoff_until_it_answers(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = StoreUrl::parse(&backend.store_url(dir.path())).expect("url");
    let mut sub = subscriber(3).await;
    let g = gateway(&url, &start_clock(), DispatchConfig { workers: 1, ..dispatch(None, &sub) }).await;
    g.deliver("person_updated", &person(1, 0)).await;
    let seen = sub.until_delivered(1).await;
    let store = g.stop().await;

    assert_eq!(seen.iter().map(|r| r.answered).collect::<Vec<_>>(), [500, 500, 500, 204]);
    for r in &seen {
        verify_standard_webhooks(r);
    }
    let ids: Vec<&str> = seen.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "one webhook-id across retries: {ids:?}");
    let stamps: Vec<i64> = seen.iter().map(|r| r.header("webhook-timestamp").parse().unwrap_or(0)).collect();
    let waits: Vec<i64> = stamps.windows(2).map(|w| w[1] - w[0]).collect();
    let base = BASE.as_secs() as i64;
    assert_eq!(waits, [base, 2 * base, 4 * base], "exponential backoff between attempts (timestamps {stamps:?})");
    let entry = &store.inbox().list(0, 10).await.expect("list")[0];
    assert_eq!((entry.state.as_str(), entry.attempts), ("processed", 4));
}

async fn a_dead_delivery_unblocks_the_later_ones_of_its_resource(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = StoreUrl::parse(&backend.store_url(dir.path())).expect("url");
    let sink = dir.path().join("sink.jsonl");
    // Fails every request until the first delivery is dead (3 attempts), then answers.
    let mut sub = subscriber(3).await;
    let g =
        gateway(&url, &start_clock(), DispatchConfig { max_attempts: 3, ..dispatch(Some(sink.clone()), &sub) }).await;
    g.deliver("person_updated", &person(1, 0)).await;
    g.deliver("person_updated", &person(1, 1)).await;
    let seen = sub.until_delivered(1).await;
    let store = g.stop().await;

    let seqs: Vec<u64> = seen.iter().map(|r| r.json()["seq"].as_u64().unwrap_or(99)).collect();
    assert_eq!(seqs, [0, 0, 0, 1], "the second waits for the first until it is dead");
    let entries = store.inbox().list(0, 10).await.expect("list");
    assert_eq!((entries[0].state.as_str(), entries[0].attempts), ("dead", 3));
    assert!(entries[0].last_error.as_deref().is_some_and(|e| e.contains("500")), "{:?}", entries[0]);
    assert_eq!(entries[1].state, "processed");
    let lines = sink_lines(&sink);
    assert_eq!(lines.len(), 1, "a dead delivery is not in the sink");
    assert_eq!(lines[0]["body"]["seq"], 1);
}

async fn a_crash_between_sink_line_and_mark_and_a_torn_line_leave_one_line_each(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = StoreUrl::parse(&backend.store_url(dir.path())).expect("url");
    let sink = dir.path().join("sink.jsonl");
    let clock = start_clock();
    let visibility = Duration::from_secs(3600);
    // A previous run: delivery 1 claimed, its line written and fsynced, then the process died before the mark
    // (the claim stays), and a second line was torn mid-write.
    let store = salesloft_store::open_with(&url, StoreOptions { clock: Arc::new(clock.clone()), ..Default::default() })
        .await
        .expect("store");
    store.inbox().insert(salesloft_store::Delivery::new("person_updated", person(1, 0))).await.expect("insert");
    let claimed = store.inbox().claim_next("crashed", visibility).await.expect("claim").expect("an item");
    let mut previous = salesloft_gateway::dispatch::JsonlSink::open(&sink).expect("sink");
    assert!(previous.append(&claimed).expect("line written"));
    drop(previous);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&sink)
        .and_then(|mut f| std::io::Write::write_all(&mut f, br#"{"inbox_id":2,"eve"#))
        .expect("torn line");
    // The crashed claim lapses; the restarted gateway takes the delivery over.
    clock.advance(visibility + Duration::from_secs(1));

    let mut sub = subscriber(0).await;
    let g = gateway(&url, &clock, dispatch(Some(sink.clone()), &sub)).await;
    g.deliver("person_updated", &person(2, 0)).await;
    sub.until_delivered(2).await;
    let store = g.stop().await;

    let ids: Vec<i64> = sink_lines(&sink).iter().filter_map(|l| l["inbox_id"].as_i64()).collect();
    assert_eq!(ids.len(), 2, "the torn line is gone and delivery 1 has one line: {ids:?}");
    assert_eq!(ids[0], claimed.id);
    let counts = store.inbox().counts().await.expect("counts");
    assert_eq!(counts.processed, 2, "the in-doubt delivery is marked, without a second line");
}

async fn a_subscriber_answering_garbage_is_a_failed_attempt(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = StoreUrl::parse(&backend.store_url(dir.path())).expect("url");
    // Not HTTP at all: reads the request, answers bytes that are not a status line, hangs up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let garbage_url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (tx, mut connections) = mpsc::unbounded_channel::<()>();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 64 * 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket.write_all(b"\xff\xfe\x00garbage\r\n\r\n{not http").await;
            let _ = socket.shutdown().await;
            let _ = tx.send(());
        }
    });
    let sub = subscriber(0).await;
    let config = DispatchConfig {
        subscribers: vec![Subscriber::new(&garbage_url, &secret()).expect("subscriber")],
        max_attempts: 2,
        ..dispatch(None, &sub)
    };
    let g = gateway(&url, &start_clock(), config).await;
    g.deliver("person_updated", &person(1, 0)).await;
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(30), connections.recv()).await.expect("an attempt").expect("alive");
    }
    let store = g.stop().await;
    let entry = &store.inbox().list(0, 10).await.expect("list")[0];
    assert_eq!((entry.state.as_str(), entry.attempts), ("dead", 2), "{entry:?}");
    assert!(entry.last_error.as_deref().is_some_and(|e| e.contains(&garbage_url)), "{entry:?}");
}
