//! `slprod serve --config` with a `[[jobs]]` pull job, end to end: the binary in front of an in-process
//! simulator runs the job, writes the sink, shows the run in `GET /admin/status`, and exits 0 on SIGTERM
//! with the job's lease released.

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

#[tokio::test]
async fn serve_runs_a_configured_pull_job_into_its_sink() {
    let sim = support::sim(250).await;
    let dir = tempfile::tempdir().expect("dir");
    let sink = dir.path().join("people.jsonl");
    let config = dir.path().join("slprod.toml");
    let toml = format!(
        "[[jobs]]\nname = \"people-to-warehouse\"\nkind = \"pull\"\nresource = \"people\"\nsink = {sink:?}\n\
         interval_secs = 3600\n",
        sink = sink.display().to_string()
    );
    std::fs::write(&config, toml).expect("write the config");
    let store_url = support::sqlite_url(dir.path());
    let mut command = support::slprod_for(&sim, &store_url);
    command
        .arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SLPROD_INTERNAL_TOKEN", "tok")
        .env("SLPROD_WEBHOOK_SECRET", "wh")
        .env("SLPROD_ADMIN_TOKEN", "adm")
        .env("RUST_LOG", "info");
    let (child, mut stdout, line) = tokio::task::spawn_blocking(move || {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("slprod starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("a line");
        (child, stdout, line)
    })
    .await
    .expect("join");
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("the one line: {line:?}")).to_string();

    // The job runs at start; its record appears in /admin/status once it ended. (A bounded poll of a separate
    // process: there is no clock to drive across the process boundary.)
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let job = loop {
        let status: Value = http
            .get(format!("{url}/admin/status"))
            .bearer_auth("adm")
            .send()
            .await
            .expect("status")
            .json()
            .await
            .expect("JSON");
        let job = status["jobs"]["people-to-warehouse"].clone();
        if job["outcome"] != "running" && !job.is_null() {
            break job;
        }
        assert!(std::time::Instant::now() < deadline, "the job never finished: {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(job["outcome"], "ok", "{job}");
    assert_eq!((job["rows"].as_u64(), job["kind"].as_str()), (Some(250), Some("pull")), "{job}");

    let lines = std::fs::read_to_string(&sink).expect("the sink");
    let ids: Vec<i64> = lines
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("a JSON line")["id"].as_i64().expect("an id"))
        .collect();
    assert_eq!(ids.len(), 250, "every person in the sink");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 250, "no duplicate");

    let pid = child.id().to_string();
    let (code, stderr) = tokio::task::spawn_blocking(move || {
        let mut child = child;
        let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(killed.success());
        let status = child.wait().expect("wait");
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
        (status.code().unwrap_or(-1), stderr)
    })
    .await
    .expect("join");
    assert_eq!(code, 0, "SIGTERM is a clean stop: {stderr}");
    assert!(stderr.contains("job loop stopped"), "the job loop stopped before the exit: {stderr}");
    assert!(!stderr.contains(sim.api_key()), "the API key reached the logs:\n{stderr}");
    let store = salesloft_store::open(&store_url).await.expect("store");
    assert_eq!(store.locks().holder("job:people-to-warehouse").await.expect("store"), None, "the lease was released");
}
