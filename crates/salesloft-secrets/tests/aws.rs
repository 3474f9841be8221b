//! AWS Secrets Manager against a real moto server (`scripts/moto-test-server.sh`; research/test-peers.md §2):
//! read, rotate through the client, a stale compare-and-set through version stages, the server going down;
//! permission denied against a one-off fake answering AWS's documented `AccessDeniedException` body (moto does
//! not enforce IAM unless started in its auth mode, which would need IAM users for every other test).

mod common;

use std::sync::Arc;

use salesloft_client::transport::TokenStore;
use salesloft_secrets::aws::{AwsClient, AwsConfig, Credentials};
use salesloft_secrets::{Secret, SecretError, SecretRef, SecretTokenStore};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

fn endpoint() -> String {
    common::required("SLPROD_TEST_AWS_ENDPOINT", "moto-test-server.sh")
}

fn client_at(endpoint: String) -> Arc<AwsClient> {
    AwsClient::new(AwsConfig {
        region: "us-east-1".into(),
        endpoint,
        credentials: Some(Credentials {
            access_key_id: "testing".into(),
            secret_access_key: SecretString::from("testing".to_string()),
            session_token: None,
            expires_at: None,
        }),
    })
    .expect("client")
}

fn secret(client: &Arc<AwsClient>, id: &str, field: Option<&str>) -> Secret {
    let reference = SecretRef::AwsSm { secret_id: id.into(), field: field.map(str::to_string) };
    Secret::with_backend(reference, Arc::new(client.secret(id)))
}

