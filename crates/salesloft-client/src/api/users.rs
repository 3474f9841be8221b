//! `/v2/users`: list and get. Without `page`, SalesLoft returns every user unpaginated (FACTS.md §4.1).

use http::Method;

use super::list::ListBuilder;
use crate::models::{User, UserId};
use crate::transport::ApiRequest;
use crate::{Client, Error};

/// Calls on users. Get one with [`Client::users`].
#[derive(Debug, Clone, Copy)]
pub struct UsersHandler<'c> {
    client: &'c Client,
}

impl<'c> UsersHandler<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Starts a list request; without `.page(n)` SalesLoft returns all users and no `paging` metadata.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let users = client.users().list().active(true).send().await?;
    /// # let _ = users; Ok(()) }
    /// ```
    pub fn list(&self) -> ListBuilder<'c, User> {
        ListBuilder::new(self.client)
    }

    /// Fetches one user.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let user = client.users().get(salesloft_client::models::UserId(1)).await?;
    /// # let _ = user; Ok(()) }
    /// ```
    pub async fn get(&self, id: UserId) -> Result<User, Error> {
        let request = ApiRequest::new("users.get", Method::GET, format!("users/{id}"));
        self.client.send_data(request).await
    }
}

impl<'c> ListBuilder<'c, User> {
    /// Only active (or inactive) users.
    pub fn active(self, active: bool) -> Self {
        self.param("active", if active { "true" } else { "false" })
    }
}
