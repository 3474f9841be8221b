//! Named points in the ledgered upsert where a crash drill can stop the process.
//!
//! The crash tests (DESIGN.md DATA-1, issue "a child process killed with SIGKILL at each ledger phase") must
//! kill a real process at a precise recovery point. With `SLPROD_FAULT_PAUSE_AT=<point>` in its environment, a
//! process that reaches `<point>` prints `slprod: paused at <point>` on stderr and waits forever, so the test
//! can send SIGKILL exactly there. Without the variable the points cost one environment read per process.
//!
//! The bulk points ([`BULK`]) that a run reaches once per chunk also answer to `<point>:<chunk>` (1-based),
//! so a drill can stop at the second upload rather than the first.

use std::sync::OnceLock;

/// The environment variable naming the point to pause at.
pub const PAUSE_AT_ENV: &str = "SLPROD_FAULT_PAUSE_AT";

/// The ledger entry was created (phase *started*); nothing was sent.
pub const STARTED: &str = "started";
/// The ledger says *request sent*; the mutation is about to go out.
pub const REQUEST_SENT: &str = "request_sent";
/// SalesLoft answered the mutation; the ledger does not know yet.
pub const RESPONSE_RECEIVED: &str = "response_received";

/// Every point, in the order a row reaches them.
pub const ALL: &[&str] = &[STARTED, REQUEST_SENT, RESPONSE_RECEIVED];

/// Bulk: the plan is recorded; nothing was sent.
pub const BULK_PLAN_RECORDED: &str = "bulk_plan_recorded";
/// Bulk: the ledger says the job's create is about to go out.
pub const BULK_CREATE_SENDING: &str = "bulk_create_sending";
/// Bulk: SalesLoft created the job; its id is not recorded yet.
pub const BULK_CREATE_ANSWERED: &str = "bulk_create_answered";
/// Bulk: the ledger says a chunk's upload is about to go out (also `:<chunk>`).
pub const BULK_UPLOAD_SENDING: &str = "bulk_upload_sending";
/// Bulk: SalesLoft stored a chunk; the ledger does not know yet (also `:<chunk>`).
pub const BULK_UPLOAD_ANSWERED: &str = "bulk_upload_answered";
/// Bulk: the ledger says the mark-ready is about to go out.
pub const BULK_READY_SENDING: &str = "bulk_ready_sending";
/// Bulk: the job is executing; the ledger does not know yet.
pub const BULK_READY_ANSWERED: &str = "bulk_ready_answered";
/// Bulk: the first row's outcome is recorded; the others are not.
pub const BULK_ROW_RECORDED: &str = "bulk_row_recorded";

/// Every bulk point, in the order a run reaches them.
pub const BULK: &[&str] = &[
    BULK_PLAN_RECORDED,
    BULK_CREATE_SENDING,
    BULK_CREATE_ANSWERED,
    BULK_UPLOAD_SENDING,
    BULK_UPLOAD_ANSWERED,
    BULK_READY_SENDING,
    BULK_READY_ANSWERED,
    BULK_ROW_RECORDED,
];

fn configured() -> Option<&'static str> {
    static PAUSE_AT: OnceLock<Option<String>> = OnceLock::new();
    PAUSE_AT.get_or_init(|| std::env::var(PAUSE_AT_ENV).ok().filter(|v| !v.is_empty())).as_deref()
}

/// Pauses forever if the process was told to pause at `point`; returns at once otherwise.
pub async fn reached(point: &str) {
    if configured() == Some(point) {
        pause(point).await;
    }
}

/// [`reached`] for a point a run reaches once per chunk: pauses at `point` (the first chunk to reach it)
/// or at `point:<chunk>` (`chunk` 1-based).
pub async fn reached_for_chunk(point: &str, chunk: usize) {
    let Some(configured) = configured() else { return };
    let indexed = configured.strip_prefix(point).and_then(|rest| rest.strip_prefix(':'));
    if configured == point || indexed.is_some_and(|n| n == chunk.to_string()) {
        pause(configured).await;
    }
}

async fn pause(point: &str) {
    eprintln!("slprod: paused at {point} ({PAUSE_AT_ENV})");
    futures::future::pending::<()>().await;
}
