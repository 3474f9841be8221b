//! Scripted faults (`/__sim/faults`, `/__sim/outage`): per method and path, a sequence of steps — answer a
//! status, drop the connection, or add latency — and a team-wide outage window. See docs/simulator.md.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::Deserialize;

use crate::clock::Micros;

/// One step of a rule, as posted.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultStep {
    /// Answer this status.
    pub status: Option<u16>,
    /// `Retry-After` value to send with `status` (seconds or an HTTP date, sent verbatim).
    pub retry_after: Option<serde_json::Value>,
    /// Body to send with `status` (default `{"error":"<reason phrase>"}`).
    pub body: Option<serde_json::Value>,
    /// Close the connection without answering, before the request is served.
    #[serde(default)]
    pub drop: bool,
    /// Serve the request (a write commits, webhooks fire), then close the connection without answering: the
    /// lost response after which a blind retry of a create makes a duplicate (FACTS.md §5.2).
    #[serde(default)]
    pub drop_after: bool,
    /// Delay, then serve normally.
    pub latency_ms: Option<u64>,
}

/// A rule, as posted to `POST /__sim/faults`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// `GET`, `POST`, … or `*`.
    pub method: String,
    /// Path prefix, e.g. `/v2/people` (a `.json` suffix is ignored); a `*` segment matches any one segment.
    pub path: String,
    /// Steps, one per matching request.
    #[serde(default)]
    pub sequence: Vec<FaultStep>,
    /// Latency added to every match while the rule is live.
    pub latency_ms: Option<u64>,
}

impl FaultRule {
    /// Checks the rule; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !self.path.starts_with('/') {
            return Err("path must start with /".to_owned());
        }
        if self.sequence.is_empty() && self.latency_ms.is_none() {
            return Err("a rule needs a sequence or latency_ms".to_owned());
        }
        for (index, step) in self.sequence.iter().enumerate() {
            let kinds = usize::from(step.status.is_some())
                + usize::from(step.drop)
                + usize::from(step.drop_after)
                + usize::from(step.latency_ms.is_some());
            if kinds != 1 {
                return Err(format!("step {index} must have exactly one of status, drop, drop_after, latency_ms"));
            }
            if let Some(status) = step.status
                && !(100..=999).contains(&status)
            {
                return Err(format!("step {index}: status {status} is not an HTTP status"));
            }
        }
        Ok(())
    }
}

/// What the fault layer decided for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultAction {
    /// Wait this long first.
    pub latency: Option<Duration>,
    /// Then answer this instead of serving (None: serve normally).
    pub respond: Option<FaultResponse>,
}

/// A scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultResponse {
    /// Answer a status.
    Status {
        /// Status code.
        status: u16,
        /// `Retry-After`, verbatim.
        retry_after: Option<String>,
        /// Body, or None for the default.
        body: Option<serde_json::Value>,
    },
    /// Drop the connection without serving.
    Drop,
    /// Serve, then drop the connection instead of sending the answer.
    DropAfter,
}

