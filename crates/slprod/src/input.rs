//! `push`'s input reader: CSV or JSON lines in, one [`Row`] per record out — a [`PersonInput`] or a bad row
//! with its line number and reason. A bad row never stops the reading; only an unreadable input does.
//!
//! CSV: a header row names the columns after [`PersonInput`]'s fields (`email_address`, `first_name`, …);
//! `custom_fields.<name>` columns fill custom fields; `tags` and `contact_restrictions` are `;`-separated;
//! empty cells are left unset; unknown columns are ignored with a warning. A record longer than the limit
//! stops the reading (the reader cannot tell where it ends without reading it). JSON lines: one
//! [`PersonInput`] object per line; blank lines are skipped; a line longer than the limit fails on its own.
//! Line numbers are those of the file.

use std::collections::BTreeMap;
use std::io::{BufReader, Read};

use clap::ValueEnum;
use salesloft_client::models::PersonInput;
use serde_json::{Map, Value};

use crate::limits::{BoundedLines, Line, RecordCapReader};

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl InputFormat {
    /// The format of a file, from its extension.
    pub fn guess(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(InputFormat::Csv),
            "jsonl" | "ndjson" | "json" => Some(InputFormat::Jsonl),
            _ => None,
        }
    }
}

/// One record of the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// A row that decoded.
    Person {
        /// Its line in the file.
        line: u64,
        /// The person to upsert.
        input: PersonInput,
    },
    /// A row that did not decode.
    Bad {
        /// Its line in the file.
        line: u64,
        /// Its email, when one could be read.
        email: Option<String>,
        /// Why it is bad.
        reason: String,
    },
}

/// The rows of `input` in `format`, records at most `max_line` bytes. The outer error means the input cannot
/// be read at all (no CSV header, no `email_address` column); an `Err` item means reading stopped there.
pub fn rows<R: Read + 'static>(
    format: InputFormat,
    input: R,
    max_line: usize,
) -> Result<Box<dyn Iterator<Item = Result<Row, String>>>, String> {
    let max_line = max_line.max(1);
    Ok(match format {
        InputFormat::Jsonl => {
            Box::new(JsonlRows { lines: BoundedLines::new(BufReader::new(input), max_line), max_line })
        }
        InputFormat::Csv => Box::new(CsvRows::new(RecordCapReader::new(input, max_line))?),
    })
}

struct JsonlRows<R> {
    lines: BoundedLines<R>,
    max_line: usize,
}

impl<R: std::io::BufRead> Iterator for JsonlRows<R> {
    type Item = Result<Row, String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (line, content) = match self.lines.next()? {
                Ok(item) => item,
                Err(e) => return Some(Err(format!("cannot read the input: {e}"))),
            };
            let bytes = match content {
                Line::Text(bytes) => bytes,
                Line::TooLong { bytes } => {
                    let reason = format!(
                        "line {line} is {bytes} bytes, over the {}-byte limit (--max-line-bytes)",
                        self.max_line
                    );
                    return Some(Ok(Row::Bad { line, email: None, reason }));
                }
            };
            let Ok(text) = std::str::from_utf8(&bytes) else {
                return Some(Ok(Row::Bad { line, email: None, reason: "the line is not valid UTF-8".into() }));
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            return Some(Ok(jsonl_row(line, text)));
        }
    }
}

fn jsonl_row(line: u64, text: &str) -> Row {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, PersonInput>(&mut deserializer) {
        Ok(input) => Row::Person { line, input },
        Err(e) => {
            let path = e.path().to_string();
            let reason = if path == "." || path == "?" || !e.inner().is_data() {
                format!("invalid JSON: {}", e.inner())
            } else {
                format!("invalid value at {path}: {}", e.inner())
            };
            Row::Bad { line, email: email_hint(text), reason }
        }
    }
}

/// The email of a line that failed to decode, if it can be read at all (for the report).
fn email_hint(text: &str) -> Option<String> {
    let value: Value = serde_json::from_str(text).ok()?;
    value.get("email_address")?.as_str().map(|s| s.trim().to_string())
}

