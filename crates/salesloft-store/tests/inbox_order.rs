//! The inbox as the dispatcher uses it (issue 9), on both backends: deliveries of one resource are claimed in
//! arrival order and never two at once (also by concurrent claimers on separate store handles), a delivery
//! older than what was handed on is finished as `stale`, and the lag and retry queries.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::TestStore;
use salesloft_store::{Claimed, Delivery, InboxItem};

salesloft_testkit::on_both_backends!(
    crate::behaviours, with crate::common::store;
    a_later_delivery_of_a_resource_waits_for_the_earlier_one,
    a_dead_delivery_unblocks_its_resource,
    concurrent_claimers_never_hold_two_deliveries_of_one_resource,
    an_older_updated_at_is_recorded_stale_and_not_handed_on,
    lag_and_next_retry_follow_the_open_deliveries,
    a_batch_claims_one_delivery_per_resource_and_is_marked_together,
);

const VIS: Duration = Duration::from_secs(60);

fn ok<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what} failed: {e}"))
}

fn person(event: &str, id: u64, updated_at: &str) -> Delivery {
    Delivery::new(event, format!(r#"{{"id":{id},"updated_at":"{updated_at}"}}"#).into_bytes())
}

async fn claim(t: &TestStore, worker: &str) -> Option<InboxItem> {
    ok(t.store.inbox().claim_next(worker, VIS).await, "claim")
}

mod behaviours {
    use super::*;

    pub async fn a_later_delivery_of_a_resource_waits_for_the_earlier_one(t: &TestStore) {
        let inbox = t.store.inbox();
        ok(inbox.insert(person("person_updated", 1, "2026-01-01T00:00:00Z")).await, "insert");
        ok(inbox.insert(person("person_deleted", 1, "2026-01-01T00:00:01Z")).await, "insert");
        ok(inbox.insert(person("person_updated", 2, "2026-01-01T00:00:00Z")).await, "insert");
        ok(inbox.insert(Delivery::new("ping", b"[1]".to_vec())).await, "insert (no resource)");
        let first = claim(t, "w1").await.unwrap_or_else(|| panic!("expected person 1"));
        assert_eq!((first.resource_key.as_deref(), first.event_type.as_str()), (Some("person:1"), "person_updated"));
        let other = claim(t, "w2").await.unwrap_or_else(|| panic!("expected person 2"));
        assert_eq!(other.resource_key.as_deref(), Some("person:2"), "person 1's delete waits: got {other:?}");
        let unordered = claim(t, "w3").await.unwrap_or_else(|| panic!("expected the unordered one"));
        assert_eq!(unordered.resource_key, None);
        assert_eq!(claim(t, "w4").await, None, "person 1's second delivery waits while the first is processing");
        // A failed first delivery waiting for its retry still holds the second back.
        ok(inbox.mark_failed(&first, "subscriber down", Some(t.store.now() + Duration::from_secs(5))).await, "fail");
        assert_eq!(claim(t, "w4").await, None, "a retry pending holds back the later delivery");
        t.clock.advance(Duration::from_secs(5));
        let retried = claim(t, "w4").await.unwrap_or_else(|| panic!("expected the retry"));
        assert_eq!((retried.id, retried.attempts), (first.id, 2));
        ok(inbox.mark_processed(&retried).await, "processed");
        let second = claim(t, "w5").await.unwrap_or_else(|| panic!("expected person 1's delete"));
        assert_eq!(second.event_type, "person_deleted");
    }

    pub async fn a_dead_delivery_unblocks_its_resource(t: &TestStore) {
        let inbox = t.store.inbox();
        ok(inbox.insert(person("cadence_membership_created", 7, "2026-01-01T00:00:00Z")).await, "insert");
        ok(inbox.insert(person("cadence_membership_updated", 7, "2026-01-01T00:00:09Z")).await, "insert");
        let first = claim(t, "w").await.unwrap_or_else(|| panic!("expected the first"));
        assert_eq!(first.resource_key.as_deref(), Some("cadence_membership:7"));
        assert_eq!(claim(t, "w").await, None);
        ok(inbox.mark_failed(&first, "gave up", None).await, "dead");
        let second = claim(t, "w").await.unwrap_or_else(|| panic!("a dead letter no longer blocks"));
        assert_eq!(second.event_type, "cadence_membership_updated");
    }

    pub async fn concurrent_claimers_never_hold_two_deliveries_of_one_resource(t: &TestStore) {
        // Few resources and more claimers than resources: without the ordering rule a free claimer would take
        // the next delivery of a resource another one holds.
        const RESOURCES: u64 = 2;
        const PER_RESOURCE: u64 = 12;
        let inbox = t.store.inbox();
        // Interleaved: resource 0, 1, 0, 1, …, so every resource's deliveries are spread through the ids.
        let batch: Vec<Delivery> = (0..PER_RESOURCE)
            .flat_map(|n| {
                (0..RESOURCES).map(move |r| person("person_updated", r, &format!("2026-01-01T00:00:{n:02}Z")))
            })
            .collect();
        ok(inbox.insert_batch(batch).await, "insert");
        // Two "replicas", each its own pool, each with two claimers; a shared map of resource → holder.
        let handles = [t.store.clone(), t.reopen().await];
        let held = std::sync::Arc::new(std::sync::Mutex::new(HashMap::<String, i64>::new()));
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, i64)>::new()));
        let mut tasks = Vec::new();
        for (n, store) in handles.iter().cycle().take(4).enumerate() {
            let (store, held, order) = (store.clone(), held.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let inbox = store.inbox();
                while let Some(item) = ok(inbox.claim_next(&format!("w{n}"), VIS).await, "claim") {
                    let key = item.resource_key.clone().unwrap_or_default();
                    if let Some(other) = held.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone(), item.id) {
                        panic!("{key}: claimed {} while {other} was still held", item.id);
                    }
                    order.lock().unwrap_or_else(|p| p.into_inner()).push((key.clone(), item.id));
                    // Hold it across a round trip to the database, as a handler would.
                    ok(inbox.counts().await, "counts");
                    held.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
                    ok(inbox.mark_processed(&item).await, "processed");
                }
            }));
        }
        for task in tasks {
            ok(task.await, "claimer");
        }
        let order = order.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(order.len() as u64, RESOURCES * PER_RESOURCE, "every delivery handed on once");
        let mut last = HashMap::<String, i64>::new();
        for (key, id) in order {
            let before = last.insert(key.clone(), id).unwrap_or(0);
            assert!(id > before, "{key}: {id} handed on after {before}");
        }
    }

    pub async fn an_older_updated_at_is_recorded_stale_and_not_handed_on(t: &TestStore) {
        let inbox = t.store.inbox();
        // -05:00 offset: 07:21:16 there is 12:21:16 UTC, later than the 10:00 UTC that arrives second; as
        // strings "2025-11-20T10…" > "2025-11-20T07…" would get it backwards.
        ok(inbox.insert(person("person_updated", 5, "2025-11-20T07:21:16.193200-05:00")).await, "insert");
        ok(inbox.insert(person("person_updated", 5, "2025-11-20T10:00:00Z")).await, "insert (older)");
        ok(inbox.insert(person("person_deleted", 5, "2025-11-20T12:21:16.1932Z")).await, "insert (same instant)");
        let first = claim(t, "w").await.unwrap_or_else(|| panic!("expected the first"));
        ok(inbox.mark_processed(&first).await, "processed");
        match ok(inbox.claim("w", VIS).await, "claim") {
            Some(Claimed::Stale(item)) => assert!(item.body.windows(6).any(|w| w == b"10:00:"), "{item:?}"),
            other => panic!("expected the older update as stale, got {other:?}"),
        }
        match ok(inbox.claim("w", VIS).await, "claim") {
            Some(Claimed::Ready(item)) => assert_eq!(item.event_type, "person_deleted", "equal instant is news"),
            other => panic!("expected the delete at the same instant to be handed on, got {other:?}"),
        }
        let counts = ok(inbox.counts().await, "counts");
        assert_eq!((counts.processed, counts.stale, counts.processing), (1, 1, 1));
        let entries = ok(inbox.list(0, 10).await, "list");
        assert_eq!(entries[1].state, "stale");
        assert!(entries[1].last_error.as_deref().is_some_and(|e| e.contains("older")), "{:?}", entries[1]);
    }

    pub async fn lag_and_next_retry_follow_the_open_deliveries(t: &TestStore) {
        let inbox = t.store.inbox();
        assert_eq!(ok(inbox.oldest_open_received_at().await, "lag"), None);
        let start = t.store.now();
        ok(inbox.insert(person("task_updated", 1, "2026-01-01T00:00:00Z")).await, "insert");
        t.clock.advance(Duration::from_secs(30));
        ok(inbox.insert(person("task_updated", 2, "2026-01-01T00:00:00Z")).await, "insert");
        assert_eq!(ok(inbox.oldest_open_received_at().await, "lag"), Some(start));
        let first = claim(t, "w").await.unwrap_or_else(|| panic!("expected one"));
        assert_eq!(ok(inbox.oldest_open_received_at().await, "lag"), Some(start), "processing is not handed on yet");
        assert_eq!(ok(inbox.next_retry_at().await, "next retry"), None);
        let retry_at = t.store.now() + Duration::from_secs(8);
        ok(inbox.mark_failed(&first, "down", Some(retry_at)).await, "fail");
        assert_eq!(ok(inbox.next_retry_at().await, "next retry"), Some(retry_at));
        let second = claim(t, "w").await.unwrap_or_else(|| panic!("the other resource proceeds"));
        ok(inbox.mark_processed(&second).await, "processed");
        t.clock.advance(Duration::from_secs(8));
        let again = claim(t, "w").await.unwrap_or_else(|| panic!("expected the retry"));
        ok(inbox.mark_processed(&again).await, "processed");
        assert_eq!(ok(inbox.oldest_open_received_at().await, "lag"), None);
    }

    pub async fn a_batch_claims_one_delivery_per_resource_and_is_marked_together(t: &TestStore) {
        let inbox = t.store.inbox();
        for (id, seq) in [(1, 0), (1, 1), (2, 0), (3, 0), (2, 1), (3, 1)] {
            ok(inbox.insert(person("person_updated", id, &format!("2026-01-01T00:00:0{seq}Z"))).await, "insert");
        }
        let ready = |batch: Vec<Claimed>| -> Vec<InboxItem> {
            batch
                .into_iter()
                .map(|c| match c {
                    Claimed::Ready(item) => item,
                    other => panic!("expected ready deliveries, got {other:?}"),
                })
                .collect()
        };
        let first = ready(ok(inbox.claim_batch("w", VIS, 10).await, "batch"));
        let keys: Vec<_> = first.iter().map(|i| i.resource_key.clone().unwrap_or_default()).collect();
        assert_eq!(keys, ["person:1", "person:2", "person:3"], "one per resource, oldest first");
        assert!(ok(inbox.claim_batch("w2", VIS, 10).await, "batch").is_empty(), "the rest wait for these");
        assert_eq!(ok(inbox.mark_processed_batch(&first).await, "mark"), [true, true, true]);
        let second = ready(ok(inbox.claim_batch("w", VIS, 2).await, "batch"));
        assert_eq!(second.len(), 2, "at most max");
        assert_eq!(ok(inbox.mark_processed_batch(&second).await, "mark again"), [true, true]);
        assert_eq!(ok(inbox.mark_processed_batch(&second).await, "mark twice"), [false, false], "no longer claimed");
        let counts = ok(inbox.counts().await, "counts");
        assert_eq!((counts.processed, counts.pending), (5, 1));
    }
}
