//! One self-contained HTML page for a reviewer: the verdict, failures first, every section with status and
//! evidence, and two plots drawn as inline SVG (no script, no network): the latency distribution per class
//! against the 300/500 ms baselines, and cost per minute against the budget during the write burst.

use std::fmt::Write;

use super::junit::escape;
use super::{Report, severity_label, status_label};
use crate::check::model::Section;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2330;padding:0 1rem}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #dde;padding-bottom:.2rem}\
.verdict{font-size:1.2rem;font-weight:600;padding:.6rem 1rem;border-radius:6px}.ready{background:#e3f6e8;color:#14632b}\
.notready{background:#fde8e8;color:#8a1c1c}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.35rem .5rem;\
border-bottom:1px solid #eef;vertical-align:top}td:first-child{white-space:nowrap}.badge{font-weight:700;font-size:.8rem;padding:.1rem .45rem;border-radius:4px}\
.PASS{background:#d7f2df;color:#14632b}.FAIL{background:#fbd5d5;color:#8a1c1c}.SKIP{background:#fff2cc;color:#7a5b00}\
.ERROR{background:#ecd9f7;color:#5b1f80}pre{background:#f6f7fb;padding:.6rem;overflow:auto;max-height:22rem;font-size:12px}\
details summary{cursor:pointer;color:#445}.plots{display:flex;flex-wrap:wrap;gap:1.5rem}figure{margin:0}\
figcaption{font-size:.85rem;color:#556}";

/// Renders `report` as a self-contained HTML page.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let ready = report.counts().pass == report.results.len();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>slprod check — {}</title>\
         <style>{STYLE}</style></head><body>\n<h1>SalesLoft go-live check</h1>\n<p>Target: {} · slprod {}</p>\n\
         <p class=\"verdict {}\" id=\"verdict\">{}</p>\n",
        escape(&report.verdict()),
        escape(&report.target),
        report.version,
        if ready { "ready" } else { "notready" },
        escape(&report.verdict())
    );
    let failures = report.failures();
    if !failures.is_empty() {
        out.push_str("<h2 id=\"fix\">To fix, most severe first</h2><ul>");
        for r in failures {
            let _ = write!(out, "<li><b>{} {}</b>: {}</li>", severity_label(r.severity), r.id, escape(&r.summary));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<h2 id=\"plots\">Measured</h2><div class=\"plots\">");
    out.push_str(&latency_plot(report));
    out.push_str(&cost_plot(report));
    out.push_str("</div>\n");
    for section in Section::ALL {
        let mut results = report.section(section).peekable();
        if results.peek().is_none() {
            continue;
        }
        let _ = write!(
            out,
            "<h2 id=\"{}\">{}</h2><table><tr><th>ID</th><th>Item</th><th>Severity</th><th>Status</th><th>Evidence</th></tr>",
            section.prefix(),
            escape(section.title())
        );
        for r in results {
            let label = status_label(r.status);
            let evidence = serde_json::to_string_pretty(&r.evidence).unwrap_or_default();
            let _ = write!(
                out,
                "<tr id=\"{id}\" data-status=\"{label}\"><td><b>{id}</b></td><td>{item}</td><td>{sev}</td>\
                 <td><span class=\"badge {label}\">{label}</span></td><td>{summary}<details><summary>evidence \
                 ({kind}, {ms:.0} ms)</summary><pre>{evidence}</pre></details></td></tr>",
                id = r.id,
                item = escape(r.item),
                sev = severity_label(r.severity),
                summary = escape(&r.summary),
                kind =
                    serde_json::to_value(r.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
                ms = r.elapsed_ms,
                evidence = escape(&evidence),
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}

const W: f64 = 520.0;
const H: f64 = 260.0;
const PAD: f64 = 44.0;

fn axes(out: &mut String, x_label: &str, y_label: &str) {
    let _ = write!(
        out,
        "<line x1=\"{PAD}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#889\"/><line x1=\"{PAD}\" y1=\"{t}\" x2=\"{PAD}\" y2=\"{b}\" stroke=\"#889\"/>\
         <text x=\"{cx}\" y=\"{lb}\" font-size=\"11\" text-anchor=\"middle\">{x_label}</text>\
         <text x=\"12\" y=\"{cy}\" font-size=\"11\" transform=\"rotate(-90 12 {cy})\" text-anchor=\"middle\">{y_label}</text>",
        b = H - PAD,
        r = W - 10.0,
        t = 10.0,
        cx = (W + PAD) / 2.0,
        lb = H - 8.0,
        cy = H / 2.0
    );
}

/// The latency distribution (share of calls at or under each latency) per class, with the baselines.
fn latency_plot(report: &Report) -> String {
    let samples = &report.plots.latency_ms;
    // A log scale from 0.1 ms: loopback answers in a millisecond and SalesLoft in hundreds; both must show.
    let (low, max) = (0.1_f64, samples.values().flatten().copied().fold(1_000.0_f64, f64::max).min(60_000.0));
    let x = |ms: f64| PAD + ((ms.clamp(low, max) / low).log10() / (max / low).log10()) * (W - PAD - 10.0);
    let y = |share: f64| (H - PAD) - share * (H - PAD - 10.0);
    let mut out = format!(
        "<figure id=\"latency-plot\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" role=\"img\" \
         aria-label=\"latency distribution per class\">"
    );
    axes(&mut out, "latency (ms, log scale)", "share of calls ≤ x");
    for (baseline, class, colour, label_y) in [(300.0, "read", "#2d6cdf", 22.0), (500.0, "write", "#d0622b", 36.0)] {
        let _ = write!(
            out,
            "<line x1=\"{bx:.1}\" y1=\"10\" x2=\"{bx:.1}\" y2=\"{b}\" stroke=\"{colour}\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{tx:.1}\" y=\"{label_y}\" font-size=\"10\" fill=\"{colour}\" text-anchor=\"end\">{class} baseline {baseline:.0} ms</text>",
            bx = x(baseline),
            b = H - PAD,
            tx = x(baseline) - 3.0
        );
    }
    for (class, colour) in [("read", "#2d6cdf"), ("write", "#d0622b")] {
        let Some(values) = samples.get(class).filter(|v| !v.is_empty()) else { continue };
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let points: Vec<String> = sorted
            .iter()
            .enumerate()
            .map(|(i, ms)| format!("{:.1},{:.1}", x(*ms), y((i + 1) as f64 / sorted.len() as f64)))
            .collect();
        let p99 = sorted[((0.99 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\
             <text class=\"p99\" x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"{colour}\" text-anchor=\"end\">{class} p99 {p99:.1} ms (n={})</text>",
            points.join(" "),
            W - 14.0,
            if class == "read" { H - PAD - 40.0 } else { H - PAD - 26.0 },
            sorted.len()
        );
    }
    for tick in [0.1, 1.0, 10.0, 100.0, 1_000.0, 10_000.0].into_iter().filter(|t| *t <= max) {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.0}\" font-size=\"10\" text-anchor=\"middle\">{tick}</text>",
            x(tick),
            H - PAD + 12.0
        );
    }
    out.push_str("</svg><figcaption>Latency per class measured in the drills, against the 300 ms read and 500 ms write baselines (MON-5).</figcaption></figure>");
    out
}

/// Cost per (simulated) minute during the write burst, against the budget.
fn cost_plot(report: &Report) -> String {
    let plots = &report.plots;
    let budget = plots.budget_per_minute.unwrap_or(600.0);
    let top = plots.cost_per_minute.iter().map(|(_, c)| *c).fold(budget, f64::max) * 1.15;
    let bars = plots.cost_per_minute.len().max(1) as f64;
    let width = (W - PAD - 10.0) / bars;
    let y = |cost: f64| (H - PAD) - (cost / top) * (H - PAD - 10.0);
    let mut out = format!(
        "<figure id=\"cost-plot\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" role=\"img\" \
         aria-label=\"cost per minute against the budget\">"
    );
    axes(&mut out, "minute of the write burst", "cost");
    for (i, (_, cost)) in plots.cost_per_minute.iter().enumerate() {
        let fill = if *cost > budget { "#c0392b" } else { "#5b8def" };
        let _ = write!(
            out,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>minute {}: cost {cost}</title></rect>",
            PAD + i as f64 * width + 2.0,
            y(*cost),
            (width - 4.0).max(1.0),
            (H - PAD) - y(*cost),
            i + 1
        );
    }
    let _ = write!(
        out,
        "<line x1=\"{PAD}\" y1=\"{by:.1}\" x2=\"{r}\" y2=\"{by:.1}\" stroke=\"#c0392b\" stroke-dasharray=\"5 3\"/>\
         <text x=\"{r}\" y=\"{ty:.1}\" font-size=\"10\" fill=\"#c0392b\" text-anchor=\"end\">budget {budget:.0}/min</text>",
        by = y(budget),
        r = W - 10.0,
        ty = y(budget) - 4.0
    );
    if plots.cost_per_minute.is_empty() {
        let _ = write!(
            out,
            "<text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\" text-anchor=\"middle\">no write burst in this run (RATE-3)</text>",
            (W + PAD) / 2.0,
            H / 2.0
        );
    }
    out.push_str("</svg><figcaption>Cost per minute while a burst of writes ran (RATE-3): paced under the budget, no 429.</figcaption></figure>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_escaped_not_injected() {
        assert_eq!(escape("<script>&\"'"), "&lt;script&gt;&amp;&quot;&apos;");
    }
}
