//! The JSONL sink: one line per delivery handed on, appended to a file, exactly once.
//!
//! A line is `{"inbox_id","event","resource_id","dedup_key","received_at","body"}` where `body` is the
//! delivery's JSON body as JSON (SalesLoft's bare resource object: FACTS.md §6.2); a body that is not JSON —
//! the receiver keeps those as dead letters, so only a row written behind the gateway's back — is written as
//! `body: null` with `body_base64`.
//!
//! Exactly once, with the dispatcher's help: it appends a batch of lines, fsyncs once, and marks the batch
//! processed in the store while holding the sink (the dispatcher serializes "append + fsync + mark" on it,
//! and retries the mark until the store answers or it is stopped). So at any moment only the lines of each
//! worker's last batch — at most [`MAX_BATCH`] lines in all, which the dispatcher's configuration enforces —
//! can belong to deliveries not yet marked processed, and a crash between the fsync and the mark leaves
//! exactly those in doubt. [`JsonlSink::open`] therefore reads back only the last [`MAX_BATCH`]
//! lines (a bounded scan, whatever the file's size) and remembers their inbox ids and dedup keys; when one of
//! those deliveries comes round again it is marked without a second line. Deliveries whose mark failed in
//! this process (a lapsed claim) are remembered the same way. The dedup key is compared too, so a sink file
//! kept across a new store (whose ids start again at 1) never swallows a different delivery.
//!
//! A crash in the middle of a write leaves a torn last line (no final newline, or bytes that are not a JSON
//! line); `open` truncates the file back to the end of the last complete line before anything is appended, so
//! a torn line never runs into the next one.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use salesloft_store::InboxItem;
use serde_json::json;

/// How far back [`JsonlSink::open`] reads at a time while looking for the start of a line.
const TAIL_CHUNK: u64 = 64 * 1024;

/// The lines [`JsonlSink::open`] reads back as in doubt, and so the most deliveries one
/// [`JsonlSink::append_batch`] writes and all workers' batches together may hold.
pub const MAX_BATCH: usize = 1024;

/// An open JSONL sink file.
#[derive(Debug)]
pub struct JsonlSink {
    path: PathBuf,
    file: File,
    /// Inbox id → dedup key of lines in the file whose delivery may not be marked processed yet.
    in_doubt: HashMap<i64, String>,
    /// Bytes cut off a torn tail when the file was opened.
    repaired: u64,
}

