//! The store-backed [`UpsertJournal`]: per-email locks, ledger recovery points and audit records.
//!
//! For row `i` of a run:
//! 1. take the lock `people.email:<hash of the email>` (held across processes and replicas; it expires if the
//!    holder dies, so a killed process cannot wedge it — DESIGN.md "Upsert by email");
//! 2. [`Ledger::begin`](salesloft_store::Ledger::begin) with the row's key and fingerprint: a finished row
//!    replays its result, a row left at *request sent* by a dead process is in doubt (the upsert looks the
//!    email up before sending anything), a row whose key names another payload is refused;
//! 3. before each mutation, advance to *request sent* (the recovery point);
//! 4. record each mutation in the audit log in the same transaction as its ledger step: the final one with
//!    `complete`/`fail`, an earlier one (a create answered 422 "taken" before the update that follows) with a
//!    same-phase `advance`;
//! 5. an in-doubt row whose lookup shows the earlier mutation landed completes with a `people.reconcile` audit
//!    record, so every mutation SalesLoft received has exactly one record.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use salesloft_clock::{SharedClock, SystemClock};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use salesloft_client::Error;
use salesloft_client::api::Upserted;
use salesloft_client::journal::{JournalOpen, Mutation, RowJournal, UpsertJournal};
use salesloft_client::models::{Person, PersonInput};
use salesloft_client::redact::Redactor;
use salesloft_client::transport::IdempotencyKey;
use salesloft_store::{AuditEntry, Begin, BeginOptions, Lease, LockGuard, Phase, Store, StoreError};

use crate::keys::{RunId, row_fingerprint, row_key};
use crate::lease_keeper::{self, LeaseTiming};
use crate::{fault_points, holder};

/// Knobs of a [`LedgerJournal`].
#[derive(Debug, Clone)]
pub struct JournalConfig {
    /// Who the audit log names as the actor (e.g. `slprod push`).
    pub actor: String,
    /// Lease of the per-email lock and of the ledger entry; a dead holder's lease lapses after this.
    pub lock_ttl: Duration,
    /// How long a row waits for another (live) process to release its email's lock or its ledger lease
    /// before it is reported as not done in this run.
    pub lock_wait: Duration,
    /// Also retry rows that failed permanently (422 validation, 409 conflict) earlier in the run; by default
    /// their recorded failure is replayed.
    pub retry_failed: bool,
    /// Keep the whole person in the ledger's recorded result (`{kind, person}`) instead of only its id and
    /// `updated_at`. Off for batch runs (the ledger then holds no personal data); the gateway turns it on
    /// because a replayed answer must carry the same body as the first one (Stripe stores the response,
    /// research/anchors.md §3). The entry is reaped with the key retention (24 h by default).
    pub record_person: bool,
    /// Look each row up under its email lock rather than in the run's batched lookup
    /// (`UpsertJournal::looks_up_under_lock`): one lookup per row instead of one per 100, but a row never
    /// acts on a lookup made before another holder of the lock wrote the email, so two writers of one email
    /// make one person even where SalesLoft allows duplicate emails (DESIGN.md DATA-2). Off for batch runs
    /// (cost); the gateway turns it on.
    pub lookup_under_lock: bool,
}

impl Default for JournalConfig {
    fn default() -> Self {
        Self {
            actor: "slprod".to_string(),
            lock_ttl: salesloft_store::DEFAULT_LOCK_TIMEOUT,
            lock_wait: Duration::from_secs(120),
            retry_failed: false,
            record_person: false,
            lookup_under_lock: false,
        }
    }
}

/// Why a [`LedgerJournal`] refused a row, kept as the `source` of the [`Error::Journal`] it returns, so a
/// caller that answers for the row (the gateway) can `downcast_ref` it instead of parsing the message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The key was first used with another request fingerprint (Stripe/brandur answer 409).
    #[error("the idempotency key was used with a different request")]
    Conflict,
    /// Another live holder leases the key (brandur: 409 "request in progress").
    #[error("the idempotency key is in use by {holder} until {until}")]
    InProgress {
        /// Who holds the lease.
        holder: String,
        /// When the lease ends unless renewed.
        until: time::OffsetDateTime,
    },
    /// The key failed definitively earlier: the recorded failure ([`failure_record`]), replayed.
    #[error("the idempotency key failed earlier")]
    Failed(Value),
    /// Another holder kept the email's lock for the whole `lock_wait`.
    #[error("another holder kept the email locked")]
    EmailLocked,
}

