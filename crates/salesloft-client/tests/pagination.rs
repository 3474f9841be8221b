//! Keyset pagination: every record exactly once, never a page above 100, resumable — against a one-off fake
//! with big `updated_at` tie groups (the simulator only seeds pairs of ties) and against the simulator.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use futures::TryStreamExt;
use salesloft_client::models::{Person, PersonInput, User};
use salesloft_client::{Client, Error, KeysetCursor, KeysetPager, OffsetPager};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One fake record: id and `updated_at` text.
#[derive(Clone)]
struct Row {
    id: i64,
    text: String,
    at: OffsetDateTime,
}

struct Fake {
    rows: std::sync::Mutex<Vec<Row>>,
    max_page: AtomicU32,
    requests: AtomicU32,
    /// Order records with equal `updated_at` differently on every request (a database without a tie-breaker).
    unstable_ties: std::sync::atomic::AtomicBool,
}

impl Fake {
    fn rows(&self) -> std::sync::MutexGuard<'_, Vec<Row>> {
        self.rows.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A `/v2/people` that sorts by `(updated_at, id)` and applies `updated_at[...]`, `page`, `per_page` and
/// `include_paging_counts` like SalesLoft (FACTS.md §4.1–4.3).
async fn people(State(fake): State<Arc<Fake>>, Query(params): Query<Vec<(String, String)>>) -> Json<Value> {
    fake.requests.fetch_add(1, Ordering::SeqCst);
    let param = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let bound = |k: &str| param(k).map(|v| OffsetDateTime::parse(&v, &Rfc3339).expect("fake: RFC 3339 filter"));
    let (gt, gte, lt, lte) =
        (bound("updated_at[gt]"), bound("updated_at[gte]"), bound("updated_at[lt]"), bound("updated_at[lte]"));
    let page: u32 = param("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let per_page: u32 = param("per_page").and_then(|p| p.parse().ok()).unwrap_or(25).clamp(1, 100);
    fake.max_page.fetch_max(page, Ordering::SeqCst);
    assert_eq!(param("sort_by").as_deref(), Some("updated_at"));
    let descending = match param("sort_direction").as_deref() {
        Some("ASC") => false,
        Some("DESC") => true,
        other => panic!("fake: unexpected sort_direction {other:?}"),
    };
    let all = fake.rows();
    let mut rows: Vec<&Row> = all
        .iter()
        .filter(|r| gt.is_none_or(|t| r.at > t))
        .filter(|r| gte.is_none_or(|t| r.at >= t))
        .filter(|r| lt.is_none_or(|t| r.at < t))
        .filter(|r| lte.is_none_or(|t| r.at <= t))
        .collect();
    let request = fake.requests.load(Ordering::SeqCst);
    if fake.unstable_ties.load(Ordering::SeqCst) {
        // A different tie order per request: by id, reversed on odd requests, rotated by the request number.
        rows.sort_by_key(|r| (r.at, (r.id * 7919 + i64::from(request) * 104_729) % 1_000_003));
    } else {
        rows.sort_by_key(|r| (r.at, r.id));
    }
    if descending {
        rows.reverse();
    }
    let start = ((page - 1) * per_page) as usize;
    let slice: Vec<Value> = rows
        .iter()
        .skip(start)
        .take(per_page as usize)
        .map(|r| json!({"id": r.id, "updated_at": r.text, "email_address": format!("p{}@example.com", r.id)}))
        .collect();
    let more = rows.len() > start + per_page as usize;
    let mut paging = json!({"per_page": per_page, "current_page": page, "next_page": if more { json!(page + 1) } else { Value::Null }, "prev_page": null});
    if param("include_paging_counts").as_deref() == Some("true") {
        paging["total_count"] = json!(rows.len());
        paging["total_pages"] = json!(rows.len().div_ceil(per_page as usize));
    }
    Json(json!({
        "data": slice,
        "metadata": {
            "filtering": {},
            "paging": paging,
            "sorting": {"sort_by": "updated_at", "sort_direction": if descending { "DESC NULLS LAST" } else { "ASC NULLS FIRST" }}
        }
    }))
}

async fn start_fake(rows: Vec<Row>) -> (Arc<Fake>, Client) {
    let fake = Arc::new(Fake {
        rows: std::sync::Mutex::new(rows),
        max_page: AtomicU32::new(0),
        requests: AtomicU32::new(0),
        unstable_ties: std::sync::atomic::AtomicBool::new(false),
    });
    let app = Router::new().route("/v2/people", get(people)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = Client::with_api_key(&format!("http://{addr}/v2"), "ak-test".to_string().into()).expect("client");
    (fake, client)
}

fn at(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(1_704_067_200_000_000_000 + i128::from(micros) * 1000).expect("time")
}

/// 1 000 records: a 250-record tie group first, 140 ties later, an exactly-100 tie group, pairs, and two
/// records naming one instant with different offsets.
fn tie_heavy_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    let mut id = 0;
    let mut push = |micros: i64, offset_hours: i8| {
        id += 1;
        let t = at(micros);
        let shown = t.to_offset(time::UtcOffset::from_hms(offset_hours, 0, 0).expect("offset"));
        rows.push(Row { id, text: shown.format(&Rfc3339).expect("format"), at: t });
    };
    for _ in 0..250 {
        push(1_000_001, 0);
    }
    for i in 0..10 {
        push(2_000_000 + i, 0);
    }
    for _ in 0..140 {
        push(3_000_000, -5);
    }
    for _ in 0..100 {
        push(4_000_000, 0);
    }
    for i in 0..248 {
        push(5_000_000 + i / 2, 0);
    }
    push(6_000_000, 0);
    push(6_000_000, -5);
    for i in 0..250 {
        push(7_000_000 + i, 2);
    }
    rows
}

/// `n` records one second apart, in groups of `tie` records sharing one instant.
fn spaced_rows(n: i64, tie: i64) -> Vec<Row> {
    (1..=n)
        .map(|id| {
            let t = at((id - 1) / tie * 1_000_000);
            Row { id, text: t.format(&Rfc3339).expect("format"), at: t }
        })
        .collect()
}

fn assert_exactly_once(ids: &[i64], expected: usize) {
    let unique: HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "expected no duplicates, got {} ids for {} unique", ids.len(), unique.len());
    assert_eq!(ids.len(), expected, "expected {expected} records, got {}", ids.len());
}

#[tokio::test]
async fn big_tie_groups_are_read_exactly_once_without_deep_pages() {
    let rows = tie_heavy_rows();
    let total = rows.len();
    let (fake, client) = start_fake(rows).await;
    let people: Vec<Person> = client.people().keyset().items().try_collect().await.expect("walk");
    let ids: Vec<i64> = people.iter().map(|p| p.id.0).collect();
    assert_exactly_once(&ids, total);
    let order: Vec<_> = people.iter().map(|p| p.updated_at.clone()).collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "records come in updated_at order");
    let max_page = fake.max_page.load(Ordering::SeqCst);
    assert!(max_page <= 10, "one window reads the 1 000 records, got page {max_page}");
    let requests = fake.requests.load(Ordering::SeqCst);
    assert!(requests <= 12, "expected ⌈1000/100⌉ + the probe and the tail, got {requests}");
}

