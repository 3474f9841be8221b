//! The store-backed [`BulkJournal`]: a bulk upsert's recovery points in the idempotency ledger, one audit
//! record per mutation sent and per row.
//!
//! A run `<run>` keeps these ledger entries (each phase as in [`salesloft_store::ledger`]):
//! - `people.bulk:<run>:plan`, completed before anything is sent, with the chunk plan (each chunk's record
//!   range and input row range; no personal data). Its fingerprint hashes every record, so the same run id
//!   with other content is refused rather than mixed into one job;
//! - `people.bulk:<run>:job`: *request sent* before the create, completed with the job id;
//! - `people.bulk:<run>:chunk:<k>`: *request sent* before the upload of chunk `k` (1-based), completed when
//!   SalesLoft stored it (answered, or found in `job_data` by reconcile), failed when it certainly was not
//!   (reopened by the next attempt);
//! - `people.bulk:<run>:ready`: *request sent* before the mark-ready, completed once the job executes;
//! - `people.bulk:<run>:results`: completed once every row's outcome is recorded;
//! - per row, the row-by-row path's own key `people.upsert:<run>:<index>` with its fingerprint, completed
//!   with `{kind, id, updated_at}` or failed with `{error, status}`, so `slprod push` reports and replays
//!   look the same whichever path wrote them.
//!
//! Each "about to send" step is refused while the pause switch is on, in the same transaction
//! ([`salesloft_store::Ledger::advance_to_send`]). Leases are held only from a step's "about to send" to its
//! answer; a step whose holder is a process on this host that is gone is taken over at once, a live holder's
//! step stops this run (two runs of one plan never send the same step at once). There is no per-email lock:
//! the records of one run are one job, and the job applies them (FACTS.md §12).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use salesloft_client::Error;
use salesloft_client::bulk_upsert::{BulkJournal, BulkPlan, BulkProgress, BulkStep, RowOutcome, StepState};
use salesloft_client::models::BulkJobId;
use salesloft_client::redact::Redactor;
use salesloft_store::{AuditEntry, Begin, BeginOptions, Lease, Phase, Store, StoreError};

use crate::keys::{RunId, canonical_json, row_fingerprint, row_key};
use crate::{fault_points, holder};

/// Journals one bulk run in the store. See the module docs.
#[derive(Debug)]
pub struct BulkLedger {
    store: Store,
    run: RunId,
    holder: String,
    actor: String,
    lease_ttl: Duration,
    redactor: Redactor,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The plan's fingerprint: every step key carries it.
    fingerprint: String,
    job: Option<BulkJobId>,
    /// Chunk spans for the audit records: (first row, last row, records).
    chunks: Vec<(usize, usize, usize)>,
    /// Leases held between a step's "about to send" and its answer.
    leases: HashMap<String, Lease>,
    /// Whether a row outcome was recorded by this process (the fault point fires once).
    row_recorded: bool,
}

impl BulkLedger {
    /// A journal for `run` in `store`, naming `actor` in the audit log; step leases last `lease_ttl`.
    pub fn new(store: Store, run: RunId, actor: impl Into<String>, lease_ttl: Duration) -> Self {
        let actor = actor.into();
        let holder = holder::this_process(&actor);
        Self { store, run, holder, actor, lease_ttl, redactor: Redactor::default(), state: Mutex::default() }
    }

    /// The name the run's bulk job gets in SalesLoft, by which a rerun recognises it.
    pub fn job_name(&self) -> String {
        format!("slprod push {}", self.run)
    }

