//! Tasks (`/v2/tasks`; FACTS.md §5.2, §5.5 Task).

use time::Date;

use crate::clock::Micros;
use crate::json::ObjectWriter;
use crate::list::SortValue;
use crate::records::Render;
use crate::table::timestamped;

/// `sort_by` values of `/v2/tasks` (FACTS.md §4.1: `due_date, due_at`, default `due_date`, direction
/// default `ASC`).
pub const SORTS: &[&str] = &["due_date", "due_at"];

/// `task_type` values (FACTS.md §5.2).
pub const TASK_TYPES: &[&str] = &["call", "email", "general"];

/// `current_state` values of a task (FACTS.md §5.5 Task). A create may only ask for `scheduled`, an update
/// only for `completed` (OpenAPI).
pub const STATES: &[&str] = &["scheduled", "completed"];

/// `time_interval_filter` values of the list (OpenAPI).
pub const TIME_INTERVALS: &[&str] = &["overdue", "today", "tomorrow", "this_week", "next_week"];

/// A task for a user about a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Subject line (required).
    pub subject: String,
    /// The person to be contacted.
    pub person_id: i64,
    /// The user the task is assigned to.
    pub user_id: i64,
    /// `call|email|general`.
    pub task_type: &'static str,
    /// `scheduled|completed`.
    pub current_state: &'static str,
    /// Due date (ISO-8601 date).
    pub due_date: Date,
    /// When the user is reminded.
    pub remind_at: Option<Micros>,
    /// Description recorded at completion time.
    pub description: Option<String>,
    /// The create's `idempotency_key` (not rendered: the Task object has no such key; the list filters on it).
    pub idempotency_key: Option<String>,
    /// Who created it.
    pub created_by_user_id: i64,
    /// When it was completed.
    pub completed_at: Option<Micros>,
    /// Who completed it.
    pub completed_by_id: Option<i64>,
    /// Created.
    pub created_at: Micros,
    /// Updated.
    pub updated_at: Micros,
}

timestamped!(Task);

/// Parses an ISO-8601 calendar date (`2024-01-31`).
pub fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format).ok()
}

/// Renders a date as `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

impl Task {
    /// Sort key for `sort_by`. `due_at` is never set (the API takes only `due_date`), so it sorts as null.
    pub fn sort_value(&self, key: &str) -> Option<SortValue> {
        match key {
            "due_at" => None,
            _ => Some(SortValue::Int(i64::from(self.due_date.to_julian_day()))),
        }
    }

    /// Renders the Task object with every documented key (`schemas.md` Task).
    pub fn render(&self, id: i64, render: &Render<'_>, out: &mut String) {
        let base = render.base;
        let mut object = ObjectWriter::new(out);
        render
            .head(&mut object, id, self)
            .str("subject", Some(&self.subject))
            .str("task_type", Some(self.task_type))
            .str("current_state", Some(self.current_state))
            .str("due_date", Some(&format_date(self.due_date)))
            .str("due_at", None)
            .str("remind_at", render.ts_opt(self.remind_at).as_deref())
            .str("completed_at", render.ts_opt(self.completed_at).as_deref())
            .str("description", self.description.as_deref())
            .reference("person", base, "people", Some(self.person_id))
            .reference("user", base, "users", Some(self.user_id))
            .reference("created_by_user", base, "users", Some(self.created_by_user_id))
            .reference("completed_by", base, "users", self.completed_by_id);
        object.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_reject_datetimes() {
        let date = parse_date("2024-02-29").expect("leap day");
        assert_eq!(format_date(date), "2024-02-29");
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-02-01T10:00:00Z"), None);
        assert_eq!(parse_date("tomorrow"), None);
    }
}
