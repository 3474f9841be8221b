//! The dispatcher: hands each stored webhook delivery to the handlers (issue 9).
//!
//! Workers claim deliveries from the store's inbox in batches ([`salesloft_store::Inbox::claim_batch`]: one
//! transaction, at most one delivery per resource) and hand each to every configured handler — POST to each
//! [`forward::Subscriber`] (Standard Webhooks signed; the deliveries of a batch concurrently), then one line in
//! the [`sink::JsonlSink`] (one fsync per batch) — and mark the ones all handlers took processed in one
//! transaction. Batches keep the cost per delivery of the store's commits and the sink's fsync small: one
//! delivery per transaction would cap dispatch at the disk's fsync rate while intake runs at 10 000/s. The
//! guarantees, and what gives them:
//!
//! - **In order per resource.** The store never lets a delivery be claimed while an earlier one of the same
//!   resource (`{type}:{id}`, [`salesloft_store::resource_type`]) is pending or processing, for every worker
//!   of every replica. So a failing delivery holds back the later deliveries of its resource until it is
//!   processed or dead (a dead letter unblocks them); other resources flow on. "Earlier" is arrival order
//!   (inbox id). Two replicas storing deliveries of one resource at the same instant may commit the higher
//!   id first, so it can be handed on before the lower one is visible; SalesLoft gives such deliveries no
//!   order of their own (no event id or timestamp: FACTS.md §6.2), and the stale rule below still drops an
//!   older `updated_at` that comes second.
//! - **Stale updates dropped.** SalesLoft retries failed deliveries (FACTS.md §6.2) and sends the bare resource
//!   with its `updated_at`, so an old state can arrive after a newer one. A delivery older than the newest
//!   handed on for its resource is finished as `stale` by the claim: recorded and counted, never handed on.
//! - **Attempts counted, then a dead letter.** A failure is retried after an exponential backoff
//!   ([`Backoff`]); the `max_attempts`-th failure makes it dead.
//! - **Exactly once into the sink.** See [`sink`]: "append a batch, fsync, mark the batch processed" runs
//!   under the sink's lock, so only the last batch's lines can be unmarked after a crash, and they are
//!   recognised on restart.
//! - **At least once to subscribers, with a stable `webhook-id`** so they deduplicate (the Standard Webhooks
//!   contract): a retry sends to every subscriber again, as a crash between a POST and the mark would.
//!
//! A claim lasts [`DispatchConfig::visibility`]; a delivery whose claim lapses (a crashed replica) is taken
//! over. Keep it well above the subscriber timeout, or a slow subscriber sees the same delivery twice.
//!
//! Time: retries are scheduled on the store's clock (`available_at`), and a worker with nothing to claim waits
//! on that clock until the next retry is due, on an in-process wake-up (a new delivery stored, a delivery
//! finished), or [`DispatchConfig::idle_poll`] of real time for other replicas' deliveries. Tests drive the
//! store's `ManualClock`, whose sleeps return at once and are recorded.
//!
//! Stopping: [`Gateway::serve`](crate::Gateway::serve) stops intake first, then tells the workers to stop;
//! each finishes the delivery in hand (a POST is bounded by its timeout), the sink is fsynced per line, and
//! `serve` returns once every worker has.

pub mod forward;
pub mod sink;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use salesloft_store::{Claimed, InboxItem, Store};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use crate::GatewayError;
use crate::metrics::{INBOX_DEPTH, INBOX_LAG_SECONDS, WEBHOOK_DISPATCH_TOTAL};
pub use forward::{SigningKey, Subscriber};
pub use sink::JsonlSink;

/// The default [`DispatchConfig::max_attempts`].
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

/// Exponential backoff between attempts of one delivery: `base × 2^(failures − 1)`, at most `max`.
///
/// No jitter: deliveries are retried one resource at a time and the store hands them out one per claim, so
/// there is no crowd of clients to spread; a fixed schedule is also what a subscriber's operator can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    /// 5 s doubling to at most 10 min: with 8 attempts the last retry comes about 10 min after the first
    /// failure, the same order as the Standard Webhooks example schedule's first steps (5 s, 5 min, 30 min).
    fn default() -> Self {
        Self { base: Duration::from_secs(5), max: Duration::from_secs(600) }
    }
}

impl Backoff {
    /// The wait after the `failures`-th failure (1-based).
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(32);
        self.base.saturating_mul(1u32 << doublings.min(31)).min(self.max)
    }
}

/// What to do with a delivery whose attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again after this long.
    Retry(Duration),
    /// Give up: a dead letter.
    Dead,
}

