//! The conventions every command follows: `--output json` for results and errors, `pull --out -`, the
//! configuration file (`--config` / `SLPROD_CONFIG`, flags and environment over it, unknown keys refused with
//! their line), shell completions, and no colour when the stream is not a terminal.

mod support;

use salesloft_sim::RunningSim;
use serde_json::Value;
use support::{run, sim, slprod, sqlite_url as store_arg};

#[tokio::test]
async fn errors_go_through_output_json_with_their_exit_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = slprod();
    command.args(["--output", "json", "pull", "people", "--out"]).arg(dir.path().join("p.jsonl"));
    let (code, stdout, stderr) = run(command).await;
    assert_eq!(code, 2, "no credential: {stderr}");
    assert!(stdout.is_empty(), "nothing on stdout: {stdout}");
    let error: Value = serde_json::from_str(stderr.trim()).unwrap_or_else(|e| panic!("JSON error ({e}): {stderr}"));
    assert_eq!(error["exit_code"], 2);
    assert_eq!(error["error"]["kind"], "connect");
    assert!(error["error"]["message"].as_str().is_some_and(|m| m.contains("no credential")), "{error}");
    assert!(!stderr.contains('\u{1b}'), "no colour when stderr is not a terminal: {stderr:?}");
}

#[tokio::test]
async fn results_go_through_output_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = slprod();
    command.args(["paused", "--output", "json", "--store", &store_arg(dir.path())]);
    let (code, stdout, stderr) = run(command).await;
    assert_eq!(code, 0, "{stderr}");
    let value: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("JSON result ({e}): {stdout}"));
    assert_eq!(value["paused"], false);

    let mut command = slprod();
    command.args(["pause", "--reason", "drill", "--store", &store_arg(dir.path())]);
    assert_eq!(run(command).await.0, 0);
    let mut command = slprod();
    command.env("SLPROD_OUTPUT", "json").args(["paused", "--store", &store_arg(dir.path())]);
    let (code, stdout, _) = run(command).await;
    assert_eq!(code, 1, "exit 1 while paused, in either format");
    let value: Value = serde_json::from_str(stdout.trim()).expect("JSON result");
    assert_eq!((value["paused"].as_bool(), value["reason"].as_str()), (Some(true), Some("drill")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_out_dash_writes_records_to_stdout() {
    let sim = sim(120).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = slprod();
    command.env("SALESLOFT_BASE_URL", sim.base_url()).env("SALESLOFT_API_KEY", sim.api_key()).args([
        "pull",
        "people",
        "--out",
        "-",
        "--store",
        &store_arg(dir.path()),
    ]);
    let (code, stdout, stderr) = run(command).await;
    assert_eq!(code, 0, "{stderr}");
    let ids: Vec<i64> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a record")["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids.len(), 120, "every record on stdout");
    assert!(stderr.contains("pulled 120 new people"), "the summary goes to stderr: {stderr}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_file_is_read_and_flags_and_environment_override_it() {
    let sim = sim(30).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("slprod.toml");
    let store = store_arg(dir.path());
    std::fs::write(
        &config,
        format!(
            "environment = \"development\"\n[salesloft]\nbase_url = \"{}\"\nauth = \"api_key\"\napi_key_ref = \
             \"env:TEST_SIM_KEY\"\n[store]\nurl = \"{store}\"\n[retry]\nmax_attempts = 3\n",
            sim.base_url()
        ),
    )
    .expect("write config");
    let out = dir.path().join("people.jsonl");

    // Everything from the file (the key through its env: reference).
    let mut command = slprod();
    command.env("TEST_SIM_KEY", sim.api_key()).arg("--config").arg(&config).args(["pull", "people", "--out"]).arg(&out);
    let (code, _, stderr) = run(command).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("checkpoint pull:people:"), "the checkpoint went to the file's store: {stderr}");
    assert!(dir.path().join("slprod.sqlite").exists(), "store.url was used");

    // SLPROD_CONFIG names the file; a flag overrides its base_url (here: to a dead port, so the pull fails).
    let mut command = slprod();
    command
        .env("SLPROD_CONFIG", &config)
        .env("TEST_SIM_KEY", sim.api_key())
        .args(["pull", "people", "--base-url", "http://127.0.0.1:9/v2", "--out"])
        .arg(dir.path().join("other.jsonl"));
    let (code, _, stderr) = run(command).await;
    assert_eq!(code, 1, "the flag's base URL was used and cannot be reached: {stderr}");

    // A reference that does not resolve names its key; the secret is never echoed.
    let mut command = slprod();
    command.arg("--config").arg(&config).args(["pull", "people", "--out"]).arg(dir.path().join("x.jsonl"));
    let (code, _, stderr) = run(command).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("salesloft.api_key_ref") && stderr.contains("TEST_SIM_KEY"), "{stderr}");
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unknown_key_in_the_config_file_names_the_key_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("slprod.toml");
    std::fs::write(&config, "[breaker]\nenabled = true\nfailure_treshold = 5\n").expect("write");
    let mut command = slprod();
    command.arg("--config").arg(&config).args(["paused", "--store", &store_arg(dir.path())]);
    let (code, _, stderr) = run(command).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("line 3") && stderr.contains("failure_treshold"), "{stderr}");

    let mut command = slprod();
    command.args(["--config", "/nonexistent/slprod.toml", "paused"]);
    let (code, _, stderr) = run(command).await;
    assert_eq!(code, 2, "a named file must exist: {stderr}");
}

