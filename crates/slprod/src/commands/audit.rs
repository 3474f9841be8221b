//! `slprod audit`: verify and export the hash-chained audit log kept in the store.
//!
//! `verify` walks the chain and names the first removed, altered or reordered record (exit 1), so it can run
//! in CI or cron; `export` writes every record as one JSON object per line for a SIEM or an auditor, atomically
//! (a private temp file, fsynced, renamed over the target). `head` prints the chain head's hash to anchor
//! elsewhere (a ticket, a log shipper); `verify --expect-head HASH` later requires that hash to still be in
//! the chain, which catches a rewrite of the whole chain. With `SLPROD_AUDIT_KEY` / `--audit-key-file` the
//! hashes are HMACs nobody without the key can recompute.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use salesloft_store::Store;
use serde_json::json;

use super::Context;
use crate::atomic_file::write_atomically;
use crate::connect::StoreArgs;
use crate::error::{CliError, Outcome, Status};
use crate::output::OutputFormat;

/// Arguments of `slprod audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The store holding the audit log, and the chain's HMAC key.
    #[command(flatten)]
    pub store: StoreArgs,
    /// What to do with the audit log.
    #[command(subcommand)]
    pub action: AuditAction,
}

/// The `slprod audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check the hash chain: exit 0 when it verifies, 1 naming the first removed, altered or reordered record,
    /// 2 when it could not run.
    Verify {
        /// Print the report as one JSON object instead of a sentence (same as the global `--output json`).
        #[arg(long)]
        json: bool,
        /// A chain head hash recorded earlier with `slprod audit head`: the chain must still contain it (exit 1
        /// otherwise). Records appended since are fine.
        #[arg(long, value_name = "HASH")]
        expect_head: Option<String>,
    },
    /// Print the chain head's hash (to anchor elsewhere); `--json` adds its sequence number.
    Head {
        /// Print `{"seq": N, "hash": "…"}` (same as the global `--output json`).
        #[arg(long)]
        json: bool,
    },
    /// Write every audit record, in order, as one JSON object per line.
    Export {
        /// Output file (default: standard output). Replaced atomically if it exists; created mode 0600.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs `slprod audit`: chain verifies / export written (0), chain broken (1), could not run (2).
pub async fn run(args: AuditArgs, context: &Context) -> Result<Outcome, CliError> {
    let store = args.store.open_existing(&context.config).await?;
    let json = context.ui.format() == OutputFormat::Json;
    let result = match args.action {
        AuditAction::Verify { json: flag, expect_head } => verify(&store, flag || json, expect_head.as_deref()).await,
        AuditAction::Head { json: flag } => head(&store, flag || json).await,
        AuditAction::Export { out } => export(&store, out).await,
    };
    store.close().await;
    result
}

async fn head(store: &Store, json: bool) -> Result<Outcome, CliError> {
    let head = store.audit().head().await.map_err(CliError::store("could not read the chain head"))?;
    let value = serde_json::to_value(&head).unwrap_or_default();
    if json {
        // `--json` predates `--output json`: the JSON goes out as the text too, as it always did.
        let line = serde_json::to_string(&head).unwrap_or_default();
        return Ok(Outcome::new(Status::Done, value, format!("{line}\n")));
    }
    Ok(Outcome::new(Status::Done, value, format!("{}\n", head.hash)).hint(format!(
        "chain head #{}: record it elsewhere; check it with `slprod audit verify --expect-head HASH`",
        head.seq
    )))
}

async fn verify(store: &Store, json: bool, expect_head: Option<&str>) -> Result<Outcome, CliError> {
    store.check_integrity().await.map_err(CliError::store("the store failed its integrity check"))?;
    let report = match expect_head {
        Some(hash) => store.audit().verify_expecting(hash.trim()).await,
        None => store.audit().verify().await,
    };
    let report = report.map_err(CliError::store("could not read the audit log"))?;
    let status = if report.ok { Status::Done } else { Status::Problems };
    let value = serde_json::to_value(&report).unwrap_or_default();
    let text = if json {
        format!("{}\n", serde_json::to_string(&report).unwrap_or_default())
    } else if let Some(problem) = &report.first_problem {
        let kind = serde_json::to_value(problem.kind).ok().and_then(|v| v.as_str().map(str::to_owned));
        let mut text =
            format!("audit log BROKEN at record #{} ({}): {}\n", problem.seq, kind.unwrap_or_default(), problem.detail);
        if store.options().audit_key.is_none() {
            text.push_str(
                "(if this log was written with an audit key, pass it: SLPROD_AUDIT_KEY or --audit-key-file)\n",
            );
        }
        text
    } else {
        format!("audit log verifies: {} records, chain head #{}\n", report.records, report.head_seq)
    };
    Ok(Outcome::new(status, value, text))
}

async fn export(store: &Store, out: Option<PathBuf>) -> Result<Outcome, CliError> {
    let written = match &out {
        Some(path) => {
            write_atomically(path, ".slprod-audit-export-", async |out| store.audit().export(out).await).await
        }
        None => store.audit().export(&mut std::io::BufWriter::new(std::io::stdout())).await,
    };
    let records = written.map_err(CliError::store("export failed"))?;
    let target = out.map_or_else(|| "standard output".to_owned(), |p| p.display().to_string());
    let text = format!("exported {records} audit records to {target}\n");
    Ok(Outcome::new(Status::Done, json!({"records": records, "out": target}), text).on_stderr())
}
