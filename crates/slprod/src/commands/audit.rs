//! `slprod audit`: verify and export the hash-chained audit log kept in the store.

use clap::{Args, Subcommand};

/// Arguments of `slprod audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Store URL: `sqlite://PATH` or `postgres://…`.
    #[arg(long, global = true, env = "SLPROD_STORE", default_value = "sqlite://slprod.sqlite")]
    pub store: String,
    /// What to do with the audit log.
    #[command(subcommand)]
    pub action: AuditAction,
}

/// The `slprod audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check the hash chain: exit 0 when it verifies, 1 naming the first removed, altered or reordered record.
    Verify,
    /// Write every audit record as one JSON object per line.
    Export {
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

/// Runs `slprod audit`; returns 0 (chain verifies / export written), 1 (chain broken), 2 (could not run).
pub async fn run(args: AuditArgs) -> i32 {
    let _ = args;
    eprintln!("error: slprod audit is not implemented yet");
    2
}
