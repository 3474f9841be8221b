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
        /// The person to upsert (boxed: a person is large, a bad row small).
        input: Box<PersonInput>,
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
pub fn rows<R: Read + Send + 'static>(
    format: InputFormat,
    input: R,
    max_line: usize,
) -> Result<Box<dyn Iterator<Item = Result<Row, String>> + Send>, String> {
    let max_line = max_line.max(1);
    Ok(match format {
        InputFormat::Jsonl => {
            Box::new(JsonlRows { lines: BoundedLines::new(BufReader::new(input), max_line), max_line })
        }
        InputFormat::Csv => Box::new(CsvRows::new(RecordCapReader::new(input, max_line))?),
    })
}

/// The push jobs' reader of `slprod serve` (`[[jobs]] kind = "push"`): the same formats, guessed from the
/// extension, and the same line limit as `slprod push`, so a job reads a file exactly as the command does.
#[derive(Debug, Clone, Copy)]
pub struct JobRowReader {
    /// The longest line or record accepted, in bytes.
    pub max_line: usize,
}

impl Default for JobRowReader {
    fn default() -> Self {
        Self { max_line: crate::limits::DEFAULT_MAX_LINE_BYTES }
    }
}

impl salesloft_sync::jobs::RowReader for JobRowReader {
    fn rows(&self, path: &std::path::Path) -> Result<salesloft_sync::jobs::SourceRows, String> {
        use salesloft_sync::jobs::SourceRow;
        let format = InputFormat::guess(path)
            .ok_or_else(|| format!("cannot tell the format of {}: name it .csv or .jsonl", path.display()))?;
        let file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let rows = rows(format, file, self.max_line)?.map(|row| {
            row.map(|row| match row {
                Row::Person { line, input } => SourceRow::Person { line, input },
                Row::Bad { line, email, reason } => SourceRow::Bad { line, email, reason },
            })
        });
        Ok(Box::new(rows))
    }
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
        Ok(input) => Row::Person { line, input: Box::new(input) },
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
                    Ok(input) => Row::Person { line, input: Box::new(input) },
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The jobs' reader reads a file as `slprod push --from` does: format from the extension, bad rows kept
    /// as such, line numbers of the file.
    #[test]
    fn the_job_reader_reads_csv_and_json_lines_by_extension() {
        use salesloft_sync::jobs::{RowReader as _, SourceRow};
        let dir = tempfile::tempdir().expect("dir");
        let csv = dir.path().join("people.csv");
        std::fs::write(&csv, "email_address,first_name\nada@example.com,Ada\n,Nobody\n").expect("write");
        let rows: Vec<_> = JobRowReader::default().rows(&csv).expect("csv").collect::<Result<_, _>>().expect("rows");
        assert!(matches!(&rows[0], SourceRow::Person { line: 2, input } if input.first_name.as_deref() == Some("Ada")));
        // A row without an email reads fine; the upsert fails it on its own (the push does the same).
        assert!(matches!(&rows[1], SourceRow::Person { line: 3, input } if input.email_address.is_none()));
        let jsonl = dir.path().join("people.jsonl");
        std::fs::write(&jsonl, "{\"email_address\": \"b@example.com\"}\n\n{oops\n").expect("write");
        let rows: Vec<_> =
            JobRowReader::default().rows(&jsonl).expect("jsonl").collect::<Result<_, _>>().expect("rows");
        assert!(matches!(&rows[0], SourceRow::Person { line: 1, .. }), "{rows:?}");
        assert!(matches!(&rows[1], SourceRow::Bad { line: 3, .. }), "{rows:?}");
        let error = JobRowReader::default().rows(&dir.path().join("people.txt")).err().expect("no format");
        assert!(error.contains(".csv or .jsonl"), "{error}");
    }
    use proptest::prelude::*;

    /// One generated line and what the reader must make of it.
    #[derive(Debug, Clone)]
    enum Expect {
        Person(String),
        Bad,
        Blank,
    }

    fn read(format: InputFormat, text: String, max_line: usize) -> (Vec<Row>, Option<String>) {
        let mut rows = Vec::new();
        let iter = match rows_of(format, text.into_bytes(), max_line) {
            Ok(iter) => iter,
            Err(error) => return (rows, Some(error)),
        };
        for row in iter {
            match row {
                Ok(row) => rows.push(row),
                Err(error) => return (rows, Some(error)),
            }
        }
        (rows, None)
    }

    fn rows_of(
        format: InputFormat,
        bytes: Vec<u8>,
        max_line: usize,
    ) -> Result<Box<dyn Iterator<Item = Result<Row, String>> + Send>, String> {
        rows(format, std::io::Cursor::new(bytes), max_line)
    }

