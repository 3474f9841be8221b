//! `slprod store reap`: delete what has outlived its retention in the store, and say how much.
//!
//! Idempotency keys are kept 24 h (Stripe's key retention, research/anchors.md §3) and finished webhook
//! deliveries 7 days; `reap` deletes older ones (keys under a live lease and pending deliveries are kept).
//! `slprod push` reaps on start as well, so a store used only by pushes never grows past a day of keys.

use clap::{Args, Subcommand};

use super::Context;
use crate::connect::StoreArgs;
use crate::error::{CliError, Outcome, Status};

/// Arguments of `slprod store`.
#[derive(Debug, Args)]
pub struct StoreCommandArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
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
        /// Print the counts as one JSON object (same as the global `--output json`).
        #[arg(long)]
        json: bool,
    },
}

/// Runs `slprod store`: done (0), could not run (2).
pub async fn run(args: StoreCommandArgs, context: &Context) -> Result<Outcome, CliError> {
    let StoreAction::Reap { json } = args.action;
    let store = args.store.open(&context.config).await?;
    let reaped = store.reap().await;
    store.close().await;
    let report = reaped.map_err(CliError::store("reap failed"))?;
    let value = serde_json::to_value(report).unwrap_or_default();
    let text = if json {
        format!("{}\n", serde_json::to_string(&report).unwrap_or_default())
    } else {
        format!("reaped {} expired ledger keys and {} expired inbox rows\n", report.ledger_keys, report.inbox_rows)
    };
    Ok(Outcome::new(Status::Done, value, text))
}
