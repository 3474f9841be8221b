//! A local webhook receiver: an HTTP server on `127.0.0.1:0` that records every delivery POSTed to its
//! [`WebhookReceiver::url`] and answers 200 — or 500 to the first few, to exercise the sender's retries.
//!
//! ```no_run
//! # async fn demo() {
//! use salesloft_testkit::webhooks::WebhookReceiver;
//! let mut hooks = WebhookReceiver::start().await;
//! // … subscribe hooks.url() and cause an event …
//! let delivery = hooks.next().await;
//! assert_eq!(delivery.event, "person_created");
//! # }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::sync::mpsc;

/// How long [`WebhookReceiver::next`] waits for a delivery before failing the test.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The `x-salesloft-event` header.
    pub event: String,
    /// The `x-salesloft-signature` header.
    pub signature: String,
    /// The `content-type` header.
    pub content_type: String,
    /// The raw body.
    pub body: Bytes,
}

/// A running receiver; it stops when the test's runtime does.
#[derive(Debug)]
pub struct WebhookReceiver {
    url: String,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
}

#[derive(Clone)]
struct Inbox {
    sender: mpsc::UnboundedSender<Delivery>,
    failures_left: Arc<AtomicUsize>,
}

impl WebhookReceiver {
    /// A receiver that answers 200 to every delivery.
    pub async fn start() -> Self {
        Self::failing_first(0).await
    }

    /// A receiver that answers 500 to the first `failures` deliveries (`usize::MAX`: all), then 200.
    pub async fn failing_first(failures: usize) -> Self {
        let (sender, deliveries) = mpsc::unbounded_channel();
        let inbox = Inbox { sender, failures_left: Arc::new(AtomicUsize::new(failures)) };
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(inbox);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("the webhook receiver binds");
        let addr = listener.local_addr().expect("the webhook receiver's address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url: format!("http://{addr}/hook"), deliveries }
    }

    /// The callback URL to subscribe.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The next delivery, in arrival order; fails the test if none comes within [`DELIVERY_TIMEOUT`].
    pub async fn next(&mut self) -> Delivery {
        tokio::time::timeout(DELIVERY_TIMEOUT, self.deliveries.recv())
            .await
            .unwrap_or_else(|_| panic!("no webhook delivery arrived at {} within {DELIVERY_TIMEOUT:?}", self.url))
            .expect("the webhook receiver is alive")
    }

    /// The next delivery if one has already arrived (never waits): for asserting that nothing came.
    pub fn try_next(&mut self) -> Option<Delivery> {
        self.deliveries.try_recv().ok()
    }
}

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let _ = inbox.sender.send(Delivery {
        event: header("x-salesloft-event"),
        signature: header("x-salesloft-signature"),
        content_type: header("content-type"),
        body,
    });
    let failing = inbox.failures_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    if failing { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }
}
