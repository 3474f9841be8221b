//! `/v2/tasks`: list, get, create, update (FACTS.md §5.2). Tasks sort by `due_date` or `due_at`, not
//! `updated_at`, so there is no keyset walk; page through [`TasksHandler::list`].

use http::Method;

use super::list::ListBuilder;
use super::to_body;
use crate::models::{PersonId, Task, TaskId, TaskInput, UserId};
use crate::transport::{ApiRequest, IdempotencyKey};
use crate::{Client, Error};

/// Calls on tasks. Get one with [`Client::tasks`].
#[derive(Debug, Clone, Copy)]
pub struct TasksHandler<'c> {
    client: &'c Client,
}

impl<'c> TasksHandler<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Starts a list request (one page).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let page = client.tasks().list().current_state(["scheduled"]).per_page(100).send().await?;
    /// # let _ = page; Ok(()) }
    /// ```
    pub fn list(&self) -> ListBuilder<'c, Task> {
        ListBuilder::new(self.client)
    }

    /// Fetches one task.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// let task = client.tasks().get(salesloft_client::models::TaskId(9)).await?;
    /// # let _ = task; Ok(()) }
    /// ```
    pub async fn get(&self, id: TaskId) -> Result<Task, Error> {
        let request = ApiRequest::new("tasks.get", Method::GET, format!("tasks/{id}"));
        self.client.send_data(request).await
    }

    /// Creates a task. With `input.idempotency_key` set, SalesLoft itself refuses to create a duplicate
    /// (FACTS.md §5.2), so the pipeline may retry the POST after a 5xx or a lost response; without one it is
    /// sent once.
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::{PersonId, TaskInput, UserId};
    /// let input = TaskInput::scheduled("Call Ada", PersonId(42), UserId(1), "call", "2026-12-01")
    ///     .with_idempotency_key("crm-sync-task-7781");
    /// let task = client.tasks().create(&input).await?;
    /// # let _ = task; Ok(()) }
    /// ```
    pub async fn create(&self, input: &TaskInput) -> Result<Task, Error> {
        let mut request = ApiRequest::new("tasks.create", Method::POST, "tasks").json(to_body("tasks.create", input)?);
        if let Some(key) = &input.idempotency_key {
            request = request.idempotency_key(IdempotencyKey::new(key.clone())?);
        }
        self.client.send_data(request).await
    }

    /// Updates a task (e.g. completes it with [`TaskInput::complete`]).
    ///
    /// ```no_run
    /// # async fn run(client: salesloft_client::Client) -> salesloft_client::Result<()> {
    /// use salesloft_client::models::{TaskId, TaskInput};
    /// let task = client.tasks().update(TaskId(9), &TaskInput::complete()).await?;
    /// # let _ = task; Ok(()) }
    /// ```
    pub async fn update(&self, id: TaskId, input: &TaskInput) -> Result<Task, Error> {
        let body = to_body("tasks.update", input)?;
        let request = ApiRequest::new("tasks.update", Method::PUT, format!("tasks/{id}")).json(body);
        self.client.send_data(request).await
    }
}

impl<'c> ListBuilder<'c, Task> {
    /// Only tasks for these people (`person_id[]=…`).
    pub fn person_ids<I: IntoIterator<Item = PersonId>>(self, ids: I) -> Self {
        self.array("person_id", ids.into_iter().map(|id| id.to_string()))
    }

    /// Only tasks assigned to these users (`user_id[]=…`).
    pub fn user_ids<I: IntoIterator<Item = UserId>>(self, ids: I) -> Self {
        self.array("user_id", ids.into_iter().map(|id| id.to_string()))
    }

    /// Only tasks in these states (`scheduled`, `completed`).
    pub fn current_state<I: IntoIterator<Item = impl Into<String>>>(self, states: I) -> Self {
        self.array("current_state", states)
    }

    /// Only tasks of these types (`call`, `email`, `general`).
    pub fn task_type<I: IntoIterator<Item = impl Into<String>>>(self, types: I) -> Self {
        self.array("task_type", types)
    }

    /// Only the task created with this idempotency key.
    pub fn idempotency_key(self, key: impl Into<String>) -> Self {
        self.param("idempotency_key", key)
    }
}
