//! The report of a `slprod check` run, and its renderings: a terminal summary ([`terminal`]), JSON ([`json`]),
//! JUnit XML ([`junit`]), Markdown ([`markdown`]) and a self-contained HTML page with plots ([`html`]).

pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

use std::time::Duration;

use super::model::{CheckResult, Section, Severity, Status};
use super::target::Plots;

/// Counts by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Skipped (never a pass).
    pub skip: usize,
    /// Could not run.
    pub error: usize,
}

/// A run's results with what was checked and how long it took.
#[derive(Debug, Clone)]
pub struct Report {
    /// The results, in checklist order.
    pub results: Vec<CheckResult>,
    /// What the live checks reached.
    pub target: String,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Samples for the HTML plots.
    pub plots: Plots,
    /// `slprod` version.
    pub version: &'static str,
}

impl Report {
    /// A report of `results`.
    pub fn new(results: Vec<CheckResult>, target: String, elapsed: Duration, plots: Plots) -> Self {
        Self { results, target, elapsed, plots, version: env!("CARGO_PKG_VERSION") }
    }

    /// How many checks ended in each status.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for result in &self.results {
            match result.status {
                Status::Pass => counts.pass += 1,
                Status::Fail => counts.fail += 1,
                Status::Skip => counts.skip += 1,
                Status::Error => counts.error += 1,
            }
        }
        counts
    }

    /// Whether any check ended in `status`.
    pub fn any(&self, status: Status) -> bool {
        self.results.iter().any(|r| r.status == status)
    }

    /// The results of `section`, in checklist order.
    pub fn section(&self, section: Section) -> impl Iterator<Item = &CheckResult> {
        self.results.iter().filter(move |r| r.section == section)
    }

    /// Failures and errors, P1 first (then P2, P3), for the summary at the top of a report.
    pub fn failures(&self) -> Vec<&CheckResult> {
        let mut failed: Vec<&CheckResult> =
            self.results.iter().filter(|r| matches!(r.status, Status::Fail | Status::Error)).collect();
        failed.sort_by_key(|r| r.severity);
        failed
    }

    /// The one-line verdict.
    pub fn verdict(&self) -> String {
        let c = self.counts();
        let total = self.results.len();
        if c.fail + c.error + c.skip == 0 {
            format!("READY: {}/{total} checks passed in {:.1} s", c.pass, self.elapsed.as_secs_f64())
        } else {
            format!(
                "NOT READY: {}/{total} passed, {} failed, {} could not run, {} skipped ({:.1} s)",
                c.pass,
                c.fail,
                c.error,
                c.skip,
                self.elapsed.as_secs_f64()
            )
        }
    }
}

/// The label of a status.
pub fn status_label(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Skip => "SKIP",
        Status::Error => "ERROR",
    }
}

/// The label of a severity.
pub fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::P1 => "P1",
        Severity::P2 => "P2",
        Severity::P3 => "P3",
    }
}
