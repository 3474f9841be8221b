//! `/v2/people`: list, get, create, update, delete, our upsert by email, and SalesLoft's own
//! `/v2/person_upserts` (FACTS.md §5.2, §5.3).

use http::Method;

use super::list::ListBuilder;
use super::{decode, to_body};
use crate::models::{Envelope, Person, PersonId, PersonInput, PersonUpsert, UpsertKey};
use crate::pagination::KeysetPager;
use crate::transport::{ApiRequest, IdempotencyKey};
use crate::upsert::UpsertBatch;
use crate::{Client, Error};

/// Calls on people. Get one with [`Client::people`].
#[derive(Debug, Clone, Copy)]
pub struct PeopleHandler<'c> {
    client: &'c Client,
}

impl<'c> PeopleHandler<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Starts a list request (one page).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::SortDirection;
    /// let page = client.people().list()
    ///     .updated_after(time::macros::datetime!(2024-01-01 0:00 UTC))
    ///     .sort_by("updated_at").sort_direction(SortDirection::Asc)
    ///     .per_page(100)
    ///     .send().await?;
    /// println!("{} people", page.data.len());
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListBuilder<'c, Person> {
        ListBuilder::new(self.client)
    }

    /// A keyset walk over every person, oldest update first, never deeper than page 100 (see
    /// [`crate::pagination`]).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use futures::TryStreamExt;
    /// let mut pages = client.people().keyset().pages();
    /// while let Some(page) = pages.try_next().await? {
    ///     // store page.records, then persist page.checkpoint
    ///     let _ = (page.records.len(), &page.checkpoint);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn keyset(&self) -> KeysetPager<Person> {
        KeysetPager::new(self.client.clone())
    }

    /// Fetches one person.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let person = client.people().get(salesloft_client::models::PersonId(42)).await?;
    /// println!("{:?}", person.email_address);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, id: PersonId) -> Result<Person, Error> {
        let request = ApiRequest::new("people.get", Method::GET, format!("people/{id}"));
        self.client.send_data(request).await
    }

    /// Creates a person. Without an idempotency key the pipeline will not retry it (a repeat could create
    /// a duplicate — FACTS.md §5.2); prefer [`upsert_by_email`](Self::upsert_by_email).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::PersonInput;
    /// let person = client.people().create(&PersonInput::with_email("ada@example.com").first_name("Ada")).await?;
    /// # let _ = person; Ok(()) }
    /// ```
    pub async fn create(&self, input: &PersonInput) -> Result<Person, Error> {
        self.create_with_key(input, None).await
    }

    /// Creates a person, marking the request repeatable with `key` when given.
    pub async fn create_with_key(&self, input: &PersonInput, key: Option<IdempotencyKey>) -> Result<Person, Error> {
        let mut request =
            ApiRequest::new("people.create", Method::POST, "people").json(to_body("people.create", input)?);
        if let Some(key) = key {
            request = request.idempotency_key(key);
        }
        self.client.send_data(request).await
    }

    /// Updates a person (only the fields set in `input` are sent).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::{PersonId, PersonInput};
    /// let person = client.people().update(PersonId(42), &PersonInput::default().title("CTO")).await?;
    /// # let _ = person; Ok(()) }
    /// ```
    pub async fn update(&self, id: PersonId, input: &PersonInput) -> Result<Person, Error> {
        let body = to_body("people.update", &input.for_update())?;
        let request = ApiRequest::new("people.update", Method::PUT, format!("people/{id}")).json(body);
        self.client.send_data(request).await
    }

    /// Deletes a person (204; idempotent — FACTS.md §3).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// client.people().delete(salesloft_client::models::PersonId(42)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, id: PersonId) -> Result<(), Error> {
        let request = ApiRequest::new("people.delete", Method::DELETE, format!("people/{id}"));
        self.client.pipeline().execute(request).await.map(|_| ())
    }

    /// Finds people by email (`email_addresses[]=…`, up to 100 per request, one page of 100).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let found = client.people().find_by_emails(["ada@example.com", "bob@example.com"]).await?;
    /// # let _ = found; Ok(()) }
    /// ```
    pub async fn find_by_emails<I, S>(&self, emails: I) -> Result<Vec<Person>, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let emails: Vec<String> = emails.into_iter().map(Into::into).collect();
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        if emails.len() > 100 {
            return Err(Error::Construction { reason: format!("at most 100 emails per lookup, got {}", emails.len()) });
        }
        let page = self.list().email_addresses(emails).per_page(100).send().await?;
        Ok(page.data)
    }

    /// Creates or updates the person with `input.email_address`: look up by email, then update the match or
    /// create; a 422 "taken" on create falls back to lookup + update (see [`crate::upsert`]).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::{models::PersonInput, transport::IdempotencyKey};
    /// let outcome = client.people()
    ///     .upsert_by_email(PersonInput::with_email("ada@example.com").title("CTO"))
    ///     .idempotency_key(IdempotencyKey::new("import-7-row-12")?)
    ///     .send().await?;
    /// println!("{:?}", outcome.kind());
    /// # Ok(()) }
    /// ```
    pub fn upsert_by_email(&self, input: PersonInput) -> UpsertByEmail<'c> {
        UpsertByEmail { client: self.client, input, key: None }
    }

    /// Starts a batch upsert by email: one lookup per 100 emails, then a create or update per row (see
    /// [`crate::upsert`]). One outcome per input, in input order.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client, journal: &dyn salesloft_client::journal::UpsertJournal) {
    /// use salesloft_client::models::PersonInput;
    /// let rows = vec![PersonInput::with_email("ada@example.com").first_name("Ada")];
    /// let outcomes = client.people().upsert_batch(rows).concurrency(8).journal(journal).send().await;
    /// for outcome in outcomes {
    ///     if let Err(error) = outcome.result {
    ///         eprintln!("row {}: {error}", outcome.index + 1);
    ///     }
    /// }
    /// # }
    /// ```
    pub fn upsert_batch(&self, inputs: Vec<PersonInput>) -> UpsertBatch<'c, 'static> {
        UpsertBatch::new(self.client, inputs)
    }

    /// SalesLoft's own upsert, `POST /v2/person_upserts`, matching on `key` (`email_address` or `crm_id`,
    /// taken from `input`): one request, and the response says whether it created or updated
    /// (FACTS.md §5.2). For [`UpsertKey::Id`] use [`upsert_id`](Self::upsert_id).
    ///
    /// The pipeline may retry it: a repeat matches the person the first attempt created, so it updates
    /// instead of duplicating. Two *concurrent* upserts of one new email can still both create; run them
    /// through a per-email lock (`salesloft-sync`) when that matters.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::{PersonInput, UpsertKey};
    /// let upserted = client.people()
    ///     .upsert(UpsertKey::EmailAddress, &PersonInput::with_email("ada@example.com").title("CTO"))
    ///     .await?;
    /// println!("{:?} {}", upserted.upsert_type, upserted.person.id);
    /// # Ok(()) }
    /// ```
    pub async fn upsert(&self, key: UpsertKey, input: &PersonInput) -> Result<PersonUpsert, Error> {
        if key == UpsertKey::Id {
            return Err(Error::Construction {
                reason: "an upsert on `id` needs the person's id: use upsert_id".to_string(),
            });
        }
        self.send_upsert(key, None, input).await
    }

    /// `POST /v2/person_upserts` with `upsert_key=id`: updates person `id` with `input`.
    pub async fn upsert_id(&self, id: PersonId, input: &PersonInput) -> Result<PersonUpsert, Error> {
        self.send_upsert(UpsertKey::Id, Some(id), input).await
    }

    async fn send_upsert(
        &self,
        key: UpsertKey,
        id: Option<PersonId>,
        input: &PersonInput,
    ) -> Result<PersonUpsert, Error> {
        let mut body = to_body("people.upsert", input)?;
        if let Some(fields) = body.as_object_mut() {
            fields.insert("upsert_key".to_string(), key.as_str().into());
            if let Some(id) = id {
                fields.insert("id".to_string(), id.0.into());
            }
        }
        let request = ApiRequest::new("people.upsert", Method::POST, "person_upserts")
            .json(body)
            // Safe to repeat: the repeat finds what the first attempt wrote by the same key.
            .idempotency_key(IdempotencyKey::random());
        self.client.send_data(request).await
    }
}

