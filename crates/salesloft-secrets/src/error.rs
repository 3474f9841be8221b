//! The secrets crate's one error type. Every variant names *where* (the reference, e.g.
//! `vault:secret/slprod/oauth`), never the value: these errors reach logs, `slprod` output and `/health`.

/// Everything that can go wrong reading or writing a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The reference does not parse (unknown scheme, missing part). Never holds the text when it may be an
    /// inline secret.
    #[error("invalid secret reference: {0}")]
    Reference(String),

    /// The backend is not configured (no `VAULT_ADDR`, no AWS credentials) or not compiled in.
    #[error("{location}: {detail}")]
    Config {
        /// The reference.
        location: String,
        /// What is missing.
        detail: String,
    },

    /// The server could not be reached or did not answer in time. Nothing was changed by this call unless
    /// `may_have_written` is true.
    #[error("{location}: the secret manager is unreachable: {detail}")]
    Unreachable {
        /// The reference.
        location: String,
        /// The transport's description.
        detail: String,
    },

    /// The credentials may not read or write this secret.
    #[error("{location}: permission denied ({operation})")]
    PermissionDenied {
        /// The reference.
        location: String,
        /// `read` or `write`.
        operation: &'static str,
    },

    /// The secret (or its field) does not exist.
    #[error("{location}: not found")]
    NotFound {
        /// The reference.
        location: String,
    },

    /// A compare-and-set write was refused: the secret changed since it was read.
    #[error("{location}: the secret changed since it was read (compare-and-set refused)")]
    Conflict {
        /// The reference.
        location: String,
    },

    /// The stored value has the wrong shape (not JSON, not an object, a field of the wrong type).
    #[error("{location}: {detail}")]
    Invalid {
        /// The reference.
        location: String,
        /// What is wrong, without the value.
        detail: String,
    },

    /// Any other answer of the server: its status and error text (servers' error texts name paths, not
    /// values).
    #[error("{location}: the secret manager answered {status}: {detail}")]
    Backend {
        /// The reference.
        location: String,
        /// HTTP status.
        status: u16,
        /// The server's error text.
        detail: String,
    },
}

impl SecretError {
    /// True when the operation may succeed if simply tried again (server down, throttled, 5xx, a lost race).
    pub fn is_transient(&self) -> bool {
        match self {
            SecretError::Unreachable { .. } | SecretError::Conflict { .. } => true,
            SecretError::Backend { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// Shortens a server's error text and keeps only printable characters, so a log line stays one line.
#[cfg_attr(not(any(feature = "vault", feature = "aws", feature = "gcp")), allow(dead_code))]
pub(crate) fn tidy(text: &str) -> String {
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
    if text.chars().count() > 300 {
        out.push('…');
    }
    out
}
