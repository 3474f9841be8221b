//! The append-only, hash-chained audit log of every mutation sent to SalesLoft.
//!
//! Each record holds `prev_hash` (the previous record's hash, or [`GENESIS_HASH`]) and
//! `hash = sha256(canonical encoding of the record ‖ prev_hash)`; the store also keeps the chain head (last
//! sequence number and hash) in its own row. [`Audit::verify`] walks the chain in sequence order and reports the
//! first record that was removed (a gap in the sequence, a link to a hash that no longer exists, or a truncated
//! tail), altered (its content no longer matches its hash) or reordered (its content is intact but it is chained
//! to a different record than the one before it). Triggers make the tables append-only for ordinary SQL; the
//! chain catches whoever drops them. The check itself is a pure function over records, [`verify_chain`] (and
//! its streaming form [`ChainCheck`]), with one table row per kind of tampering.
//!
//! **Anchoring.** Whoever can write the database can also rewrite the whole chain with fresh sha256 hashes. Two
//! defences make that detectable: an optional secret [`AuditKey`] ([`crate::StoreOptions::audit_key`];
//! `SLPROD_AUDIT_KEY` or `--audit-key-file` in `slprod`) turns every hash into an HMAC-SHA256, which cannot be
//! recomputed without the key; and [`Audit::head`] gives the chain head's hash to record elsewhere (a ticket, a
//! log shipper, a notary), which [`Audit::verify_expecting`] later requires to still be in the chain. With a key
//! every record must be keyed: set it before the first record is appended (records appended without it are
//! reported as altered).
//!
//! Records written as part of a ledger step go through [`crate::Ledger::advance`] / `complete` / `fail`, which
//! append in the same transaction (DESIGN.md "Audit log", brandur's `audit_records`, anchors.md §3).
//! Callers pass the request already redacted; as a second line of defence values under keys that look like
//! credentials (`password`, `token`, `secret`, `authorization`, `api_key`, `cookie`) are replaced on append.

use std::io::Write;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::{Result, Store};

mod chain;

pub use chain::{ChainCheck, verify_chain};

/// `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The secret that keys the audit chain's hashes (HMAC-SHA256). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKey(Arc<[u8]>);

impl AuditKey {
    /// Shortest accepted key, in bytes.
    pub const MIN_LEN: usize = 16;

    /// A key from its bytes; [`crate::StoreError::AuditKeyTooShort`] if shorter than [`AuditKey::MIN_LEN`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self> {
        let bytes: Vec<u8> = bytes.into();
        if bytes.len() < Self::MIN_LEN {
            return Err(crate::StoreError::AuditKeyTooShort { len: bytes.len(), min: Self::MIN_LEN });
        }
        Ok(Self(bytes.into()))
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey([REDACTED])")
    }
}

/// The chain head: the last record's sequence number and hash ([`GENESIS_HASH`] at #0 for an empty log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainHead {
    /// Sequence number of the last record.
    pub seq: i64,
    /// Its hash: record it elsewhere and check it later with [`Audit::verify_expecting`].
    pub hash: String,
}

/// What the caller records about one mutation; the store adds the time, sequence number and hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Who caused it (user, service or integration name).
    pub actor: String,
    /// What was done, e.g. `people.create`, `people.update`.
    pub operation: String,
    /// Which resource, e.g. `people/123` or `people?email=…` before an id exists.
    pub resource: String,
    /// The request, with secrets removed and PII masked by the caller.
    pub request: Value,
    /// HTTP status of SalesLoft's response (`None` while the request is in flight or when none came).
    pub response_status: Option<u16>,
    /// Idempotency key of the ledger entry this mutation belongs to.
    pub idempotency_key: Option<String>,
    /// Correlation id of the logical call (trace id).
    pub correlation_id: Option<String>,
}

/// One stored audit record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When it was appended.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// See [`AuditEntry::actor`].
    pub actor: String,
    /// See [`AuditEntry::operation`].
    pub operation: String,
    /// See [`AuditEntry::resource`].
    pub resource: String,
    /// The request as stored (canonical JSON text, exactly what was hashed).
    pub request: String,
    /// See [`AuditEntry::response_status`].
    pub response_status: Option<i64>,
    /// See [`AuditEntry::idempotency_key`].
    pub idempotency_key: Option<String>,
    /// See [`AuditEntry::correlation_id`].
    pub correlation_id: Option<String>,
    /// Hash of the previous record ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// Hash of this record.
    pub hash: String,
}

