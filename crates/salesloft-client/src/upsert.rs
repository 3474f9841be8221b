//! Upsert people by email: batched lookups, then create or update.
//!
//! SalesLoft has no idempotency header and a retried `POST /people` can create a duplicate (FACTS.md §5.2),
//! while the email address is unique on the team (FACTS.md §5.3, 422 "taken" on a duplicate). So an upsert
//! looks people up first — up to 100 `email_addresses[]` in one request, cost 1 (FACTS.md §4.3) — then
//! updates the match (`PUT /people/{id}`) or creates (`POST /people`, marked repeatable with an idempotency
//! key because a repeat can only end in a 422 "taken", which is handled). A 422 "taken" on create means
//! someone created the person since the lookup: look that email up again and update. Cost ≈ N + N/100.
//!
//! Emails are compared trimmed and case-insensitively. A row without an email fails on its own (SalesLoft
//! also accepts phone + last name for a create, but an upsert *by email* needs one). Rows with the same email
//! are applied in order, so the second one updates what the first created.

use std::collections::HashMap;

use futures::{StreamExt, stream};

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::api::Upserted;
use crate::journal::{JournalOpen, Mutation, RowJournal, UpsertJournal};
use crate::models::{Person, PersonInput, normalize_email};
use crate::transport::IdempotencyKey;
use crate::{Client, Error};

/// The most emails one lookup sends (and the page size that returns them all).
pub const LOOKUP_BATCH: usize = 100;

/// How a batch upsert runs.
#[derive(Debug, Clone)]
pub struct UpsertConfig {
    /// Writes in flight at once (the pipeline's rate budget paces them). Default 4.
    pub concurrency: usize,
    /// Skip the `PUT` when the existing person already has every value the input sets (saves cost on
    /// re-runs). Default true.
    pub skip_unchanged: bool,
}

impl Default for UpsertConfig {
    fn default() -> Self {
        Self { concurrency: 4, skip_unchanged: true }
    }
}

/// What happened to one input row.
#[derive(Debug)]
pub struct UpsertOutcome {
    /// The row's position in the input (0-based).
    pub index: usize,
    /// The row's email as given (trimmed), if it had one.
    pub email: Option<String>,
    /// Created, updated or unchanged — or why the row failed.
    pub result: Result<Upserted, Error>,
}

/// Builder of a batch upsert by email; see [`crate::api::PeopleHandler::upsert_batch`]. Set the
/// concurrency, whether unchanged rows skip their `PUT`, and the journal that issues each row's idempotency
/// key (the store's ledger in `salesloft-sync`; without one every create gets a random key), then `send`.
#[must_use = "a batch upsert does nothing until `send` is awaited"]
pub struct UpsertBatch<'c, 'j> {
    client: &'c Client,
    inputs: Vec<PersonInput>,
    config: UpsertConfig,
    journal: &'j dyn UpsertJournal,
}

impl std::fmt::Debug for UpsertBatch<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Rows may hold PII: only their number is shown.
        f.debug_struct("UpsertBatch")
            .field("rows", &self.inputs.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<'c> UpsertBatch<'c, 'static> {
    /// A batch of `inputs` with the default [`UpsertConfig`] and no journal.
    pub fn new(client: &'c Client, inputs: Vec<PersonInput>) -> Self {
        Self { client, inputs, config: UpsertConfig::default(), journal: &NoJournal }
    }
}

impl<'c, 'j> UpsertBatch<'c, 'j> {
    /// Writes in flight at once (default 4; the pipeline's rate budget paces them).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.config.concurrency = concurrency;
        self
    }

    /// Whether a row whose person already has every value it sets skips the `PUT` (default true).
    pub fn skip_unchanged(mut self, skip: bool) -> Self {
        self.config.skip_unchanged = skip;
        self
    }

    /// Replaces the whole [`UpsertConfig`].
    pub fn config(mut self, config: UpsertConfig) -> Self {
        self.config = config;
        self
    }

    /// Reports every row and mutation to `journal`, which also issues each row's idempotency key (the batch
    /// counterpart of [`crate::api::UpsertByEmail::idempotency_key`]): a row the journal replays sends
    /// nothing, and an in-doubt row is looked up by email again before anything is sent.
    pub fn journal<'k>(self, journal: &'k dyn UpsertJournal) -> UpsertBatch<'c, 'k> {
        UpsertBatch { client: self.client, inputs: self.inputs, config: self.config, journal }
    }

    /// Runs the lookups and the creates or updates; one outcome per input, in input order.
    pub async fn send(self) -> Vec<UpsertOutcome> {
        upsert_people_journaled(self.client, self.inputs, &self.config, self.journal).await
    }
}

