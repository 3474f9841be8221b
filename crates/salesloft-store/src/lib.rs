//! Durable state for salesloft-prod, on SQLite (the embedded default) or PostgreSQL (for several replicas).
//!
//! One [`Store`] handle, opened from a URL ([`open`], [`StoreUrl`]), gives the state the checklist's
//! data-integrity items need. It survives crashes (every write is one transaction, committed durably) and is
//! shared by every process and replica that opens the same URL:
//!
//! | handle | what it holds | use it for |
//! |---|---|---|
//! | [`Store::ledger`] | idempotency keys: fingerprint, phase, result, lease | every mutation sent to SalesLoft (brandur's recovery points) |
//! | [`Store::locks`] | named leases with expiry | per-email upserts, per-connection token refresh |
//! | [`Store::inbox`] / [`InboxWriter`] | webhook deliveries, deduplicated | persist before acknowledging (group commit) |
//! | [`Store::audit`] | hash-chained audit log | written in the ledger's transaction; `slprod audit verify` |
//! | [`Store::checkpoints`] | named JSON cursors | incremental sync |
//! | [`Store::pause`] | the pause switch | rollback drills, incident response |
//! | [`Store::budget`] | one rate-budget row per team | several replicas spending one 600 cost/min budget |
//!
//! Retention: idempotency keys are kept 24 h ([`DEFAULT_KEY_RETENTION`]) and finished webhook deliveries 7 days
//! ([`DEFAULT_INBOX_RETENTION`]); [`Store::reap`] deletes what is older. The ledger keeps no personal data (a
//! finished row records `{kind, id, updated_at}`, not the person), and a new SQLite file is created mode 0600.
//!
//! A mutation through the ledger, with its audit record in the same transaction (the shape `slprod push` uses):
//!
//! ```no_run
//! # async fn demo() -> salesloft_store::Result<()> {
//! use salesloft_store::{AuditEntry, Begin, Phase, DEFAULT_LOCK_TIMEOUT};
//! let store = salesloft_store::open("sqlite://slprod.sqlite").await?;
//! let ledger = store.ledger();
//! match ledger.begin("upsert:ada@example.com:1", "sha256-of-request", "replica-1", DEFAULT_LOCK_TIMEOUT).await? {
//!     Begin::New(lease) | Begin::Resume { lease, .. } => {
//!         // (On Resume at Phase::RequestSent: look the person up by email first; complete if found.)
//!         ledger.advance(&lease, Phase::RequestSent, None).await?;
//!         // … send the request to SalesLoft …
//!         let audit = AuditEntry {
//!             actor: "crm-sync".into(),
//!             operation: "people.create".into(),
//!             resource: "people/123".into(),
//!             request: serde_json::json!({"email_address": "ada@example.com"}),
//!             response_status: Some(200),
//!             idempotency_key: Some(lease.key.clone()),
//!             correlation_id: None,
//!         };
//!         ledger.complete(lease, &serde_json::json!({"id": 123}), Some(&audit)).await?;
//!     }
//!     Begin::Completed(result) => println!("already done: {result}"),
//!     other => println!("not now: {other:?}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Durability: SQLite runs in WAL mode with `synchronous=FULL`, so a commit is on disk (fsync of the WAL) when
//! the call returns — NORMAL would survive an application crash but not a power loss, and the webhook inbox
//! promises "nothing acknowledged is lost". The group-commit [`InboxWriter`] amortises that fsync over a batch.
//! PostgreSQL uses the server's settings (`synchronous_commit=on` by default).
#![warn(missing_docs)]

/// Runs an operation for whichever database the store is on: `dispatch!(store, ledger::begin(…))` calls the
/// generic `backend::ops::ledger::begin` (written once for both backends); `dispatch!(store, f(…))` calls the
/// per-backend `backend::sqlite::f` or `backend::postgres::f`.
macro_rules! dispatch {
    ($store:expr, $concept:ident :: $f:ident ( $($arg:expr),* $(,)? )) => {
        match &$store.inner.db {
            $crate::backend::Db::Sqlite(pool) => $crate::backend::ops::$concept::$f(pool, $($arg),*).await,
            $crate::backend::Db::Postgres(pool) => $crate::backend::ops::$concept::$f(pool, $($arg),*).await,
        }
    };
    ($store:expr, $f:ident ( $($arg:expr),* $(,)? )) => {
        match &$store.inner.db {
            $crate::backend::Db::Sqlite(pool) => $crate::backend::sqlite::$f(pool, $($arg),*).await,
            $crate::backend::Db::Postgres(pool) => $crate::backend::postgres::$f(pool, $($arg),*).await,
        }
    };
}

pub mod audit;
mod backend;
pub mod budget;
pub mod checkpoints;
pub mod clock;
pub mod error;
pub mod inbox;
pub mod ledger;
pub mod locks;
pub mod pause;
pub mod url;

use std::sync::Arc;
use std::time::Duration;

pub use audit::{
    Audit, AuditEntry, AuditKey, AuditRecord, ChainCheck, ChainHead, Problem, ProblemKind, VerifyReport, verify_chain,
};
pub use budget::{Budget, Spend};
pub use checkpoints::Checkpoints;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Result, StoreError};
pub use inbox::{
    Claimed, Delivery, Inbox, InboxCounts, InboxEntry, InboxItem, InboxWriter, Inserted, WriterConfig, resource_type,
};
pub use ledger::{Begin, BeginOptions, Lease, Ledger, LedgerRecord, Phase};
pub use locks::{LockGuard, LockInfo, Locks};
pub use pause::{Pause, PauseInfo};
pub use url::{DEFAULT_STORE_URL, StoreUrl};

