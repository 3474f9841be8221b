//! The webhook inbox: deliveries are stored durably *before* they are acknowledged, deduplicated, then
//! processed by workers with attempts counted.
//!
//! SalesLoft sends no event id and no timestamp (FACTS.md §6.2): the body is the bare resource object and the
//! event type is the `x-salesloft-event` header. So the dedup key is `(event type, resource id, updated_at)` when
//! the body is a JSON object with `id` and `updated_at`, else a sha256 of the event type and the raw body
//! ([`Delivery::dedup_key`]). SalesLoft retries a failing delivery three times 15 s apart, so keeping keys for
//! the inbox retention (default 7 days) covers every redelivery with a wide margin.
//!
//! Throughput: a durable commit costs an fsync, so one delivery per transaction would cap intake at the disk's
//! fsync rate. [`InboxWriter`] is a group-commit task: callers submit and await an acknowledgement that fires
//! only after the transaction holding their delivery has committed; deliveries that arrive while a commit is
//! in flight form the next batch.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::{Result, Store, StoreError};

/// One webhook delivery as received (after its signature was verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The `x-salesloft-event` header, e.g. `person_updated`.
    pub event_type: String,
    /// The raw body bytes.
    pub body: Vec<u8>,
}

/// The parts of a delivery that are stored.
#[derive(Debug, Clone)]
pub(crate) struct PreparedDelivery {
    pub dedup_key: String,
    pub event_type: String,
    pub resource_id: Option<String>,
    pub resource_key: Option<String>,
    pub body: Vec<u8>,
}

impl PreparedDelivery {
    /// Each delivery's outcome, in batch order, from the ids the batch insert returned by dedup key: the first
    /// occurrence of a newly inserted key is [`Inserted::New`], everything else a duplicate.
    pub(crate) fn outcomes(batch: &[PreparedDelivery], mut new_ids: HashMap<String, i64>) -> Vec<Inserted> {
        batch
            .iter()
            .map(|d| match new_ids.remove(&d.dedup_key) {
                Some(id) => Inserted::New(id),
                None => Inserted::Duplicate,
            })
            .collect()
    }
}

impl Delivery {
    /// A delivery of `event_type` with `body`.
    pub fn new(event_type: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Self { event_type: event_type.into(), body: body.into() }
    }

    /// The resource id (`id` field of a JSON object body, number or string), if any.
    pub fn resource_id(&self) -> Option<String> {
        self.parsed().and_then(|(id, _)| id)
    }

    /// `event:{type}:{id}:{updated_at}` when the body is a JSON object with `id` and `updated_at`, else
    /// `sha256:{hex of sha256(type ‖ NUL ‖ body)}`.
    pub fn dedup_key(&self) -> String {
        self.key_parts().0
    }

    /// Dedup key and resource id, parsing the body once.
    fn key_parts(&self) -> (String, Option<String>) {
        let parsed = self.parsed();
        if let Some((Some(id), Some(updated_at))) = &parsed {
            return (format!("event:{}:{}:{}", self.event_type, id, updated_at), Some(id.clone()));
        }
        let mut h = Sha256::new();
        h.update(self.event_type.as_bytes());
        h.update([0u8]);
        h.update(&self.body);
        (format!("sha256:{}", hex::encode(h.finalize())), parsed.and_then(|(id, _)| id))
    }

    fn parsed(&self) -> Option<(Option<String>, Option<String>)> {
        /// Only the two fields the key needs; serde skips the rest of the body without building it.
        #[derive(serde::Deserialize)]
        struct Fields {
            id: Option<serde_json::Value>,
            updated_at: Option<serde_json::Value>,
        }
        // Only a JSON object is a resource (derived structs would also accept a JSON array positionally).
        if self.body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return None;
        }
        let fields: Fields = serde_json::from_slice(&self.body).ok()?;
        let id = match fields.id {
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
            _ => None,
        };
        let updated_at = match fields.updated_at {
            Some(serde_json::Value::String(s)) => Some(s),
            _ => None,
        };
        Some((id, updated_at))
    }

    /// `{type}:{id}` ([`resource_type`] of the event, the body's `id`), or `None` when the body names no id:
    /// deliveries of one key are handed on in arrival order, deliveries without one in any order.
    pub fn resource_key(&self) -> Option<String> {
        self.resource_id().map(|id| resource_key(&self.event_type, &id))
    }

    pub(crate) fn prepare(self) -> PreparedDelivery {
        let (dedup_key, resource_id) = self.key_parts();
        let resource_key = resource_id.as_deref().map(|id| resource_key(&self.event_type, id));
        PreparedDelivery { dedup_key, resource_id, resource_key, event_type: self.event_type, body: self.body }
    }
}