/// What the ledger records for a definitive failure, and replays: `{"error", "status", "errors"}` — the
/// error's text, SalesLoft's status and its `errors` field map when the answer was a 422 (FACTS.md §3).
pub fn failure_record(error: &Error) -> Value {
    let mut recorded = json!({"error": error.to_string(), "status": error.status().map(|s| s.as_u16())});
    if let Some(validation) = error.validation() {
        recorded["errors"] = json!(validation.errors);
    }
    recorded
}

/// Journals a batch run in the store. See the module docs.
#[derive(Debug, Clone)]
pub struct LedgerJournal {
    store: Store,
    run: RunId,
    /// A caller's own key and fingerprint for every row, instead of the run's `row_key`/`row_fingerprint`.
    request: Option<(String, String)>,
    holder: String,
    config: JournalConfig,
    redactor: Redactor,
    clock: SharedClock,
}

impl LedgerJournal {
    /// A journal for `run` in `store`. The holder name (in locks and leases) is unique to this process and
    /// journal, and names this host and process id so a rerun can tell when the holder is gone
    /// ([`crate::holder`]). Its waits run on the [`SystemClock`]; see [`LedgerJournal::with_clock`].
    pub fn new(store: Store, run: RunId, config: JournalConfig) -> Self {
        let holder = holder::this_process(&config.actor);
        Self { store, run, holder, config, redactor: Redactor::default(), clock: SystemClock::shared(), request: None }
    }

    /// A journal for one request that carries its own idempotency key (the gateway's `Idempotency-Key`,
    /// namespaced by the caller): the row runs under `key` with `fingerprint` instead of a run's row key and
    /// fingerprint. Use it for a single-row upsert; every row of a batch would share the key.
    pub fn for_request(store: Store, key: String, fingerprint: String, config: JournalConfig) -> Self {
        let run = RunId::for_input(key.as_bytes());
        let mut journal = Self::new(store, run, config);
        journal.request = Some((key, fingerprint));
        journal
    }

    /// The same journal with its waits on `clock`: the lock and lease waits (`lock_wait`) and the renewals
    /// and deadline that keep a row's lease alive while a call runs ([`crate::lease_keeper`]). Lease expiry
    /// itself is the store's business and reads the store's clock.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The run this journal records.
    pub fn run(&self) -> &RunId {
        &self.run
    }

