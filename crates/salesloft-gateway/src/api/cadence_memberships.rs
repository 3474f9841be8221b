//! `POST /api/cadence_memberships`: add a person to a cadence, idempotently (issue 9).
//!
//! The body is `{"person_id", "cadence_id", "user_id"?, "step_id"?}`, positive integers; anything else is a
//! 400 naming the field. The header `Idempotency-Key` is required ([`super`] has the whole status table).
//!
//! | result | status | body |
//! |---|---|---|
//! | added (or already on the cadence: SalesLoft keeps one membership record, FACTS.md §5.4) | 201 | `{"data": <membership>}` |
//!
//! The ledger steps (brandur's recovery points, research/anchors.md §3): `begin` → `advance_to_send` (refused
//! in the same transaction while paused) → the create (its lease renewed while it runs,
//! `salesloft_sync::lease_keeper`) → `complete` / `fail` with the mutation's audit
//! record in the same transaction. A transient failure releases the lease, recording the audit record
//! first when the request may have reached SalesLoft. A key left at *request sent* by a gateway that died is
//! **in doubt**: the retry lists the person's memberships of the cadence (`currently_on_cadence=true`)
//! before sending anything, and a membership found completes the key with a
//! `cadence_memberships.reconcile` audit record instead of a second create. The answer (status and body) is
//! stored in the ledger and replayed with `Idempotent-Replayed: true`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use futures::FutureExt;
use http::{HeaderMap, StatusCode};
use salesloft_client::clock::SystemClock;
use salesloft_client::models::{CadenceId, CadenceMembership, PersonId, StepId, UserId};
use salesloft_client::{Client, Error};
use salesloft_store::{AuditEntry, Begin, Lease, Phase, StoreError};
use salesloft_sync::lease_keeper::{self, LeaseTiming};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{answer, conflict, count, fingerprint, in_progress, refusal_answer};
use crate::Shared;
use crate::respond;

/// The endpoint's name in ledger keys, metrics and audit records.
pub const ENDPOINT: &str = "cadence_memberships.create";

/// The request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddToCadence {
    /// The person to add.
    pub person_id: i64,
    /// The cadence.
    pub cadence_id: i64,
    /// Add on behalf of this user (SalesLoft's default: the caller of the API key).
    #[serde(default)]
    pub user_id: Option<i64>,
    /// Start at this step.
    #[serde(default)]
    pub step_id: Option<i64>,
}

impl AddToCadence {
    /// Parses and checks a body: the ids must be positive integers; a missing, unknown or mistyped field is
    /// named in the message.
    pub fn parse(body: &Value) -> Result<Self, String> {
        let request: Self = serde_path_to_error::deserialize(body.clone())
            .map_err(|error| format!("invalid body at {}: {}", error.path(), error.inner()))?;
        let ids = [
            ("person_id", Some(request.person_id)),
            ("cadence_id", Some(request.cadence_id)),
            ("user_id", request.user_id),
            ("step_id", request.step_id),
        ];
        if let Some((name, _)) = ids.iter().find(|(_, id)| id.is_some_and(|id| id <= 0)) {
            return Err(format!("{name} must be a positive integer"));
        }
        Ok(request)
    }
}

/// `POST /api/cadence_memberships`.
pub(crate) async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let (response, outcome) = run(&shared, &headers, &body).await;
    count(ENDPOINT, outcome);
    response
}

/// One request's context for the ledger steps.
struct Call<'a> {
    shared: &'a Shared,
    client: Client,
    request: AddToCadence,
    caller: String,
    key: String,
    correlation_id: Option<String>,
}

