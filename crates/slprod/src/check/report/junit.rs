//! JUnit XML: one `<testcase>` per check (classname = section), with `<failure>`, `<error>` or `<skipped>` and
//! the evidence as `<system-out>`, so CI systems show a go-live check like a test run.

use std::fmt::Write;

use super::{Report, severity_label};
use crate::check::model::Status;

/// Escapes text for XML content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Renders `report` as JUnit XML.
pub fn render(report: &Report) -> String {
    let c = report.counts();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"slprod check\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        report.results.len(),
        c.fail,
        c.error,
        c.skip,
        report.elapsed.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"SalesLoft go-live checklist\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        report.results.len(),
        c.fail,
        c.error,
        c.skip
    );
    for r in &report.results {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{}\" name=\"{} [{}] {}\" time=\"{:.3}\">",
            escape(r.section.title()),
            r.id,
            severity_label(r.severity),
            escape(r.item),
            r.elapsed_ms / 1000.0
        );
        let message = escape(&r.summary);
        match r.status {
            Status::Pass => {}
            Status::Fail => {
                let _ = writeln!(out, "      <failure message=\"{message}\" type=\"{}\"/>", severity_label(r.severity));
            }
            Status::Error => {
                let _ = writeln!(out, "      <error message=\"{message}\"/>");
            }
            Status::Skip => {
                let _ = writeln!(out, "      <skipped message=\"{message}\"/>");
            }
        }
        let evidence = serde_json::to_string_pretty(&r.evidence).unwrap_or_default();
        let _ = writeln!(out, "      <system-out>{}\n{}</system-out>", escape(&r.summary), escape(&evidence));
        let _ = writeln!(out, "    </testcase>");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
