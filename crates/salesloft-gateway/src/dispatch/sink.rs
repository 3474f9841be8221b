//! The JSONL sink: one line per delivery handed on, appended to a file, exactly once.
//!
//! A line is `{"inbox_id","event","resource_id","dedup_key","received_at","body"}` where `body` is the
//! delivery's JSON body as JSON (SalesLoft's bare resource object: FACTS.md §6.2); a body that is not JSON —
//! the receiver keeps those as dead letters, so only a row written behind the gateway's back — is written as
//! `body: null` with `body_base64`.
//!
//! Exactly once, with the dispatcher's help: it appends a line, fsyncs, and marks the delivery processed in
//! the store while holding the sink ([`super::Dispatcher`] serializes "append + fsync + mark" on it). So at
//! any moment at most one line of the file — the last one — belongs to a delivery not yet marked processed,
//! and a crash between the fsync and the mark leaves exactly that line in doubt. [`JsonlSink::open`] therefore
//! reads only the last line and remembers its inbox id; when that delivery comes round again it is marked
//! without a second line. Ids whose mark failed in this process (a lapsed claim) are remembered the same way.
//!
//! A crash in the middle of a write leaves a torn last line (no final newline, or bytes that are not a JSON
//! line); `open` truncates the file back to the end of the last complete line before anything is appended, so
//! a torn line never runs into the next one.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use salesloft_store::InboxItem;
use serde_json::json;

/// How far back [`JsonlSink::open`] reads at a time while looking for the start of the last line.
const TAIL_CHUNK: u64 = 64 * 1024;

/// An open JSONL sink file.
#[derive(Debug)]
pub struct JsonlSink {
    path: PathBuf,
    file: File,
    /// Inbox ids that have a line in the file but may not be marked processed yet.
    in_doubt: HashSet<i64>,
    /// Bytes cut off a torn tail when the file was opened.
    repaired: u64,
}

impl JsonlSink {
    /// Opens (creating, mode 0600: the bodies are personal data) the sink at `path`, repairs a torn tail and
    /// remembers the last line's inbox id as in doubt.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        let len = file.metadata()?.len();
        let mut in_doubt = HashSet::new();
        // The end of the last complete line; everything after it is torn.
        let mut end = last_newline_end(&mut file, len)?;
        loop {
            let start = if end == 0 { 0 } else { last_newline_end(&mut file, end - 1)? };
            if start == end {
                break;
            }
            let mut line = vec![0; usize::try_from(end - start).unwrap_or(0)];
            file.seek(SeekFrom::Start(start))?;
            file.read_exact(&mut line)?;
            match line_inbox_id(&line) {
                Some(id) => {
                    in_doubt.insert(id);
                    break;
                }
                // Newline-terminated but not one of our lines (a crash can leave zero-filled blocks): torn too.
                None => end = start,
            }
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
    /// and `Ok(false)` comes back). The caller marks the delivery processed next, then calls
    /// [`JsonlSink::settled`].
    pub fn append(&mut self, item: &InboxItem) -> std::io::Result<bool> {
        if self.in_doubt.contains(&item.id) {
            return Ok(false);
        }
        let mut line = serde_json::to_vec(&line(item)).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.in_doubt.insert(item.id);
        if let Err(error) = self.file.write_all(&line).and_then(|()| self.file.sync_data()) {
            // Part of the line may be in the file: cut it off so the next line starts clean.
            self.in_doubt.remove(&item.id);
            self.truncate_to_last_line();
            return Err(error);
        }
        Ok(true)
    }

    /// `item` is marked processed: its line is no longer in doubt.
    pub fn settled(&mut self, id: i64) {
        self.in_doubt.remove(&id);
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

/// The `inbox_id` of a complete line, if it is one of ours.
fn line_inbox_id(line: &[u8]) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Id {
        inbox_id: i64,
    }
    serde_json::from_slice::<Id>(line).ok().map(|id| id.inbox_id)
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