#[derive(Debug)]
struct LiveRule {
    id: u64,
    method: String,
    path: String,
    steps: VecDeque<FaultStep>,
    latency: Option<Duration>,
    forever: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Outage {
    until: Micros,
    status: u16,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<LiveRule>,
    next_id: u64,
    outage: Option<Outage>,
}

/// Fault rules and the outage window.
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<State>,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a validated rule; returns its id.
    pub fn add(&self, rule: FaultRule) -> u64 {
        let mut state = self.lock();
        state.next_id += 1;
        let id = state.next_id;
        let forever = rule.sequence.is_empty();
        state.rules.push(LiveRule {
            id,
            method: rule.method.to_ascii_uppercase(),
            path: normalise(&rule.path).to_owned(),
            steps: rule.sequence.into(),
            latency: rule.latency_ms.map(Duration::from_millis),
            forever,
        });
        id
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Starts an outage until `until`.
    pub fn start_outage(&self, until: Micros, status: u16) {
        self.lock().outage = Some(Outage { until, status });
    }

    /// Ends the outage.
    pub fn end_outage(&self) {
        self.lock().outage = None;
    }

    /// Clears rules and outage.
    pub fn reset(&self) {
        let mut state = self.lock();
        state.rules.clear();
        state.outage = None;
    }

    /// The outage status, when one is on at `now`.
    pub fn outage(&self, now: Micros) -> Option<u16> {
        let mut state = self.lock();
        match state.outage {
            Some(outage) if now < outage.until => Some(outage.status),
            Some(_) => {
                state.outage = None;
                None
            }
            None => None,
        }
    }

    /// Consumes the next step of the first live rule matching the request.
    pub fn next(&self, method: &str, path: &str) -> FaultAction {
        let mut state = self.lock();
        if state.rules.is_empty() {
            return FaultAction::default();
        }
        let path = normalise(path);
        let matching = state.rules.iter_mut().find(|rule| {
            (rule.forever || !rule.steps.is_empty())
                && (rule.method == "*" || rule.method.eq_ignore_ascii_case(method))
                && path_matches(&rule.path, path)
        });
        let Some(rule) = matching else {
            return FaultAction::default();
        };
        let mut action = FaultAction { latency: rule.latency, respond: None };
        if let Some(step) = rule.steps.pop_front() {
            if let Some(ms) = step.latency_ms {
                action.latency = Some(action.latency.unwrap_or_default() + Duration::from_millis(ms));
            } else if step.drop {
                action.respond = Some(FaultResponse::Drop);
            } else if step.drop_after {
                action.respond = Some(FaultResponse::DropAfter);
            } else if let Some(status) = step.status {
                let retry_after = step.retry_after.map(|value| match value {
                    serde_json::Value::String(text) => text,
                    other => other.to_string(),
                });
                action.respond = Some(FaultResponse::Status { status, retry_after, body: step.body });
            }
        }
        let id = rule.id;
        // Spent rules are dropped so the list stays short.
        state.rules.retain(|rule| rule.id != id || rule.forever || !rule.steps.is_empty());
        action
    }
}

/// Whether a request path falls under a rule's path: segment by segment, the rule's segments are a prefix
/// of the request's, and a `*` segment matches any one segment (`/v2/bulk_jobs/*/job_data` hits the uploads
/// of every job, whose ids a test cannot know in advance).
fn path_matches(rule: &str, path: &str) -> bool {
    let mut request = path.split('/');
    rule.split('/').all(|wanted| request.next().is_some_and(|segment| wanted == "*" || wanted == segment))
}

fn normalise(path: &str) -> &str {
    let path = path.strip_suffix('/').unwrap_or(path);
    path.strip_suffix(".json").unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(method: &str, path: &str, sequence: Vec<FaultStep>) -> FaultRule {
        FaultRule { method: method.into(), path: path.into(), sequence, latency_ms: None }
    }

    #[test]
    fn steps_are_consumed_in_order_and_match_by_prefix() {
        let faults = Faults::default();
        let status = |code| FaultStep { status: Some(code), ..FaultStep::default() };
        faults.add(rule(
            "GET",
            "/v2/people",
            vec![
                status(503),
                FaultStep { drop: true, ..FaultStep::default() },
                FaultStep { drop_after: true, ..FaultStep::default() },
            ],
        ));
        assert_eq!(faults.next("POST", "/v2/people"), FaultAction::default());
        assert_eq!(faults.next("GET", "/v2/peoplex"), FaultAction::default());
        assert!(matches!(
            faults.next("GET", "/v2/people/5.json").respond,
            Some(FaultResponse::Status { status: 503, .. })
        ));
        assert_eq!(faults.next("get", "/v2/people.json").respond, Some(FaultResponse::Drop));
        assert_eq!(faults.next("GET", "/v2/people").respond, Some(FaultResponse::DropAfter));
        assert_eq!(faults.next("GET", "/v2/people"), FaultAction::default());
    }

    #[test]
    fn a_star_segment_matches_any_one_segment() {
        let table = [
            ("/v2/bulk_jobs/*/job_data", "/v2/bulk_jobs/7/job_data", true),
            ("/v2/bulk_jobs/*/job_data", "/v2/bulk_jobs/7/job_data/extra", true),
            ("/v2/bulk_jobs/*/job_data", "/v2/bulk_jobs/7/results", false),
            ("/v2/bulk_jobs/*/job_data", "/v2/bulk_jobs/7", false),
            ("/v2/bulk_jobs/*", "/v2/bulk_jobs", false),
            ("/v2/bulk_jobs", "/v2/bulk_jobs/7/results", true),
            ("/v2/people", "/v2/peoplex", false),
            ("/v2/people", "/v2/people", true),
            ("", "/v2/people", true),
        ];
        for (rule, path, expected) in table {
            assert_eq!(path_matches(rule, path), expected, "rule {rule:?} on {path:?}");
        }
    }

    #[test]
    fn rule_validation_and_outage() {
        assert!(rule("GET", "v2", vec![FaultStep::default()]).validate().is_err());
        assert!(rule("GET", "/v2", vec![]).validate().is_err());
        let both = FaultStep { drop: true, drop_after: true, ..FaultStep::default() };
        assert!(rule("GET", "/v2", vec![both]).validate().is_err());
        let faults = Faults::default();
        faults.start_outage(100, 503);
        assert_eq!(faults.outage(99), Some(503));
        assert_eq!(faults.outage(100), None);
    }
}
