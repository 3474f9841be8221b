//! The store's one error type.
//!
//! Variants say what went wrong in terms an operator can act on (corrupt file, foreign database, disk full,
//! connection lost) rather than as raw driver errors. Messages never contain credentials: URLs are shown through
//! [`crate::StoreUrl`]'s redacting `Display`, and driver messages (SQLite / PostgreSQL server texts) carry none.
//! A write that fails with any of these errors was rolled back as a whole: the store never leaves a partial write.

use std::borrow::Cow;

/// Result alias for store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything a store operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The `--store` URL could not be parsed.
    #[error("invalid store URL {url}: {reason}")]
    InvalidUrl {
        /// The URL with any password replaced by `***`.
        url: String,
        /// What is wrong and which forms are accepted.
        reason: String,
    },
    /// The database could not be opened or reached at all.
    #[error("cannot open store {target}: {detail}")]
    Open {
        /// The redacted store URL.
        target: String,
        /// Why.
        detail: String,
    },
    /// The database file is damaged (SQLite `SQLITE_CORRUPT`): restore it from a backup.
    #[error("store is corrupt: {detail} (restore the database from a backup; nothing was written)")]
    Corrupt {
        /// Driver message.
        detail: String,
    },
    /// The database is not a salesloft-prod store (a non-SQLite file, or a database with other tables).
    #[error("{target} is not a salesloft-prod store: {detail} (refusing to touch it)")]
    NotOurDatabase {
        /// The redacted store URL.
        target: String,
        /// What was found instead.
        detail: String,
    },
    /// The store was written by a newer salesloft-prod with a schema this build does not know.
    #[error("store schema version {found} is newer than this build supports ({supported}); upgrade slprod")]
    SchemaTooNew {
        /// Version found in the store.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// A migration failed; the store was left at its previous version.
    #[error("store migration to version {version} failed: {detail}")]
    Migration {
        /// The version that failed to apply.
        version: i64,
        /// Driver message.
        detail: String,
    },
    /// The disk (or the configured size cap) is full; the transaction was rolled back.
    #[error("store is full: {detail} (free disk space; the write was rolled back)")]
    DiskFull {
        /// Driver message.
        detail: String,
    },
    /// The connection to the database was lost or could not be re-established; the transaction was rolled back.
    #[error("lost the connection to the store: {detail} (the write was rolled back; retry when the database is back)")]
    ConnectionLost {
        /// Driver message.
        detail: String,
    },
    /// The database stayed busy (locked by another writer) past the busy timeout, or PostgreSQL aborted the
    /// transaction on a serialization failure or deadlock; retrying the same call is safe.
    #[error("store is busy: {detail} (safe to retry)")]
    Busy {
        /// Driver message.
        detail: String,
    },
    /// The same idempotency key was used with a different request fingerprint.
    #[error("idempotency key {key:?} was first used for a different request (fingerprint mismatch)")]
    Conflict {
        /// The idempotency key.
        key: String,
    },
    /// A ledger lease or lock was taken over by someone else after it expired; the caller must stop.
    #[error("{what} {name:?} is no longer held by this caller (it expired and was taken over)")]
    LeaseLost {
        /// `"idempotency key"` or `"lock"`.
        what: &'static str,
        /// The key or lock name.
        name: String,
    },
    /// The pause switch is on: the ledger refused to record *request sent*, so nothing may be sent. Checked in
    /// the same transaction as the ledger step ([`crate::Ledger::advance_to_send`]).
    #[error("syncs are paused (by {by}: {reason}); nothing was sent")]
    Paused {
        /// Who set the switch.
        by: String,
        /// Why.
        reason: String,
    },
    /// An idempotency key is empty or longer than [`crate::ledger::MAX_KEY_LEN`] bytes.
    #[error("idempotency keys must be 1..={max} bytes, got {len}")]
    KeyLength {
        /// Length of the key that was passed, in bytes.
        len: usize,
        /// The longest key accepted.
        max: usize,
    },
    /// A ledger step would move an entry backwards (or change a finished one).
    #[error("ledger entry {key:?} cannot move from {} to {}", .from.as_str(), .to.as_str())]
    PhaseBackwards {
        /// The idempotency key.
        key: String,
        /// The phase the entry is in.
        from: crate::Phase,
        /// The phase that was asked for.
        to: crate::Phase,
    },
    /// [`crate::Ledger::advance`] was asked for a final phase; finishing goes through `complete` or `fail`.
    #[error("use complete() or fail() to finish a ledger entry (advance() was asked for {})", .to.as_str())]
    FinishThroughAdvance {
        /// The final phase that was asked for.
        to: crate::Phase,
    },
    /// An audit key shorter than [`crate::AuditKey::MIN_LEN`] bytes (the key itself is never shown).
    #[error("an audit key must be at least {min} bytes, got {len}")]
    AuditKeyTooShort {
        /// Length of the key that was passed, in bytes.
        len: usize,
        /// The shortest key accepted.
        min: usize,
    },
    /// An audit entry without an actor or an operation.
    #[error("audit entries need an actor and an operation ({missing} is empty)")]
    AuditEntryIncomplete {
        /// `"actor"` or `"operation"`.
        missing: &'static str,
    },
    /// A lock was asked for with an empty name.
    #[error("locks need a name")]
    EmptyLockName,
    /// A lock was asked for with a zero time to live.
    #[error("locks need a non-zero ttl")]
    ZeroLockTtl,
    /// Budget arguments out of range: the store needs `0 <= cost <= limit`, `limit > 0` and a non-zero window.
    #[error(
        "budget needs 0 <= cost <= limit, limit > 0 and a non-zero window (cost {cost}, limit {limit}, \
         window {window:?})"
    )]
    BudgetArguments {
        /// The cost asked for.
        cost: i64,
        /// The limit per window.
        limit: i64,
        /// The window.
        window: std::time::Duration,
    },
    /// A value could not be serialized to JSON for storing.
    #[error("cannot store {what} as JSON: {detail}")]
    Unserializable {
        /// What was being stored, e.g. `"ledger result"`.
        what: &'static str,
        /// serde_json's message (it names no values).
        detail: String,
    },
    /// A stored JSON column holds text that is not the JSON expected.
    #[error("stored {what} is not valid JSON: {detail}")]
    StoredJson {
        /// Which value, e.g. `ledger result` or `checkpoint "people"`.
        what: String,
        /// serde_json's message (position only, no content).
        detail: String,
    },
    /// A ledger row holds a phase this build does not know.
    #[error("stored ledger phase {found:?} is unknown")]
    UnknownPhase {
        /// The text found.
        found: String,
    },
    /// The driver could not decode a column into the expected type.
    #[error("stored data is unreadable: {detail}")]
    ColumnDecode {
        /// Driver message (names the column).
        detail: String,
    },
    /// The group-commit writer task has stopped.
    #[error("the inbox writer has stopped")]
    WriterStopped,
    /// An I/O error outside the database (e.g. writing an export).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Any other database error.
    #[error("database error: {detail}")]
    Database {
        /// Driver message.
        detail: String,
    },
}

