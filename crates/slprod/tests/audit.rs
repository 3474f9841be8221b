//! `slprod audit verify|export` against a real SQLite store.

mod support;

use salesloft_store::{AuditEntry, StoreUrl};
use support::{run_blocking as run, slprod};

/// Creates a store with `n` audit records and returns its URL.
fn store_with_records(dir: &tempfile::TempDir, n: usize) -> String {
    store_with_keyed_records(dir, n, None)
}

/// Creates a store with `n` audit records hashed with `key` (HMAC) or plain sha256, and returns its URL.
fn store_with_keyed_records(dir: &tempfile::TempDir, n: usize, key: Option<&str>) -> String {
    let url = support::sqlite_url(dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let runtime = runtime.unwrap_or_else(|e| panic!("runtime: {e}"));
    runtime.block_on(async {
        let audit_key =
            key.map(|k| salesloft_store::AuditKey::new(k.as_bytes().to_vec()).unwrap_or_else(|e| panic!("{e}")));
        let options = salesloft_store::StoreOptions { audit_key, ..salesloft_store::StoreOptions::default() };
        let parsed = StoreUrl::parse(&url).unwrap_or_else(|e| panic!("{e}"));
        let store = salesloft_store::open_with(&parsed, options).await.unwrap_or_else(|e| panic!("open: {e}"));
        for i in 0..n {
            let entry = AuditEntry {
                actor: "test".into(),
                operation: "people.update".into(),
                resource: format!("people/{i}"),
                request: serde_json::json!({"title": "VP", "password": "hunter2"}),
                response_status: Some(200),
                idempotency_key: Some(format!("key-{i}")),
                correlation_id: None,
            };
            store.audit().append(&entry).await.unwrap_or_else(|e| panic!("append: {e}"));
        }
        store.close().await;
    });
    url
}

/// Edits the database file's bytes the way an intruder with file access would: every occurrence of `from` becomes
/// `to` (same length), bypassing SQLite and its triggers. The store was closed, so the WAL is checkpointed.
fn patch_file(url: &str, from: &str, to: &str) {
    assert_eq!(from.len(), to.len(), "a byte patch must keep the length");
    let Ok(StoreUrl::Sqlite { path }) = StoreUrl::parse(url) else { panic!("not an sqlite url: {url}") };
    let mut bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut hits = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from.as_bytes() {
            bytes[i..i + from.len()].copy_from_slice(to.as_bytes());
            hits += 1;
        }
        i += 1;
    }
    assert!(hits > 0, "{from:?} not found in the database file");
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write: {e}"));
}

#[test]
fn verify_passes_on_an_intact_chain() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = store_with_records(&dir, 3);
    let (code, stdout, stderr) = run(slprod().args(["audit", "verify", "--store", &url]));
    assert_eq!(code, 0, "expected exit 0; stdout {stdout} stderr {stderr}");
    assert!(stdout.contains("verifies: 3 records"), "got {stdout}");
}

#[test]
fn verify_names_the_altered_record_and_exits_1() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = store_with_records(&dir, 4);
    patch_file(&url, "people/1", "people/7");
    let (code, stdout, stderr) = run(slprod().args(["audit", "verify", "--store", &url]));
    assert_eq!(code, 1, "expected exit 1; stdout {stdout} stderr {stderr}");
    assert!(stdout.contains("record #2 (altered)"), "got {stdout}");
}

#[test]
fn verify_reports_json_for_an_altered_record() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = store_with_records(&dir, 3);
    patch_file(&url, "people/2", "people/9");
    let (code, stdout, _) = run(slprod().env("SLPROD_STORE", &url).args(["audit", "verify", "--json"]));
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(report["first_problem"]["kind"], "altered", "got {report}");
    assert_eq!(report["first_problem"]["seq"], 3, "got {report}");
}

#[test]
fn export_writes_json_lines_without_secrets() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = store_with_records(&dir, 3);
    let out = dir.path().join("audit.jsonl");
    let out_arg = out.display().to_string();
    let (code, _, stderr) = run(slprod().args(["audit", "export", "--store", &url, "--out", &out_arg]));
    assert_eq!(code, 0, "stderr {stderr}");
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{e}"));
    let seqs: Vec<i64> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter_map(|v| v["seq"].as_i64())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert!(!text.contains("hunter2"), "a secret reached the export: {text}");
}

