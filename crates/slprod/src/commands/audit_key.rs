//! The audit chain's optional HMAC key, for every command that appends to or verifies the audit log.
//!
//! With a key, each audit record's hash is an HMAC-SHA256 that nobody without the key can recompute, so whoever
//! can write the database cannot rewrite the chain unnoticed (salesloft-store `audit` module docs). The key comes
//! from `--audit-key-file FILE` or the `SLPROD_AUDIT_KEY` environment variable (at least 16 bytes); it is never
//! printed or logged. In production point the variable at your secret manager's injection, as for the API key.

use std::path::PathBuf;

use clap::Args;
use salesloft_store::{AuditKey, StoreOptions, StoreUrl};

/// The environment variable holding the audit key itself.
pub const AUDIT_KEY_ENV: &str = "SLPROD_AUDIT_KEY";

/// `--audit-key-file`.
#[derive(Debug, Clone, Default, Args)]
pub struct AuditKeyArgs {
    /// File holding the audit chain's HMAC key (at least 16 bytes; one trailing newline is ignored). Default:
    /// the SLPROD_AUDIT_KEY environment variable, when set. Use the same key for every command on one store.
    #[arg(long, global = true)]
    pub audit_key_file: Option<PathBuf>,
}

impl AuditKeyArgs {
    /// The key from the file or the environment; `None` when neither is set. The error never holds the key.
    pub fn key(&self) -> Result<Option<AuditKey>, String> {
        let bytes = match &self.audit_key_file {
            Some(path) => {
                let mut bytes = std::fs::read(path)
                    .map_err(|e| format!("cannot read the audit key file {}: {e}", path.display()))?;
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                bytes
            }
            None => match std::env::var_os(AUDIT_KEY_ENV) {
                Some(value) if !value.is_empty() => value.into_encoded_bytes(),
                _ => return Ok(None),
            },
        };
        let source = match &self.audit_key_file {
            Some(path) => path.display().to_string(),
            None => AUDIT_KEY_ENV.to_string(),
        };
        AuditKey::new(bytes).map(Some).map_err(|e| format!("{source}: {e}"))
    }

    /// Store options carrying the key, for [`salesloft_store::open_with`].
    pub fn store_options(&self) -> Result<StoreOptions, String> {
        Ok(StoreOptions { audit_key: self.key()?, ..StoreOptions::default() })
    }

    /// Opens (creating if needed) the store at `url` with the key.
    pub async fn open(&self, url: &str) -> Result<salesloft_store::Store, String> {
        let options = self.store_options()?;
        let parsed = StoreUrl::parse(url).map_err(|e| e.to_string())?;
        salesloft_store::open_with(&parsed, options).await.map_err(|e| e.to_string())
    }
}
