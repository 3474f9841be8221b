//! The command line's shape: global flags, one module per subcommand, and the dispatch. Each subcommand's
//! `run` returns `Result<Outcome, CliError>`; `main` prints it through [`crate::output::Ui`] and maps it to
//! the exit code ([`crate::error::exit_code`]).

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod budget;
pub mod completions;
pub mod demo;
pub mod inbox;
pub mod pause;
pub mod pull;
pub mod push;
pub mod rollback;
pub mod serve;
pub mod sim;
pub mod smoke;
pub mod store;

use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand};

use crate::config::Config;
use crate::error::{CliError, Outcome};
use crate::output::{LogFormat, OutputFormat, Ui};

/// salesloft-prod: make a SalesLoft API v2 integration production-ready, and prove it.
#[derive(Debug, Parser)]
#[command(name = "slprod", version, about)]
pub struct Cli {
    /// How results and errors are printed.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text, env = "SLPROD_OUTPUT")]
    pub output: OutputFormat,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "SLPROD_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// More log lines (-v debug, -vv trace); RUST_LOG, when set, wins.
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Fewer log lines (-q warnings, -qq errors only); RUST_LOG, when set, wins.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub quiet: u8,
    /// Configuration file (slprod.toml; see docs/configuration.md) [default: ./slprod.toml when it exists].
    #[arg(long, global = true, env = "SLPROD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the embedded simulator and run the client against it (a pull and a push, with their figures).
    Demo(demo::DemoArgs),
    /// Run the SalesLoft API v2 + OAuth simulator.
    Sim(sim::SimArgs),
    /// Run the gateway: the team's single egress to SalesLoft (proxy, webhooks, health, metrics, pause).
    Serve(serve::ServeArgs),
    /// OAuth tokens in their secret: `login` (authorization-code flow, stores the tokens), `status` (expiry and
    /// source, never the values).
    Auth(auth::AuthArgs),
    /// Verify, anchor (`head`) or export the hash-chained audit log.
    Audit(audit::AuditArgs),
    /// Pause every mutation sent through this store (rollback switch).
    Pause(pause::PauseArgs),
    /// Lift the pause switch.
    Resume(pause::SwitchArgs),
    /// Show the pause switch (exit 1 while paused).
    Paused(pause::SwitchArgs),
    /// Pull records to JSON lines.
    Pull(pull::PullArgs),
    /// Push people.
    Push(push::PushArgs),
    /// Store maintenance: `reap` deletes expired ledger keys and inbox rows.
    Store(store::StoreCommandArgs),
    /// The webhook inbox: `export` writes every stored delivery as JSON lines.
    Inbox(inbox::InboxArgs),
    /// The go-live checklist as 27 checks with evidence: static, live and fault drills (exit 1 when one fails).
    Check(crate::check::CheckArgs),
    /// Does the declared volume fit the team's SalesLoft budget at its busiest minute? (exit 1 when not)
    Budget(budget::BudgetArgs),
    /// The rollback procedure: pause syncs and mutations, wait for /health, notify; then says what is left.
    Rollback(rollback::RollbackArgs),
    /// Post-launch smoke tests: GET /me, a people count and the gateway's /health, each against the read
    /// baseline.
    Smoke(smoke::SmokeArgs),
    /// The alerts of issue 10: `export` writes Prometheus rules, promtool tests, an Alertmanager example and a
    /// Grafana dashboard.
    Alerts(alerts::AlertsArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
}

/// What every command gets besides its arguments: the parsed configuration file and the terminal.
#[derive(Debug)]
pub struct Context {
    /// `slprod.toml`, or the defaults when there is none.
    pub config: Config,
    /// The file `config` was read from; `None` when there is none.
    pub config_path: Option<PathBuf>,
    /// Output format, colour and progress bars.
    pub ui: Ui,
}

/// Runs one subcommand.
pub async fn run(command: Command, context: &Context) -> Result<Outcome, CliError> {
    match command {
        Command::Demo(args) => demo::run(args, context).await,
        Command::Sim(args) => sim::run(args, context).await,
        Command::Serve(args) => serve::run(args, context).await,
        Command::Audit(args) => audit::run(args, context).await,
        Command::Auth(args) => auth::run(args, context).await,
        Command::Pause(args) => pause::pause(args, context).await,
        Command::Resume(args) => pause::resume(args, context).await,
        Command::Paused(args) => pause::show(args, context).await,
        Command::Pull(args) => pull::run(args, context).await,
        Command::Push(args) => push::run(args, context).await,
        Command::Store(args) => store::run(args, context).await,
        Command::Inbox(args) => inbox::run(args, context).await,
        Command::Budget(args) => budget::run(args, context),
        Command::Check(args) => crate::check::run(args, context).await,
        Command::Smoke(args) => smoke::run(args, context).await,
        Command::Rollback(args) => rollback::run(args, context).await,
        Command::Alerts(args) => alerts::run(args, context),
        Command::Completions(args) => completions::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from(["slprod", "paused", "--output", "json", "-qq", "--config", "x.toml"])
            .expect("global flags parse after the subcommand");
        assert_eq!((cli.output, cli.quiet), (OutputFormat::Json, 2));
        assert_eq!(cli.config, Some(PathBuf::from("x.toml")));
        assert!(Cli::try_parse_from(["slprod", "paused", "-v", "-q"]).is_err(), "-v and -q conflict");
    }
}
