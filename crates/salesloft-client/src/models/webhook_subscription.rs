//! Webhook subscriptions (`/v2/webhook_subscriptions`, no `.json` in the docs).

use serde::{Deserialize, Serialize};

use super::common::{Extra, WebhookSubscriptionId};

/// A webhook subscription (FACTS.md §6.1). `callback_token` is the shared secret deliveries are signed with: never log it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebhookSubscription {
    /// Id.
    pub id: WebhookSubscriptionId,
    /// Where deliveries go.
    #[serde(default)]
    pub callback_url: Option<String>,
    /// The shared secret (HMAC key of `x-salesloft-signature`).
    #[serde(default)]
    pub callback_token: Option<String>,
    /// Event type, e.g. `person_updated`.
    #[serde(default)]
    pub event_type: Option<String>,
    /// Enabled.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Tenant id (an integer in the spec, a string in some clients).
    #[serde(default)]
    pub tenant_id: Option<serde_json::Value>,
    /// GUID of the user who created it.
    #[serde(default)]
    pub user_guid: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl std::fmt::Debug for WebhookSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSubscription")
            .field("id", &self.id)
            .field("callback_url", &self.callback_url)
            .field("callback_token", &self.callback_token.as_ref().map(|_| "[REDACTED]"))
            .field("event_type", &self.event_type)
            .field("enabled", &self.enabled)
            .field("tenant_id", &self.tenant_id)
            .field("user_guid", &self.user_guid)
            .finish_non_exhaustive()
    }
}

/// The body of `POST /v2/webhook_subscriptions` (all three required) and `PUT` (only `enabled` documented;
/// `callback_url` seen in the wild) — FACTS.md §6.1.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebhookSubscriptionInput {
    /// Where deliveries go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// The shared secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_token: Option<String>,
    /// Event type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

impl WebhookSubscriptionInput {
    /// A create body with the three required fields.
    pub fn new(
        callback_url: impl Into<String>,
        callback_token: impl Into<String>,
        event_type: impl Into<String>,
    ) -> Self {
        Self {
            callback_url: Some(callback_url.into()),
            callback_token: Some(callback_token.into()),
            event_type: Some(event_type.into()),
            enabled: None,
        }
    }

    /// An update body that only enables or disables.
    pub fn enabled(enabled: bool) -> Self {
        Self { enabled: Some(enabled), ..Self::default() }
    }
}

impl std::fmt::Debug for WebhookSubscriptionInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSubscriptionInput")
            .field("callback_url", &self.callback_url)
            .field("callback_token", &self.callback_token.as_ref().map(|_| "[REDACTED]"))
            .field("event_type", &self.event_type)
            .field("enabled", &self.enabled)
            .finish()
    }
}
