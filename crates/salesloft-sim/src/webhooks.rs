//! Webhook delivery (FACTS.md §6.2): on every change, POST the bare resource JSON to each enabled
//! subscription for the event type, with `x-salesloft-event` and `x-salesloft-signature` = lowercase hex
//! HMAC-SHA1 of the raw body keyed by the subscription's `callback_token`. A failed attempt (non-2xx or
//! transport error — what counts as failure is unconfirmed, FACTS.md §11) is retried `webhook_retries`
//! more times, `webhook_retry_interval` apart, then marked failed. Subscriptions are never auto-disabled
//! (unconfirmed).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha1::Sha1;
use tokio::sync::watch;

use crate::clock::format_timestamp;
use crate::routes::Event;
use crate::state::Shared;

/// One delivery attempt, as `/__sim/webhooks/deliveries` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    /// The subscription.
    pub subscription_id: i64,
    /// The event type.
    pub event_type: String,
    /// Id of the resource in the body.
    pub resource_id: Option<i64>,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Status answered, or null on a transport error.
    pub status: Option<u16>,
    /// Transport error, or null.
    pub error: Option<String>,
    /// When, on the simulator clock.
    pub at: String,
}

/// Delivery machinery and the attempt log.
#[derive(Debug)]
pub struct Webhooks {
    client: reqwest::Client,
    log: Mutex<Vec<DeliveryRecord>>,
    attempts: watch::Sender<usize>,
    generation: AtomicU64,
}

/// `x-salesloft-signature` for a body: lowercase hex HMAC-SHA1 keyed by the callback token.
pub fn sign(callback_token: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail; an empty signature would simply not verify.
    match <Hmac<Sha1> as KeyInit>::new_from_slice(callback_token.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

impl Webhooks {
    /// A deliverer whose attempts time out after `timeout`.
    pub fn new(timeout: std::time::Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(timeout).no_proxy().build()?;
        Ok(Self { client, log: Mutex::new(Vec::new()), attempts: watch::channel(0).0, generation: AtomicU64::new(0) })
    }

    /// Every attempt so far, oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Waits until at least `count` attempts have been recorded.
    pub async fn wait_for_attempts(&self, count: usize) {
        let mut receiver = self.attempts.subscribe();
        let _ = receiver.wait_for(|attempts| *attempts >= count).await;
    }

    /// Clears the log and stops pending retries.
    pub fn reset(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.log.lock().unwrap_or_else(PoisonError::into_inner).clear();
        self.attempts.send_replace(0);
    }

    fn push(&self, record: DeliveryRecord) {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.push(record);
        let count = log.len();
        drop(log);
        self.attempts.send_replace(count);
    }
}

/// Starts deliveries for `events` to every enabled subscription of their type. Must run inside a Tokio
/// runtime (it spawns one task per delivery).
pub fn dispatch(shared: &Arc<Shared>, events: Vec<Event>) {
    if events.is_empty() {
        return;
    }
    let targets: Vec<(i64, String, String, String)> = {
        let data = shared.data.read().unwrap_or_else(PoisonError::into_inner);
        if data.subscriptions.is_empty() {
            return;
        }
        data.subscriptions
            .by_id(true)
            .filter(|(_, subscription)| subscription.enabled)
            .map(|(id, s)| (id, s.event_type.clone(), s.callback_url.clone(), s.callback_token.clone()))
            .collect()
    };
    for event in events {
        let body = bytes::Bytes::from(event.body);
        for (subscription_id, event_type, url, token) in targets.iter().filter(|target| target.1 == event.event_type) {
            let signature = sign(token, &body);
            let delivery = Delivery {
                subscription_id: *subscription_id,
                event_type: event_type.clone(),
                url: url.clone(),
                signature,
                body: body.clone(),
            };
            tokio::spawn(deliver(Arc::clone(shared), delivery));
        }
    }
}

struct Delivery {
    subscription_id: i64,
    event_type: String,
    url: String,
    signature: String,
    body: bytes::Bytes,
}

async fn deliver(shared: Arc<Shared>, delivery: Delivery) {
    let generation = shared.webhooks.generation.load(Ordering::SeqCst);
    let resource_id = resource_id(&delivery.body);
    let attempts = shared.config.webhook_retries.saturating_add(1);
    for attempt in 1..=attempts {
        if attempt > 1 {
            shared.clock.sleep(shared.config.webhook_retry_interval).await;
        }
        if shared.webhooks.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        let result = shared
            .webhooks
            .client
            .post(&delivery.url)
            .header("content-type", "application/json")
            .header("x-salesloft-event", &delivery.event_type)
            .header("x-salesloft-signature", &delivery.signature)
            .body(delivery.body.clone())
            .send()
            .await;
        let (status, error) = match result {
            Ok(response) => (Some(response.status().as_u16()), None),
            Err(error) => (None, Some(transport_error(&error))),
        };
        let success = status.is_some_and(|code| (200..300).contains(&code));
        shared.recorder.bump(|stats| {
            stats.webhook_deliveries += 1;
            if !success {
                stats.webhook_failures += 1;
            }
        });
        shared.webhooks.push(DeliveryRecord {
            subscription_id: delivery.subscription_id,
            event_type: delivery.event_type.clone(),
            resource_id,
            attempt,
            status,
            error,
            at: format_timestamp(shared.clock.now_micros(), 0),
        });
        if success {
            return;
        }
    }
}

fn transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timeout".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else {
        "transport error".to_owned()
    }
}

fn resource_id(body: &[u8]) -> Option<i64> {
    let rest = body.strip_prefix(b"{\"id\":")?;
    let digits: Vec<u8> = rest.iter().take_while(|b| b.is_ascii_digit()).copied().collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hex_hmac_sha1() {
        // RFC 2202 test case 2.
        assert_eq!(sign("Jefe", b"what do ya want for nothing?"), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        assert_eq!(resource_id(b"{\"id\":42,\"x\":1}"), Some(42));
    }
}
