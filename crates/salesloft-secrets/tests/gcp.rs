//! GCP Secret Manager against a fake built from the real REST shapes (no local server exists): the
//! service-account JWT exchange (the fake checks the RS256 signature with the key's public half), secrets with
//! an etag, numbered versions, `latest:access`, and Google's error bodies. Run with `--features gcp`.

#![cfg(feature = "gcp")]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine as _;
use salesloft_client::transport::TokenStore;
use salesloft_secrets::gcp::{GcpClient, GcpConfig, ServiceAccountKey};
use salesloft_secrets::{Secret, SecretError, SecretRef, SecretTokenStore};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

const PRIVATE_KEY: &str = include_str!("fixtures/test-sa-key.pem");
const PUBLIC_KEY: &[u8] = include_bytes!("fixtures/test-sa-key.pub.der");

#[derive(Default)]
struct FakeSecret {
    etag: u64,
    versions: Vec<String>,
}

#[derive(Default)]
struct Fake {
    secrets: Mutex<HashMap<String, FakeSecret>>,
    /// Access tokens issued, and whether each may write.
    tokens: Mutex<HashMap<String, bool>>,
    denied_email: Mutex<Option<String>>,
}

fn error(code: StatusCode, status: &str, message: String) -> Response {
    (code, Json(json!({"error": {"code": code.as_u16(), "message": message, "status": status}}))).into_response()
}

fn etag(n: u64) -> String {
    format!("\"{n:016x}\"")
}

async fn token(State(fake): State<Arc<Fake>>, Form(form): Form<HashMap<String, String>>) -> Response {
    let assertion = form.get("assertion").cloned().unwrap_or_default();
    let parts: Vec<&str> = assertion.split('.').collect();
    let verified = parts.len() == 3
        && base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[2]).is_ok_and(|signature| {
            aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256, PUBLIC_KEY)
                .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
                .is_ok()
        });
    if form.get("grant_type").map(String::as_str) != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") || !verified {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."})),
        )
            .into_response();
    }
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap_or_default())
            .unwrap_or(Value::Null);
    let denied = fake.denied_email.lock().unwrap().as_deref() == claims["iss"].as_str();
    let access = format!("ya29.{}", uuid::Uuid::new_v4().simple());
    fake.tokens.lock().unwrap().insert(access.clone(), !denied);
    Json(json!({"access_token": access, "expires_in": 3599, "token_type": "Bearer"})).into_response()
}

/// `None` when the bearer is unknown; `Some(allowed)` otherwise.
fn caller(fake: &Fake, headers: &HeaderMap) -> Option<bool> {
    let bearer = headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ")?;
    fake.tokens.lock().unwrap().get(bearer).copied()
}

fn denied(resource: &str, permission: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        format!("Permission '{permission}' denied for resource '{resource}' (or it may not exist)."),
    )
}

async fn secret_get(
    State(fake): State<Arc<Fake>>,
    Path((project, rest)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(allowed) = caller(&fake, &headers) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.".into(),
        );
    };
    let secrets = fake.secrets.lock().unwrap();
    if let Some(name) = rest.strip_suffix("/versions/latest:access") {
        let resource = format!("projects/{project}/secrets/{name}/versions/latest");
        if !allowed {
            return denied(&resource, "secretmanager.versions.access");
        }
        return match secrets.get(name).and_then(|s| s.versions.last().map(|v| (s.versions.len(), v))) {
            Some((number, payload)) => Json(json!({
                "name": format!("projects/{project}/secrets/{name}/versions/{number}"),
                "payload": {"data": base64::engine::general_purpose::STANDARD.encode(payload)},
            }))
            .into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("Secret [projects/{project}/secrets/{name}] not found or has no versions."),
            ),
        };
    }
    if !allowed {
        return denied(&format!("projects/{project}/secrets/{rest}"), "secretmanager.secrets.get");
    }
    match secrets.get(&rest) {
        Some(secret) => Json(json!({"name": format!("projects/{project}/secrets/{rest}"), "etag": etag(secret.etag), "replication": {"automatic": {}}})).into_response(),
        None => error(StatusCode::NOT_FOUND, "NOT_FOUND", format!("Secret [projects/{project}/secrets/{rest}] not found.")),
    }
}

