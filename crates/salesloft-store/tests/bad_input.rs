//! Bad input and broken environments: each gives a clear error and no partial write.

mod common;

use std::sync::Arc;
use std::time::Duration;

use salesloft_store::{Begin, Delivery, Phase, StoreError, StoreOptions, StoreUrl};

fn options(clock: &salesloft_store::ManualClock) -> StoreOptions {
    StoreOptions { clock: Arc::new(clock.clone()), ..StoreOptions::default() }
}

async fn open_err(url: &StoreUrl, options: StoreOptions) -> StoreError {
    match salesloft_store::open_with(url, options).await {
        Ok(_) => panic!("opening {url} must fail"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn sqlite_a_non_sqlite_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("notes.txt");
    let content = "meeting notes — not a database\n".repeat(300);
    std::fs::write(&path, &content).unwrap_or_else(|e| panic!("{e}"));
    let error = open_err(&StoreUrl::Sqlite { path: path.clone() }, StoreOptions::default()).await;
    assert!(matches!(error, StoreError::NotOurDatabase { .. }), "expected NotOurDatabase, got {error:?}");
    assert!(error.to_string().contains("not a salesloft-prod store"), "unclear message: {error}");
    assert_eq!(std::fs::read_to_string(&path).ok().as_deref(), Some(content.as_str()), "the file was modified");
}

#[tokio::test]
async fn sqlite_a_foreign_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("crm.sqlite");
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::raw_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'a');")
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let error = open_err(&StoreUrl::Sqlite { path: path.clone() }, StoreOptions::default()).await;
    assert!(
        matches!(&error, StoreError::NotOurDatabase { detail, .. } if detail.contains("customers")),
        "expected NotOurDatabase naming the foreign table, got {error:?}"
    );
    let tables: Vec<(String,)> = sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table'")
        .fetch_all(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tables, vec![("customers".to_owned(),)], "the foreign database was modified");
}

#[tokio::test]
async fn sqlite_a_store_from_a_newer_build_is_refused() {
    let t = common::sqlite().await;
    t.store.close().await;
    t.raw("PRAGMA user_version = 99").await;
    let error = open_err(&t.url, options(&t.clock)).await;
    assert!(matches!(error, StoreError::SchemaTooNew { found: 99, supported: 2 }), "got {error:?}");
}

#[tokio::test]
async fn sqlite_a_corrupted_file_gives_a_corrupt_error() {
    let t = common::sqlite().await;
    for i in 0..300 {
        let body = format!(r#"{{"id":{i},"updated_at":"x","pad":"{}"}}"#, "p".repeat(200));
        t.store.inbox().insert(Delivery::new("e", body.into_bytes())).await.unwrap_or_else(|e| panic!("{e}"));
    }
    t.store.close().await;
    let StoreUrl::Sqlite { path } = &t.url else { panic!("sqlite") };
    let mut bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
    assert!(bytes.len() > 40 * 4096, "expected a multi-page file, got {} bytes", bytes.len());
    // Overwrite pages 3..40 (b-tree pages of the schema and the inbox) with garbage; keep the header page.
    for (i, b) in bytes[2 * 4096..40 * 4096].iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    std::fs::write(path, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let outcome = async {
        let store = salesloft_store::open_with(&t.url, options(&t.clock)).await?;
        store.check_integrity().await?;
        store.inbox().counts().await
    }
    .await;
    match outcome {
        Err(StoreError::Corrupt { .. }) => {}
        other => {
            panic!("expected a Corrupt error from open, integrity check or read, got {other:?}")
        }
    }
}

#[tokio::test]
async fn sqlite_a_damaged_header_is_refused() {
    let t = common::sqlite().await;
    t.store.close().await;
    let StoreUrl::Sqlite { path } = &t.url else { panic!("sqlite") };
    let mut bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
    bytes[..16].copy_from_slice(b"garbage garbage!");
    std::fs::write(path, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let error = open_err(&t.url, options(&t.clock)).await;
    assert!(matches!(error, StoreError::NotOurDatabase { .. } | StoreError::Corrupt { .. }), "got {error:?}");
}

#[tokio::test]
async fn sqlite_a_full_disk_rolls_back_the_whole_write() {
    // `max_page_count` makes SQLite answer SQLITE_FULL exactly as on a full disk, without filling one.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = StoreUrl::Sqlite { path: dir.path().join("full.sqlite") };
    let clock = common::clock();
    let store = salesloft_store::open_with(&url, StoreOptions { sqlite_max_page_count: Some(60), ..options(&clock) })
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    let ledger = store.ledger();
    let lease = match ledger.begin("k", "fp", "a", Duration::from_secs(90)).await {
        Ok(Begin::New(lease)) => lease,
        other => panic!("begin: {other:?}"),
    };
    let mut stored = 0;
    let error = loop {
        let batch: Vec<Delivery> =
            (0..20).map(|i| Delivery::new("e", format!("{stored}-{i}-{}", "x".repeat(3000)).into_bytes())).collect();
        match store.inbox().insert_batch(batch).await {
            Ok(_) => stored += 20,
            Err(e) => break e,
        }
        assert!(stored < 10_000, "the page cap never filled");
    };
    assert!(matches!(error, StoreError::DiskFull { .. }), "expected DiskFull, got {error:?}");
    assert!(error.to_string().contains("rolled back"), "unclear message: {error}");
    let counts = store.inbox().counts().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(counts.pending, stored, "the failed batch must leave nothing behind");
    // The writer hands the same kind of error to every waiter of the failed batch.
    let writer = salesloft_store::InboxWriter::spawn(store.clone(), salesloft_store::WriterConfig::default());
    match writer.submit(Delivery::new("e", "y".repeat(200_000).into_bytes())).await {
        Err(StoreError::DiskFull { .. }) => {}
        other => panic!("expected DiskFull from the writer, got {other:?}"),
    }
    // A ledger step whose audit record does not fit changes neither the ledger nor the audit log.
    let mut entry = common::entry("people.create", Some("k"), None);
    entry.request = serde_json::json!({"note": "z".repeat(400_000)});
    match ledger.advance(&lease, Phase::RequestSent, Some(&entry)).await {
        Err(StoreError::DiskFull { .. }) => {}
        other => panic!("expected DiskFull from the ledger step, got {other:?}"),
    }
    let record = ledger.get("k").await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("k missing"));
    assert_eq!(record.phase, Phase::Started, "the ledger step must be rolled back with its audit record");
    let report = store.audit().verify().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok && report.records == 0, "no audit record may survive the rollback: {report:?}");
}

#[tokio::test]
async fn postgres_a_schema_with_other_tables_is_refused() {
    let schema = common::fresh_schema();
    let admin = common::pg_admin(&common::pg_url(), None).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}; CREATE TABLE {schema}.customers (id int);")))
        .execute(&admin)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let error = open_err(&common::pg_store_url(&schema), StoreOptions::default()).await;
    assert!(
        matches!(&error, StoreError::NotOurDatabase { detail, .. } if detail.contains("customers")),
        "expected NotOurDatabase naming the foreign table, got {error:?}"
    );
}

