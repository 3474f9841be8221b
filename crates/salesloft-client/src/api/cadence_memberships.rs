//! `/v2/cadence_memberships`: add a person to a cadence, list, get, remove (FACTS.md §5.4).

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use http::Method;

use super::list::ListBuilder;
use crate::models::{CadenceId, CadenceMembership, CadenceMembershipId, PersonId, StepId, UserId};
use crate::pagination::KeysetPager;
use crate::transport::ApiRequest;
use crate::{Client, Error};

/// Calls on cadence memberships. Get one with [`Client::cadence_memberships`].
#[derive(Debug, Clone, Copy)]
pub struct CadenceMembershipsHandler<'c> {
    client: &'c Client,
}

impl<'c> CadenceMembershipsHandler<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Starts a list request (one page).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::PersonId;
    /// let page = client.cadence_memberships().list().person_id(PersonId(42)).send().await?;
    /// # let _ = page; Ok(()) }
    /// ```
    pub fn list(&self) -> ListBuilder<'c, CadenceMembership> {
        ListBuilder::new(self.client)
    }

    /// A keyset walk over every membership (see [`crate::pagination`]).
    pub fn keyset(&self) -> KeysetPager<CadenceMembership> {
        KeysetPager::new(self.client.clone())
    }

    /// Fetches one membership.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let m = client.cadence_memberships().get(salesloft_client::models::CadenceMembershipId(9)).await?;
    /// # let _ = m; Ok(()) }
    /// ```
    pub async fn get(&self, id: CadenceMembershipId) -> Result<CadenceMembership, Error> {
        let request = ApiRequest::new("cadence_memberships.get", Method::GET, format!("cadence_memberships/{id}"));
        self.client.send_data(request).await
    }

    /// Adds a person to a cadence. Await it directly, or set `user_id`/`step_id` first. Re-adding keeps a
    /// single membership record (FACTS.md §5.4), so the call is safe to repeat and is marked idempotent.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::{CadenceId, PersonId};
    /// let membership = client.cadence_memberships().create(PersonId(42), CadenceId(3)).await?;
    /// # let _ = membership; Ok(()) }
    /// ```
    pub fn create(&self, person_id: PersonId, cadence_id: CadenceId) -> CreateMembership<'c> {
        CreateMembership { client: self.client, person_id, cadence_id, user_id: None, step_id: None }
    }

    /// Removes the person from the cadence (204; idempotent).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// client.cadence_memberships().delete(salesloft_client::models::CadenceMembershipId(9)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, id: CadenceMembershipId) -> Result<(), Error> {
        let request =
            ApiRequest::new("cadence_memberships.delete", Method::DELETE, format!("cadence_memberships/{id}"));
        self.client.pipeline().execute(request).await.map(|_| ())
    }
}

impl<'c> ListBuilder<'c, CadenceMembership> {
    /// Only memberships of this person (`person_id[]=…`).
    pub fn person_id(self, id: PersonId) -> Self {
        self.array("person_id", [id.to_string()])
    }

    /// Only memberships of this cadence (`cadence_id[]=…`).
    pub fn cadence_id(self, id: CadenceId) -> Self {
        self.array("cadence_id", [id.to_string()])
    }

    /// Only memberships that are (or are not) currently on the cadence.
    pub fn currently_on_cadence(self, on: bool) -> Self {
        self.param("currently_on_cadence", if on { "true" } else { "false" })
    }
}

/// Builder of `POST /v2/cadence_memberships`; see [`CadenceMembershipsHandler::create`].
#[derive(Debug, Clone)]
#[must_use = "adding to a cadence does nothing until awaited"]
pub struct CreateMembership<'c> {
    client: &'c Client,
    person_id: PersonId,
    cadence_id: CadenceId,
    user_id: Option<UserId>,
    step_id: Option<StepId>,
}

impl<'c> CreateMembership<'c> {
    /// Adds the person on behalf of this user (default: the caller).
    pub fn user_id(mut self, id: UserId) -> Self {
        self.user_id = Some(id);
        self
    }

    /// Starts at this step.
    pub fn step_id(mut self, id: StepId) -> Self {
        self.step_id = Some(id);
        self
    }

    /// The request this builder sends: the ids as query parameters, as the spec documents (FACTS.md §5.4).
    pub fn build(&self) -> ApiRequest {
        let mut request = ApiRequest::new("cadence_memberships.create", Method::POST, "cadence_memberships")
            .query("person_id", self.person_id.to_string())
            .query("cadence_id", self.cadence_id.to_string());
        if let Some(user) = self.user_id {
            request = request.query("user_id", user.to_string());
        }
        if let Some(step) = self.step_id {
            request = request.query("step_id", step.to_string());
        }
        // Re-adding yields the same single membership (FACTS.md §5.4): safe to repeat.
        let key = format!("cadence_membership:{}:{}", self.person_id, self.cadence_id);
        match crate::transport::IdempotencyKey::new(key) {
            Ok(key) => request.idempotency_key(key),
            Err(_) => request,
        }
    }

    /// Sends the request. When SalesLoft answers 422 because the person is already on the cadence (a repeat,
    /// e.g. a retry whose first answer was lost), the existing membership is looked up and returned, so
    /// adding is idempotent.
    pub async fn send(self) -> Result<CadenceMembership, Error> {
        let request = self.build();
        match self.client.send_data(request).await {
            Err(error) if is_already_on_cadence(&error) => {
                let existing = CadenceMembershipsHandler::new(self.client)
                    .list()
                    .person_id(self.person_id)
                    .cadence_id(self.cadence_id)
                    .per_page(100)
                    .send()
                    .await?;
                existing
                    .data
                    .into_iter()
                    .filter(|m| m.person.as_ref().is_some_and(|p| p.id == self.person_id))
                    .filter(|m| m.cadence.as_ref().is_some_and(|c| c.id == self.cadence_id))
                    .max_by_key(|m| m.currently_on_cadence == Some(true))
                    .ok_or(error)
            }
            other => other,
        }
    }
}

impl<'c> IntoFuture for CreateMembership<'c> {
    type Output = Result<CadenceMembership, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'c>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A 422 saying the person is already on the cadence (wording unconfirmed: matched on "already").
fn is_already_on_cadence(error: &Error) -> bool {
    error.validation().is_some_and(|v| {
        v.errors.iter().any(|(field, messages)| {
            (field == "person_id" || field == "base") && messages.iter().any(|m| m.contains("already"))
        })
    })
}
