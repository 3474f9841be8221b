//! Bulk jobs (FACTS.md §12): create, upload `job_data` in chunks, execute, poll, read `results` with an
//! `id[gt]` cursor; each record has exactly the effect of `POST /v2/person_upserts`; the 5 000-record limit,
//! the open-only rule, per-request costs, the `bulk_job_completed` webhook, and the fault hooks (failed and
//! lost uploads, a job stuck in `executing`). No test sleeps: jobs progress on the simulator clock, which
//! the tests advance through `/__sim/clock`.

mod common;

use common::{Answer, Harness, documented_keys};
use reqwest::Method;
use salesloft_sim::clock::ManualClock;
use salesloft_sim::{SimConfig, Simulator};
use salesloft_testkit::webhooks::WebhookReceiver;
use serde_json::{Value, json};

/// A simulator on a manual clock: bulk jobs move only when the test advances it.
async fn on_manual_clock(config: SimConfig) -> (Harness, ManualClock) {
    let clock = ManualClock::new();
    let config = SimConfig { listen: "127.0.0.1:0".parse().expect("addr"), ..config };
    let sim = Simulator::start_with_clock(config, clock.shared()).await.expect("simulator starts");
    (Harness { sim, http: reqwest::Client::builder().no_proxy().build().expect("client") }, clock)
}

/// Creates a `person/upsert` job; returns its id.
async fn create_job(h: &Harness) -> i64 {
    let created = h.post("/v2/bulk_jobs", json!({"type":"person/upsert"})).await.expect(200).json();
    created["data"]["id"].as_i64().unwrap_or_else(|| panic!("job id in {created}"))
}

/// Uploads `records` to job `id`; returns the answer.
async fn upload(h: &Harness, id: i64, records: &[Value]) -> Answer {
    h.post(&format!("/v2/bulk_jobs/{id}/job_data"), json!({ "data": records })).await
}

async fn job(h: &Harness, id: i64) -> Value {
    h.get(&format!("/v2/bulk_jobs/{id}")).await.expect(200).json()["data"].clone()
}

async fn advance(h: &Harness, seconds: f64) {
    h.control(Method::POST, "/clock", Some(json!({"advance_seconds": seconds}))).await.expect(200);
}

/// Every row of a cursor list (`job_data` or `results`), walked with `id[gt]` and `per_page`; also returns
/// how many pages it took (the last one empty).
async fn walk(h: &Harness, path: &str, per_page: usize) -> (Vec<Value>, usize) {
    let mut rows = Vec::new();
    let mut pages = 0;
    let mut after: Option<i64> = None;
    loop {
        let cursor = after.map(|id| format!("&id[gt]={id}")).unwrap_or_default();
        let page = h.get(&format!("{path}?per_page={per_page}{cursor}")).await.expect(200).json();
        pages += 1;
        let data = page["data"].as_array().unwrap_or_else(|| panic!("data array in {page}")).clone();
        assert!(page["metadata"].get("paging").is_none(), "no page numbers on a cursor list: {page}");
        assert!(data.len() <= per_page, "a page holds at most per_page rows: {page}");
        let Some(last) = data.last() else {
            return (rows, pages);
        };
        after = last["id"].as_i64();
        rows.extend(data);
        assert!(pages < 1000, "the cursor walk ends");
    }
}

/// The records of the happy path: two creates, an update of a seeded person, and three the single endpoint
/// refuses (no email nor phone, an email taken by an earlier record of the job, an unknown `id`).
fn happy_path_records(seeded_email: &str) -> (Vec<Value>, Vec<Value>) {
    let first = vec![
        json!({"upsert_key":"email_address","email_address":"bulk.one@example.com","first_name":"One"}),
        json!({"upsert_key":"email_address","email_address":seeded_email,"title":"Bulk Updated"}),
        json!({"first_name":"No Contact"}),
    ];
    let second = vec![
        json!({"email_address":"BULK.ONE@example.com","first_name":"Duplicate"}),
        json!({"upsert_key":"id","id":987_654,"title":"Ghost"}),
        json!({"upsert_key":"email_address","email_address":"bulk.two@example.com","last_name":"Two"}),
    ];
    (first, second)
}