#[tokio::test]
async fn postgres_an_unreachable_server_is_a_clear_error_without_the_password() {
    let url = StoreUrl::parse("postgres://slprod:s3cret-pw@127.0.0.1:1/nowhere").unwrap_or_else(|e| panic!("{e}"));
    let options = StoreOptions { busy_timeout: Duration::from_millis(500), ..StoreOptions::default() };
    let error = open_err(&url, options).await;
    let text = error.to_string();
    assert!(matches!(error, StoreError::Open { .. }), "expected Open, got {error:?}");
    assert!(text.contains("127.0.0.1:1") && !text.contains("s3cret-pw"), "got {text}");
}

/// Terminates the store's server connections (found by the application name the test URL sets).
async fn terminate_backends(admin: &sqlx::PgPool, app: &str, only_waiting: bool) -> i64 {
    let sql = if only_waiting {
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 \
         AND wait_event_type = 'Lock'"
    } else {
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1"
    };
    let (n,): (i64,) = sqlx::query_as(sql).bind(app).fetch_one(admin).await.unwrap_or_else(|e| panic!("{e}"));
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_connections_are_replaced() {
    let t = common::postgres().await;
    let StoreUrl::Postgres { schema: Some(schema), .. } = &t.url else { panic!("postgres") };
    t.store.checkpoints().put("a", &serde_json::json!(1)).await.unwrap_or_else(|e| panic!("{e}"));
    let admin = common::pg_admin(&common::pg_url(), None).await;
    assert!(terminate_backends(&admin, schema, false).await >= 1, "expected pooled connections to kill");
    // The pool tests connections before handing them out, so the next call reconnects.
    let got = t.store.checkpoints().get("a").await.unwrap_or_else(|e| panic!("after a lost connection: {e}"));
    assert_eq!(got, Some(serde_json::json!(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_connection_lost_mid_transaction_leaves_no_partial_write() {
    let t = common::postgres().await;
    let StoreUrl::Postgres { url, schema: Some(schema) } = &t.url else { panic!("postgres") };
    let ledger = t.store.ledger();
    let lease = match ledger.begin("k", "fp", "a", Duration::from_secs(90)).await {
        Ok(Begin::New(lease)) => lease,
        other => panic!("begin: {other:?}"),
    };
    // Hold the ledger row so the step blocks after it appended its audit record, then kill its connection.
    let blocker = common::pg_admin(url, Some(schema)).await;
    let mut held = blocker.begin().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("SELECT 1 FROM idempotency_keys WHERE key = 'k' FOR UPDATE")
        .execute(&mut *held)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let step = {
        let ledger = ledger.clone();
        let lease = lease.clone();
        tokio::spawn(async move {
            let entry = common::entry("people.create", Some("k"), None);
            ledger.advance(&lease, Phase::RequestSent, Some(&entry)).await
        })
    };
    let admin = common::pg_admin(&common::pg_url(), None).await;
    // Poll (bounded by tries, not by time) until the step shows up waiting on the row lock; each try is a
    // round trip to the server, which paces the loop.
    let mut killed = 0;
    for _ in 0..20_000 {
        killed = terminate_backends(&admin, schema, true).await;
        if killed > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(killed, 1, "the blocked ledger step never showed up as waiting on the row lock");
    let outcome = step.await.unwrap_or_else(|e| panic!("join: {e}"));
    assert!(matches!(outcome, Err(StoreError::ConnectionLost { .. })), "expected ConnectionLost, got {outcome:?}");
    held.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    let report = t.store.audit().verify().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report.ok && report.records == 0 && report.head_seq == 0,
        "the audit append must be rolled back: {report:?}"
    );
    let record = ledger.get("k").await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("k missing"));
    assert_eq!(record.phase, Phase::Started);
    // And the store works again on a fresh connection.
    ledger.advance(&lease, Phase::RequestSent, None).await.unwrap_or_else(|e| panic!("after reconnect: {e}"));
}
