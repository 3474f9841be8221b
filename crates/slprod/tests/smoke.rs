//! `slprod smoke`: the post-launch checks against the simulator — what passes, a bad credential (named by its
//! source, never its value), an unhealthy gateway, and nothing reachable at all.

mod support;

use serde_json::Value;
use support::{run, sim, slprod};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A one-route HTTP server answering every request with `status` and `body` (a stand-in gateway `/health`).
async fn health_server(status: u16, body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    format!("http://{address}/health")
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("JSON ({e}): {stdout}"))
}

#[tokio::test]
async fn a_healthy_integration_passes_every_check_and_prints_what_it_saw() {
    let sim = sim(7).await;
    let health = health_server(200, r#"{"status":"ok"}"#).await;
    let mut command = slprod();
    command
        .args(["smoke", "--health-url", &health])
        .env("SALESLOFT_BASE_URL", sim.base_url())
        .env("SALESLOFT_API_KEY", sim.api_key());
    let (code, stdout, stderr) = run(command).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("authenticated as "), "{stdout}");
    assert!(stdout.contains("7 people in total"), "{stdout}");
    assert!(stdout.contains("answered 200"), "{stdout}");
    assert!(stdout.contains("300 ms baseline"), "{stdout}");
}

#[tokio::test]
async fn a_bad_key_fails_naming_its_source_and_never_its_value() {
    let sim = sim(1).await;
    let mut command = slprod();
    command
        .args(["--output", "json", "smoke"])
        .env("SALESLOFT_BASE_URL", sim.base_url())
        .env("SALESLOFT_API_KEY", "ak-wrong-key-do-not-print-1234");
    let (code, stdout, stderr) = run(command).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    let report = json(&stdout);
    let me = &report["checks"][0];
    assert_eq!(me["passed"], false);
    assert_eq!(me["reached"], true);
    assert!(me["detail"].as_str().expect("detail").contains("SALESLOFT_API_KEY"), "{me}");
    assert!(!stdout.contains("do-not-print") && !stderr.contains("do-not-print"), "{stdout}{stderr}");
}

#[tokio::test]
async fn an_unhealthy_gateway_fails_with_its_reasons() {
    let sim = sim(1).await;
    let health = health_server(503, r#"{"status":"degraded","reasons":["SalesLoft unreachable"]}"#).await;
    let mut command = slprod();
    command
        .args(["smoke", "--health-url", &health])
        .env("SALESLOFT_BASE_URL", sim.base_url())
        .env("SALESLOFT_API_KEY", sim.api_key());
    let (code, stdout, stderr) = run(command).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("FAIL GET /health") && stdout.contains("SalesLoft unreachable"), "{stdout}");
}

#[tokio::test]
async fn nothing_reachable_is_exit_2() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut command = slprod();
    command
        .args(["smoke", "--timeout", "2s"])
        .env("SALESLOFT_BASE_URL", format!("http://127.0.0.1:{port}/v2"))
        .env("SALESLOFT_API_KEY", "ak-any");
    let (code, stdout, stderr) = run(command).await;
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("nothing could be reached"), "{stderr}");
}