impl StoreError {
    /// True when the same call may simply be retried (busy, serialization failure, lost connection).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Busy { .. } | StoreError::ConnectionLost { .. })
    }
}

// SQLite primary result codes (https://www.sqlite.org/rescode.html); sqlx reports the extended code, whose low
// byte is the primary code.
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_IOERR: i64 = 10;
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_FULL: i64 = 13;
const SQLITE_NOTADB: i64 = 26;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::Database(db) => {
                let detail = db.message().to_owned();
                let code: Option<Cow<'_, str>> = db.code();
                let code = code.map(|c| c.into_owned()).unwrap_or_default();
                if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    let primary = code.parse::<i64>().unwrap_or(0) & 0xff;
                    match primary {
                        SQLITE_CORRUPT => StoreError::Corrupt { detail },
                        SQLITE_NOTADB => StoreError::NotOurDatabase {
                            target: "the SQLite file".into(),
                            detail: format!("{detail} (not an SQLite database)"),
                        },
                        SQLITE_FULL => StoreError::DiskFull { detail },
                        SQLITE_BUSY | SQLITE_LOCKED => StoreError::Busy { detail },
                        SQLITE_IOERR => StoreError::Database { detail: format!("disk I/O error: {detail}") },
                        _ => StoreError::Database { detail },
                    }
                } else {
                    // PostgreSQL SQLSTATE classes (https://www.postgresql.org/docs/15/errcodes-appendix.html).
                    match code.as_str() {
                        "53100" => StoreError::DiskFull { detail },
                        "40001" | "40P01" | "55P03" => StoreError::Busy { detail },
                        c if c.starts_with("08") || c.starts_with("57P") => StoreError::ConnectionLost { detail },
                        _ => StoreError::Database { detail: format!("{detail} (SQLSTATE {code})") },
                    }
                }
            }
            sqlx::Error::Io(e) => StoreError::ConnectionLost { detail: e.to_string() },
            e @ (sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed) => StoreError::ConnectionLost { detail: e.to_string() },
            e @ (sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_)) => {
                StoreError::ColumnDecode { detail: e.to_string() }
            }
            e => StoreError::Database { detail: e.to_string() },
        }
    }
}

impl StoreError {
    /// A copy for fanning one failure out to many waiters (the group-commit writer), keeping the variant of the
    /// operator-facing kinds.
    pub(crate) fn duplicate(&self) -> StoreError {
        match self {
            StoreError::DiskFull { detail } => StoreError::DiskFull { detail: detail.clone() },
            StoreError::ConnectionLost { detail } => StoreError::ConnectionLost { detail: detail.clone() },
            StoreError::Corrupt { detail } => StoreError::Corrupt { detail: detail.clone() },
            StoreError::Busy { detail } => StoreError::Busy { detail: detail.clone() },
            other => StoreError::Database { detail: other.to_string() },
        }
    }
}