/// The verbs SalesLoft ends its event names with (FACTS.md §6.3): `_created`, `_updated`, `_deleted`,
/// `task_completed`, `meeting_booked`, `bulk_job_completed`.
const EVENT_VERBS: [&str; 5] = ["_created", "_updated", "_deleted", "_completed", "_booked"];

/// The resource type an event is about, for per-resource ordering (FACTS.md §6.3): the event name without its
/// last `_verb` (`person_updated` → `person`, `cadence_membership_created` → `cadence_membership`,
/// `meeting_booked` → `meeting`, `task_completed` → `task`, `bulk_job_completed` → `bulk_job`).
/// `email_with_body_and_subject_updated` is the same email as `email_updated`, so it is an `email`. An event
/// without a known verb (`link_swap`, anything SalesLoft adds later) is its own type: ordering it with another
/// type by mistake would also compare `updated_at` across different records and drop one as stale, while
/// keeping it apart costs nothing but ordering it never needed.
///
/// The schema-2 migration backfills open rows with the same rule written in SQL; keep the two in step.
pub fn resource_type(event_type: &str) -> &str {
    if event_type == "email_with_body_and_subject_updated" {
        return "email";
    }
    EVENT_VERBS.iter().find_map(|verb| event_type.strip_suffix(verb)).unwrap_or(event_type)
}

fn resource_key(event_type: &str, id: &str) -> String {
    format!("{}:{id}", resource_type(event_type))
}

/// The body's `updated_at` as an instant (RFC 3339 with any offset, as SalesLoft sends it: FACTS.md §6.2
/// `"2025-11-20T07:21:16.193200-05:00"`), or `None` when the body is not an object or has no parseable one.
pub(crate) fn body_updated_at(body: &[u8]) -> Option<OffsetDateTime> {
    #[derive(serde::Deserialize)]
    struct Fields {
        updated_at: Option<serde_json::Value>,
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    let fields: Fields = serde_json::from_slice(body).ok()?;
    match fields.updated_at? {
        serde_json::Value::String(s) => OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339).ok(),
        _ => None,
    }
}

/// Outcome of storing a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Stored as new, with this inbox id.
    New(i64),
    /// Seen before (same dedup key); nothing stored. Acknowledge it anyway.
    Duplicate,
}

/// A delivery claimed for processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    /// Inbox id.
    pub id: i64,
    /// Dedup key.
    pub dedup_key: String,
    /// Event type.
    pub event_type: String,
    /// Resource id, when the body had one.
    pub resource_id: Option<String>,
    /// `{type}:{id}` ([`Delivery::resource_key`]): what the delivery is ordered by.
    pub resource_key: Option<String>,
    /// Raw body.
    pub body: Vec<u8>,
    /// When it was stored.
    pub received_at: OffsetDateTime,
    /// The body's `updated_at` as an instant, when it had a readable one.
    pub updated_at: Option<OffsetDateTime>,
    /// Processing attempts including this one.
    pub attempts: i64,
    pub(crate) claim: String,
}

/// What [`Inbox::claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// A delivery to hand on; finish it with [`Inbox::mark_processed`] or [`Inbox::mark_failed`].
    Ready(InboxItem),
    /// A delivery whose `updated_at` is older than the last one handed on for its resource: already finished
    /// as `stale` in the claim's transaction (recorded, counted, exported), never to be handed on.
    Stale(InboxItem),
}

/// Counts by processing state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct InboxCounts {
    /// Waiting (or waiting for a retry).
    pub pending: i64,
    /// Claimed by a worker.
    pub processing: i64,
    /// Done.
    pub processed: i64,
    /// Gave up.
    pub dead: i64,
    /// Older than what was already handed on for the resource: recorded, not handed on.
    pub stale: i64,
}

/// One stored delivery as `slprod inbox export` writes it: what arrived and where it stands, without the body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InboxEntry {
    /// Row id (increasing in arrival order).
    pub id: i64,
    /// The `x-salesloft-event` header.
    pub event: String,
    /// The key a replay is recognised by.
    pub dedup_key: String,
    /// The resource the delivery is about, when its body names one.
    pub resource_id: Option<String>,
    /// When it was stored.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// `pending`, `processing`, `processed`, `dead` or `stale`.
    pub state: String,
    /// Processing attempts so far.
    pub attempts: i64,
    /// Why the last attempt failed, or why it is a dead letter.
    pub last_error: Option<String>,
}

