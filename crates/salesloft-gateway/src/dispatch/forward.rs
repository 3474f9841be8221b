//! The forward handler: POSTs each delivery to internal HTTP subscribers, signed as the Standard Webhooks
//! spec says (research/anchors.md §3 "Standard Webhooks spec").
//!
//! - `webhook-id`: `msg_` + the first 32 hex digits of sha256(dedup key). Stable per delivery — a retry, a
//!   redelivery by SalesLoft that the inbox deduplicated, or the same delivery handed on by another replica
//!   carries the same id — so a subscriber deduplicates on it as the spec asks of consumers. SalesLoft itself
//!   sends no event id (FACTS.md §6.2), hence the dedup key.
//! - `webhook-timestamp`: unix seconds of this attempt (the store's clock); consumers reject it outside
//!   their tolerance (±5 min in the reference libraries), so it is fresh on every retry.
//! - `webhook-signature`: `v1,` + base64 of HMAC-SHA256 over `"{id}.{timestamp}.{body}"`, keyed by the
//!   base64-decoded part of the subscriber's `whsec_…` secret. Checked against the spec's published vector.
//! - `x-salesloft-event`: the original event type (the body is SalesLoft's bare resource object, which does
//!   not name it: FACTS.md §6.2).
//!
//! Success is a 2xx only (the spec: 3xx is a failure; redirects are not followed); any other status, a
//! timeout or a connection error is a failure the dispatcher retries. Errors never name the secret.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::{Digest, Sha256};

use crate::GatewayError;

/// The prefix of a serialized Standard Webhooks symmetric secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A subscriber's signing key: the bytes a `whsec_<base64>` secret decodes to. `Debug` prints `[REDACTED]`.
#[derive(Clone)]
pub struct SigningKey(SecretSlice<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey([REDACTED])")
    }
}

impl SigningKey {
    /// Parses `whsec_<base64>` (the prefix may be left off, as the reference libraries allow). The error
    /// never repeats the secret.
    pub fn parse(secret: &str) -> Result<Self, GatewayError> {
        let encoded = secret.trim().strip_prefix(SECRET_PREFIX).unwrap_or(secret.trim());
        match STANDARD.decode(encoded) {
            Ok(key) if !key.is_empty() => Ok(Self(SecretSlice::from(key))),
            _ => Err(GatewayError::Config(
                "a webhook subscriber secret must be whsec_ followed by base64 (Standard Webhooks)".into(),
            )),
        }
    }

    /// The `webhook-signature` value for `id`, `timestamp` (unix seconds) and `body`: `v1,<base64 HMAC>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        match <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.expose_secret()) {
            Ok(mut mac) => {
                mac.update(id.as_bytes());
                mac.update(b".");
                mac.update(timestamp.to_string().as_bytes());
                mac.update(b".");
                mac.update(body);
                format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
            }
            // HMAC takes keys of any length; this arm is unreachable in practice.
            Err(_) => String::new(),
        }
    }
}

/// One internal subscriber (`[[webhooks.subscribers]]`).
#[derive(Clone)]
pub struct Subscriber {
    /// Where deliveries are POSTed.
    pub url: reqwest::Url,
    /// Its signing key.
    pub key: SigningKey,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber").field("url", &self.shown_url()).field("key", &self.key).finish()
    }
}

impl Subscriber {
    /// A subscriber at `url` signing with `secret` (`whsec_<base64>`).
    pub fn new(url: &str, secret: &str) -> Result<Self, GatewayError> {
        let url =
            reqwest::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https")).ok_or_else(|| {
                GatewayError::Config(
                    "a webhook subscriber URL is not an http(s) URL (not repeated: it may hold a token)".into(),
                )
            })?;
        Ok(Self { url, key: SigningKey::parse(secret)? })
    }

    /// The URL as logs and errors show it: without credentials or query, either of which may hold a token.
    pub fn shown_url(&self) -> String {
        let mut shown = self.url.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        shown.set_query(None);
        shown.to_string()
    }
}

/// The `webhook-id` of a delivery: `msg_` + 32 hex digits of sha256(dedup key).
pub fn message_id(dedup_key: &str) -> String {
    let digest = Sha256::digest(dedup_key.as_bytes());
    format!("msg_{}", &hex::encode(digest)[..32])
}

/// The HTTP client subscribers are called with: a timeout per attempt and no redirects.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, GatewayError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| GatewayError::Config(format!("cannot build the subscriber HTTP client: {e}")))
}

/// POSTs one delivery to `subscriber`; `Err` says why it failed (no secret in it).
pub(crate) async fn send(
    client: &reqwest::Client,
    subscriber: &Subscriber,
    event: &str,
    dedup_key: &str,
    body: &[u8],
    timestamp: i64,
) -> Result<(), String> {
    let id = message_id(dedup_key);
    let signature = subscriber.key.sign(&id, timestamp, body);
    let response = client
        .post(subscriber.url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header(crate::webhooks::EVENT_HEADER, event)
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| format!("{}: {}", subscriber.shown_url(), e.without_url()))?;
    let status = response.status();
    // The answer's body is not read: whatever a subscriber answers (garbage, a huge page) only its status counts.
    drop(response);
    if status.is_success() { Ok(()) } else { Err(format!("{}: answered {status}", subscriber.shown_url())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_standard_webhooks_reference_vector() {
        // The vector the Standard Webhooks libraries test against (secret, id, timestamp, payload, signature).
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("a valid secret");
        assert_eq!(
            key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let bare = SigningKey::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("prefix optional");
        assert_eq!(bare.sign("a", 1, b"b"), key.sign("a", 1, b"b"));
    }

    #[test]
    fn a_bad_secret_is_refused_without_repeating_it() {
        for secret in ["whsec_not base64!", "whsec_", ""] {
            let error = SigningKey::parse(secret).map(|_| ()).expect_err("refused").to_string();
            assert!(!secret.is_empty() && !error.contains("not base64!") || secret.is_empty(), "{error}");
        }
        assert!(format!("{:?}", SigningKey::parse("whsec_c2VjcmV0").expect("valid")).contains("REDACTED"));
    }

    #[test]
    fn a_subscriber_url_is_shown_without_credentials_or_query() {
        let subscriber = Subscriber::new("https://user:pw@hooks.internal/in?token=t0k", "whsec_c2VjcmV0").expect("ok");
        assert_eq!(subscriber.shown_url(), "https://hooks.internal/in");
        let debug = format!("{subscriber:?}");
        assert!(!debug.contains("pw") && !debug.contains("t0k") && !debug.contains("c2VjcmV0"), "{debug}");
        assert!(Subscriber::new("ftp://x", "whsec_c2VjcmV0").is_err());
    }

    #[test]
    fn the_message_id_is_stable_per_dedup_key() {
        let id = message_id("event:person_updated:1:2026-01-01T00:00:00Z");
        assert_eq!(id, message_id("event:person_updated:1:2026-01-01T00:00:00Z"));
        assert_ne!(id, message_id("event:person_updated:1:2026-01-01T00:00:01Z"));
        assert_eq!(id.len(), 4 + 32);
    }
}
