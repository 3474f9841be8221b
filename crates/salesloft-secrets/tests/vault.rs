//! Vault KV v2 against a real OpenBao server (`scripts/bao-test-server.sh`; research/test-peers.md §3): read,
//! rotate through the client, a stale compare-and-set, the server going down, permission denied, AppRole.

mod common;

use std::sync::Arc;

use salesloft_client::transport::TokenStore;
use salesloft_secrets::vault::{VaultAuth, VaultClient, VaultConfig};
use salesloft_secrets::{Secret, SecretBackend, SecretError, SecretRef, SecretTokenStore};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

fn addr() -> String {
    common::required("SLPROD_TEST_VAULT_ADDR", "bao-test-server.sh")
}

fn root_token() -> SecretString {
    SecretString::from(common::required("SLPROD_TEST_VAULT_TOKEN", "bao-test-server.sh"))
}

fn client_at(addr: String, token: SecretString) -> Arc<VaultClient> {
    VaultClient::new(VaultConfig { addr, auth: VaultAuth::Token(token), namespace: None }).expect("client")
}

fn secret(client: &Arc<VaultClient>, path: &str, field: Option<&str>) -> Secret {
    let reference = SecretRef::Vault { mount: "secret".into(), path: path.into(), field: field.map(str::to_string) };
    Secret::with_backend(reference, Arc::new(client.secret("secret", path)))
}