impl<'c> ListBuilder<'c, Person> {
    /// Only people with these email addresses (`email_addresses[]=…`).
    pub fn email_addresses<I: IntoIterator<Item = impl Into<String>>>(self, emails: I) -> Self {
        self.array("email_addresses", emails)
    }

    /// Only people of this account (`account_id[]=…`).
    pub fn account_id(self, id: crate::models::AccountId) -> Self {
        self.array("account_id", [id.to_string()])
    }

    /// Only people on this cadence (`cadence_id[]=…`).
    pub fn cadence_id(self, id: crate::models::CadenceId) -> Self {
        self.array("cadence_id", [id.to_string()])
    }
}

/// The result of one upsert.
#[derive(Debug, Clone, PartialEq)]
pub enum Upserted {
    /// No person had the email: one was created.
    Created(Person),
    /// A person had the email and was updated.
    Updated(Person),
    /// A person had the email and already had every value the input sets: nothing was sent.
    Unchanged(Person),
    /// A bulk job applied the record without an error, and its result row was not read (a bulk upsert that
    /// reads only the failed rows' results, [`crate::bulk_upsert::BulkResults::FailuresOnly`]): whether the
    /// person was created or updated, and its id, are not known here.
    Applied {
        /// The bulk job that applied it.
        job: i64,
    },
}

