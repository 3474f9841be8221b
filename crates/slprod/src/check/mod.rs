//! `slprod check`: the go-live checklist (`../shared/seed/salesloft-prod-checklist.txt`) as 27 executable
//! checks with evidence (DESIGN.md "Checks"): AUTH-1..4, ERR-1..5, RATE-1..4, MON-1..5, DATA-1..4, ROLL-1..3,
//! SMOKE-1..2.
//!
//! - **Static** checks read `slprod.toml` ([`static_checks`]).
//! - **Live** checks reach the configured SalesLoft and gateway, with reads only ([`live`]); with nothing
//!   configured they reach an embedded simulator behind an in-process gateway ([`target`]).
//! - **Drills** run the *configured* client policies against an embedded simulator with scripted faults
//!   ([`drills`]): a bad setting fails its drill.
//!
//! The report ([`report`]) groups the results by checklist section; `--format json|junit|markdown|html`
//! writes it for machines and reviewers. Exit 0 when every selected check passed, 1 when one failed (P1
//! failures listed first), 2 when the check itself could not run. A skip is never a pass: a selection that
//! skips a check exits 1 unless `--allow-skips`.

pub mod catalogue;
pub mod drills;
pub mod live;
pub mod model;
pub mod report;
pub mod static_checks;
pub mod target;

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::commands::Context;
use crate::error::{CliError, Outcome, Status};
use model::{CheckResult, Finding, Status as CheckStatus};

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Grouped lines for a terminal (the default).
    Text,
    /// One JSON document: every check with id, section, severity, kind, status, summary and evidence.
    Json,
    /// JUnit XML: one testcase per check, for CI.
    Junit,
    /// A Markdown table per section, for a pull request or a ticket.
    Markdown,
    /// One self-contained HTML page with the evidence and plots, for a reviewer's browser.
    Html,
}

/// Arguments of `slprod check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Where and how to reach SalesLoft for the live checks [default: the embedded simulator].
    #[command(flatten)]
    pub connect: crate::connect::ConnectArgs,
    /// The gateway to check live (`/health`, `/metrics`) [default: rollback.health_url's gateway, else an
    /// in-process gateway in front of the embedded simulator].
    #[arg(long)]
    pub gateway: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report here instead of standard output (text still prints a summary).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only these checks: IDs (`ERR-3`) or sections (`ERR`, `Rate`), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Skip these checks: IDs or sections, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub skip: Vec<String>,
    /// Let the live checks write to the configured SalesLoft: DATA-1 then also upserts one marker person
    /// (`--write-email`) twice and checks that one person has the email. Without it live checks only read.
    #[arg(long)]
    pub allow_writes: bool,
    /// The marker person's email for `--allow-writes`.
    #[arg(long, default_value = "slprod-check@example.com", requires = "allow_writes")]
    pub write_email: String,
}

/// Whether `def` is selected by `--only` / `--skip` (IDs or section prefixes/titles, case-insensitive).
pub fn selected(def: &model::Def, only: &[String], skip: &[String]) -> bool {
    let matches = |pattern: &String| {
        let p = pattern.trim();
        p.eq_ignore_ascii_case(def.id)
            || p.eq_ignore_ascii_case(def.section.prefix())
            || p.eq_ignore_ascii_case(def.section.title())
            || (p.len() >= 3 && def.section.title().to_ascii_lowercase().starts_with(&p.to_ascii_lowercase()))
    };
    (only.is_empty() || only.iter().any(matches)) && !skip.iter().any(matches)
}

