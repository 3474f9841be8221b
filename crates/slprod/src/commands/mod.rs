//! One module per subcommand. Each `run` returns the process exit code: 0 success, 1 some items failed,
//! 2 could not run, 3 (`push`) stopped by a pause set while it ran.

pub mod audit;
pub mod audit_key;
pub mod demo;
pub mod pause;
pub mod pull;
pub mod push;
pub mod sim;
pub mod store;

use clap::{Parser, Subcommand, ValueEnum};

/// salesloft-prod: make a SalesLoft API v2 integration production-ready, and prove it.
#[derive(Debug, Parser)]
#[command(name = "slprod", version, about)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "SLPROD_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the embedded simulator and run the client against it (a pull and a push, with their figures).
    Demo(demo::DemoArgs),
    /// Run the SalesLoft API v2 + OAuth simulator.
    Sim(sim::SimArgs),
    /// Verify, anchor (`head`) or export the hash-chained audit log.
    Audit(audit::AuditArgs),
    /// Pause every mutation sent through this store (rollback switch).
    Pause(pause::PauseArgs),
    /// Lift the pause switch.
    Resume(pause::StoreArgs),
    /// Show the pause switch (exit 1 while paused).
    Paused(pause::StoreArgs),
    /// Pull records to JSON lines.
    Pull(pull::PullArgs),
    /// Push people.
    Push(push::PushArgs),
    /// Store maintenance: `reap` deletes expired ledger keys and inbox rows.
    Store(store::StoreCommandArgs),
}

/// Runs one subcommand and returns its exit code.
pub async fn run(command: Command) -> i32 {
    match command {
        Command::Demo(args) => demo::run(args).await,
        Command::Sim(args) => sim::run(args).await,
        Command::Audit(args) => audit::run(args).await,
        Command::Pause(args) => pause::pause(args).await,
        Command::Resume(args) => pause::resume(args).await,
        Command::Paused(args) => pause::show(args).await,
        Command::Pull(args) => pull::run(args).await,
        Command::Push(args) => push::run(args).await,
        Command::Store(args) => store::run(args).await,
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
