//! Test scaffolding shared by the workspace's test suites, so that no test file pastes its own copy.
//!
//! - [`on_both_backends!`]: one suite, every store backend — each behaviour becomes a `sqlite::NAME` and a
//!   `postgres::NAME` test.
//! - [`Backend`] and [`Backend::store_url`]: a fresh store per test, a temp SQLite file or a fresh PostgreSQL
//!   schema.
//! - `webhooks` (feature `webhooks`): a local webhook receiver that records deliveries and can fail the first
//!   few, for the simulator's webhook tests.
//! - `sim` (feature `sim`): the simulator's control API over HTTP — request log, faults, stats — for tests
//!   in any crate.
//! - [`pg`]: the PostgreSQL fixture. Its tests need a real server named by `SLPROD_TEST_PG_URL`
//!   (`eval "$(scripts/pg-test-server.sh start)"` from the repository root); without it they fail, loudly, and
//!   never skip.
//!
//! Use it as a dev-dependency only:
//!
//! ```
//! use salesloft_testkit::{Backend, on_both_backends};
//!
//! async fn a_store_url_names_its_backend(backend: Backend) {
//!     let dir = tempfile_dir();
//!     let url = backend.store_url(&dir);
//!     assert!(url.starts_with(backend.scheme()));
//! }
//! # fn tempfile_dir() -> std::path::PathBuf { std::env::temp_dir() }
//! // In a test file: `on_both_backends!(super; a_store_url_names_its_backend);`
//! ```

pub mod pg;
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(feature = "webhooks")]
pub mod webhooks;

use std::path::Path;

/// The store backends every durable behaviour is tested on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file in a temp dir.
    Sqlite,
    /// A fresh schema on the server named by `SLPROD_TEST_PG_URL`.
    Postgres,
}

impl Backend {
    /// The URL scheme of this backend's store URLs (`sqlite` or `postgres`).
    pub fn scheme(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// A store URL no other test uses: `sqlite://DIR/store.sqlite`, or a fresh PostgreSQL schema
    /// ([`pg::fresh_store_url`], which fails the test when `SLPROD_TEST_PG_URL` is unset).
    pub fn store_url(self, dir: &Path) -> String {
        match self {
            Backend::Sqlite => format!("sqlite://{}", dir.join("store.sqlite").display()),
            Backend::Postgres => pg::fresh_store_url(),
        }
    }
}

/// Generates `sqlite::NAME` and `postgres::NAME` tokio tests (multi-threaded, two workers) for each behaviour
/// `MODULE::NAME`, where `MODULE` is as seen from the generated modules (`super` for the invoking module).
///
/// - `on_both_backends!(super; a, b)`: calls `super::a(Backend::Sqlite)` / `super::a(Backend::Postgres)`.
/// - `on_both_backends!(crate::behaviours, with crate::common::store; a, b)`: calls
///   `crate::behaviours::a(&crate::common::store(Backend::Sqlite).await)`, for suites whose behaviours take a
///   ready-made fixture rather than the backend.
#[macro_export]
macro_rules! on_both_backends {
    ($module:path $(, with $fixture:path)?; $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@backend sqlite, Sqlite, $module $(, $fixture)?; $($name),*);
        $crate::on_both_backends!(@backend postgres, Postgres, $module $(, $fixture)?; $($name),*);
    };
    (@backend $backend:ident, $variant:ident, $module:path; $($name:ident),*) => {
        mod $backend {
            use $module as behaviours;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    behaviours::$name($crate::Backend::$variant).await;
                }
            )*
        }
    };
    (@backend $backend:ident, $variant:ident, $module:path, $fixture:path; $($name:ident),*) => {
        mod $backend {
            use $module as behaviours;
            use $fixture as fixture;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    behaviours::$name(&fixture($crate::Backend::$variant).await).await;
                }
            )*
        }
    };
}
