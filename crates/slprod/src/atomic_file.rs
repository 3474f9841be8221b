//! Exports that replace a file atomically and privately (audit and inbox exports hold personal data).

use std::io::Write;
use std::path::{Path, PathBuf};

use salesloft_store::StoreError;

/// Runs `write` into a private temp file next to `path` (mode 0600), fsyncs it, renames it over `path` and
/// fsyncs the directory: readers see the old file or the whole new one, never a partial export, even across a
/// crash. Returns what `write` returned (the number of records).
pub async fn write_atomically(
    path: &Path,
    prefix: &str,
    write: impl AsyncFnOnce(&mut (dyn Write + Send)) -> Result<u64, StoreError>,
) -> Result<u64, StoreError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = tempfile::Builder::new().prefix(prefix).suffix(".tmp").tempfile_in(&dir)?;
    let mut writer = std::io::BufWriter::new(temp);
    let written = write(&mut writer).await?;
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