    async fn open_row(&self, index: usize, email: &str, input: &PersonInput) -> Result<JournalOpen, Error> {
        let (key, fingerprint) = match &self.request {
            Some((key, fingerprint)) => (key.clone(), fingerprint.clone()),
            None => (row_key(&self.run, index), row_fingerprint(email, input)),
        };
        let lock_name = format!("people.email:{}", hex::encode(&Sha256::digest(email.as_bytes())[..16]));
        let locks = self.store.locks();
        let Some(mut lock) = self.acquire_lock(index, &lock_name).await.map_err(journal_error)? else {
            return Ok(JournalOpen::Refuse(Error::Journal {
                message: format!(
                    "row {}: another process kept this email locked for {:?}; rerun to try again",
                    index + 1,
                    self.config.lock_wait
                ),
                source: Some(Box::new(Refusal::EmailLocked)),
            }));
        };
        let begin = match self.begin_row(index, &key, &fingerprint, &mut lock).await {
            Ok(begin) => begin,
            Err(error) => {
                release_quietly(&self.store, lock).await;
                return Err(journal_error(error));
            }
        };
        let (lease, in_doubt) = match begin {
            Begin::New(lease) => (lease, false),
            Begin::Resume { phase, lease } => (lease, phase == Phase::RequestSent),
            Begin::Completed(result) => {
                release_quietly(&self.store, lock).await;
                return Ok(match replay(&result) {
                    Some(done) => JournalOpen::Done(Box::new(done)),
                    None => JournalOpen::Refuse(Error::Journal {
                        message: format!("row {}: the recorded result of {key} cannot be read", index + 1),
                        source: None,
                    }),
                });
            }
            Begin::Failed(error) => {
                release_quietly(&self.store, lock).await;
                let reason = error.get("error").and_then(Value::as_str).unwrap_or("failed earlier").to_string();
                return Ok(JournalOpen::Refuse(Error::Journal {
                    message: format!(
                        "row {}: failed in an earlier attempt of this run: {reason} (fix the row and push it under \
                         a new --run-id, or pass --retry-failed to send it again)",
                        index + 1
                    ),
                    source: Some(Box::new(Refusal::Failed(error))),
                }));
            }
            Begin::Conflict => {
                release_quietly(&self.store, lock).await;
                return Ok(JournalOpen::Refuse(Error::Journal {
                    message: format!(
                        "row {}: run {} already recorded a different payload for this row; use another run id to apply it",
                        index + 1,
                        self.run
                    ),
                    source: Some(Box::new(Refusal::Conflict)),
                }));
            }
            Begin::InProgress { holder, until } => {
                release_quietly(&self.store, lock).await;
                return Ok(JournalOpen::Refuse(Error::Journal {
                    message: format!(
                        "row {}: still in progress in {holder} (lease until {until}) after waiting {:?}; rerun to \
                         try again",
                        index + 1,
                        self.config.lock_wait
                    ),
                    source: Some(Box::new(Refusal::InProgress { holder, until })),
                }));
            }
        };
        // The lock must outlive the ledger lease: whoever later gets the lock (after this process died) must
        // find the lease lapsed too, or the row would look in progress. Every ledger step renews the lock after
        // extending the lease.
        if let Err(error) = locks.renew(&mut lock, self.config.lock_ttl).await {
            let _ = self.store.ledger().release(lease).await;
            return Err(journal_error(error));
        }
        if !in_doubt {
            fault_points::reached(fault_points::STARTED).await;
        }
        let idempotency_key = IdempotencyKey::new(key.clone())?;
        let row = LedgerRow {
            store: self.store.clone(),
            lease: Some(lease),
            lock: Some(lock),
            lock_ttl: self.config.lock_ttl,
            key,
            actor: self.config.actor.clone(),
            redactor: self.redactor.clone(),
            clock: self.clock.clone(),
            last_body: Value::Null,
            final_audit: None,
            record_person: self.config.record_person,
        };
        Ok(JournalOpen::Proceed { row: Box::new(row), in_doubt, key: idempotency_key })
    }
}