impl JsonlSink {
    /// Opens (creating, mode 0600: the bodies are personal data) the sink at `path`, repairs a torn tail and
    /// remembers the last [`MAX_BATCH`] lines as in doubt.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        // One writer per file: the exactly-once argument above holds for one process's batches. Another
        // gateway (or a second `slprod serve` by mistake) on the same file is refused, not interleaved. The
        // lock goes with the file handle, so a crashed process never leaves it held.
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    "another process is writing this sink file (use one file per gateway)",
                ));
            }
            Err(std::fs::TryLockError::Error(error)) => return Err(error),
        }
        let len = file.metadata()?.len();
        let mut in_doubt = HashMap::new();
        // The end of the last complete line; everything after it is torn.
        let mut end = last_newline_end(&mut file, len)?;
        let mut pos = end;
        while pos > 0 && in_doubt.len() < MAX_BATCH {
            let start = last_newline_end(&mut file, pos - 1)?;
            let mut line = vec![0; usize::try_from(pos - start).unwrap_or(0)];
            file.seek(SeekFrom::Start(start))?;
            file.read_exact(&mut line)?;
            match line_key(&line) {
                Some((id, key)) => {
                    in_doubt.insert(id, key);
                }
                // Newline-terminated but not one of our lines, after the last good one (a crash can leave
                // zero-filled blocks): torn too.
                None if in_doubt.is_empty() => end = start,
                None => {}
            }
            pos = start;
        }
        let repaired = len - end;
        if repaired > 0 {
            tracing::warn!(path = %path.display(), bytes = repaired, "webhook sink: truncated a torn last line");
            file.set_len(end)?;
            file.sync_all()?;
        }
        file.seek(SeekFrom::End(0))?;
        Ok(Self { path: path.to_path_buf(), file, in_doubt, repaired })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of a torn tail cut off when the file was opened (0 when it was whole).
    pub fn repaired_bytes(&self) -> u64 {
        self.repaired
    }

    /// Appends `item`'s line and fsyncs, unless a line for it is already in the file (then nothing is written
    /// and `Ok(false)` comes back). See [`JsonlSink::append_batch`].
    pub fn append(&mut self, item: &InboxItem) -> std::io::Result<bool> {
        self.append_batch(std::slice::from_ref(item)).map(|written| written == 1)
    }

    /// Appends a line for each item that has none in the file yet, then fsyncs once; returns how many lines
    /// were written. The caller marks the deliveries processed next, then calls [`JsonlSink::settled`]. On an
    /// error nothing of the batch is left in the file.
    pub fn append_batch(&mut self, items: &[InboxItem]) -> std::io::Result<usize> {
        if items.len() > MAX_BATCH {
            // More would not all be read back after a crash; refuse rather than write fewer lines than asked.
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("a sink batch holds at most {MAX_BATCH} deliveries"),
            ));
        }
        let mut lines = Vec::new();
        let mut added = Vec::new();
        for item in items {
            if self.in_doubt.get(&item.id).is_some_and(|key| *key == item.dedup_key) {
                continue;
            }
            serde_json::to_writer(&mut lines, &line(item)).map_err(std::io::Error::other)?;
            lines.push(b'\n');
            added.push(item);
        }
        if added.is_empty() {
            return Ok(0);
        }
        let start = self.file.stream_position()?;
        if let Err(error) = self.file.write_all(&lines).and_then(|()| self.file.sync_data()) {
            // Part of the batch may be in the file: cut it off so the next line starts clean.
            self.truncate_to(start);
            return Err(error);
        }
        for item in &added {
            self.in_doubt.insert(item.id, item.dedup_key.clone());
        }
        Ok(added.len())
    }

    /// `id` is marked processed: its line is no longer in doubt.
    pub fn settled(&mut self, id: i64) {
        self.in_doubt.remove(&id);
    }

    fn truncate_to(&mut self, end: u64) {
        let cut = self.file.set_len(end).and_then(|()| self.file.seek(SeekFrom::Start(end)));
        if let Err(error) = cut {
            tracing::error!(%error, path = %self.path.display(), "webhook sink: cannot cut a partial batch");
            self.truncate_to_last_line();
        }
    }

    fn truncate_to_last_line(&mut self) {
        let cut = self
            .file
            .metadata()
            .and_then(|m| last_newline_end(&mut self.file, m.len()))
            .and_then(|end| self.file.set_len(end).map(|()| end))
            .and_then(|end| self.file.seek(SeekFrom::Start(end)));
        if let Err(error) = cut {
            tracing::error!(%error, path = %self.path.display(), "webhook sink: cannot cut a partial line");
        }
    }
}

/// The JSON line of a delivery.
fn line(item: &InboxItem) -> serde_json::Value {
    let received_at = item.received_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let mut line = json!({
        "inbox_id": item.id,
        "event": item.event_type,
        "resource_id": item.resource_id,
        "dedup_key": item.dedup_key,
        "received_at": received_at,
        "body": serde_json::Value::Null,
    });
    match serde_json::from_slice::<serde_json::Value>(&item.body) {
        Ok(body) => line["body"] = body,
        Err(_) => line["body_base64"] = base64::engine::general_purpose::STANDARD.encode(&item.body).into(),
    }
    line
}

/// The `inbox_id` and `dedup_key` of a complete line, if it is one of ours.
fn line_key(line: &[u8]) -> Option<(i64, String)> {
    #[derive(serde::Deserialize)]
    struct Key {
        inbox_id: i64,
        dedup_key: String,
    }
    serde_json::from_slice::<Key>(line).ok().map(|key| (key.inbox_id, key.dedup_key))
}

