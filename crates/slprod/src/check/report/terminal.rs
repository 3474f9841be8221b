//! The terminal report: grouped by checklist section, one line per check (ID, severity, status, one line of
//! evidence), failures P1 first at the end, and the verdict. Colour only on a terminal.

use std::fmt::Write;

use super::{Report, severity_label, status_label};
use crate::check::model::{Section, Status};

fn paint(text: &str, status: Status, colour: bool) -> String {
    if !colour {
        return text.to_string();
    }
    let code = match status {
        Status::Pass => "32",
        Status::Fail => "31;1",
        Status::Skip => "33",
        Status::Error => "35;1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Renders `report` for a terminal.
pub fn render(report: &Report, colour: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "slprod check — SalesLoft go-live checklist against {}", report.target);
    for section in Section::ALL {
        let mut results = report.section(section).peekable();
        if results.peek().is_none() {
            continue;
        }
        let _ = writeln!(out, "\n{}", section.title());
        for r in results {
            let status = paint(&format!("{:<5}", status_label(r.status)), r.status, colour);
            let _ = writeln!(
                out,
                "  {status} {:<8} {} {:<6} {}",
                r.id,
                severity_label(r.severity),
                kind(r.kind),
                r.summary
            );
        }
    }
    let failures = report.failures();
    if !failures.is_empty() {
        let _ = writeln!(out, "\nTo fix, most severe first:");
        for r in failures {
            let _ = writeln!(out, "  {} {} — {}", severity_label(r.severity), r.id, r.summary);
        }
    }
    let verdict = report.verdict();
    let status = if report.counts().pass == report.results.len() { Status::Pass } else { Status::Fail };
    let _ = writeln!(out, "\n{}", paint(&verdict, status, colour));
    out
}

fn kind(kind: crate::check::model::Kind) -> &'static str {
    match kind {
        crate::check::model::Kind::Static => "static",
        crate::check::model::Kind::Live => "live",
        crate::check::model::Kind::Drill => "drill",
    }
}
