//! The checkpointed pull: stream every record of a resource to a JSON-lines file with a keyset cursor,
//! checkpointing after each page so an interrupted pull resumes without duplicates or gaps.
//!
//! Use [`pull_to_file`] for a durable pull (the CLI's `slprod pull --out FILE`, and later a gateway job) and
//! [`pull_to_writer`] to stream to a pipe, which cannot be resumed.
//!
//! The checkpoint (cursor + the file length it covers) is kept in the store, named after the resource and the
//! output file's absolute path ([`CheckpointSlot`]). Order of writes per page: append the records, flush and
//! fsync the file, then commit the checkpoint. On resume the file is cut back to the length the checkpoint
//! covers — records written after the last checkpoint are fetched again — so the file never holds a record
//! twice and never misses one. A finished pull keeps its checkpoint: running it again appends what changed
//! since.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use salesloft_client::api::Resource;
use salesloft_client::models::{Keyed, Timestamp};
use salesloft_client::{Client, KeysetCursor, KeysetPager};
use salesloft_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// What can stop a pull. [`PullError::Interrupted`] means it stopped part-way and a rerun resumes it; every
/// other variant means it did not start.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The store could not be read or written before the pull started.
    #[error("cannot {action}: {source}")]
    Store {
        /// What was being done ("read the checkpoint", …).
        action: &'static str,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The stored checkpoint cannot be used for this pull.
    #[error("{0}")]
    Checkpoint(String),
    /// The output file could not be opened or prepared.
    #[error("cannot {action} {}: {source}", path.display())]
    Output {
        /// What was being done ("open", "truncate", …).
        action: &'static str,
        /// The output file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The output file and its checkpoint disagree, or the file exists without one.
    #[error("{0}")]
    Refused(String),
    /// The pull stopped part-way; rerun it to resume from the checkpoint.
    #[error("{cause}\n{records} records written in total; rerun the same command to resume{}", resume_hint(.checkpoint))]
    Interrupted {
        /// Records written (and covered by the checkpoint, when there is one).
        records: u64,
        /// The checkpoint's name, when the pull keeps one.
        checkpoint: Option<String>,
        /// What stopped it.
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn resume_hint(checkpoint: &Option<String>) -> String {
    match checkpoint {
        Some(name) => format!(" from checkpoint {name}"),
        None => " (a pull to a stream starts over)".to_string(),
    }
}

impl PullError {
    /// Whether the pull stopped part-way (some records are on disk and covered by the checkpoint) rather than
    /// not starting at all.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, PullError::Interrupted { .. })
    }
}

/// The checkpoint of a pull.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullCheckpoint {
    /// The resource pulled (a checkpoint is refused for another one).
    pub resource: String,
    /// The keyset cursor after the last written page.
    pub cursor: KeysetCursor,
    /// Length of the output file, in bytes, that this checkpoint covers.
    pub bytes: u64,
    /// Records written so far.
    pub records: u64,
}

/// Where a pull's checkpoint lives: a named row in the store's checkpoints.
#[derive(Debug, Clone)]
pub struct CheckpointSlot {
    store: Store,
    name: String,
}

impl CheckpointSlot {
    /// The slot of a pull of `resource` into `out`, named by the file's absolute path so the same file pulled
    /// from another directory resumes too.
    pub fn new(store: Store, resource: &str, out: &Path) -> Result<Self, PullError> {
        let path = std::path::absolute(out).map_err(|source| PullError::Output {
            action: "resolve",
            path: out.to_path_buf(),
            source,
        })?;
        Ok(Self { store, name: format!("pull:{resource}:{}", path.display()) })
    }

    /// The slot's name in the store (`pull:<resource>:<absolute path>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stored checkpoint, if any.
    pub async fn load(&self) -> Result<Option<PullCheckpoint>, PullError> {
        let value = self
            .store
            .checkpoints()
            .get(&self.name)
            .await
            .map_err(|source| PullError::Store { action: "read the checkpoint", source })?;
        value
            .map(|value| {
                serde_json::from_value(value).map_err(|e| {
                    PullError::Checkpoint(format!(
                        "the checkpoint {} is unreadable ({e}); pass --overwrite to start over",
                        self.name
                    ))
                })
            })
            .transpose()
    }

    /// Stores `checkpoint`.
    pub async fn save(&self, checkpoint: &PullCheckpoint) -> Result<(), StoreError> {
        let value = serde_json::to_value(checkpoint)
            .map_err(|e| StoreError::Io(std::io::Error::other(format!("cannot encode the checkpoint: {e}"))))?;
        self.store.checkpoints().put(&self.name, &value).await
    }

    /// Deletes the stored checkpoint.
    pub async fn discard(&self) -> Result<(), PullError> {
        self.store
            .checkpoints()
            .delete(&self.name)
            .await
            .map(drop)
            .map_err(|source| PullError::Store { action: "discard the checkpoint", source })
    }
}

/// Options of a pull.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// Only records updated at or after this time (ignored when resuming from a checkpoint).
    pub since: Option<Timestamp>,
    /// Start over: truncate an existing output file that has no checkpoint, or discard the checkpoint.
    pub overwrite: bool,
    /// Allow pages above 100 when more than 10 000 records share one `updated_at`.
    pub allow_deep_pages: bool,
}

