//! The one definition of the four alerts (issue 10, DESIGN.md MON-2..4 and MON-5): name, severity, the signal
//! and its threshold from `[alerts]`, how long it must hold, and what the on-call person reads.
//!
//! Everything else is rendered from [`catalogue`]: the Prometheus rule file ([`crate::rules`]), its promtool
//! tests ([`crate::promtool`]), the Alertmanager and Grafana examples, and the built-in evaluator
//! ([`crate::evaluator`]), which computes the same [`Signal`] from the gateway's own counters. The names and
//! the `severity` label are a contract: users route on them.

use std::time::Duration;

use salesloft_client::transport::telemetry::{
    AUTH_FAILURES_TOTAL, LATENCY_BUCKETS, REQUEST_DURATION_SECONDS, RESPONSES_TOTAL,
};

/// How urgent an alert is; the `severity` label. P1 pages (PagerDuty), P2 and P3 go to chat (Slack).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Wake someone up.
    P1,
    /// Look today.
    P2,
    /// Look this week.
    P3,
}

impl Severity {
    /// The label value: `P1`, `P2`, `P3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::P1 => "P1",
            Severity::P2 => "P2",
            Severity::P3 => "P3",
        }
    }

    /// True when this severity pages (goes to PagerDuty).
    pub fn pages(self) -> bool {
        self == Severity::P1
    }
}

/// The thresholds of `[alerts]` (CONFIG.md); `Default` is the checklist's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// 5xx responses per minute above which [`SERVER_ERRORS`] fires (`server_errors_per_minute`, 5).
    pub server_errors_per_minute: u32,
    /// 429 responses per minute above which [`RATE_LIMITED`] fires (`rate_limited_per_minute`, 10).
    pub rate_limited_per_minute: u32,
    /// Auth failures within the window from which [`AUTH_FAILURE`] fires (`auth_failures`, 1: any).
    pub auth_failures: u32,
    /// p99 latency above which [`LATENCY_P99_HIGH`] fires (`p99_latency_ms`, 2000).
    pub p99_latency_ms: u64,
    /// The read baseline drawn on the dashboard (`read_baseline_ms`, 300 — DESIGN.md MON-5).
    pub read_baseline_ms: u64,
    /// The write baseline drawn on the dashboard (`write_baseline_ms`, 500 — DESIGN.md MON-5).
    pub write_baseline_ms: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            server_errors_per_minute: 5,
            rate_limited_per_minute: 10,
            auth_failures: 1,
            p99_latency_ms: 2000,
            read_baseline_ms: 300,
            write_baseline_ms: 500,
        }
    }
}

/// Thresholds that cannot be turned into working alerts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    /// A threshold is out of range; names the `[alerts]` key.
    #[error("alerts.{key}: {message}")]
    Threshold {
        /// The key under `[alerts]`.
        key: &'static str,
        /// Why.
        message: String,
    },
}

impl Thresholds {
    /// Checks that every threshold can be measured: `auth_failures` at least 1, and `p99_latency_ms` positive
    /// and below the largest finite latency bucket (5 s): above it, `histogram_quantile` can only answer that
    /// bucket's bound, and the alert could never fire.
    pub fn validate(&self) -> Result<(), DefinitionError> {
        if self.auth_failures == 0 {
            return Err(DefinitionError::Threshold {
                key: "auth_failures",
                message: "must be at least 1 (1 = alert on any failure)".into(),
            });
        }
        let largest_ms = LATENCY_BUCKETS.last().map_or(0, |s| (s * 1000.0) as u64);
        if self.p99_latency_ms == 0 || self.p99_latency_ms >= largest_ms {
            return Err(DefinitionError::Threshold {
                key: "p99_latency_ms",
                message: format!(
                    "must be between 1 and {} (the largest finite latency bucket is {largest_ms} ms)",
                    largest_ms - 1
                ),
            });
        }
        Ok(())
    }
}

