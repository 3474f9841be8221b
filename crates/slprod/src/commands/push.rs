//! `slprod push people --from FILE.csv|FILE.jsonl`: upsert people by email and report, row by row, what
//! happened. A bad row (malformed CSV, missing email, invalid JSON line, value of the wrong type) fails on
//! its own; the others go on. Rows are read and sent in chunks of 100 (one lookup per chunk).
//!
//! Every row goes through the store's idempotency ledger, a per-email lock that holds across processes, and
//! the hash-chained audit log (`salesloft-sync`). A run is identified by the input file's content (or
//! `--run-id`): rerunning an interrupted push of the same file resumes it — finished rows replay their
//! recorded result, rows whose mutation was in doubt are looked up by email before anything is sent again.
//! Pushing an identical file again within the key retention (24 h) therefore sends only the lookups; pass a
//! new `--run-id` to apply it afresh. A rerun right after a crash does not wait for the dead process's leases
//! when it ran on this host (its pid is gone); a live holder's lease is waited out with a log line. Rows that
//! failed for a transient reason are tried again; permanent failures (422, 409) are replayed unless
//! `--retry-failed`. A paused store (the rollback switch) refuses the push.
//!
//! CSV: a header row names the columns after [`PersonInput`]'s fields (`email_address`, `first_name`, …);
//! `custom_fields.<name>` columns fill custom fields; `tags` and `contact_restrictions` are `;`-separated;
//! empty cells are left unset; unknown columns are ignored with a warning. JSON lines: one [`PersonInput`]
//! object per line. Row numbers in the report are line numbers of the file.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use salesloft_client::api::Upserted;
use salesloft_client::models::PersonInput;
use salesloft_client::upsert::{UpsertConfig, upsert_chunk_journaled};
use salesloft_client::{Client, Error};
use salesloft_sync::{JournalConfig, LedgerJournal, RunId, RunIdHasher};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::limits::{BoundedLines, Line, RecordCapReader};

/// Exit code: every row was created, updated or already up to date.
const EXIT_OK: i32 = 0;
/// Exit code: some rows failed (each is reported).
const EXIT_SOME_FAILED: i32 = 1;
/// Exit code: nothing could be done (no credential, unreadable file, store paused at start).
const EXIT_COULD_NOT_RUN: i32 = 2;
/// Exit code: the pause switch was turned on while the push ran; the rows not yet sent were left for a rerun.
const EXIT_PAUSED: i32 = 3;

/// Rows sent per lookup.
const CHUNK: usize = 100;

/// Arguments of `slprod push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// What to push.
    #[arg(value_enum)]
    pub resource: PushResource,
    /// Input file: `.csv` (header row) or `.jsonl` / `.ndjson` (one object per line).
    #[arg(long)]
    pub from: PathBuf,
    /// Input format; guessed from the file extension when absent.
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// Where and how to connect.
    #[command(flatten)]
    pub connect: super::pull::ConnectArgs,
    /// Summary format on standard output.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub report: ReportFormat,
    /// Writes in flight at once (the rate budget paces them).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Store URL for the idempotency ledger, locks and audit log: `sqlite://PATH` or `postgres://…`.
    #[arg(long, env = "SLPROD_STORE", default_value = salesloft_store::DEFAULT_STORE_URL)]
    pub store: String,
    /// Run id (letters, digits, `.`, `_`, `-`); default: derived from the input file's content, so rerunning
    /// the same file resumes it.
    #[arg(long)]
    pub run_id: Option<String>,
    /// How long a row's email lock and ledger lease last; rows left by a process that died are taken over
    /// after this. From 1s to 24h (bounded so lease arithmetic cannot overflow).
    #[arg(
        long,
        default_value = "90s",
        value_parser = crate::limits::duration_between(Duration::from_secs(1), Duration::from_secs(24 * 3600))
    )]
    pub lock_ttl: Duration,
    /// How long a row waits for another live process to release its email lock or ledger lease before it is
    /// reported as not done (a rerun tries it again); default: 4/3 of `--lock-ttl`. Leases of a process on
    /// this host that is gone (killed, crashed) are taken over at once, without waiting. At most 24h.
    #[arg(long, value_parser = crate::limits::duration_between(Duration::ZERO, Duration::from_secs(24 * 3600)))]
    pub lock_wait: Option<Duration>,
    /// Also send rows again that failed permanently (422 validation, 409 conflict) earlier in this run. Rows
    /// that failed for a transient reason (network, 5xx, timeout, lease, budget) are always tried again.
    #[arg(long)]
    pub retry_failed: bool,
    /// The audit chain's HMAC key (or SLPROD_AUDIT_KEY).
    #[command(flatten)]
    pub audit_key: super::audit_key::AuditKeyArgs,
    /// The longest input line (JSON lines) or record (CSV) accepted, in bytes. A longer JSON line fails as its
    /// own row; a longer CSV record stops the push (the reader cannot tell where it ends without reading it).
    #[arg(long, default_value_t = crate::limits::DEFAULT_MAX_LINE_BYTES, value_parser = clap::value_parser!(usize))]
    pub max_line_bytes: usize,
}