impl AuditRecord {
    /// Recomputes this record's (unkeyed) hash from its content and `prev_hash`.
    pub fn computed_hash(&self) -> String {
        record_hash(&self.prev_hash, crate::backend::micros(self.at), self, None)
    }

    /// Recomputes this record's hash with `key` (HMAC-SHA256), or unkeyed without one.
    pub fn computed_hash_with(&self, key: Option<&AuditKey>) -> String {
        record_hash(&self.prev_hash, crate::backend::micros(self.at), self, key)
    }

    /// The record as one JSON object (what `slprod audit export` writes per line), `request` as JSON.
    pub fn to_json_line(&self) -> Result<String> {
        let request: Value =
            serde_json::from_str(&self.request).unwrap_or_else(|_| Value::String(self.request.clone()));
        let unserializable =
            |e: serde_json::Error| crate::StoreError::Unserializable { what: "audit record", detail: e.to_string() };
        let mut value = serde_json::to_value(self).map_err(unserializable)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("request".into(), request);
        }
        serde_json::to_string(&value).map_err(unserializable)
    }
}

/// What `verify` found wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// One or more records were removed.
    Missing,
    /// A record's content no longer matches its hash (or it was re-hashed, breaking the next link).
    Altered,
    /// A record is intact but sits at a different place in the chain than where it was appended.
    Reordered,
    /// The chain verifies on its own, but the head hash recorded elsewhere ([`Audit::verify_expecting`]) is
    /// not in it: the chain was rewritten up to or past that point.
    AnchorMissing,
}

/// The first problem in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Sequence number of the first affected record (for `Missing`: the first missing number).
    pub seq: i64,
    /// What kind of tampering or loss.
    pub kind: ProblemKind,
    /// One sentence for a human, naming sequence numbers.
    pub detail: String,
}

/// Result of [`Audit::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// True when the whole chain verifies.
    pub ok: bool,
    /// Records read.
    pub records: u64,
    /// Sequence number of the chain head as recorded by the store.
    pub head_seq: i64,
    /// The first problem, if any.
    pub first_problem: Option<Problem>,
}

/// Handle on the audit log; see the module docs.
#[derive(Debug, Clone)]
pub struct Audit {
    store: Store,
}

impl Audit {
    pub(crate) fn new(store: Store) -> Self {
        Self { store }
    }

    /// Appends one record in its own transaction. Prefer the ledger's `advance`/`complete`/`fail` for mutations,
    /// which append in the ledger step's transaction.
    pub async fn append(&self, entry: &AuditEntry) -> Result<AuditRecord> {
        let entry = prepare(entry, self.store.options().audit_key.clone())?;
        let now = self.store.now();
        dispatch!(self.store, audit::append(&entry, now))
    }

    /// Walks the whole chain and reports the first removed, altered or reordered record (with the store's
    /// [`AuditKey`], if it has one).
    pub async fn verify(&self) -> Result<VerifyReport> {
        let key = self.store.options().audit_key.clone();
        dispatch!(self.store, audit::verify(key.as_ref(), None))
    }

    /// [`Audit::verify`], and also require `anchored_hash` — a [`Audit::head`] hash recorded elsewhere earlier —
    /// to be the hash of a record of the verified chain ([`ProblemKind::AnchorMissing`] otherwise). Records
    /// appended since the anchor are fine.
    pub async fn verify_expecting(&self, anchored_hash: &str) -> Result<VerifyReport> {
        let key = self.store.options().audit_key.clone();
        dispatch!(self.store, audit::verify(key.as_ref(), Some(anchored_hash)))
    }

    /// The chain head, for anchoring elsewhere.
    pub async fn head(&self) -> Result<ChainHead> {
        dispatch!(self.store, audit::head())
    }

    /// Writes every record, in sequence order, as one JSON object per line; returns how many.
    pub async fn export(&self, out: &mut (dyn Write + Send)) -> Result<u64> {
        dispatch!(self.store, audit::export(out))
    }

    /// Records with `seq >= from`, at most `limit`, in order.
    pub async fn records(&self, from: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        dispatch!(self.store, audit::records(from, limit))
    }
}

/// An entry ready to be stored: redacted, serialized, validated.
#[derive(Debug)]
pub(crate) struct PreparedEntry {
    pub key: Option<AuditKey>,
    pub actor: String,
    pub operation: String,
    pub resource: String,
    pub request: String,
    pub response_status: Option<i64>,
    pub idempotency_key: Option<String>,
    pub correlation_id: Option<String>,
}

