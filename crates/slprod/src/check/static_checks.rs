//! Static checks: what `slprod.toml` says, judged before anything runs (AUTH-1, AUTH-2, AUTH-4, RATE-1).
//! Secrets are read only to be judged (strength, the development hash); the evidence names where a secret
//! lives and a short fingerprint, never the value.

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::model::Finding;
use crate::commands::budget;
use crate::config::{AuthMode, Config, Environment, SecretRef};

/// The strength a webhook secret needs: 32 bytes of entropy (issue: "≥ 32 bytes of entropy").
pub const MIN_SECRET_BITS: f64 = 256.0;

/// The environment the file declares; a file that declares none is judged as production (a go-live check
/// must not pass on a forgotten key).
pub fn environment(config: &Config) -> Environment {
    config.environment.unwrap_or(Environment::Production)
}

fn environment_name(config: &Config) -> &'static str {
    match environment(config) {
        Environment::Development => "development",
        Environment::Staging => "staging",
        Environment::Production => "production",
    }
}

/// Whether the file uses OAuth: `salesloft.auth = "oauth"`, or OAuth keys without an explicit mode.
fn uses_oauth(config: &Config) -> bool {
    let s = &config.salesloft;
    match s.auth {
        Some(mode) => mode == AuthMode::Oauth,
        None => s.oauth_client_id.is_some() || s.oauth_tokens_ref.is_some(),
    }
}

/// AUTH-1: the production OAuth app is not one of the declared development/staging apps.
pub fn auth1(config: &Config) -> Finding {
    let s = &config.salesloft;
    if !uses_oauth(config) {
        return Finding::skip("the configuration authenticates with an API key: there is no OAuth app to check");
    }
    let declared = s.non_production_client_ids.clone().unwrap_or_default();
    let evidence = json!({
        "environment": environment_name(config),
        "salesloft.oauth_client_id": s.oauth_client_id,
        "salesloft.non_production_client_ids": declared,
    });
    let Some(client_id) = s.oauth_client_id.as_deref().map(str::trim).filter(|c| !c.is_empty()) else {
        return Finding::fail(
            "salesloft.oauth_client_id is not set: which OAuth app runs production is unknown",
            evidence,
        );
    };
    if declared.is_empty() {
        return Finding::fail(
            "salesloft.non_production_client_ids is empty: declare the dev/staging apps so separation can be checked",
            evidence,
        );
    }
    if declared.iter().any(|id| id.trim() == client_id) {
        return Finding::fail(
            format!("salesloft.oauth_client_id {client_id:?} is a declared non-production app"),
            evidence,
        );
    }
    Finding::pass(
        format!("OAuth app {client_id:?} is none of the {} declared dev/staging apps", declared.len()),
        evidence,
    )
}

/// Where a credential key points: `(key, reference text, scheme)`.
fn credential_refs(config: &Config) -> Vec<(&'static str, String, &'static str)> {
    let s = &config.salesloft;
    let mut refs = Vec::new();
    let mut add = |key: &'static str, reference: &Option<SecretRef>| {
        if let Some(r) = reference {
            refs.push((key, r.to_string(), scheme(r)));
        }
    };
    if uses_oauth(config) {
        add("salesloft.oauth_tokens_ref", &s.oauth_tokens_ref);
        add("salesloft.oauth_client_secret_ref", &s.oauth_client_secret_ref);
    } else {
        add("salesloft.api_key_ref", &s.api_key_ref);
    }
    refs
}

fn scheme(reference: &SecretRef) -> &'static str {
    match reference {
        SecretRef::Env(_) => "env",
        SecretRef::File(_) => "file",
        SecretRef::Manager { scheme, .. } => match scheme.as_str() {
            "vault" => "vault",
            "aws-sm" => "aws-sm",
            "gcp-sm" => "gcp-sm",
            _ => "other",
        },
    }
}

