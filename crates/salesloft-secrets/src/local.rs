//! `env:` and `file:` as backends, for development. An environment variable cannot be written back; a file is
//! written atomically, and its compare-and-set compares the content read with the content on disk, which is
//! only safe under the file lock the token store takes (`slprod check` flags both in production).

use std::path::PathBuf;

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::SecretError;
use crate::backend::{SecretBackend, Version, Versioned};

/// `env:NAME`: read only.
#[derive(Debug, Clone)]
pub struct EnvBackend {
    name: String,
    location: String,
}

impl EnvBackend {
    /// The variable `name`.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        Self { location: format!("env:{name}"), name }
    }
}

impl SecretBackend for EnvBackend {
    fn location(&self) -> &str {
        &self.location
    }

    fn read(&self) -> BoxFuture<'_, Result<Option<Versioned>, SecretError>> {
        let value = std::env::var(&self.name).ok().filter(|v| !v.is_empty());
        Box::pin(async move {
            Ok(value.map(|v| Versioned { version: Version(digest(&v)), payload: SecretString::from(v) }))
        })
    }

    fn compare_and_set<'a>(
        &'a self,
        _payload: &'a SecretString,
        _expected: Option<&'a Version>,
    ) -> BoxFuture<'a, Result<Version, SecretError>> {
        Box::pin(async move {
            Err(SecretError::Config {
                location: self.location.clone(),
                detail: "an environment variable cannot be written back: use file:, vault:, aws-sm: or gcp-sm: for \
                         rotated tokens"
                    .into(),
            })
        })
    }
}

/// `file:PATH`: one trailing newline ignored on read; written atomically (temporary file, fsync, rename).
#[derive(Debug, Clone)]
pub struct FileBackend {
    path: PathBuf,
    location: String,
}

impl FileBackend {
    /// The file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        Self { location: format!("file:{}", path.display()), path }
    }

    fn read_blocking(path: &std::path::Path, location: &str) -> Result<Option<Versioned>, SecretError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(SecretError::PermissionDenied { location: location.to_string(), operation: "read" });
            }
            Err(e) => return Err(SecretError::Unreachable { location: location.to_string(), detail: e.to_string() }),
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| SecretError::Invalid { location: location.to_string(), detail: "not UTF-8".into() })?;
        let trimmed = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
        Ok(Some(Versioned { version: Version(digest(&text)), payload: SecretString::from(trimmed.to_string()) }))
    }

    fn write_blocking(path: &std::path::Path, location: &str, payload: &str) -> Result<(), SecretError> {
        use std::io::Write;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("secret");
        let temp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4()));
        let fail = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                SecretError::PermissionDenied { location: location.to_string(), operation: "write" }
            } else {
                SecretError::Unreachable { location: location.to_string(), detail: e.to_string() }
            }
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let result = (|| {
            let mut out = options.open(&temp)?;
            out.write_all(payload.as_bytes())?;
            out.sync_all()?;
            std::fs::rename(&temp, path)?;
            if let Ok(dir) = std::fs::File::open(&dir) {
                let _ = dir.sync_all();
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result.map_err(fail)
    }
}

impl SecretBackend for FileBackend {
    fn location(&self) -> &str {
        &self.location
    }

    fn read(&self) -> BoxFuture<'_, Result<Option<Versioned>, SecretError>> {
        let path = self.path.clone();
        let location = self.location.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || Self::read_blocking(&path, &location)).await.map_err(|e| {
                SecretError::Unreachable { location: self.location.clone(), detail: format!("file task failed: {e}") }
            })?
        })
    }

    fn compare_and_set<'a>(
        &'a self,
        payload: &'a SecretString,
        expected: Option<&'a Version>,
    ) -> BoxFuture<'a, Result<Version, SecretError>> {
        let path = self.path.clone();
        let location = self.location.clone();
        let payload = payload.expose_secret().to_string();
        let expected = expected.cloned();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let current = Self::read_blocking(&path, &location)?.map(|v| v.version);
                if current != expected {
                    return Err(SecretError::Conflict { location });
                }
                Self::write_blocking(&path, &location, &payload)?;
                Ok(Version(digest(&payload)))
            })
            .await
            .map_err(|e| SecretError::Unreachable {
                location: self.location.clone(),
                detail: format!("file task failed: {e}"),
            })?
        })
    }
}

/// A content version: the first 16 hex digits of its SHA-256 (never the content).
fn digest(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}
