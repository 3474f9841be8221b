//! `*_ref` values: where a secret lives, never the secret itself (`../shared/CONFIG.md`).
//!
//! `env:NAME` and `file:PATH` resolve locally; `vault:`, `aws-sm:` and `gcp-sm:` resolve through
//! [`salesloft_secrets`] (configured from the environment: `VAULT_ADDR`…, the AWS credential chain,
//! `GOOGLE_APPLICATION_CREDENTIALS`), and a reference to a backend this build lacks fails saying which Cargo
//! feature it needs. Anything else — an inline secret above all — is refused when the file is parsed, without
//! echoing the value; a malformed manager reference (`vault:` without a path) is refused at parse time too.

use std::fmt;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Where a secret lives.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum SecretRef {
    /// `env:NAME`: an environment variable.
    Env(String),
    /// `file:PATH`: a file (one trailing newline is ignored).
    File(PathBuf),
    /// `vault:`, `aws-sm:` or `gcp-sm:`: a secret manager (scheme, then the rest).
    Manager {
        /// The scheme without the colon.
        scheme: String,
        /// What follows the colon.
        location: String,
    },
}

/// The secret-manager schemes.
const MANAGER_SCHEMES: &[&str] = &["vault", "aws-sm", "gcp-sm"];

impl TryFrom<String> for SecretRef {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        let Some((scheme, rest)) = value.split_once(':') else {
            return Err("expected a reference such as \"env:NAME\" or \"file:PATH\", not an inline value".into());
        };
        if rest.trim().is_empty() {
            return Err(format!("the {scheme}: reference names nothing"));
        }
        match scheme {
            "env" => Ok(SecretRef::Env(rest.to_string())),
            "file" => Ok(SecretRef::File(PathBuf::from(rest))),
            s if MANAGER_SCHEMES.contains(&s) => {
                value.parse::<salesloft_secrets::SecretRef>().map_err(|e| e.to_string())?;
                Ok(SecretRef::Manager { scheme: s.to_string(), location: rest.to_string() })
            }
            _ => Err(
                "unknown secret reference scheme: use env:, file:, vault:, aws-sm: or gcp-sm: (the value is not shown)"
                    .into(),
            ),
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
            SecretRef::Manager { scheme, location } => write!(f, "{scheme}:{location}"),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A reference is not a secret; showing it helps an operator find the secret.
        write!(f, "SecretRef({self})")
    }
}

impl SecretRef {
    /// Reads the secret as bytes (for keys that are not text, such as the audit key). The error never holds the
    /// secret.
    pub fn resolve_bytes(&self) -> Result<Vec<u8>, String> {
        match self {
            SecretRef::Env(name) => match std::env::var_os(name) {
                Some(value) if !value.is_empty() => Ok(value.into_encoded_bytes()),
                _ => Err(format!("the environment variable {name} is not set")),
            },
            SecretRef::File(path) => {
                let mut bytes =
                    std::fs::read(path).map_err(|e| format!("cannot read the secret file {}: {e}", path.display()))?;
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                if bytes.is_empty() {
                    return Err(format!("the secret file {} is empty", path.display()));
                }
                Ok(bytes)
            }
            SecretRef::Manager { .. } => {
                let secret = self.resolve_manager()?;
                Ok(secret.expose_secret().as_bytes().to_vec())
            }
        }
    }

    /// The reference in the secrets crate's terms.
    pub fn to_secrets_ref(&self) -> Result<salesloft_secrets::SecretRef, String> {
        match self {
            SecretRef::Env(name) => Ok(salesloft_secrets::SecretRef::Env(name.clone())),
            SecretRef::File(path) => Ok(salesloft_secrets::SecretRef::File(path.clone())),
            SecretRef::Manager { .. } => {
                self.to_string().parse().map_err(|e: salesloft_secrets::SecretError| e.to_string())
            }
        }
    }

    /// Reads a secret-manager value. Configuration is read once at start-up by synchronous code, so the read
    /// runs on a short-lived thread with its own runtime (never blocking the caller's runtime workers).
    fn resolve_manager(&self) -> Result<SecretString, String> {
        let reference = self.to_secrets_ref()?;
        let secret = salesloft_secrets::Secret::open(reference).map_err(|e| e.to_string())?;
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| format!("cannot start a runtime to read {self}: {e}"))?;
                    runtime.block_on(secret.value()).map_err(|e| e.to_string())
                })
                .join()
                .unwrap_or_else(|_| Err(format!("reading {self} failed")))
        })
    }

    /// Reads the secret as text, trimmed.
    pub fn resolve(&self) -> Result<SecretString, String> {
        let bytes = self.resolve_bytes()?;
        let text = String::from_utf8(bytes).map_err(|_| format!("the secret at {self} is not UTF-8"))?;
        let text = text.trim();
        if text.is_empty() {
            return Err(format!("the secret at {self} is empty"));
        }
        Ok(SecretString::from(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SecretRef, String> {
        SecretRef::try_from(text.to_string())
    }

    #[test]
    fn schemes_table() {
        assert_eq!(parse("env:A"), Ok(SecretRef::Env("A".into())));
        assert_eq!(parse("file:/run/secrets/k"), Ok(SecretRef::File("/run/secrets/k".into())));
        assert!(matches!(parse("vault:secret/x#f"), Ok(SecretRef::Manager { .. })));
        assert!(matches!(parse("aws-sm:id#f"), Ok(SecretRef::Manager { .. })));
        assert!(matches!(parse("gcp-sm:projects/p/secrets/s#f"), Ok(SecretRef::Manager { .. })));
        for bad in ["ak_live_123", "ftp:hunter2", "env:", "file: ", ""] {
            let error = parse(bad).expect_err(bad);
            assert!(!error.contains("hunter2") && !error.contains("ak_live"), "{bad} echoed: {error}");
        }
    }

    #[test]
    fn file_resolves_and_managers_need_their_servers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("key");
        std::fs::write(&file, "s3cret-value\n").expect("write");
        let secret = SecretRef::File(file).resolve().expect("resolves");
        assert_eq!(secret.expose_secret(), "s3cret-value");
        assert!(parse("vault:secret").is_err(), "a vault: reference names a mount and a path");
        let error = SecretRef::Env("SLPROD_TEST_SURELY_UNSET_VARIABLE".into()).resolve().expect_err("unset");
        assert!(error.contains("not set"), "{error}");
    }
}