impl Upserted {
    /// The person as it now is; `None` for [`Upserted::Applied`], whose result was not read.
    pub fn person(&self) -> Option<&Person> {
        match self {
            Upserted::Created(p) | Upserted::Updated(p) | Upserted::Unchanged(p) => Some(p),
            Upserted::Applied { .. } => None,
        }
    }

    /// `"created"`, `"updated"`, `"unchanged"` or `"applied"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Upserted::Created(_) => "created",
            Upserted::Updated(_) => "updated",
            Upserted::Unchanged(_) => "unchanged",
            Upserted::Applied { .. } => "applied",
        }
    }
}

/// Builder of one upsert by email; see [`PeopleHandler::upsert_by_email`].
#[derive(Debug, Clone)]
#[must_use = "an upsert does nothing until `send` is awaited"]
pub struct UpsertByEmail<'c> {
    client: &'c Client,
    input: PersonInput,
    key: Option<IdempotencyKey>,
}

impl UpsertByEmail<'_> {
    /// The key that makes the create repeatable (a retry of the POST is safe because a repeat finds the
    /// person by email first). A random key is used when none is given.
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Runs the lookup and the create or update.
    pub async fn send(self) -> Result<Upserted, Error> {
        let email = self.input.normalized_email().ok_or_else(|| Error::Construction {
            reason: "upsert by email needs a non-empty email_address".to_string(),
        })?;
        let found = self.client.people().find_by_emails([email.clone()]).await?;
        let existing = crate::upsert::pick_match(&found, &email);
        let key = self.key.unwrap_or_else(IdempotencyKey::random);
        crate::upsert::apply(self.client, &self.input, &email, existing, key).await
    }
}

/// Decodes a `{"data": Person}` body (exposed for callers holding a raw response, e.g. the gateway).
pub fn decode_person(operation: &str, body: &[u8]) -> Result<Person, Error> {
    decode::<Envelope<Person>>(operation, body).map(|e| e.data)
}
