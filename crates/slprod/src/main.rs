//! `slprod`: the salesloft-prod command line. A thin layer of clap over the library crates.
//!
//! `main` parses the flags, reads the configuration file once, runs the subcommand and prints its result or
//! error through one [`output::Ui`], which maps it to the exit code ([`error::exit_code`]).

mod commands;
// Keys without a flag today (retry, breaker, webhooks, gateway, alerts, …) are parsed and validated now and read
// by the commands to come (serve, check, smoke).
#[allow(dead_code)]
mod config;
mod connect;
mod error;
mod input;
mod limits;
mod output;

use clap::Parser;

use crate::error::CliError;

fn main() {
    let cli = commands::Cli::parse();
    let ui = output::Ui::new(cli.output);
    output::init_logging(&ui, cli.log_format, cli.verbose, cli.quiet);
    let config = match config::load(cli.config.as_deref()) {
        Ok(loaded) => {
            if let Some(path) = &loaded.path {
                tracing::debug!(path = %path.display(), "read the configuration file");
            }
            loaded.config
        }
        Err(error) => std::process::exit(ui.finish(&Err(error.into()))),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => std::process::exit(ui.finish(&Err(CliError::Runtime(error)))),
    };
    let context = commands::Context { config, ui };
    let result = runtime.block_on(commands::run(cli.command, &context));
    let code = context.ui.finish(&result);
    drop(runtime);
    std::process::exit(code);
}
