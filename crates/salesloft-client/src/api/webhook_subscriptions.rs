//! `/v2/webhook_subscriptions` (documented without `.json`): list, get, create, update, delete
//! (FACTS.md §6.1). The `callback_token` is a signing secret: it is redacted from `Debug`.

use http::Method;

use super::list::ListBuilder;
use super::to_body;
use crate::models::{WebhookSubscription, WebhookSubscriptionId, WebhookSubscriptionInput};
use crate::transport::ApiRequest;
use crate::{Client, Error};

/// Calls on webhook subscriptions. Get one with [`Client::webhook_subscriptions`].
#[derive(Debug, Clone, Copy)]
pub struct WebhookSubscriptionsHandler<'c> {
    client: &'c Client,
}

impl<'c> WebhookSubscriptionsHandler<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Starts a list request.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let subs = client.webhook_subscriptions().list().enabled(true).send().await?;
    /// # let _ = subs; Ok(()) }
    /// ```
    pub fn list(&self) -> ListBuilder<'c, WebhookSubscription> {
        ListBuilder::new(self.client)
    }

    /// Fetches one subscription.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::WebhookSubscriptionId;
    /// let sub = client.webhook_subscriptions().get(WebhookSubscriptionId(5)).await?;
    /// # let _ = sub; Ok(()) }
    /// ```
    pub async fn get(&self, id: WebhookSubscriptionId) -> Result<WebhookSubscription, Error> {
        let request = ApiRequest::new("webhook_subscriptions.get", Method::GET, format!("webhook_subscriptions/{id}"));
        self.client.send_data(request).await
    }

    /// Creates a subscription (`callback_url`, `callback_token`, `event_type` required).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::WebhookSubscriptionInput;
    /// let input = WebhookSubscriptionInput::new("https://hooks.example/sl", "s3cret", "person_updated");
    /// let sub = client.webhook_subscriptions().create(&input).await?;
    /// # let _ = sub; Ok(()) }
    /// ```
    pub async fn create(&self, input: &WebhookSubscriptionInput) -> Result<WebhookSubscription, Error> {
        let body = to_body("webhook_subscriptions.create", input)?;
        let request = ApiRequest::new("webhook_subscriptions.create", Method::POST, "webhook_subscriptions").json(body);
        self.client.send_data(request).await
    }

    /// Updates a subscription (only `enabled` is documented).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::{WebhookSubscriptionId, WebhookSubscriptionInput};
    /// let sub = client.webhook_subscriptions()
    ///     .update(WebhookSubscriptionId(5), &WebhookSubscriptionInput::enabled(false)).await?;
    /// # let _ = sub; Ok(()) }
    /// ```
    pub async fn update(
        &self,
        id: WebhookSubscriptionId,
        input: &WebhookSubscriptionInput,
    ) -> Result<WebhookSubscription, Error> {
        let body = to_body("webhook_subscriptions.update", input)?;
        let request =
            ApiRequest::new("webhook_subscriptions.update", Method::PUT, format!("webhook_subscriptions/{id}"))
                .json(body);
        self.client.send_data(request).await
    }

    /// Deletes a subscription (204; idempotent).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// client.webhook_subscriptions().delete(salesloft_client::models::WebhookSubscriptionId(5)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, id: WebhookSubscriptionId) -> Result<(), Error> {
        let request =
            ApiRequest::new("webhook_subscriptions.delete", Method::DELETE, format!("webhook_subscriptions/{id}"));
        self.client.pipeline().execute(request).await.map(|_| ())
    }
}

impl<'c> ListBuilder<'c, WebhookSubscription> {
    /// Only enabled (or disabled) subscriptions.
    pub fn enabled(self, enabled: bool) -> Self {
        self.param("enabled", if enabled { "true" } else { "false" })
    }
}
