//! `POST /api/people/upsert`: create or update one person by email, idempotently (issue 9).
//!
//! The body is a person input (`salesloft_client::models::PersonInput`, FACTS.md §5.3) with `email_address`
//! required; an unknown field is a 400 that names it, so a typo does not silently drop a value. The header
//! `Idempotency-Key` is required ([`super`] has the whole status table).
//!
//! The work is the client's upsert by email (`salesloft_client::upsert::upsert_people_journaled`: look up,
//! then create or update) run through the store-backed journal of `slprod push`
//! (`salesloft_sync::LedgerJournal::for_request`): the per-email lock that holds across replicas, with the
//! lookup made under it (so two requests for one email with *different* keys make one person even where
//! the team allows duplicate emails — DESIGN.md DATA-2; one lookup, cost 1, per request), the ledger's
//! recovery points (an in-doubt create is looked up by email before anything is sent again), and one audit
//! record per mutation written in the same transaction as its ledger step.
//!
//! | result | status | body |
//! |---|---|---|
//! | no person had the email: created | 201 | `{"data": <person>, "action": "created"}` |
//! | a person had it and was updated | 200 | `{"data": <person>, "action": "updated"}` |
//! | a person had it with every value already | 200 | `{"data": <person>, "action": "unchanged"}` (nothing sent) |
//!
//! A replay answers the first status and body with `Idempotent-Replayed: true`. The person is kept in the
//! ledger entry for the key retention (24 h by default) so that the replayed body is the first one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use futures::FutureExt;
use futures::future::BoxFuture;
use http::{HeaderMap, StatusCode};
use salesloft_client::api::Upserted;
use salesloft_client::journal::{JournalOpen, UpsertJournal};
use salesloft_client::models::PersonInput;
use salesloft_client::upsert::{UpsertConfig, upsert_people_journaled};
use salesloft_client::{Client, Error};
use salesloft_store::{LedgerRecord, Phase, StoreError};
use salesloft_sync::{JournalConfig, LedgerJournal, Refusal};
use serde_json::{Map, Value, json};

use super::{answer, conflict, count, fingerprint, in_progress, refusal_answer};
use crate::Shared;
use crate::respond;

/// The endpoint's name in ledger keys and metrics.
pub const ENDPOINT: &str = "people.upsert";

/// How long a request waits for another request (any key) to release its email's lock before it answers
/// 503 with `Retry-After`.
pub const EMAIL_LOCK_WAIT: Duration = Duration::from_secs(30);

/// `POST /api/people/upsert`.
pub(crate) async fn upsert(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let (response, outcome) = run(&shared, &headers, &body).await;
    count(ENDPOINT, outcome);
    response
}

