//! `/v2/cadences`: list and get (cadences are created through `/v2/cadence_imports`, not here).

use http::Method;

use super::list::ListBuilder;
use crate::models::{Cadence, CadenceId};
use crate::pagination::KeysetPager;
use crate::transport::ApiRequest;
use crate::{Client, Error};

/// Calls on cadences. Get one with [`Client::cadences`].
#[derive(Debug, Clone, Copy)]
pub struct CadencesHandler<'c> {
    client: &'c Client,
}

impl<'c> CadencesHandler<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Starts a list request (one page).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let page = client.cadences().list().per_page(100).send().await?;
    /// # let _ = page; Ok(()) }
    /// ```
    pub fn list(&self) -> ListBuilder<'c, Cadence> {
        ListBuilder::new(self.client)
    }

    /// A keyset walk over every cadence (see [`crate::pagination`]).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use futures::TryStreamExt;
    /// let cadences: Vec<_> = client.cadences().keyset().items().try_collect().await?;
    /// # let _ = cadences; Ok(()) }
    /// ```
    pub fn keyset(&self) -> KeysetPager<Cadence> {
        KeysetPager::new(self.client.clone())
    }

    /// Fetches one cadence.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let cadence = client.cadences().get(salesloft_client::models::CadenceId(3)).await?;
    /// # let _ = cadence; Ok(()) }
    /// ```
    pub async fn get(&self, id: CadenceId) -> Result<Cadence, Error> {
        let request = ApiRequest::new("cadences.get", Method::GET, format!("cadences/{id}"));
        self.client.send_data(request).await
    }
}