/// The offset just after the last `\n` in the first `before` bytes of `file` (0 when there is none).
fn last_newline_end(file: &mut File, before: u64) -> std::io::Result<u64> {
    let mut end = before;
    let mut chunk = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(TAIL_CHUNK);
        chunk.resize(usize::try_from(end - start).unwrap_or(0), 0);
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        if let Some(at) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + at as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64) -> InboxItem {
        item_with(id, |n| format!(r#"{{"id":{n},"updated_at":"2026-01-01T00:00:00Z","name":"Ada"}}"#).into_bytes())
    }

    fn item_with(id: i64, body: impl Fn(i64) -> Vec<u8>) -> InboxItem {
        // InboxItem has a private field: build one the only way there is, through a store claim.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let dir = tempfile::tempdir().expect("dir");
            let store = salesloft_store::open(&format!("sqlite://{}", dir.path().join("s.sqlite").display()))
                .await
                .expect("store");
            let inbox = store.inbox();
            for n in 1..=id {
                inbox.insert(salesloft_store::Delivery::new("person_updated", body(n))).await.expect("insert");
            }
            let mut last = None;
            while let Some(claimed) = inbox.claim_next("t", std::time::Duration::from_secs(60)).await.expect("claim") {
                last = Some(claimed);
            }
            last.expect("an item")
        })
    }

    fn lines(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .expect("read")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {l:?}: {e}")))
            .collect()
    }

    #[test]
    fn a_line_holds_the_delivery_and_its_body_as_json() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sink.jsonl");
        let mut sink = JsonlSink::open(&path).expect("open");
        assert!(sink.append(&item(1)).expect("append"));
        let got = lines(&path);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["inbox_id"], 1);
        assert_eq!(got[0]["event"], "person_updated");
        assert_eq!(got[0]["resource_id"], "1");
        assert_eq!(got[0]["body"]["name"], "Ada");
        assert!(got[0]["dedup_key"].as_str().is_some_and(|k| k.starts_with("event:")));
        assert!(got[0]["received_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    }

    #[test]
    fn a_body_that_is_not_json_is_kept_as_base64() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sink.jsonl");
        let mut sink = JsonlSink::open(&path).expect("open");
        assert!(sink.append(&item_with(1, |_| b"\xff\xfe not json".to_vec())).expect("append"));
        let got = lines(&path);
        assert_eq!(got[0]["body"], serde_json::Value::Null);
        assert_eq!(got[0]["body_base64"], "//4gbm90IGpzb24=");
    }

    #[test]
    fn a_torn_last_line_is_cut_off_before_the_next_append() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sink.jsonl");
        let mut sink = JsonlSink::open(&path).expect("open");
        sink.append(&item(1)).expect("append");
        sink.settled(1);
        drop(sink);
        // A crash in the middle of the next write.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(br#"{"inbox_id":2,"event":"person_upd"#))
            .expect("tear");
        let mut sink = JsonlSink::open(&path).expect("reopen");
        assert_eq!(sink.repaired_bytes(), br#"{"inbox_id":2,"event":"person_upd"#.len() as u64);
        assert!(sink.append(&item(2)).expect("append"), "the torn delivery is written whole");
        let got = lines(&path);
        assert_eq!(got.iter().map(|l| l["inbox_id"].as_i64()).collect::<Vec<_>>(), vec![Some(1), Some(2)]);
    }

    #[test]
    fn a_newline_terminated_line_that_is_not_json_is_torn_too() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sink.jsonl");
        let mut sink = JsonlSink::open(&path).expect("open");
        sink.append(&item(1)).expect("append");
        drop(sink);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"\0\0\0\0\n"))
            .expect("zeros");
        let mut sink = JsonlSink::open(&path).expect("reopen");
        assert_eq!(sink.repaired_bytes(), 5);
        assert!(!sink.append(&item(1)).expect("append"), "line 1 is the last good one, in doubt: not repeated");
        assert_eq!(lines(&path).len(), 1);
    }

    #[test]
    fn the_lines_of_the_last_batch_are_not_written_again_but_another_store_s_ids_are() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sink.jsonl");
        let mut sink = JsonlSink::open(&path).expect("open");
        let (one, two, three) = (item(1), item(2), item(3));
        assert_eq!(sink.append_batch(&[one.clone(), two.clone()]).expect("batch"), 2);
        drop(sink); // crash before the batch's mark
        let mut sink = JsonlSink::open(&path).expect("reopen");
        assert_eq!(sink.append_batch(&[one, two, three]).expect("batch"), 1, "only the third is new");
        // A new store counts from 1 again: same id, another delivery.
        let other = item_with(1, |_| br#"{"id":77,"updated_at":"2026-02-02T00:00:00Z"}"#.to_vec());
        assert!(sink.append(&other).expect("append"), "a different dedup key is a different delivery");
        assert_eq!(lines(&path).len(), 4);
    }

    #[test]
    fn a_second_writer_on_the_same_file_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sink.jsonl");
        let first = JsonlSink::open(&path).expect("open");
        let error = JsonlSink::open(&path).expect_err("a second writer");
        assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock, "{error}");
        drop(first);
        JsonlSink::open(&path).expect("free again once the first is closed");
    }

    #[test]
    fn the_last_line_after_a_crash_is_not_written_again() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sink.jsonl");
        let mut sink = JsonlSink::open(&path).expect("open");
        sink.append(&item(1)).expect("append");
        drop(sink); // crash before the mark: never settled
        let mut sink = JsonlSink::open(&path).expect("reopen");
        assert!(!sink.append(&item(1)).expect("append"), "already in the file");
        assert!(sink.append(&item(2)).expect("append"));
        assert_eq!(lines(&path).len(), 2);
    }
}
