//! Issue 11's race: three `slprod serve` replicas share one OAuth connection whose tokens live in a secret
//! manager (Vault / OpenBao, then AWS Secrets Manager on moto), against the simulator, which revokes every
//! older refresh token on each refresh (FACTS.md §1.3). The access token expires every 2 seconds while the
//! replicas are under load, so all three want to refresh at about the same moment, again and again.
//!
//! What must hold: each token generation is refreshed exactly once (a second refresh of a generation would
//! present a refresh token the first one revoked: the simulator counts those), no request is refused (no
//! expired or revoked token presented), every refresh is written back (one secret version per refresh), and
//! the secret ends holding the newest set (its refresh token is the grant's live one). The replicas lock per
//! connection with a store lease on PostgreSQL, as replicas on several hosts would. Real processes and real
//! seconds, no asserted durations.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use salesloft_client::transport::TokenStore;
use salesloft_secrets::{Secret, SecretBackend, SecretRef, SecretTokenStore};
use salesloft_sim::{RunningSim, SimConfig, Simulator};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

const REPLICAS: usize = 3;
const WORKERS_PER_REPLICA: usize = 4;
/// Long enough for several 2-second token generations.
const LOAD_FOR: Duration = Duration::from_secs(9);

/// Where the tokens live, and the environment that reaches it.
struct Manager {
    reference: String,
    env: Vec<(&'static str, String)>,
    backend: Arc<dyn SecretBackend>,
}

fn required(name: &str, script: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{name} is not set: this test needs a real server and never skips. Run `eval \"$(scripts/{script} start)\"`."
        ),
    }
}

fn vault() -> Manager {
    let addr = required("SLPROD_TEST_VAULT_ADDR", "bao-test-server.sh");
    let token = required("SLPROD_TEST_VAULT_TOKEN", "bao-test-server.sh");
    let path = format!("slprod/race-{}", uuid::Uuid::new_v4().simple());
    let client = salesloft_secrets::vault::VaultClient::new(salesloft_secrets::vault::VaultConfig {
        addr: addr.clone(),
        auth: salesloft_secrets::vault::VaultAuth::Token(SecretString::from(token.clone())),
        namespace: None,
    })
    .expect("vault client");
    Manager {
        reference: format!("vault:secret/{path}#tokens"),
        env: vec![("VAULT_ADDR", addr), ("VAULT_TOKEN", token)],
        backend: Arc::new(client.secret("secret", &path)),
    }
}

fn aws() -> Manager {
    let endpoint = required("SLPROD_TEST_AWS_ENDPOINT", "moto-test-server.sh");
    let id = format!("slprod/race-{}", uuid::Uuid::new_v4().simple());
    let client = salesloft_secrets::aws::AwsClient::new(salesloft_secrets::aws::AwsConfig {
        region: "us-east-1".into(),
        endpoint: endpoint.clone(),
        credentials: Some(salesloft_secrets::aws::Credentials {
            access_key_id: "testing".into(),
            secret_access_key: SecretString::from("testing".to_string()),
            session_token: None,
            expires_at: None,
        }),
    })
    .expect("aws client");
    Manager {
        reference: format!("aws-sm:{id}"),
        env: vec![
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ],
        backend: Arc::new(client.secret(&id)),
    }
}

