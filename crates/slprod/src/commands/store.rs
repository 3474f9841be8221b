//! `slprod store reap`: delete what has outlived its retention in the store, and say how much.
//!
//! Idempotency keys are kept 24 h (Stripe's key retention, research/anchors.md §3) and finished webhook
//! deliveries 7 days; `reap` deletes older ones (keys under a live lease and pending deliveries are kept).
//! `slprod push` reaps on start as well, so a store used only by pushes never grows past a day of keys.

use clap::{Args, Subcommand};

/// Exit code: done.
const EXIT_OK: i32 = 0;
/// Exit code: could not run (bad URL, unreachable store).
const EXIT_COULD_NOT_RUN: i32 = 2;

/// Arguments of `slprod store`.
#[derive(Debug, Args)]
pub struct StoreCommandArgs {
    /// Store URL: `sqlite://PATH` or `postgres://…`.
    #[arg(long, global = true, env = "SLPROD_STORE", default_value = salesloft_store::DEFAULT_STORE_URL)]
    pub store: String,
    /// What to do.
    #[command(subcommand)]
    pub action: StoreAction,
}

/// The `slprod store` subcommands.
#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// Delete expired idempotency keys (older than 24 h) and finished webhook deliveries (older than 7 days);
    /// print how many.
    Reap {
        /// Print the counts as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `slprod store`; 0 done, 2 could not run.
pub async fn run(args: StoreCommandArgs) -> i32 {
    let StoreAction::Reap { json } = args.action;
    let store = match salesloft_store::open(&args.store).await {
        Ok(store) => store,
        Err(error) => {
            eprintln!("error: cannot open the store: {error}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    let reaped = store.reap().await;
    store.close().await;
    match reaped {
        Ok(report) if json => match serde_json::to_string(&report) {
            Ok(line) => {
                println!("{line}");
                EXIT_OK
            }
            Err(error) => {
                eprintln!("error: {error}");
                EXIT_COULD_NOT_RUN
            }
        },
        Ok(report) => {
            println!("reaped {} expired ledger keys and {} expired inbox rows", report.ledger_keys, report.inbox_rows);
            EXIT_OK
        }
        Err(error) => {
            eprintln!("error: reap failed: {error}");
            EXIT_COULD_NOT_RUN
        }
    }
}
