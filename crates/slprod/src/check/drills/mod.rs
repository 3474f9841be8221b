//! Drills: each runs the configured client policies against its own embedded simulator with scripted faults
//! (a bad setting fails its drill), and reports what was sent, what came back and what was measured.

pub mod auth;
pub mod data;
pub mod errors;
pub mod monitoring;
pub mod rate;
pub mod rollback;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use salesloft_client::Client;
use salesloft_client::clock::{Clock, ManualClock};
use salesloft_client::transport::{FileTokenStore, OAuthConfig};
use salesloft_sim::RunningSim;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::target::Env;

/// The simulator's OAuth app (SimConfig's default client).
const SIM_CLIENT_ID: &str = "sim-client";
/// Its secret.
const SIM_CLIENT_SECRET: &str = "sim-secret";

/// An OAuth client against `sim`: tokens minted by the simulator, kept in a token file in the scratch dir whose
/// access token expires `expires_in_secs` after the client's (manual) clock's now (negative: already expired).
pub async fn oauth_client(
    env: &Env,
    sim: &RunningSim,
    expires_in_secs: i64,
) -> Result<(Client, ManualClock, PathBuf), String> {
    let minted = env.control(sim, "tokens", json!({"client_id": SIM_CLIENT_ID})).await?;
    let clock = ManualClock::new();
    let now = clock.unix_time().as_secs();
    let expires_at = now.saturating_add_signed(expires_in_secs);
    let file = env.scratch.path().join(format!("tokens-{}.json", uuid::Uuid::new_v4().simple()));
    let tokens = json!({
        "access_token": minted["access_token"], "refresh_token": minted["refresh_token"],
        "expires_at": expires_at, "issued_at": now.saturating_sub(7200),
    });
    std::fs::write(&file, tokens.to_string()).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let oauth = OAuthConfig::new(
        format!("{}/oauth/token", sim.root_url()),
        SIM_CLIENT_ID,
        SecretString::from(SIM_CLIENT_SECRET.to_string()),
    );
    let store = Arc::new(FileTokenStore::new(&file).with_clock(clock.shared()));
    let pipeline = env.pipeline_for(sim, clock.shared())?.oauth(oauth, store).build().map_err(|e| e.to_string())?;
    Ok((Client::new(pipeline), clock, file))
}

/// The refresh token held in a token file (only its SHA-256 prefix ever leaves this module).
pub fn refresh_fingerprint(file: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    let token = value.get("refresh_token")?.as_str()?;
    Some(hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes())[..6]))
}

/// The simulator's statistics.
pub async fn stats(env: &Env, sim: &RunningSim) -> Result<Value, String> {
    env.control_get(sim, "stats").await
}

/// The simulator's request log, oldest first.
pub async fn requests(env: &Env, sim: &RunningSim) -> Result<Vec<Value>, String> {
    let log = env.control_get(sim, "requests?limit=10000").await?;
    let mut entries = log.as_array().cloned().unwrap_or_default();
    entries.reverse();
    Ok(entries)
}

/// An integer field of a JSON value (0 when absent).
pub fn n(value: &Value, pointer: &str) -> u64 {
    value.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

/// A one-shot HTTP catcher: answers 200 to every POST and keeps the bodies.
pub async fn catcher() -> Result<(String, Arc<Mutex<Vec<Value>>>), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("catcher: {e}"))?;
    let url = format!("http://{}/hook", listener.local_addr().map_err(|e| e.to_string())?);
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut raw = Vec::new();
            let mut buf = [0u8; 8192];
            // Read the head, then the body by its content-length.
            while let Ok(read) = socket.read(&mut buf).await {
                if read == 0 {
                    break;
                }
                raw.extend_from_slice(&buf[..read]);
                let text = String::from_utf8_lossy(&raw);
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let length = text[..head_end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if raw.len() >= head_end + 4 + length {
                        let body = &raw[head_end + 4..head_end + 4 + length];
                        if let Ok(value) = serde_json::from_slice(body) {
                            kept.lock().unwrap_or_else(|e| e.into_inner()).push(value);
                        }
                        break;
                    }
                }
            }
            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
        }
    });
    Ok((url, bodies))
}