/// Handle on the inbox.
#[derive(Debug, Clone)]
pub struct Inbox {
    store: Store,
}

impl Inbox {
    pub(crate) fn new(store: Store) -> Self {
        Self { store }
    }

    /// Stores one delivery in its own transaction. For high rates use an [`InboxWriter`].
    pub async fn insert(&self, delivery: Delivery) -> Result<Inserted> {
        let mut out = self.insert_batch(vec![delivery]).await?;
        out.pop().ok_or_else(|| StoreError::Database { detail: "empty batch result".into() })
    }

    /// Stores deliveries in one transaction; results in input order. A duplicate within the batch is reported
    /// as [`Inserted::Duplicate`] for every occurrence after the first.
    pub async fn insert_batch(&self, deliveries: Vec<Delivery>) -> Result<Vec<Inserted>> {
        self.insert_prepared(deliveries.into_iter().map(Delivery::prepare).collect()).await
    }

    pub(crate) async fn insert_prepared(&self, prepared: Vec<PreparedDelivery>) -> Result<Vec<Inserted>> {
        let now = self.store.now();
        dispatch!(self.store, inbox_insert_batch(&prepared, now))
    }

    /// Keeps a delivery that cannot be processed (a verified body that is not JSON) as a dead letter, with
    /// `error` saying why: stored in the `dead` state, counted in [`InboxCounts::dead`], reaped after the inbox
    /// retention, never claimed. The same delivery again is [`Inserted::Duplicate`].
    pub async fn dead_letter(&self, delivery: Delivery, error: &str) -> Result<Inserted> {
        let now = self.store.now();
        let prepared = delivery.prepare();
        dispatch!(self.store, inbox::dead_letter(&prepared, error, now))
    }

    /// Claims the oldest delivery that is pending, due for a retry, or whose previous claim lapsed
    /// (`visibility` after it was claimed), and counts an attempt; a stale one met on the way is finished as
    /// such and skipped ([`Inbox::claim`] reports them).
    pub async fn claim_next(&self, worker: &str, visibility: Duration) -> Result<Option<InboxItem>> {
        loop {
            match self.claim(worker, visibility).await? {
                None => return Ok(None),
                Some(Claimed::Ready(item)) => return Ok(Some(item)),
                Some(Claimed::Stale(_)) => continue,
            }
        }
    }

    /// Claims the oldest (lowest id) available delivery whose resource has no earlier delivery still open, and
    /// counts an attempt.
    ///
    /// Available: pending and due (a retry waits for its time), or `processing` with a lapsed claim
    /// (`visibility` after it was claimed). Ordered per resource ([`Delivery::resource_key`]): a delivery is
    /// not claimed while an earlier one (lower id) of the same resource is pending — even waiting for a retry
    /// — or processing, so a failing delivery holds back the later ones of its resource until it is processed
    /// or dead. On PostgreSQL, rows other workers hold are skipped (`SKIP LOCKED`); a row only ever moves from
    /// open to finished, so an earlier open row seen by the claim's snapshot is still open and two claimers
    /// never take two deliveries of one resource (tested with concurrent claimers).
    ///
    /// A delivery whose `updated_at` is older than the newest one already handed on for its resource is
    /// finished as `stale` in the same transaction and returned as [`Claimed::Stale`].
    pub async fn claim(&self, worker: &str, visibility: Duration) -> Result<Option<Claimed>> {
        Ok(self.claim_batch(worker, visibility, 1).await?.pop())
    }

    /// Claims up to `max` deliveries as [`Inbox::claim`] would one at a time, in one transaction (one commit,
    /// one fsync on SQLite, for the batch): oldest first, never two of one resource.
    pub async fn claim_batch(&self, worker: &str, visibility: Duration, max: usize) -> Result<Vec<Claimed>> {
        let now = self.store.now();
        let claim = format!("{worker}/{}", uuid::Uuid::new_v4());
        dispatch!(self.store, inbox::claim(&claim, visibility, now, max.max(1)))
    }

    /// [`Inbox::mark_processed`] for several claimed deliveries in one transaction; for each, in order, whether
    /// it was marked (`false`: its claim lapsed and was taken over).
    pub async fn mark_processed_batch(&self, items: &[InboxItem]) -> Result<Vec<bool>> {
        let now = self.store.now();
        dispatch!(self.store, inbox::finish_processed(items, now))
    }

