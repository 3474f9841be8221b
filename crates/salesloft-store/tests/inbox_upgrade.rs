//! Schema 1 → 2 on both backends: deliveries stored by the previous release and not yet handed on get their
//! `resource_key` from the migration's SQL, which must agree with `Delivery::resource_key` (the Rust rule new
//! deliveries get), for every event type of FACTS.md §6.3; finished rows and the rest of the row survive.

mod common;

use std::time::Duration;

use salesloft_store::{Delivery, StoreUrl};
use salesloft_testkit::Backend;

salesloft_testkit::on_both_backends!(super; open_deliveries_of_schema_1_are_ordered_after_the_upgrade);

/// FACTS.md §6.3, plus the names the rule must keep whole.
const EVENTS: [&str; 41] = [
    "account_created",
    "account_updated",
    "account_deleted",
    "bulk_job_completed",
    "cadence_created",
    "cadence_updated",
    "cadence_deleted",
    "cadence_membership_created",
    "cadence_membership_updated",
    "call_created",
    "call_updated",
    "call_data_record_created",
    "call_data_record_updated",
    "conversation_created",
    "conversation_recording_created",
    "conversation_transcript_created",
    "email_updated",
    "email_with_body_and_subject_updated",
    "link_swap",
    "meeting_booked",
    "meeting_updated",
    "note_created",
    "note_updated",
    "note_deleted",
    "person_created",
    "person_updated",
    "person_deleted",
    "step_created",
    "step_updated",
    "step_deleted",
    "success_created",
    "task_created",
    "task_updated",
    "task_completed",
    "task_deleted",
    "user_created",
    "user_updated",
    "conversation_updated",
    "unknown",
    "_created",
    "created",
];

const SCHEMA_1: [&str; 2] =
    [include_str!("../migrations/sqlite/0001_init.sql"), include_str!("../migrations/postgres/0001_init.sql")];

fn insert_sql(n: usize, event: &str, state: &str) -> String {
    format!(
        "INSERT INTO webhook_inbox (dedup_key, event_type, resource_id, body, received_at, state, attempts, \
         available_at) VALUES ('k{n}', '{event}', '{n}', '{{\"id\":{n}}}', {n}, '{state}', 0, 0);"
    )
}

async fn open_deliveries_of_schema_1_are_ordered_after_the_upgrade(backend: Backend) {
    let mut rows = String::new();
    for (n, event) in EVENTS.iter().enumerate() {
        rows.push_str(&insert_sql(n, event, "pending"));
    }
    rows.push_str(&insert_sql(1000, "person_updated", "processed"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("dir: {e}"));
    let url = match backend {
        Backend::Sqlite => {
            let path = dir.path().join("old.sqlite");
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap_or_else(|e| panic!("sqlite: {e}"));
            let sql = format!(
                "{}\nPRAGMA user_version = 1;\nPRAGMA application_id = {};\n\
                 INSERT INTO slprod_meta (key, value) VALUES ('application', 'salesloft-prod');\n{rows}",
                SCHEMA_1[0], 0x534C_5044
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap_or_else(|e| panic!("schema 1: {e}"));
            pool.close().await;
            StoreUrl::Sqlite { path }
        }
        Backend::Postgres => {
            let schema = common::fresh_schema();
            let admin = common::pg_admin(&common::pg_url(), None).await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&admin)
                .await
                .unwrap_or_else(|e| panic!("schema: {e}"));
            admin.close().await;
            let pool = common::pg_admin(&common::pg_url(), Some(&schema)).await;
            let sql = format!(
                "{}\nINSERT INTO slprod_meta (key, value) VALUES ('schema_version', '1'), \
                 ('application', 'salesloft-prod');\n{rows}",
                SCHEMA_1[1]
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap_or_else(|e| panic!("schema 1: {e}"));
            pool.close().await;
            common::pg_store_url(&schema)
        }
    };
    let t = common::open(url, &common::clock(), None).await;
    let inbox = t.store.inbox();
    let mut claimed = 0;
    while let Some(item) = inbox.claim_next("w", Duration::from_secs(60)).await.unwrap_or_else(|e| panic!("{e}")) {
        let want = Delivery::new(item.event_type.clone(), item.body.clone()).resource_key();
        assert_eq!(item.resource_key, want, "{}: the migration's SQL and the Rust rule agree", item.event_type);
        inbox.mark_processed(&item).await.unwrap_or_else(|e| panic!("{e}"));
        claimed += 1;
    }
    assert_eq!(claimed, EVENTS.len(), "every open delivery survives the upgrade");
    let counts = inbox.counts().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(counts.processed, EVENTS.len() as i64 + 1, "the finished row survives too");
}
