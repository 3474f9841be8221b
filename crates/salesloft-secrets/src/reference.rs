//! `*_ref` values: where a secret lives (`../shared/CONFIG.md`), parsed into a [`SecretRef`].
//!
//! | syntax | backend |
//! |---|---|
//! | `env:NAME` | an environment variable (development) |
//! | `file:PATH` | a file, one trailing newline ignored (development, or a mounted Kubernetes secret) |
//! | `vault:MOUNT/PATH[#FIELD]` | Vault / OpenBao KV v2: `GET /v1/MOUNT/data/PATH` |
//! | `aws-sm:SECRET_ID[#FIELD]` | AWS Secrets Manager (a name or an ARN) |
//! | `gcp-sm:projects/P/secrets/S[#FIELD]` | GCP Secret Manager |
//!
//! Without `#FIELD` the whole secret is the value (for Vault, whose secrets are always objects, the whole
//! object as JSON). With `#FIELD` the secret is a JSON object and the value is that field: a string is taken
//! as is, anything else as its JSON text. Parse errors never echo the text: a typo'd scheme may be an inline
//! secret.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::SecretError;

/// Where a secret lives.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum SecretRef {
    /// `env:NAME`.
    Env(String),
    /// `file:PATH`.
    File(PathBuf),
    /// `vault:MOUNT/PATH#FIELD`.
    Vault {
        /// The KV v2 mount (`secret`).
        mount: String,
        /// The secret's path under the mount.
        path: String,
        /// The field, if one.
        field: Option<String>,
    },
    /// `aws-sm:SECRET_ID#FIELD`.
    AwsSm {
        /// The secret's name or ARN.
        secret_id: String,
        /// The field, if one.
        field: Option<String>,
    },
    /// `gcp-sm:projects/P/secrets/S#FIELD`.
    GcpSm {
        /// The project id or number.
        project: String,
        /// The secret id.
        secret: String,
        /// The field, if one.
        field: Option<String>,
    },
}

fn split_field(rest: &str) -> Result<(&str, Option<String>), SecretError> {
    match rest.split_once('#') {
        Some((_, "")) => Err(SecretError::Reference("an empty #FIELD".into())),
        Some((location, field)) => Ok((location, Some(field.to_string()))),
        None => Ok((rest, None)),
    }
}

impl FromStr for SecretRef {
    type Err = SecretError;

    fn from_str(text: &str) -> Result<Self, SecretError> {
        let Some((scheme, rest)) = text.split_once(':') else {
            return Err(SecretError::Reference(
                "expected a reference such as \"env:NAME\" or \"vault:secret/app#field\", not an inline value".into(),
            ));
        };
        if rest.trim().is_empty() {
            return Err(SecretError::Reference(format!("the {scheme}: reference names nothing")));
        }
        match scheme {
            "env" => Ok(SecretRef::Env(rest.to_string())),
            "file" => Ok(SecretRef::File(PathBuf::from(rest))),
            "vault" => {
                let (location, field) = split_field(rest)?;
                let location = location.trim_matches('/');
                match location.split_once('/') {
                    Some((mount, path)) if !mount.is_empty() && !path.is_empty() && !path.contains("//") => {
                        Ok(SecretRef::Vault { mount: mount.to_string(), path: path.to_string(), field })
                    }
                    _ => Err(SecretError::Reference(format!(
                        "vault: references are vault:MOUNT/PATH#FIELD (such as vault:secret/slprod/oauth), not \
                         vault:{location}"
                    ))),
                }
            }
            "aws-sm" => {
                let (secret_id, field) = split_field(rest)?;
                if secret_id.is_empty() {
                    return Err(SecretError::Reference("aws-sm: references name a secret id".into()));
                }
                Ok(SecretRef::AwsSm { secret_id: secret_id.to_string(), field })
            }
            "gcp-sm" => {
                let (location, field) = split_field(rest)?;
                let parts: Vec<&str> = location.split('/').collect();
                match parts.as_slice() {
                    ["projects", project, "secrets", secret] if !project.is_empty() && !secret.is_empty() => {
                        Ok(SecretRef::GcpSm { project: project.to_string(), secret: secret.to_string(), field })
                    }
                    _ => Err(SecretError::Reference(format!(
                        "gcp-sm: references are gcp-sm:projects/P/secrets/S#FIELD, not gcp-sm:{location}"
                    ))),
                }
            }
            _ => Err(SecretError::Reference(
                "unknown secret reference scheme: use env:, file:, vault:, aws-sm: or gcp-sm: (the value is not shown)"
                    .into(),
            )),
        }
    }
}

