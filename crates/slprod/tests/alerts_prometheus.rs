//! The exported alerts on a real Prometheus server (Debian's `prometheus`; scripts/test.sh installs it): it
//! scrapes a running `slprod serve` every second and evaluates the exported rules, while the simulator injects
//! 5xx, 429, 401 and slow answers. Without faults no alert is pending or firing; with each fault its alert
//! fires, as Prometheus' HTTP API (`/api/v1/alerts`) reports it.
//!
//! The rules are exported with `--test-hold 0s` (every `for:` zeroed: the test cannot wait minutes) and a
//! p99 threshold of 400 ms (slow answers of 600 ms then suffice); windows and expressions are the production
//! ones. Waits poll the external server with a bound; nothing sleeps as an assertion.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long any one condition may take to appear on the Prometheus server.
const WAIT: Duration = Duration::from_secs(60);

/// A child process killed and reaped when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port (Prometheus takes a fixed `--web.listen-address`).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Starts `slprod serve` with `config`, logs to `log`; returns it and its base URL.
async fn start_gateway(sim: &salesloft_sim::RunningSim, dir: &Path, config: &Path) -> (Running, String) {
    let mut command = support::slprod_for(sim, &support::sqlite_url(dir));
    let log = std::fs::File::create(dir.join("serve.log")).expect("log");
    command
        .arg("--config")
        .arg(config)
        .args(["serve", "--listen", "127.0.0.1:0", "--insecure-dev"])
        .stdout(Stdio::piped())
        .stderr(log);
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().expect("slprod serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("a line");
        let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("the one line: {line:?}"));
        (Running(child), url.to_string())
    })
    .await
    .expect("join")
}

/// Starts Prometheus scraping `target` (host:port) every second with `rules`; returns it and its URL.
fn start_prometheus(dir: &Path, target: &str, rules: &Path) -> (Running, String) {
    let prometheus = support::tool("SLPROD_TEST_PROMETHEUS", "prometheus", "prometheus");
    let config = dir.join("prometheus.yml");
    let text = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules}\n\
         scrape_configs:\n  - job_name: slprod\n    metrics_path: /metrics\n    static_configs:\n      - targets: [{target}]\n",
        rules = json!(rules.display().to_string()),
        target = json!(target),
    );
    std::fs::write(&config, text).expect("prometheus.yml");
    let port = free_port();
    let log = std::fs::File::create(dir.join("prometheus.log")).expect("log");
    let child = std::process::Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("prometheus starts");
    (Running(child), format!("http://127.0.0.1:{port}"))
}

