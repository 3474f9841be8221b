//! Bounded everything, client side (issue 7 item 6): a response body is read as a capped stream (16 MiB by
//! default, configurable), and a `Retry-After` longer than the configured maximum (5 minutes by default) fails
//! the call with what the server asked instead of sleeping through it. Time is a manual clock: every wait the
//! pipeline takes is recorded, none is slept.

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode, header};
use salesloft_client::Error;
use salesloft_client::clock::ManualClock;
use salesloft_client::transport::{ApiRequest, DEFAULT_MAX_BODY_BYTES, Pipeline, PipelineBuilder};
use secrecy::SecretString;
use support::one_off::OneOff;

const MIB: usize = 1024 * 1024;

fn builder(server: &OneOff, clock: &ManualClock) -> PipelineBuilder {
    Pipeline::builder(format!("{}/v2", server.root))
        .api_key(SecretString::from("ak-test".to_string()))
        .clock(clock.shared())
}

/// A JSON string body of `len` bytes, sent either with a `Content-Length` or as an unsized chunked stream.
fn big_json(len: usize, chunked: bool) -> Response {
    let mut text = Vec::with_capacity(len);
    text.extend_from_slice(b"{\"data\":\"");
    text.resize(len - 2, b'x');
    text.extend_from_slice(b"\"}");
    if !chunked {
        return (StatusCode::OK, text).into_response();
    }
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = text.chunks(256 * 1024).map(|c| Ok(c.to_vec())).collect();
    Response::new(Body::from_stream(futures::stream::iter(chunks)))
}

#[tokio::test]
async fn a_17_mib_body_is_a_typed_error_whether_or_not_its_length_is_declared() {
    assert_eq!(DEFAULT_MAX_BODY_BYTES, 16 * MIB);
    for chunked in [false, true] {
        let server = OneOff::start(move |_| big_json(17 * MIB, chunked)).await;
        let clock = ManualClock::new();
        let pipeline = builder(&server, &clock).build().expect("pipeline");
        let error = pipeline
            .execute(ApiRequest::new("people.list", Method::GET, "people"))
            .await
            .expect_err("a body over the cap is refused");
        match &error {
            Error::BodyTooLarge { operation, status, limit } => {
                assert_eq!((operation.as_str(), *status, *limit), ("people.list", StatusCode::OK, 16 * MIB));
            }
            other => panic!("chunked={chunked}: expected BodyTooLarge, got {other:?}"),
        }
        assert!(error.to_string().contains("16777216-byte limit"), "{error}");
        assert_eq!(server.hits().len(), 1, "chunked={chunked}: an oversized answer is not retried");
        assert!(error.may_have_been_sent(), "a 200 was answered: the request took effect");
    }
}

#[tokio::test]
async fn a_body_at_the_cap_is_read_and_the_cap_is_configurable() {
    let server = OneOff::start(|hit| {
        let len = if hit.uri.contains("small") { 1000 } else { 4096 };
        big_json(len, hit.uri.contains("chunked"))
    })
    .await;
    let clock = ManualClock::new();
    let pipeline = builder(&server, &clock).max_body_bytes(1000).build().expect("pipeline");
    for path in ["small", "small-chunked"] {
        let ok = pipeline.execute(ApiRequest::new("x.get", Method::GET, path)).await.expect("exactly at the cap");
        assert_eq!(ok.body.len(), 1000, "{path}");
    }
    for path in ["big", "big-chunked"] {
        let error = pipeline.execute(ApiRequest::new("x.get", Method::GET, path)).await.expect_err("over the cap");
        assert!(matches!(error, Error::BodyTooLarge { limit: 1000, .. }), "{path}: got {error:?}");
    }
    let zero = builder(&server, &clock).max_body_bytes(0).build().expect_err("a zero cap is refused");
    assert!(matches!(zero, Error::Construction { .. }), "got {zero:?}");
}

fn throttled(retry_after: String, status: StatusCode) -> impl Fn(&support::one_off::Hit) -> Response {
    move |_| {
        (status, [(header::RETRY_AFTER, retry_after.clone())], r#"{"error":"Rate limit exceeded"}"#).into_response()
    }
}

#[tokio::test]
async fn a_retry_after_over_the_maximum_is_an_error_that_says_what_the_server_asked() {
    // An hour in seconds, a day as an HTTP date, and more than the old one-day "absurd" threshold.
    let clock = ManualClock::new();
    let in_a_day = httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + salesloft_client::clock::Clock::unix_time(&clock) + Duration::from_secs(86_400),
    );
    let cases = [
        ("3600".to_string(), StatusCode::TOO_MANY_REQUESTS, 3600),
        (in_a_day, StatusCode::SERVICE_UNAVAILABLE, 86_400),
        ("99999999".to_string(), StatusCode::TOO_MANY_REQUESTS, 99_999_999),
    ];
    for (value, status, seconds) in cases {
        let server = OneOff::start(throttled(value.clone(), status)).await;
        let clock = clock.clone();
        let before = clock.sleeps().len();
        let pipeline = builder(&server, &clock).build().expect("pipeline");
        let error =
            pipeline.execute(ApiRequest::new("people.list", Method::GET, "people")).await.expect_err("not waited out");
        match &error {
            Error::RetryAfterTooLong { retry_after, max, last, .. } => {
                // An HTTP date has whole seconds; the manual clock's wall time has a fraction.
                assert!(retry_after.as_secs().abs_diff(seconds) <= 1, "Retry-After {value}: read {retry_after:?}");
                assert!(error.to_string().contains(&format!("retry after {}s", retry_after.as_secs())), "{error}");
                assert_eq!(*max, Duration::from_secs(300));
                assert_eq!(last.status(), Some(status));
            }
            other => panic!("Retry-After {value}: expected RetryAfterTooLong, got {other:?}"),
        }
        assert_eq!(error.status(), Some(status));
        assert_eq!(clock.sleeps().len(), before, "Retry-After {value}: no wait was taken");
        assert_eq!(server.hits().len(), 1, "Retry-After {value}: not retried");
    }
}

#[tokio::test]
async fn a_retry_after_within_the_maximum_is_waited_out_and_the_maximum_is_configurable() {
    let server = OneOff::start(throttled("120".to_string(), StatusCode::TOO_MANY_REQUESTS)).await;
    let clock = ManualClock::new();
    let pipeline = builder(&server, &clock).build().expect("pipeline");
    let error = pipeline.execute(ApiRequest::new("people.list", Method::GET, "people")).await.expect_err("429s");
    assert!(matches!(error, Error::RateLimited { .. }), "out of attempts after waiting: {error:?}");
    assert!(clock.sleeps().iter().any(|d| *d >= Duration::from_secs(120)), "waited: {:?}", clock.sleeps());

    let strict = ManualClock::new();
    let pipeline = builder(&server, &strict).max_retry_after(Duration::from_secs(60)).build().expect("pipeline");
    let error = pipeline.execute(ApiRequest::new("people.list", Method::GET, "people")).await.expect_err("429s");
    assert!(
        matches!(error, Error::RetryAfterTooLong { retry_after, max, .. }
            if retry_after == Duration::from_secs(120) && max == Duration::from_secs(60)),
        "got {error:?}"
    );
    assert!(strict.sleeps().is_empty(), "no wait: {:?}", strict.sleeps());
}
