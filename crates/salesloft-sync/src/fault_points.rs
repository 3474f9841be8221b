//! Named points in the ledgered upsert where a crash drill can stop the process.
//!
//! The crash tests (DESIGN.md DATA-1, issue "a child process killed with SIGKILL at each ledger phase") must
//! kill a real process at a precise recovery point. With `SLPROD_FAULT_PAUSE_AT=<point>` in its environment, a
//! process that reaches `<point>` prints `slprod: paused at <point>` on stderr and waits forever, so the test
//! can send SIGKILL exactly there. Without the variable the points cost one environment read per process.

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

fn configured() -> Option<&'static str> {
    static PAUSE_AT: OnceLock<Option<String>> = OnceLock::new();
    PAUSE_AT.get_or_init(|| std::env::var(PAUSE_AT_ENV).ok().filter(|v| !v.is_empty())).as_deref()
}

/// Pauses forever if the process was told to pause at `point`; returns at once otherwise.
pub async fn reached(point: &str) {
    if configured() == Some(point) {
        eprintln!("slprod: paused at {point} ({PAUSE_AT_ENV})");
        futures::future::pending::<()>().await;
    }
}