/// `SalesloftServerErrors`: more than `server_errors_per_minute` 5xx responses in a minute (P1).
pub const SERVER_ERRORS: &str = "SalesloftServerErrors";
/// `SalesloftRateLimited`: more than `rate_limited_per_minute` 429 responses in a minute (P2).
pub const RATE_LIMITED: &str = "SalesloftRateLimited";
/// `SalesloftAuthFailure`: any authentication failure (P1).
pub const AUTH_FAILURE: &str = "SalesloftAuthFailure";
/// `SalesloftLatencyP99High`: p99 latency above `p99_latency_ms` over 5 minutes (P3).
pub const LATENCY_P99_HIGH: &str = "SalesloftLatencyP99High";

/// The client's gauge that is 1 while the OAuth connection needs re-authorisation (SalesLoft refused the
/// refresh token with `invalid_grant` and nobody else rotated it): the client then stops refreshing, so no new
/// failure is counted, yet every call fails until someone runs `slprod auth login`. `SalesloftAuthFailure`
/// therefore also fires while it is 1. The client's own name for the gauge, so the two cannot drift apart.
pub const REAUTHORIZATION_REQUIRED: &str = salesloft_client::transport::auth::REAUTHORIZATION_REQUIRED;

/// The `service` label every alert carries, so one Alertmanager route can take all of them.
pub const SERVICE: &str = "salesloft";

/// What an alert measures.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// `sum(increase(metric{matchers}[window])) > more_than`: events counted by a counter.
    Count {
        /// The counter.
        metric: &'static str,
        /// Equality label matchers (`class="5xx"`); empty for every series.
        matchers: Vec<(&'static str, &'static str)>,
        /// How far back events are counted.
        window: Duration,
        /// The alert fires when the count is above this.
        more_than: f64,
    },
    /// `histogram_quantile(quantile, sum by (le) (rate(metric_bucket[window]))) > above_seconds`.
    Quantile {
        /// The histogram (without `_bucket`).
        metric: &'static str,
        /// 0.99 for p99.
        quantile: f64,
        /// Over how long.
        window: Duration,
        /// The alert fires when the quantile is above this many seconds.
        above_seconds: f64,
    },
    /// `max(metric) > above`: a state the process reports as a gauge (absent: does not hold).
    Gauge {
        /// The gauge.
        metric: &'static str,
        /// The alert fires when the gauge is above this.
        above: f64,
    },
    /// `(a) or (b) …`: the alert fires when any of the signals holds.
    Any(Vec<Signal>),
}

impl Signal {
    /// The PromQL expression that is true (non-empty) while the alert condition holds.
    pub fn promql(&self) -> String {
        match self {
            Signal::Count { metric, matchers, window, more_than } => {
                format!("sum(increase({}[{}])) > {}", selector(metric, matchers), duration(*window), number(*more_than))
            }
            Signal::Quantile { metric, quantile, window, above_seconds } => format!(
                "histogram_quantile({}, sum by (le) (rate({metric}_bucket[{}]))) > {}",
                number(*quantile),
                duration(*window),
                number(*above_seconds)
            ),
            Signal::Gauge { metric, above } => format!("max({metric}) > {}", number(*above)),
            Signal::Any(signals) => {
                signals.iter().map(|signal| format!("({})", signal.promql())).collect::<Vec<_>>().join(" or ")
            }
        }
    }