fn start_replica(sim: &RunningSim, manager: &Manager, store: &str, config: &std::path::Path) -> (Child, String) {
    let mut command = support::slprod();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--insecure-dev", "--store", store, "--config"])
        .arg(config)
        .args(["--oauth-tokens-ref", &manager.reference])
        .env("SALESLOFT_BASE_URL", sim.base_url())
        .env("SALESLOFT_OAUTH_CLIENT_ID", "sim-client")
        .env("SALESLOFT_OAUTH_CLIENT_SECRET", "sim-secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in &manager.env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("slprod serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the listening line");
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (child, url.to_string())
}

async fn race(manager: Manager) {
    let sim = Simulator::start(SimConfig {
        seed_people: 10,
        budget_per_minute: 1_000_000,
        access_token_lifetime: Duration::from_secs(2),
        ..SimConfig::default()
    })
    .await
    .expect("the simulator starts");
    let minted: Value = reqwest::Client::new()
        .post(format!("{}/__sim/tokens", sim.root_url()))
        .json(&json!({"client_id": "sim-client", "expires_in": 2}))
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("token JSON");
    let now = support::unix_now();
    let seed = salesloft_client::transport::TokenSet {
        access_token: SecretString::from(minted["access_token"].as_str().expect("access").to_string()),
        refresh_token: Some(SecretString::from(minted["refresh_token"].as_str().expect("refresh").to_string())),
        expires_at: Some(now + 2),
        issued_at: Some(now),
        scope: None,
    };
    let reference: SecretRef = manager.reference.parse().expect("reference");
    let secret = Arc::new(Secret::with_backend(reference, Arc::clone(&manager.backend)));
    let seeded = SecretTokenStore::new(Arc::clone(&secret), None);
    seeded.save(&seed).await.expect("seed the secret");

    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("slprod.toml");
    std::fs::write(&config, "[budget]\ncost_per_minute = 1000000\n").expect("config");
    let store = salesloft_testkit::pg::fresh_store_url();
    let replicas: Vec<(Child, String)> =
        (0..REPLICAS).map(|_| start_replica(&sim, &manager, &store, &config)).collect();

    let http = reqwest::Client::builder().no_proxy().build().expect("client");
    let answered = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(std::sync::Mutex::new(Vec::new()));
    let deadline = tokio::time::Instant::now() + LOAD_FOR;
    let mut workers = Vec::new();
    for (_, url) in &replicas {
        for _ in 0..WORKERS_PER_REPLICA {
            let (http, url, answered, refused) = (http.clone(), url.clone(), answered.clone(), refused.clone());
            workers.push(tokio::spawn(async move {
                while tokio::time::Instant::now() < deadline {
                    match http.get(format!("{url}/v2/me")).send().await {
                        Ok(response) if response.status().is_success() => {
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(response) => {
                            let status = response.status();
                            let body = response.text().await.unwrap_or_default();
                            refused.lock().expect("lock").push(format!("{status} {body}"));
                        }
                        Err(error) => refused.lock().expect("lock").push(error.to_string()),
                    }
                }
            }));
        }
    }
    for worker in workers {
        worker.await.expect("worker");
    }
    let health: Vec<Value> = futures::future::join_all(replicas.iter().map(|(_, url)| {
        let http = http.clone();
        let url = url.clone();
        async move {
            http.get(format!("{url}/health")).send().await.expect("health").json::<Value>().await.unwrap_or(Value::Null)
        }
    }))
    .await;
    for (mut child, _) in replicas {
        let _ = child.kill();
        let _ = child.wait();
    }

    let stats: Value =
        reqwest::get(format!("{}/__sim/stats", sim.root_url())).await.expect("stats").json().await.expect("json");
    let refused = refused.lock().expect("lock").clone();
    eprintln!(
        "{}: {} requests answered, {} refused, stats {stats}",
        manager.reference,
        answered.load(Ordering::SeqCst),
        refused.len()
    );
    assert!(refused.is_empty(), "{} requests refused, first: {:?}; stats {stats}", refused.len(), refused.first());
    assert!(answered.load(Ordering::SeqCst) > 100, "under load: {} answered", answered.load(Ordering::SeqCst));
    let refreshes = stats["refreshes"].as_u64().expect("refreshes");
    assert!(refreshes >= 3, "several generations expired during the load: {refreshes} refreshes; stats {stats}");
    assert_eq!(stats["revoked_refresh_presented"], json!(0), "a generation was refreshed twice: stats {stats}");
    assert_eq!(
        stats["by_route"]["POST /oauth/token"],
        json!(refreshes),
        "every call to the token endpoint was a successful refresh (no invalid_grant): stats {stats}"
    );
    assert_eq!(stats["by_status"]["401"], Value::Null, "a request presented an expired or revoked token: {stats}");
    for answer in &health {
        assert_eq!(
            answer["oauth"]["needs_reauthorization"],
            json!(false),
            "no replica reports that the connection needs re-authorisation: {answer}"
        );
    }

    // The secret holds the newest set: its refresh token is the grant's live one (an older one is revoked).
    let stored = seeded.load().await.expect("load").expect("tokens");
    let refreshed = reqwest::Client::new()
        .post(format!("{}/oauth/token", sim.root_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", stored.refresh_token.as_ref().expect("refresh token").expose_secret()),
            ("client_id", "sim-client"),
            ("client_secret", "sim-secret"),
        ])
        .send()
        .await
        .expect("token endpoint");
    assert!(refreshed.status().is_success(), "the stored refresh token is the newest: {}", refreshed.status());
    if manager.reference.starts_with("vault:") {
        // One KV version per refresh, plus the seed: every rotated set was written back, none twice.
        let version = secret.snapshot().await.expect("read").version.expect("version");
        assert_eq!(version.0, (refreshes + 1).to_string(), "one write per refresh; stats {stats}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_rotating_through_vault_refresh_each_generation_once() {
    race(vault()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_rotating_through_aws_secrets_manager_refresh_each_generation_once() {
    race(aws()).await;
}
