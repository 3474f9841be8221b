//! Redaction has no holes (issue 7 item 8), as a property: random JSON with secrets planted at random depths,
//! under keys in random letter case and inside free text, never survives [`Redactor::redact_json`] (with or
//! without PII masking) nor [`Redactor::redact_text`] of the same JSON as text (a non-JSON error body).

mod support;

use proptest::prelude::*;
use salesloft_client::redact::{RedactionConfig, Redactor};
use support::planted::{leaked, planted_json};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn planted_secrets_and_pii_never_survive_redaction(planted in planted_json()) {
        let masked = Redactor::default().redact_json(&planted.value).to_string();
        let found = leaked(&masked, planted.secrets.iter().chain(&planted.emails).chain(&planted.personal));
        prop_assert!(found.is_none(), "leak {found:?} in {masked}");

        let clear = Redactor::new(RedactionConfig { mask_pii: false, ..RedactionConfig::default() });
        let unmasked = clear.redact_json(&planted.value).to_string();
        let found = leaked(&unmasked, &planted.secrets);
        prop_assert!(found.is_none(), "secret {found:?} in {unmasked}");

        // The same JSON as free text: what an error body that failed to parse, or was cut, looks like.
        let text = Redactor::default().redact_text(&planted.value.to_string());
        let found = leaked(&text, planted.secrets.iter().chain(&planted.emails));
        prop_assert!(found.is_none(), "leak {found:?} in {text}");
        let cut = Redactor::default().redact_text(&format!("<html>{}", planted.value));
        let found = leaked(&cut, planted.secrets.iter().chain(&planted.emails));
        prop_assert!(found.is_none(), "leak {found:?} in {cut}");
    }
}

/// What the pipeline logs and returns for a 422 whose request payload, `error` string and field messages
/// carry planted secrets, and for a non-JSON 500 body carrying them (logged on the retry, returned as the
/// error's message), sent to a path holding an email.
async fn logs_and_errors_of(planted: &support::planted::Planted, email: &str) -> String {
    use axum::response::IntoResponse;
    use http::{Method, StatusCode};
    use salesloft_client::clock::ManualClock;
    use salesloft_client::transport::{ApiRequest, Pipeline, RetryConfig};
    use serde_json::json;

    let text = planted.value.to_string();
    let body_422 = json!({"error": text, "errors": {"email_address": [text], "Password": [text]}}).to_string();
    let body_500 = format!("<html><pre>{text}</pre></html>");
    let server = support::one_off::OneOff::start(move |hit| {
        if hit.method == Method::POST {
            (StatusCode::UNPROCESSABLE_ENTITY, body_422.clone()).into_response()
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, body_500.clone()).into_response()
        }
    })
    .await;
    let pipeline = Pipeline::builder(format!("{}/v2", server.root))
        .api_key(secrecy::SecretString::from("ak-test".to_string()))
        .clock(ManualClock::new().shared())
        .retry(RetryConfig { max_attempts: 2, seed: Some(3), ..RetryConfig::default() })
        .build()
        .expect("pipeline");
    let (logs, _guard) = support::logs::capture();
    let create = ApiRequest::new("people.create", Method::POST, format!("people/{email}@example.com"))
        .json(planted.value.clone());
    let rejected = pipeline.execute(create).await.expect_err("422");
    assert!(rejected.validation().is_some(), "expected a 422, got {rejected:?}");
    let failed = pipeline.execute(ApiRequest::new("people.get", Method::GET, "people/1")).await.expect_err("500");
    assert_eq!(failed.status(), Some(StatusCode::INTERNAL_SERVER_ERROR), "got {failed:?}");
    format!("{}\n{rejected}\n{rejected:?}\n{failed}\n{failed:?}", logs.text())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn planted_secrets_never_reach_the_logs_or_the_errors(planted in planted_json(), email in "zq[a-z0-9]{14}") {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let output = runtime.block_on(logs_and_errors_of(&planted, &email));
        prop_assert!(output.contains("rejected the request (422)"), "no 422 log:\n{output}");
        let markers: Vec<&String> =
            planted.secrets.iter().chain(&planted.emails).chain(std::iter::once(&email)).collect();
        let found = leaked(&output, markers.iter().copied());
        prop_assert!(found.is_none(), "leak {found:?} in:\n{output}");
    }
}

#[tokio::test]
async fn a_malformed_token_file_is_reported_without_its_tokens() {
    use salesloft_client::transport::{FileTokenStore, TokenStore};
    let dir = tempfile::tempdir().expect("tempdir");
    let bodies = [
        r#"{"access_token": "acc-zq1", "refresh_token": "ref-zq2", "expires_at": "ref-zq3"}"#,
        r#"{"access_token": "acc-zq1", "refresh_token": 918273645}"#,
    ];
    for body in bodies {
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, body).expect("write the token file");
        let error = FileTokenStore::new(&path).load().await.expect_err("malformed");
        let shown = format!("{error} {error:?}");
        for secret in ["acc-zq1", "ref-zq2", "ref-zq3", "918273645"] {
            assert!(!shown.contains(secret), "{secret} survived in {shown}");
        }
        assert!(shown.contains("is not a token file"), "{shown}");
    }
}