/// Resources `slprod push` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PushResource {
    /// People, upserted by email address.
    People,
}

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Human-readable summary and one line per failed row.
    Text,
    /// One JSON object.
    Json,
}

/// One failed row.
#[derive(Debug, Clone, Serialize)]
pub struct FailedRow {
    /// Line number in the input file.
    pub row: u64,
    /// The row's email, when it had one.
    pub email: Option<String>,
    /// Why it failed.
    pub reason: String,
}

/// The summary of a push.
#[derive(Debug, Default, Serialize)]
pub struct PushReport {
    /// Rows read (including bad ones).
    pub rows: u64,
    /// People created.
    pub created: u64,
    /// People updated.
    pub updated: u64,
    /// People that already had every value (nothing sent).
    pub unchanged: u64,
    /// Rows that failed.
    pub failed: u64,
    /// Rows left unsent because the pause switch was turned on during the push (a rerun finishes them).
    pub paused: u64,
    /// Each failed row, in file order.
    pub failures: Vec<FailedRow>,
}

impl PushReport {
    fn fail(&mut self, row: u64, email: Option<String>, reason: String) {
        self.failed += 1;
        self.failures.push(FailedRow { row, email, reason });
    }
}

/// Runs `slprod push`; returns 0 (all rows done), 1 (some rows failed), 2 (could not run), 3 (paused part-way).
pub async fn run(args: PushArgs) -> i32 {
    let PushResource::People = args.resource;
    let client = match args.connect.client() {
        Ok(client) => client,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    let code = push(&client, args).await;
    // A rotated token set whose save failed lives only in this process: save it before exiting.
    if let Err(error) = client.pipeline().save_pending_tokens().await {
        eprintln!(
            "error: the rotated OAuth tokens could not be saved ({error}); SalesLoft has revoked the stored refresh \
             token, so the app must be authorized again"
        );
        return code.max(EXIT_SOME_FAILED);
    }
    code
}

/// The push itself, with a connected client.
async fn push(client: &Client, args: PushArgs) -> i32 {
    let format = match args.format.or_else(|| guess_format(&args.from)) {
        Some(format) => format,
        None => {
            eprintln!("error: cannot tell the format of {}: pass --format csv|jsonl", args.from.display());
            return EXIT_COULD_NOT_RUN;
        }
    };
    let file = match std::fs::File::open(&args.from) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("error: cannot open {}: {e}", args.from.display());
            return EXIT_COULD_NOT_RUN;
        }
    };
    let run = match &args.run_id {
        Some(id) => RunId::new(id),
        None => run_id_of(&args.from),
    };
    let run = match run {
        Ok(run) => run,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    let store = match args.audit_key.open(&args.store).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: cannot open the store: {e}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    match store.pause().paused().await {
        Ok(None) => {}
        Ok(Some(pause)) => {
            eprintln!("error: syncs are paused (by {}: {}); nothing was sent", pause.by, pause.reason);
            return EXIT_COULD_NOT_RUN;
        }
        Err(e) => {
            eprintln!("error: cannot read the pause switch: {e}");
            return EXIT_COULD_NOT_RUN;
        }
    }
    // Expired keys and deliveries go first (retention: keys 24 h, deliveries 7 days); a failure only delays it.
    match store.reap().await {
        Ok(reaped) if reaped.ledger_keys + reaped.inbox_rows > 0 => tracing::info!(
            ledger_keys = reaped.ledger_keys,
            inbox_rows = reaped.inbox_rows,
            "reaped expired store rows"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "could not reap expired store rows; going on"),
    }
    eprintln!("push run {run} (store {})", store.url());
    let journal = LedgerJournal::new(
        store.clone(),
        run,
        JournalConfig {
            actor: "slprod push".to_string(),
            lock_ttl: args.lock_ttl,
            lock_wait: args.lock_wait.unwrap_or_else(|| (args.lock_ttl * 4 / 3).max(std::time::Duration::from_secs(5))),
            retry_failed: args.retry_failed,
        },
    );
    let config = UpsertConfig { concurrency: args.concurrency.max(1), ..UpsertConfig::default() };
    let mut report = PushReport::default();
    let mut pusher =
        Pusher { client, config: &config, journal: &journal, pending: Vec::with_capacity(CHUNK), paused_by: None };
    let max_line = args.max_line_bytes.max(1);
    let read = match format {
        InputFormat::Csv => read_csv(RecordCapReader::new(file, max_line), &mut pusher, &mut report).await,
        InputFormat::Jsonl => read_jsonl(file, max_line, &mut pusher, &mut report).await,
    };
    if let Err(message) = read {
        eprintln!("error: {message}");
        return EXIT_COULD_NOT_RUN;
    }
    pusher.flush(&mut report).await;
    store.close().await;
    report.failures.sort_by_key(|f| f.row);
    print_report(&report, args.report);
    if let Some((by, reason)) = &pusher.paused_by {
        eprintln!(
            "error: syncs were paused during the push (by {by}: {reason}); {} rows were not sent. \
             Run `slprod resume`, then the same push again to finish them",
            report.paused
        );
        return EXIT_PAUSED;
    }
    if report.failed == 0 { EXIT_OK } else { EXIT_SOME_FAILED }
}

