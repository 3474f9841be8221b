//! What a check is and what it reports: the vocabulary every part of `slprod check` shares.

use serde::Serialize;
use serde_json::Value;

/// The checklist's sections, in the order the seed lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Section {
    /// "Authentication & Secrets".
    #[serde(rename = "Authentication & Secrets")]
    Auth,
    /// "Error Handling".
    #[serde(rename = "Error Handling")]
    Errors,
    /// "Rate Limiting".
    #[serde(rename = "Rate Limiting")]
    Rate,
    /// "Monitoring & Alerting".
    #[serde(rename = "Monitoring & Alerting")]
    Monitoring,
    /// "Data Integrity".
    #[serde(rename = "Data Integrity")]
    Data,
    /// "Rollback Procedure".
    #[serde(rename = "Rollback Procedure")]
    Rollback,
    /// "Post-Launch Smoke Tests".
    #[serde(rename = "Post-Launch Smoke Tests")]
    Smoke,
}

impl Section {
    /// Every section, in checklist order.
    pub const ALL: [Section; 7] = [
        Section::Auth,
        Section::Errors,
        Section::Rate,
        Section::Monitoring,
        Section::Data,
        Section::Rollback,
        Section::Smoke,
    ];

    /// The checklist's heading.
    pub fn title(self) -> &'static str {
        match self {
            Section::Auth => "Authentication & Secrets",
            Section::Errors => "Error Handling",
            Section::Rate => "Rate Limiting",
            Section::Monitoring => "Monitoring & Alerting",
            Section::Data => "Data Integrity",
            Section::Rollback => "Rollback Procedure",
            Section::Smoke => "Post-Launch Smoke Tests",
        }
    }

    /// The ID prefix (`AUTH`, `ERR`, …), also accepted by `--only` / `--skip`.
    pub fn prefix(self) -> &'static str {
        match self {
            Section::Auth => "AUTH",
            Section::Errors => "ERR",
            Section::Rate => "RATE",
            Section::Monitoring => "MON",
            Section::Data => "DATA",
            Section::Rollback => "ROLL",
            Section::Smoke => "SMOKE",
        }
    }
}

/// How bad a failure is: P1 loses data, leaks a secret or stops the integration; P2 degrades it; P3 hides
/// what an operator needs to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Severity {
    /// Loses data, leaks a secret or stops the integration.
    P1,
    /// Degrades it (wasted budget, slow recovery).
    P2,
    /// Hides what an operator needs to see.
    P3,
}

/// How a check gathers its evidence (DESIGN.md "Checks").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// From `slprod.toml` alone.
    Static,
    /// Against the configured SalesLoft and gateway (reads only unless `--allow-writes`).
    Live,
    /// Against an embedded simulator with scripted faults, with the configured client policies.
    Drill,
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The behaviour holds; the evidence shows it.
    Pass,
    /// The behaviour does not hold; the evidence names the cause.
    Fail,
    /// The check cannot apply here (and says why). Never a pass.
    Skip,
    /// The check itself could not run (a drill's simulator would not start, …).
    Error,
}

/// One checklist item as a check.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    /// `AUTH-1` … `SMOKE-2` (DESIGN.md "Checks").
    pub id: &'static str,
    /// Its section.
    pub section: Section,
    /// The checklist's wording.
    pub item: &'static str,
    /// How bad a failure is.
    pub severity: Severity,
    /// How it is verified.
    pub kind: Kind,
}

/// What a check found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The verdict.
    pub status: Status,
    /// One line a reviewer reads first.
    pub summary: String,
    /// What was configured, sent, received and measured.
    pub evidence: Value,
}

impl Finding {
    /// A pass.
    pub fn pass(summary: impl Into<String>, evidence: Value) -> Self {
        Self { status: Status::Pass, summary: summary.into(), evidence }
    }

    /// A failure; `summary` names the cause.
    pub fn fail(summary: impl Into<String>, evidence: Value) -> Self {
        Self { status: Status::Fail, summary: summary.into(), evidence }
    }

    /// Not applicable here, and why.
    pub fn skip(summary: impl Into<String>) -> Self {
        Self { status: Status::Skip, summary: summary.into(), evidence: Value::Null }
    }

    /// The check could not run.
    pub fn error(summary: impl Into<String>) -> Self {
        Self { status: Status::Error, summary: summary.into(), evidence: Value::Null }
    }

    /// Pass when `ok`, else fail, with the same evidence.
    pub fn verdict(ok: bool, pass: impl Into<String>, fail: impl Into<String>, evidence: Value) -> Self {
        if ok { Self::pass(pass, evidence) } else { Self::fail(fail, evidence) }
    }
}

/// A check's definition with its finding and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// `AUTH-1` …
    pub id: &'static str,
    /// Its section.
    pub section: Section,
    /// The checklist's wording.
    pub item: &'static str,
    /// How bad a failure is.
    pub severity: Severity,
    /// How it was verified.
    pub kind: Kind,
    /// The verdict.
    pub status: Status,
    /// One line.
    pub summary: String,
    /// The evidence.
    pub evidence: Value,
    /// Wall time, in milliseconds.
    pub elapsed_ms: f64,
}

impl CheckResult {
    /// `def` with `finding`.
    pub fn new(def: &Def, finding: Finding, elapsed: std::time::Duration) -> Self {
        Self {
            id: def.id,
            section: def.section,
            item: def.item,
            severity: def.severity,
            kind: def.kind,
            status: finding.status,
            summary: finding.summary,
            evidence: finding.evidence,
            elapsed_ms: elapsed.as_secs_f64() * 1000.0,
        }
    }
}