async fn secret_create(
    State(fake): State<Arc<Fake>>,
    Path(project): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(allowed) = caller(&fake, &headers) else {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "no".into());
    };
    let id = query.get("secretId").cloned().unwrap_or_default();
    if !allowed {
        return denied(&format!("projects/{project}"), "secretmanager.secrets.create");
    }
    let mut secrets = fake.secrets.lock().unwrap();
    if secrets.contains_key(&id) {
        return error(
            StatusCode::CONFLICT,
            "ALREADY_EXISTS",
            format!("Secret [projects/{project}/secrets/{id}] already exists."),
        );
    }
    secrets.insert(id.clone(), FakeSecret { etag: 1, versions: Vec::new() });
    Json(json!({"name": format!("projects/{project}/secrets/{id}"), "etag": etag(1)})).into_response()
}

async fn secret_write(
    State(fake): State<Arc<Fake>>,
    Path((project, rest)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let Some(allowed) = caller(&fake, &headers) else {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "no".into());
    };
    let mut secrets = fake.secrets.lock().unwrap();
    if let Some(name) = rest.strip_suffix(":addVersion") {
        if !allowed {
            return denied(&format!("projects/{project}/secrets/{name}"), "secretmanager.versions.add");
        }
        let Some(secret) = secrets.get_mut(name) else {
            return error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("Secret [projects/{project}/secrets/{name}] not found."),
            );
        };
        let data = body["payload"]["data"].as_str().unwrap_or("");
        let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(data).unwrap_or_default())
            .unwrap_or_default();
        secret.versions.push(text);
        return Json(json!({"name": format!("projects/{project}/secrets/{name}/versions/{}", secret.versions.len()), "state": "ENABLED"})).into_response();
    }
    error(StatusCode::NOT_FOUND, "NOT_FOUND", "unknown".into())
}

async fn secret_patch(
    State(fake): State<Arc<Fake>>,
    Path((project, name)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let Some(allowed) = caller(&fake, &headers) else {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "no".into());
    };
    if !allowed {
        return denied(&format!("projects/{project}/secrets/{name}"), "secretmanager.secrets.update");
    }
    let mut secrets = fake.secrets.lock().unwrap();
    let Some(secret) = secrets.get_mut(&name) else {
        return error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Secret [projects/{project}/secrets/{name}] not found."),
        );
    };
    if body["etag"].as_str().is_some_and(|e| !e.is_empty() && e != etag(secret.etag)) {
        return error(
            StatusCode::CONFLICT,
            "ABORTED",
            "The etag provided in the request does not match the current etag of the resource.".into(),
        );
    }
    secret.etag += 1;
    Json(json!({"name": format!("projects/{project}/secrets/{name}"), "etag": etag(secret.etag)})).into_response()
}

async fn start_fake() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    let app = Router::new()
        .route("/token", post(token))
        .route("/v1/projects/{project}/secrets", post(secret_create))
        .route("/v1/projects/{project}/secrets/{*rest}", get(secret_get).post(secret_write).patch(secret_patch))
        .with_state(Arc::clone(&fake));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (fake, format!("http://{addr}"))
}

fn client(endpoint: &str, email: &str) -> Arc<GcpClient> {
    GcpClient::new(GcpConfig {
        key: ServiceAccountKey {
            client_email: email.into(),
            private_key: SecretString::from(PRIVATE_KEY.to_string()),
            token_uri: format!("{endpoint}/token"),
        },
        endpoint: endpoint.to_string(),
    })
    .expect("client")
}

fn secret(client: &Arc<GcpClient>, name: &str, field: Option<&str>) -> Secret {
    let reference = SecretRef::GcpSm { project: "p1".into(), secret: name.into(), field: field.map(str::to_string) };
    Secret::with_backend(reference, Arc::new(client.secret("p1", name)))
}

