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