fn guess_format(path: &Path) -> Option<InputFormat> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "csv" => Some(InputFormat::Csv),
        "jsonl" | "ndjson" | "json" => Some(InputFormat::Jsonl),
        _ => None,
    }
}

/// The run id of an input file: a hash of its content (streamed, so a large file is not held in memory).
fn run_id_of(path: &Path) -> Result<RunId, String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut hasher = RunIdHasher::default();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finish())
}

struct Pusher<'a> {
    client: &'a Client,
    config: &'a UpsertConfig,
    journal: &'a LedgerJournal,
    pending: Vec<(usize, PersonInput)>,
    /// Set once a row was stopped by the pause switch: the rest of the file is counted, not sent.
    paused_by: Option<(String, String)>,
}

impl Pusher<'_> {
    async fn push(&mut self, row: u64, input: PersonInput, report: &mut PushReport) {
        if self.paused_by.is_some() {
            report.paused += 1;
            return;
        }
        self.pending.push((row as usize, input));
        if self.pending.len() >= CHUNK {
            self.flush(report).await;
        }
    }

    async fn flush(&mut self, report: &mut PushReport) {
        if self.pending.is_empty() {
            return;
        }
        let rows = std::mem::take(&mut self.pending);
        for outcome in upsert_chunk_journaled(self.client, rows, self.config, self.journal).await {
            match outcome.result {
                Ok(Upserted::Created(_)) => report.created += 1,
                Ok(Upserted::Updated(_)) => report.updated += 1,
                Ok(Upserted::Unchanged(_)) => report.unchanged += 1,
                Err(Error::Paused { by, reason }) => {
                    report.paused += 1;
                    self.paused_by.get_or_insert((by, reason));
                }
                Err(error) => report.fail(outcome.index as u64, outcome.email, describe(&error)),
            }
        }
    }
}

/// A failure reason for the report (the error's own text; it never carries a credential).
fn describe(error: &Error) -> String {
    match error {
        Error::Construction { reason } => reason.clone(),
        other => other.to_string(),
    }
}

