//! AUTH-3 and ERR-1: an expired access token is refreshed once before use, and a 401 mid-flight brings
//! exactly one refresh and one repeat (FACTS.md §1.3, §1.5); the rotated refresh token is written back.

use salesloft_sim::SimConfig;
use serde_json::json;

use super::{n, oauth_client, refresh_fingerprint, stats};
use crate::check::model::Finding;
use crate::check::target::Env;

/// AUTH-3: a call with an expired access token refreshes exactly once, succeeds, and the rotated tokens are
/// in the token file before anything else uses them.
pub async fn expired_token(env: &mut Env) -> Result<Finding, String> {
    let sim = env.sim(SimConfig { seed_people: 3, ..SimConfig::default() }).await?;
    let (client, _clock, file) = oauth_client(env, &sim, -60).await?;
    let before = refresh_fingerprint(&file);
    let answer = client.me().await;
    let after = refresh_fingerprint(&file);
    let stats = stats(env, &sim).await?;
    let (refreshes, revoked) = (n(&stats, "/refreshes"), n(&stats, "/revoked_refresh_presented"));
    let rotated = before.is_some() && after.is_some() && before != after;
    let evidence = json!({
        "setup": "access token expired 60 s ago in the token file",
        "request": "GET /v2/me", "outcome": answer.as_ref().map(|_| "200".to_string()).map_err(|e| e.to_string()),
        "refreshes_at_token_endpoint": refreshes, "revoked_refresh_tokens_presented": revoked,
        "refresh_token_before": before, "refresh_token_after": after, "written_back": rotated,
    });
    sim.shutdown().await;
    Ok(Finding::verdict(
        answer.is_ok() && refreshes == 1 && revoked == 0 && rotated,
        "expired token: one refresh, the call succeeded, the rotated refresh token was written back",
        format!(
            "expired token: {} refresh(es), call {}, rotated token written back: {rotated}",
            refreshes,
            if answer.is_ok() { "succeeded" } else { "failed" }
        ),
        evidence,
    ))
}

/// ERR-1: a 401 on a token the client believed valid brings one refresh and one repeat, not a crash.
pub async fn refresh_on_401(env: &mut Env) -> Result<Finding, String> {
    let sim = env.sim(SimConfig { seed_people: 3, ..SimConfig::default() }).await?;
    let (client, _clock, file) = oauth_client(env, &sim, 3600).await?;
    env.control(&sim, "faults", json!({"method": "GET", "path": "/v2/me", "sequence": [{"status": 401}]})).await?;
    let before = refresh_fingerprint(&file);
    let answer = client.me().await;
    let after = refresh_fingerprint(&file);
    let stats = stats(env, &sim).await?;
    let refreshes = n(&stats, "/refreshes");
    let me_calls = n(&stats, "/by_route/GET ~1v2~1me");
    let evidence = json!({
        "setup": "a valid-looking token; SalesLoft answers the first GET /v2/me with 401",
        "outcome": answer.as_ref().map(|_| "200 after refresh".to_string()).map_err(|e| e.to_string()),
        "refreshes_at_token_endpoint": refreshes, "get_me_requests": me_calls,
        "rotated_token_written_back": before != after,
    });
    sim.shutdown().await;
    Ok(Finding::verdict(
        answer.is_ok() && refreshes == 1 && me_calls == 2 && before != after,
        "401 → one refresh → one repeat → 200; the rotated token was written back",
        format!(
            "401: {refreshes} refresh(es), {me_calls} GET /me, call {}",
            if answer.is_ok() { "succeeded" } else { "failed" }
        ),
        evidence,
    ))
}