#[tokio::test]
async fn reads_rotates_and_rejects_a_stale_write() {
    let (_fake, endpoint) = start_fake().await;
    let client = client(&endpoint, "slprod@p1.iam.gserviceaccount.com");
    let secret = secret(&client, "oauth", Some("client_secret"));
    let empty = secret.snapshot().await.expect("read");
    assert!(empty.value.is_none() && empty.version.is_none());
    let first =
        secret.compare_and_set(&SecretString::from("cs-1".to_string()), &empty).await.expect("create + version 1");
    assert_eq!(secret.value().await.expect("read").expose_secret(), "cs-1");
    let read = secret.snapshot().await.expect("read");
    assert_eq!(read.version, first.version, "read back at the version written");
    secret.compare_and_set(&SecretString::from("cs-2".to_string()), &read).await.expect("version 2");
    let stale = secret.compare_and_set(&SecretString::from("cs-3".to_string()), &read).await.expect_err("stale etag");
    assert!(matches!(stale, SecretError::Conflict { .. }), "{stale:?}");
    let recreate = secret.compare_and_set(&SecretString::from("cs-4".to_string()), &empty).await.expect_err("exists");
    assert!(matches!(recreate, SecretError::Conflict { .. }), "{recreate:?}");
    assert_eq!(secret.snapshot().await.expect("read").value.expect("value").expose_secret(), "cs-2");
}

#[tokio::test]
async fn the_client_rotates_the_tokens_into_gcp() {
    let (sim, expired) = common::sim_with_expired_grant().await;
    let (_fake, endpoint) = start_fake().await;
    let client = client(&endpoint, "slprod@p1.iam.gserviceaccount.com");
    let secret = Arc::new(secret(&client, "tokens", None));
    let store = Arc::new(SecretTokenStore::new(Arc::clone(&secret), None));
    store.save(&expired).await.expect("seed");
    let pipeline = common::pipeline(&sim, store.clone());
    common::me(&pipeline).await.expect("refreshes and calls");
    assert!(!store.load().await.expect("load").expect("tokens").same_access_token(&expired));
    assert_eq!(
        secret.snapshot().await.expect("read").version.map(|v| v.0.split('|').next().unwrap_or("").to_string()),
        Some("2".into())
    );
}

#[tokio::test]
async fn server_down_and_permission_denied_are_clear_errors() {
    let (fake, endpoint) = start_fake().await;
    *fake.denied_email.lock().unwrap() = Some("reader@p1.iam.gserviceaccount.com".into());
    let owner = secret(&client(&endpoint, "slprod@p1.iam.gserviceaccount.com"), "guarded", None);
    owner.compare_and_set(&SecretString::from("guarded-value".to_string()), &Default::default()).await.expect("create");
    let error = secret(&client(&endpoint, "reader@p1.iam.gserviceaccount.com"), "guarded", None)
        .value()
        .await
        .expect_err("denied");
    assert!(matches!(error, SecretError::PermissionDenied { .. }), "{error:?}");
    assert!(
        error.to_string().contains("gcp-sm:projects/p1/secrets/guarded")
            && !error.to_string().contains("guarded-value"),
        "{error}"
    );
    let relay = common::Relay::start(common::socket_of(&endpoint)).await;
    relay.cut().await;
    let down = secret(&client(&relay.url(), "slprod@p1.iam.gserviceaccount.com"), "guarded", None)
        .value()
        .await
        .expect_err("down");
    assert!(matches!(down, SecretError::Unreachable { .. }), "{down:?}");
    let tampered = ServiceAccountKey {
        client_email: "x".into(),
        private_key: SecretString::from(
            "-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----".to_string(),
        ),
        token_uri: format!("{endpoint}/token"),
    };
    let bad = salesloft_secrets::gcp::assertion(&tampered, 0).expect_err("not a key").to_string();
    assert!(!bad.contains("not-a-key"), "{bad}");
}

#[tokio::test]
async fn a_secret_created_without_a_version_takes_its_first_value() {
    let (fake, endpoint) = start_fake().await;
    fake.secrets.lock().unwrap().insert("bare".into(), FakeSecret { etag: 7, versions: Vec::new() });
    let secret = secret(&client(&endpoint, "slprod@p1.iam.gserviceaccount.com"), "bare", None);
    let empty = secret.snapshot().await.expect("read");
    assert!(empty.version.is_none(), "no version yet");
    secret.compare_and_set(&SecretString::from("first".to_string()), &empty).await.expect("the first version");
    assert_eq!(secret.value().await.expect("read").expose_secret(), "first");
    let again =
        secret.compare_and_set(&SecretString::from("second".to_string()), &empty).await.expect_err("has one now");
    assert!(matches!(again, SecretError::Conflict { .. }), "{again:?}");
}
