//! `slprod alerts export --out DIR`: the four alerts of issue 10 as the files Prometheus, promtool,
//! Alertmanager and Grafana load, rendered from the one definition in `salesloft_alerts` with the thresholds
//! of `[alerts]` (and the budget of `[budget]` for the dashboard). `docs/operations.md` is the runbook the
//! rules link to.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use salesloft_alerts::RenderOptions;
use serde_json::json;

use super::Context;
use crate::alerting::thresholds;
use crate::config::Config;
use crate::error::{CliError, Outcome, Status};

/// Arguments of `slprod alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: AlertsAction,
}

/// The `slprod alerts` subcommands.
#[derive(Debug, Subcommand)]
pub enum AlertsAction {
    /// Write the Prometheus rule file, its promtool tests, an Alertmanager routing example and a Grafana
    /// dashboard into DIR (created if missing; files of the same names are replaced).
    Export {
        /// The directory to write into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The URL of docs/operations.md that runbook links point into (`#<alert>` is appended).
        #[arg(long, value_name = "URL", default_value = salesloft_alerts::definition::DEFAULT_RUNBOOK_BASE)]
        runbook_url: String,
        /// Test only: replace every rule's `for:` (e.g. `0s`), so a test against a real Prometheus need not
        /// wait minutes. Never set it for production rules.
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, hide = true)]
        test_hold: Option<Duration>,
    },
}

/// `[budget] cost_per_minute` (600 by default), drawn on the dashboard.
fn budget_per_minute(config: &Config) -> u32 {
    config.budget.cost_per_minute.unwrap_or(600)
}

/// Runs `slprod alerts`: done (0), bad thresholds or unwritable directory (2).
pub fn run(args: AlertsArgs, context: &Context) -> Result<Outcome, CliError> {
    let AlertsAction::Export { out, runbook_url, test_hold } = args.action;
    let thresholds = thresholds(&context.config.alerts);
    let options = RenderOptions { runbook_base: runbook_url, hold_override: test_hold };
    let written = salesloft_alerts::export(&out, &thresholds, budget_per_minute(&context.config), &options)
        .map_err(|error| CliError::Input(error.to_string()))?;
    let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    let text = files.iter().map(|f| format!("wrote {f}\n")).collect::<String>();
    Ok(Outcome::new(Status::Done, json!({"files": files}), text))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_dashboard_reads_the_gateway_inbox_gauge_by_its_name() {
        assert_eq!(salesloft_alerts::dashboard::INBOX_DELIVERIES, salesloft_gateway::metrics::INBOX_DELIVERIES);
    }
}
