//! The store's behavioural suite, written once and run on both backends (`sqlite::*` and `postgres::*`).

mod common;

use std::time::Duration;

use common::{TestStore, entry};
use salesloft_store::{Begin, Delivery, Inserted, Phase, ProblemKind, Spend, StoreError};
use serde_json::json;

const TTL: Duration = Duration::from_secs(90);

salesloft_testkit::on_both_backends!(
    crate::behaviours, with crate::common::store;
    ledger_new_then_complete_replays_the_result,
    ledger_same_key_different_payload_conflicts,
    ledger_live_lease_blocks_and_lapsed_lease_resumes_in_doubt,
    ledger_phases_only_move_forward,
    ledger_keys_expire_and_are_reaped,
    ledger_release_lets_the_next_begin_resume,
    ledger_failed_is_replayed,
    ledger_takes_over_a_dead_holders_lease_and_reopens_failures,
    ledger_renew_keeps_a_lease_alive_until_it_is_lost,
    locks_take_over_from_a_dead_holder_only,
    ledger_concurrent_begins_grant_one_lease,
    audit_chain_verifies_and_exports_json_lines,
    audit_detects_a_removed_record,
    audit_detects_an_altered_record,
    audit_detects_reordered_records,
    audit_detects_a_truncated_tail,
    audit_keyed_chain_cannot_be_rewritten_unnoticed,
    audit_anchored_head_detects_a_rewritten_chain,
    audit_is_append_only_for_plain_sql,
    audit_concurrent_appends_keep_one_chain,
    locks_one_holder_expiry_and_fencing,
    locks_concurrent_acquires_grant_one,
    locks_hold_across_store_handles,
    inbox_dedups_by_event_resource_and_updated_at,
    inbox_claims_retries_and_finishes,
    inbox_lapsed_claim_is_retaken,
    inbox_reap_keeps_pending_deliveries,
    inbox_dead_letter_is_kept_once_and_never_claimed,
    inbox_export_writes_every_delivery_once_in_arrival_order,
    store_reap_deletes_expired_keys_and_deliveries_and_counts_them,
    inbox_writer_acks_every_delivery_once,
    inbox_large_batch_answers_in_input_order,
    checkpoints_round_trip,
    pause_flag_is_shared,
    pause_refuses_the_send_step_in_its_transaction,
    budget_spends_one_window_and_waits,
    budget_is_shared_by_replicas,
);

mod behaviours {
    use super::*;

    fn lease_of(begin: &Begin) -> salesloft_store::Lease {
        match begin.lease() {
            Some(lease) => lease.clone(),
            None => panic!("expected a lease, got {begin:?}"),
        }
    }

    fn ok<T>(result: Result<T, StoreError>, what: &str) -> T {
        result.unwrap_or_else(|e| panic!("{what} failed: {e}"))
    }

    pub async fn ledger_new_then_complete_replays_the_result(t: &TestStore) {
        let ledger = t.store.ledger();
        let begin = ok(ledger.begin("k1", "fp1", "worker-a", TTL).await, "begin");
        assert!(matches!(begin, Begin::New(_)), "expected New, got {begin:?}");
        let lease = lease_of(&begin);
        ok(
            ledger.advance(&lease, Phase::RequestSent, Some(&entry("people.create", Some("k1"), None))).await,
            "advance",
        );
        let result = json!({"id": 42});
        ok(ledger.complete(lease, &result, Some(&entry("people.create", Some("k1"), Some(200)))).await, "complete");
        let again = ok(ledger.begin("k1", "fp1", "worker-b", TTL).await, "second begin");
        assert_eq!(again, Begin::Completed(result), "expected the stored result to be replayed");
        let record = ok(ledger.get("k1").await, "get").unwrap_or_else(|| panic!("k1 missing"));
        assert_eq!(
            (record.phase, record.locked_by.as_deref(), record.locked_until),
            (Phase::Completed, Some("worker-a"), None)
        );
        let records = ok(t.store.audit().records(1, 10).await, "records");
        let got: Vec<_> = records.iter().map(|r| (r.seq, r.idempotency_key.as_deref(), r.response_status)).collect();
        assert_eq!(got, vec![(1, Some("k1"), None), (2, Some("k1"), Some(200))]);
        assert!(
            records[0].request.contains("[REDACTED]") && !records[0].request.contains("sk-live"),
            "secret stored: {}",
            records[0].request
        );
        let report = ok(t.store.audit().verify().await, "verify");
        assert!(report.ok && report.records == 2, "expected a verifying chain of 2, got {report:?}");
    }

    pub async fn ledger_same_key_different_payload_conflicts(t: &TestStore) {
        let ledger = t.store.ledger();
        let lease = lease_of(&ok(ledger.begin("k", "fp1", "a", TTL).await, "begin"));
        let during = ok(ledger.begin("k", "fp2", "b", TTL).await, "begin other payload while running");
        assert_eq!(during, Begin::Conflict);
        ok(ledger.complete(lease, &json!({"id": 1}), None).await, "complete");
        let after = ok(ledger.begin("k", "fp2", "b", TTL).await, "begin other payload after completion");
        assert_eq!(after, Begin::Conflict);
    }