#[tokio::test]
async fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let mut command = slprod();
        command.args(["completions", shell]);
        let (code, stdout, stderr) = run(command).await;
        assert_eq!(code, 0, "{shell}: {stderr}");
        assert!(stdout.contains("slprod") && stdout.contains("push"), "{shell}: {stdout}");
    }
}

/// A token file holding a freshly minted (still valid) token set of the simulator's OAuth app.
async fn token_file(sim: &RunningSim, dir: &std::path::Path) -> std::path::PathBuf {
    let minted = support::mint_tokens(sim, None).await;
    let now = support::unix_now();
    let path = dir.join("tokens.json");
    support::write_token_file(&path, &minted, now + 3600, now);
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_comes_from_the_config_file_or_the_salesloft_oauth_variables() {
    let sim = sim(20).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = token_file(&sim, dir.path()).await;
    let config = dir.path().join("slprod.toml");
    std::fs::write(
        &config,
        format!(
            "[salesloft]\nbase_url = \"{}\"\nauth = \"oauth\"\noauth_client_id = \"sim-client\"\n\
             oauth_client_secret_ref = \"env:TEST_SIM_SECRET\"\noauth_tokens_ref = \"file:{}\"\n",
            sim.base_url(),
            tokens.display()
        ),
    )
    .expect("write config");
    let mut command = slprod();
    command
        .env("TEST_SIM_SECRET", "sim-secret")
        .arg("--config")
        .arg(&config)
        .args(["pull", "people", "--store", &store_arg(dir.path()), "--out"])
        .arg(dir.path().join("a.jsonl"));
    let (code, _, stderr) = run(command).await;
    assert_eq!(code, 0, "OAuth from the file: {stderr}");
    assert!(!stderr.contains("sim-secret"), "the secret is never printed: {stderr}");

    let mut command = slprod();
    command
        .env("SALESLOFT_BASE_URL", sim.base_url())
        .env("SALESLOFT_OAUTH_TOKEN_FILE", &tokens)
        .env("SALESLOFT_OAUTH_CLIENT_ID", "sim-client")
        .env("SALESLOFT_OAUTH_CLIENT_SECRET", "sim-secret")
        .args(["pull", "people", "--store", &store_arg(dir.path()), "--out"])
        .arg(dir.path().join("b.jsonl"));
    let (code, _, stderr) = run(command).await;
    assert_eq!(code, 0, "OAuth from SALESLOFT_OAUTH_*: {stderr}");

    // A secret manager that is not configured (no VAULT_ADDR) is refused, naming the key and what is missing.
    std::fs::write(
        &config,
        format!(
            "[salesloft]\nbase_url = \"{}\"\noauth_client_id = \"sim-client\"\n\
             oauth_client_secret_ref = \"env:TEST_SIM_SECRET\"\noauth_tokens_ref = \"vault:secret/slprod/oauth\"\n",
            sim.base_url()
        ),
    )
    .expect("write config");
    let mut command = slprod();
    command.env("TEST_SIM_SECRET", "sim-secret").arg("--config").arg(&config).args(["pull", "people", "--out", "-"]);
    let (code, _, stderr) = run(command).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("salesloft.oauth_tokens_ref") && stderr.contains("VAULT_ADDR"), "{stderr}");

    // A token reference that cannot be written back is refused, naming the key.
    std::fs::write(
        &config,
        format!(
            "[salesloft]\nbase_url = \"{}\"\nauth = \"oauth\"\noauth_client_id = \"sim-client\"\n\
             oauth_client_secret_ref = \"env:TEST_SIM_SECRET\"\noauth_tokens_ref = \"env:TEST_SIM_TOKENS\"\n",
            sim.base_url()
        ),
    )
    .expect("write config");
    let mut command = slprod();
    command.env("TEST_SIM_SECRET", "sim-secret").arg("--config").arg(&config).args(["pull", "people", "--out", "-"]);
    let (code, _, stderr) = run(command).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("salesloft.oauth_tokens_ref") && stderr.contains("env:"), "{stderr}");
    sim.shutdown().await;
}