/// Reads JSON lines of at most `max_line` bytes; a longer line fails as its own row without being held in
/// memory.
async fn read_jsonl(
    file: std::fs::File,
    max_line: usize,
    pusher: &mut Pusher<'_>,
    report: &mut PushReport,
) -> Result<(), String> {
    for line in BoundedLines::new(BufReader::new(file), max_line) {
        let (row, line) = line.map_err(|e| format!("cannot read the input after line {}: {e}", report.rows))?;
        let line = match line {
            Line::Text(line) => line,
            Line::TooLong { bytes } => {
                report.rows += 1;
                report.fail(
                    row,
                    None,
                    format!("line {row} is {bytes} bytes, over the {max_line}-byte limit (--max-line-bytes)"),
                );
                continue;
            }
        };
        let text = match std::str::from_utf8(&line) {
            Ok(text) => text.trim(),
            Err(_) => {
                report.rows += 1;
                report.fail(row, None, "the line is not valid UTF-8".to_string());
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        report.rows += 1;
        let mut deserializer = serde_json::Deserializer::from_str(text);
        match serde_path_to_error::deserialize::<_, PersonInput>(&mut deserializer) {
            Ok(input) => pusher.push(row, input, report).await,
            Err(e) => {
                let email = email_hint(text);
                let path = e.path().to_string();
                let reason = if path == "." || path == "?" || !e.inner().is_data() {
                    format!("invalid JSON: {}", e.inner())
                } else {
                    format!("invalid value at {path}: {}", e.inner())
                };
                report.fail(row, email, reason);
            }
        }
    }
    Ok(())
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

async fn read_csv(
    file: RecordCapReader<std::fs::File>,
    pusher: &mut Pusher<'_>,
    report: &mut PushReport,
) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(file);
    let headers = reader.headers().map_err(|e| format!("cannot read the CSV header: {e}"))?.clone();
    let names: Vec<String> = headers.iter().map(|h| h.trim().to_string()).collect();
    if !names.iter().any(|n| n == "email_address") {
        return Err("the CSV header has no email_address column".to_string());
    }
    let unknown: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| {
            !(TEXT_FIELDS.contains(n)
                || BOOL_FIELDS.contains(n)
                || INT_FIELDS.contains(n)
                || LIST_FIELDS.contains(n)
                || n.starts_with("custom_fields."))
        })
        .collect();
    if !unknown.is_empty() {
        eprintln!("warning: ignoring unknown columns: {}", unknown.join(", "));
    }
    let mut record = csv::StringRecord::new();
    loop {
        let row_guess = reader.position().line() + 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let row = record.position().map(|p| p.line()).unwrap_or(row_guess);
                report.rows += 1;
                match csv_row(&names, &record) {
                    Ok(input) => pusher.push(row, input, report).await,
                    Err(reason) => {
                        let email = names
                            .iter()
                            .position(|n| n == "email_address")
                            .and_then(|i| record.get(i))
                            .filter(|e| !e.is_empty())
                            .map(str::to_string);
                        report.fail(row, email, reason);
                    }
                }
            }
            Err(e) => {
                let row = e.position().map(|p| p.line()).unwrap_or(row_guess);
                report.rows += 1;
                report.fail(row, None, format!("malformed CSV row: {e}"));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(format!("cannot read the CSV: {e}"));
                }
            }
        }
    }
    Ok(())
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

fn print_report(report: &PushReport, format: ReportFormat) {
    match format {
        ReportFormat::Json => match serde_json::to_string_pretty(report) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: cannot encode the report: {e}"),
        },
        ReportFormat::Text => {
            println!(
                "{} rows: {} created, {} updated, {} unchanged, {} failed",
                report.rows, report.created, report.updated, report.unchanged, report.failed
            );
            if report.paused > 0 {
                println!("{} rows not sent: syncs were paused during the push", report.paused);
            }
            for failure in &report.failures {
                match &failure.email {
                    Some(email) => println!("row {} ({email}): {}", failure.row, failure.reason),
                    None => println!("row {}: {}", failure.row, failure.reason),
                }
            }
        }
    }
}
