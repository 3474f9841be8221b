//! The four SalesLoft alerts of issue 10 (DESIGN.md MON-2..4), defined once in [`definition`] and rendered
//! for every consumer:
//!
//! | consumer | module | output |
//! |---|---|---|
//! | Prometheus | [`rules`] | a rule file (`promtool check rules`) |
//! | CI | [`promtool`] | promtool unit tests, firing and silent per alert (`promtool test rules`) |
//! | Alertmanager | [`alertmanager`] | a routing example: P1 to PagerDuty, P2/P3 to Slack |
//! | Grafana | [`dashboard`] | a dashboard JSON |
//! | teams without Prometheus | [`evaluator`] | the same signals over the gateway's own counters, notifying Slack and PagerDuty |
//!
//! [`export()`] writes all the files at once (`slprod alerts export --out DIR`).
#![warn(missing_docs)]

pub mod alertmanager;
pub mod dashboard;
pub mod definition;
pub mod evaluator;
pub mod export;
pub mod exposition;
pub mod promtool;
pub mod rules;

pub use definition::{Alert, DefinitionError, Severity, Signal, Thresholds, catalogue};
pub use export::{ExportError, export};
pub use rules::RenderOptions;