/// A raw call to the server with the root token.
async fn root_call(method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .request(method, format!("{}/v1/{path}", addr()))
        .header("X-Vault-Token", root_token().expose_secret())
        .json(&body)
        .send()
        .await
        .expect("vault reachable");
    let status = response.status();
    let text = response.text().await.expect("body");
    assert!(
        status.is_success() || status.as_u16() == 204 || text.contains("already in use"),
        "{path}: {status} {text}"
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test]
async fn reads_a_field_and_the_whole_secret() {
    let path = common::unique("slprod/read");
    root_call(
        reqwest::Method::POST,
        &format!("secret/data/{path}"),
        json!({"data": {"client_secret": "cs-read-1", "n": 2}}),
    )
    .await;
    let client = client_at(addr(), root_token());
    let field = secret(&client, &path, Some("client_secret"));
    assert_eq!(field.value().await.expect("field").expose_secret(), "cs-read-1");
    let whole: Value =
        serde_json::from_str(secret(&client, &path, None).value().await.expect("whole").expose_secret()).expect("json");
    assert_eq!(whole, json!({"client_secret": "cs-read-1", "n": 2}));
    let missing = secret(&client, &path, Some("absent")).value().await.expect_err("no such field");
    assert!(matches!(missing, SecretError::NotFound { .. }), "{missing:?}");
    let none = secret(&client, &common::unique("slprod/none"), None).snapshot().await.expect("read");
    assert!(none.value.is_none() && none.version.is_none(), "a missing secret is empty, not an error");
}

#[tokio::test]
async fn the_client_rotates_the_tokens_into_vault_with_compare_and_set() {
    let (sim, expired) = common::sim_with_expired_grant().await;
    let client = client_at(addr(), root_token());
    let path = common::unique("slprod/oauth");
    let secret = Arc::new(secret(&client, &path, Some("tokens")));
    let store = Arc::new(SecretTokenStore::new(Arc::clone(&secret), None));
    store.save(&expired).await.expect("seed (creates the secret)");
    let pipeline = common::pipeline(&sim, store.clone());
    common::me(&pipeline).await.expect("refreshes and calls");
    let stored = store.load().await.expect("load").expect("tokens");
    assert!(!stored.same_access_token(&expired), "the rotated set is in Vault");
    let snapshot = secret.snapshot().await.expect("snapshot");
    assert_eq!(snapshot.version.map(|v| v.0), Some("2".into()), "created at 1, rotated to 2");
    let stats = common::sim_stats(&sim).await;
    assert_eq!(
        (stats["refreshes"].as_u64(), stats["revoked_refresh_presented"].as_u64()),
        (Some(1), Some(0)),
        "{stats}"
    );
}

#[tokio::test]
async fn a_stale_compare_and_set_is_rejected() {
    let client = client_at(addr(), root_token());
    let secret = secret(&client, &common::unique("slprod/cas"), Some("v"));
    let empty = secret.snapshot().await.expect("read");
    let first = secret.compare_and_set(&SecretString::from("one".to_string()), &empty).await.expect("create");
    secret.compare_and_set(&SecretString::from("two".to_string()), &first).await.expect("write over the version read");
    let stale = secret.compare_and_set(&SecretString::from("three".to_string()), &first).await.expect_err("stale");
    assert!(matches!(stale, SecretError::Conflict { .. }), "{stale:?}");
    let recreate = secret.compare_and_set(&SecretString::from("four".to_string()), &empty).await.expect_err("exists");
    assert!(matches!(recreate, SecretError::Conflict { .. }), "{recreate:?}");
    assert_eq!(secret.snapshot().await.expect("read").value.expect("value").expose_secret(), "two");
}

#[tokio::test]
async fn server_down_is_a_clear_error_and_the_rotated_token_is_kept_then_saved() {
    let (sim, expired) = common::sim_with_expired_grant().await;
    let relay = common::Relay::start(common::socket_of(&addr())).await;
    let client = client_at(relay.url(), root_token());
    let path = common::unique("slprod/down");
    let secret = Arc::new(secret(&client, &path, Some("tokens")));
    let store = Arc::new(SecretTokenStore::new(Arc::clone(&secret), None));
    store.save(&expired).await.expect("seed");
    let pipeline = common::pipeline(&sim, store.clone());
    // The first call loads the store, then Vault goes down before the refreshed set is saved: with the
    // relay cut, the refresh's re-read fails, so the call fails without spending the refresh token.
    relay.cut().await;
    let error = common::me(&pipeline).await.expect_err("the store is unreachable");
    let text = error.to_string();
    assert!(text.contains(&format!("vault:secret/{path}")) && text.contains("unreachable"), "{text}");
    assert_eq!(common::sim_stats(&sim).await["refreshes"], json!(0), "no refresh without a readable store");
    let direct = secret.snapshot().await.expect_err("down");
    assert!(matches!(direct, SecretError::Unreachable { .. }), "{direct:?}");
    relay.restore();
    common::me(&pipeline).await.expect("back up: refreshes and saves");
    let rotated = store.load().await.expect("load").expect("tokens");
    assert!(!rotated.same_access_token(&expired), "the rotated set reached Vault");
    assert!(!text.contains(expired.access_token.expose_secret()), "no token in the error: {text}");
}

#[tokio::test]
async fn a_save_that_fails_while_vault_is_down_keeps_the_new_set_in_memory_until_it_lands() {
    let (sim, expired) = common::sim_with_expired_grant().await;
    let relay = common::Relay::start(common::socket_of(&addr())).await;
    let client = client_at(relay.url(), root_token());
    let secret = Arc::new(secret(&client, &common::unique("slprod/keep"), None));
    let inner = Arc::new(SecretTokenStore::new(Arc::clone(&secret), None));
    inner.save(&expired).await.expect("seed");
    // Vault goes down between the token endpoint's answer and the save: the store cuts the relay when the
    // client saves.
    let store = Arc::new(common::CutOnSave::new(Arc::clone(&inner), relay));
    let pipeline = common::pipeline(&sim, store.clone());
    common::me(&pipeline).await.expect("the new set is used although its save failed");
    common::me(&pipeline).await.expect("and again, without another refresh");
    let stats = common::sim_stats(&sim).await;
    assert_eq!(stats["refreshes"], json!(1), "{stats}");
    store.relay.restore();
    common::save_pending(&pipeline).await;
    let stored = inner.load().await.expect("load").expect("tokens");
    assert!(!stored.same_access_token(&expired), "the set held in memory was saved, not lost");
}

#[tokio::test]
async fn permission_denied_names_the_path_not_the_value() {
    let path = common::unique("slprod/denied");
    root_call(reqwest::Method::POST, &format!("secret/data/{path}"), json!({"data": {"v": "value-never-shown"}})).await;
    let created =
        root_call(reqwest::Method::POST, "auth/token/create", json!({"policies": ["default"], "ttl": "1h"})).await;
    let token = created["auth"]["client_token"].as_str().expect("token").to_string();
    let client = client_at(addr(), SecretString::from(token.clone()));
    let error = secret(&client, &path, Some("v")).value().await.expect_err("denied");
    assert!(matches!(error, SecretError::PermissionDenied { operation: "read", .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains(&format!("vault:secret/{path}")), "names the path: {text}");
    assert!(!text.contains("value-never-shown") && !text.contains(&token), "{text}");
    let backend = client.secret("secret", &path);
    let write =
        backend.compare_and_set(&SecretString::from(r#"{"v":"x"}"#.to_string()), None).await.expect_err("denied");
    assert!(matches!(write, SecretError::PermissionDenied { operation: "write", .. }), "{write:?}");
}

#[tokio::test]
async fn approle_logs_in_and_reads() {
    root_call(reqwest::Method::POST, "sys/auth/approle", json!({"type": "approle"})).await;
    root_call(
        reqwest::Method::POST,
        "sys/policy/slprod-test-rw",
        json!({"policy": "path \"secret/data/slprod/*\" { capabilities = [\"create\", \"read\", \"update\"] }"}),
    )
    .await;
    root_call(
        reqwest::Method::POST,
        "auth/approle/role/slprod-test",
        json!({"token_policies": ["slprod-test-rw"], "token_ttl": "1h", "token_max_ttl": "2h"}),
    )
    .await;
    let role_id =
        root_call(reqwest::Method::GET, "auth/approle/role/slprod-test/role-id", Value::Null).await["data"]["role_id"]
            .as_str()
            .expect("role id")
            .to_string();
    let secret_id = root_call(reqwest::Method::POST, "auth/approle/role/slprod-test/secret-id", json!({})).await["data"]["secret_id"]
        .as_str()
        .expect("secret id")
        .to_string();
    let client = VaultClient::new(VaultConfig {
        addr: addr(),
        auth: VaultAuth::AppRole { role_id, secret_id: SecretString::from(secret_id), mount: "approle".into() },
        namespace: None,
    })
    .expect("client");
    let secret = secret(&client, &common::unique("slprod/approle"), Some("k"));
    let empty = secret.snapshot().await.expect("read through AppRole");
    secret.compare_and_set(&SecretString::from("approle-value".to_string()), &empty).await.expect("write");
    assert_eq!(secret.value().await.expect("read").expose_secret(), "approle-value");
    // Every AppRole token is revoked behind the client's back: the next call is refused with 403, logs in again
    // and succeeds.
    root_call(reqwest::Method::PUT, "sys/leases/revoke-prefix/auth/approle", json!({})).await;
    let read = secret.snapshot().await.expect("logged in again after the 403");
    assert_eq!(read.value.expect("value").expose_secret(), "approle-value");
}

#[tokio::test]
async fn a_token_with_a_ttl_is_renewed_once_two_thirds_of_it_have_passed() {
    let created =
        root_call(reqwest::Method::POST, "auth/token/create", json!({"policies": ["default"], "ttl": "1h"})).await;
    let token = created["auth"]["client_token"].as_str().expect("token").to_string();
    let clock = salesloft_client::clock::ManualClock::new();
    let client = VaultClient::with_clock(
        VaultConfig { addr: addr(), auth: VaultAuth::Token(SecretString::from(token.clone())), namespace: None },
        clock.shared(),
    )
    .expect("client");
    let renewals = || async {
        let looked = root_call(reqwest::Method::POST, "auth/token/lookup", json!({"token": token})).await;
        looked["data"]["last_renewal_time"].clone()
    };
    // The default policy may not read secret/, so the reads are denied; what matters is the token's schedule.
    let probe = secret(&client, &common::unique("slprod/renew"), None);
    let _ = probe.snapshot().await;
    assert_eq!(renewals().await, Value::Null, "not renewed at first use");
    clock.advance(std::time::Duration::from_secs(2_300));
    let _ = probe.snapshot().await;
    assert_eq!(renewals().await, Value::Null, "not renewed before two thirds of the hour");
    clock.advance(std::time::Duration::from_secs(120));
    let _ = probe.snapshot().await;
    assert!(renewals().await.as_u64().is_some_and(|t| t > 0), "renewed after two thirds of the hour");
}
