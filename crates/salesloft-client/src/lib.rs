//! A resilient client for the SalesLoft REST API v2.
//!
//! The transport does the right thing by default: OAuth refresh (proactive, and once on 401, single-flight,
//! rotated refresh token saved before use), retries with full-jitter backoff that honour `Retry-After`, a
//! circuit breaker, and a cost-weighted rate budget fed by SalesLoft's rate-limit headers. Reads walk a
//! keyset cursor instead of deep pages; upserts look people up by email first.
//!
//! Layout: [`transport`] holds the request pipeline (one module per layer), [`models`] the typed records,
//! [`api`] the per-resource handlers and builders, [`pagination`] the keyset stream, [`upsert`] the
//! upsert-by-email, [`bulk_upsert`] the same through one bulk job, [`clock`] the injected time.
//!
//! When to use what:
//! - one record or one page: a handler method (`client.people().get(id)`, `client.people().list()…send()`);
//! - every record, or every change since a checkpoint: [`pagination::KeysetPager`] (`client.people().keyset()`),
//!   which never asks for a page above 100 unless told to (FACTS.md §2.2, §4.5);
//! - writing people keyed by email: [`upsert::upsert_people`] for batches (one lookup per 100 emails),
//!   `client.people().upsert_by_email(input)` for one;
//! - writing thousands of people: [`bulk_upsert::bulk_upsert_people`], one `person/upsert` bulk job
//!   (⌈N/5 000⌉ uploads and ⌈N/100⌉ result reads instead of ≈ N calls, FACTS.md §12).
//!
//! ```no_run
//! # async fn run() -> salesloft_client::Result<()> {
//! use salesloft_client::Client;
//! let client = Client::with_api_key("https://api.salesloft.com/v2", "ak-…".into())?;
//! let me = client.me().await?;
//! println!("calling as {:?}", me.email);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod api;
pub mod bulk_upsert;
pub mod clock;
pub mod error;
pub mod journal;
pub mod models;
pub mod pagination;
pub mod redact;
pub mod transport;
pub mod upsert;

pub use error::{BoxError, Error, FieldErrors, Result, ValidationError};
pub use pagination::{KeysetCursor, KeysetPage, KeysetPager, OffsetPager};
pub use upsert::{UpsertBatch, UpsertConfig, UpsertOutcome, upsert_people};

use secrecy::SecretString;
use serde::de::DeserializeOwned;

use crate::api::{
    AccountsHandler, BulkJobsHandler, CadenceMembershipsHandler, CadencesHandler, NotesHandler, PeopleHandler,
    TasksHandler, UsersHandler, WebhookSubscriptionsHandler,
};
use crate::models::{Envelope, Team, User};
use crate::transport::{ApiRequest, Pipeline};

/// A SalesLoft API v2 client: typed handlers over a [`Pipeline`]. Cheap to clone; clones share the
/// pipeline's state (token, budget, breaker).
#[derive(Debug, Clone)]
pub struct Client {
    pipeline: Pipeline,
}

impl Client {
    /// A client over an already configured pipeline (OAuth, retry, budget options live on the pipeline).
    ///
    /// ```no_run
    /// # fn run() -> salesloft_client::Result<()> {
    /// use salesloft_client::{Client, transport::Pipeline};
    /// let pipeline = Pipeline::with_api_key("https://api.salesloft.com/v2", "ak-…".into())?;
    /// let client = Client::new(pipeline);
    /// # let _ = client; Ok(()) }
    /// ```
    pub fn new(pipeline: Pipeline) -> Self {
        Self { pipeline }
    }

    /// A client for `base_url` (the API root including `/v2`) authenticating with an API key.
    ///
    /// ```no_run
    /// # fn run() -> salesloft_client::Result<()> {
    /// let client = salesloft_client::Client::with_api_key("https://api.salesloft.com/v2", "ak-…".into())?;
    /// # let _ = client; Ok(()) }
    /// ```
    pub fn with_api_key(base_url: &str, api_key: SecretString) -> Result<Self> {
        Ok(Self::new(Pipeline::with_api_key(base_url, api_key)?))
    }

    /// The pipeline requests go through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// People: list, keyset, get, create, update, delete, upsert by email.
    pub fn people(&self) -> PeopleHandler<'_> {
        PeopleHandler::new(self)
    }

    /// Accounts: list, keyset, get, create, update, delete.
    pub fn accounts(&self) -> AccountsHandler<'_> {
        AccountsHandler::new(self)
    }

    /// Bulk jobs: create, upload records, mark ready, poll, read results (FACTS.md §12). For a durable
    /// bulk upsert of people use [`bulk_upsert`].
    pub fn bulk_jobs(&self) -> BulkJobsHandler<'_> {
        BulkJobsHandler::new(self)
    }

    /// Cadences: list, keyset, get.
    pub fn cadences(&self) -> CadencesHandler<'_> {
        CadencesHandler::new(self)
    }

    /// Cadence memberships: add a person to a cadence, list, get, remove.
    pub fn cadence_memberships(&self) -> CadenceMembershipsHandler<'_> {
        CadenceMembershipsHandler::new(self)
    }

    /// Users: list, get.
    pub fn users(&self) -> UsersHandler<'_> {
        UsersHandler::new(self)
    }

    /// Webhook subscriptions: list, get, create, update, delete.
    pub fn webhook_subscriptions(&self) -> WebhookSubscriptionsHandler<'_> {
        WebhookSubscriptionsHandler::new(self)
    }

    /// Notes on people and accounts: list, keyset, get, create, update, delete.
    pub fn notes(&self) -> NotesHandler<'_> {
        NotesHandler::new(self)
    }

    /// Tasks: list, get, create (retryable with SalesLoft's own `idempotency_key`), update.
    pub fn tasks(&self) -> TasksHandler<'_> {
        TasksHandler::new(self)
    }

    /// `GET /v2/me`: the user this credential acts as.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let me = client.me().await?;
    /// println!("{:?}", me.email);
    /// # Ok(()) }
    /// ```
    pub async fn me(&self) -> Result<User> {
        api::me::me(self).await
    }

    /// `GET /v2/team`: the caller's team.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let team = client.team().await?;
    /// println!("{:?}", team.plan);
    /// # Ok(()) }
    /// ```
    pub async fn team(&self) -> Result<Team> {
        api::me::team(self).await
    }

    /// Sends a request and decodes its whole body as `T`.
    pub async fn send_json<T: DeserializeOwned>(&self, request: ApiRequest) -> Result<T> {
        let operation = request.operation;
        let response = self.pipeline.execute(request).await?;
        api::decode(operation, &response.body)
    }

    /// Sends a request and decodes the `data` of a `{"data": …}` envelope.
    pub async fn send_data<T: DeserializeOwned>(&self, request: ApiRequest) -> Result<T> {
        self.send_json::<Envelope<T>>(request).await.map(|envelope| envelope.data)
    }
}
