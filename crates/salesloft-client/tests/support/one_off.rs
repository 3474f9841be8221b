//! A one-off HTTP server on `127.0.0.1:0` for the cases the simulator cannot produce (redirects, huge bodies,
//! odd headers): it answers every request with a caller-given function and records what it received.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::Response;
use http::HeaderMap;

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Method.
    pub method: http::Method,
    /// Path and query.
    pub uri: String,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

type Respond = Arc<dyn Fn(&Hit) -> Response + Send + Sync>;

/// A running one-off server.
pub struct OneOff {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub root: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl OneOff {
    /// Starts a server that answers every request with `respond`.
    pub async fn start(respond: impl Fn(&Hit) -> Response + Send + Sync + 'static) -> Self {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let state = (hits.clone(), Arc::new(respond) as Respond);
        let app = axum::Router::new().fallback(handle).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a one-off server");
        let root = format!("http://{}", listener.local_addr().expect("local addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { root, hits }
    }

    /// Every request received so far, in order.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

async fn handle(State((hits, respond)): State<(Arc<Mutex<Vec<Hit>>>, Respond)>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 * 1024 * 1024).await.unwrap_or_default();
    let hit = Hit { method: parts.method, uri: parts.uri.to_string(), headers: parts.headers, body };
    let response = respond(&hit);
    hits.lock().unwrap_or_else(|e| e.into_inner()).push(hit);
    response
}