/// Checks that a selection names only known checks or sections.
fn validate_selection(patterns: &[String], flag: &str) -> Result<(), CliError> {
    for pattern in patterns {
        if pattern.trim().is_empty() {
            continue;
        }
        if !catalogue::DEFS.iter().any(|def| selected(def, std::slice::from_ref(pattern), &[])) {
            let known: Vec<&str> = catalogue::DEFS.iter().map(|d| d.id).collect();
            return Err(CliError::Input(format!(
                "{flag} {pattern:?} names no check: use an ID ({}) or a section ({})",
                known.join(", "),
                model::Section::ALL.iter().map(|s| s.prefix()).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(())
}

/// Runs `slprod check`.
pub async fn run(args: CheckArgs, context: &Context) -> Result<Outcome, CliError> {
    validate_selection(&args.only, "--only")?;
    validate_selection(&args.skip, "--skip")?;
    let defs: Vec<&model::Def> = catalogue::DEFS.iter().filter(|d| selected(d, &args.only, &args.skip)).collect();
    if defs.is_empty() {
        return Err(CliError::Input("--only and --skip leave no check to run".into()));
    }
    let target = target::Target::resolve(&args, &context.config)?;
    let scratch = tempfile::tempdir().map_err(|e| CliError::Check(format!("no temporary directory: {e}")))?;
    // No configuration file: judge the embedded deployment's own profile (target::embedded_profile).
    let config = match (&context.config_path, &target) {
        (None, target::Target::Embedded) => target::embedded_profile(scratch.path()).map_err(CliError::Check)?,
        _ => context.config.clone(),
    };
    let mut env = target::Env::new(config, target, scratch);
    env.live_writes = args.allow_writes.then(|| args.write_email.clone());
    let progress = context.ui.progress(Some(defs.len() as u64), "{spinner} {pos}/{len} {msg}");
    let started = Instant::now();
    let mut results = Vec::with_capacity(defs.len());
    for def in defs {
        progress.set_message(def.id);
        let begun = Instant::now();
        let finding = match catalogue::run_one(def, &mut env).await {
            Ok(finding) => finding,
            Err(error) => Finding::error(error),
        };
        results.push(CheckResult::new(def, finding, begun.elapsed()));
        progress.inc(1);
    }
    progress.finish_and_clear();
    env.shutdown().await;
    let elapsed = started.elapsed();

    let report = report::Report::new(results, env.target_description(), elapsed, env.plots());
    let rendered = match args.format {
        Format::Text => report::terminal::render(&report, colour()),
        Format::Json => report::json::render(&report),
        Format::Junit => report::junit::render(&report),
        Format::Markdown => report::markdown::render(&report),
        Format::Html => report::html::render(&report),
    };
    let counts = report.counts();
    let status = if report.any(CheckStatus::Error) && !report.any(CheckStatus::Fail) {
        // The check itself could not run somewhere: exit 2 with the reasons.
        let reasons: Vec<String> = report
            .results
            .iter()
            .filter(|r| r.status == CheckStatus::Error)
            .map(|r| format!("{}: {}", r.id, r.summary))
            .collect();
        // The report still goes out: what did run is evidence too.
        match &args.out {
            Some(path) => write_report(path, &rendered)?,
            None => context.ui.suspend(|| print!("{rendered}")),
        }
        return Err(CliError::Check(format!("some checks could not run:\n{}", reasons.join("\n"))));
    } else if counts.fail > 0 || counts.error > 0 || counts.skip > 0 {
        Status::Problems
    } else {
        Status::Done
    };
    let summary = json!({
        "passed": counts.pass, "failed": counts.fail, "skipped": counts.skip, "errors": counts.error,
        "total": report.results.len(), "elapsed_ms": elapsed.as_secs_f64() * 1000.0,
    });
    match &args.out {
        Some(path) => {
            write_report(path, &rendered)?;
            let text = format!(
                "{}/{} checks passed ({} failed, {} skipped); report written to {}\n",
                counts.pass,
                report.results.len(),
                counts.fail + counts.error,
                counts.skip,
                path.display()
            );
            Ok(Outcome::new(status, json!({"summary": summary, "out": path.display().to_string()}), text))
        }
        None => {
            let json = match args.format {
                Format::Json => serde_json::from_str(&rendered).unwrap_or(summary),
                _ => summary,
            };
            Ok(Outcome::new(status, json, rendered))
        }
    }
}

/// Colour on standard output when it is a terminal and `NO_COLOR` is unset.
fn colour() -> bool {
    use std::io::IsTerminal;
    crate::output::use_colour(std::io::stdout().is_terminal(), std::env::var_os("NO_COLOR").as_deref())
}

fn write_report(path: &std::path::Path, rendered: &str) -> Result<(), CliError> {
    std::fs::write(path, rendered)
        .map_err(|e| CliError::Input(format!("cannot write the report to {}: {e}", path.display())))
}
