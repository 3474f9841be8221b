//! `slprod auth login` runs the authorization-code flow once against the simulator and stores the tokens in a
//! Vault secret it creates; `slprod auth status` shows their expiry and source and never a token; a second
//! login replaces the set with a compare-and-set.

mod support;

use serde_json::Value;

fn vault_env(command: &mut std::process::Command) {
    for (name, script_var) in [("VAULT_ADDR", "SLPROD_TEST_VAULT_ADDR"), ("VAULT_TOKEN", "SLPROD_TEST_VAULT_TOKEN")] {
        let value = std::env::var(script_var).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| {
            panic!("{script_var} is not set: run `eval \"$(scripts/bao-test-server.sh start)\"` (tests never skip)")
        });
        command.env(name, value);
    }
}

/// A code from the simulator's auto-approving `/oauth/authorize`.
async fn code(sim: &salesloft_sim::RunningSim, redirect: &str) -> String {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let response = client
        .get(format!("{}/oauth/authorize", sim.root_url()))
        .query(&[("client_id", "sim-client"), ("redirect_uri", redirect), ("response_type", "code")])
        .send()
        .await
        .expect("authorize");
    let location = response.headers().get("location").expect("a redirect").to_str().expect("text").to_string();
    let url = url::Url::parse(&location).expect("redirect URL");
    url.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.to_string()).expect("a code")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_stores_the_tokens_in_a_new_secret_and_status_shows_expiry_never_values() {
    let sim = support::sim(1).await;
    let redirect = "http://127.0.0.1:8765/callback";
    let reference = format!("vault:secret/slprod/login-{}#tokens", uuid::Uuid::new_v4().simple());
    let login = |code: String| {
        let mut command = support::slprod();
        command
            .args(["--output", "json", "auth", "login", "--oauth-tokens-ref", &reference, "--redirect-uri", redirect])
            .args(["--code", &code])
            .env("SALESLOFT_BASE_URL", sim.base_url())
            .env("SALESLOFT_OAUTH_CLIENT_ID", "sim-client")
            .env("SALESLOFT_OAUTH_CLIENT_SECRET", "sim-secret");
        vault_env(&mut command);
        command
    };
    let first_code = code(&sim, redirect).await;
    let (status, stdout, stderr) = support::run(login(first_code.clone())).await;
    assert_eq!(status, 0, "login: {stdout} {stderr}");
    let answer: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(answer["stored"], Value::String(reference.clone()), "{answer}");
    assert_eq!(answer["version"], Value::String("1".into()), "created: {answer}");

    let mut status_command = support::slprod();
    status_command.args(["--output", "json", "auth", "status", "--oauth-tokens-ref", &reference]);
    vault_env(&mut status_command);
    let (code_status, stdout, stderr) = support::run(status_command).await;
    assert_eq!(code_status, 0, "status: {stdout} {stderr}");
    let shown: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(
        (shown["stored"].clone(), shown["refresh_token"].clone()),
        (Value::Bool(true), Value::Bool(true)),
        "{shown}"
    );
    assert!(shown["expires_in_secs"].as_i64().is_some_and(|s| s > 0), "{shown}");
    assert!(!stdout.contains("access_token") && !stdout.contains(&first_code), "no token or code shown: {stdout}");

    // A code is single-use: the same one again is refused, and says so without echoing it.
    let (again, stdout, stderr) = support::run(login(first_code.clone())).await;
    assert_ne!(again, 0, "a spent code is refused: {stdout}");
    assert!(!stderr.contains(&first_code) && !stdout.contains(&first_code), "{stdout} {stderr}");
    // A fresh login replaces the set over the version read.
    let (status, stdout, stderr) = support::run(login(code(&sim, redirect).await)).await;
    assert_eq!(status, 0, "second login: {stdout} {stderr}");
    let answer: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(answer["version"], Value::String("2".into()), "{answer}");

    // `pull --oauth-tokens-ref` uses the stored set; once it has expired on the simulator's clock, the pull
    // refreshes and writes the rotated set back (version 3).
    sim.advance_clock(std::time::Duration::from_secs(7_300));
    let dir = tempfile::tempdir().expect("dir");
    let mut pull = support::slprod();
    pull.args(["pull", "people", "--oauth-tokens-ref", &reference, "--out"])
        .arg(dir.path().join("people.jsonl"))
        .args(["--store", &support::sqlite_url(dir.path())])
        .env("SALESLOFT_BASE_URL", sim.base_url())
        .env("SALESLOFT_OAUTH_CLIENT_ID", "sim-client")
        .env("SALESLOFT_OAUTH_CLIENT_SECRET", "sim-secret");
    vault_env(&mut pull);
    let (status, stdout, stderr) = support::run(pull).await;
    assert_eq!(status, 0, "pull: {stdout} {stderr}");
    let stats: Value =
        reqwest::get(format!("{}/__sim/stats", sim.root_url())).await.expect("stats").json().await.expect("json");
    assert_eq!(
        (stats["refreshes"].as_u64(), stats["revoked_refresh_presented"].as_u64()),
        (Some(1), Some(0)),
        "{stats}"
    );
    let mut status_command = support::slprod();
    status_command.args(["--output", "json", "auth", "status", "--oauth-tokens-ref", &reference]);
    vault_env(&mut status_command);
    let (_, stdout, _) = support::run(status_command).await;
    let shown: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(shown["version"], Value::String("3".into()), "the rotated set was written back: {shown}");
}