#[tokio::test]
async fn reads_a_field_and_the_whole_secret() {
    let client = client_at(endpoint());
    let id = common::unique("slprod/read");
    let whole = secret(&client, &id, None);
    let empty = whole.snapshot().await.expect("read");
    assert!(empty.value.is_none() && empty.version.is_none(), "a missing secret is empty, not an error");
    whole
        .compare_and_set(&SecretString::from(r#"{"client_secret":"cs-aws-1"}"#.to_string()), &empty)
        .await
        .expect("create");
    assert_eq!(secret(&client, &id, Some("client_secret")).value().await.expect("field").expose_secret(), "cs-aws-1");
    let plain_id = common::unique("slprod/plain");
    let plain = secret(&client, &plain_id, None);
    plain.compare_and_set(&SecretString::from("just-text".to_string()), &Default::default()).await.expect("create");
    assert_eq!(plain.value().await.expect("text").expose_secret(), "just-text");
}

#[tokio::test]
async fn the_client_rotates_the_tokens_through_version_stages() {
    let (sim, expired) = common::sim_with_expired_grant().await;
    let client = client_at(endpoint());
    let secret = Arc::new(secret(&client, &common::unique("slprod/oauth"), None));
    let store = Arc::new(SecretTokenStore::new(Arc::clone(&secret), None));
    store.save(&expired).await.expect("seed (creates the secret)");
    let created = secret.snapshot().await.expect("read").version.expect("version");
    let pipeline = common::pipeline(&sim, store.clone());
    common::me(&pipeline).await.expect("refreshes and calls");
    let snapshot = secret.snapshot().await.expect("read");
    assert_ne!(snapshot.version.as_ref(), Some(&created), "AWSCURRENT moved to the new version");
    let stored = store.load().await.expect("load").expect("tokens");
    assert!(!stored.same_access_token(&expired), "the rotated set is AWSCURRENT");
    let stats = common::sim_stats(&sim).await;
    assert_eq!(
        (stats["refreshes"].as_u64(), stats["revoked_refresh_presented"].as_u64()),
        (Some(1), Some(0)),
        "{stats}"
    );
}

#[tokio::test]
async fn a_stale_compare_and_set_is_rejected() {
    let client = client_at(endpoint());
    let secret = secret(&client, &common::unique("slprod/cas"), Some("v"));
    let empty = secret.snapshot().await.expect("read");
    let first = secret.compare_and_set(&SecretString::from("one".to_string()), &empty).await.expect("create");
    let second =
        secret.compare_and_set(&SecretString::from("two".to_string()), &first).await.expect("over the version read");
    let stale = secret.compare_and_set(&SecretString::from("three".to_string()), &first).await.expect_err("stale");
    assert!(matches!(stale, SecretError::Conflict { .. }), "{stale:?}");
    let recreate = secret.compare_and_set(&SecretString::from("four".to_string()), &empty).await.expect_err("exists");
    assert!(matches!(recreate, SecretError::Conflict { .. }), "{recreate:?}");
    let now = secret.snapshot().await.expect("read");
    assert_eq!(now.value.expect("value").expose_secret(), "two", "the loser's value never became AWSCURRENT");
    assert_eq!(now.version, second.version);
}

#[tokio::test]
async fn server_down_is_a_clear_error_and_the_rotated_token_is_kept_then_saved() {
    let (sim, expired) = common::sim_with_expired_grant().await;
    let relay = common::Relay::start(common::socket_of(&endpoint())).await;
    let client = client_at(relay.url());
    let id = common::unique("slprod/down");
    let secret = Arc::new(secret(&client, &id, None));
    let inner = Arc::new(SecretTokenStore::new(Arc::clone(&secret), None));
    inner.save(&expired).await.expect("seed");
    let store = Arc::new(common::CutOnSave::new(Arc::clone(&inner), relay));
    let pipeline = common::pipeline(&sim, store.clone());
    common::me(&pipeline).await.expect("the new set is used although its save failed");
    let error = secret.snapshot().await.expect_err("down");
    assert!(matches!(error, SecretError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains(&format!("aws-sm:{id}")), "{error}");
    assert_eq!(common::sim_stats(&sim).await["refreshes"], json!(1));
    store.relay.restore();
    common::save_pending(&pipeline).await;
    let stored = inner.load().await.expect("load").expect("tokens");
    assert!(!stored.same_access_token(&expired), "the set held in memory was saved, not lost");
}

#[tokio::test]
async fn permission_denied_names_the_secret_not_the_value() {
    // AWS's answer to a caller without secretsmanager:GetSecretValue (HTTP 400, JSON 1.1 error shape).
    let app = axum::Router::new().fallback(|| async {
        (
            http::StatusCode::BAD_REQUEST,
            [("content-type", "application/x-amz-json-1.1")],
            json!({
                "__type": "AccessDeniedException",
                "Message": "User: arn:aws:iam::123456789012:user/slprod is not authorized to perform: \
                            secretsmanager:GetSecretValue on resource: slprod/denied because no identity-based policy allows it"
            })
            .to_string(),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = client_at(format!("http://{addr}"));
    let error = secret(&client, "slprod/denied", Some("f")).value().await.expect_err("denied");
    assert!(matches!(error, SecretError::PermissionDenied { operation: "read", .. }), "{error:?}");
    assert!(error.to_string().contains("aws-sm:slprod/denied"), "{error}");
    assert!(!error.to_string().contains("testing"), "no credential in the error: {error}");
    let _: Value = Value::Null;
}

#[tokio::test]
async fn a_secret_created_without_a_value_takes_its_first_value() {
    let client = client_at(endpoint());
    let id = common::unique("slprod/empty");
    // Infrastructure code creates the secret without a value (moto checks no signature: research/test-peers.md
    // §2); `slprod auth login` then writes the first one.
    let response = reqwest::Client::new()
        .post(format!("{}/", endpoint()))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "secretsmanager.CreateSecret")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=x",
        )
        .body(json!({"Name": id}).to_string())
        .send()
        .await
        .expect("moto");
    assert!(response.status().is_success(), "{}", response.text().await.unwrap_or_default());
    let secret = secret(&client, &id, Some("v"));
    let empty = secret.snapshot().await.expect("read");
    assert!(empty.version.is_none(), "no value yet");
    secret.compare_and_set(&SecretString::from("first".to_string()), &empty).await.expect("the first value");
    assert_eq!(secret.value().await.expect("read").expose_secret(), "first");
    let again =
        secret.compare_and_set(&SecretString::from("second".to_string()), &empty).await.expect_err("has a value now");
    assert!(matches!(again, SecretError::Conflict { .. }), "{again:?}");
}
