//! The simulator's control API (`/__sim/…`) over HTTP, for tests in any crate: the request log, faults and
//! stats. It takes the simulator's root URL (`RunningSim::root_url`), so the testkit does not depend on the
//! simulator itself (whose own tests use the testkit).

use serde_json::Value;

/// `GET /__sim/requests?limit=N`: the simulator's request log, up to `limit` entries, most recent first.
pub async fn requests(root_url: &str, limit: usize) -> Vec<Value> {
    match get(root_url, &format!("/__sim/requests?limit={limit}")).await {
        Value::Array(items) => items,
        other => panic!("expected an array from /__sim/requests, got {other}"),
    }
}

/// The whole request log (up to 10 000 entries).
pub async fn request_log(root_url: &str) -> Vec<Value> {
    requests(root_url, 10_000).await
}

/// The requests in the log whose method is one of `methods` and whose path starts with `path_prefix`
/// (whatever they were answered), e.g. the person mutations: `&["POST", "PUT"]` under `/v2/people`.
pub async fn requests_to(root_url: &str, methods: &[&str], path_prefix: &str) -> Vec<Value> {
    request_log(root_url)
        .await
        .into_iter()
        .filter(|r| {
            r["method"].as_str().is_some_and(|m| methods.contains(&m))
                && r["path"].as_str().is_some_and(|p| p.starts_with(path_prefix))
        })
        .collect()
}

/// `GET /__sim/stats`.
pub async fn stats(root_url: &str) -> Value {
    get(root_url, "/__sim/stats").await
}

/// `POST /__sim/faults` with `rule`; panics unless the simulator accepts it.
pub async fn add_fault(root_url: &str, rule: Value) {
    let response = reqwest::Client::new()
        .post(format!("{root_url}/__sim/faults"))
        .json(&rule)
        .send()
        .await
        .expect("control API reachable");
    assert!(response.status().is_success(), "adding fault {rule}: expected 2xx, got {}", response.status());
}

/// `GET` a control path, as JSON.
pub async fn get(root_url: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{root_url}{path}"))
        .send()
        .await
        .expect("control API reachable")
        .json()
        .await
        .expect("control API answers JSON")
}

/// `POST /__sim/bulk_jobs/{id}/stuck`: holds bulk job `id` in `executing` until [`release_bulk_job`].
pub async fn hold_bulk_job(root_url: &str, id: i64) {
    control_call(root_url, reqwest::Method::POST, &format!("/__sim/bulk_jobs/{id}/stuck"), None).await;
}

/// `DELETE /__sim/bulk_jobs/{id}/stuck`: lets bulk job `id` run again.
pub async fn release_bulk_job(root_url: &str, id: i64) {
    control_call(root_url, reqwest::Method::DELETE, &format!("/__sim/bulk_jobs/{id}/stuck"), None).await;
}

/// `POST /__sim/bulk_jobs/{id}/process`: applies up to `records` records of executing bulk job `id` now
/// (`None`: all that remain); returns the job as the API renders it.
pub async fn process_bulk_job(root_url: &str, id: i64, records: Option<u64>) -> Value {
    let body = serde_json::json!({ "records": records });
    control_call(root_url, reqwest::Method::POST, &format!("/__sim/bulk_jobs/{id}/process"), Some(body)).await["data"]
        .clone()
}

/// `POST /__sim/clock`: moves the simulator clock forward by `seconds` (bulk jobs catch up before it answers).
pub async fn advance_clock(root_url: &str, seconds: f64) {
    control_call(
        root_url,
        reqwest::Method::POST,
        "/__sim/clock",
        Some(serde_json::json!({ "advance_seconds": seconds })),
    )
    .await;
}

/// A control call that must succeed; its JSON answer (null when it has none).
async fn control_call(root_url: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut request = reqwest::Client::new().request(method, format!("{root_url}{path}"));
    if let Some(body) = &body {
        request = request.json(body);
    }
    let response = request.send().await.expect("control API reachable");
    let status = response.status();
    let text = response.text().await.expect("control API answers");
    assert!(status.is_success(), "{path}: expected 2xx, got {status} with {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
