//! `slprod pause` / `slprod resume` / `slprod paused`: the store's pause switch. While it is on, every process
//! and replica sharing the store stops sending mutations to SalesLoft (`slprod push` refuses to start); reads go
//! on (DESIGN.md "Pause switch", checklist "Rollback Procedure: pause any running cadence syncs").

use clap::Args;
use serde_json::json;

use super::Context;
use crate::connect::StoreArgs;
use crate::error::{CliError, Outcome, Status};

/// Arguments of `slprod pause`.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// The store whose switch to set.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Why (shown to whoever is refused).
    #[arg(long, default_value = "paused by an operator")]
    pub reason: String,
    /// Who (default: $USER).
    #[arg(long, env = "USER", default_value = "operator")]
    pub by: String,
}

/// Arguments of `slprod resume` and `slprod paused`.
#[derive(Debug, Args)]
pub struct SwitchArgs {
    /// The store whose switch to read or lift.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Turns the switch on: done (0), could not (2).
pub async fn pause(args: PauseArgs, context: &Context) -> Result<Outcome, CliError> {
    set(&args.store, context, true, &args.by, &args.reason).await
}

/// Turns the switch off: done (0), could not (2).
pub async fn resume(args: SwitchArgs, context: &Context) -> Result<Outcome, CliError> {
    set(&args.store, context, false, "", "").await
}

/// Shows the switch: not paused (0), paused (1), could not read it (2).
pub async fn show(args: SwitchArgs, context: &Context) -> Result<Outcome, CliError> {
    let store = args.store.open(&context.config).await?;
    let state = store.pause().paused().await;
    store.close().await;
    Ok(match state.map_err(CliError::store("cannot read the pause switch"))? {
        None => Outcome::new(Status::Done, json!({"paused": false}), "not paused\n"),
        Some(info) => Outcome::new(
            Status::Problems,
            json!({"paused": true, "since": info.since.to_string(), "by": info.by, "reason": info.reason}),
            format!("paused since {} by {}: {}\n", info.since, info.by, info.reason),
        ),
    })
}

async fn set(args: &StoreArgs, context: &Context, paused: bool, by: &str, reason: &str) -> Result<Outcome, CliError> {
    let store = args.open(&context.config).await?;
    let result = store.pause().set_paused(paused, by, reason).await;
    store.close().await;
    result.map_err(CliError::store("cannot set the pause switch"))?;
    let text = if paused { "paused: mutations stop in every process sharing this store" } else { "resumed" };
    Ok(Outcome::new(Status::Done, json!({"paused": paused}), format!("{text}\n")))
}