/// Fields whose CSV cell is a boolean.
const BOOL_FIELDS: &[&str] = &["do_not_contact", "autotag_date"];
/// Fields whose CSV cell is an integer id.
const INT_FIELDS: &[&str] = &["account_id", "owner_id", "person_stage_id", "import_id"];
/// Fields whose CSV cell is a `;`-separated list.
const LIST_FIELDS: &[&str] = &["tags", "contact_restrictions"];
/// Text fields of [`PersonInput`].
const TEXT_FIELDS: &[&str] = &[
    "email_address",
    "first_name",
    "last_name",
    "city",
    "country",
    "crm_id",
    "crm_id_type",
    "home_phone",
    "job_seniority",
    "linkedin_url",
    "locale",
    "mobile_phone",
    "person_company_industry",
    "person_company_name",
    "person_company_website",
    "personal_email_address",
    "personal_website",
    "phone",
    "phone_extension",
    "secondary_email_address",
    "state",
    "title",
    "twitter_handle",
    "work_city",
    "work_country",
    "work_state",
];

struct CsvRows<R> {
    reader: csv::Reader<R>,
    names: Vec<String>,
    email_column: usize,
    record: csv::StringRecord,
    /// A read error to hand out after the bad row it caused.
    fatal: Option<String>,
    done: bool,
}

impl<R: Read> CsvRows<R> {
    fn new(input: R) -> Result<Self, String> {
        let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(input);
        let headers = reader.headers().map_err(|e| format!("cannot read the CSV header: {e}"))?.clone();
        let names: Vec<String> = headers.iter().map(|h| h.trim().to_string()).collect();
        let Some(email_column) = names.iter().position(|n| n == "email_address") else {
            return Err("the CSV header has no email_address column".to_string());
        };
        let unknown: Vec<&str> = names.iter().map(String::as_str).filter(|n| !known_column(n)).collect();
        if !unknown.is_empty() {
            tracing::warn!("ignoring unknown columns: {}", unknown.join(", "));
        }
        Ok(Self { reader, names, email_column, record: csv::StringRecord::new(), fatal: None, done: false })
    }
}

fn known_column(name: &str) -> bool {
    TEXT_FIELDS.contains(&name)
        || BOOL_FIELDS.contains(&name)
        || INT_FIELDS.contains(&name)
        || LIST_FIELDS.contains(&name)
        || name.starts_with("custom_fields.")
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<Row, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(fatal) = self.fatal.take() {
            self.done = true;
            return Some(Err(fatal));
        }
        if self.done {
            return None;
        }
        let line_guess = self.reader.position().line() + 1;
        match self.reader.read_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                let line = self.record.position().map(|p| p.line()).unwrap_or(line_guess);
                Some(Ok(match csv_row(&self.names, &self.record) {
                    Ok(input) => Row::Person { line, input },
                    Err(reason) => {
                        let email = self.record.get(self.email_column).filter(|e| !e.is_empty()).map(str::to_string);
                        Row::Bad { line, email, reason }
                    }
                }))
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(line_guess);
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    self.fatal = Some(format!("cannot read the CSV: {e}"));
                }
                Some(Ok(Row::Bad { line, email: None, reason: format!("malformed CSV row: {e}") }))
            }
        }
    }
}

/// Turns one CSV row into a [`PersonInput`]; the error names the column.
fn csv_row(names: &[String], record: &csv::StringRecord) -> Result<PersonInput, String> {
    let mut object = Map::new();
    let mut custom = BTreeMap::new();
    for (name, cell) in names.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        let name = name.as_str();
        if let Some(field) = name.strip_prefix("custom_fields.") {
            custom.insert(field.to_string(), Value::String(cell.to_string()));
        } else if BOOL_FIELDS.contains(&name) {
            let value = match cell.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => true,
                "false" | "no" | "0" => false,
                _ => return Err(format!("{name}: expected true or false, got {cell:?}")),
            };
            object.insert(name.to_string(), Value::Bool(value));
        } else if INT_FIELDS.contains(&name) {
            let value: i64 = cell.parse().map_err(|_| format!("{name}: expected an integer id, got {cell:?}"))?;
            object.insert(name.to_string(), Value::from(value));
        } else if LIST_FIELDS.contains(&name) {
            let items: Vec<Value> =
                cell.split(';').map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.into())).collect();
            object.insert(name.to_string(), Value::Array(items));
        } else if TEXT_FIELDS.contains(&name) {
            object.insert(name.to_string(), Value::String(cell.to_string()));
        }
    }
    if !custom.is_empty() {
        object.insert("custom_fields".to_string(), Value::Object(custom.into_iter().collect()));
    }
    serde_path_to_error::deserialize::<_, PersonInput>(Value::Object(object))
        .map_err(|e| format!("{}: {}", e.path(), e.inner()))
}
