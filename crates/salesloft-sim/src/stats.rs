//! Counters for `/__sim/stats` and the request log for `/__sim/requests` (`/v2` and `/oauth` traffic only).
//! The log never holds a credential: auth is recorded by kind, and secret-looking query values are redacted.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

/// How a request authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// A team API key.
    ApiKey,
    /// An OAuth access token.
    Oauth,
    /// No `Authorization` header (or not a bearer one).
    None,
    /// A token that is unknown, expired or revoked.
    Invalid,
}

/// The `/__sim/stats` document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Requests served.
    pub requests: u64,
    /// Budget spent.
    pub cost_used: u64,
    /// 429s answered for budget.
    pub rate_limited: u64,
    /// Highest `page` requested.
    pub max_page: u64,
    /// Responses by status.
    pub by_status: BTreeMap<String, u64>,
    /// Requests by `METHOD /v2/route/{id}`; unknown methods and paths count under `other`.
    pub by_route: BTreeMap<String, u64>,
    /// Successful refresh-token grants.
    pub refreshes: u64,
    /// Access tokens issued (all grants, and `/__sim/tokens`).
    pub tokens_issued: u64,
    /// Refresh-token grants that presented a refresh token of the grant that an earlier refresh had rotated
    /// away (revoked, FACTS.md §1.3): two clients refreshing one grant at once, or a lost rotated token.
    pub revoked_refresh_presented: u64,
    /// Webhook delivery attempts.
    pub webhook_deliveries: u64,
    /// Webhook delivery attempts that failed (non-2xx or transport error).
    pub webhook_failures: u64,
}

/// One entry of `/__sim/requests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// Method.
    pub method: String,
    /// Path as requested (cut after [`MAX_LOGGED_TEXT`] bytes).
    pub path: String,
    /// Query string with secrets redacted (empty when none; cut after [`MAX_LOGGED_TEXT`] bytes).
    pub query: String,
    /// Status answered (0 when the connection was dropped).
    pub status: u16,
    /// Cost charged.
    pub cost: u32,
    /// `page` parameter (1 when absent).
    pub page: u64,
    /// When, on the simulator clock.
    pub at: String,
    /// How it authenticated.
    pub auth: AuthKind,
}

/// Stats and the bounded request log.
#[derive(Debug, Default)]
pub struct Recorder {
    stats: Mutex<Stats>,
    log: Mutex<VecDeque<RequestRecord>>,
}

impl Recorder {
    /// Records one finished request.
    pub fn record(&self, route: String, record: RequestRecord, rate_limited: bool, capacity: usize) {
        {
            let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
            stats.requests += 1;
            if !rate_limited {
                stats.cost_used += u64::from(record.cost);
            }
            if rate_limited {
                stats.rate_limited += 1;
            }
            stats.max_page = stats.max_page.max(record.page);
            *stats.by_status.entry(record.status.to_string()).or_default() += 1;
            *stats.by_route.entry(route).or_default() += 1;
        }
        if capacity == 0 {
            return;
        }
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        if log.len() >= capacity {
            log.pop_back();
        }
        log.push_front(record);
    }

    /// Updates counters outside request handling (OAuth, webhooks).
    pub fn bump(&self, update: impl FnOnce(&mut Stats)) {
        update(&mut self.stats.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The most recent `limit` requests, newest first.
    pub fn recent(&self, limit: usize) -> Vec<RequestRecord> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner).iter().take(limit).cloned().collect()
    }

    /// Clears counters and log.
    pub fn reset(&self) {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner) = Stats::default();
        self.log.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// Longest path or query kept in a request-log entry, in bytes; longer ones are cut and end in `…`, so the
/// log's memory is bounded by its capacity.
pub const MAX_LOGGED_TEXT: usize = 512;

/// `text` cut to at most [`MAX_LOGGED_TEXT`] bytes (on a character boundary), marked with `…` when cut.
pub fn truncate_for_log(text: &str) -> String {
    if text.len() <= MAX_LOGGED_TEXT {
        return text.to_owned();
    }
    let mut end = MAX_LOGGED_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Query parameters whose values are secrets.
const SECRET_PARAMS: &[&str] =
    &["code", "access_token", "refresh_token", "client_secret", "token", "api_key", "callback_token", "password"];

/// The query string with secret values replaced by `[REDACTED]`.
pub fn redact_query(raw: Option<&str>) -> String {
    let Some(raw) = raw else { return String::new() };
    raw.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if SECRET_PARAMS.iter().any(|secret| key.eq_ignore_ascii_case(secret)) => {
                format!("{key}=[REDACTED]")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str) -> RequestRecord {
        RequestRecord {
            method: "GET".into(),
            path: path.into(),
            query: String::new(),
            status: 200,
            cost: 1,
            page: 1,
            at: String::new(),
            auth: AuthKind::ApiKey,
        }
    }

    #[test]
    fn the_request_log_is_a_ring_of_its_capacity() {
        let recorder = Recorder::default();
        for n in 0..25 {
            recorder.record("GET /v2/people".into(), record(&format!("/v2/people/{n}")), false, 10);
        }
        let recent = recorder.recent(100);
        assert_eq!(recent.len(), 10, "only the capacity is kept");
        assert_eq!((recent[0].path.as_str(), recent[9].path.as_str()), ("/v2/people/24", "/v2/people/15"));
        assert_eq!(recorder.stats().requests, 25);
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        assert_eq!(truncate_for_log("/v2/me"), "/v2/me");
        let long = "é".repeat(MAX_LOGGED_TEXT);
        let cut = truncate_for_log(&long);
        assert!(cut.len() <= MAX_LOGGED_TEXT + '…'.len_utf8() && cut.ends_with('…'), "{} bytes", cut.len());
    }

    #[test]
    fn redacts_secret_params() {
        assert_eq!(
            redact_query(Some("code=abc&state=x&client_secret=s")),
            "code=[REDACTED]&state=x&client_secret=[REDACTED]"
        );
        assert_eq!(redact_query(None), "");
    }
}
