//! Webhook subscriptions: decoding, a redacted `Debug`, CRUD against the simulator.

mod support;

use salesloft_client::api::decode;
use salesloft_client::models::{Envelope, WebhookSubscription, WebhookSubscriptionInput};

#[test]
fn a_subscription_decodes_and_its_token_never_prints() {
    let sub: Envelope<WebhookSubscription> =
        decode("webhook_subscriptions.get", &support::fixture("webhook_subscription.json")).expect("decodes");
    assert_eq!(sub.data.callback_token.as_deref(), Some("super-secret-token-value"));
    let printed = format!("{:?}", sub.data);
    assert!(!printed.contains("super-secret-token-value"), "Debug leaks the callback token: {printed}");
    let input = WebhookSubscriptionInput::new("https://x.example", "another-secret", "person_created");
    assert!(!format!("{input:?}").contains("another-secret"), "Debug of the input leaks the token");
}

#[tokio::test]
async fn create_list_disable_delete() {
    let (sim, client) = support::start(0).await;
    let hooks = client.webhook_subscriptions();
    let input = WebhookSubscriptionInput::new("http://127.0.0.1:9/hook", "token-123", "person_updated");
    let created = hooks.create(&input).await.expect("create");
    assert_eq!(created.event_type.as_deref(), Some("person_updated"));
    let listed = hooks.list().send().await.expect("list");
    assert!(listed.data.iter().any(|s| s.id == created.id), "listed");
    let disabled = hooks.update(created.id, &WebhookSubscriptionInput::enabled(false)).await.expect("disable");
    assert_eq!(disabled.enabled, Some(false));
    let enabled_only = hooks.list().enabled(true).send().await.expect("filtered");
    assert!(enabled_only.data.iter().all(|s| s.id != created.id), "disabled one filtered out");
    let fetched = hooks.get(created.id).await.expect("get");
    assert_eq!(fetched.id, created.id);
    hooks.delete(created.id).await.expect("delete");
    hooks.delete(created.id).await.expect("delete is idempotent");
    sim.shutdown().await;
}