/// An upsert's resource as compared across simulators: without the person's timestamps (the two runs differ
/// in time) and with `base_url` (whose port differs) in `_href`s replaced.
fn comparable(mut value: Value, base_url: &str) -> Value {
    if let Some(person) = value.get_mut("person").and_then(Value::as_object_mut) {
        person.remove("created_at");
        person.remove("updated_at");
    }
    serde_json::from_str(&value.to_string().replace(base_url, "BASE")).expect("still JSON")
}

#[tokio::test]
async fn a_job_applies_every_record_exactly_as_person_upserts_would() {
    let h = Harness::start().await;
    let seeded = h.get("/v2/people/5").await.expect(200).json();
    let seeded_email = seeded["data"]["email_address"].as_str().expect("seeded email").to_owned();
    let (first, second) = happy_path_records(&seeded_email);

    let created = h.post("/v2/bulk_jobs", json!({"type":"person/upsert","name":"import"})).await.expect(200).json();
    let job_id = created["data"]["id"].as_i64().expect("id");
    for key in documented_keys("BulkJob") {
        assert!(created["data"].get(&key).is_some(), "a job has the documented key {key}: {created}");
    }
    let opened = &created["data"];
    assert_eq!(
        (&opened["state"], &opened["total"], &opened["processed"], &opened["errors"], &opened["ready_to_execute"]),
        (&json!("open"), &json!(0), &json!(0), &json!(0), &json!(false)),
        "{created}"
    );
    assert_eq!((&opened["type"], &opened["name"]), (&json!("person/upsert"), &json!("import")));
    assert!(opened["scopes"].is_array(), "{created}");

    assert_eq!(upload(&h, job_id, &first).await.expect(200).json(), json!({"data":{"records":3}}));
    assert_eq!(upload(&h, job_id, &second).await.expect(200).json(), json!({"data":{"records":3}}));
    assert_eq!(job(&h, job_id).await["total"], 6, "total counts both chunks");
    let (pending, _) = walk(&h, &format!("/v2/bulk_jobs/{job_id}/job_data"), 100).await;
    assert!(pending.iter().all(|row| row["status"] == "pending"), "nothing runs while open: {pending:?}");
    let uploaded: Vec<Value> = first.iter().chain(&second).cloned().collect();
    assert_eq!(pending.iter().map(|row| row["record"].clone()).collect::<Vec<_>>(), uploaded, "upload order kept");
    assert_eq!(h.get("/v2/people?email_addresses[]=bulk.one@example.com").await.expect(200).json()["data"], json!([]));

    let executing =
        h.put(&format!("/v2/bulk_jobs/{job_id}"), json!({"ready_to_execute":true})).await.expect(200).json();
    assert_eq!(
        (&executing["data"]["state"], &executing["data"]["ready_to_execute"]),
        (&json!("executing"), &json!(true))
    );
    // Poll as a client would; the clock moves a second between polls (1 000 records/s by default).
    let mut done = Value::Null;
    for _ in 0..10 {
        advance(&h, 1.0).await;
        done = job(&h, job_id).await;
        if done["state"] == "done" {
            break;
        }
    }
    assert_eq!((&done["state"], &done["processed"], &done["errors"]), (&json!("done"), &json!(6), &json!(3)), "{done}");
    assert!(done["finished_at"].is_string() && done["marked_ready_at"].is_string(), "{done}");

    let (results, _) = walk(&h, &format!("/v2/bulk_jobs/{job_id}/results"), 100).await;
    let row_ids: Vec<&Value> = pending.iter().map(|row| &row["id"]).collect();
    assert_eq!(results.iter().map(|row| &row["id"]).collect::<Vec<_>>(), row_ids, "one result per uploaded record");

    // The same records, one `POST /v2/person_upserts` each, on a fresh simulator with the same seed.
    let single = Harness::start().await;
    for (row, record) in results.iter().zip(&uploaded) {
        let answer = single.post("/v2/person_upserts", record.clone()).await;
        match answer.status.as_u16() {
            200 => {
                assert_eq!(row["status"], "success", "record {record}: {row}");
                assert!(row["error"].is_null(), "{row}");
                assert_eq!(
                    comparable(row["resource"].clone(), h.sim.base_url()),
                    comparable(answer.json()["data"].clone(), single.sim.base_url()),
                    "record {record}"
                );
            }
            status => {
                assert_eq!(row["status"], "error", "record {record} is refused ({status}) by the single call: {row}");
                assert!(row["resource"].is_null(), "{row}");
                let message = row["error"].as_str().unwrap_or_else(|| panic!("an error message in {row}"));
                let body = answer.json();
                let expected = match body.get("errors").and_then(Value::as_object) {
                    Some(fields) => fields
                        .iter()
                        .flat_map(|(field, messages)| {
                            let messages = messages.as_array().cloned().unwrap_or_default();
                            messages.into_iter().map(move |m| format!("{field} {}", m.as_str().unwrap_or_default()))
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                    None => body["error"].as_str().unwrap_or_default().to_owned(),
                };
                assert_eq!(message, expected, "the error is the single call's {status}: {body}");
            }
        }
    }
    assert_eq!(results.iter().filter(|row| row["status"] == "error").count(), 3);
    assert!(results[3]["error"].as_str().is_some_and(|m| m.contains("is already taken")), "{:?}", results[3]);

    // The people are there, as the single calls left them.
    let updated = h.get("/v2/people/5").await.expect(200).json();
    assert_eq!(updated["data"]["title"], "Bulk Updated");
    let two = h.get("/v2/people?email_addresses[]=bulk.two@example.com").await.expect(200).json();
    assert_eq!(two["data"][0]["last_name"], "Two", "{two}");
    let errors_only = h.get(&format!("/v2/bulk_jobs/{job_id}/results?status=error")).await.expect(200).json();
    assert_eq!(errors_only["data"].as_array().map(Vec::len), Some(3), "{errors_only}");
}

#[tokio::test]
async fn processed_and_errors_count_up_while_the_job_runs_at_the_configured_rate() {
    // On a manual clock only the test moves time, so the counts below are exact.
    let (h, _clock) = on_manual_clock(SimConfig { bulk_records_per_second: 1, ..SimConfig::default() }).await;
    let job_id = create_job(&h).await;
    let records = [
        json!({"email_address":"rate.1@example.com"}),
        json!({"first_name":"invalid"}),
        json!({"email_address":"rate.3@example.com"}),
        json!({"email_address":"rate.4@example.com"}),
    ];
    upload(&h, job_id, &records).await.expect(200);
    h.put(&format!("/v2/bulk_jobs/{job_id}"), json!({"ready_to_execute":true})).await.expect(200);
    advance(&h, 2.5).await;
    let running = job(&h, job_id).await;
    assert_eq!(
        (&running["state"], &running["processed"], &running["errors"], &running["total"]),
        (&json!("executing"), &json!(2), &json!(1), &json!(4)),
        "two records at 1/s after 2.5 s: {running}"
    );
    let results = h.get(&format!("/v2/bulk_jobs/{job_id}/results")).await.expect(200).json();
    assert_eq!(results["data"], json!([]), "results stay empty until done");
    let rows = h.get(&format!("/v2/bulk_jobs/{job_id}/job_data")).await.expect(200).json();
    let statuses: Vec<&str> =
        rows["data"].as_array().expect("rows").iter().filter_map(|r| r["status"].as_str()).collect();
    assert_eq!(statuses, ["success", "error", "pending", "pending"]);

    // The control API applies records now, whatever the rate.
    let processed =
        h.control(Method::POST, &format!("/bulk_jobs/{job_id}/process"), Some(json!({"records":1}))).await.expect(200);
    assert_eq!(processed.json()["data"]["processed"], 3);
    advance(&h, 1.0).await;
    assert_eq!(job(&h, job_id).await["state"], "done");
}

#[tokio::test]
async fn an_upload_over_the_limit_is_422_and_stores_nothing() {
    let h = Harness::start().await;
    let job_id = create_job(&h).await;
    let records: Vec<Value> = (0..5001).map(|i| json!({"email_address": format!("limit.{i}@example.com")})).collect();
    let refused = upload(&h, job_id, &records).await.expect(422).json();
    assert!(refused["errors"]["data"].is_array(), "a 422 on data: {refused}");
    assert_eq!(job(&h, job_id).await["total"], 0);
    let rows = h.get(&format!("/v2/bulk_jobs/{job_id}/job_data")).await.expect(200).json();
    assert_eq!(rows["data"], json!([]), "nothing stored");

    let accepted = upload(&h, job_id, &records[..5000]).await.expect(200).json();
    assert_eq!(accepted, json!({"data":{"records":5000}}), "exactly 5 000 is accepted");
    assert_eq!(job(&h, job_id).await["total"], 5000);

    for bad in [json!({}), json!({"data":"x"}), json!({"data":[{"email_address":"ok@example.com"}, 7]})] {
        let answer = h.post(&format!("/v2/bulk_jobs/{job_id}/job_data"), bad.clone()).await.expect(422).json();
        assert!(answer["errors"]["data"].is_array(), "{bad} → {answer}");
    }
    assert_eq!(job(&h, job_id).await["total"], 5000, "refused uploads store nothing");

    // Form bodies, as the OpenAPI declares them: `data[]` items holding JSON objects.
    let form = h
        .raw(
            Method::POST,
            &format!("/v2/bulk_jobs/{job_id}/job_data"),
            "application/x-www-form-urlencoded",
            "data[]=%7B%22email_address%22%3A%22form%40example.com%22%7D",
        )
        .await
        .expect(200)
        .json();
    assert_eq!(form, json!({"data":{"records":1}}));
    assert_eq!(job(&h, job_id).await["total"], 5001);
}

#[tokio::test]
async fn a_job_may_only_be_changed_while_open() {
    let h = Harness::start().await;
    let missing = h.post("/v2/bulk_jobs", json!({})).await.expect(422).json();
    assert_eq!(missing, json!({"errors":{"type":["is required"]}}));
    let unknown = h.post("/v2/bulk_jobs", json!({"type":"person/delete"})).await.expect(422).json();
    assert!(unknown["errors"]["type"].is_array(), "{unknown}");
    h.get("/v2/bulk_jobs/999").await.expect(404);
    h.put("/v2/bulk_jobs/999", json!({"name":"x"})).await.expect(404);
    h.post("/v2/bulk_jobs/999/job_data", json!({"data":[]})).await.expect(404);

    let job_id = create_job(&h).await;
    let renamed = h.put(&format!("/v2/bulk_jobs/{job_id}"), json!({"name":"renamed"})).await.expect(200).json();
    assert_eq!((&renamed["data"]["name"], &renamed["data"]["state"]), (&json!("renamed"), &json!("open")));
    upload(&h, job_id, &[json!({"email_address":"open.only@example.com"})]).await.expect(200);
    h.control(Method::POST, &format!("/bulk_jobs/{job_id}/stuck"), None).await.expect(200);
    h.put(&format!("/v2/bulk_jobs/{job_id}"), json!({"ready_to_execute":true})).await.expect(200);

    let state_error = json!({"errors":{"state":["must be open"]}});
    for (label, answer) in [
        ("rename while executing", h.put(&format!("/v2/bulk_jobs/{job_id}"), json!({"name":"late"})).await),
        ("upload while executing", upload(&h, job_id, &[json!({"email_address":"late@example.com"})]).await),
    ] {
        assert_eq!(answer.expect(422).json(), state_error, "{label}");
    }
    h.control(Method::DELETE, &format!("/bulk_jobs/{job_id}/stuck"), None).await.expect(200);
    advance(&h, 1.0).await;
    assert_eq!(job(&h, job_id).await["state"], "done");
    let reopened = h.put(&format!("/v2/bulk_jobs/{job_id}"), json!({"ready_to_execute":false})).await;
    assert_eq!(reopened.expect(422).json(), state_error, "a done job cannot be changed either");
    assert_eq!(job(&h, job_id).await["total"], 1, "the refused upload stored nothing");
}

#[tokio::test]
async fn job_data_results_and_jobs_are_read_with_an_id_gt_cursor() {
    let h = Harness::start().await;
    let job_id = create_job(&h).await;
    let records: Vec<Value> = (0..7).map(|i| json!({"email_address": format!("cursor.{i}@example.com")})).collect();
    upload(&h, job_id, &records[..4]).await.expect(200);
    upload(&h, job_id, &records[4..]).await.expect(200);

    let (rows, pages) = walk(&h, &format!("/v2/bulk_jobs/{job_id}/job_data"), 3).await;
    assert_eq!(pages, 4, "3 + 3 + 1 rows, then an empty page");
    let ids: Vec<i64> = rows.iter().filter_map(|row| row["id"].as_i64()).collect();
    assert_eq!(ids.len(), 7);
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ordered by id: {ids:?}");
    assert_eq!(rows.iter().map(|row| row["record"].clone()).collect::<Vec<_>>(), records);
    let (before_done, _) = walk(&h, &format!("/v2/bulk_jobs/{job_id}/results"), 3).await;
    assert!(before_done.is_empty(), "no results before done");

    h.put(&format!("/v2/bulk_jobs/{job_id}"), json!({"ready_to_execute":true})).await.expect(200);
    advance(&h, 1.0).await;
    let (results, pages) = walk(&h, &format!("/v2/bulk_jobs/{job_id}/results"), 3).await;
    assert_eq!((results.iter().filter_map(|row| row["id"].as_i64()).collect::<Vec<_>>(), pages), (ids.clone(), 4));
    assert!(results.iter().all(|row| row["status"] == "success"), "{results:?}");
    let tail = h.get(&format!("/v2/bulk_jobs/{job_id}/results?id[gt]={}", ids[5])).await.expect(200).json();
    assert_eq!(tail["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(tail["metadata"]["filtering"]["id"], json!({"gt": ids[5].to_string()}));
    h.get(&format!("/v2/bulk_jobs/{job_id}/job_data?id[gt]=abc")).await.expect(422);
    h.get(&format!("/v2/bulk_jobs/{job_id}/job_data?status=done")).await.expect(422);

    // The job list takes the same cursor and a state filter.
    let second = create_job(&h).await;
    let all = h.get("/v2/bulk_jobs?per_page=1").await.expect(200).json();
    assert_eq!(all["data"][0]["id"], job_id);
    let after = h.get(&format!("/v2/bulk_jobs?id[gt]={job_id}")).await.expect(200).json();
    assert_eq!(
        after["data"].as_array().map(|jobs| jobs.iter().map(|j| j["id"].clone()).collect()),
        Some(vec![json!(second)])
    );
    let done = h.get("/v2/bulk_jobs?state=done").await.expect(200).json();
    assert_eq!(
        done["data"].as_array().map(|jobs| jobs.iter().map(|j| j["id"].clone()).collect()),
        Some(vec![json!(job_id)])
    );
}

#[tokio::test]
async fn each_request_costs_the_configured_cost_whatever_it_carries() {
    let config = SimConfig { bulk_job_cost: 2, bulk_job_data_cost: 5, bulk_results_cost: 7, ..SimConfig::default() };
    let h = Harness::with(config).await;
    let cost = |answer: &Answer| answer.header("x-ratelimit-endpoint-cost").map(str::to_owned);

    let created = h.post("/v2/bulk_jobs", json!({"type":"person/upsert"})).await.expect(200);
    assert_eq!(cost(&created).as_deref(), Some("2"));
    let job_id = created.json()["data"]["id"].as_i64().expect("id");
    let records: Vec<Value> = (0..50).map(|i| json!({"email_address": format!("cost.{i}@example.com")})).collect();
    let uploaded = upload(&h, job_id, &records).await.expect(200);
    assert_eq!(cost(&uploaded).as_deref(), Some("5"), "one upload costs the same for 50 records");
    let listed = h.get(&format!("/v2/bulk_jobs/{job_id}/job_data?page=200")).await.expect(200);
    assert_eq!(cost(&listed).as_deref(), Some("5"), "no deep-page cost: these lists have no pages");
    let executed = h.put(&format!("/v2/bulk_jobs/{job_id}"), json!({"ready_to_execute":true})).await.expect(200);
    assert_eq!(cost(&executed).as_deref(), Some("2"));
    let fetched = h.get(&format!("/v2/bulk_jobs/{job_id}")).await.expect(200);
    assert_eq!(cost(&fetched).as_deref(), Some("2"));
    let results = h.get(&format!("/v2/bulk_jobs/{job_id}/results")).await.expect(200);
    assert_eq!(cost(&results).as_deref(), Some("7"));
    let jobs = h.get("/v2/bulk_jobs").await.expect(200);
    assert_eq!(cost(&jobs).as_deref(), Some("2"));

    let stats = h.stats().await;
    assert_eq!(stats["cost_used"], 2 + 5 + 5 + 2 + 2 + 7 + 2, "{stats}");
    assert_eq!(stats["by_route"]["POST /v2/bulk_jobs/{id}/job_data"], 1, "{stats}");
    assert_eq!(stats["by_route"]["GET /v2/bulk_jobs/{id}/results"], 1, "{stats}");
}

#[tokio::test]
async fn a_finished_job_is_announced_by_a_bulk_job_completed_webhook() {
    let h = Harness::start().await;
    let mut deliveries = WebhookReceiver::start().await;
    h.post(
        "/v2/webhook_subscriptions",
        json!({"callback_url":deliveries.url(),"callback_token":"bulk-token","event_type":"bulk_job_completed"}),
    )
    .await
    .expect(200);
    let job_id = create_job(&h).await;
    upload(&h, job_id, &[json!({"email_address":"hooked.bulk@example.com"})]).await.expect(200);
    h.put(&format!("/v2/bulk_jobs/{job_id}"), json!({"ready_to_execute":true})).await.expect(200);

    // No request and no clock jump: the background worker runs the job, as SalesLoft does.
    let delivery = deliveries.next().await;
    assert_eq!(delivery.event, "bulk_job_completed");
    assert_eq!(delivery.signature, salesloft_sim::sign_webhook("bulk-token", &delivery.body));
    let payload: Value = serde_json::from_slice(&delivery.body).expect("JSON payload");
    assert_eq!(payload, job(&h, job_id).await, "the payload is the bare job, as done");
    assert_eq!((&payload["state"], &payload["processed"]), (&json!("done"), &json!(1)));
}

#[tokio::test]
async fn a_failed_upload_stores_nothing_and_a_lost_answer_stores_everything() {
    let h = Harness::start().await;
    let job_id = create_job(&h).await;
    let rule =
        json!({"method":"POST","path":"/v2/bulk_jobs/*/job_data","sequence":[{"status":503},{"drop_after":true}]});
    h.control(Method::POST, "/faults", Some(rule)).await.expect(200);
    let records = [json!({"email_address":"lost.1@example.com"}), json!({"email_address":"lost.2@example.com"})];

    upload(&h, job_id, &records).await.expect(503);
    assert_eq!(job(&h, job_id).await["total"], 0, "a failed upload stores nothing");

    let sent = h
        .http
        .post(h.url(&format!("/v2/bulk_jobs/{job_id}/job_data")))
        .bearer_auth(h.sim.api_key())
        .json(&json!({ "data": records }))
        .send()
        .await;
    assert!(sent.is_err(), "the answer is lost: {:?}", sent.map(|response| response.status()));
    // The client must reconcile: the records were stored although no answer came.
    let rows = h.get(&format!("/v2/bulk_jobs/{job_id}/job_data")).await.expect(200).json();
    assert_eq!(
        rows["data"].as_array().map(|rows| rows.iter().map(|r| r["record"].clone()).collect()),
        Some(records.to_vec())
    );
    assert_eq!(job(&h, job_id).await["total"], 2);
}

#[tokio::test]
async fn a_stuck_job_stays_executing_until_released() {
    let h = Harness::start().await;
    let job_id = create_job(&h).await;
    upload(
        &h,
        job_id,
        &[json!({"email_address":"stuck.1@example.com"}), json!({"email_address":"stuck.2@example.com"})],
    )
    .await
    .expect(200);
    h.put(&format!("/v2/bulk_jobs/{job_id}"), json!({"ready_to_execute":true})).await.expect(200);
    let held = h.control(Method::POST, &format!("/bulk_jobs/{job_id}/stuck"), None).await.expect(200).json();
    assert_eq!(held["data"]["state"], "executing", "{held}");
    h.control(Method::POST, "/bulk_jobs/999/stuck", None).await.expect(404);

    advance(&h, 3600.0).await;
    let stuck = job(&h, job_id).await;
    assert_eq!((&stuck["state"], &stuck["processed"]), (&json!("executing"), &json!(0)), "an hour later: {stuck}");
    h.control(Method::POST, &format!("/bulk_jobs/{job_id}/process"), Some(json!({}))).await.expect(200);
    assert_eq!(job(&h, job_id).await["state"], "executing", "processing a stuck job does nothing");
    assert_eq!(h.get(&format!("/v2/bulk_jobs/{job_id}/results")).await.expect(200).json()["data"], json!([]));

    h.control(Method::DELETE, &format!("/bulk_jobs/{job_id}/stuck"), None).await.expect(200);
    advance(&h, 1.0).await;
    let done = job(&h, job_id).await;
    assert_eq!((&done["state"], &done["processed"]), (&json!("done"), &json!(2)), "{done}");
}

#[tokio::test]
async fn reset_forgets_bulk_jobs() {
    let h = Harness::start().await;
    let job_id = create_job(&h).await;
    h.control(Method::POST, "/reset", None).await.expect(204);
    h.get(&format!("/v2/bulk_jobs/{job_id}")).await.expect(404);
    assert_eq!(h.get("/v2/bulk_jobs").await.expect(200).json()["data"], json!([]));
}

#[tokio::test]
async fn on_a_manual_clock_a_job_moves_only_as_the_test_advances_the_clock() {
    let (h, clock) = on_manual_clock(SimConfig { bulk_records_per_second: 1, ..SimConfig::default() }).await;
    let job_id = create_job(&h).await;
    let records: Vec<Value> = (0..3).map(|i| json!({"email_address": format!("manual.{i}@example.com")})).collect();
    upload(&h, job_id, &records).await.expect(200);
    h.put(&format!("/v2/bulk_jobs/{job_id}"), json!({"ready_to_execute":true})).await.expect(200);
    tokio::task::yield_now().await;
    assert_eq!(job(&h, job_id).await["processed"], 0, "the clock has not moved");
    clock.advance(std::time::Duration::from_secs(2));
    assert_eq!(job(&h, job_id).await["processed"], 2);
    assert_eq!(clock.sleeps(), Vec::<std::time::Duration>::new(), "the worker never sleeps on the simulator clock");
}