    pub async fn ledger_live_lease_blocks_and_lapsed_lease_resumes_in_doubt(t: &TestStore) {
        let ledger = t.store.ledger();
        let first = lease_of(&ok(ledger.begin("k", "fp", "a", TTL).await, "begin"));
        ok(ledger.advance(&first, Phase::RequestSent, None).await, "advance");
        t.clock.advance(Duration::from_secs(30));
        match ok(ledger.begin("k", "fp", "b", TTL).await, "begin while a holds it") {
            Begin::InProgress { holder, .. } => assert_eq!(holder, "a"),
            other => panic!("expected InProgress, got {other:?}"),
        }
        // advance() renewed the lease at t=0, so it lapses at t=90 s.
        t.clock.advance(Duration::from_secs(61));
        let in_doubt = ok(ledger.in_doubt(10).await, "in_doubt");
        assert_eq!(
            in_doubt.iter().map(|r| (r.key.as_str(), r.phase)).collect::<Vec<_>>(),
            vec![("k", Phase::RequestSent)]
        );
        let resumed = ok(ledger.begin("k", "fp", "b", TTL).await, "begin after the lease lapsed");
        let second = match resumed {
            Begin::Resume { phase: Phase::RequestSent, lease } => lease,
            other => {
                panic!("expected Resume at RequestSent (reconcile before resending), got {other:?}")
            }
        };
        assert_eq!(second.attempt, 2);
        match ledger.complete(first, &json!({"id": 1}), None).await {
            Err(StoreError::LeaseLost { .. }) => {}
            other => panic!("the stale holder must get LeaseLost, got {other:?}"),
        }
        ok(ledger.complete(second, &json!({"id": 2}), None).await, "complete by new holder");
        assert_eq!(ok(ledger.begin("k", "fp", "c", TTL).await, "replay"), Begin::Completed(json!({"id": 2})));
    }

    pub async fn ledger_phases_only_move_forward(t: &TestStore) {
        let ledger = t.store.ledger();
        let lease = lease_of(&ok(ledger.begin("k", "fp", "a", TTL).await, "begin"));
        ok(ledger.advance(&lease, Phase::RequestSent, None).await, "advance");
        match ledger.advance(&lease, Phase::Started, None).await {
            Err(StoreError::PhaseBackwards { from: Phase::RequestSent, to: Phase::Started, .. }) => {}
            other => panic!("moving back to Started must be refused, got {other:?}"),
        }
        match ledger.advance(&lease, Phase::Completed, None).await {
            Err(StoreError::FinishThroughAdvance { to: Phase::Completed }) => {}
            other => panic!("advance() to a final phase must be refused, got {other:?}"),
        }
        ok(ledger.complete(lease.clone(), &json!(null), None).await, "complete");
        match ledger.advance(&lease, Phase::RequestSent, None).await {
            Err(StoreError::LeaseLost { .. }) => {}
            other => panic!("a finished entry must not move, got {other:?}"),
        }
    }

    pub async fn ledger_keys_expire_and_are_reaped(t: &TestStore) {
        let ledger = t.store.ledger();
        let lease = lease_of(&ok(ledger.begin("old", "fp", "a", TTL).await, "begin"));
        ok(ledger.complete(lease, &json!({"id": 1}), None).await, "complete");
        let lease = lease_of(&ok(ledger.begin("reused", "fp", "a", TTL).await, "begin"));
        ok(ledger.complete(lease, &json!({"id": 2}), None).await, "complete");
        t.clock.advance(Duration::from_secs(24 * 3600 - 1));
        assert_eq!(ok(ledger.reap().await, "reap before retention"), 0);
        t.clock.advance(Duration::from_secs(2));
        // A key past retention is a new request even before the reaper ran (Stripe: reuse after pruning).
        let reused = ok(ledger.begin("reused", "other-fp", "b", TTL).await, "begin expired key");
        assert!(matches!(reused, Begin::New(_)), "expected New for an expired key, got {reused:?}");
        assert_eq!(
            ok(ledger.reap().await, "reap after retention"),
            1,
            "only 'old' is reapable ('reused' is fresh and leased)"
        );
        assert_eq!(ok(ledger.get("old").await, "get"), None);
    }

    pub async fn ledger_release_lets_the_next_begin_resume(t: &TestStore) {
        let ledger = t.store.ledger();
        let lease = lease_of(&ok(ledger.begin("k", "fp", "a", TTL).await, "begin"));
        ok(ledger.release(lease).await, "release");
        match ok(ledger.begin("k", "fp", "b", TTL).await, "begin after release") {
            Begin::Resume { phase: Phase::Started, lease } => assert_eq!(lease.attempt, 2),
            other => panic!("expected Resume at Started, got {other:?}"),
        }
    }

    pub async fn ledger_failed_is_replayed(t: &TestStore) {
        let ledger = t.store.ledger();
        let lease = lease_of(&ok(ledger.begin("k", "fp", "a", TTL).await, "begin"));
        let error = json!({"status": 422, "errors": {"email_address": ["is invalid"]}});
        ok(ledger.fail(lease, &error, Some(&entry("people.create", Some("k"), Some(422)))).await, "fail");
        assert_eq!(ok(ledger.begin("k", "fp", "b", TTL).await, "begin"), Begin::Failed(error));
    }