/// The retry decision, pure: `attempts` counts the attempt that just failed.
pub fn after_failure(attempts: i64, max_attempts: u32, backoff: &Backoff) -> AfterFailure {
    let attempts = u32::try_from(attempts.max(1)).unwrap_or(u32::MAX);
    if attempts >= max_attempts.max(1) { AfterFailure::Dead } else { AfterFailure::Retry(backoff.delay(attempts)) }
}

/// The dispatcher's settings (`[webhooks]` in the configuration file). With no sink and no subscriber it does
/// not run and deliveries stay pending in the inbox.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// The JSONL sink file (`--webhook-sink`, `webhooks.sink`).
    pub sink: Option<PathBuf>,
    /// Internal subscribers (`[[webhooks.subscribers]]`).
    pub subscribers: Vec<Subscriber>,
    /// Concurrent workers in this process.
    pub workers: usize,
    /// Most deliveries a worker claims and hands on together (`workers × batch` at most [`sink::MAX_BATCH`]).
    pub batch: usize,
    /// Attempts before a delivery is dead (`webhooks.max_attempts`).
    pub max_attempts: u32,
    /// Wait between attempts.
    pub backoff: Backoff,
    /// How long a claim holds before another worker may take the delivery over.
    pub visibility: Duration,
    /// Time limit of one POST to a subscriber (the spec suggests 15–30 s).
    pub forward_timeout: Duration,
    /// How often an idle worker looks for deliveries stored by other replicas.
    pub idle_poll: Duration,
    /// How often the inbox depth and lag gauges are refreshed.
    pub gauge_interval: Duration,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            sink: None,
            subscribers: Vec::new(),
            workers: 2,
            batch: 32,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff: Backoff::default(),
            visibility: Duration::from_secs(300),
            forward_timeout: Duration::from_secs(15),
            idle_poll: Duration::from_secs(1),
            gauge_interval: Duration::from_secs(10),
        }
    }
}

impl DispatchConfig {
    /// Whether any handler is configured (otherwise nothing is dispatched).
    pub fn enabled(&self) -> bool {
        self.sink.is_some() || !self.subscribers.is_empty()
    }

    pub(crate) fn validate(&self) -> Result<(), GatewayError> {
        if self.enabled() && (self.workers == 0 || self.max_attempts == 0) {
            return Err(GatewayError::Config("webhook dispatch needs at least one worker and one attempt".into()));
        }
        // After a crash, or a stop while the store is down, each worker may leave its last batch in the sink
        // unmarked; the sink reads back MAX_BATCH lines on open, so all of them must fit.
        if self.enabled() && (self.batch == 0 || self.workers.saturating_mul(self.batch) > sink::MAX_BATCH) {
            return Err(GatewayError::Config(format!(
                "webhook dispatch: workers × batch must be 1 to {} (the sink lines read back on start)",
                sink::MAX_BATCH
            )));
        }
        if self.enabled() && self.visibility <= self.forward_timeout {
            return Err(GatewayError::Config(
                "the dispatch visibility timeout must exceed the subscriber timeout".into(),
            ));
        }
        Ok(())
    }
}

/// Wakes idle workers: bumped when a delivery is stored or finished.
#[derive(Debug, Clone)]
pub(crate) struct Wake(Arc<watch::Sender<u64>>);

impl Default for Wake {
    fn default() -> Self {
        Self(Arc::new(watch::channel(0).0))
    }
}

impl Wake {
    pub(crate) fn notify(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// The running dispatcher: its workers and gauge task.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    stop: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
    gauges: JoinHandle<()>,
}

/// What every worker shares.
#[derive(Debug)]
struct Context {
    store: Store,
    config: DispatchConfig,
    sink: Option<Arc<Mutex<JsonlSink>>>,
    client: reqwest::Client,
    wake: Wake,
}

impl Dispatcher {
    /// Opens the sink (repairing a torn tail) and starts the workers; `None` when no handler is configured.
    pub(crate) fn start(store: Store, config: DispatchConfig, wake: Wake) -> Result<Option<Self>, GatewayError> {
        if !config.enabled() {
            return Ok(None);
        }
        let sink = match &config.sink {
            Some(path) => Some(Arc::new(Mutex::new(JsonlSink::open(path).map_err(|e| {
                GatewayError::Config(format!("cannot open the webhook sink {}: {e}", path.display()))
            })?))),
            None => None,
        };
        let client = forward::client(config.forward_timeout)?;
        let (stop, _) = watch::channel(false);
        let context = Arc::new(Context { store, config, sink, client, wake });
        let workers = (0..context.config.workers)
            .map(|n| tokio::spawn(work(context.clone(), format!("dispatch-{n}"), stop.subscribe())))
            .collect();
        let gauges = tokio::spawn(refresh_gauges(context, stop.subscribe()));
        Ok(Some(Self { stop, workers, gauges }))
    }

