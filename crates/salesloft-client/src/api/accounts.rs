//! `/v2/accounts`: list, get, create, update, delete (FACTS.md §5.2: `name` and `domain` required, domain
//! unique on the team).

use http::Method;

use super::list::ListBuilder;
use super::to_body;
use crate::models::{Account, AccountId, AccountInput};
use crate::pagination::KeysetPager;
use crate::transport::ApiRequest;
use crate::{Client, Error};

/// Calls on accounts. Get one with [`Client::accounts`].
#[derive(Debug, Clone, Copy)]
pub struct AccountsHandler<'c> {
    client: &'c Client,
}

impl<'c> AccountsHandler<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Starts a list request (one page).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let page = client.accounts().list().per_page(100).send().await?;
    /// # let _ = page; Ok(()) }
    /// ```
    pub fn list(&self) -> ListBuilder<'c, Account> {
        ListBuilder::new(self.client)
    }

    /// A keyset walk over every account (see [`crate::pagination`]).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use futures::TryStreamExt;
    /// let accounts: Vec<_> = client.accounts().keyset().items().try_collect().await?;
    /// # let _ = accounts; Ok(()) }
    /// ```
    pub fn keyset(&self) -> KeysetPager<Account> {
        KeysetPager::new(self.client.clone())
    }

    /// Fetches one account.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let account = client.accounts().get(salesloft_client::models::AccountId(7)).await?;
    /// # let _ = account; Ok(()) }
    /// ```
    pub async fn get(&self, id: AccountId) -> Result<Account, Error> {
        let request = ApiRequest::new("accounts.get", Method::GET, format!("accounts/{id}"));
        self.client.send_data(request).await
    }

    /// Creates an account (not retried by the pipeline: a repeat could duplicate; a duplicate domain is a
    /// 422 "taken").
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::AccountInput;
    /// let account = client.accounts().create(&AccountInput::new("Acme", "acme.example")).await?;
    /// # let _ = account; Ok(()) }
    /// ```
    pub async fn create(&self, input: &AccountInput) -> Result<Account, Error> {
        let request =
            ApiRequest::new("accounts.create", Method::POST, "accounts").json(to_body("accounts.create", input)?);
        self.client.send_data(request).await
    }

    /// Updates an account.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::{AccountId, AccountInput};
    /// let account = client.accounts().update(AccountId(7), &AccountInput::new("Acme Inc", "acme.example")).await?;
    /// # let _ = account; Ok(()) }
    /// ```
    pub async fn update(&self, id: AccountId, input: &AccountInput) -> Result<Account, Error> {
        let body = to_body("accounts.update", input)?;
        let request = ApiRequest::new("accounts.update", Method::PUT, format!("accounts/{id}")).json(body);
        self.client.send_data(request).await
    }

    /// Deletes an account (204; idempotent).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// client.accounts().delete(salesloft_client::models::AccountId(7)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, id: AccountId) -> Result<(), Error> {
        let request = ApiRequest::new("accounts.delete", Method::DELETE, format!("accounts/{id}"));
        self.client.pipeline().execute(request).await.map(|_| ())
    }
}

impl<'c> ListBuilder<'c, Account> {
    /// Only accounts with these domains (`domain[]=…`).
    pub fn domains<I: IntoIterator<Item = impl Into<String>>>(self, domains: I) -> Self {
        self.array("domain", domains)
    }
}
