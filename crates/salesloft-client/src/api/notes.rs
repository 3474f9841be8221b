//! `/v2/notes`: list, keyset, get, create, update, delete (FACTS.md §5.2: a create needs `content`,
//! `associated_with_type` and `associated_with_id`; an update needs `content`).

use http::Method;

use super::list::ListBuilder;
use super::to_body;
use crate::models::{Note, NoteId, NoteInput, NoteSubject};
use crate::pagination::KeysetPager;
use crate::transport::ApiRequest;
use crate::{Client, Error};

/// Calls on notes. Get one with [`Client::notes`].
#[derive(Debug, Clone, Copy)]
pub struct NotesHandler<'c> {
    client: &'c Client,
}

impl<'c> NotesHandler<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Starts a list request (one page).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::{NoteSubject, PersonId};
    /// let page = client.notes().list().associated_with(NoteSubject::Person(PersonId(42))).send().await?;
    /// # let _ = page; Ok(()) }
    /// ```
    pub fn list(&self) -> ListBuilder<'c, Note> {
        ListBuilder::new(self.client)
    }

    /// A keyset walk over every note (notes sort by `updated_at`; see [`crate::pagination`]).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use futures::TryStreamExt;
    /// let notes: Vec<_> = client.notes().keyset().items().try_collect().await?;
    /// # let _ = notes; Ok(()) }
    /// ```
    pub fn keyset(&self) -> KeysetPager<Note> {
        KeysetPager::new(self.client.clone())
    }

    /// Fetches one note.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let note = client.notes().get(salesloft_client::models::NoteId(3)).await?;
    /// # let _ = note; Ok(()) }
    /// ```
    pub async fn get(&self, id: NoteId) -> Result<Note, Error> {
        let request = ApiRequest::new("notes.get", Method::GET, format!("notes/{id}"));
        self.client.send_data(request).await
    }

    /// Creates a note. Not retried by the pipeline: notes have no duplicate guard, so a repeat after an
    /// unanswered attempt could write the note twice (FACTS.md §5.2).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::{NoteInput, NoteSubject, PersonId};
    /// let note = client.notes().create(&NoteInput::new(NoteSubject::Person(PersonId(42)), "Call back in May")).await?;
    /// # let _ = note; Ok(()) }
    /// ```
    pub async fn create(&self, input: &NoteInput) -> Result<Note, Error> {
        let request = ApiRequest::new("notes.create", Method::POST, "notes").json(to_body("notes.create", input)?);
        self.client.send_data(request).await
    }

    /// Replaces a note's content.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::{NoteId, NoteInput};
    /// let note = client.notes().update(NoteId(3), &NoteInput::content("Call back in June")).await?;
    /// # let _ = note; Ok(()) }
    /// ```
    pub async fn update(&self, id: NoteId, input: &NoteInput) -> Result<Note, Error> {
        let body = to_body("notes.update", input)?;
        let request = ApiRequest::new("notes.update", Method::PUT, format!("notes/{id}")).json(body);
        self.client.send_data(request).await
    }

    /// Deletes a note (204; idempotent).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// client.notes().delete(salesloft_client::models::NoteId(3)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, id: NoteId) -> Result<(), Error> {
        let request = ApiRequest::new("notes.delete", Method::DELETE, format!("notes/{id}"));
        self.client.pipeline().execute(request).await.map(|_| ())
    }
}

impl<'c> ListBuilder<'c, Note> {
    /// Only notes on this person or account (`associated_with_type` + `associated_with_id`; SalesLoft needs
    /// both together).
    pub fn associated_with(self, subject: NoteSubject) -> Self {
        self.param("associated_with_type", subject.type_name()).param("associated_with_id", subject.id().to_string())
    }
}