    fn key(&self, step: &str) -> String {
        format!("people.bulk:{}:{step}", self.run)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Begins step `key` (taking over a dead holder's lease; reopening a failed step, which was certainly
    /// not stored); `Ok(None)` when it was completed earlier.
    async fn begin(&self, key: &str, fingerprint: &str) -> Result<Option<(Lease, Phase)>, Error> {
        self.begin_with(key, fingerprint, true).await
    }

    /// [`Self::begin`]; with `reopen_failed` false a failed entry is finished too (`Ok(None)`): a row
    /// refused by SalesLoft keeps its recorded failure and its one audit record.
    async fn begin_with(
        &self,
        key: &str,
        fingerprint: &str,
        reopen_failed: bool,
    ) -> Result<Option<(Lease, Phase)>, Error> {
        let ledger = self.store.ledger();
        let mut options = BeginOptions { reopen_failed, ..BeginOptions::default() };
        loop {
            match ledger.begin_with(key, fingerprint, &self.holder, self.lease_ttl, &options).await.map_err(journal)? {
                Begin::New(lease) => return Ok(Some((lease, Phase::Started))),
                Begin::Resume { phase, lease } => return Ok(Some((lease, phase))),
                Begin::Completed(_) => return Ok(None),
                Begin::Failed(_) if !reopen_failed => return Ok(None),
                Begin::Failed(_) => return Err(Error::journal(format!("{key}: failed entry could not be reopened"))),
                Begin::Conflict => {
                    return Err(Error::journal(format!(
                        "{key}: run {} already recorded another plan; push it under another --run-id",
                        self.run
                    )));
                }
                Begin::InProgress { holder: held_by, until } => {
                    if holder::is_provably_dead(&held_by) && options.take_over_from.as_deref() != Some(&held_by) {
                        tracing::warn!(key, dead_holder = %held_by, "taking over a bulk step of a process that is gone");
                        options.take_over_from = Some(held_by);
                        continue;
                    }
                    return Err(Error::journal(format!(
                        "{key}: in progress in {held_by} (lease until {until}); rerun when it has finished"
                    )));
                }
            }
        }
    }

    /// The lease taken by the step's "about to send", or a fresh one (a step reconciled by this process).
    async fn lease_for(&self, key: &str) -> Result<Option<Lease>, Error> {
        let held = self.lock().leases.remove(key);
        if let Some(lease) = held {
            return Ok(Some(lease));
        }
        let fingerprint = self.lock().fingerprint.clone();
        Ok(self.begin(key, &fingerprint).await?.map(|(lease, _)| lease))
    }

    /// Records "about to send" on `key` (refused while paused) and keeps the lease for the answer.
    async fn sending(&self, key: String) -> Result<(), Error> {
        let fingerprint = self.lock().fingerprint.clone();
        let Some((lease, _)) = self.begin(&key, &fingerprint).await? else {
            return Err(Error::journal(format!("{key}: already completed; nothing to send")));
        };
        if let Err(error) = self.store.ledger().advance_to_send(&lease, None).await {
            let _ = self.store.ledger().release(lease).await;
            return Err(journal(error));
        }
        self.lock().leases.insert(key, lease);
        Ok(())
    }

    /// Completes `key` with `result` and `audit`.
    async fn complete(&self, key: &str, result: Value, audit: Option<AuditEntry>) -> Result<(), Error> {
        let Some(lease) = self.lease_for(key).await? else { return Ok(()) };
        self.store.ledger().complete(lease, &result, audit.as_ref()).await.map_err(journal)
    }

    fn audit(&self, operation: &str, resource: String, request: Value, status: Option<u16>, key: &str) -> AuditEntry {
        AuditEntry {
            actor: self.actor.clone(),
            operation: operation.to_string(),
            resource,
            request,
            response_status: status,
            idempotency_key: Some(key.to_string()),
            correlation_id: None,
        }
    }

    fn job(&self) -> Result<BulkJobId, Error> {
        self.lock().job.ok_or_else(|| Error::journal("bulk step before the job id was recorded"))
    }

    async fn state_of(&self, key: &str) -> Result<(StepState, Option<Value>), Error> {
        let record = self.store.ledger().get(key).await.map_err(journal)?;
        Ok(match record {
            None => (StepState::Pending, None),
            Some(record) => match record.phase {
                Phase::Started | Phase::Failed => (StepState::Pending, None),
                Phase::RequestSent => (StepState::InDoubt, None),
                Phase::Completed => (StepState::Done, record.result),
            },
        })
    }

    async fn open_run(&self, plan: &BulkPlan) -> Result<BulkProgress, Error> {
        let fingerprint = plan_fingerprint(plan);
        let chunks: Vec<(usize, usize, usize)> =
            plan.chunks().iter().map(|c| (c.first_row, c.last_row, c.records.len())).collect();
        {
            let mut state = self.lock();
            state.fingerprint = fingerprint.clone();
            state.chunks = chunks.clone();
        }
        let plan_key = self.key("plan");
        if let Some((lease, _)) = self.begin(&plan_key, &fingerprint).await? {
            let recorded = json!({
                "records": plan.records().len(),
                "rows": plan.rows().len(),
                "chunks": chunks.iter().map(|(first, last, n)| json!({"first_row": first, "last_row": last, "records": n})).collect::<Vec<_>>(),
            });
            self.store.ledger().complete(lease, &recorded, None).await.map_err(journal)?;
            fault_points::reached(fault_points::BULK_PLAN_RECORDED).await;
        }
        let (creating, job_result) = self.state_of(&self.key("job")).await?;
        let job = job_result.as_ref().and_then(|r| r.get("job_id")).and_then(Value::as_i64).map(BulkJobId);
        self.lock().job = job;
        let mut chunk_states = Vec::with_capacity(plan.chunks().len());
        for k in 0..plan.chunks().len() {
            chunk_states.push(self.state_of(&self.key(&format!("chunk:{}", k + 1))).await?.0);
        }
        let ready = self.state_of(&self.key("ready")).await?.0;
        let finished = self.state_of(&self.key("results")).await?.0 == StepState::Done;
        Ok(BulkProgress { job, creating, chunks: chunk_states, ready, finished })
    }

    async fn record_step(&self, step: BulkStep) -> Result<(), Error> {
        if self.lock().fingerprint.is_empty() {
            return Err(Error::journal("a bulk step before the plan was opened"));
        }
        match step {
            BulkStep::Creating => {
                self.sending(self.key("job")).await?;
                fault_points::reached(fault_points::BULK_CREATE_SENDING).await;
            }
            BulkStep::Created { job, reconciled } => {
                fault_points::reached(fault_points::BULK_CREATE_ANSWERED).await;
                let key = self.key("job");
                let request = json!({"type": "person/upsert", "name": self.job_name()});
                // An adopted job was created by an earlier attempt whose answer never reached the ledger: its
                // one audit record says so (status unknown).
                let (operation, status) =
                    if reconciled { ("bulk_jobs.reconcile", None) } else { ("bulk_jobs.create", Some(200)) };
                let audit = self.audit(operation, format!("bulk_jobs/{job}"), request, status, &key);
                self.complete(&key, json!({"job_id": job.0}), Some(audit)).await?;
                self.lock().job = Some(job);
            }
            BulkStep::Uploading(k) => {
                self.sending(self.key(&format!("chunk:{}", k + 1))).await?;
                fault_points::reached_for_chunk(fault_points::BULK_UPLOAD_SENDING, k + 1).await;
            }
            BulkStep::Uploaded { chunk, records, reconciled } => {
                fault_points::reached_for_chunk(fault_points::BULK_UPLOAD_ANSWERED, chunk + 1).await;
                let job = self.job()?;
                let key = self.key(&format!("chunk:{}", chunk + 1));
                let request = self.chunk_request(chunk, records);
                // A reconciled upload was sent by an earlier attempt whose answer was lost: its one audit
                // record says so (status unknown).
                let (operation, status) = if reconciled {
                    ("bulk_jobs.job_data.reconcile", None)
                } else {
                    ("bulk_jobs.job_data.create", Some(200))
                };
                let audit = self.audit(operation, format!("bulk_jobs/{job}/job_data"), request, status, &key);
                self.complete(&key, json!({"records": records}), Some(audit)).await?;
            }
            BulkStep::NotUploaded { chunk, status } => {
                let key = self.key(&format!("chunk:{}", chunk + 1));
                let Some(lease) = self.lease_for(&key).await? else { return Ok(()) };
                let job = self.job()?;
                // An answered refusal was a mutation sent: it gets its audit record. A chunk found missing
                // by reconcile was never stored, and gets none.
                let audit = status.map(|status| {
                    let request = self.chunk_request(chunk, 0);
                    self.audit(
                        "bulk_jobs.job_data.create",
                        format!("bulk_jobs/{job}/job_data"),
                        request,
                        Some(status),
                        &key,
                    )
                });
                self.store
                    .ledger()
                    .fail(lease, &json!({"error": "not stored", "status": status}), audit.as_ref())
                    .await
                    .map_err(journal)?;
            }
            BulkStep::MarkingReady => {
                self.sending(self.key("ready")).await?;
                fault_points::reached(fault_points::BULK_READY_SENDING).await;
            }
            BulkStep::MarkedReady { reconciled } => {
                fault_points::reached(fault_points::BULK_READY_ANSWERED).await;
                let job = self.job()?;
                let key = self.key("ready");
                let (operation, status) =
                    if reconciled { ("bulk_jobs.reconcile", None) } else { ("bulk_jobs.update", Some(200)) };
                let audit =
                    self.audit(operation, format!("bulk_jobs/{job}"), json!({"ready_to_execute": true}), status, &key);
                self.complete(&key, json!({"ready": true}), Some(audit)).await?;
            }
            BulkStep::Finished => {
                let key = self.key("results");
                let fingerprint = self.lock().fingerprint.clone();
                if let Some((lease, _)) = self.begin(&key, &fingerprint).await? {
                    self.store.ledger().complete(lease, &json!({"finished": true}), None).await.map_err(journal)?;
                }
            }
        }
        Ok(())
    }

    /// What the audit log keeps of an upload: the chunk and its row range, never the records (PII).
    fn chunk_request(&self, chunk: usize, records: u64) -> Value {
        let span = self.lock().chunks.get(chunk).copied();
        let (first_row, last_row, planned) = span.unwrap_or_default();
        json!({"chunk": chunk + 1, "first_row": first_row, "last_row": last_row, "planned": planned, "stored": records})
    }

    async fn record_row(&self, row: RowOutcome<'_>) -> Result<(), Error> {
        let key = row_key(&self.run, row.index);
        let fingerprint = row_fingerprint(row.email, row.input);
        let Some((lease, _)) = self.begin_with(&key, &fingerprint, false).await? else {
            return Ok(());
        };
        let request = self.redactor.redact_json(&serde_json::to_value(row.input).unwrap_or(Value::Null));
        let mut audit = self.audit("people.bulk_upsert", "people".to_string(), request, None, &key);
        audit.correlation_id = Some(match row.record_id {
            Some(record) => format!("bulk_jobs/{}/records/{record}", row.job),
            None => format!("bulk_jobs/{}", row.job),
        });
        let ledger = self.store.ledger();
        match row.outcome {
            Ok(done) => {
                audit.resource = crate::ledger_journal::upsert_resource(done);
                audit.response_status = Some(200);
                let recorded = crate::ledger_journal::upsert_record(done);
                ledger.complete(lease, &recorded, Some(&audit)).await.map_err(journal)?;
            }
            Err(error) => {
                let status = error.status().map(|s| s.as_u16());
                audit.response_status = status;
                let recorded = json!({"error": error.to_string(), "status": status});
                ledger.fail(lease, &recorded, Some(&audit)).await.map_err(journal)?;
            }
        }
        if !std::mem::replace(&mut self.lock().row_recorded, true) {
            fault_points::reached(fault_points::BULK_ROW_RECORDED).await;
        }
        Ok(())
    }
}

impl BulkJournal for BulkLedger {
    fn open<'a>(&'a self, plan: &'a BulkPlan) -> BoxFuture<'a, Result<BulkProgress, Error>> {
        self.open_run(plan).boxed()
    }

    fn step(&self, step: BulkStep) -> BoxFuture<'_, Result<(), Error>> {
        self.record_step(step).boxed()
    }

    fn row<'a>(&'a self, row: RowOutcome<'a>) -> BoxFuture<'a, Result<(), Error>> {
        self.record_row(row).boxed()
    }
}

/// SHA-256 (hex) of the chunk size and every record of the plan with the rows merged into it.
fn plan_fingerprint(plan: &BulkPlan) -> String {
    let mut hasher = Sha256::new();
    for span in plan.chunks() {
        hasher.update(format!("chunk {}..{}\n", span.records.start, span.records.end).as_bytes());
    }
    for record in plan.records() {
        let rows: Vec<usize> = record.rows.iter().map(|&p| plan.rows()[p].index).collect();
        hasher.update(format!("{rows:?}\n").as_bytes());
        hasher.update(canonical_json(&record.body).as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

fn journal(error: StoreError) -> Error {
    match error {
        StoreError::Paused { by, reason } => Error::Paused { by, reason },
        other => Error::Journal { message: other.to_string(), source: Some(Box::new(other)) },
    }
}
