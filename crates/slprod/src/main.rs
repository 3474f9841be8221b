//! `slprod`: the salesloft-prod command line. A thin layer of clap over the library crates.

mod commands;
mod limits;

use clap::Parser;

/// Exit code when the command could not run at all (bad arguments, unreachable store, …).
const EXIT_COULD_NOT_RUN: i32 = 2;

fn main() {
    let cli = commands::Cli::parse();
    commands::init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            std::process::exit(EXIT_COULD_NOT_RUN);
        }
    };
    let code = runtime.block_on(commands::run(cli.command));
    std::process::exit(code);
}