async fn run(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> (Response, &'static str) {
    let Some(caller) = super::caller(shared, headers) else {
        return (respond::unauthorized(), "unauthorized");
    };
    let key = match super::idempotency_key(headers) {
        Ok(key) => key,
        Err(message) => return (respond::error(StatusCode::BAD_REQUEST, message), "invalid"),
    };
    let body = match super::json_object(body) {
        Ok(map) => Value::Object(map),
        Err(message) => return (respond::error(StatusCode::BAD_REQUEST, message), "invalid"),
    };
    let request = match AddToCadence::parse(&body) {
        Ok(request) => request,
        Err(message) => return (respond::error(StatusCode::BAD_REQUEST, message), "invalid"),
    };
    if let Some(response) = super::paused(shared).await {
        return (response, "paused");
    }
    let key = super::ledger_key(ENDPOINT, key);
    let holder = salesloft_sync::holder::this_process(&format!("gateway {caller}"));
    let ledger = shared.store.ledger();
    let begin = match ledger.begin(&key, &fingerprint(&body), &holder, salesloft_store::DEFAULT_LOCK_TIMEOUT).await {
        Ok(begin) => begin,
        Err(error) => return (super::store_failed(&error), "store_failed"),
    };
    let correlation_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let call = Call { shared, client: Client::new(shared.pipeline.clone()), request, caller, key, correlation_id };
    match begin {
        Begin::Conflict => (conflict(), "conflict"),
        Begin::InProgress { until, .. } => (in_progress(until, shared.store.now()), "in_progress"),
        Begin::Completed(stored) => (replay(&stored), "replayed"),
        Begin::Failed(recorded) => {
            let (status, body) = refusal_answer(&recorded);
            (answer(status, body, true), "replayed")
        }
        Begin::New(lease) => call.send(lease).await,
        Begin::Resume { phase: Phase::RequestSent, lease } => call.reconcile_then_send(lease).await,
        Begin::Resume { lease, .. } => call.send(lease).await,
    }
}

/// The stored answer `{"status", "body"}`, replayed.
fn replay(stored: &Value) -> Response {
    let status = stored
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::CREATED);
    answer(status, stored.get("body").cloned().unwrap_or(Value::Null), true)
}

/// What the ledger stores for a membership answered 201.
fn stored_answer(membership: &CadenceMembership) -> Value {
    json!({"status": StatusCode::CREATED.as_u16(), "body": {"data": membership}})
}

