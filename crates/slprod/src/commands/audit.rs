//! `slprod audit`: verify and export the hash-chained audit log kept in the store.
//!
//! `verify` walks the chain and names the first removed, altered or reordered record (exit 1), so it can run
//! in CI or cron; `export` writes every record as one JSON object per line for a SIEM or an auditor, atomically
//! (a private temp file, fsynced, renamed over the target). `head` prints the chain head's hash to anchor
//! elsewhere (a ticket, a log shipper); `verify --expect-head HASH` later requires that hash to still be in
//! the chain, which catches a rewrite of the whole chain. With `SLPROD_AUDIT_KEY` / `--audit-key-file` the
//! hashes are HMACs nobody without the key can recompute.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use salesloft_store::{Store, StoreError, StoreUrl};

use super::audit_key::AuditKeyArgs;

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
    /// The audit chain's HMAC key (or SLPROD_AUDIT_KEY).
    #[command(flatten)]
    pub audit_key: AuditKeyArgs,
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
        /// A chain head hash recorded earlier with `slprod audit head`: the chain must still contain it (exit 1
        /// otherwise). Records appended since are fine.
        #[arg(long, value_name = "HASH")]
        expect_head: Option<String>,
    },
    /// Print the chain head's hash (to anchor elsewhere); `--json` adds its sequence number.
    Head {
        /// Print `{"seq": N, "hash": "…"}`.
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

/// Runs `slprod audit`; returns 0 (chain verifies / export written), 1 (chain broken), 2 (could not run).
pub async fn run(args: AuditArgs) -> i32 {
    let store = match open_existing(&args.store, &args.audit_key).await {
        Ok(store) => store,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    let code = match args.action {
        AuditAction::Verify { json, expect_head } => {
            let keyed = store.options().audit_key.is_some();
            verify(&store, json, expect_head.as_deref(), keyed).await
        }
        AuditAction::Head { json } => head(&store, json).await,
        AuditAction::Export { out } => export(&store, out).await,
    };
    store.close().await;
    code
}

/// Opens the store without creating one: verifying a store that does not exist is an error, not an empty pass.
async fn open_existing(url: &str, key: &AuditKeyArgs) -> Result<Store, String> {
    let parsed = StoreUrl::parse(url).map_err(|e| e.to_string())?;
    if let StoreUrl::Sqlite { path } = &parsed
        && !path.exists()
    {
        return Err(StoreError::Open { target: parsed.to_string(), detail: "no such file".into() }.to_string());
    }
    let options = key.store_options()?;
    salesloft_store::open_with(&parsed, options).await.map_err(|e| e.to_string())
}

async fn head(store: &Store, json: bool) -> i32 {
    match store.audit().head().await {
        Ok(head) if json => match serde_json::to_string(&head) {
            Ok(line) => {
                println!("{line}");
                EXIT_OK
            }
            Err(error) => {
                eprintln!("error: {error}");
                EXIT_COULD_NOT_RUN
            }
        },
        Ok(head) => {
            println!("{}", head.hash);
            eprintln!(
                "chain head #{}: record it elsewhere; check it with `slprod audit verify --expect-head HASH`",
                head.seq
            );
            EXIT_OK
        }
        Err(error) => {
            eprintln!("error: could not read the chain head: {error}");
            EXIT_COULD_NOT_RUN
        }
    }
}

async fn verify(store: &Store, json: bool, expect_head: Option<&str>, keyed: bool) -> i32 {
    if let Err(error) = store.check_integrity().await {
        eprintln!("error: {error}");
        return EXIT_COULD_NOT_RUN;
    }
    let report = match expect_head {
        Some(hash) => store.audit().verify_expecting(hash.trim()).await,
        None => store.audit().verify().await,
    };
    let report = match report {
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
        if !keyed {
            println!("(if this log was written with an audit key, pass it: SLPROD_AUDIT_KEY or --audit-key-file)");
        }
    } else {
        println!("audit log verifies: {} records, chain head #{}", report.records, report.head_seq);
    }
    if report.ok { EXIT_OK } else { EXIT_BROKEN }
}

async fn export(store: &Store, out: Option<PathBuf>) -> i32 {
    let result = match &out {
        Some(path) => export_atomically(store, path).await,
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

/// Writes the export to a private temp file next to `path` (mode 0600: the log holds who changed which person),
/// fsyncs it, renames it over `path` and fsyncs the directory: readers see the old file or the whole new one,
/// never a partial export, even across a crash.
async fn export_atomically(store: &Store, path: &Path) -> Result<u64, StoreError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = tempfile::Builder::new().prefix(".slprod-audit-export-").suffix(".tmp").tempfile_in(&dir)?;
    let mut writer = std::io::BufWriter::new(temp);
    let written = store.audit().export(&mut writer).await?;
    writer.flush()?;
    let temp = writer.into_inner().map_err(|e| StoreError::Io(e.into_error()))?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| StoreError::Io(e.error))?;
    // The rename is durable once the directory entry is.
    if let Ok(handle) = std::fs::File::open(&dir) {
        let _ = handle.sync_all();
    }
    Ok(written)
}