    /// The window the signal looks back over.
    pub fn window(&self) -> Duration {
        match self {
            Signal::Count { window, .. } | Signal::Quantile { window, .. } => *window,
            Signal::Gauge { .. } => Duration::ZERO,
            Signal::Any(signals) => signals.iter().map(Signal::window).max().unwrap_or_default(),
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The `alertname` (a contract: users route on it).
    pub name: &'static str,
    /// The `severity` label (a contract).
    pub severity: Severity,
    /// What is measured and the threshold.
    pub signal: Signal,
    /// How long the condition must hold before the alert fires (Prometheus `for:`).
    pub hold: Duration,
    /// One line for the page or the chat message.
    pub summary: String,
    /// What it means and what to do first.
    pub description: String,
    /// The heading of `docs/operations.md` that is this alert's runbook (its anchor).
    pub runbook_anchor: &'static str,
}

impl Alert {
    /// The runbook link: `base` (the operations page's URL) + `#` + the anchor.
    pub fn runbook_url(&self, base: &str) -> String {
        format!("{base}#{}", self.runbook_anchor)
    }
}

/// Where the runbooks live by default: `docs/operations.md` in the repository named by the workspace.
pub const DEFAULT_RUNBOOK_BASE: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/operations.md");

/// The four alerts with `thresholds`. Windows and holds:
/// - 5xx and 429 count the last minute (the checklist's "per minute") and must hold 1 minute, so a single
///   burst that retries absorb does not page, but a storm does within about 2 minutes;
/// - auth failures count the last 5 minutes and fire at once: each one needs a person (a revoked grant does
///   not heal), and the 5-minute window keeps the alert up long enough to be routed;
/// - p99 latency is over 5 minutes (issue 10) and must hold 2 minutes.
pub fn catalogue(thresholds: &Thresholds) -> Vec<Alert> {
    let minute = Duration::from_secs(60);
    let five = Duration::from_secs(300);
    vec![
        Alert {
            name: SERVER_ERRORS,
            severity: Severity::P1,
            signal: Signal::Count {
                metric: RESPONSES_TOTAL,
                matchers: vec![("class", "5xx")],
                window: minute,
                more_than: f64::from(thresholds.server_errors_per_minute),
            },
            hold: minute,
            summary: format!(
                "SalesLoft answers with server errors: more than {} 5xx responses a minute",
                thresholds.server_errors_per_minute
            ),
            description: format!(
                "More than {} responses from SalesLoft had a 5xx status in the last minute, retried attempts \
                 included (callers may not see them yet). Check status.salesloft.com and the breaker state; \
                 pause mutations if it lasts.",
                thresholds.server_errors_per_minute
            ),
            runbook_anchor: "salesloftservererrors",
        },
        Alert {
            name: RATE_LIMITED,
            severity: Severity::P2,
            signal: Signal::Count {
                metric: RESPONSES_TOTAL,
                matchers: vec![("status", "429")],
                window: minute,
                more_than: f64::from(thresholds.rate_limited_per_minute),
            },
            hold: minute,
            summary: format!(
                "SalesLoft rate-limits the team: more than {} 429 responses a minute",
                thresholds.rate_limited_per_minute
            ),
            description: format!(
                "More than {} responses from SalesLoft were 429 in the last minute: the team's cost budget \
                 (600/minute, shared by every integration) is spent. Find who spends it (cost per minute \
                 panel) and slow the heaviest job.",
                thresholds.rate_limited_per_minute
            ),
            runbook_anchor: "salesloftratelimited",
        },
        Alert {
            name: AUTH_FAILURE,
            severity: Severity::P1,
            signal: Signal::Any(vec![
                Signal::Count {
                    metric: AUTH_FAILURES_TOTAL,
                    matchers: vec![],
                    window: five,
                    more_than: f64::from(thresholds.auth_failures.saturating_sub(1)),
                },
                Signal::Gauge { metric: REAUTHORIZATION_REQUIRED, above: 0.0 },
            ]),
            hold: Duration::ZERO,
            summary: "SalesLoft authentication fails".to_string(),
            description: format!(
                "At least {} SalesLoft authentication failure(s) in the last 5 minutes: a 401 to the API key, \
                 a 401 after a token refresh, a failed refresh, or invalid_grant (the refresh token was revoked \
                 or rotated away), or the OAuth connection waits for re-authorisation (slprod auth login). Calls \
                 fail until a person fixes the credential.",
                thresholds.auth_failures
            ),
            runbook_anchor: "salesloftauthfailure",
        },
        Alert {
            name: LATENCY_P99_HIGH,
            severity: Severity::P3,
            signal: Signal::Quantile {
                metric: REQUEST_DURATION_SECONDS,
                quantile: 0.99,
                window: five,
                above_seconds: thresholds.p99_latency_ms as f64 / 1000.0,
            },
            hold: Duration::from_secs(120),
            summary: format!("SalesLoft p99 latency is above {} ms", thresholds.p99_latency_ms),
            description: format!(
                "The 99th percentile of SalesLoft call latency (retries and budget waits included) was above \
                 {} ms over the last 5 minutes; the baselines are {} ms for reads and {} ms for writes.",
                thresholds.p99_latency_ms, thresholds.read_baseline_ms, thresholds.write_baseline_ms
            ),
            runbook_anchor: "salesloftlatencyp99high",
        },
    ]
}

/// `metric{a="b",…}`, or the bare name without matchers.
pub(crate) fn selector(metric: &str, matchers: &[(&str, &str)]) -> String {
    if matchers.is_empty() {
        return metric.to_string();
    }
    let labels: Vec<String> = matchers.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{metric}{{{}}}", labels.join(","))
}

/// A Prometheus duration: `90s` → `90s`, `60s` → `1m`, `300s` → `5m`, zero → `0s`.
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs > 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs > 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else if d.subsec_millis() != 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{secs}s")
    }
}