    /// Stops claiming, lets each worker finish the delivery in hand, and waits for them.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        for worker in self.workers {
            if let Err(error) = worker.await {
                tracing::error!(%error, "a webhook dispatch worker failed");
            }
        }
        let _ = self.gauges.await;
        tracing::info!("webhook dispatch stopped: deliveries in hand finished, sink flushed");
    }
}

async fn work(context: Arc<Context>, worker: String, mut stop: watch::Receiver<bool>) {
    let inbox = context.store.inbox();
    let mut wake = context.wake.subscribe();
    let clock = context.store.options().clock.clone();
    while !*stop.borrow() {
        wake.borrow_and_update();
        match inbox.claim_batch(&worker, context.config.visibility, context.config.batch).await {
            Ok(claimed) if !claimed.is_empty() => {
                let mut ready = Vec::with_capacity(claimed.len());
                for claimed in claimed {
                    match claimed {
                        Claimed::Ready(item) => ready.push(item),
                        Claimed::Stale(item) => {
                            metrics::counter!(WEBHOOK_DISPATCH_TOTAL, "outcome" => "stale").increment(1);
                            tracing::info!(
                                id = item.id,
                                event = item.event_type,
                                "webhook delivery stale: not handed on"
                            );
                        }
                    }
                }
                handle(&context, ready, &stop).await;
                context.wake.notify();
                continue;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "webhook dispatch cannot claim; waiting"),
        }
        // Nothing to claim now: wait for the next retry (on the store's clock), a wake-up, or the idle poll.
        let until_retry = match inbox.next_retry_at().await {
            Ok(Some(at)) => Some(Duration::try_from(at - context.store.now()).unwrap_or(Duration::ZERO)),
            _ => None,
        };
        tokio::select! {
            _ = stop.changed() => {}
            _ = wake.changed() => {}
            () = tokio::time::sleep(context.config.idle_poll) => {}
            () = async { match until_retry { Some(d) => clock.sleep(d).await, None => std::future::pending().await } } => {}
        }
    }
}

/// Hands a batch of claimed deliveries (distinct resources) to every handler and records each outcome.
async fn handle(context: &Context, items: Vec<InboxItem>, stop: &watch::Receiver<bool>) {
    if items.is_empty() {
        return;
    }
    let results = futures::future::join_all(items.iter().map(|item| forward_all(context, item))).await;
    let mut handed = Vec::with_capacity(items.len());
    for (item, result) in items.into_iter().zip(results) {
        match result {
            Ok(()) => handed.push(item),
            Err(error) => fail(context, &item, &error).await,
        }
    }
    if handed.is_empty() {
        return;
    }
    let inbox = context.store.inbox();
    let Some(sink) = &context.sink else {
        finish(&inbox, &handed, stop).await;
        return;
    };
    // Append, fsync and mark under the sink's lock: only the last batch can be unmarked (see `sink`).
    let guard = sink.clone().lock_owned().await;
    let lines = handed.clone();
    let (mut guard, written) = match tokio::task::spawn_blocking(move || {
        let mut guard = guard;
        let written = guard.append_batch(&lines);
        (guard, written)
    })
    .await
    {
        Ok(done) => done,
        Err(error) => {
            for item in &handed {
                fail(context, item, &format!("sink task failed: {error}")).await;
            }
            return;
        }
    };
    if let Err(error) = written {
        let why = format!("sink {}: {error}", guard.path().display());
        drop(guard);
        for item in &handed {
            fail(context, item, &why).await;
        }
        return;
    }
    for (item, marked) in handed.iter().zip(finish(&inbox, &handed, stop).await) {
        if marked {
            guard.settled(item.id);
        }
    }
}

/// POSTs to every subscriber concurrently; `Err` joins the failures.
async fn forward_all(context: &Context, item: &InboxItem) -> Result<(), String> {
    if context.config.subscribers.is_empty() {
        return Ok(());
    }
    let timestamp = context.store.now().unix_timestamp();
    let sends = context.config.subscribers.iter().map(|subscriber| {
        forward::send(&context.client, subscriber, &item.event_type, &item.dedup_key, &item.body, timestamp)
    });
    let failures: Vec<String> = futures::future::join_all(sends).await.into_iter().filter_map(Result::err).collect();
    if failures.is_empty() { Ok(()) } else { Err(failures.join("; ")) }
}

