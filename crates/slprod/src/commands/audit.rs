//! `slprod audit`: verify and export the hash-chained audit log kept in the store.
//!
//! `verify` walks the chain and names the first removed, altered or reordered record (exit 1), so it can run
//! in CI or cron; `export` writes every record as one JSON object per line for a SIEM or an auditor.

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use salesloft_store::{Store, StoreError, StoreUrl};

/// Exit code: the chain verifies / the export was written.
const EXIT_OK: i32 = 0;
/// Exit code: the chain is broken.
const EXIT_BROKEN: i32 = 1;
/// Exit code: could not run (bad URL, no store, unreadable database, I/O error).
const EXIT_COULD_NOT_RUN: i32 = 2;

/// Arguments of `slprod audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Store URL: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB[?schema=NAME]`.
    #[arg(long, global = true, env = "SLPROD_STORE", default_value = salesloft_store::DEFAULT_STORE_URL)]
    pub store: String,
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
        /// Print the report as one JSON object instead of a sentence.
        #[arg(long)]
        json: bool,
    },
    /// Write every audit record, in order, as one JSON object per line.
    Export {
        /// Output file (default: standard output). Replaced if it exists.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs `slprod audit`; returns 0 (chain verifies / export written), 1 (chain broken), 2 (could not run).
pub async fn run(args: AuditArgs) -> i32 {
    let store = match open_existing(&args.store).await {
        Ok(store) => store,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    let code = match args.action {
        AuditAction::Verify { json } => verify(&store, json).await,
        AuditAction::Export { out } => export(&store, out).await,
    };
    store.close().await;
    code
}

/// Opens the store without creating one: verifying a store that does not exist is an error, not an empty pass.
async fn open_existing(url: &str) -> Result<Store, StoreError> {
    let parsed = StoreUrl::parse(url)?;
    if let StoreUrl::Sqlite { path } = &parsed
        && !path.exists()
    {
        return Err(StoreError::Open { target: parsed.to_string(), detail: "no such file".into() });
    }
    salesloft_store::open_with(&parsed, salesloft_store::StoreOptions::default()).await
}

async fn verify(store: &Store, json: bool) -> i32 {
    if let Err(error) = store.check_integrity().await {
        eprintln!("error: {error}");
        return EXIT_COULD_NOT_RUN;
    }
    let report = match store.audit().verify().await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: could not read the audit log: {error}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    if json {
        match serde_json::to_string(&report) {
            Ok(line) => println!("{line}"),
            Err(error) => {
                eprintln!("error: {error}");
                return EXIT_COULD_NOT_RUN;
            }
        }
    } else if let Some(problem) = &report.first_problem {
        let kind = serde_json::to_value(problem.kind).ok().and_then(|v| v.as_str().map(str::to_owned));
        println!("audit log BROKEN at record #{} ({}): {}", problem.seq, kind.unwrap_or_default(), problem.detail);
    } else {
        println!("audit log verifies: {} records, chain head #{}", report.records, report.head_seq);
    }
    if report.ok { EXIT_OK } else { EXIT_BROKEN }
}

async fn export(store: &Store, out: Option<PathBuf>) -> i32 {
    let result = match &out {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => {
                let mut writer = std::io::BufWriter::new(file);
                let written = store.audit().export(&mut writer).await;
                // Flush and sync before reporting success: an export is evidence.
                written.and_then(|n| {
                    writer.flush()?;
                    writer.get_ref().sync_all()?;
                    Ok(n)
                })
            }
            Err(error) => Err(StoreError::Io(error)),
        },
        None => store.audit().export(&mut std::io::BufWriter::new(std::io::stdout())).await,
    };
    match result {
        Ok(n) => {
            let target = out.map_or_else(|| "standard output".to_owned(), |p| p.display().to_string());
            eprintln!("exported {n} audit records to {target}");
            EXIT_OK
        }
        Err(error) => {
            eprintln!("error: export failed: {error}");
            EXIT_COULD_NOT_RUN
        }
    }
}
