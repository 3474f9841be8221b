//! The idempotency ledger: brandur's recovery points (research/anchors.md §3) for mutations sent to SalesLoft.
//!
//! Use it around every create/update:
//!
//! 1. [`Ledger::begin`] with the idempotency key, a fingerprint of the request and a lease TTL
//!    ([`crate::DEFAULT_LOCK_TIMEOUT`] = 90 s, brandur's lock timeout):
//!    - [`Begin::New`]: first time; you hold the lease.
//!    - [`Begin::Resume`]: an earlier attempt died (its lease expired). If `phase` is
//!      [`Phase::RequestSent`], the request may have reached SalesLoft: **reconcile first** (look the person up
//!      by email) and only send again if it is not there.
//!    - [`Begin::Completed`] / [`Begin::Failed`]: replay the stored result; send nothing.
//!    - [`Begin::Conflict`]: the key was used for a different request (Stripe/brandur answer 409).
//!    - [`Begin::InProgress`]: another process holds a live lease (brandur: 409 "request in progress").
//! 2. [`Ledger::advance`] to [`Phase::RequestSent`] *before* sending — the recovery point that marks the
//!    outcome in doubt — optionally with an audit record, in one transaction.
//! 3. [`Ledger::complete`] with the result (and the audit record of the response), or [`Ledger::fail`] for a
//!    definitive failure, or [`Ledger::release`] to give the lease back unchanged after a transient error.
//!
//! Every step is one transaction, and every step after `begin` checks that the lease is still ours: a process
//! that stalled past its lease and was taken over gets [`crate::StoreError::LeaseLost`] instead of clobbering.
//! Keys older than the retention (default 24 h) are removed by [`Ledger::reap`]; a reused expired key starts
//! afresh, as Stripe does.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::audit::{AuditEntry, prepare};
use crate::{Result, Store, StoreError};

/// Where a ledger entry is. Phases only move forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Key recorded; nothing sent yet.
    Started,
    /// The request is about to be (or was) sent; its outcome is unknown until `complete`/`fail`.
    RequestSent,
    /// Done; the result is stored and replayed.
    Completed,
    /// Failed definitively (e.g. 422); the error is stored and replayed.
    Failed,
}

impl Phase {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Started => "started",
            Phase::RequestSent => "request_sent",
            Phase::Completed => "completed",
            Phase::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "started" => Phase::Started,
            "request_sent" => Phase::RequestSent,
            "completed" => Phase::Completed,
            "failed" => Phase::Failed,
            other => {
                return Err(StoreError::UnknownPhase { found: other.to_owned() });
            }
        })
    }

    fn rank(self) -> u8 {
        match self {
            Phase::Started => 0,
            Phase::RequestSent => 1,
            Phase::Completed | Phase::Failed => 2,
        }
    }
}

/// Proof that this caller holds a key's lease. Pass it to every later step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The idempotency key.
    pub key: String,
    /// Who holds it (for messages).
    pub holder: String,
    /// Random token identifying this lease.
    pub(crate) token: String,
    /// Lease duration; every step extends the lease by this much.
    pub ttl: Duration,
    /// How many times a lease was granted on this key (1 = first attempt).
    pub attempt: i64,
}

/// Outcome of [`Ledger::begin`].
#[derive(Debug, Clone, PartialEq)]
pub enum Begin {
    /// A new key; the lease is yours.
    New(Lease),
    /// An unfinished key whose previous holder is gone; the lease is yours. Reconcile if `phase` is
    /// [`Phase::RequestSent`].
    Resume {
        /// The last recovery point reached.
        phase: Phase,
        /// The lease.
        lease: Lease,
    },
    /// Finished earlier; the stored result.
    Completed(Value),
    /// Failed definitively earlier; the stored error.
    Failed(Value),
    /// The key was first used with a different request fingerprint.
    Conflict,
    /// Another caller holds a live lease.
    InProgress {
        /// Who.
        holder: String,
        /// Until when (unless renewed).
        until: OffsetDateTime,
    },
}

impl Begin {
    /// The lease, for `New` and `Resume`.
    pub fn lease(&self) -> Option<&Lease> {
        match self {
            Begin::New(lease) | Begin::Resume { lease, .. } => Some(lease),
            _ => None,
        }
    }
}

/// How [`Ledger::begin_with`] treats an entry someone else left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BeginOptions {
    /// Treat a live lease held by this holder as lapsed: the caller has proven that holder dead (e.g. a process
    /// on this host that no longer exists), so waiting out its lease would only delay the rerun.
    pub take_over_from: Option<String>,
    /// Reopen an entry that [`Ledger::fail`]ed (it resumes at [`Phase::Started`] instead of replaying the
    /// failure): for a failure the caller judges worth trying again.
    pub reopen_failed: bool,
}

/// A ledger entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerRecord {
    /// The idempotency key.
    pub key: String,
    /// Fingerprint of the request it was first used with.
    pub fingerprint: String,
    /// Current phase.
    pub phase: Phase,
    /// Stored result (completed) or error (failed).
    pub result: Option<Value>,
    /// Current or last lease holder.
    pub locked_by: Option<String>,
    /// Lease expiry (`None` when released).
    #[serde(with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
    /// Leases granted so far.
    pub attempts: i64,
    /// First use.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Handle on the ledger; see the module docs.
#[derive(Debug, Clone)]
pub struct Ledger {
    store: Store,
}

