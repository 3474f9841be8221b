//! Markdown: the verdict, failures first, then one table per section with the evidence summarised.

use std::fmt::Write;

use super::{Report, severity_label, status_label};
use crate::check::model::Section;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Renders `report` as Markdown.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ =
        writeln!(out, "# SalesLoft go-live check\n\n**{}**  \nTarget: {}\n", report.verdict(), cell(&report.target));
    let failures = report.failures();
    if !failures.is_empty() {
        let _ = writeln!(out, "## To fix, most severe first\n");
        for r in failures {
            let _ = writeln!(out, "- **{} {}**: {}", severity_label(r.severity), r.id, cell(&r.summary));
        }
        out.push('\n');
    }
    for section in Section::ALL {
        let mut results = report.section(section).peekable();
        if results.peek().is_none() {
            continue;
        }
        let _ = writeln!(
            out,
            "## {}\n\n| ID | Severity | Kind | Status | Evidence |\n|---|---|---|---|---|",
            section.title()
        );
        for r in results {
            let kind =
                serde_json::to_value(r.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {kind} | {} | {} |",
                r.id,
                severity_label(r.severity),
                status_label(r.status),
                cell(&r.summary)
            );
        }
        out.push('\n');
    }
    out
}