/// Marks `items` processed in one transaction, retrying while the store is unreachable (nothing else can
/// proceed meanwhile, and giving up would leave sink lines unmarked behind later ones) until a stop: then the
/// batch stays claimed, its sink lines are the file's last and are recognised on restart. For each item,
/// whether it was marked (`false`: its claim lapsed and another worker took it over, or the stop came first).
async fn finish(inbox: &salesloft_store::Inbox, items: &[InboxItem], stop: &watch::Receiver<bool>) -> Vec<bool> {
    let mut pause = Duration::from_millis(50);
    loop {
        match inbox.mark_processed_batch(items).await {
            Ok(marked) => {
                for (item, marked) in items.iter().zip(&marked) {
                    if *marked {
                        metrics::counter!(WEBHOOK_DISPATCH_TOTAL, "outcome" => "handed_on").increment(1);
                    } else {
                        tracing::warn!(id = item.id, "webhook delivery handed on after its claim lapsed");
                    }
                }
                return marked;
            }
            Err(error) if *stop.borrow() => {
                tracing::error!(%error, batch = items.len(), "stopping with webhook deliveries handed on but unmarked");
                return vec![false; items.len()];
            }
            Err(error) => {
                tracing::warn!(%error, batch = items.len(), "cannot mark webhook deliveries processed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Records a failed attempt: a retry after the backoff, or dead after `max_attempts`.
async fn fail(context: &Context, item: &InboxItem, error: &str) {
    let inbox = context.store.inbox();
    let (retry_at, outcome) = match after_failure(item.attempts, context.config.max_attempts, &context.config.backoff) {
        AfterFailure::Retry(delay) => (Some(context.store.now() + delay), "failed"),
        AfterFailure::Dead => (None, "dead"),
    };
    tracing::warn!(
        id = item.id,
        event = item.event_type,
        attempts = item.attempts,
        outcome,
        error,
        "webhook delivery failed"
    );
    match inbox.mark_failed(item, error, retry_at).await {
        Ok(()) => metrics::counter!(WEBHOOK_DISPATCH_TOTAL, "outcome" => outcome).increment(1),
        Err(error) => tracing::warn!(%error, id = item.id, "cannot record a failed webhook delivery"),
    }
}

/// Sets the inbox depth and lag gauges every `gauge_interval` until stopped.
async fn refresh_gauges(context: Arc<Context>, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        record_inbox_gauges(&context.store).await;
        tokio::select! {
            _ = stop.changed() => {}
            () = tokio::time::sleep(context.config.gauge_interval) => {}
        }
    }
}

/// Sets [`INBOX_DEPTH`] (deliveries not yet handed on) and [`INBOX_LAG_SECONDS`] (age of the oldest of them)
/// from the store; a store that does not answer leaves them as they were.
pub(crate) async fn record_inbox_gauges(store: &Store) {
    let inbox = store.inbox();
    if let Ok(counts) = inbox.counts().await {
        metrics::gauge!(INBOX_DEPTH).set((counts.pending + counts.processing) as f64);
    }
    if let Ok(oldest) = inbox.oldest_open_received_at().await {
        let lag = oldest.map_or(0.0, |at| (store.now() - at).as_seconds_f64().max(0.0));
        metrics::gauge!(INBOX_LAG_SECONDS).set(lag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_and_the_last_attempt_is_dead() {
        let backoff = Backoff { base: Duration::from_secs(5), max: Duration::from_secs(60) };
        let table = [
            (1, AfterFailure::Retry(Duration::from_secs(5))),
            (2, AfterFailure::Retry(Duration::from_secs(10))),
            (3, AfterFailure::Retry(Duration::from_secs(20))),
            (4, AfterFailure::Retry(Duration::from_secs(40))),
            (5, AfterFailure::Retry(Duration::from_secs(60))),
            (7, AfterFailure::Retry(Duration::from_secs(60))),
            (8, AfterFailure::Dead),
            (9, AfterFailure::Dead),
        ];
        for (attempts, want) in table {
            assert_eq!(after_failure(attempts, 8, &backoff), want, "after attempt {attempts}");
        }
        assert_eq!(after_failure(1, 1, &backoff), AfterFailure::Dead, "one attempt allowed: dead at once");
        assert_eq!(after_failure(i64::MAX, 8, &backoff), AfterFailure::Dead);
        assert_eq!(Backoff::default().delay(u32::MAX), Duration::from_secs(600), "no overflow");
    }
}