    /// Marks a claimed delivery processed and, in the same transaction, records its `updated_at` as the
    /// newest handed on for its resource (when newer than what was recorded); [`StoreError::LeaseLost`] if
    /// the claim lapsed and was taken over.
    pub async fn mark_processed(&self, item: &InboxItem) -> Result<()> {
        let now = self.store.now();
        let done: bool = dispatch!(self.store, inbox::finish(item, "processed", None, None, now))?;
        lost_if_not(done, item)
    }

    /// When the oldest delivery not yet handed on (pending or processing) was received: the inbox's lag is
    /// now minus this. `None` when nothing is open.
    pub async fn oldest_open_received_at(&self) -> Result<Option<OffsetDateTime>> {
        dispatch!(self.store, inbox::oldest_open())
    }

    /// The earliest time after now at which a pending delivery becomes due (a scheduled retry), if any: how
    /// long a dispatcher with nothing to claim may wait.
    pub async fn next_retry_at(&self) -> Result<Option<OffsetDateTime>> {
        let now = self.store.now();
        dispatch!(self.store, inbox::next_due(now))
    }

    /// Records a failed attempt: retried at `retry_at`, or given up (`dead`) when `None`.
    pub async fn mark_failed(&self, item: &InboxItem, error: &str, retry_at: Option<OffsetDateTime>) -> Result<()> {
        let now = self.store.now();
        let state = if retry_at.is_some() { "pending" } else { "dead" };
        let done: bool = dispatch!(self.store, inbox::finish(item, state, Some(error), retry_at, now))?;
        lost_if_not(done, item)
    }

    /// Deletes processed and dead deliveries received more than the inbox retention ago; returns how many.
    /// Pending ones are kept whatever their age.
    pub async fn reap(&self) -> Result<u64> {
        let cutoff = self.store.now() - self.store.options().inbox_retention;
        dispatch!(self.store, inbox::reap(cutoff))
    }

    /// How many deliveries are in each state.
    pub async fn counts(&self) -> Result<InboxCounts> {
        dispatch!(self.store, inbox::counts())
    }

    /// Up to `limit` deliveries with an id above `after`, in arrival order (bodies left out).
    pub async fn list(&self, after: i64, limit: u32) -> Result<Vec<InboxEntry>> {
        dispatch!(self.store, inbox::list(after, i64::from(limit)))
    }

    /// Writes every stored delivery as one JSON object per line ([`InboxEntry`]), in arrival order, a page at
    /// a time so the inbox never has to fit in memory; returns how many.
    pub async fn export(&self, out: &mut (dyn Write + Send)) -> Result<u64> {
        const PAGE: u32 = 1_000;
        let (mut after, mut written) = (0_i64, 0_u64);
        loop {
            let page = self.list(after, PAGE).await?;
            for entry in &page {
                serde_json::to_writer(&mut *out, entry).map_err(|e| StoreError::Io(e.into()))?;
                out.write_all(b"\n")?;
                written += 1;
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => after = last.id,
                _ => break,
            }
        }
        out.flush()?;
        Ok(written)
    }
}

fn lost_if_not(done: bool, item: &InboxItem) -> Result<()> {
    if done { Ok(()) } else { Err(StoreError::LeaseLost { what: "inbox claim", name: item.dedup_key.clone() }) }
}

/// Settings of an [`InboxWriter`].
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Most deliveries per transaction.
    pub max_batch: usize,
    /// Deliveries that may wait for the writer before `submit` waits too (back-pressure).
    pub queue: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self { max_batch: 2048, queue: 65_536 }
    }
}

type Job = (PreparedDelivery, oneshot::Sender<Result<Inserted>>);

/// The group-commit writer: one task that stores queued deliveries a batch per transaction. Clone it to share
/// between request handlers; the task ends when every clone is dropped.
#[derive(Debug, Clone)]
pub struct InboxWriter {
    jobs: mpsc::Sender<Job>,
}

impl InboxWriter {
    /// Starts the writer task on the current tokio runtime.
    pub fn spawn(store: Store, config: WriterConfig) -> Self {
        let (jobs, rx) = mpsc::channel(config.queue.max(1));
        tokio::spawn(run_writer(store, rx, config.max_batch.max(1)));
        Self { jobs }
    }