use backend::Db;

/// How long a ledger lease lasts before another process may take the key over: brandur's
/// `IDEMPOTENCY_KEY_LOCK_TIMEOUT` (research/anchors.md §3).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(90);
/// How long idempotency keys are kept: Stripe prunes keys once they are at least 24 h old (anchors.md §3).
pub const DEFAULT_KEY_RETENTION: Duration = Duration::from_secs(24 * 3600);
/// How long webhook deliveries (and so their dedup keys) are kept.
pub const DEFAULT_INBOX_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// What [`Store::reap`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReapReport {
    /// Idempotency keys older than the key retention (and not leased).
    pub ledger_keys: u64,
    /// Processed or dead webhook deliveries older than the inbox retention.
    pub inbox_rows: u64,
}

/// Knobs for [`open_with`]. `Default` is what `slprod` uses.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Source of the current time.
    pub clock: Arc<dyn Clock>,
    /// Idempotency keys older than this are reaped, and a reused expired key starts afresh.
    pub key_retention: Duration,
    /// Processed webhook deliveries older than this are reaped.
    pub inbox_retention: Duration,
    /// Connections in the pool.
    pub max_connections: u32,
    /// How long to wait for a connection (and, on SQLite, for another writer's lock) before failing.
    pub busy_timeout: Duration,
    /// SQLite only: cap the database at this many pages (`PRAGMA max_page_count`). A write that would grow it
    /// further fails with [`StoreError::DiskFull`] exactly as on a full disk; used to test that path.
    pub sqlite_max_page_count: Option<u32>,
    /// Keys the audit chain's hashes (HMAC-SHA256) so that whoever can write the database cannot rewrite the
    /// chain unnoticed; `None` (the default) hashes with plain sha256. See [`audit`].
    pub audit_key: Option<AuditKey>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock::default()),
            key_retention: DEFAULT_KEY_RETENTION,
            inbox_retention: DEFAULT_INBOX_RETENTION,
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
            sqlite_max_page_count: None,
            audit_key: None,
        }
    }
}

/// A handle on an open store; cheap to clone, shared by every task of a process.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    url: StoreUrl,
    options: StoreOptions,
}

/// Opens (creating and migrating if needed) the store at `url` with default options.
///
/// This is the helper every command uses for `--store URL` / `SLPROD_STORE`.
pub async fn open(url: &str) -> Result<Store> {
    open_with(&StoreUrl::parse(url)?, StoreOptions::default()).await
}

/// Opens (creating and migrating if needed) the store at `url`.
///
/// Refuses a file or database that holds something else ([`StoreError::NotOurDatabase`]) and one written by a
/// newer build ([`StoreError::SchemaTooNew`]).
pub async fn open_with(url: &StoreUrl, options: StoreOptions) -> Result<Store> {
    let db = match url {
        StoreUrl::Sqlite { path } => Db::Sqlite(backend::sqlite::open(url, path, &options).await?),
        StoreUrl::Postgres { url: conn, schema } => {
            Db::Postgres(backend::postgres::open(url, conn, schema.as_deref(), &options).await?)
        }
    };
    Ok(Store { inner: Arc::new(Inner { db, url: url.clone(), options }) })
}

impl Store {
    /// The idempotency ledger.
    pub fn ledger(&self) -> Ledger {
        Ledger::new(self.clone())
    }
    /// Cross-process named locks.
    pub fn locks(&self) -> Locks {
        Locks::new(self.clone())
    }
    /// The webhook inbox.
    pub fn inbox(&self) -> Inbox {
        Inbox::new(self.clone())
    }
    /// The audit log.
    pub fn audit(&self) -> Audit {
        Audit::new(self.clone())
    }
    /// Sync checkpoints.
    pub fn checkpoints(&self) -> Checkpoints {
        Checkpoints::new(self.clone())
    }
    /// The pause switch.
    pub fn pause(&self) -> Pause {
        Pause::new(self.clone())
    }
    /// The shared rate budget.
    pub fn budget(&self) -> Budget {
        Budget::new(self.clone())
    }
    /// The URL this store was opened from (its `Display` redacts passwords).
    pub fn url(&self) -> &StoreUrl {
        &self.inner.url
    }
    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }
    /// The current time from the store's clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.inner.options.clock.now_utc()
    }
    /// Closes the connection pool; later calls fail with [`StoreError::ConnectionLost`].
    pub async fn close(&self) {
        match &self.inner.db {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
    /// Deletes what has outlived its retention: idempotency keys older than [`StoreOptions::key_retention`]
    /// (default 24 h, [`DEFAULT_KEY_RETENTION`]) and finished webhook deliveries older than
    /// [`StoreOptions::inbox_retention`] (default 7 days, [`DEFAULT_INBOX_RETENTION`]). Pending deliveries and
    /// keys under a live lease are kept. `slprod store reap` runs it, and `slprod push` runs it on start.
    pub async fn reap(&self) -> Result<ReapReport> {
        let ledger_keys = self.ledger().reap().await?;
        let inbox_rows = self.inbox().reap().await?;
        Ok(ReapReport { ledger_keys, inbox_rows })
    }

    /// Checks the database's physical integrity (SQLite `PRAGMA quick_check`; PostgreSQL: a round trip).
    pub async fn check_integrity(&self) -> Result<()> {
        dispatch!(self, check_integrity())
    }
}
