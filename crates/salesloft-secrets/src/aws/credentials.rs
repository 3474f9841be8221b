//! The AWS credential chain, in the SDKs' order, without the SDK: environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), the shared files (`~/.aws/credentials` and `~/.aws/config`,
//! `AWS_PROFILE`, `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`), the ECS/EKS container endpoint
//! (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` / `_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`),
//! then EC2 instance metadata (IMDSv2). Not covered: web identity (EKS IRSA's `AWS_WEB_IDENTITY_TOKEN_FILE`
//! — use EKS Pod Identity, which is the container endpoint), SSO profiles and `credential_process`.
//! Temporary credentials are cached until five minutes before they expire.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::SecretError;

/// One set of AWS credentials. `Debug` redacts the secret key and session token.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The access key id (not a secret: it appears in every signed request).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretString,
    /// The session token of temporary credentials.
    pub session_token: Option<SecretString>,
    /// Unix time at which temporary credentials expire.
    pub expires_at: Option<u64>,
}

/// Where the chain found the credentials, for messages.
pub(crate) type Found = (Credentials, &'static str);

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn home() -> Option<PathBuf> {
    var("HOME").map(PathBuf::from)
}

/// The selected profile: `AWS_PROFILE`, else `default`.
pub(crate) fn profile() -> String {
    var("AWS_PROFILE").unwrap_or_else(|| "default".into())
}

/// `[section]` → key → value of an INI file (AWS's shared files).
fn ini_section(text: &str, section: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
            continue;
        }
        if inside && let Some((key, value)) = line.split_once('=') {
            out.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    out
}

fn lookup(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).filter(|v| !v.is_empty())
}

/// The region: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region` in the config file.
pub(crate) fn region() -> Option<String> {
    var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).or_else(|| {
        let path = var("AWS_CONFIG_FILE").map(PathBuf::from).or_else(|| home().map(|h| h.join(".aws/config")))?;
        let text = std::fs::read_to_string(path).ok()?;
        let profile = profile();
        let section = if profile == "default" { "default".to_string() } else { format!("profile {profile}") };
        lookup(&ini_section(&text, &section), "region")
    })
}

fn from_env() -> Option<Credentials> {
    Some(Credentials {
        access_key_id: var("AWS_ACCESS_KEY_ID")?,
        secret_access_key: SecretString::from(var("AWS_SECRET_ACCESS_KEY")?),
        session_token: var("AWS_SESSION_TOKEN").map(SecretString::from),
        expires_at: None,
    })
}

