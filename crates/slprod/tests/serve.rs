//! `slprod serve` end to end: the binary in front of an in-process simulator — the one `listening on` line,
//! the refusal to start without credentials, tokens and secrets from the environment (comma-separated), and
//! a clean exit 0 on SIGTERM.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Stdio};

use serde_json::json;

/// A started gateway: the child, the rest of its stdout, and the first line it printed.
async fn start(mut command: std::process::Command) -> (Child, BufReader<ChildStdout>, String) {
    tokio::task::spawn_blocking(move || {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("slprod starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("a line");
        (child, stdout, line)
    })
    .await
    .expect("join")
}

#[tokio::test]
async fn serve_refuses_to_start_without_an_internal_token_or_webhook_secret_and_says_so() {
    let sim = support::sim(1).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut command = support::slprod_for(&sim, &support::sqlite_url(dir.path()));
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    let (code, stdout, stderr) = support::run(command).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "nothing listens: {stdout}");
    assert!(stderr.contains("internal token") && stderr.contains("--insecure-dev"), "{stderr}");
}

#[tokio::test]
async fn serve_prints_one_line_proxies_with_env_tokens_and_stops_cleanly_on_sigterm() {
    let sim = support::sim(3).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut command = support::slprod_for(&sim, &support::sqlite_url(dir.path()));
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SLPROD_INTERNAL_TOKEN", "tok-old,tok-new")
        .env("SLPROD_WEBHOOK_SECRET", "wh-old,wh-new")
        .env("SLPROD_ADMIN_TOKEN", "adm")
        // Every log line, so the check below that no token or secret is logged means something.
        .env("RUST_LOG", "debug");
    let (child, mut stdout, line) = start(command).await;
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("the one line: {line:?}")).to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let store = salesloft_store::open(&support::sqlite_url(dir.path())).await.expect("store");
    let minute = std::time::Duration::from_secs(60);
    let (window_before, _) = store.budget().current(sim.base_url(), minute).await.expect("budget");
    let http = reqwest::Client::new();
    let ready = http.get(format!("{url}/ready")).send().await.expect("ready");
    assert_eq!(ready.status(), 200);
    for token in ["tok-old", "tok-new"] {
        let me = http.get(format!("{url}/v2/me")).bearer_auth(token).send().await.expect("proxy");
        assert_eq!(me.status(), 200, "token {token}");
    }
    let refused = http.get(format!("{url}/v2/me")).bearer_auth("adm").send().await.expect("proxy");
    assert_eq!(refused.status(), 401, "the admin token is not a proxy token");
    let body = br#"{"id":7,"updated_at":"2026-01-01T00:00:00Z"}"#;
    let delivered = http
        .post(format!("{url}/webhooks/salesloft"))
        .header("x-salesloft-event", "person_updated")
        .header("x-salesloft-signature", salesloft_gateway::auth::sign("wh-new", body))
        .body(body.to_vec())
        .send()
        .await
        .expect("webhook");
    assert_eq!(delivered.status(), 200);
    // The proxied calls were paced through the store's shared budget (unless the minute just rolled over).
    let (window_after, spent) = store.budget().current(sim.base_url(), minute).await.expect("budget");
    assert!(window_after != window_before || spent >= 2, "two calls spent from the shared budget, got {spent}");
    let pause = http.post(format!("{url}/admin/pause")).bearer_auth("adm").json(&json!({"reason": "drill"}));
    assert_eq!(pause.send().await.expect("admin").status(), 200);

    let pid = child.id().to_string();
    let (code, stderr) = tokio::task::spawn_blocking(move || {
        let mut child = child;
        let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(killed.success());
        let status = child.wait().expect("wait");
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
        assert_eq!(rest, "", "one line on standard output, nothing after it");
        (status.code().unwrap_or(-1), stderr)
    })
    .await
    .expect("join");
    assert_eq!(code, 0, "SIGTERM is a clean stop: {stderr}");
    assert!(stderr.contains("gateway serving"), "debug logs were captured: {stderr}");
    for secret in ["tok-old", "tok-new", "wh-old", "wh-new", "Bearer adm", sim.api_key()] {
        assert!(!stderr.contains(secret), "{secret:?} reached the logs:\n{stderr}");
    }

    // The pause went to the store: the switch outlives the process.
    assert_eq!(store.pause().paused().await.expect("switch").map(|p| p.reason), Some("drill".to_string()));
    assert_eq!(store.inbox().counts().await.expect("counts").pending, 1);
}
