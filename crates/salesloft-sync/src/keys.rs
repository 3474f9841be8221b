//! Idempotency keys and request fingerprints for batch upserts.
//!
//! A batch run has a [`RunId`]; row `i` of the run gets the key `people.upsert:<run>:<i>` and a fingerprint of
//! what it asks for (the normalized email and the canonical JSON of the input). Rerunning the same run after a
//! crash therefore finds each row's ledger entry again; running it with an edited row under the same run id is
//! a conflict (the key now names a different request — Stripe answers 409 in that case, research/anchors.md §3).
//! Keys carry no PII: the email only enters the fingerprint, which is a hash.

use serde_json::Value;
use sha2::{Digest, Sha256};

use salesloft_client::models::PersonInput;

/// Identifies one batch run; the same input file gives the same run id, so a rerun resumes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunId(String);

impl RunId {
    /// The run id of a batch read from `bytes` (the input file): the first 16 bytes of its SHA-256, in hex.
    pub fn for_input(bytes: &[u8]) -> Self {
        Self(hex::encode(&Sha256::digest(bytes)[..16]))
    }

    /// The run id of the file at `path` ([`RunId::for_input`] of its content), read in blocks so a large file
    /// is never held in memory; `slprod push` and the push jobs derive a run's id this way.
    pub fn for_file(path: &std::path::Path) -> std::io::Result<Self> {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let mut hasher = RunIdHasher::default();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = file.read(&mut buffer)?;
            if read == 0 {
                return Ok(hasher.finish());
            }
            hasher.update(&buffer[..read]);
        }
    }

    /// A caller-chosen run id (e.g. `--run-id`); must be 1–100 characters of `[A-Za-z0-9._-]`.
    pub fn new(id: &str) -> Result<Self, String> {
        let valid = !id.is_empty()
            && id.len() <= 100
            && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if valid {
            Ok(Self(id.to_string()))
        } else {
            Err(format!("a run id must be 1-100 characters of letters, digits, '.', '_' or '-': {id:?}"))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Computes [`RunId::for_input`] over input that arrives in pieces (a file read in blocks).
#[derive(Debug, Clone, Default)]
pub struct RunIdHasher(Sha256);

impl RunIdHasher {
    /// Feeds the next piece of input.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The run id of everything fed so far.
    pub fn finish(self) -> RunId {
        RunId(hex::encode(&self.0.finalize()[..16]))
    }
}

/// The idempotency key of row `index` (0-based) of `run`.
pub fn row_key(run: &RunId, index: usize) -> String {
    format!("people.upsert:{run}:{index}")
}

/// SHA-256 (hex) of the normalized email and the canonical JSON of `input`.
pub fn row_fingerprint(email: &str, input: &PersonInput) -> String {
    let body = serde_json::to_value(input).unwrap_or(Value::Null);
    let mut hasher = Sha256::new();
    hasher.update(email.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical_json(&body).as_bytes());
    hex::encode(hasher.finalize())
}

/// JSON text with object keys sorted at every level, so equal values always hash alike whatever the order
/// their keys were built in.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_files_run_id_is_the_run_id_of_its_content_read_in_blocks() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("people.csv");
        // Larger than one 64 KiB block, so the blocks are joined.
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).expect("write");
        assert_eq!(RunId::for_file(&path).expect("read"), RunId::for_input(&content));
        assert!(RunId::for_file(&dir.path().join("missing.csv")).is_err());
    }

    use super::*;

    #[test]
    fn canonical_json_ignores_key_order() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":[1,{"q":2,"p":3}],"x":null}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":null,"y":[1,{"p":3,"q":2}]},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[1,{"p":3,"q":2}]},"b":1}"#);
    }

    #[test]
    fn fingerprint_changes_with_payload_and_email() {
        let input = PersonInput::with_email("ada@example.com").first_name("Ada");
        let same = PersonInput::with_email("ada@example.com").first_name("Ada");
        let other = PersonInput::with_email("ada@example.com").first_name("Grace");
        assert_eq!(row_fingerprint("ada@example.com", &input), row_fingerprint("ada@example.com", &same));
        assert_ne!(row_fingerprint("ada@example.com", &input), row_fingerprint("ada@example.com", &other));
        assert_ne!(row_fingerprint("ada@example.com", &input), row_fingerprint("bob@example.com", &input));
    }

    #[test]
    fn run_ids_are_stable_and_validated() {
        assert_eq!(RunId::for_input(b"a,b\n"), RunId::for_input(b"a,b\n"));
        assert_ne!(RunId::for_input(b"a,b\n"), RunId::for_input(b"a,c\n"));
        let mut pieces = RunIdHasher::default();
        pieces.update(b"a,");
        pieces.update(b"b\n");
        assert_eq!(pieces.finish(), RunId::for_input(b"a,b\n"), "hashing in pieces gives the same id");
        assert_eq!(row_key(&RunId::new("nightly-7").unwrap(), 3), "people.upsert:nightly-7:3");
        assert!(RunId::new("").is_err());
        assert!(RunId::new("has space").is_err());
        assert!(RunId::new(&"x".repeat(101)).is_err());
    }
}