/// Longest accepted key: Stripe's limit (anchors.md §3).
pub const MAX_KEY_LEN: usize = 255;

impl Ledger {
    pub(crate) fn new(store: Store) -> Self {
        Self { store }
    }

    /// Starts or resumes work on `key`; see [`Begin`]. `fingerprint` identifies the request (e.g. sha256 of the
    /// method, path and canonical body); the same key with another fingerprint is [`Begin::Conflict`].
    pub async fn begin(&self, key: &str, fingerprint: &str, holder: &str, lock_ttl: Duration) -> Result<Begin> {
        self.begin_with(key, fingerprint, holder, lock_ttl, &BeginOptions::default()).await
    }

    /// [`Ledger::begin`], taking over the lease of a holder known to be dead and/or reopening a failed entry
    /// (see [`BeginOptions`]). A reopened entry comes back as [`Begin::Resume`] at [`Phase::Started`].
    pub async fn begin_with(
        &self,
        key: &str,
        fingerprint: &str,
        holder: &str,
        lock_ttl: Duration,
        options: &BeginOptions,
    ) -> Result<Begin> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(StoreError::KeyLength { len: key.len(), max: MAX_KEY_LEN });
        }
        let now = self.store.now();
        let token = uuid::Uuid::new_v4().to_string();
        let retention = self.store.options().key_retention;
        dispatch!(self.store, ledger::begin(key, fingerprint, holder, &token, lock_ttl, retention, options, now))
    }

    /// Moves to a later non-final phase (normally [`Phase::RequestSent`]) and extends the lease; appends
    /// `audit` in the same transaction.
    pub async fn advance(&self, lease: &Lease, phase: Phase, audit: Option<&AuditEntry>) -> Result<()> {
        if matches!(phase, Phase::Completed | Phase::Failed) {
            return Err(StoreError::FinishThroughAdvance { to: phase });
        }
        self.step(lease, phase, None, audit, false).await
    }

    /// Moves to [`Phase::RequestSent`] — the recovery point just before a mutation is sent — unless the pause
    /// switch is on: the flag is read in the same transaction that records the step, so once `slprod pause`
    /// has returned no further mutation is marked sent ([`StoreError::Paused`]; the phase is left unchanged).
    /// Appends `audit` in the same transaction.
    pub async fn advance_to_send(&self, lease: &Lease, audit: Option<&AuditEntry>) -> Result<()> {
        self.step(lease, Phase::RequestSent, None, audit, true).await
    }

    /// Finishes the entry with `result` (replayed to later callers), releases the lease and appends `audit`
    /// in the same transaction.
    pub async fn complete(&self, lease: Lease, result: &Value, audit: Option<&AuditEntry>) -> Result<()> {
        self.step(&lease, Phase::Completed, Some(result), audit, false).await
    }

    /// Finishes the entry as failed with `error` (replayed to later callers), releases the lease and appends
    /// `audit` in the same transaction. Use it only for definitive failures (4xx); for a transient failure
    /// before anything was sent use [`Ledger::release`].
    pub async fn fail(&self, lease: Lease, error: &Value, audit: Option<&AuditEntry>) -> Result<()> {
        self.step(&lease, Phase::Failed, Some(error), audit, false).await
    }

    /// Gives the lease back without changing the phase, so the next `begin` resumes at once.
    pub async fn release(&self, lease: Lease) -> Result<()> {
        let now = self.store.now();
        dispatch!(self.store, ledger::release(&lease, now))
    }

    /// Extends the lease to `now + ttl` without changing anything else: called in the background while a
    /// long request runs, so the lease cannot lapse under it. [`StoreError::LeaseLost`] if it was taken over.
    pub async fn renew(&self, lease: &Lease) -> Result<()> {
        let now = self.store.now();
        dispatch!(self.store, ledger::renew(lease, now))
    }

    /// The stored entry for `key`.
    pub async fn get(&self, key: &str) -> Result<Option<LedgerRecord>> {
        dispatch!(self.store, ledger::get(key))
    }

    /// Unfinished entries whose lease has lapsed (crashed holders): a completer job resumes them.
    pub async fn in_doubt(&self, limit: i64) -> Result<Vec<LedgerRecord>> {
        let now = self.store.now();
        dispatch!(self.store, ledger::in_doubt(now, limit))
    }

    /// Deletes entries older than the key retention whose lease is not live; returns how many.
    pub async fn reap(&self) -> Result<u64> {
        let now = self.store.now();
        let cutoff = now - self.store.options().key_retention;
        dispatch!(self.store, ledger::reap(cutoff, now))
    }

    async fn step(
        &self,
        lease: &Lease,
        phase: Phase,
        result: Option<&Value>,
        audit: Option<&AuditEntry>,
        refuse_if_paused: bool,
    ) -> Result<()> {
        let key = self.store.options().audit_key.clone();
        let audit = audit.map(|entry| prepare(entry, key.clone())).transpose()?;
        let result = result
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Unserializable { what: "ledger result", detail: e.to_string() })?;
        let now = self.store.now();
        dispatch!(self.store, ledger::step(lease, phase, result.as_deref(), audit.as_ref(), refuse_if_paused, now))
    }
}

/// Whether moving from `from` to `to` is allowed: forward only, and a finished entry never changes.
pub(crate) fn may_move(from: Phase, to: Phase) -> bool {
    from.rank() < 2 && to.rank() >= from.rank()
}