/// Upserts every input by email with the default [`UpsertConfig`]; one outcome per input, in input order.
/// The same as `client.people().upsert_batch(inputs).send()`.
///
/// ```no_run
/// # async fn run(client: salesloft_client::Client) {
/// use salesloft_client::{models::PersonInput, upsert_people};
/// let rows = vec![PersonInput::with_email("ada@example.com").first_name("Ada")];
/// for outcome in upsert_people(&client, rows).await {
///     match outcome.result {
///         Ok(done) => println!("{:?}: {}", outcome.email, done.kind()),
///         Err(error) => eprintln!("row {}: {error}", outcome.index + 1),
///     }
/// }
/// # }
/// ```
pub async fn upsert_people(client: &Client, inputs: Vec<PersonInput>) -> Vec<UpsertOutcome> {
    UpsertBatch::new(client, inputs).send().await
}

/// Upserts every input by email; one outcome per input, in input order. Chunks of 100 run one after the
/// other (so an email repeated in a later chunk finds the person an earlier chunk created). The same as
/// `client.people().upsert_batch(inputs).config(config.clone()).send()`.
pub async fn upsert_people_with(
    client: &Client,
    inputs: Vec<PersonInput>,
    config: &UpsertConfig,
) -> Vec<UpsertOutcome> {
    UpsertBatch::new(client, inputs).config(config.clone()).send().await
}

/// Like [`upsert_people_with`], with every row and mutation reported to `journal` — the store's idempotency
/// ledger and audit log in `salesloft-sync` (see [`crate::journal`]). A row the journal replays sends
/// nothing; an in-doubt row is looked up by email again before anything is sent.
pub async fn upsert_people_journaled(
    client: &Client,
    inputs: Vec<PersonInput>,
    config: &UpsertConfig,
    journal: &dyn UpsertJournal,
) -> Vec<UpsertOutcome> {
    let mut outcomes = Vec::with_capacity(inputs.len());
    let mut rows = inputs.into_iter().enumerate().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<(usize, PersonInput)> = rows.by_ref().take(LOOKUP_BATCH).collect();
        outcomes.extend(upsert_chunk_journaled(client, chunk, config, journal).await);
    }
    outcomes
}

/// Upserts up to 100 rows (`(index, input)`) with one lookup; more rows are split into several lookups.
/// Outcomes come back sorted by index.
pub async fn upsert_chunk(
    client: &Client,
    rows: Vec<(usize, PersonInput)>,
    config: &UpsertConfig,
) -> Vec<UpsertOutcome> {
    upsert_chunk_journaled(client, rows, config, &NoJournal).await
}

/// Rows sharing one email: (normalized email, email as spelled by the first row, `(index, input)` rows).
type EmailGroup = (String, String, Vec<(usize, PersonInput)>);

