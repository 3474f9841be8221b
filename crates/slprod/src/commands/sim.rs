//! `slprod sim`: filled in by the simulator work.

/// Arguments of `slprod sim`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {}

/// Runs the simulator until SIGINT/SIGTERM.
pub async fn run(_args: SimArgs) -> i32 {
    super::super::EXIT_COULD_NOT_RUN
}
