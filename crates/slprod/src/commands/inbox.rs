//! `slprod inbox export`: every webhook delivery the store holds, as JSON lines (id, event, dedup key,
//! resource, received_at, state, attempts, last error — never the body), for inspection and for audits of
//! what SalesLoft sent.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::Context;
use crate::atomic_file::write_atomically;
use crate::connect::StoreArgs;
use crate::error::{CliError, Outcome, Status};

/// Arguments of `slprod inbox`.
#[derive(Debug, Args)]
pub struct InboxArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// What to do.
    #[command(subcommand)]
    pub action: InboxAction,
}

/// The `slprod inbox` subcommands.
#[derive(Debug, Subcommand)]
pub enum InboxAction {
    /// Write every stored delivery as one JSON object per line, in arrival order.
    Export {
        /// Output file (default: standard output). Replaced atomically if it exists; created mode 0600.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs `slprod inbox`: done (0), could not run (2).
pub async fn run(args: InboxArgs, context: &Context) -> Result<Outcome, CliError> {
    let InboxAction::Export { out } = args.action;
    let store = args.store.open(&context.config).await?;
    let inbox = store.inbox();
    let written = match &out {
        Some(path) => write_atomically(path, ".slprod-inbox-export-", async |w| inbox.export(w).await).await,
        None => inbox.export(&mut std::io::BufWriter::new(std::io::stdout())).await,
    };
    store.close().await;
    let deliveries = written.map_err(CliError::store("inbox export failed"))?;
    let target = out.map_or_else(|| "standard output".to_owned(), |p| p.display().to_string());
    let text = format!("exported {deliveries} webhook deliveries to {target}\n");
    Ok(Outcome::new(Status::Done, json!({"deliveries": deliveries, "out": target}), text).on_stderr())
}
