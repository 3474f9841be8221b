//! Shared scaffolding of `slprod`'s end-to-end tests: the binary with a clean environment (optionally pointed
//! at a simulator and a store), running it to completion on or off the async runtime, a simulator, a store
//! URL in a temp dir, and OAuth token files minted by the simulator.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use salesloft_sim::{RunningSim, SimConfig, Simulator};
use serde_json::{Value, json};

/// The variables `slprod` reads that a test must not inherit from the environment it runs in.
const INHERITED: &[&str] = &[
    "SALESLOFT_BASE_URL",
    "SALESLOFT_API_KEY",
    "SALESLOFT_OAUTH_TOKEN_FILE",
    "SALESLOFT_OAUTH_TOKENS_REF",
    "SALESLOFT_OAUTH_REDIRECT_URI",
    "VAULT_ADDR",
    "VAULT_TOKEN",
    "VAULT_ROLE_ID",
    "VAULT_SECRET_ID",
    "VAULT_NAMESPACE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "SALESLOFT_OAUTH_TOKEN_URL",
    "SALESLOFT_OAUTH_CLIENT_ID",
    "SALESLOFT_OAUTH_CLIENT_SECRET",
    "SALESLOFT_CLIENT_ID",
    "SALESLOFT_CLIENT_SECRET",
    "SLPROD_STORE",
    "SLPROD_CONFIG",
    "SLPROD_OUTPUT",
    "SLPROD_AUDIT_KEY",
    "SLPROD_FAULT_PAUSE_AT",
    "SLPROD_LISTEN",
    "SLPROD_WEBHOOK_SECRET",
    "SLPROD_INTERNAL_TOKEN",
    "SLPROD_ADMIN_TOKEN",
    "SLPROD_ROLLBACK_NOTIFY_URL",
];

/// `slprod` with none of the connection, configuration, output, audit-key or fault variables of the
/// environment, logging warnings only: only the test's own choices apply.
pub fn slprod() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slprod"));
    for name in INHERITED {
        command.env_remove(name);
    }
    command.env("RUST_LOG", "warn");
    command
}

/// [`slprod`] against `sim` with its API key, on the store at `store`.
pub fn slprod_for(sim: &RunningSim, store: &str) -> Command {
    let mut command = slprod();
    command
        .env("SALESLOFT_BASE_URL", sim.base_url())
        .env("SALESLOFT_API_KEY", sim.api_key())
        .env("SLPROD_STORE", store);
    command
}

/// The exit code (-1 when killed by a signal), stdout and stderr of a finished run.
pub fn captured(output: Output) -> (i32, String, String) {
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `command` to completion on this thread; see [`captured`].
pub fn run_blocking(command: &mut Command) -> (i32, String, String) {
    captured(command.output().expect("slprod runs"))
}

/// Runs `command` to completion off the async runtime (a simulator may be serving meanwhile); see
/// [`captured`].
pub async fn run(mut command: Command) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || run_blocking(&mut command)).await.expect("join")
}

/// A simulator seeded with `people` people and a budget large enough not to interfere.
pub async fn sim(people: u64) -> RunningSim {
    Simulator::start(SimConfig { seed_people: people, budget_per_minute: 1_000_000, ..SimConfig::default() })
        .await
        .expect("the simulator starts")
}

/// The URL of an SQLite store `slprod.sqlite` in `dir`.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("slprod.sqlite").display())
}

/// Seconds since the Unix epoch, by the wall clock (token files hold wall-clock expiry times).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs()
}

/// Mints a grant for the simulator's OAuth client (`POST /__sim/tokens`), living `expires_in` seconds if
/// given; the token answer as JSON.
pub async fn mint_tokens(sim: &RunningSim, expires_in: Option<u64>) -> Value {
    let body = match expires_in {
        Some(seconds) => json!({"client_id": "sim-client", "expires_in": seconds}),
        None => json!({"client_id": "sim-client"}),
    };
    let response = reqwest::Client::new()
        .post(format!("{}/__sim/tokens", sim.root_url()))
        .json(&body)
        .send()
        .await
        .expect("control API");
    assert!(response.status().is_success(), "minting tokens: {}", response.status());
    response.json().await.expect("token JSON")
}

/// Writes the token file `slprod` reads (`--oauth-token-file`) with the tokens of `minted`.
pub fn write_token_file(path: &Path, minted: &Value, expires_at: u64, issued_at: u64) {
    let tokens = json!({
        "access_token": minted["access_token"],
        "refresh_token": minted["refresh_token"],
        "expires_at": expires_at,
        "issued_at": issued_at,
    });
    std::fs::write(path, tokens.to_string()).expect("write tokens");
}

/// An external tool the test needs: `$variable` when set, else `name` on the PATH (scripts/test.sh installs
/// Debian's `package` and sets the variable). Panics, saying how to install it, when it does not run: such
/// tests fail loudly, never skip.
pub fn tool(variable: &str, name: &str, package: &str) -> std::path::PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| std::path::PathBuf::from(name), std::path::PathBuf::from);
    match Command::new(&path).arg("--version").output() {
        Ok(output) if output.status.success() => path,
        other => panic!(
            "{name} is needed by this test and does not run ({other:?}): run scripts/test.sh, or \
             `apt-get install -y --no-install-recommends {package}` and set {variable}"
        ),
    }
}