/// What a finished pull did.
#[derive(Debug, Clone, Serialize)]
pub struct PullSummary {
    /// Records written by this run.
    pub new_records: u64,
    /// Records the output holds (covered by the checkpoint).
    pub total_records: u64,
    /// The checkpoint's name, when the pull keeps one.
    pub checkpoint: Option<String>,
    /// Whether the pull resumed from a checkpoint.
    pub resumed: bool,
    /// Whether the caller stopped it at a page boundary ([`pull_to_file_until`]) before the end: what was
    /// written is checkpointed, and the next run resumes from there.
    pub stopped: bool,
}

/// Pulls every record of `T` into the JSON-lines file `out`, resuming from (and saving) its checkpoint in
/// `store` under `resource`. `progress` is called with the total record count after each committed page.
pub async fn pull_to_file<T>(
    client: &Client,
    store: Store,
    resource: &str,
    out: &Path,
    options: &PullOptions,
    mut progress: impl FnMut(u64),
) -> Result<PullSummary, PullError>
where
    T: Resource + Keyed + Serialize + Send,
{
    pull_to_file_until::<T>(client, store, resource, out, options, |records| {
        progress(records);
        ControlFlow::Continue(())
    })
    .await
}

/// [`pull_to_file`] that the caller can stop at a safe point: `after_page` is called with the total record
/// count once at the start and after each committed page (records on disk, checkpoint saved); returning
/// [`ControlFlow::Break`] ends the pull there with [`PullSummary::stopped`] set. A gateway job uses it to stop
/// on shutdown or a lost lease without leaving records the checkpoint does not cover.
pub async fn pull_to_file_until<T>(
    client: &Client,
    store: Store,
    resource: &str,
    out: &Path,
    options: &PullOptions,
    mut after_page: impl FnMut(u64) -> ControlFlow<()>,
) -> Result<PullSummary, PullError>
where
    T: Resource + Keyed + Serialize + Send,
{
    let slot = CheckpointSlot::new(store, resource, out)?;
    let (file, mut checkpoint, resumed) = prepare(resource, out, options, &slot).await?;
    let mut writer = BufWriter::with_capacity(256 * 1024, file);
    writer.seek(SeekFrom::Start(checkpoint.bytes)).map_err(|source| PullError::Output {
        action: "seek in",
        path: out.to_path_buf(),
        source,
    })?;
    let started_with = checkpoint.records;
    let summary = |checkpoint: &PullCheckpoint, stopped: bool| PullSummary {
        new_records: checkpoint.records - started_with,
        total_records: checkpoint.records,
        checkpoint: Some(slot.name.clone()),
        resumed,
        stopped,
    };
    if after_page(checkpoint.records).is_break() {
        // Stopped before asking for anything; the checkpoint (if any) is unchanged.
        return Ok(summary(&checkpoint, true));
    }
    let interrupted = |records: u64, cause: Box<dyn std::error::Error + Send + Sync>| PullError::Interrupted {
        records,
        checkpoint: Some(slot.name.clone()),
        cause,
    };
    let pages = KeysetPager::<T>::new(client.clone())
        .resume_from(checkpoint.cursor.clone())
        .allow_deep_pages(options.allow_deep_pages)
        .pages();
    let mut pages = std::pin::pin!(pages);
    loop {
        let page = match pages.try_next().await {
            Ok(Some(page)) => page,
            Ok(None) => break,
            Err(error) => return Err(interrupted(checkpoint.records, Box::new(error))),
        };
        // Records first (on disk), then the checkpoint that covers them.
        let bytes = write_records(&mut writer, &page.records)
            .and_then(|()| writer.get_ref().sync_data())
            .and_then(|()| writer.stream_position())
            .map_err(|e| interrupted(checkpoint.records, write_error(out, e)))?;
        checkpoint.records += page.records.len() as u64;
        checkpoint.bytes = bytes;
        checkpoint.cursor = page.checkpoint;
        slot.save(&checkpoint).await.map_err(|e| interrupted(checkpoint.records, checkpoint_error(e)))?;
        if after_page(checkpoint.records).is_break() {
            return Ok(summary(&checkpoint, true));
        }
    }
    // Save even when nothing new arrived, so the file and its checkpoint always exist together.
    slot.save(&checkpoint).await.map_err(|e| interrupted(checkpoint.records, checkpoint_error(e)))?;
    Ok(summary(&checkpoint, false))
}

