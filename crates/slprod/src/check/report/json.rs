//! The JSON report: `{summary, target, checks: [{id, section, severity, kind, status, summary, evidence, …}]}`.

use serde_json::json;

use super::Report;

/// Renders `report` as pretty JSON.
pub fn render(report: &Report) -> String {
    let c = report.counts();
    let document = json!({
        "tool": "slprod check", "version": report.version, "target": report.target,
        "verdict": report.verdict(), "elapsed_ms": report.elapsed.as_secs_f64() * 1000.0,
        "summary": {"total": report.results.len(), "passed": c.pass, "failed": c.fail, "skipped": c.skip, "errors": c.error},
        "checks": report.results,
    });
    serde_json::to_string_pretty(&document).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")) + "\n"
}