impl LedgerJournal {
    /// Takes the email lock: at once if it is free or lapsed, or held by a process on this host that is gone
    /// (killed, crashed); otherwise waits (saying so in the log) up to `lock_wait`. `None` if still held then.
    async fn acquire_lock(&self, index: usize, name: &str) -> Result<Option<LockGuard>, StoreError> {
        let locks = self.store.locks();
        let ttl = self.config.lock_ttl;
        let deadline = self.clock.now() + self.config.lock_wait;
        let mut pause = Duration::from_millis(5);
        let mut announced = false;
        loop {
            if let Some(guard) = locks.try_acquire(name, &self.holder, ttl).await? {
                return Ok(Some(guard));
            }
            if let Some(info) = locks.holder(name).await? {
                if holder::is_provably_dead(&info.holder) {
                    if let Some(guard) = locks.try_take_over(name, &self.holder, ttl, &info.holder).await? {
                        tracing::warn!(
                            row = index + 1,
                            dead_holder = %info.holder,
                            "took over the email lock of a process on this host that is gone"
                        );
                        return Ok(Some(guard));
                    }
                    continue;
                }
                if !announced {
                    announced = true;
                    tracing::warn!(
                        row = index + 1,
                        holder = %info.holder,
                        until = %info.expires_at,
                        "waiting for another process to release this row's email lock"
                    );
                }
            }
            let now = self.clock.now();
            if now >= deadline {
                return Ok(None);
            }
            self.clock.sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// Begins the row's ledger entry under the email lock (kept renewed while waiting): a lease held by a
    /// process on this host that is gone is taken over at once, a live holder's lease is waited out (up to
    /// `lock_wait`, with a log line), and a failure recorded earlier is reopened unless it is permanent (a
    /// 422 or 409 answer) and `retry_failed` is off.
    async fn begin_row(
        &self,
        index: usize,
        key: &str,
        fingerprint: &str,
        lock: &mut LockGuard,
    ) -> Result<Begin, StoreError> {
        let ledger = self.store.ledger();
        let ttl = self.config.lock_ttl;
        let deadline = self.clock.now() + self.config.lock_wait;
        let mut options = BeginOptions::default();
        let mut pause = Duration::from_millis(20);
        let mut announced = false;
        loop {
            let begin = ledger.begin_with(key, fingerprint, &self.holder, ttl, &options).await?;
            match &begin {
                Begin::Failed(error)
                    if !options.reopen_failed && (self.config.retry_failed || !is_permanent(error)) =>
                {
                    tracing::info!(row = index + 1, "retrying a row that failed earlier in this run");
                    options.reopen_failed = true;
                }
                Begin::InProgress { holder: held_by, until } => {
                    if holder::is_provably_dead(held_by) && options.take_over_from.as_deref() != Some(held_by) {
                        tracing::warn!(
                            row = index + 1,
                            dead_holder = %held_by,
                            "taking over the row of a process on this host that is gone"
                        );
                        options.take_over_from = Some(held_by.clone());
                        continue;
                    }
                    if !announced {
                        announced = true;
                        tracing::warn!(
                            row = index + 1,
                            holder = %held_by,
                            %until,
                            "the row is leased by another process; waiting for its lease to end"
                        );
                    }
                    let now = self.clock.now();
                    if now >= deadline {
                        return Ok(begin);
                    }
                    self.clock.sleep(pause.min(deadline - now)).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                    self.store.locks().renew(lock, ttl).await?;
                }
                _ => return Ok(begin),
            }
        }
    }
}

impl UpsertJournal for LedgerJournal {
    fn open<'a>(
        &'a self,
        index: usize,
        email: &'a str,
        input: &'a PersonInput,
    ) -> BoxFuture<'a, Result<JournalOpen, Error>> {
        self.open_row(index, email, input).boxed()
    }

    fn looks_up_under_lock(&self) -> bool {
        self.config.lookup_under_lock
    }
}

/// The journal of one running row: holds its email lock and ledger lease until `finish`.
struct LedgerRow {
    store: Store,
    lease: Option<Lease>,
    lock: Option<LockGuard>,
    lock_ttl: Duration,
    key: String,
    actor: String,
    redactor: Redactor,
    /// The clock the lease keeper measures renewals and the call's deadline on.
    clock: SharedClock,
    /// The body of the mutation in flight, redacted when it goes into the audit log.
    last_body: Value,
    /// The audit record of the mutation that succeeded, written with `complete`.
    final_audit: Option<AuditEntry>,
    /// Record the whole person ([`JournalConfig::record_person`]).
    record_person: bool,
}

impl LedgerRow {
    fn lease(&self) -> Result<&Lease, Error> {
        self.lease.as_ref().ok_or_else(|| Error::Journal {
            message: "the row's ledger lease was already given up".into(),
            source: None,
        })
    }

    /// One ledger step (a same- or later-phase advance, optionally with an audit record), then the lock renewal
    /// that keeps the lock's expiry after the lease's.
    ///
    /// `to_send` marks the step just before a mutation goes out: it is refused while the pause switch is on,
    /// checked in the same transaction ([`Error::Paused`]), so a pause stops rows already under way.
    async fn advance(&mut self, audit: Option<&AuditEntry>, to_send: bool) -> Result<(), Error> {
        let lease = self.lease()?;
        let ledger = self.store.ledger();
        let step = if to_send {
            ledger.advance_to_send(lease, audit).await
        } else {
            ledger.advance(lease, Phase::RequestSent, audit).await
        };
        step.map_err(journal_error)?;
        if let Some(lock) = self.lock.as_mut() {
            self.store.locks().renew(lock, self.lock_ttl).await.map_err(journal_error)?;
        }
        Ok(())
    }

