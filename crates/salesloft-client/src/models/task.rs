//! Tasks (`/v2/tasks`): [`Task`] and the write model [`TaskInput`].
//!
//! Tasks are the one write SalesLoft makes idempotent itself: `POST /v2/tasks` takes a body
//! `idempotency_key` that "establishes a unique identifier to prevent duplicates from being created"
//! (FACTS.md §5.2), so a task create carrying one is safe to retry.

use serde::{Deserialize, Serialize};

use super::common::{Extra, PersonId, Ref, TaskId, Timestamp, UserId};

/// A task (schema `Task` of the official OpenAPI).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Task {
    /// Id.
    pub id: TaskId,
    /// Subject line.
    #[serde(default)]
    pub subject: Option<String>,
    /// `call`, `email` or `general`.
    #[serde(default)]
    pub task_type: Option<String>,
    /// `scheduled` or `completed`.
    #[serde(default)]
    pub current_state: Option<String>,
    /// Due date (`YYYY-MM-DD`).
    #[serde(default)]
    pub due_date: Option<String>,
    /// Due time, when set.
    #[serde(default)]
    pub due_at: Option<Timestamp>,
    /// When the user is reminded.
    #[serde(default)]
    pub remind_at: Option<Timestamp>,
    /// When it was completed.
    #[serde(default)]
    pub completed_at: Option<Timestamp>,
    /// Description recorded at completion.
    #[serde(default)]
    pub description: Option<String>,
    /// The person to contact.
    #[serde(default)]
    pub person: Option<Ref<PersonId>>,
    /// The user the task is assigned to.
    #[serde(default)]
    pub user: Option<Ref<UserId>>,
    /// The user who created it.
    #[serde(default)]
    pub created_by_user: Option<Ref<UserId>>,
    /// The user who completed it.
    #[serde(default)]
    pub completed_by: Option<Ref<UserId>>,
    /// When it was created.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The body of `POST /v2/tasks` (`subject`, `person_id`, `user_id`, `task_type`, `due_date` and
/// `current_state` required) and `PUT /v2/tasks/{id}` (all optional; `current_state` may only become
/// `completed`) — FACTS.md §5.2.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskInput {
    /// Subject line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The person to contact (create only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_id: Option<PersonId>,
    /// The user the task is for (create only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// `call`, `email` or `general` (create only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<String>,
    /// Due date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// `scheduled` on create; `completed` on update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_state: Option<String>,
    /// Description recorded at completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Reminder time (ISO-8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remind_at: Option<String>,
    /// SalesLoft's own duplicate guard (create only): a repeat with the same key does not create a second
    /// task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

impl TaskInput {
    /// A create body for a scheduled task.
    pub fn scheduled(
        subject: impl Into<String>,
        person_id: PersonId,
        user_id: UserId,
        task_type: impl Into<String>,
        due_date: impl Into<String>,
    ) -> Self {
        Self {
            subject: Some(subject.into()),
            person_id: Some(person_id),
            user_id: Some(user_id),
            task_type: Some(task_type.into()),
            due_date: Some(due_date.into()),
            current_state: Some("scheduled".to_string()),
            ..Self::default()
        }
    }

    /// An update body that completes the task.
    pub fn complete() -> Self {
        Self { current_state: Some("completed".to_string()), ..Self::default() }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets SalesLoft's duplicate guard.
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}
