//! `slprod`: the salesloft-prod command line. A thin layer of clap over the library crates.
//!
//! `main` parses the flags, reads the configuration file once, runs the subcommand and prints its result or
//! error through one [`output::Ui`], which maps it to the exit code ([`error::exit_code`]).

mod alerting;
mod atomic_file;
mod check;
mod commands;
// Keys without a flag today (retry, breaker, budget, alerts, …) are parsed and validated now and read by the
// commands to come (check, smoke, the rest of serve).
#[allow(dead_code)]
mod config;
mod connect;
mod error;
mod input;
mod limits;
mod output;
mod signals;

use clap::Parser;

use crate::error::CliError;

fn main() {
    let mut cli = commands::Cli::parse();
    adopt_legacy_simulator_file(&mut cli);
    let ui = output::Ui::new(cli.output);
    // `slprod check` drives faults on purpose: its drills' retries, breaker trips and 401s are evidence in the
    // report, not news for the terminal, so it logs errors only unless asked for more (-v).
    let check = matches!(cli.command, commands::Command::Check(_));
    let quiet = if check && cli.verbose == 0 { cli.quiet.saturating_add(2) } else { cli.quiet };
    output::init_logging(&ui, cli.log_format, cli.verbose, quiet);
    let (config, config_path) = match config::load(cli.config.as_deref()) {
        Ok(loaded) => {
            if let Some(path) = &loaded.path {
                tracing::debug!(path = %path.display(), "read the configuration file");
            }
            (loaded.config, loaded.path)
        }
        Err(error) => std::process::exit(ui.finish(&Err(error.into()))),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => std::process::exit(ui.finish(&Err(CliError::Runtime(error)))),
    };
    let context = commands::Context { config, config_path, ui };
    let result = runtime.block_on(commands::run(cli.command, &context));
    let code = context.ui.finish(&result);
    drop(runtime);
    std::process::exit(code);
}

/// `slprod sim --config sim.toml` named the simulator's own file before `--config` became the global flag for
/// slprod.toml. A command line is a contract, so such a file still configures the simulator: when `sim` is run
/// with a `--config` that is a simulator file (it parses as one and not as slprod.toml), it is taken as
/// `--sim-config`.
fn adopt_legacy_simulator_file(cli: &mut commands::Cli) {
    let commands::Command::Sim(args) = &mut cli.command else {
        return;
    };
    let Some(path) = cli.config.as_deref() else {
        return;
    };
    if args.sim_config.is_some() {
        return;
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    if salesloft_sim::SimConfig::from_toml(&text).is_ok() && config::parse(&text, path).is_err() {
        args.sim_config = cli.config.take();
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use clap::Parser;

    use super::*;

    fn cli_with_file(contents: &str) -> (commands::Cli, tempfile::NamedTempFile) {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(contents.as_bytes()).expect("write");
        let path = file.path().display().to_string();
        let mut cli = commands::Cli::try_parse_from(["slprod", "sim", "--config", &path]).expect("parses");
        adopt_legacy_simulator_file(&mut cli);
        (cli, file)
    }

    #[test]
    fn a_simulator_file_given_to_sim_as_config_still_configures_the_simulator() {
        let (cli, file) = cli_with_file("budget_per_minute = 5\nseed_people = 3\n");
        let commands::Command::Sim(args) = &cli.command else { panic!("sim") };
        assert_eq!(args.sim_config.as_deref(), Some(file.path()));
        assert_eq!(cli.config, None, "not read as slprod.toml");
    }

    #[test]
    fn an_slprod_toml_given_to_sim_stays_the_global_configuration() {
        let (cli, file) = cli_with_file("[store]\nurl = \"sqlite://x.sqlite\"\n");
        let commands::Command::Sim(args) = &cli.command else { panic!("sim") };
        assert_eq!(args.sim_config, None);
        assert_eq!(cli.config.as_deref(), Some(file.path()));
    }
}