impl SecretRef {
    /// The scheme with its colon (`vault:`), for messages.
    pub fn scheme(&self) -> &'static str {
        match self {
            SecretRef::Env(_) => "env:",
            SecretRef::File(_) => "file:",
            SecretRef::Vault { .. } => "vault:",
            SecretRef::AwsSm { .. } => "aws-sm:",
            SecretRef::GcpSm { .. } => "gcp-sm:",
        }
    }

    /// True for `env:` and `file:`, which `slprod check` flags in production: they cannot compare-and-set
    /// across replicas, and an environment variable cannot be written back at all.
    pub fn is_development_only(&self) -> bool {
        matches!(self, SecretRef::Env(_) | SecretRef::File(_))
    }

    /// The `#FIELD`, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            SecretRef::Vault { field, .. } | SecretRef::AwsSm { field, .. } | SecretRef::GcpSm { field, .. } => {
                field.as_deref()
            }
            SecretRef::Env(_) | SecretRef::File(_) => None,
        }
    }

    /// The reference without its field: the whole secret (what a compare-and-set writes).
    pub fn without_field(&self) -> String {
        let text = self.to_string();
        match text.split_once('#') {
            Some((location, _)) if self.field().is_some() => location.to_string(),
            _ => text,
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = |f: &mut fmt::Formatter<'_>, field: &Option<String>| match field {
            Some(name) => write!(f, "#{name}"),
            None => Ok(()),
        };
        match self {
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
            SecretRef::Vault { mount, path, field: name } => {
                write!(f, "vault:{mount}/{path}")?;
                field(f, name)
            }
            SecretRef::AwsSm { secret_id, field: name } => {
                write!(f, "aws-sm:{secret_id}")?;
                field(f, name)
            }
            SecretRef::GcpSm { project, secret, field: name } => {
                write!(f, "gcp-sm:projects/{project}/secrets/{secret}")?;
                field(f, name)
            }
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A reference is not a secret; showing it helps an operator find the secret.
        write!(f, "SecretRef({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SecretRef, SecretError> {
        text.parse()
    }

    #[test]
    fn references_table() {
        let table: [(&str, SecretRef); 6] = [
            ("env:A", SecretRef::Env("A".into())),
            ("file:/run/k", SecretRef::File("/run/k".into())),
            (
                "vault:secret/slprod/oauth#client_secret",
                SecretRef::Vault {
                    mount: "secret".into(),
                    path: "slprod/oauth".into(),
                    field: Some("client_secret".into()),
                },
            ),
            (
                "vault:secret/slprod/oauth-tokens",
                SecretRef::Vault { mount: "secret".into(), path: "slprod/oauth-tokens".into(), field: None },
            ),
            (
                "aws-sm:arn:aws:secretsmanager:us-east-1:1:secret:x#f",
                SecretRef::AwsSm {
                    secret_id: "arn:aws:secretsmanager:us-east-1:1:secret:x".into(),
                    field: Some("f".into()),
                },
            ),
            (
                "gcp-sm:projects/p1/secrets/s1#tokens",
                SecretRef::GcpSm { project: "p1".into(), secret: "s1".into(), field: Some("tokens".into()) },
            ),
        ];
        for (text, expected) in table {
            let parsed = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed, expected, "{text}");
            assert_eq!(parsed.to_string(), text, "round trip");
        }
        assert_eq!(parse("vault:secret/a/b#f").expect("parses").without_field(), "vault:secret/a/b");
    }

    #[test]
    fn bad_references_never_echo_the_text() {
        for bad in [
            "ak_live_hunter2",
            "ftp:hunter2",
            "env:",
            "vault:hunter2",
            "vault:secret/x#",
            "gcp-sm:hunter2/x",
            "gcp-sm:projects/p/secrets/",
            "aws-sm:#f",
            "",
        ] {
            let error = parse(bad).expect_err(bad).to_string();
            assert!(!error.contains("ak_live"), "{bad}: {error}");
            if !bad.starts_with("vault:") && !bad.starts_with("gcp-sm:") {
                assert!(!error.contains("hunter2"), "{bad}: {error}");
            }
        }
    }
}