/// A number as PromQL and YAML read it: integers without a fraction.
pub(crate) fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 { format!("{}", value as i64) } else { format!("{value}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_and_severities_are_the_contract() {
        let alerts = catalogue(&Thresholds::default());
        let got: Vec<(&str, &str)> = alerts.iter().map(|a| (a.name, a.severity.as_str())).collect();
        assert_eq!(
            got,
            [
                ("SalesloftServerErrors", "P1"),
                ("SalesloftRateLimited", "P2"),
                ("SalesloftAuthFailure", "P1"),
                ("SalesloftLatencyP99High", "P3"),
            ]
        );
    }

    #[test]
    fn expressions_use_the_exported_metrics_and_the_thresholds() {
        let thresholds = Thresholds { server_errors_per_minute: 7, p99_latency_ms: 1500, ..Thresholds::default() };
        let exprs: Vec<String> = catalogue(&thresholds).iter().map(|a| a.signal.promql()).collect();
        assert_eq!(
            exprs,
            [
                r#"sum(increase(salesloft_responses_total{class="5xx"}[1m])) > 7"#,
                r#"sum(increase(salesloft_responses_total{status="429"}[1m])) > 10"#,
                "(sum(increase(salesloft_auth_failures_total[5m])) > 0) or (max(salesloft_oauth_reauthorization_required) > 0)",
                "histogram_quantile(0.99, sum by (le) (rate(salesloft_request_duration_seconds_bucket[5m]))) > 1.5",
            ]
        );
    }

    #[test]
    fn every_runbook_link_lands_on_a_heading_of_the_operations_page() {
        let page = include_str!("../../../docs/operations.md");
        for alert in catalogue(&Thresholds::default()) {
            assert!(page.contains(&format!("\n## {}\n", alert.name)), "no runbook heading for {}", alert.name);
            // GitHub's anchor of a one-word heading is the word in lower case.
            assert_eq!(alert.runbook_anchor, alert.name.to_lowercase());
        }
    }

    #[test]
    fn durations_render_as_prometheus_reads_them() {
        for (secs, text) in [(0, "0s"), (1, "1s"), (60, "1m"), (90, "90s"), (300, "5m"), (7200, "2h")] {
            assert_eq!(duration(Duration::from_secs(secs)), text);
        }
        assert_eq!(duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn unmeasurable_thresholds_are_refused_with_their_key() {
        assert_eq!(Thresholds::default().validate(), Ok(()));
        for (thresholds, key) in [
            (Thresholds { auth_failures: 0, ..Thresholds::default() }, "auth_failures"),
            (Thresholds { p99_latency_ms: 0, ..Thresholds::default() }, "p99_latency_ms"),
            (Thresholds { p99_latency_ms: 5000, ..Thresholds::default() }, "p99_latency_ms"),
        ] {
            let error = thresholds.validate().expect_err("refused");
            assert!(error.to_string().starts_with(&format!("alerts.{key}: ")), "{error}");
        }
    }
}