fn from_files() -> Option<Credentials> {
    let profile = profile();
    let path =
        var("AWS_SHARED_CREDENTIALS_FILE").map(PathBuf::from).or_else(|| home().map(|h| h.join(".aws/credentials")))?;
    let pairs = ini_section(&std::fs::read_to_string(path).ok()?, &profile);
    Some(Credentials {
        access_key_id: lookup(&pairs, "aws_access_key_id")?,
        secret_access_key: SecretString::from(lookup(&pairs, "aws_secret_access_key")?),
        session_token: lookup(&pairs, "aws_session_token").map(SecretString::from),
        expires_at: None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TemporaryCredentials {
    access_key_id: String,
    secret_access_key: String,
    #[serde(default, alias = "Token")]
    token: Option<String>,
    #[serde(default)]
    expiration: Option<String>,
}

fn temporary(body: &[u8], location: &str) -> Result<Credentials, SecretError> {
    let parsed: TemporaryCredentials = serde_json::from_slice(body).map_err(|_| SecretError::Config {
        location: location.to_string(),
        detail: "the AWS credential endpoint answered something that is not credentials".into(),
    })?;
    let expires_at = parsed.expiration.as_deref().and_then(|text| {
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(|t| t.unix_timestamp().max(0) as u64)
    });
    Ok(Credentials {
        access_key_id: parsed.access_key_id,
        secret_access_key: SecretString::from(parsed.secret_access_key),
        session_token: parsed.token.map(SecretString::from),
        expires_at,
    })
}

async fn from_container(http: &reqwest::Client, location: &str) -> Result<Option<Credentials>, SecretError> {
    let url = match (var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"), var("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
        (Some(relative), _) => format!("http://169.254.170.2{relative}"),
        (None, Some(full)) => full,
        (None, None) => return Ok(None),
    };
    let mut request = http.get(url);
    let token = match var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(file) => std::fs::read_to_string(file).ok().map(|t| t.trim().to_string()),
        None => var("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    };
    if let Some(token) = token {
        request = request.header("Authorization", token);
    }
    let response = request.send().await.map_err(|e| crate::http::unreachable(location, &e))?;
    if !response.status().is_success() {
        return Err(SecretError::Config {
            location: location.to_string(),
            detail: format!("the container credential endpoint answered {}", response.status()),
        });
    }
    let body = response.bytes().await.map_err(|e| crate::http::unreachable(location, &e))?;
    temporary(&body, location).map(Some)
}

/// IMDSv2: a session token, the role name, then the role's credentials. `None` when there is no instance
/// metadata service (not on EC2): it is the chain's last resort, so its absence is not an error of its own.
async fn from_imds(http: &reqwest::Client, location: &str) -> Result<Option<Credentials>, SecretError> {
    if var("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    let base = var("AWS_EC2_METADATA_SERVICE_ENDPOINT").unwrap_or_else(|| "http://169.254.169.254".into());
    let base = base.trim_end_matches('/');
    let quick = Duration::from_secs(1);
    let Ok(token) = http
        .put(format!("{base}/latest/api/token"))
        .header("X-aws-ec2-metadata-token-ttl-seconds", "21600")
        .timeout(quick)
        .send()
        .await
    else {
        return Ok(None);
    };
    if !token.status().is_success() {
        return Ok(None);
    }
    let token = token.text().await.map_err(|e| crate::http::unreachable(location, &e))?;
    let get = |path: String| {
        http.get(format!("{base}{path}")).header("X-aws-ec2-metadata-token", token.clone()).timeout(quick).send()
    };
    let role = get("/latest/meta-data/iam/security-credentials/".into())
        .await
        .map_err(|e| crate::http::unreachable(location, &e))?;
    if !role.status().is_success() {
        return Ok(None);
    }
    let role = role.text().await.map_err(|e| crate::http::unreachable(location, &e))?;
    let Some(role) = role.lines().next().map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let answer = get(format!("/latest/meta-data/iam/security-credentials/{role}"))
        .await
        .map_err(|e| crate::http::unreachable(location, &e))?;
    let body = answer.bytes().await.map_err(|e| crate::http::unreachable(location, &e))?;
    temporary(&body, location).map(Some)
}

/// Runs the chain; the credentials and where they came from.
pub(crate) async fn resolve(http: &reqwest::Client, location: &str) -> Result<Found, SecretError> {
    if let Some(found) = from_env() {
        return Ok((found, "environment"));
    }
    if let Some(found) = from_files() {
        return Ok((found, "shared credentials file"));
    }
    if let Some(found) = from_container(http, location).await? {
        return Ok((found, "container endpoint"));
    }
    if let Some(found) = from_imds(http, location).await? {
        return Ok((found, "instance metadata"));
    }
    Err(SecretError::Config {
        location: location.to_string(),
        detail: "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with a \
                 container or instance role"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_sections_are_read_by_profile() {
        let text = "[default]\naws_access_key_id = A\n# c\n[other]\naws_access_key_id=B\naws_secret_access_key = s\n";
        assert_eq!(lookup(&ini_section(text, "default"), "aws_access_key_id").as_deref(), Some("A"));
        assert_eq!(lookup(&ini_section(text, "other"), "aws_secret_access_key").as_deref(), Some("s"));
        assert_eq!(lookup(&ini_section(text, "missing"), "aws_access_key_id"), None);
    }

    #[test]
    fn temporary_credentials_parse_and_hide_their_secrets() {
        let body = br#"{"AccessKeyId":"ASIA1","SecretAccessKey":"sk-hidden","Token":"tok-hidden","Expiration":"2030-01-01T00:00:00Z"}"#;
        let credentials = temporary(body, "aws-sm:x").expect("parses");
        assert_eq!(credentials.expires_at, Some(1_893_456_000));
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("hidden"), "{shown}");
        let error = temporary(br#"{"AccessKeyId":"sk-hidden"}"#, "aws-sm:x").expect_err("incomplete").to_string();
        assert!(!error.contains("hidden"), "{error}");
    }
}
