//! Test fixtures: a fresh store on each backend, with a manual clock.
//!
//! SQLite stores live in a temp dir. PostgreSQL stores each get their own schema on the server named by
//! `SLPROD_TEST_PG_URL` (`salesloft_testkit::pg`), so tests run in parallel; without that variable the
//! PostgreSQL tests FAIL (they never skip): start the server with `eval "$(scripts/pg-test-server.sh start)"`.
#![allow(dead_code)]

use std::sync::Arc;

use salesloft_store::{ManualClock, Store, StoreOptions, StoreUrl};
use salesloft_testkit::{Backend, pg};
use time::macros::datetime;

/// A store under test.
pub struct TestStore {
    pub store: Store,
    pub clock: ManualClock,
    pub url: StoreUrl,
    pub dir: Option<tempfile::TempDir>,
}

impl TestStore {
    /// Opens another handle on the same database (another "replica"), sharing the clock.
    pub async fn reopen(&self) -> Store {
        let options = StoreOptions { clock: Arc::new(self.clock.clone()), ..StoreOptions::default() };
        match salesloft_store::open_with(&self.url, options).await {
            Ok(store) => store,
            Err(e) => panic!("reopening {} failed: {e}", self.url),
        }
    }

    /// Runs raw SQL on the database behind the store's back (to tamper, or inspect), on its own connection.
    pub async fn raw(&self, sql: &str) {
        match &self.url {
            StoreUrl::Sqlite { path } => {
                let pool = sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(path))
                    .await
                    .unwrap_or_else(|e| panic!("raw connect: {e}"));
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("raw SQL {sql:?} failed: {e}"));
                pool.close().await;
            }
            StoreUrl::Postgres { url, schema } => {
                let pool = pg_admin(url, schema.as_deref()).await;
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("raw SQL {sql:?} failed: {e}"));
                pool.close().await;
            }
        }
    }

    /// SQL that disables the audit log's append-only triggers (what an attacker with DB access would do).
    pub fn drop_audit_triggers(&self) -> &'static str {
        match self.url {
            StoreUrl::Sqlite { .. } => "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;",
            StoreUrl::Postgres { .. } => "DROP TRIGGER audit_log_no_change ON audit_log;",
        }
    }
}

pub async fn pg_admin(url: &str, schema: Option<&str>) -> sqlx::PgPool {
    use std::str::FromStr as _;
    let mut options = sqlx::postgres::PgConnectOptions::from_str(url).unwrap_or_else(|e| panic!("pg url: {e}"));
    if let Some(schema) = schema {
        options = options.options([("search_path", schema)]);
    }
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL failed: {e}"))
}

/// A fixed start time, so expiry tests are reproducible.
pub fn clock() -> ManualClock {
    ManualClock::new(datetime!(2026-11-28 04:00:00 UTC))
}

pub async fn open(url: StoreUrl, clock: &ManualClock, dir: Option<tempfile::TempDir>) -> TestStore {
    let options = StoreOptions { clock: Arc::new(clock.clone()), ..StoreOptions::default() };
    let store = match salesloft_store::open_with(&url, options).await {
        Ok(store) => store,
        Err(e) => panic!("opening {url} failed: {e}"),
    };
    TestStore { store, clock: clock.clone(), url, dir }
}

/// A fresh SQLite store in a temp dir.
pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = StoreUrl::Sqlite { path: dir.path().join("store.sqlite") };
    open(url, &clock(), Some(dir)).await
}

/// The test server's URL; fails the test (never skips) when it is not configured.
pub fn pg_url() -> String {
    pg::url()
}

/// A fresh schema name, unique per test.
pub fn fresh_schema() -> String {
    pg::fresh_schema()
}

/// The URL of a fresh, empty PostgreSQL schema (created by the store on open).
pub fn pg_store_url(schema: &str) -> StoreUrl {
    StoreUrl::parse(&pg::store_url(schema)).unwrap_or_else(|e| panic!("bad SLPROD_TEST_PG_URL: {e}"))
}

/// A fresh PostgreSQL store in its own schema.
pub async fn postgres() -> TestStore {
    open(pg_store_url(&fresh_schema()), &clock(), None).await
}

/// A fresh store on `backend` (the fixture of `on_both_backends!` suites).
pub async fn store(backend: Backend) -> TestStore {
    match backend {
        Backend::Sqlite => sqlite().await,
        Backend::Postgres => postgres().await,
    }
}

/// A sample audit entry.
pub fn entry(op: &str, key: Option<&str>, status: Option<u16>) -> salesloft_store::AuditEntry {
    salesloft_store::AuditEntry {
        actor: "test".into(),
        operation: op.into(),
        resource: "people?email=ada@example.com".into(),
        request: serde_json::json!({"email_address": "ada@example.com", "api_key": "sk-live-123"}),
        response_status: status,
        idempotency_key: key.map(str::to_owned),
        correlation_id: Some("corr-1".into()),
    }
}