/// Pulls every record of `T` (from `since`, or the start) to `writer`, one JSON object per line, flushing after
/// each page. Nothing is checkpointed: an interrupted pull to a stream starts over.
pub async fn pull_to_writer<T, W>(
    client: &Client,
    writer: &mut W,
    options: &PullOptions,
    mut progress: impl FnMut(u64),
) -> Result<PullSummary, PullError>
where
    T: Resource + Keyed + Serialize + Send,
    W: Write,
{
    let cursor = options.since.clone().map_or_else(KeysetCursor::start, KeysetCursor::since);
    let pages =
        KeysetPager::<T>::new(client.clone()).resume_from(cursor).allow_deep_pages(options.allow_deep_pages).pages();
    let mut pages = std::pin::pin!(pages);
    let mut records = 0u64;
    let interrupted = |records, cause| PullError::Interrupted { records, checkpoint: None, cause };
    loop {
        let page = match pages.try_next().await {
            Ok(Some(page)) => page,
            Ok(None) => break,
            Err(error) => return Err(interrupted(records, Box::new(error))),
        };
        write_records(writer, &page.records)
            .map_err(|e| interrupted(records, write_error(Path::new("the output stream"), e)))?;
        records += page.records.len() as u64;
        progress(records);
    }
    Ok(PullSummary { new_records: records, total_records: records, checkpoint: None, resumed: false, stopped: false })
}

/// Appends `records` as JSON lines and flushes the writer.
fn write_records<W: Write, T: Serialize>(writer: &mut W, records: &[T]) -> std::io::Result<()> {
    for record in records {
        serde_json::to_writer(&mut *writer, record).map_err(std::io::Error::other)?;
        writer.write_all(b"\n")?;
    }
    writer.flush()
}

fn write_error(path: &Path, error: std::io::Error) -> Box<dyn std::error::Error + Send + Sync> {
    format!("cannot write {}: {error}", path.display()).into()
}

fn checkpoint_error(error: StoreError) -> Box<dyn std::error::Error + Send + Sync> {
    format!("cannot write the checkpoint: {error}").into()
}

/// Opens the output for appending, cut back to what the checkpoint covers; returns the starting state and
/// whether it resumes a checkpoint.
async fn prepare(
    resource: &str,
    out: &Path,
    options: &PullOptions,
    slot: &CheckpointSlot,
) -> Result<(File, PullCheckpoint, bool), PullError> {
    let output_error =
        |action: &'static str| move |source| PullError::Output { action, path: out.to_path_buf(), source };
    let existing = if options.overwrite {
        slot.discard().await?;
        None
    } else {
        slot.load().await?
    };
    match existing {
        Some(checkpoint) => {
            if checkpoint.resource != resource {
                return Err(PullError::Checkpoint(format!(
                    "checkpoint {} belongs to a pull of {}, not {resource}",
                    slot.name, checkpoint.resource
                )));
            }
            if options.since.is_some() {
                tracing::warn!(checkpoint = %slot.name, "resuming from the checkpoint; --since is ignored");
            }
            let file = private_file()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(out)
                .map_err(output_error("open"))?;
            let len = file.metadata().map_err(output_error("stat"))?.len();
            if len < checkpoint.bytes {
                return Err(PullError::Refused(format!(
                    "{} is shorter ({len} bytes) than its checkpoint says ({} bytes): it was truncated or replaced; \
                     pass --overwrite to start over",
                    out.display(),
                    checkpoint.bytes
                )));
            }
            // Drop records written after the last checkpoint: they will be fetched again.
            file.set_len(checkpoint.bytes).map_err(output_error("truncate"))?;
            Ok((file, checkpoint, true))
        }
        None => {
            let non_empty = std::fs::metadata(out).map(|m| m.len() > 0).unwrap_or(false);
            if non_empty && !options.overwrite {
                return Err(PullError::Refused(format!(
                    "{} exists and has no checkpoint; pass --overwrite to replace it",
                    out.display()
                )));
            }
            let cursor = options.since.clone().map_or_else(KeysetCursor::start, KeysetCursor::since);
            let file =
                private_file().write(true).create(true).truncate(true).open(out).map_err(output_error("create"))?;
            Ok((file, PullCheckpoint { resource: resource.to_string(), cursor, bytes: 0, records: 0 }, false))
        }
    }
}

/// Options that create a file readable and writable by its owner only (mode 0600): pulled records are personal
/// data. An existing file keeps its permissions.
fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}