#[tokio::test]
async fn a_tie_group_beyond_page_100_is_an_error_unless_deep_pages_are_allowed() {
    // 250 records share one instant; a few follow. (Small, so the pipeline's default 600/minute budget —
    // the fake sends no rate headers — is not exhausted.)
    let rows: Vec<Row> = tie_heavy_rows().into_iter().take(255).collect();
    let (fake, client) = start_fake(rows.clone()).await;
    // per_page 2: the 250-record tie group would need page 125.
    let result: Result<Vec<Person>, Error> = client.people().keyset().per_page(2).items().try_collect().await;
    match result {
        Err(Error::Pagination { reason }) => {
            assert!(reason.contains("share updated_at"), "the error explains the tie: {reason}")
        }
        other => panic!("expected a pagination error, got {:?}", other.map(|v| v.len())),
    }
    assert_eq!(fake.max_page.load(Ordering::SeqCst), 100, "stopped at page 100");

    let people: Vec<Person> =
        client.people().keyset().per_page(2).allow_deep_pages(true).items().try_collect().await.expect("walk");
    assert_exactly_once(&people.iter().map(|p| p.id.0).collect::<Vec<_>>(), rows.len());
}

#[tokio::test]
async fn resuming_from_any_checkpoint_returns_exactly_the_rest() {
    let rows = tie_heavy_rows();
    let total = rows.len();
    let (_fake, client) = start_fake(rows).await;
    for stop_after in [1usize, 2, 3, 5, 7, 9] {
        let mut pager = client.people().keyset();
        let mut ids = Vec::new();
        for _ in 0..stop_after {
            match pager.next_page().await.expect("page") {
                Some(page) => ids.extend(page.records.iter().map(|p| p.id.0)),
                None => break,
            }
        }
        // The checkpoint survives a round trip through JSON (it is what a caller persists).
        let saved = serde_json::to_string(pager.checkpoint()).expect("serialize");
        let cursor: KeysetCursor = serde_json::from_str(&saved).expect("deserialize");
        let rest: Vec<Person> = client.people().keyset().resume_from(cursor).items().try_collect().await.expect("rest");
        ids.extend(rest.iter().map(|p| p.id.0));
        assert_exactly_once(&ids, total);
    }
}

