//! No token or secret reaches the logs or `Debug`: a rotation through Vault, a save that fails while Vault is
//! down (logged as an error and retried), a permission-denied read, and `Debug` of every type that holds a
//! secret — with both crates logging at TRACE. Values are `SecretString`s and errors name references only.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use salesloft_client::transport::TokenStore;
use salesloft_secrets::vault::{VaultAuth, VaultClient, VaultConfig};
use salesloft_secrets::{Secret, SecretRef, SecretTokenStore};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn vault_token(policy_paths: &str) -> String {
    let addr = common::required("SLPROD_TEST_VAULT_ADDR", "bao-test-server.sh");
    let root = common::required("SLPROD_TEST_VAULT_TOKEN", "bao-test-server.sh");
    let http = reqwest::Client::new();
    let policy = format!("path \"{policy_paths}\" {{ capabilities = [\"create\", \"read\", \"update\"] }}");
    let put = http
        .post(format!("{addr}/v1/sys/policy/slprod-logs"))
        .header("X-Vault-Token", &root)
        .json(&json!({"policy": policy}))
        .send()
        .await
        .expect("policy");
    assert!(put.status().is_success(), "policy: {}", put.status());
    let created: Value = http
        .post(format!("{addr}/v1/auth/token/create"))
        .header("X-Vault-Token", &root)
        .json(&json!({"policies": ["slprod-logs"], "ttl": "1h"}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    created["auth"]["client_token"].as_str().expect("client token").to_string()
}

#[tokio::test]
async fn rotation_failures_and_denials_log_no_secret() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("salesloft_client=trace,salesloft_secrets=trace,no_secret_in_logs=trace")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let addr = common::required("SLPROD_TEST_VAULT_ADDR", "bao-test-server.sh");
    let token = vault_token("secret/data/slprod/logs-*").await;
    let (sim, expired) = common::sim_with_expired_grant().await;
    let relay = common::Relay::start(common::socket_of(&addr)).await;
    let client = VaultClient::new(VaultConfig {
        addr: relay.url(),
        auth: VaultAuth::Token(SecretString::from(token.clone())),
        namespace: None,
    })
    .expect("client");
    let path = common::unique("slprod/logs");
    let reference = SecretRef::Vault { mount: "secret".into(), path: path.clone(), field: Some("tokens".into()) };
    let secret = Arc::new(Secret::with_backend(reference, Arc::new(client.secret("secret", &path))));
    let inner = Arc::new(SecretTokenStore::new(Arc::clone(&secret), None));
    inner.save(&expired).await.expect("seed");
    let store = Arc::new(common::CutOnSave::new(Arc::clone(&inner), relay));
    let pipeline = common::pipeline(&sim, store.clone());
    common::me(&pipeline).await.expect("rotated; the save fails and is retried");
    store.relay.restore();
    common::save_pending(&pipeline).await;
    let rotated = inner.load().await.expect("load").expect("tokens");

    let denied_path = common::unique("slprod/elsewhere");
    let denied = Secret::with_backend(
        SecretRef::Vault { mount: "secret".into(), path: denied_path.clone(), field: None },
        Arc::new(client.secret("secret", &denied_path)),
    );
    let error = denied.value().await.expect_err("outside the policy");
    tracing::warn!(%error, ?error, "denied");
    let approle = VaultConfig {
        addr: addr.clone(),
        auth: VaultAuth::AppRole {
            role_id: "role".into(),
            secret_id: SecretString::from("sid-never-shown".to_string()),
            mount: "approle".into(),
        },
        namespace: None,
    };
    tracing::info!(?client, ?approle, ?secret, ?inner, snapshot = ?secret.snapshot().await.expect("read"), ?rotated, "debug of everything");

    let logs = buffer.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let logs = String::from_utf8_lossy(&logs);
    assert!(logs.contains("could not save the rotated SalesLoft tokens"), "the failed save was logged: {logs}");
    assert!(logs.contains(&format!("vault:secret/{denied_path}")), "the denial names the path: {logs}");
    assert!(logs.contains("debug of everything") && logs.contains("REDACTED"), "the Debug line was logged: {logs}");
    let secrets = [
        expired.access_token.expose_secret().to_string(),
        expired.refresh_token.as_ref().expect("refresh").expose_secret().to_string(),
        rotated.access_token.expose_secret().to_string(),
        rotated.refresh_token.as_ref().expect("refresh").expose_secret().to_string(),
        token,
        "sid-never-shown".to_string(),
        "sim-secret".to_string(),
    ];
    for value in secrets {
        assert!(!logs.contains(&value), "a secret reached the logs: {logs}");
    }
}
