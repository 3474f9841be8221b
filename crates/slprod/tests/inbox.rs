//! `slprod inbox export` against a real SQLite store: every delivery once, as JSON lines, never the body;
//! a file output is written atomically and privately.

mod support;

use salesloft_store::Delivery;
use support::{run_blocking as run, slprod};

/// Creates a store holding two deliveries and one dead letter, and returns its URL.
fn store_with_deliveries(dir: &tempfile::TempDir) -> String {
    let url = support::sqlite_url(dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let runtime = runtime.unwrap_or_else(|e| panic!("runtime: {e}"));
    runtime.block_on(async {
        let store = salesloft_store::open(&url).await.unwrap_or_else(|e| panic!("open: {e}"));
        let inbox = store.inbox();
        for id in [7, 8] {
            let body = format!(r#"{{"id":{id},"email_address":"secret.person{id}@example.org"}}"#);
            inbox.insert(Delivery::new("person_updated", body)).await.unwrap_or_else(|e| panic!("insert: {e}"));
        }
        inbox
            .dead_letter(Delivery::new("person_created", b"{not json".to_vec()), "the body is not JSON")
            .await
            .unwrap_or_else(|e| panic!("dead letter: {e}"));
        store.close().await;
    });
    url
}

fn check_lines(text: &str) {
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}"))).collect();
    assert_eq!(lines.len(), 3, "every delivery once: {text}");
    let events: Vec<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    assert_eq!(events, ["person_updated", "person_updated", "person_created"], "arrival order");
    let states: Vec<&str> = lines.iter().filter_map(|l| l["state"].as_str()).collect();
    assert_eq!(states, ["pending", "pending", "dead"]);
    assert!(lines.iter().all(|l| l["dedup_key"].is_string() && l["received_at"].is_string()));
    assert!(!text.contains("secret.person"), "bodies are not exported: {text}");
}

#[test]
fn export_to_standard_output_writes_every_delivery_without_bodies() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = store_with_deliveries(&dir);
    let (code, stdout, stderr) = run(slprod().args(["inbox", "export", "--store", &url]));
    assert_eq!(code, 0, "stderr: {stderr}");
    check_lines(&stdout);
    assert!(stderr.contains("exported 3 webhook deliveries"), "stderr: {stderr}");
}

#[test]
fn export_to_a_file_replaces_it_atomically_and_privately() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = store_with_deliveries(&dir);
    let out = dir.path().join("inbox.jsonl");
    std::fs::write(&out, "old contents\n").unwrap_or_else(|e| panic!("write: {e}"));
    let out_arg = out.display().to_string();
    let (code, _, stderr) = run(slprod().args(["inbox", "export", "--store", &url, "--out", &out_arg]));
    assert_eq!(code, 0, "stderr: {stderr}");
    check_lines(&std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("read: {e}")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap_or_else(|e| panic!("stat: {e}")).permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the export holds personal data");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap_or_else(|e| panic!("read_dir: {e}"))
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".slprod-inbox-export-"))
        .collect();
    assert!(leftovers.is_empty(), "no temp file is left behind");
}

#[test]
fn export_of_a_store_that_cannot_be_opened_exits_2() {
    let (code, _, stderr) =
        run(slprod().args(["inbox", "export", "--store", "sqlite:///nonexistent-directory/slprod.sqlite"]));
    assert_eq!(code, 2, "stderr: {stderr}");
}