/// AUTH-2: in production, SalesLoft's tokens live in a secret manager (`vault:`, `aws-sm:`, `gcp-sm:`), not
/// in `env:` or `file:`.
pub fn auth2(config: &Config) -> Finding {
    let refs = credential_refs(config);
    let evidence = json!({
        "environment": environment_name(config),
        "references": refs.iter().map(|(key, r, scheme)| json!({"key": key, "ref": r, "scheme": scheme})).collect::<Vec<_>>(),
    });
    if refs.is_empty() {
        let key = if uses_oauth(config) { "salesloft.oauth_tokens_ref" } else { "salesloft.api_key_ref" };
        return Finding::fail(format!("{key} is not set: where the tokens live is not declared"), evidence);
    }
    let in_manager = |scheme: &str| matches!(scheme, "vault" | "aws-sm" | "gcp-sm");
    if environment(config) != Environment::Production {
        return Finding::pass(
            format!("environment {}: env:/file: are allowed outside production", environment_name(config)),
            evidence,
        );
    }
    let plain: Vec<String> =
        refs.iter().filter(|(_, _, scheme)| !in_manager(scheme)).map(|(key, r, _)| format!("{key} = {r}")).collect();
    Finding::verdict(
        plain.is_empty(),
        format!(
            "every SalesLoft credential is in a secret manager ({})",
            refs.iter().map(|r| r.2).collect::<Vec<_>>().join(", ")
        ),
        format!("in production, credentials must live in vault:/aws-sm:/gcp-sm:, not {}", plain.join(", ")),
        evidence,
    )
}

/// An estimate of a secret's entropy in bits: its length times the bits per character of the smallest
/// alphabet it fits (hex 4, base64 6, printable ASCII ≈ 6.6, other 8), capped when it uses few distinct
/// characters (weak whatever its length). An upper bound: a long passphrase of words passes, so the check
/// also compares against the development secret.
pub fn entropy_bits(secret: &[u8]) -> f64 {
    let hex = secret.iter().all(u8::is_ascii_hexdigit);
    let base64 = secret.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'='));
    let printable = secret.iter().all(|b| b.is_ascii_graphic() || *b == b' ');
    let per_char = if hex {
        4.0
    } else if base64 {
        6.0
    } else if printable {
        95f64.log2()
    } else {
        8.0
    };
    let mut distinct = secret.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    // A secret of few distinct characters carries log2(distinct) bits a character at most: "abab…" has 1, not 6.
    // (From 10 distinct characters on, the alphabet bound applies: a random 44-character base64 string rarely
    // shows all 64 symbols, yet carries its 264 bits.)
    let per_char = if distinct.len() < 10 { per_char.min((distinct.len().max(1) as f64).log2()) } else { per_char };
    secret.len() as f64 * per_char
}