#[test]
fn missing_store_or_bad_url_exits_2_without_creating_a_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("absent.sqlite");
    let url = format!("sqlite://{}", path.display());
    let (code, _, stderr) = run(slprod().args(["audit", "verify", "--store", &url]));
    assert_eq!(code, 2, "stderr {stderr}");
    assert!(stderr.contains("no such file") && !path.exists(), "got {stderr}");
    let (code, _, stderr) = run(slprod().args(["audit", "verify", "--store", "mysql://root:s3cret@db/x"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("expected sqlite://PATH") && !stderr.contains("s3cret"), "got {stderr}");
}

#[test]
fn a_foreign_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "just some notes, not a database\n".repeat(200)).unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}", path.display());
    let (code, _, stderr) = run(slprod().args(["audit", "verify", "--store", &url]));
    assert_eq!(code, 2, "stderr {stderr}");
    assert!(stderr.contains("is not a salesloft-prod store"), "got {stderr}");
}

const KEY: &str = "correct horse battery staple";

#[test]
fn a_keyed_chain_verifies_only_with_its_key_which_is_never_printed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = store_with_keyed_records(&dir, 3, Some(KEY));
    let (code, stdout, stderr) = run(slprod().env("SLPROD_AUDIT_KEY", KEY).args(["audit", "verify", "--store", &url]));
    assert_eq!(code, 0, "with the key from the environment: {stdout} {stderr}");
    let key_file = dir.path().join("audit.key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap_or_else(|e| panic!("{e}"));
    let key_arg = key_file.display().to_string();
    let (code, stdout, stderr) = run(slprod().args(["audit", "verify", "--store", &url, "--audit-key-file", &key_arg]));
    assert_eq!(code, 0, "with the key from a file: {stdout} {stderr}");
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY), "the key was printed");
    let (code, stdout, _) = run(slprod().args(["audit", "verify", "--store", &url]));
    assert_eq!(code, 1, "without the key the HMACs do not verify: {stdout}");
    assert!(stdout.contains("SLPROD_AUDIT_KEY"), "the report says a key may be needed: {stdout}");
    let (code, _, stderr) = run(slprod().env("SLPROD_AUDIT_KEY", "short").args(["audit", "verify", "--store", &url]));
    assert_eq!(code, 2, "a too-short key is refused");
    assert!(stderr.contains("at least 16 bytes") && !stderr.contains("short\n"), "{stderr}");
}

#[test]
fn head_prints_the_hash_that_verify_expect_head_checks() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = store_with_records(&dir, 3);
    let (code, stdout, stderr) = run(slprod().args(["audit", "head", "--store", &url]));
    assert_eq!(code, 0, "{stderr}");
    let hash = stdout.trim().to_string();
    assert_eq!(hash.len(), 64, "a sha256 hex hash: {hash:?}");
    let (code, stdout, _) = run(slprod().args(["audit", "head", "--json", "--store", &url]));
    assert_eq!(code, 0);
    let head: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!((head["seq"].as_i64(), head["hash"].as_str()), (Some(3), Some(hash.as_str())));
    let (code, stdout, stderr) = run(slprod().args(["audit", "verify", "--store", &url, "--expect-head", &hash]));
    assert_eq!(code, 0, "the anchored head is in the chain: {stdout} {stderr}");
    let forged = "f".repeat(64);
    let (code, stdout, _) = run(slprod().args(["audit", "verify", "--store", &url, "--expect-head", &forged]));
    assert_eq!(code, 1, "an anchor that is not in the chain fails: {stdout}");
    assert!(stdout.contains("anchor_missing") && stdout.contains("anchored head"), "{stdout}");
}

#[cfg(unix)]
#[test]
fn export_replaces_the_file_atomically_and_privately() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = store_with_records(&dir, 2);
    let exports = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = exports.path().join("audit.jsonl");
    std::fs::write(&out, "an older export\n".repeat(100)).unwrap_or_else(|e| panic!("{e}"));
    let out_arg = out.display().to_string();
    let (code, _, stderr) = run(slprod().args(["audit", "export", "--store", &url, "--out", &out_arg]));
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text.lines().count(), 2, "the whole new export replaced the old file: {text}");
    assert!(!text.contains("older"), "{text}");
    let mode = std::fs::metadata(&out).unwrap_or_else(|e| panic!("{e}")).permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the export is private, got {mode:o}");
    let names: Vec<String> = std::fs::read_dir(exports.path())
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names, vec!["audit.jsonl".to_string()], "no temp file is left behind");
}