async fn run(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> (Response, &'static str) {
    let Some(caller) = super::caller(shared, headers) else {
        return (respond::unauthorized(), "unauthorized");
    };
    let key = match super::idempotency_key(headers) {
        Ok(key) => key,
        Err(message) => return (respond::error(StatusCode::BAD_REQUEST, message), "invalid"),
    };
    let map = match super::json_object(body) {
        Ok(map) => map,
        Err(message) => return (respond::error(StatusCode::BAD_REQUEST, message), "invalid"),
    };
    let input = match person_input(&map) {
        Ok(input) => input,
        Err(message) => return (respond::error(StatusCode::BAD_REQUEST, message), "invalid"),
    };
    if let Some(response) = super::paused(shared).await {
        return (response, "paused");
    }
    let ledger_key = super::ledger_key(ENDPOINT, key);
    let fingerprint = fingerprint(&Value::Object(map));

    // Fast path, read only: a key already answered replays without a lookup at SalesLoft, a key in flight
    // answers 409 at once instead of queueing on the email lock. A race past this check is settled by the
    // journal's own `begin`.
    match shared.store.ledger().get(&ledger_key).await {
        Ok(Some(record)) => {
            if let Some(settled) = settled(shared, &record, &fingerprint) {
                return settled;
            }
        }
        Ok(None) => {}
        Err(error) => return (super::store_failed(&error), "store_failed"),
    }

    let config = JournalConfig {
        actor: format!("gateway {caller}"),
        lock_ttl: salesloft_store::DEFAULT_LOCK_TIMEOUT,
        lock_wait: EMAIL_LOCK_WAIT,
        retry_failed: false,
        record_person: true,
        lookup_under_lock: true,
    };
    let journal = Observed {
        inner: LedgerJournal::for_request(shared.store.clone(), ledger_key, fingerprint, config),
        replayed: AtomicBool::new(false),
    };
    let client = Client::new(shared.pipeline.clone());
    let upsert = UpsertConfig { concurrency: 1, skip_unchanged: true };
    let outcome = upsert_people_journaled(&client, vec![input], &upsert, &journal).await.into_iter().next();
    let Some(outcome) = outcome else {
        return (respond::error(StatusCode::INTERNAL_SERVER_ERROR, "the upsert gave no outcome"), "error");
    };
    match outcome.result {
        Ok(done) => {
            let replayed = journal.replayed.load(Ordering::SeqCst);
            let (status, body) = success(&done);
            (answer(status, body, replayed), if replayed { "replayed" } else { done.kind() })
        }
        Err(error) => failure(shared, &error),
    }
}

/// The answer to a finished upsert (first time and replay alike).
fn success(done: &Upserted) -> (StatusCode, Value) {
    let status = if matches!(done, Upserted::Created(_)) { StatusCode::CREATED } else { StatusCode::OK };
    let person = serde_json::to_value(done.person()).unwrap_or(Value::Null);
    (status, json!({"data": person, "action": done.kind()}))
}

/// The status of a recorded `kind`.
fn status_of(kind: &str) -> StatusCode {
    if kind == "created" { StatusCode::CREATED } else { StatusCode::OK }
}

/// What the ledger already settles for this request, read without taking anything: another body (409), a
/// stored answer (replay), a live lease (409 + `Retry-After`). `None` when the request must run.
fn settled(shared: &Shared, record: &LedgerRecord, fingerprint: &str) -> Option<(Response, &'static str)> {
    let now = shared.store.now();
    if record.created_at + shared.store.options().key_retention <= now {
        return None; // expired: `begin` starts it afresh, as Stripe does after pruning
    }
    if record.fingerprint != fingerprint {
        return Some((conflict(), "conflict"));
    }
    match (record.phase, record.result.as_ref()) {
        (Phase::Completed, Some(result)) => {
            let kind = result.get("kind").and_then(Value::as_str)?;
            let person = result.get("person")?;
            let body = json!({"data": person, "action": kind});
            Some((answer(status_of(kind), body, true), "replayed"))
        }
        (Phase::Failed, Some(result)) if is_permanent(result) => {
            let (status, body) = refusal_answer(result);
            Some((answer(status, body, true), "replayed"))
        }
        (Phase::Started | Phase::RequestSent, _) => {
            let until = record.locked_until.filter(|until| *until > now)?;
            Some((in_progress(until, now), "in_progress"))
        }
        _ => None,
    }
}

/// A recorded failure that is replayed (a 422 or 409 answer; see `salesloft_sync::failure_record`).
fn is_permanent(recorded: &Value) -> bool {
    recorded.get("status").and_then(Value::as_u64).is_some_and(|s| s == 409 || s == 422)
}

/// The answer to a failed upsert.
fn failure(shared: &Shared, error: &Error) -> (Response, &'static str) {
    if let Error::Paused { by, reason } = error {
        return (super::paused_during(by, reason), "paused");
    }
    if let Error::Journal { source: Some(source), .. } = error {
        if let Some(refusal) = source.downcast_ref::<Refusal>() {
            return match refusal {
                Refusal::Conflict => (conflict(), "conflict"),
                Refusal::InProgress { until, .. } => (in_progress(*until, shared.store.now()), "in_progress"),
                Refusal::Failed(recorded) => {
                    let (status, body) = refusal_answer(recorded);
                    (answer(status, body, true), "replayed")
                }
                _ => {
                    let mut response = respond::error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "another request kept this email locked; retry with the same Idempotency-Key",
                    );
                    response.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
                    (response, "transient")
                }
            };
        }
        if let Some(store) = source.downcast_ref::<StoreError>() {
            return (super::store_failed(store), "store_failed");
        }
        return (super::store_failed(error), "store_failed");
    }
    if super::is_definitive(error) {
        let (status, body) = refusal_answer(&salesloft_sync::failure_record(error));
        return (answer(status, body, false), "refused");
    }
    (super::transient(error), "transient")
}