    /// Stores `delivery`; returns after the transaction holding it committed. Only then acknowledge.
    pub async fn submit(&self, delivery: Delivery) -> Result<Inserted> {
        let (tx, rx) = oneshot::channel();
        // Parse and hash here, on the caller's task, so the single writer task only writes.
        self.jobs.send((delivery.prepare(), tx)).await.map_err(|_| StoreError::WriterStopped)?;
        match rx.await {
            // On error the batch failed as a whole (rolled back): nothing of it is stored, the caller must not ack.
            Ok(result) => result,
            Err(_) => Err(StoreError::WriterStopped),
        }
    }
}

async fn run_writer(store: Store, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    let inbox = store.inbox();
    let mut jobs: Vec<Job> = Vec::with_capacity(max_batch);
    // recv_many waits for at least one job, then takes whatever else is queued: while a commit is in flight
    // the queue fills, so batch size adapts to load (group commit).
    while rx.recv_many(&mut jobs, max_batch).await > 0 {
        let (deliveries, acks): (Vec<PreparedDelivery>, Vec<_>) = jobs.drain(..).unzip();
        match inbox.insert_prepared(deliveries).await {
            Ok(results) => {
                for (ack, result) in acks.into_iter().zip(results) {
                    let _ = ack.send(Ok(result));
                }
            }
            Err(error) => {
                tracing::warn!(%error, batch = acks.len(), "inbox batch not stored; deliveries not acknowledged");
                for ack in acks {
                    let _ = ack.send(Err(error.duplicate()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_key_uses_event_resource_and_updated_at_of_json_objects() {
        let d = Delivery::new("person_updated", br#" {"updated_at":"2026-01-01T00:00:00Z","x":[1],"id":12}"#.to_vec());
        assert_eq!(d.dedup_key(), "event:person_updated:12:2026-01-01T00:00:00Z");
        assert_eq!(d.resource_id().as_deref(), Some("12"));
        let s = Delivery::new("e", br#"{"id":"abc","updated_at":"t"}"#.to_vec());
        assert_eq!(s.dedup_key(), "event:e:abc:t");
    }

    #[test]
    fn dedup_key_falls_back_to_a_hash_of_type_and_body() {
        for body in
            [&b"not json"[..], br#"[12, "2026-01-01"]"#, br#"{"id":12}"#, br#"{"id":null,"updated_at":"t"}"#, b""]
        {
            let key = Delivery::new("e", body.to_vec()).dedup_key();
            assert!(key.starts_with("sha256:") && key.len() == 7 + 64, "body {body:?} gave {key}");
        }
        let a = Delivery::new("a", b"same".to_vec()).dedup_key();
        let b = Delivery::new("b", b"same".to_vec()).dedup_key();
        assert_ne!(a, b, "the event type is part of the hashed key");
    }

    #[test]
    fn resource_type_strips_the_last_verb() {
        for (event, want) in [
            ("person_updated", "person"),
            ("person_deleted", "person"),
            ("cadence_membership_created", "cadence_membership"),
            ("call_data_record_updated", "call_data_record"),
            ("email_with_body_and_subject_updated", "email"),
            ("email_updated", "email"),
            ("meeting_booked", "meeting"),
            ("task_completed", "task"),
            ("bulk_job_completed", "bulk_job"),
            ("link_swap", "link_swap"),
            ("conversation_recording_created", "conversation_recording"),
            ("unknown", "unknown"),
        ] {
            assert_eq!(resource_type(event), want, "{event}");
        }
        let d = Delivery::new("person_updated", br#"{"id":12,"updated_at":"t"}"#.to_vec());
        assert_eq!(d.resource_key().as_deref(), Some("person:12"));
        assert_eq!(Delivery::new("person_updated", br#"{"updated_at":"t"}"#.to_vec()).resource_key(), None);
    }

    #[test]
    fn updated_at_is_an_instant_with_its_offset() {
        let a = body_updated_at(br#"{"updated_at":"2025-11-20T07:21:16.193200-05:00"}"#);
        let b = body_updated_at(br#"{"updated_at":"2025-11-20T12:21:16.1932Z"}"#);
        assert!(a.is_some() && a == b, "{a:?} {b:?}");
        for body in [&br#"{"updated_at":"yesterday"}"#[..], br#"{"updated_at":5}"#, b"\xff\xfe", b"[]"] {
            assert_eq!(body_updated_at(body), None, "{body:?}");
        }
    }
}