/// [`upsert_chunk`] with every row and mutation reported to `journal`.
pub async fn upsert_chunk_journaled(
    client: &Client,
    rows: Vec<(usize, PersonInput)>,
    config: &UpsertConfig,
    journal: &dyn UpsertJournal,
) -> Vec<UpsertOutcome> {
    let mut outcomes = Vec::with_capacity(rows.len());
    // Group rows by normalized email, keeping input order inside a group.
    let mut groups: Vec<EmailGroup> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for (index, input) in rows {
        let Some(email) = input.normalized_email() else {
            let result =
                Err(Error::Construction { reason: "missing email_address: upsert by email needs one".to_string() });
            outcomes.push(UpsertOutcome { index, email: None, result });
            continue;
        };
        let spelled = input.email_address.as_deref().unwrap_or_default().trim().to_string();
        let slot = *group_of.entry(email.clone()).or_insert_with(|| {
            groups.push((email, spelled, Vec::new()));
            groups.len() - 1
        });
        groups[slot].2.push((index, input));
    }

    // One lookup per 100 distinct emails (cost 1 each).
    let mut existing: HashMap<String, Person> = HashMap::new();
    let mut lookup_failed = false;
    // A journal that locks each email looks every row up under its lock instead (see
    // `UpsertJournal::looks_up_under_lock`).
    let batches = if journal.looks_up_under_lock() { &[][..] } else { &groups[..] };
    for batch in batches.chunks(LOOKUP_BATCH) {
        let emails: Vec<String> = batch.iter().map(|(_, spelled, _)| spelled.clone()).collect();
        match client.people().find_by_emails(emails).await {
            Ok(found) => {
                for person in found {
                    let Some(key) = person.email_address.as_deref().and_then(normalize_email) else {
                        continue;
                    };
                    // With "intentional duplicates" enabled a team may hold several; take the oldest id.
                    let keep = existing.get(&key).is_none_or(|current| person.id < current.id);
                    if keep {
                        existing.insert(key, person);
                    }
                }
            }
            Err(error) => {
                tracing::warn!(operation = "people.upsert", %error, "batched lookup failed; looking rows up one by one");
                lookup_failed = true;
            }
        }
    }

    let concurrency = config.concurrency.max(1);
    let results: Vec<Vec<UpsertOutcome>> = stream::iter(groups.into_iter().map(|(email, spelled, rows)| {
        let known = existing.remove(&email);
        async move {
            let mut known = known;
            let mut needs_lookup = lookup_failed;
            let mut out = Vec::with_capacity(rows.len());
            for (index, input) in rows {
                if needs_lookup {
                    match client.people().find_by_emails([spelled.clone()]).await {
                        Ok(found) => {
                            known = pick_match(&found, &email).cloned();
                            needs_lookup = false;
                        }
                        Err(error) => {
                            out.push(UpsertOutcome { index, email: Some(spelled.clone()), result: Err(error) });
                            continue;
                        }
                    }
                }
                let result =
                    run_row(client, journal, index, &input, &email, known.as_ref(), config.skip_unchanged).await;
                if let Ok(done) = &result {
                    known = done.person().cloned();
                }
                out.push(UpsertOutcome { index, email: Some(spelled.clone()), result });
            }
            out
        }
    }))
    .buffer_unordered(concurrency)
    .collect()
    .await;
    outcomes.extend(results.into_iter().flatten());
    outcomes.sort_by_key(|o| o.index);
    outcomes
}

/// The person among `found` whose email matches `email` (trimmed, case-insensitive); the oldest id wins.
pub fn pick_match<'p>(found: &'p [Person], email: &str) -> Option<&'p Person> {
    let wanted = normalize_email(email)?;
    found
        .iter()
        .filter(|p| p.email_address.as_deref().and_then(normalize_email).as_deref() == Some(wanted.as_str()))
        .min_by_key(|p| p.id)
}

/// Runs one row through `journal`: open it (replay, refuse or proceed), look an in-doubt row up again, apply
/// it, and report the outcome. A journal failure fails the row.
async fn run_row(
    client: &Client,
    journal: &dyn UpsertJournal,
    index: usize,
    input: &PersonInput,
    email: &str,
    known: Option<&Person>,
    skip_unchanged: bool,
) -> Result<Upserted, Error> {
    let (mut row, in_doubt, key) = match journal.open(index, email, input).await? {
        JournalOpen::Done(done) => return Ok(*done),
        JournalOpen::Refuse(error) => return Err(error),
        JournalOpen::Proceed { row, in_doubt, key } => (row, in_doubt, key),
    };
    let result = if in_doubt || journal.looks_up_under_lock() {
        // An earlier attempt may have landed, or another holder of the email's lock may have written since the
        // batch lookup: what SalesLoft holds now decides, not the batch lookup.
        match client.people().find_by_emails([email.to_string()]).await {
            Ok(found) => {
                let current = pick_match(&found, email).cloned();
                apply_with(client, input, email, current.as_ref(), key, skip_unchanged, row.as_mut()).await
            }
            Err(error) => Err(error),
        }
    } else {
        apply_with(client, input, email, known, key, skip_unchanged, row.as_mut()).await
    };
    let reconciled = in_doubt && matches!(result, Ok(Upserted::Unchanged(_)));
    row.finish(&result, reconciled).await?;
    result
}

