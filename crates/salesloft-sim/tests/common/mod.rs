//! Shared helpers for the black-box tests: a simulator on 127.0.0.1:0 and a small HTTP client over it.
#![allow(dead_code)]

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use salesloft_sim::{RunningSim, SimConfig, Simulator};
use serde_json::Value;

/// A running simulator plus a client.
pub struct Harness {
    pub sim: RunningSim,
    pub http: reqwest::Client,
}

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    /// The body as JSON; panics with the body text when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|error| panic!("expected a JSON body, got {:?} ({error})", self.text))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "expected status {status}, got {} with body {}",
            self.status,
            self.text
        );
        self
    }
}

impl Harness {
    /// Starts a simulator with the defaults.
    pub async fn start() -> Self {
        Self::with(SimConfig::default()).await
    }

    /// Starts a simulator with `config` (listen is forced to an ephemeral port).
    pub async fn with(config: SimConfig) -> Self {
        let config = SimConfig { listen: "127.0.0.1:0".parse().expect("addr"), ..config };
        let sim = Simulator::start(config).await.expect("simulator starts");
        let http = reqwest::Client::builder().no_proxy().build().expect("client");
        Self { sim, http }
    }

    /// `root_url + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.root_url())
    }

    /// Sends with the API key.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let key = self.sim.api_key().to_owned();
        self.call_as(method, path, body, Some(&key)).await
    }

    /// Sends with `token` as the bearer (or no Authorization header).
    pub async fn call_as(&self, method: Method, path: &str, body: Option<Value>, token: Option<&str>) -> Answer {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request is answered");
        Self::answer(response).await
    }

    /// Sends a raw body with a content type.
    pub async fn raw(&self, method: Method, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Answer {
        let response = self
            .http
            .request(method, self.url(path))
            .bearer_auth(self.sim.api_key())
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request is answered");
        Self::answer(response).await
    }

    /// GET with the API key.
    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    /// POST JSON with the API key.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    /// PUT JSON with the API key.
    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// DELETE with the API key.
    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None).await
    }

    /// A control-API call (no auth); returns the answer.
    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.call_as(method, &format!("/__sim{path}"), body, None).await
    }

    /// `GET /__sim/stats`.
    pub async fn stats(&self) -> Value {
        self.control(Method::GET, "/stats", None).await.expect(200).json()
    }

    async fn answer(response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body is read");
        Answer { status, headers, text }
    }
}

/// The documented 401 body for a request without a token (FACTS.md §1.5).
pub const MISSING_TOKEN_BODY: &str =
    r#"{"error":"No Bearer Token attached to request, please see documentation at developers.salesloft.com"}"#;

/// Whether a timestamp has SalesLoft's shape: microseconds and an offset.
pub fn is_salesloft_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    let shape_ok = text.len() == 32
        && bytes[4] == b'-'
        && bytes[10] == b'T'
        && bytes[19] == b'.'
        && bytes[20..26].iter().all(u8::is_ascii_digit)
        && (bytes[26] == b'+' || bytes[26] == b'-')
        && bytes[29] == b':';
    shape_ok || (text.len() == 27 && bytes[19] == b'.' && text.ends_with('Z'))
}

/// The key list of a schema line in `schemas.md`.
pub fn documented_keys(schema: &str) -> Vec<String> {
    let text = include_str!("../fixtures/schemas.md");
    let line = text
        .lines()
        .find(|line| line.starts_with(&format!("- **{schema}**:")))
        .unwrap_or_else(|| panic!("schema {schema} is in schemas.md"));
    line.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}