    fn email() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,8}@[a-z]{1,6}\\.example"
    }

    fn jsonl_line() -> impl Strategy<Value = (String, Expect)> {
        prop_oneof![
            (email(), "[ -~&&[^\"\\\\]]{0,12}").prop_map(|(email, name)| (
                format!(r#"{{"email_address":"{email}","first_name":"{name}"}}"#),
                Expect::Person(email)
            )),
            email().prop_map(|email| (
                format!(r#"  {{"email_address": "{email}", "do_not_contact": true}}  "#),
                Expect::Person(email)
            )),
            // Not JSON at all, a wrong type, a bad boolean, a truncated object.
            "[a-z#]{1,10}".prop_map(|text| (format!("#{text}"), Expect::Bad)),
            any::<i64>().prop_map(|n| (format!(r#"{{"email_address": {n}}}"#), Expect::Bad)),
            email()
                .prop_map(|email| (format!(r#"{{"email_address":"{email}","do_not_contact":"maybe"}}"#), Expect::Bad)),
            email().prop_map(|email| (format!(r#"{{"email_address":"{email}""#), Expect::Bad)),
            Just((String::new(), Expect::Blank)),
            Just(("   \t".to_string(), Expect::Blank)),
        ]
    }

    fn csv_row() -> impl Strategy<Value = (String, Expect)> {
        prop_oneof![
            (email(), "[A-Za-z ]{0,8}", prop_oneof![Just(""), Just("true"), Just("no"), Just("1")])
                .prop_map(|(email, name, flag)| (format!("{email},{name},{flag}"), Expect::Person(email))),
            (email(), "[A-Za-z]{1,8}")
                .prop_map(|(email, name)| (format!("\"{email}\",\"{name}, jr\",false"), Expect::Person(email))),
            // A bad boolean, a bad field count.
            (email(), "[a-z]{2,6}")
                .prop_filter("not a boolean", |(_, flag)| !["true", "false", "yes", "no"].contains(&flag.as_str()))
                .prop_map(|(email, flag)| (format!("{email},x,{flag}"), Expect::Bad)),
            email().prop_map(|email| (email, Expect::Bad)),
            email().prop_map(|email| (format!("{email},a,true,extra"), Expect::Bad)),
        ]
    }

    /// Every expected person comes out with its line; every bad line is reported with its line.
    fn check(rows: &[Row], expected: &[(u64, Expect)]) -> Result<(), TestCaseError> {
        let wanted: Vec<&(u64, Expect)> = expected.iter().filter(|(_, e)| !matches!(e, Expect::Blank)).collect();
        prop_assert_eq!(rows.len(), wanted.len(), "rows {:?}", rows);
        for (row, (line, expect)) in rows.iter().zip(wanted) {
            match (row, expect) {
                (Row::Person { line: got, input }, Expect::Person(email)) => {
                    prop_assert_eq!(got, line);
                    prop_assert_eq!(input.email_address.as_deref(), Some(email.as_str()));
                }
                (Row::Bad { line: got, reason, .. }, Expect::Bad) => {
                    prop_assert_eq!(got, line);
                    prop_assert!(!reason.is_empty());
                }
                (row, expect) => prop_assert!(false, "line {}: expected {:?}, got {:?}", line, expect, row),
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

        #[test]
        fn jsonl_rows_are_read_or_reported_with_their_line(lines in proptest::collection::vec(jsonl_line(), 0..40)) {
            let text: String = lines.iter().map(|(line, _)| format!("{line}\n")).collect();
            let expected: Vec<(u64, Expect)> =
                lines.into_iter().enumerate().map(|(i, (_, e))| (i as u64 + 1, e)).collect();
            let (rows, error) = read(InputFormat::Jsonl, text, 4096);
            prop_assert!(error.is_none(), "{:?}", error);
            check(&rows, &expected)?;
        }

        #[test]
        fn csv_rows_are_read_or_reported_with_their_line(lines in proptest::collection::vec(csv_row(), 0..40)) {
            let text: String = std::iter::once("email_address,first_name,do_not_contact\n".to_string())
                .chain(lines.iter().map(|(line, _)| format!("{line}\n")))
                .collect();
            let expected: Vec<(u64, Expect)> =
                lines.into_iter().enumerate().map(|(i, (_, e))| (i as u64 + 2, e)).collect();
            let (rows, error) = read(InputFormat::Csv, text, 4096);
            prop_assert!(error.is_none(), "{:?}", error);
            check(&rows, &expected)?;
        }

        /// Arbitrary bytes never panic either reader, and line numbers never go back (JSON lines: they grow; a
        /// CSV record ended by a lone `\r` shares its `\n`-counted line with the next).
        #[test]
        fn arbitrary_input_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            max_line in 1usize..64,
            csv in any::<bool>(),
        ) {
            let format = if csv { InputFormat::Csv } else { InputFormat::Jsonl };
            let mut prefixed = if csv { b"email_address,tags\n".to_vec() } else { Vec::new() };
            prefixed.extend_from_slice(&bytes);
            if let Ok(iter) = rows_of(format, prefixed, max_line) {
                let mut last = 0;
                for row in iter {
                    let Ok(row) = row else { break };
                    let line = match row { Row::Person { line, .. } | Row::Bad { line, .. } => line };
                    prop_assert!(line > last || (csv && line == last), "line {} after {}", line, last);
                    last = line;
                }
            }
        }
    }

    #[test]
    fn a_long_jsonl_line_fails_alone_and_a_long_csv_record_stops_the_reading() {
        let text = format!("{{\"email_address\":\"a@b.example\"}}\n{}\n{{}}\n", "x".repeat(100));
        let (rows, error) = read(InputFormat::Jsonl, text, 40);
        assert!(error.is_none());
        assert!(matches!(&rows[1], Row::Bad { line: 2, reason, .. } if reason.contains("over the 40-byte limit")));
        assert_eq!(rows.len(), 3);
        let text = format!("email_address\na@b.example\n{}\n", "x".repeat(100));
        let (rows, error) = read(InputFormat::Csv, text, 40);
        // The CSV reader fills its buffer ahead, so the error may come before the rows above it are handed out.
        assert!(error.as_ref().is_some_and(|e| e.contains("line 3")), "the reading stops naming the record's line");
        assert!(rows.iter().all(|row| matches!(row, Row::Person { line: 2, .. } | Row::Bad { line: 3, .. })));
        let (_, error) = read(InputFormat::Csv, "first_name\nx\n".into(), 40);
        assert_eq!(error.as_deref(), Some("the CSV header has no email_address column"));
    }
}