/// Polls `probe` until it returns `Some`, at most [`WAIT`]; panics with `what` and the last state otherwise.
async fn until<T>(what: &str, mut probe: impl AsyncFnMut() -> Result<T, String>) -> T {
    let started = Instant::now();
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(state) if started.elapsed() > WAIT => panic!("{what}: not within {WAIT:?}; last seen: {state}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    let response = http.get(url).send().await.map_err(|e| e.to_string())?;
    response.json::<Value>().await.map_err(|e| e.to_string())
}

/// The alerts Prometheus holds: `(alertname, state)`.
async fn alerts(http: &reqwest::Client, prometheus: &str) -> Result<Vec<(String, String)>, String> {
    let body = get_json(http, &format!("{prometheus}/api/v1/alerts")).await?;
    let list = body["data"]["alerts"].as_array().ok_or_else(|| body.to_string())?;
    Ok(list
        .iter()
        .map(|a| {
            let field = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (field(&a["labels"]["alertname"]), field(&a["state"]))
        })
        .collect())
}

/// Waits until Prometheus reports `alertname` firing.
async fn until_firing(http: &reqwest::Client, prometheus: &str, alertname: &str) {
    until(&format!("{alertname} firing"), async || {
        let alerts = alerts(http, prometheus).await?;
        if alerts.iter().any(|(name, state)| name == alertname && state == "firing") {
            Ok(())
        } else {
            Err(format!("{alerts:?}"))
        }
    })
    .await;
}

/// Fails when `alertname` is already pending or firing: each alert must come from its own fault.
async fn assert_quiet(http: &reqwest::Client, prometheus: &str, alertname: &str) {
    let alerts = alerts(http, prometheus).await.expect("alerts");
    assert!(!alerts.iter().any(|(name, _)| name == alertname), "{alertname} before its fault: {alerts:?}");
}

/// The rule group's last evaluation time as Prometheus prints it.
async fn last_evaluation(http: &reqwest::Client, prometheus: &str) -> Result<String, String> {
    let body = get_json(http, &format!("{prometheus}/api/v1/rules")).await?;
    body["data"]["groups"][0]["lastEvaluation"].as_str().map(str::to_string).ok_or_else(|| body.to_string())
}

/// Sends `n` proxied `GET /v2/me` through the gateway at once; returns their statuses.
async fn calls(http: &reqwest::Client, gateway: &str, n: usize) -> Vec<u16> {
    let sends = (0..n)
        .map(|_| async { http.get(format!("{gateway}/v2/me")).send().await.map(|r| r.status().as_u16()).unwrap_or(0) });
    futures::future::join_all(sends).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_fires_each_alert_on_its_fault_and_none_without_faults() {
    let sim = support::sim(3).await;
    let root = sim.root_url().to_string();
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("slprod.toml");
    // Short backoff so a fault storm is quick; the breaker off so every attempt reaches SalesLoft (with it on,
    // five failures would open it and the storm would stop producing responses to count).
    std::fs::write(
        &config,
        "[retry]\nmax_attempts = 3\nbase_delay_ms = 10\nmax_delay_ms = 50\n\n[breaker]\nenabled = false\n\n\
         [alerts]\np99_latency_ms = 400\n",
    )
    .expect("config");
    let rules_dir = dir.path().join("alerts");
    let mut export = support::slprod();
    export.arg("--config").arg(&config).args(["alerts", "export", "--test-hold", "0s", "--out"]).arg(&rules_dir);
    let (code, stdout, stderr) = support::run_blocking(&mut export);
    assert_eq!(code, 0, "export: {stdout}{stderr}");

    let (_gateway_process, gateway) = start_gateway(&sim, dir.path(), &config).await;
    let target = gateway.trim_start_matches("http://").to_string();
    let (_prometheus_process, prometheus) =
        start_prometheus(dir.path(), &target, &rules_dir.join("salesloft.rules.yml"));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("http");

    // Healthy traffic, seen by Prometheus, then two rule evaluations after that: nothing pending or firing.
    assert_eq!(calls(&http, &gateway, 5).await, vec![200; 5]);
    until("Prometheus scraped the healthy calls", async || {
        let url = format!("{prometheus}/api/v1/query?query=sum(salesloft_responses_total%7Bstatus%3D%22200%22%7D)");
        let body = get_json(&http, &url).await?;
        let value = body["data"]["result"][0]["value"][1].as_str().and_then(|v| v.parse::<f64>().ok());
        if value.is_some_and(|v| v >= 5.0) { Ok(()) } else { Err(body.to_string()) }
    })
    .await;
    let mut seen = until("a rule evaluation", async || last_evaluation(&http, &prometheus).await).await;
    for _ in 0..2 {
        seen = until("a later rule evaluation", async || match last_evaluation(&http, &prometheus).await? {
            now if now != seen => Ok(now),
            same => Err(same),
        })
        .await;
    }
    let quiet = alerts(&http, &prometheus).await.expect("alerts");
    assert!(quiet.is_empty(), "no alert without faults, got {quiet:?}");

    assert_quiet(&http, &prometheus, "SalesloftServerErrors").await;
    // A 5xx storm that the retries partly hide: 4 calls × 3 attempts = 12 responses of 503, more than 5.
    let sequence: Vec<Value> = (0..12).map(|_| json!({"status": 503})).collect();
    salesloft_testkit::sim::add_fault(&root, json!({"method": "GET", "path": "/v2/me", "sequence": sequence})).await;
    let statuses = calls(&http, &gateway, 4).await;
    assert!(statuses.iter().all(|s| *s == 503), "the storm reached the callers as 503: {statuses:?}");
    until_firing(&http, &prometheus, "SalesloftServerErrors").await;

    assert_quiet(&http, &prometheus, "SalesloftRateLimited").await;
    // 429s: 5 calls × 3 attempts = 15, more than 10.
    let sequence: Vec<Value> = (0..15).map(|_| json!({"status": 429, "retry_after": "0"})).collect();
    salesloft_testkit::sim::add_fault(&root, json!({"method": "GET", "path": "/v2/me", "sequence": sequence})).await;
    calls(&http, &gateway, 5).await;
    until_firing(&http, &prometheus, "SalesloftRateLimited").await;

    assert_quiet(&http, &prometheus, "SalesloftAuthFailure").await;
    // One 401 to the API key.
    salesloft_testkit::sim::add_fault(&root, json!({"method": "GET", "path": "/v2/me", "sequence": [{"status": 401}]}))
        .await;
    assert_eq!(calls(&http, &gateway, 1).await, vec![401]);
    until_firing(&http, &prometheus, "SalesloftAuthFailure").await;

    assert_quiet(&http, &prometheus, "SalesloftLatencyP99High").await;
    // Slow answers: 12 calls of 600 ms among ~27 in the window put the p99 above 400 ms.
    let sequence: Vec<Value> = (0..12).map(|_| json!({"latency_ms": 600})).collect();
    salesloft_testkit::sim::add_fault(&root, json!({"method": "GET", "path": "/v2/me", "sequence": sequence})).await;
    assert_eq!(calls(&http, &gateway, 12).await, vec![200; 12]);
    until_firing(&http, &prometheus, "SalesloftLatencyP99High").await;
}