#[tokio::test]
async fn twenty_thousand_simulator_records_never_ask_for_a_page_above_100() {
    let (sim, client) = support::start(20_000).await;
    let mut pages = std::pin::pin!(client.people().keyset().pages());
    let mut ids = Vec::with_capacity(20_000);
    let mut max_request_page = 0;
    while let Some(page) = pages.try_next().await.expect("page") {
        max_request_page = max_request_page.max(page.request_page);
        ids.extend(page.records.iter().map(|p| p.id.0));
    }
    assert_exactly_once(&ids, 20_000);
    assert!(max_request_page <= 100, "expected no page above 100, got page {max_request_page}");
    let stats = support::stats(&sim).await;
    assert!(support::stat(&stats, "max_page") <= 100, "simulator saw a page above 100: {stats}");
    // Windows of 100 pages pay the `[gte]` overlap once per 10 000 records: 1 probe + 201 pages + 1 tail.
    let cost = support::stat(&stats, "cost_used");
    assert!(cost <= 202, "expected cost ≤ 1.01 × 200 = 202, got {cost}");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_plain_cursor_only_asks_for_page_one() {
    let (sim, client) = support::start(2_000).await;
    let mut pager = client.people().keyset().windows(false);
    let mut ids = Vec::new();
    while let Some(page) = pager.next_page().await.expect("page") {
        assert_eq!(page.request_page, 1);
        ids.extend(page.records.iter().map(|p| p.id.0));
    }
    assert_exactly_once(&ids, 2_000);
    // An exact cursor over a non-unique key re-reads the last record of each page: 1 + ⌈1 900 / 99⌉ = 21.
    assert_eq!(pager.requests(), 21);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_simulator_walk_resumes_and_then_polls_only_changes() {
    let (sim, client) = support::start(2_000).await;
    let mut pager = client.people().keyset();
    let mut ids = Vec::new();
    for _ in 0..7 {
        let page = pager.next_page().await.expect("page").expect("more pages");
        ids.extend(page.records.iter().map(|p| p.id.0));
    }
    let cursor = pager.checkpoint().clone();
    let mut resumed = client.people().keyset().resume_from(cursor);
    while let Some(page) = resumed.next_page().await.expect("page") {
        ids.extend(page.records.iter().map(|p| p.id.0));
    }
    assert_exactly_once(&ids, 2_000);

    // Caught up: an incremental poll from the final checkpoint sees only what changed since.
    let change = PersonInput::default().title("Changed");
    let changed = client.people().update(salesloft_client::models::PersonId(17), &change).await.expect("update");
    let poll: Vec<Person> =
        client.people().keyset().resume_from(resumed.checkpoint().clone()).items().try_collect().await.expect("poll");
    assert_eq!(poll.iter().map(|p| p.id).collect::<Vec<_>>(), vec![changed.id], "only the changed person");
    sim.shutdown().await;
}

#[tokio::test]
async fn keyset_since_a_time_skips_older_records() {
    let (sim, client) = support::start(300).await;
    let all: Vec<Person> = client.people().keyset().items().try_collect().await.expect("all");
    let middle = all[150].updated_at.clone();
    let newer: Vec<Person> = client.people().keyset().since(middle.clone()).items().try_collect().await.expect("since");
    let expected: BTreeMap<i64, ()> = all.iter().filter(|p| p.updated_at >= middle).map(|p| (p.id.0, ())).collect();
    let got: BTreeMap<i64, ()> = newer.iter().map(|p| (p.id.0, ())).collect();
    assert_eq!(got.len(), newer.len(), "no duplicates");
    assert_eq!(got, expected, "since(t) returns exactly the records updated at or after t");
    sim.shutdown().await;
}

#[tokio::test]
async fn offset_paging_refuses_page_101_unless_allowed() {
    let (sim, client) = support::start(0).await;
    let mut pager = OffsetPager::<User>::new(client.clone()).start_page(101);
    let error = pager.next_page().await.expect_err("page 101 refused");
    assert!(matches!(error, Error::Construction { .. }), "expected a construction error, got {error:?}");
    let mut users = OffsetPager::<User>::new(client.clone());
    let first = users.next_page().await.expect("page 1").expect("some users");
    assert!(!first.is_empty());
    let _ = KeysetPager::<Person>::new(client);
    sim.shutdown().await;
}

/// Records updated or deleted during a windowed walk move the offsets of the pages not yet read: the window
/// sees `total_count` change, drops that page and restarts at the cursor, so no untouched record is skipped
/// or repeated; the updated records come again (newer) from the tail.
#[tokio::test]
async fn records_changed_during_a_windowed_walk_skip_nothing() {
    let rows = spaced_rows(3_000, 1);
    let (fake, client) = start_fake(rows).await;
    let later = at(100_000_000_000); // far above the windows' bound
    let mut pager = client.people().keyset();
    let (mut ids, mut pages) = (Vec::new(), 0);
    let (mut updated, mut deleted) = (HashSet::new(), HashSet::new());
    while let Some(page) = pager.next_page().await.expect("page") {
        pages += 1;
        ids.extend(page.records.iter().map(|p| p.id.0));
        let mut rows = fake.rows();
        match pages {
            // Update a record read on page 1, delete one read on page 2 (both behind the offset)…
            3 => {
                let row = rows.iter_mut().find(|r| r.id == 50).expect("row 50");
                row.at = later;
                row.text = later.format(&Rfc3339).expect("format");
                updated.insert(50);
                rows.retain(|r| r.id != 150);
                deleted.insert(150);
            }
            // …and update one not read yet (ahead of the offset).
            6 => {
                let row = rows.iter_mut().find(|r| r.id == 2_500).expect("row 2500");
                row.at = later;
                row.text = later.format(&Rfc3339).expect("format");
                updated.insert(2_500);
            }
            _ => {}
        }
    }
    for id in 1..=3_000 {
        let times = ids.iter().filter(|&&x| x == id).count();
        if updated.contains(&id) {
            assert!(times >= 1, "updated record {id} read {times} times");
        } else if deleted.contains(&id) {
            assert!(times <= 1, "deleted record {id} read {times} times");
        } else {
            assert_eq!(times, 1, "untouched record {id} read {times} times");
        }
    }
    assert!(fake.max_page.load(Ordering::SeqCst) > 1, "the walk used windows");
}

/// A database that orders equal timestamps differently on each request: a page boundary inside a tie group
/// would skip one record and repeat another; the repeat is seen, the page dropped, and the window restarted.
#[tokio::test]
async fn ties_reordered_between_window_pages_are_neither_skipped_nor_repeated() {
    let rows = spaced_rows(2_000, 7);
    let (fake, client) = start_fake(rows).await;
    fake.unstable_ties.store(true, Ordering::SeqCst);
    let people: Vec<Person> = client.people().keyset().items().try_collect().await.expect("walk");
    let ids: Vec<i64> = people.iter().map(|p| p.id.0).collect();
    assert_exactly_once(&ids, 2_000);
}

/// Windows cost one re-read per 10 000 records instead of one per page. 25 000 records one second apart:
/// one probe; windows up to the bound (60 s below the newest, so 24 940 records) in 100 + 100 + 50 pages;
/// one tail request for the newest 60.
#[tokio::test]
async fn a_windowed_walk_costs_about_one_request_per_hundred_records() {
    let (fake, client) = start_fake(spaced_rows(25_000, 1)).await;
    let mut pager = client.people().keyset();
    let mut ids = Vec::new();
    while let Some(page) = pager.next_page().await.expect("page") {
        ids.extend(page.records.iter().map(|p| p.id.0));
    }
    assert_exactly_once(&ids, 25_000);
    assert_eq!(pager.requests(), 252, "1 probe + 250 window pages + 1 tail");
    assert_eq!(u64::from(fake.requests.load(Ordering::SeqCst)), pager.requests());
    assert_eq!(fake.max_page.load(Ordering::SeqCst), 100);
}

/// Windows are sized from the previous window's time span; when the density of updates changes, a window
/// ends early (it then starts the next one strictly after its bound, spanning twice as long) or fills
/// sooner. Every record still comes exactly once, and the cost stays near one request per 100 records.
#[tokio::test]
async fn windows_follow_changes_in_update_density() {
    let mut rows = Vec::new();
    let mut micros = 0;
    for id in 1..=36_000_i64 {
        micros += match id {
            1..=12_000 => 1_000_000,  // one a second
            12_001..=24_000 => 1_000, // a bulk import: one a millisecond
            _ => 20_000_000,          // then one every 20 s
        };
        let t = at(micros);
        rows.push(Row { id, text: t.format(&Rfc3339).expect("format"), at: t });
    }
    let (fake, client) = start_fake(rows).await;
    let mut pager = client.people().keyset();
    let mut ids = Vec::new();
    while let Some(page) = pager.next_page().await.expect("page") {
        ids.extend(page.records.iter().map(|p| p.id.0));
    }
    assert_exactly_once(&ids, 36_000);
    assert!(fake.max_page.load(Ordering::SeqCst) <= 100);
    assert!(pager.requests() <= 375, "expected about 1.02 × 360 requests, got {}", pager.requests());
}