pub(crate) fn prepare(entry: &AuditEntry, key: Option<AuditKey>) -> Result<PreparedEntry> {
    if entry.actor.is_empty() {
        return Err(crate::StoreError::AuditEntryIncomplete { missing: "actor" });
    }
    if entry.operation.is_empty() {
        return Err(crate::StoreError::AuditEntryIncomplete { missing: "operation" });
    }
    let mut request = entry.request.clone();
    redact_secrets(&mut request);
    // serde_json's default map is ordered by key, so the stored text is canonical for equal values.
    let request = serde_json::to_string(&request)
        .map_err(|e| crate::StoreError::Unserializable { what: "audit request", detail: e.to_string() })?;
    Ok(PreparedEntry {
        key,
        actor: entry.actor.clone(),
        operation: entry.operation.clone(),
        resource: entry.resource.clone(),
        request,
        response_status: entry.response_status.map(i64::from),
        idempotency_key: entry.idempotency_key.clone(),
        correlation_id: entry.correlation_id.clone(),
    })
}

const SECRET_KEY_PARTS: [&str; 7] = ["password", "secret", "token", "authorization", "api_key", "apikey", "cookie"];

/// Replaces values under credential-looking keys with `"[REDACTED]"`, recursively.
pub fn redact_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let lower = key.to_ascii_lowercase();
                if SECRET_KEY_PARTS.iter().any(|part| lower.contains(part)) {
                    *v = Value::String("[REDACTED]".into());
                } else {
                    redact_secrets(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_secrets),
        _ => {}
    }
}

/// The fields that are hashed, borrowed from either a prepared entry or a stored record.
pub(crate) trait Hashed {
    fn fields(&self) -> [Option<&str>; 6];
    fn status(&self) -> Option<i64>;
}

/// Implements [`Hashed`] for types that carry the hashed fields under the same names (an entry about to be
/// stored and a stored record hash alike, which is what lets `verify` recompute an append's hash).
macro_rules! hashed_by_field_name {
    ($($record:ty),*) => {$(
        impl Hashed for $record {
            fn fields(&self) -> [Option<&str>; 6] {
                [
                    Some(&self.actor),
                    Some(&self.operation),
                    Some(&self.resource),
                    Some(&self.request),
                    self.idempotency_key.as_deref(),
                    self.correlation_id.as_deref(),
                ]
            }
            fn status(&self) -> Option<i64> {
                self.response_status
            }
        }
    )*};
}

hashed_by_field_name!(PreparedEntry, AuditRecord);

/// sha256 over a length-prefixed encoding (so no two field lists encode alike) of the time, the fields and the
/// previous hash — or, with `key`, HMAC-SHA256 over the same bytes under another domain tag. The sequence
/// number is deliberately not hashed: the links carry the order, which lets `verify` tell a moved record
/// (intact, wrong link) from an altered one (content ≠ hash).
pub(crate) fn record_hash(prev_hash: &str, at_micros: i64, record: &dyn Hashed, key: Option<&AuditKey>) -> String {
    let mut bytes = Vec::with_capacity(256);
    bytes.extend_from_slice(at_micros.to_be_bytes().as_slice());
    for field in record.fields() {
        match field {
            None => bytes.push(0u8),
            Some(s) => {
                bytes.push(1u8);
                bytes.extend_from_slice((s.len() as u64).to_be_bytes().as_slice());
                bytes.extend_from_slice(s.as_bytes());
            }
        }
    }
    match record.status() {
        None => bytes.push(0u8),
        Some(s) => {
            bytes.push(1u8);
            bytes.extend_from_slice(s.to_be_bytes().as_slice());
        }
    }
    bytes.extend_from_slice(prev_hash.as_bytes());
    match key.map(|key| <Hmac<Sha256> as KeyInit>::new_from_slice(&key.0)) {
        Some(Ok(mut mac)) => {
            mac.update(b"slprod-audit-hmac-v1\0");
            mac.update(&bytes);
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length, so this cannot happen; a hash that never verifies is the safe answer.
        Some(Err(_)) => "invalid-audit-key".to_string(),
        None => {
            let mut h = Sha256::new();
            h.update(b"slprod-audit-v1\0");
            h.update(&bytes);
            hex::encode(h.finalize())
        }
    }
}
