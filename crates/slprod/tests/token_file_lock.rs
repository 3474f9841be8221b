//! Issue 7 item 2: processes sharing one OAuth token file never refresh the grant at once.
//!
//! Four `slprod pull` processes start together with one token file whose access token lives 2 seconds, and
//! each pull outlasts it (every page is slowed down), so all four want to refresh at about the same moment.
//! SalesLoft revokes every older refresh token of the grant on each refresh (FACTS.md §1.3): without a
//! cross-process lock around load → refresh → save, two of them present the same refresh token and one gets
//! `invalid_grant`. Every pull must finish and the simulator must never see a revoked refresh token. This is a
//! real-process test: it takes a few real seconds but asserts no durations.

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use salesloft_sim::{SimConfig, Simulator};
use serde_json::{Value, json};

const PROCESSES: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_pulls_sharing_a_token_file_all_finish_without_presenting_a_revoked_refresh_token() {
    let config = SimConfig {
        seed_people: 1_000,
        budget_per_minute: 1_000_000,
        access_token_lifetime: Duration::from_secs(2),
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).await.expect("the simulator starts");
    let control = reqwest::Client::new();
    let root = sim.root_url().to_string();
    // Every page takes 300 ms: ten pages outlast the 2-second token, at least once. The token endpoint takes
    // 200 ms, so refreshes that start within that window overlap.
    for fault in [
        json!({"method": "GET", "path": "/v2/people", "latency_ms": 300}),
        json!({"method": "POST", "path": "/oauth/token", "latency_ms": 200}),
    ] {
        let status = control.post(format!("{root}/__sim/faults")).json(&fault).send().await.expect("fault").status();
        assert!(status.is_success(), "fault rule refused: {status}");
    }
    let minted: Value = control
        .post(format!("{root}/__sim/tokens"))
        .json(&json!({"client_id": "sim-client", "expires_in": 2}))
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("token JSON");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("tokens.json");
    let tokens = json!({
        "access_token": minted["access_token"],
        "refresh_token": minted["refresh_token"],
        "expires_at": now + 2,
        "issued_at": now,
    });
    std::fs::write(&token_file, tokens.to_string()).expect("token file");

    let binary = env!("CARGO_BIN_EXE_slprod");
    let children: Vec<_> = (0..PROCESSES)
        .map(|n| {
            Command::new(binary)
                .args(["pull", "people", "--out"])
                .arg(dir.path().join(format!("people-{n}.jsonl")))
                .arg("--store")
                .arg(format!("sqlite://{}", dir.path().join(format!("store-{n}.sqlite")).display()))
                .arg("--oauth-token-file")
                .arg(&token_file)
                .env("SALESLOFT_BASE_URL", sim.base_url())
                .env("SALESLOFT_CLIENT_ID", "sim-client")
                .env("SALESLOFT_CLIENT_SECRET", "sim-secret")
                .env_remove("SALESLOFT_API_KEY")
                .env_remove("SALESLOFT_OAUTH_TOKEN_URL")
                .env("RUST_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("slprod starts")
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children.into_iter().map(|child| child.wait_with_output().expect("slprod runs")).collect::<Vec<_>>()
    })
    .await
    .expect("join");

    for (n, output) in outputs.iter().enumerate() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "pull {n} failed:\n{stderr}");
        let lines =
            std::fs::read_to_string(dir.path().join(format!("people-{n}.jsonl"))).expect("output").lines().count();
        assert_eq!(lines, 1_000, "pull {n} wrote every person");
    }
    let stats: Value =
        control.get(format!("{root}/__sim/stats")).send().await.expect("stats").json().await.expect("stats JSON");
    assert!(stats["refreshes"].as_u64().unwrap_or(0) >= 1, "the token was refreshed during the pulls: {stats}");
    assert_eq!(stats["revoked_refresh_presented"], json!(0), "no revoked refresh token was presented: {stats}");
    // A 401 can happen (the 300 ms page latency comes before the simulator's token check, so a token can
    // expire in flight); the client refreshes and repeats the call.
    assert!(dir.path().join("tokens.json.lock").exists(), "the sibling lock file was used");
}