    pub async fn ledger_takes_over_a_dead_holders_lease_and_reopens_failures(t: &TestStore) {
        use salesloft_store::BeginOptions;
        let ledger = t.store.ledger();
        let dead = lease_of(&ok(ledger.begin("k", "fp", "dead", TTL).await, "begin"));
        ok(ledger.advance(&dead, Phase::RequestSent, None).await, "advance");
        // Another holder's live lease is not taken over…
        let other = BeginOptions { take_over_from: Some("someone-else".into()), ..BeginOptions::default() };
        assert!(matches!(
            ok(ledger.begin_with("k", "fp", "b", TTL, &other).await, "begin other"),
            Begin::InProgress { .. }
        ));
        // …the named dead holder's is, at once, and the entry is in doubt.
        let take = BeginOptions { take_over_from: Some("dead".into()), ..BeginOptions::default() };
        let begin = ok(ledger.begin_with("k", "fp", "b", TTL, &take).await, "take over");
        assert!(matches!(begin, Begin::Resume { phase: Phase::RequestSent, .. }), "got {begin:?}");
        assert!(matches!(ledger.advance(&dead, Phase::RequestSent, None).await, Err(StoreError::LeaseLost { .. })));
        let error = json!({"status": 503});
        ok(ledger.fail(lease_of(&begin), &error, None).await, "fail");
        assert_eq!(ok(ledger.begin("k", "fp", "c", TTL).await, "begin"), Begin::Failed(error.clone()));
        let reopen = BeginOptions { reopen_failed: true, ..BeginOptions::default() };
        let again = ok(ledger.begin_with("k", "fp", "c", TTL, &reopen).await, "reopen");
        assert!(matches!(again, Begin::Resume { phase: Phase::Started, .. }), "got {again:?}");
        let record = ok(ledger.get("k").await, "get").unwrap_or_else(|| panic!("kept"));
        assert_eq!((record.phase, record.result), (Phase::Started, None));
        ok(ledger.complete(lease_of(&again), &json!({"id": 1}), None).await, "complete");
        assert_eq!(
            ok(ledger.begin_with("k", "fp", "d", TTL, &reopen).await, "replay"),
            Begin::Completed(json!({"id": 1}))
        );
    }

    pub async fn ledger_renew_keeps_a_lease_alive_until_it_is_lost(t: &TestStore) {
        let ledger = t.store.ledger();
        let lease = lease_of(&ok(ledger.begin("kr", "fp", "a", TTL).await, "begin"));
        for _ in 0..4 {
            t.clock.advance(Duration::from_secs(60));
            ok(ledger.renew(&lease).await, "renew");
            assert!(
                matches!(ok(ledger.begin("kr", "fp", "b", TTL).await, "begin b"), Begin::InProgress { .. }),
                "a renewed lease stays live past its first ttl"
            );
        }
        t.clock.advance(TTL + Duration::from_secs(1));
        let taken = ok(ledger.begin("kr", "fp", "b", TTL).await, "take over");
        assert!(matches!(taken, Begin::Resume { .. }), "got {taken:?}");
        assert!(matches!(ledger.renew(&lease).await, Err(StoreError::LeaseLost { .. })), "the old holder learns it");
    }

    pub async fn locks_take_over_from_a_dead_holder_only(t: &TestStore) {
        let locks = t.store.locks();
        let ttl = Duration::from_secs(30);
        ok(locks.try_acquire("email:x", "dead", ttl).await, "dead").unwrap_or_else(|| panic!("free lock"));
        assert_eq!(ok(locks.try_take_over("email:x", "b", ttl, "other").await, "wrong holder"), None);
        let b = ok(locks.try_take_over("email:x", "b", ttl, "dead").await, "take over")
            .unwrap_or_else(|| panic!("the dead holder's lock is taken over"));
        assert_eq!(b.fence, 2, "the fence grows");
        assert_eq!(ok(locks.try_take_over("email:x", "c", ttl, "dead").await, "again"), None, "b holds it now");
    }

    pub async fn ledger_concurrent_begins_grant_one_lease(t: &TestStore) {
        let mut tasks = Vec::new();
        for i in 0..20 {
            let ledger = t.store.ledger();
            tasks.push(tokio::spawn(async move { ledger.begin("hot", "fp", &format!("w{i}"), TTL).await }));
        }
        let (mut new, mut busy) = (0, 0);
        for task in tasks {
            match task.await {
                Ok(Ok(Begin::New(_))) => new += 1,
                Ok(Ok(Begin::InProgress { .. })) => busy += 1,
                other => panic!("unexpected outcome {other:?}"),
            }
        }
        assert_eq!((new, busy), (1, 19), "expected exactly one lease");
    }

    async fn append_n(t: &TestStore, n: usize) {
        for i in 0..n {
            ok(t.store.audit().append(&entry(&format!("op{i}"), None, Some(200))).await, "append");
        }
    }

    async fn verify_problem(t: &TestStore) -> salesloft_store::Problem {
        let report = ok(t.store.audit().verify().await, "verify");
        match report.first_problem {
            Some(problem) if !report.ok => problem,
            _ => panic!("expected verify to find a problem, got {report:?}"),
        }
    }