/// AUTH-4: no current webhook secret is the development one (`webhooks.development_secret_sha256`), and each
/// has at least 32 bytes of entropy.
pub fn auth4(config: &Config) -> Finding {
    let w = &config.webhooks;
    let refs = w.secret_refs.clone().unwrap_or_else(|| vec![SecretRef::Env("SLPROD_WEBHOOK_SECRET".into())]);
    let dev_hash = w.development_secret_sha256.as_deref().map(|h| h.trim().to_ascii_lowercase());
    let mut secrets = Vec::new();
    let mut problems = Vec::new();
    for (i, reference) in refs.iter().enumerate() {
        match reference.resolve() {
            Ok(secret) => {
                let bytes = secret.expose_secret().as_bytes();
                let hash = hex::encode(Sha256::digest(bytes));
                let bits = entropy_bits(bytes);
                let is_dev = dev_hash.as_deref() == Some(hash.as_str());
                if is_dev {
                    problems.push(format!("webhooks.secret_refs[{i}] ({reference}) is the development secret"));
                }
                if bits < MIN_SECRET_BITS {
                    problems.push(format!(
                        "webhooks.secret_refs[{i}] ({reference}) has about {bits:.0} bits of entropy, under {MIN_SECRET_BITS:.0}"
                    ));
                }
                secrets.push(json!({
                    "ref": reference.to_string(), "length": bytes.len(), "entropy_bits": bits.round(),
                    "sha256_prefix": &hash[..8], "is_development_secret": is_dev,
                }));
            }
            Err(message) => problems.push(format!("webhooks.secret_refs[{i}] ({reference}) cannot be read: {message}")),
        }
    }
    if dev_hash.is_none() {
        problems.push(
            "webhooks.development_secret_sha256 is not set: whether the secret was rotated from the dev value cannot be checked"
                .into(),
        );
    }
    let evidence = json!({
        "secrets": secrets,
        "webhooks.development_secret_sha256": dev_hash.as_deref().map(|h| format!("{}…", &h[..h.len().min(8)])),
        "min_entropy_bits": MIN_SECRET_BITS,
    });
    Finding::verdict(
        problems.is_empty(),
        format!("{} current secret(s), none the development one, each ≥ {MIN_SECRET_BITS:.0} bits", secrets.len()),
        problems.join("; "),
        evidence,
    )
}

/// RATE-1: the declared `[volume]` fits `[budget]` less its reserve at the busiest minute (`slprod budget`'s
/// calculator).
pub fn rate1(config: &Config) -> Finding {
    let v = &config.volume;
    if v.people_upserts_per_day.is_none() && v.records_read_per_day.is_none() {
        return Finding::fail(
            "[volume] is not declared: the cost of the expected load cannot be calculated",
            json!({"volume": Value::Null}),
        );
    }
    let share = v.peak_hour_share.unwrap_or(budget::DEFAULT_PEAK_HOUR_SHARE);
    if !(1.0 / 24.0..=1.0).contains(&share) {
        return Finding::fail(format!("volume.peak_hour_share {share} is not between 1/24 and 1"), json!({}));
    }
    let limit = config.budget.cost_per_minute.unwrap_or(600).max(1);
    let reserve = config.budget.reserve_pct.unwrap_or(0).min(99);
    let (upserts, reads) = (v.people_upserts_per_day.unwrap_or(0), v.records_read_per_day.unwrap_or(0));
    let e = budget::estimate(upserts, reads, share, limit, reserve);
    let evidence = json!({
        "people_upserts_per_day": upserts, "records_read_per_day": reads, "peak_hour_share": share,
        "cost_per_minute": limit, "reserve_pct": reserve, "usable_per_minute": e.usable_per_minute,
        "peak_minute_cost": (e.peak_minute_cost * 10.0).round() / 10.0, "headroom": (e.headroom() * 10.0).round() / 10.0,
        "model": "1.01 per upserted person, ⌈N/100⌉ per N records read",
    });
    Finding::verdict(
        e.fits(),
        format!(
            "busiest minute {:.1} of {:.0} usable: headroom {:.1}",
            e.peak_minute_cost,
            e.usable_per_minute,
            e.headroom()
        ),
        format!(
            "the declared volume needs {:.1} cost in its busiest minute, over the {:.0} usable ({limit} less {reserve} %)",
            e.peak_minute_cost, e.usable_per_minute
        ),
        evidence,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_estimates_reject_short_repetitive_and_dictionary_like_secrets() {
        assert!(entropy_bits(&[b'a'; 64]) < 1.0);
        assert!(entropy_bits(b"abababababababababababababababababababab") <= 40.0);
        assert!(entropy_bits(b"dev-webhook-secret") < MIN_SECRET_BITS);
        // 32 random bytes as 64 hex characters: 256 bits.
        assert!(entropy_bits(b"3f9a0c5e7b21d4f68e0a9c3b5d7f1e2a4c6b8d0f1a3c5e7f9b2d4f6a8c0e1b3d") >= MIN_SECRET_BITS);
    }
}