    fn audit_entry(&self, mutation: Mutation, status: Option<u16>) -> AuditEntry {
        AuditEntry {
            actor: self.actor.clone(),
            operation: mutation.operation().to_string(),
            resource: mutation.resource(),
            request: self.redactor.redact_json(&self.last_body),
            response_status: status,
            idempotency_key: Some(self.key.clone()),
            correlation_id: None,
        }
    }

    async fn finish_row(mut self, outcome: &Result<Upserted, Error>, reconciled: bool) -> Result<(), Error> {
        let lease = self.lease.take();
        let result = match (lease, outcome) {
            (None, _) => Ok(()),
            (Some(lease), Ok(done)) => {
                let audit = match (self.final_audit.take(), reconciled) {
                    (Some(audit), _) => Some(audit),
                    (None, true) => Some(AuditEntry {
                        actor: self.actor.clone(),
                        operation: "people.reconcile".to_string(),
                        resource: upsert_resource(done),
                        request: json!({"note": "an earlier attempt was in doubt; the lookup found the person with the expected values"}),
                        response_status: None,
                        idempotency_key: Some(self.key.clone()),
                        correlation_id: None,
                    }),
                    (None, false) => None,
                };
                // Only what a rerun needs to replay the row (the person's id, and `updated_at` to rebuild a
                // minimal record): the ledger keeps no personal data.
                let recorded = match done.person() {
                    Some(person) if self.record_person => json!({"kind": done.kind(), "person": person}),
                    _ => upsert_record(done),
                };
                self.store.ledger().complete(lease, &recorded, audit.as_ref()).await.map_err(journal_error)
            }
            (Some(lease), Err(error)) if is_definitive(error) => {
                let recorded = failure_record(error);
                self.store
                    .ledger()
                    .fail(lease, &recorded, self.final_audit.take().as_ref())
                    .await
                    .map_err(journal_error)
            }
            // Transient: keep the phase (an entry at *request sent* stays in doubt) and let a rerun resume it.
            (Some(lease), Err(_)) => self.store.ledger().release(lease).await.map_err(journal_error),
        };
        if let Some(lock) = self.lock.take() {
            release_quietly(&self.store, lock).await;
        }
        result
    }
}

impl RowJournal for LedgerRow {
    fn sending<'a>(&'a mut self, _mutation: Mutation, body: &'a Value) -> BoxFuture<'a, Result<(), Error>> {
        async move {
            self.last_body = body.clone();
            self.advance(None, true).await?;
            fault_points::reached(fault_points::REQUEST_SENT).await;
            Ok(())
        }
        .boxed()
    }

    fn guard<'a>(&'a mut self, call: BoxFuture<'a, Result<Person, Error>>) -> BoxFuture<'a, Result<Person, Error>> {
        let Some(lease) = self.lease.clone() else { return call };
        let lock = self.lock.clone();
        let store = self.store.clone();
        let ttl = self.lock_ttl;
        let clock = self.clock.clone();
        let renew = move || {
            let (store, lease, mut lock) = (store.clone(), lease.clone(), lock.clone());
            async move {
                store.ledger().renew(&lease).await?;
                if let Some(lock) = lock.as_mut() {
                    store.locks().renew(lock, ttl).await?;
                }
                Ok(())
            }
            .boxed()
        };
        async move { lease_keeper::guard("people mutation", call, renew, LeaseTiming::for_ttl(ttl), clock.as_ref()).await }
            .boxed()
    }

    fn answered<'a>(&'a mut self, mutation: Mutation, status: Option<u16>) -> BoxFuture<'a, Result<(), Error>> {
        async move {
            let audit = self.audit_entry(mutation, status);
            if status.is_some_and(|s| (200..300).contains(&s)) {
                fault_points::reached(fault_points::RESPONSE_RECEIVED).await;
                self.final_audit = Some(audit);
                return Ok(());
            }
            // Not the row's last word (a 422 "taken" before the fallback update, or no answer at all): record
            // it now, in its own ledger step, so it is not lost if the row goes on to fail or crash.
            self.advance(Some(&audit), false).await
        }
        .boxed()
    }

    fn finish<'a>(
        self: Box<Self>,
        outcome: &'a Result<Upserted, Error>,
        reconciled: bool,
    ) -> BoxFuture<'a, Result<(), Error>> {
        (*self).finish_row(outcome, reconciled).boxed()
    }
}