/// The person input of a request body, or the 400 message: a bad value names its JSON path, an unknown field
/// is named, and `email_address` must be present and non-empty.
pub fn person_input(map: &Map<String, Value>) -> Result<PersonInput, String> {
    let input: PersonInput = serde_path_to_error::deserialize(Value::Object(map.clone()))
        .map_err(|error| format!("invalid value at {}: {}", error.path(), error.inner()))?;
    if let Some(unknown) = map.iter().find(|(name, value)| !is_person_field(name, value)) {
        return Err(format!("unknown field {:?}: not a person input field (FACTS.md §5.3)", unknown.0));
    }
    if input.normalized_email().is_none() {
        return Err("email_address is required: the upsert is by email".to_string());
    }
    Ok(input)
}

/// Whether `name` is a field of `PersonInput`: a one-field object with it, deserialized and serialized again,
/// keeps the field. Probed with the given value, then with a value of each JSON type (a `null` value says
/// nothing), so the check follows the model without a second list of its fields.
fn is_person_field(name: &str, value: &Value) -> bool {
    let probes = [value.clone(), json!("x"), json!(1), json!(true), json!([]), json!({})];
    probes.into_iter().filter(|probe| !probe.is_null()).any(|probe| {
        let mut one = Map::new();
        one.insert(name.to_string(), probe);
        serde_json::from_value::<PersonInput>(Value::Object(one))
            .ok()
            .and_then(|input| serde_json::to_value(input).ok())
            .is_some_and(|back| back.get(name).is_some())
    })
}

/// The journal of one request, noting whether the ledger replayed a finished result (so the answer carries
/// `Idempotent-Replayed: true`).
struct Observed {
    inner: LedgerJournal,
    replayed: AtomicBool,
}

impl UpsertJournal for Observed {
    fn open<'a>(
        &'a self,
        index: usize,
        email: &'a str,
        input: &'a PersonInput,
    ) -> BoxFuture<'a, Result<JournalOpen, Error>> {
        async move {
            let open = self.inner.open(index, email, input).await?;
            if matches!(open, JournalOpen::Done(_)) {
                self.replayed.store(true, Ordering::SeqCst);
            }
            Ok(open)
        }
        .boxed()
    }

    fn looks_up_under_lock(&self) -> bool {
        self.inner.looks_up_under_lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn person_inputs_need_an_email_and_only_known_fields() {
        let ok =
            person_input(&object(json!({"email_address": "a@x.com", "first_name": "A", "tags": [], "city": null})));
        assert_eq!(ok.expect("valid").first_name.as_deref(), Some("A"));
        for (body, says) in [
            (json!({"email_address": "a@x.com", "frist_name": "A"}), "\"frist_name\""),
            (json!({"email_address": "a@x.com", "bogus": null}), "\"bogus\""),
            (json!({"first_name": "A"}), "email_address is required"),
            (json!({"email_address": "  "}), "email_address is required"),
            (json!({"email_address": "a@x.com", "owner_id": "seven"}), "owner_id"),
        ] {
            let error = person_input(&object(body.clone())).expect_err("refused");
            assert!(error.contains(says), "{body}: expected {says:?} in {error:?}");
        }
    }

    #[test]
    fn created_is_201_and_the_rest_200() {
        let person: salesloft_client::models::Person =
            serde_json::from_value(json!({"id": 7, "updated_at": "2024-01-01T00:00:00Z"})).expect("person");
        assert_eq!(success(&Upserted::Created(person.clone())).0, StatusCode::CREATED);
        assert_eq!(success(&Upserted::Updated(person.clone())).0, StatusCode::OK);
        let (status, body) = success(&Upserted::Unchanged(person));
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["action"], "unchanged");
        assert_eq!(body["data"]["id"], 7);
        assert_eq!(status_of("created"), StatusCode::CREATED);
        assert_eq!(status_of("updated"), StatusCode::OK);
    }
}