    pub async fn audit_chain_verifies_and_exports_json_lines(t: &TestStore) {
        append_n(t, 5).await;
        let report = ok(t.store.audit().verify().await, "verify");
        assert!(report.ok && report.records == 5 && report.head_seq == 5, "got {report:?}");
        let mut out = Vec::new();
        assert_eq!(ok(t.store.audit().export(&mut out).await, "export"), 5);
        let text = String::from_utf8(out).unwrap_or_default();
        let lines: Vec<serde_json::Value> =
            text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}"))).collect();
        let seqs: Vec<i64> = lines.iter().filter_map(|l| l["seq"].as_i64()).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
        assert_eq!(lines[0]["request"]["api_key"], json!("[REDACTED]"), "request must be exported as redacted JSON");
        assert_eq!(lines[1]["prev_hash"], lines[0]["hash"], "the chain links must be exported");
    }

    pub async fn audit_detects_a_removed_record(t: &TestStore) {
        append_n(t, 5).await;
        t.raw(t.drop_audit_triggers()).await;
        t.raw("DELETE FROM audit_log WHERE seq = 3").await;
        let problem = verify_problem(t).await;
        assert_eq!((problem.kind, problem.seq), (ProblemKind::Missing, 3), "got {problem:?}");
    }

    pub async fn audit_detects_an_altered_record(t: &TestStore) {
        append_n(t, 5).await;
        t.raw(t.drop_audit_triggers()).await;
        t.raw("UPDATE audit_log SET response_status = 201 WHERE seq = 2").await;
        let problem = verify_problem(t).await;
        assert_eq!((problem.kind, problem.seq), (ProblemKind::Altered, 2), "got {problem:?}");
    }

    pub async fn audit_detects_reordered_records(t: &TestStore) {
        append_n(t, 5).await;
        t.raw(t.drop_audit_triggers()).await;
        t.raw("UPDATE audit_log SET seq = 100 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 100;").await;
        let problem = verify_problem(t).await;
        assert_eq!((problem.kind, problem.seq), (ProblemKind::Reordered, 2), "got {problem:?}");
    }

    pub async fn audit_detects_a_truncated_tail(t: &TestStore) {
        append_n(t, 5).await;
        t.raw(t.drop_audit_triggers()).await;
        t.raw("DELETE FROM audit_log WHERE seq >= 4").await;
        let problem = verify_problem(t).await;
        assert_eq!((problem.kind, problem.seq), (ProblemKind::Missing, 4), "got {problem:?}");
    }

    /// What an intruder with write access to the database (but not the audit key) can do: change record `from`
    /// and re-hash it and every later record with plain sha256, then move the chain head.
    async fn rewrite_chain_from(t: &TestStore, from: i64) {
        t.raw(t.drop_audit_triggers()).await;
        let mut records = ok(t.store.audit().records(1, 1000).await, "records");
        let mut prev = salesloft_store::audit::GENESIS_HASH.to_string();
        let mut sql = String::new();
        for record in records.iter_mut() {
            if record.seq == from {
                record.resource = "people/forged".into();
            }
            if record.seq >= from {
                record.prev_hash = prev.clone();
                record.hash = record.computed_hash();
                sql.push_str(&format!(
                    "UPDATE audit_log SET resource = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};",
                    record.resource, record.prev_hash, record.hash, record.seq
                ));
            }
            prev = record.hash.clone();
        }
        sql.push_str(&format!("UPDATE audit_head SET hash = '{prev}' WHERE id = 1;"));
        t.raw(&sql).await;
    }

    async fn keyed(t: &TestStore) -> salesloft_store::Store {
        let key = ok(salesloft_store::AuditKey::new(b"0123456789abcdef-test-key".to_vec()), "key");
        let options = salesloft_store::StoreOptions {
            clock: std::sync::Arc::new(t.clock.clone()),
            audit_key: Some(key),
            ..salesloft_store::StoreOptions::default()
        };
        ok(salesloft_store::open_with(&t.url, options).await, "open keyed")
    }

    pub async fn audit_keyed_chain_cannot_be_rewritten_unnoticed(t: &TestStore) {
        let store = keyed(t).await;
        for i in 0..5 {
            ok(store.audit().append(&entry(&format!("op{i}"), None, Some(200))).await, "append");
        }
        let lease = lease_of(&ok(store.ledger().begin("kk", "fp", "a", TTL).await, "begin"));
        ok(
            store.ledger().complete(lease, &json!({}), Some(&entry("people.create", Some("kk"), Some(200)))).await,
            "complete",
        );
        let report = ok(store.audit().verify().await, "verify keyed");
        assert!(report.ok && report.records == 6, "the keyed chain verifies with its key: {report:?}");
        assert!(!ok(t.store.audit().verify().await, "verify without key").ok, "and not without it");
        rewrite_chain_from(t, 3).await;
        let report = ok(store.audit().verify().await, "verify rewritten");
        let problem = report.first_problem.unwrap_or_else(|| panic!("a rewritten keyed chain must not verify"));
        assert_eq!((problem.kind, problem.seq), (ProblemKind::Altered, 3), "got {problem:?}");
        assert!(!format!("{:?}", store.options()).contains("0123456789abcdef"), "the key never shows in Debug");
    }

    pub async fn audit_anchored_head_detects_a_rewritten_chain(t: &TestStore) {
        let audit = t.store.audit();
        let empty = ok(audit.head().await, "head of an empty log");
        assert_eq!((empty.seq, empty.hash.as_str()), (0, salesloft_store::audit::GENESIS_HASH));
        assert!(ok(audit.verify_expecting(&empty.hash).await, "empty anchor").ok);
        append_n(t, 5).await;
        let anchor = ok(audit.head().await, "head");
        assert_eq!(anchor.seq, 5);
        append_n(t, 2).await;
        assert!(ok(audit.verify_expecting(&anchor.hash).await, "verify").ok, "records appended since are fine");
        rewrite_chain_from(t, 3).await;
        assert!(ok(audit.verify().await, "verify").ok, "without a key or an anchor the rewrite goes unnoticed");
        let report = ok(audit.verify_expecting(&anchor.hash).await, "verify against the anchor");
        let problem = report.first_problem.unwrap_or_else(|| panic!("the anchor must catch the rewrite"));
        assert_eq!(problem.kind, ProblemKind::AnchorMissing, "got {problem:?}");
        assert!(!report.ok);
    }

    pub async fn audit_is_append_only_for_plain_sql(t: &TestStore) {
        append_n(t, 1).await;
        let url = t.url.clone();
        let sql = "UPDATE audit_log SET actor = 'mallory'";
        let refused = match &url {
            salesloft_store::StoreUrl::Sqlite { path } => {
                let pool =
                    sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(path)).await;
                let pool = pool.unwrap_or_else(|e| panic!("connect: {e}"));
                sqlx::query(sql).execute(&pool).await.is_err()
            }
            salesloft_store::StoreUrl::Postgres { url, schema } => {
                let pool = common::pg_admin(url, schema.as_deref()).await;
                sqlx::query(sql).execute(&pool).await.is_err()
            }
        };
        assert!(refused, "an UPDATE of audit_log must be refused by the trigger");
        assert!(ok(t.store.audit().verify().await, "verify").ok);
    }

    pub async fn audit_concurrent_appends_keep_one_chain(t: &TestStore) {
        let mut tasks = Vec::new();
        for i in 0..40 {
            let audit = t.store.audit();
            tasks.push(tokio::spawn(async move { audit.append(&entry(&format!("op{i}"), None, None)).await }));
        }
        for task in tasks {
            ok(task.await.unwrap_or_else(|e| panic!("join: {e}")), "append");
        }
        let report = ok(t.store.audit().verify().await, "verify");
        assert!(report.ok && report.records == 40, "expected a verifying chain of 40, got {report:?}");
    }

    pub async fn locks_one_holder_expiry_and_fencing(t: &TestStore) {
        let locks = t.store.locks();
        let ttl = Duration::from_secs(30);
        let a = ok(locks.try_acquire("email:ada@example.com", "a", ttl).await, "a")
            .unwrap_or_else(|| panic!("a must get the free lock"));
        assert_eq!(
            ok(locks.try_acquire("email:ada@example.com", "b", ttl).await, "b"),
            None,
            "b must not get a held lock"
        );
        assert_eq!(ok(locks.holder("email:ada@example.com").await, "holder").map(|h| h.holder), Some("a".into()));
        t.clock.advance(Duration::from_secs(31));
        let mut b = ok(locks.try_acquire("email:ada@example.com", "b", ttl).await, "b after expiry")
            .unwrap_or_else(|| panic!("b must take over a lapsed lock"));
        assert!(b.fence > a.fence, "fence must grow: a {} b {}", a.fence, b.fence);
        let mut stale = a.clone();
        match locks.renew(&mut stale, ttl).await {
            Err(StoreError::LeaseLost { .. }) => {}
            other => panic!("renewing a lost lock must fail with LeaseLost, got {other:?}"),
        }
        assert!(!ok(locks.release(a).await, "release stale"), "a stale release must not free b's lock");
        ok(locks.renew(&mut b, ttl).await, "renew");
        assert!(ok(locks.release(b.clone()).await, "release"), "b's release must succeed");
        let c = ok(locks.try_acquire("email:ada@example.com", "c", ttl).await, "c")
            .unwrap_or_else(|| panic!("c must get the released lock"));
        assert!(c.fence > b.fence, "fence must keep growing after a release");
    }

    pub async fn locks_concurrent_acquires_grant_one(t: &TestStore) {
        let mut tasks = Vec::new();
        for i in 0..20 {
            let locks = t.store.locks();
            tasks.push(tokio::spawn(async move { locks.try_acquire("refresh:conn-1", &format!("w{i}"), TTL).await }));
        }
        let mut holders = 0;
        for task in tasks {
            if ok(task.await.unwrap_or_else(|e| panic!("join: {e}")), "try_acquire").is_some() {
                holders += 1;
            }
        }
        assert_eq!(holders, 1, "expected exactly one holder");
    }

    pub async fn locks_hold_across_store_handles(t: &TestStore) {
        let other = t.reopen().await;
        let guard = ok(t.store.locks().try_acquire("x", "replica-1", TTL).await, "acquire");
        assert!(guard.is_some());
        assert_eq!(ok(other.locks().try_acquire("x", "replica-2", TTL).await, "acquire on replica 2"), None);
        assert_eq!(ok(other.locks().holder("x").await, "holder").map(|h| h.holder), Some("replica-1".into()));
    }

    pub async fn inbox_dedups_by_event_resource_and_updated_at(t: &TestStore) {
        let inbox = t.store.inbox();
        let body = br#"{"id":7,"updated_at":"2026-11-20T07:21:16.193200-05:00","subject":"a"}"#.to_vec();
        let first = ok(inbox.insert(Delivery::new("task_updated", body.clone())).await, "insert");
        assert!(matches!(first, Inserted::New(_)), "got {first:?}");
        assert_eq!(ok(inbox.insert(Delivery::new("task_updated", body)).await, "redelivery"), Inserted::Duplicate);
        // Same resource and updated_at, different bytes (key order): still the same event.
        let reordered = br#"{"subject":"a","updated_at":"2026-11-20T07:21:16.193200-05:00","id":7}"#.to_vec();
        assert_eq!(
            ok(inbox.insert(Delivery::new("task_updated", reordered)).await, "reordered body"),
            Inserted::Duplicate
        );
        let later = br#"{"id":7,"updated_at":"2026-11-20T07:22:00.000000-05:00"}"#.to_vec();
        assert!(matches!(
            ok(inbox.insert(Delivery::new("task_updated", later)).await, "newer update"),
            Inserted::New(_)
        ));
        // Bodies without id/updated_at fall back to a body hash.
        assert!(matches!(
            ok(inbox.insert(Delivery::new("ping", b"not json".to_vec())).await, "opaque"),
            Inserted::New(_)
        ));
        assert_eq!(
            ok(inbox.insert(Delivery::new("ping", b"not json".to_vec())).await, "opaque again"),
            Inserted::Duplicate
        );
        let batch = vec![
            Delivery::new("x", b"1".to_vec()),
            Delivery::new("x", b"1".to_vec()),
            Delivery::new("x", b"2".to_vec()),
        ];
        let got = ok(inbox.insert_batch(batch).await, "batch");
        assert!(matches!(got.as_slice(), [Inserted::New(_), Inserted::Duplicate, Inserted::New(_)]), "got {got:?}");
        assert_eq!(ok(inbox.counts().await, "counts").pending, 5);
    }

    pub async fn inbox_claims_retries_and_finishes(t: &TestStore) {
        let inbox = t.store.inbox();
        ok(inbox.insert(Delivery::new("a", b"1".to_vec())).await, "insert");
        ok(inbox.insert(Delivery::new("b", b"2".to_vec())).await, "insert");
        let vis = Duration::from_secs(60);
        let first = ok(inbox.claim_next("w1", vis).await, "claim").unwrap_or_else(|| panic!("expected a delivery"));
        let second =
            ok(inbox.claim_next("w2", vis).await, "claim").unwrap_or_else(|| panic!("expected a second delivery"));
        assert_eq!((first.event_type.as_str(), first.attempts, second.event_type.as_str()), ("a", 1, "b"));
        assert_eq!(ok(inbox.claim_next("w3", vis).await, "claim"), None, "both are claimed");
        let retry_at = t.store.now() + Duration::from_secs(15);
        ok(inbox.mark_failed(&first, "handler error", Some(retry_at)).await, "mark_failed");
        ok(inbox.mark_processed(&second).await, "mark_processed");
        assert_eq!(ok(inbox.claim_next("w3", vis).await, "claim before retry time"), None);
        t.clock.advance(Duration::from_secs(15));
        let retried = ok(inbox.claim_next("w3", vis).await, "claim").unwrap_or_else(|| panic!("expected the retry"));
        assert_eq!((retried.id, retried.attempts), (first.id, 2));
        ok(inbox.mark_failed(&retried, "gave up", None).await, "dead");
        let counts = ok(inbox.counts().await, "counts");
        assert_eq!((counts.pending, counts.processing, counts.processed, counts.dead), (0, 0, 1, 1));
    }

    pub async fn inbox_dead_letter_is_kept_once_and_never_claimed(t: &TestStore) {
        let inbox = t.store.inbox();
        let first =
            ok(inbox.dead_letter(Delivery::new("person_updated", b"{not json".to_vec()), "bad JSON").await, "dl");
        assert!(matches!(first, Inserted::New(_)), "got {first:?}");
        let again =
            ok(inbox.dead_letter(Delivery::new("person_updated", b"{not json".to_vec()), "bad JSON").await, "dl");
        assert_eq!(again, Inserted::Duplicate);
        let counts = ok(inbox.counts().await, "counts");
        assert_eq!((counts.pending, counts.dead), (0, 1));
        assert_eq!(
            ok(inbox.claim_next("w", Duration::from_secs(60)).await, "claim"),
            None,
            "a dead letter is not work"
        );
    }

    pub async fn inbox_export_writes_every_delivery_once_in_arrival_order(t: &TestStore) {
        let inbox = t.store.inbox();
        // More than one export page (1 000), one delivery claimed and one dead letter among them.
        let deliveries: Vec<Delivery> = (0..1_003)
            .map(|i| Delivery::new("person_updated", format!(r#"{{"id":{i},"updated_at":"2026-01-01T00:00:00Z"}}"#)))
            .collect();
        ok(inbox.insert_batch(deliveries).await, "insert");
        ok(inbox.dead_letter(Delivery::new("person_created", b"{not json".to_vec()), "not JSON").await, "dl");
        let claimed = ok(inbox.claim_next("w", Duration::from_secs(60)).await, "claim").expect("a delivery");
        ok(inbox.mark_processed(&claimed).await, "processed");

        let mut out = Vec::new();
        let written = ok(inbox.export(&mut out).await, "export");
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .expect("utf-8")
            .lines()
            .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
            .collect();
        assert_eq!((written, lines.len()), (1_004, 1_004), "every delivery once");
        let ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().expect("id")).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "arrival order");
        let states = |state: &str| lines.iter().filter(|l| l["state"] == state).count();
        assert_eq!((states("pending"), states("processed"), states("dead")), (1_002, 1, 1));
        let dead = lines.iter().find(|l| l["state"] == "dead").expect("the dead letter");
        assert_eq!((dead["event"].as_str(), dead["last_error"].as_str()), (Some("person_created"), Some("not JSON")));
        assert!(
            lines.iter().all(|l| l["dedup_key"].is_string() && l["received_at"].is_string() && l.get("body").is_none())
        );
    }

    pub async fn inbox_lapsed_claim_is_retaken(t: &TestStore) {
        let inbox = t.store.inbox();
        ok(inbox.insert(Delivery::new("a", b"1".to_vec())).await, "insert");
        let vis = Duration::from_secs(60);
        let first = ok(inbox.claim_next("w1", vis).await, "claim").unwrap_or_else(|| panic!("expected a delivery"));
        t.clock.advance(Duration::from_secs(61));
        let again =
            ok(inbox.claim_next("w2", vis).await, "claim").unwrap_or_else(|| panic!("a lapsed claim must be retaken"));
        assert_eq!((again.id, again.attempts), (first.id, 2));
        match inbox.mark_processed(&first).await {
            Err(StoreError::LeaseLost { .. }) => {}
            other => {
                panic!("the first worker's claim was taken over; expected LeaseLost, got {other:?}")
            }
        }
        ok(inbox.mark_processed(&again).await, "mark_processed");
    }

    pub async fn inbox_reap_keeps_pending_deliveries(t: &TestStore) {
        let inbox = t.store.inbox();
        ok(inbox.insert(Delivery::new("a", b"done".to_vec())).await, "insert");
        ok(inbox.insert(Delivery::new("a", b"waiting".to_vec())).await, "insert");
        let item = ok(inbox.claim_next("w", TTL).await, "claim").unwrap_or_else(|| panic!("expected a delivery"));
        ok(inbox.mark_processed(&item).await, "processed");
        t.clock.advance(Duration::from_secs(7 * 24 * 3600 - 10));
        assert_eq!(ok(inbox.reap().await, "reap inside retention"), 0);
        // Inside retention a redelivery is still a duplicate.
        assert_eq!(ok(inbox.insert(Delivery::new("a", b"done".to_vec())).await, "redelivery"), Inserted::Duplicate);
        t.clock.advance(Duration::from_secs(20));
        assert_eq!(ok(inbox.reap().await, "reap after retention"), 1);
        let counts = ok(inbox.counts().await, "counts");
        assert_eq!((counts.pending, counts.processed), (1, 0), "the unprocessed delivery must be kept");
    }

    pub async fn store_reap_deletes_expired_keys_and_deliveries_and_counts_them(t: &TestStore) {
        let ledger = t.store.ledger();
        let done = lease_of(&ok(ledger.begin("old", "fp", "a", TTL).await, "begin"));
        ok(ledger.complete(done, &json!({"kind": "created", "id": 1}), None).await, "complete");
        let inbox = t.store.inbox();
        ok(inbox.insert(Delivery::new("a", b"done".to_vec())).await, "insert");
        let item = ok(inbox.claim_next("w", TTL).await, "claim").unwrap_or_else(|| panic!("expected a delivery"));
        ok(inbox.mark_processed(&item).await, "processed");
        assert_eq!(ok(t.store.reap().await, "reap now"), salesloft_store::ReapReport::default(), "nothing expired");
        t.clock.advance(Duration::from_secs(25 * 3600));
        ok(ledger.begin("fresh", "fp", "a", TTL).await, "a key inside retention");
        let reaped = ok(t.store.reap().await, "reap after a day");
        assert_eq!((reaped.ledger_keys, reaped.inbox_rows), (1, 0), "the day-old key goes, the delivery stays");
        assert_eq!(ok(ledger.get("old").await, "get"), None);
        t.clock.advance(Duration::from_secs(7 * 24 * 3600));
        let reaped = ok(t.store.reap().await, "reap after a week");
        assert_eq!((reaped.ledger_keys, reaped.inbox_rows), (1, 1), "a week later both are gone");
    }

    pub async fn inbox_writer_acks_every_delivery_once(t: &TestStore) {
        let writer = salesloft_store::InboxWriter::spawn(
            t.store.clone(),
            salesloft_store::WriterConfig { max_batch: 64, queue: 1024 },
        );
        let mut tasks = Vec::new();
        for i in 0..400 {
            let writer = writer.clone();
            // Every fourth delivery repeats the previous one: 300 distinct events.
            let n = if i % 4 == 3 { i - 1 } else { i };
            let body = format!(r#"{{"id":{n},"updated_at":"2026-11-28T00:00:00Z"}}"#);
            tasks.push(tokio::spawn(
                async move { writer.submit(Delivery::new("person_updated", body.into_bytes())).await },
            ));
        }
        let mut new = 0;
        for task in tasks {
            if let Inserted::New(_) = ok(task.await.unwrap_or_else(|e| panic!("join: {e}")), "submit") {
                new += 1;
            }
        }
        assert_eq!(new, 300, "expected 300 new and 100 duplicates");
        assert_eq!(ok(t.store.inbox().counts().await, "counts").pending, 300);
    }

    pub async fn inbox_large_batch_answers_in_input_order(t: &TestStore) {
        // 600 deliveries cut into multi-row statements; every fifth repeats one from 251 places earlier (never itself a repeat), so
        // duplicates cross statement boundaries.
        let body = |n: usize| format!(r#"{{"id":{n},"updated_at":"2026-11-28T00:00:00Z"}}"#).into_bytes();
        let batch: Vec<Delivery> = (0..600)
            .map(|i| Delivery::new("person_updated", body(if i % 5 == 4 && i >= 251 { i - 251 } else { i })))
            .collect();
        let got = ok(t.store.inbox().insert_batch(batch).await, "insert_batch");
        let dup_positions: Vec<usize> =
            got.iter().enumerate().filter(|(_, r)| **r == Inserted::Duplicate).map(|(i, _)| i).collect();
        let expected: Vec<usize> = (251..600).filter(|i| i % 5 == 4).collect();
        assert_eq!(dup_positions, expected, "duplicates reported at the wrong positions");
        let ids: Vec<i64> =
            got.iter().filter_map(|r| if let Inserted::New(id) = r { Some(*id) } else { None }).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "new ids must follow input order");
        assert_eq!(ok(t.store.inbox().counts().await, "counts").pending, (600 - expected.len()) as i64);
    }

    pub async fn checkpoints_round_trip(t: &TestStore) {
        let cp = t.store.checkpoints();
        assert_eq!(ok(cp.get("people").await, "get"), None);
        ok(cp.put("people", &json!({"updated_at": "2026-11-28T00:00:00Z", "id": 5})).await, "put");
        ok(cp.put("people", &json!({"updated_at": "2026-11-28T01:00:00Z", "id": 9})).await, "put again");
        assert_eq!(ok(cp.get("people").await, "get"), Some(json!({"updated_at": "2026-11-28T01:00:00Z", "id": 9})));
        assert!(ok(cp.delete("people").await, "delete"));
        assert_eq!(ok(cp.get("people").await, "get"), None);
    }

    pub async fn pause_flag_is_shared(t: &TestStore) {
        let other = t.reopen().await;
        assert_eq!(ok(t.store.pause().paused().await, "paused"), None);
        ok(t.store.pause().set_paused(true, "oncall", "bad deploy").await, "pause");
        let info = ok(other.pause().paused().await, "paused on replica 2")
            .unwrap_or_else(|| panic!("replica 2 must see the pause"));
        assert_eq!((info.by.as_str(), info.reason.as_str(), info.since), ("oncall", "bad deploy", t.store.now()));
        ok(other.pause().set_paused(false, "oncall", "fixed").await, "resume");
        assert_eq!(ok(t.store.pause().paused().await, "paused"), None);
    }

    pub async fn pause_refuses_the_send_step_in_its_transaction(t: &TestStore) {
        let ledger = t.store.ledger();
        let lease = lease_of(&ok(ledger.begin("kp", "fp", "worker-a", TTL).await, "begin"));
        let replica = t.reopen().await;
        ok(replica.pause().set_paused(true, "oncall", "bad deploy").await, "pause on another replica");
        match ledger.advance_to_send(&lease, Some(&entry("people.create", Some("kp"), None))).await {
            Err(StoreError::Paused { by, reason }) => {
                assert_eq!((by.as_str(), reason.as_str()), ("oncall", "bad deploy"))
            }
            other => panic!("expected Paused, got {other:?}"),
        }
        let record = ok(ledger.get("kp").await, "get").unwrap_or_else(|| panic!("the key is kept"));
        assert_eq!(record.phase, Phase::Started, "the refused step changed nothing");
        assert_eq!(ok(t.store.audit().verify().await, "verify").records, 0, "nor appended its audit record");
        // Steps that record an answer (not a send) still go through while paused.
        ok(ledger.release(lease.clone()).await, "release while paused");
        ok(replica.pause().set_paused(false, "oncall", "fixed").await, "resume");
        let lease = lease_of(&ok(ledger.begin("kp", "fp", "worker-a", TTL).await, "resume the key"));
        ok(ledger.advance_to_send(&lease, None).await, "send step after resume");
    }

    pub async fn budget_spends_one_window_and_waits(t: &TestStore) {
        let budget = t.store.budget();
        let minute = Duration::from_secs(60);
        assert_eq!(ok(budget.try_spend("team", 500, 600, minute).await, "spend"), Spend::Granted { remaining: 100 });
        let window_end = time::macros::datetime!(2026-11-28 04:01:00 UTC);
        assert_eq!(ok(budget.try_spend("team", 200, 600, minute).await, "overspend"), Spend::WaitUntil(window_end));
        ok(budget.observe_remaining("team", 50, 600, minute).await, "observe");
        assert_eq!(
            ok(budget.try_spend("team", 60, 600, minute).await, "after server says 50 left"),
            Spend::WaitUntil(window_end)
        );
        t.clock.advance(minute);
        assert_eq!(
            ok(budget.try_spend("team", 200, 600, minute).await, "next window"),
            Spend::Granted { remaining: 400 }
        );
        match budget.try_spend("team", 700, 600, minute).await {
            Err(StoreError::BudgetArguments { cost: 700, limit: 600, .. }) => {}
            other => panic!("a cost above the limit can never be granted; expected BudgetArguments, got {other:?}"),
        }
    }

    pub async fn budget_is_shared_by_replicas(t: &TestStore) {
        let replicas = [t.store.clone(), t.reopen().await];
        let mut tasks = Vec::new();
        for (r, store) in replicas.iter().enumerate() {
            for _ in 0..4 {
                let budget = store.budget();
                tasks.push(tokio::spawn(async move {
                    let mut granted = 0;
                    for _ in 0..50 {
                        if let Spend::Granted { .. } = budget.try_spend("team", 1, 120, Duration::from_secs(60)).await?
                        {
                            granted += 1;
                        }
                    }
                    Ok::<_, StoreError>((r, granted))
                }));
            }
        }
        let mut total = 0;
        for task in tasks {
            total += ok(task.await.unwrap_or_else(|e| panic!("join: {e}")), "spend").1;
        }
        assert_eq!(total, 120, "400 attempts against a budget of 120 must grant exactly 120");
    }
}

/// A new SQLite store, its write-ahead log and shared-memory file are readable by their owner only: the store
/// holds personal data (audit records, webhook bodies).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_files_are_created_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let t = common::sqlite().await;
    let ledger = t.store.ledger();
    ledger.begin("k", "fp", "a", TTL).await.unwrap_or_else(|e| panic!("begin: {e}"));
    let salesloft_store::StoreUrl::Sqlite { path } = &t.url else { panic!("a SQLite store") };
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        let mode = std::fs::metadata(&file)
            .unwrap_or_else(|e| panic!("{} must exist while the store is open: {e}", file.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{} has mode {:o}", file.display(), mode & 0o777);
    }
}