/// Answers that repeating the same request cannot change: 422 (validation) and 409 (conflict).
const PERMANENT_STATUSES: [u16; 2] = [409, 422];

/// A failure that repeating the same request cannot fix (a 422 or 409 answer): recorded as failed, and replayed
/// on reruns unless `retry_failed`. Everything else (network, 5xx, timeouts, budget, lost leases, other 4xx)
/// releases the row so that a rerun tries it again.
pub(crate) fn is_definitive(error: &Error) -> bool {
    matches!(error, Error::Validation { .. })
        || error.status().is_some_and(|s| PERMANENT_STATUSES.contains(&s.as_u16()))
}

/// Whether a failure recorded in the ledger is permanent (see [`is_definitive`]). Failures recorded by older
/// builds for other answers (e.g. a 404) are tried again.
fn is_permanent(recorded: &Value) -> bool {
    recorded
        .get("status")
        .and_then(Value::as_u64)
        .is_some_and(|status| PERMANENT_STATUSES.iter().any(|p| u64::from(*p) == status))
}

/// What the audit log names as the upserted resource: `people/<id>`, or for a row a bulk job applied without its
/// result being read, the job (`bulk_jobs/<job>`).
pub(crate) fn upsert_resource(done: &Upserted) -> String {
    match (done, done.person()) {
        (_, Some(person)) => format!("people/{}", person.id.0),
        (Upserted::Applied { job }, None) => format!("bulk_jobs/{job}"),
        _ => "people".to_string(),
    }
}

/// What the ledger keeps of a finished upsert: `{kind, id, updated_at}`, or `{kind: "applied", job}`
/// for a row a bulk job applied without its result being read. No personal data.
pub(crate) fn upsert_record(done: &Upserted) -> Value {
    match (done, done.person()) {
        (_, Some(person)) => json!({"kind": done.kind(), "id": person.id, "updated_at": person.updated_at}),
        (Upserted::Applied { job }, None) => json!({"kind": "applied", "job": job}),
        _ => json!({"kind": done.kind()}),
    }
}

/// The upsert result recorded by `complete`: `{kind, id, updated_at}` (a replayed person carries only its id;
/// a later row for the same email then compares against nothing and sends its update). Entries written by
/// older builds hold the whole person under `person`.
fn replay(recorded: &Value) -> Option<Upserted> {
    if recorded.get("kind").and_then(Value::as_str) == Some("applied") {
        return Some(Upserted::Applied { job: recorded.get("job")?.as_i64()? });
    }
    let person = match recorded.get("person") {
        Some(person) => person.clone(),
        None => json!({"id": recorded.get("id")?, "updated_at": recorded.get("updated_at")?}),
    };
    let person: Person = serde_json::from_value(person).ok()?;
    Some(match recorded.get("kind")?.as_str()? {
        "created" => Upserted::Created(person),
        "updated" => Upserted::Updated(person),
        _ => Upserted::Unchanged(person),
    })
}

async fn release_quietly(store: &Store, lock: LockGuard) {
    if let Err(error) = store.locks().release(lock).await {
        // The lease expires on its own; a failed release only delays the next holder.
        tracing::warn!(%error, "could not release an email lock; it will expire");
    }
}

fn journal_error(error: StoreError) -> Error {
    match error {
        StoreError::Paused { by, reason } => Error::Paused { by, reason },
        other => Error::Journal { message: other.to_string(), source: Some(Box::new(other)) },
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[test]
    fn a_store_failure_keeps_the_store_error_as_its_source() {
        let error = journal_error(StoreError::Busy { detail: "database is locked".into() });
        assert_eq!(error.to_string(), format!("journal: {}", StoreError::Busy { detail: "database is locked".into() }));
        let source = std::error::Error::source(&error).expect("the store error is kept");
        assert!(
            matches!(source.downcast_ref::<StoreError>(), Some(StoreError::Busy { .. })),
            "expected the StoreError, got {source:?}"
        );
    }

    #[test]
    fn the_pause_switch_stays_its_own_variant() {
        let error = journal_error(StoreError::Paused { by: "ops".into(), reason: "incident".into() });
        assert!(matches!(error, Error::Paused { .. }), "{error:?}");
    }
}