/// Applies one input given what the lookup found (`existing`), skipping unchanged persons.
pub async fn apply(
    client: &Client,
    input: &PersonInput,
    email: &str,
    existing: Option<&Person>,
    key: IdempotencyKey,
) -> Result<Upserted, Error> {
    apply_with(client, input, email, existing, key, true, &mut NoRowJournal).await
}

async fn apply_with(
    client: &Client,
    input: &PersonInput,
    email: &str,
    existing: Option<&Person>,
    key: IdempotencyKey,
    skip_unchanged: bool,
    row: &mut dyn RowJournal,
) -> Result<Upserted, Error> {
    let people = client.people();
    if let Some(person) = existing {
        if skip_unchanged && input.is_satisfied_by(person) {
            return Ok(Upserted::Unchanged(person.clone()));
        }
        let mutation = Mutation::Update(person.id);
        row.sending(mutation, &body_of(input)).await?;
        let result = row.guard(people.update(person.id, input).boxed()).await;
        row.answered(mutation, answered_status(&result)).await?;
        return result.map(Upserted::Updated);
    }
    row.sending(Mutation::Create, &body_of(input)).await?;
    let created = row.guard(people.create_with_key(input, Some(key)).boxed()).await;
    row.answered(Mutation::Create, answered_status(&created)).await?;
    match created {
        Ok(person) => Ok(Upserted::Created(person)),
        Err(error) if error.validation().is_some_and(|v| v.is_taken("email_address")) => {
            // Created behind our back since the lookup (or a retried POST that had landed): look up, update.
            let spelled = input.email_address.as_deref().unwrap_or(email).trim().to_string();
            let mut emails = vec![spelled.clone()];
            if let Some(lower) = normalize_email(&spelled).filter(|lower| *lower != spelled) {
                emails.push(lower);
            }
            let found = people.find_by_emails(emails).await?;
            match pick_match(&found, email) {
                Some(person) => {
                    let mutation = Mutation::Update(person.id);
                    row.sending(mutation, &body_of(input)).await?;
                    let result = row.guard(people.update(person.id, input).boxed()).await;
                    row.answered(mutation, answered_status(&result)).await?;
                    result.map(Upserted::Updated)
                }
                None => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

/// The JSON body of a person mutation, as the journal records it.
fn body_of(input: &PersonInput) -> serde_json::Value {
    serde_json::to_value(input).unwrap_or(serde_json::Value::Null)
}

/// The status SalesLoft answered a mutation with; `None` when no answer came (it may still have landed).
fn answered_status<T>(result: &Result<T, Error>) -> Option<u16> {
    match result {
        Ok(_) => Some(200),
        Err(error) => error.status().map(|status| status.as_u16()),
    }
}

/// The journal of a plain upsert: records nothing, never in doubt.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoJournal;

impl UpsertJournal for NoJournal {
    fn open<'a>(
        &'a self,
        _index: usize,
        _email: &'a str,
        _input: &'a PersonInput,
    ) -> BoxFuture<'a, Result<JournalOpen, Error>> {
        // A POST /people repeat can only end in 422 "taken", which the upsert handles: a key marks it repeatable.
        async {
            Ok(JournalOpen::Proceed { row: Box::new(NoRowJournal), in_doubt: false, key: IdempotencyKey::random() })
        }
        .boxed()
    }
}

/// The row journal of [`NoJournal`].
#[derive(Debug, Clone, Copy, Default)]
struct NoRowJournal;

impl RowJournal for NoRowJournal {
    fn sending<'a>(&'a mut self, _: Mutation, _: &'a serde_json::Value) -> BoxFuture<'a, Result<(), Error>> {
        async { Ok(()) }.boxed()
    }

    fn answered<'a>(&'a mut self, _: Mutation, _: Option<u16>) -> BoxFuture<'a, Result<(), Error>> {
        async { Ok(()) }.boxed()
    }

    fn finish<'a>(self: Box<Self>, _: &'a Result<Upserted, Error>, _: bool) -> BoxFuture<'a, Result<(), Error>> {
        async { Ok(()) }.boxed()
    }
}