impl Call<'_> {
    /// An in-doubt key: the create may have landed before the gateway died. Look first; send only if the
    /// person is not on the cadence.
    async fn reconcile_then_send(self, lease: Lease) -> (Response, &'static str) {
        match self.find_current().await {
            Ok(Some(membership)) => {
                let stored = stored_answer(&membership);
                let audit = AuditEntry {
                    operation: "cadence_memberships.reconcile".to_string(),
                    resource: format!("cadence_memberships/{}", membership.id),
                    request: json!({"note": "an earlier attempt was in doubt; the membership was found"}),
                    response_status: None,
                    ..self.audit(None)
                };
                if let Err(error) = self.shared.store.ledger().complete(lease, &stored, Some(&audit)).await {
                    return (super::store_failed(&error), "store_failed");
                }
                (answer(StatusCode::CREATED, stored["body"].clone(), false), "reconciled")
            }
            Ok(None) => self.send(lease).await,
            Err(error) => {
                self.release(lease).await;
                (super::transient(&error), "transient")
            }
        }
    }

    /// The person's current membership of the cadence, if any.
    async fn find_current(&self) -> Result<Option<CadenceMembership>, Error> {
        let (person, cadence) = (PersonId(self.request.person_id), CadenceId(self.request.cadence_id));
        let page = self
            .client
            .cadence_memberships()
            .list()
            .person_id(person)
            .cadence_id(cadence)
            .currently_on_cadence(true)
            .per_page(100)
            .send()
            .await?;
        Ok(page.data.into_iter().find(|m| {
            m.person.as_ref().is_some_and(|p| p.id == person) && m.cadence.as_ref().is_some_and(|c| c.id == cadence)
        }))
    }

    /// Marks the key *request sent* (refused while paused), sends the create and records its answer.
    async fn send(self, lease: Lease) -> (Response, &'static str) {
        let ledger = self.shared.store.ledger();
        if let Err(error) = ledger.advance_to_send(&lease, None).await {
            self.release(lease).await;
            return match error {
                StoreError::Paused { by, reason } => (super::paused_during(&by, &reason), "paused"),
                other => (super::store_failed(&other), "store_failed"),
            };
        }
        let mut create = self
            .client
            .cadence_memberships()
            .create(PersonId(self.request.person_id), CadenceId(self.request.cadence_id));
        if let Some(user) = self.request.user_id {
            create = create.user_id(UserId(user));
        }
        if let Some(step) = self.request.step_id {
            create = create.step_id(StepId(step));
        }
        // The lease is renewed while the call runs (retries included) and the call is cut at 2/3 of the lease, so
        // another request cannot take the key over under it (the journal of people upserts does the same).
        let renew = {
            let (store, lease) = (self.shared.store.clone(), lease.clone());
            move || {
                let (store, lease) = (store.clone(), lease.clone());
                async move { store.ledger().renew(&lease).await }.boxed()
            }
        };
        let timing = LeaseTiming::for_ttl(salesloft_store::DEFAULT_LOCK_TIMEOUT);
        let clock = SystemClock::shared();
        match lease_keeper::guard(ENDPOINT, create.send(), renew, timing, clock.as_ref()).await {
            Ok(membership) => {
                let stored = stored_answer(&membership);
                let audit = self.audit(Some(200));
                if let Err(error) = ledger.complete(lease, &stored, Some(&audit)).await {
                    // The membership exists; the key stays at *request sent* and a retry reconciles it.
                    tracing::error!(%error, key = %self.key, "a membership was added but its ledger step failed");
                }
                (answer(StatusCode::CREATED, stored["body"].clone(), false), "created")
            }
            Err(error) if super::is_definitive(&error) => {
                let recorded = salesloft_sync::failure_record(&error);
                let audit = self.audit(error.status().map(|s| s.as_u16()));
                if let Err(store) = ledger.fail(lease, &recorded, Some(&audit)).await {
                    tracing::error!(error = %store, key = %self.key, "a refused membership could not be recorded");
                }
                let (status, body) = refusal_answer(&recorded);
                (answer(status, body, false), "refused")
            }
            Err(error) => {
                if error.may_have_been_sent() {
                    let audit = self.audit(error.status().map(|s| s.as_u16()));
                    if let Err(store) = ledger.advance(&lease, Phase::RequestSent, Some(&audit)).await {
                        tracing::error!(error = %store, key = %self.key, "the audit record of a failed create was not written");
                    }
                }
                self.release(lease).await;
                (super::transient(&error), "transient")
            }
        }
    }

    async fn release(&self, lease: Lease) {
        if let Err(error) = self.shared.store.ledger().release(lease).await {
            tracing::warn!(%error, key = %self.key, "could not release a ledger lease; it will expire");
        }
    }

    /// The audit record of the create, answered with `status` (`None`: no answer came).
    fn audit(&self, status: Option<u16>) -> AuditEntry {
        AuditEntry {
            actor: self.caller.clone(),
            operation: ENDPOINT.to_string(),
            resource: "cadence_memberships".to_string(),
            request: serde_json::to_value(self.request).unwrap_or(Value::Null),
            response_status: status,
            idempotency_key: Some(self.key.clone()),
            correlation_id: self.correlation_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_need_positive_integer_ids_and_nothing_else() {
        let ok = AddToCadence::parse(&json!({"person_id": 1, "cadence_id": 2, "step_id": null})).expect("valid");
        assert_eq!(ok, AddToCadence { person_id: 1, cadence_id: 2, user_id: None, step_id: None });
        for (body, says) in [
            (json!({"cadence_id": 2}), "person_id"),
            (json!({"person_id": "1", "cadence_id": 2}), "person_id"),
            (json!({"person_id": 1, "cadence_id": 2.5}), "cadence_id"),
            (json!({"person_id": 1, "cadence_id": 2, "user": 3}), "user"),
            (json!({"person_id": 0, "cadence_id": 2}), "person_id must be a positive"),
            (json!({"person_id": 1, "cadence_id": 2, "user_id": -4}), "user_id must be a positive"),
        ] {
            let error = AddToCadence::parse(&body).expect_err("refused");
            assert!(error.contains(says), "{body}: expected {says:?} in {error:?}");
        }
    }

    #[test]
    fn stored_answers_replay_with_their_status_and_the_header() {
        let response = replay(&json!({"status": 201, "body": {"data": {"id": 3}}}));
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers().get(super::super::IDEMPOTENT_REPLAYED).map(|v| v.as_bytes()), Some(&b"true"[..]));
    }
}
