//! Parsing the `--store URL` / `SLPROD_STORE` value.
//!
//! Accepted forms: `sqlite://PATH` (relative to the working directory, or `sqlite:///abs/path`), `sqlite:PATH`,
//! and `postgres://…` / `postgresql://…` (libpq-style URL as sqlx reads it) with one extra query parameter of ours,
//! `schema=NAME`, that puts every table in that schema (created if missing) so several stores can share one
//! database — the tests use it to run in parallel.

use std::fmt;
use std::path::PathBuf;

use crate::error::StoreError;

/// Where the store lives.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// An SQLite database file.
    Sqlite {
        /// Path of the database file (created if missing).
        path: PathBuf,
    },
    /// A PostgreSQL database.
    Postgres {
        /// The connection URL without our `schema` parameter. May hold a password: never print it, print the
        /// [`StoreUrl`] itself (its `Display` and `Debug` redact the password).
        url: String,
        /// Schema to keep the tables in; `None` = the server's default `search_path`.
        schema: Option<String>,
    },
}

/// The default store when neither `--store` nor `SLPROD_STORE` is given: an SQLite file in the working directory.
pub const DEFAULT_STORE_URL: &str = "sqlite://slprod.sqlite";

impl StoreUrl {
    /// Parses a store URL. Errors name the expected forms and never echo a password.
    pub fn parse(input: &str) -> Result<Self, StoreError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(invalid(input, "the store URL is empty"));
        }
        if let Some(rest) = input.strip_prefix("sqlite://").or_else(|| input.strip_prefix("sqlite:")) {
            if rest.is_empty() {
                return Err(invalid(input, "sqlite:// needs a file path, e.g. sqlite://slprod.sqlite"));
            }
            if rest.contains('?') {
                return Err(invalid(input, "sqlite:// URLs take no query parameters"));
            }
            if rest == ":memory:" {
                return Err(invalid(input, "an in-memory SQLite database is not durable; give a file path"));
            }
            return Ok(StoreUrl::Sqlite { path: PathBuf::from(rest) });
        }
        if input.starts_with("postgres://") || input.starts_with("postgresql://") {
            let (base, query) = match input.split_once('?') {
                Some((base, query)) => (base, Some(query)),
                None => (input, None),
            };
            let mut kept = Vec::new();
            let mut schema = None;
            for pair in query.into_iter().flat_map(|q| q.split('&')).filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("schema", value)) => {
                        if !valid_identifier(value) {
                            return Err(invalid(
                                input,
                                "schema must be a lowercase SQL identifier ([a-z_][a-z0-9_]*, at most 63 characters)",
                            ));
                        }
                        schema = Some(value.to_owned());
                    }
                    _ => kept.push(pair),
                }
            }
            let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
            return Ok(StoreUrl::Postgres { url, schema });
        }
        Err(invalid(input, "expected sqlite://PATH or postgres://USER@HOST:PORT/DB"))
    }

    /// Which backend this URL selects, as a short word for messages.
    pub fn backend_name(&self) -> &'static str {
        match self {
            StoreUrl::Sqlite { .. } => "sqlite",
            StoreUrl::Postgres { .. } => "postgres",
        }
    }
}

impl std::str::FromStr for StoreUrl {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StoreUrl::parse(s)
    }
}

fn invalid(input: &str, reason: &str) -> StoreError {
    StoreError::InvalidUrl { url: redact_url(input), reason: reason.to_owned() }
}

fn valid_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 63
}

/// Query parameters whose value is a credential (libpq's `password` and `sslpassword`, and common spellings).
const SECRET_PARAMS: &[&str] = &["password", "sslpassword", "passwd", "pwd", "pass"];

/// Replaces the password of a URL (`user:PASSWORD@`, or a `password=` query parameter) with `***`.
///
/// A password may hold any character, `@`, `/`, `?` and `:` included, when a user types it without
/// percent-encoding (`postgres://app:p@ss/w?rd@db:5432/x`). The user info therefore runs from after `://` to
/// the **last** `@` in the URL, and the password from the first `:` in it to that `@`. When the query itself
/// holds an `@` this hides more than the password (the host and path too), never less: a leaked password is
/// worse than a redacted host name.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let auth_start = scheme_end + 3;
        if let Some(at) = out[auth_start..].rfind('@') {
            let userinfo = &out[auth_start..auth_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(auth_start + colon + 1..auth_start + at, "***");
            }
        }
    }
    // The query starts at the first `?` after the (redacted) user info.
    let query_from = out.find("://").map_or(0, |i| i + 3);
    let query_from = out[query_from..].rfind('@').map_or(query_from, |at| query_from + at);
    if let Some(q) = out[query_from..].find('?').map(|i| query_from + i) {
        let (base, query) = out.split_at(q + 1);
        let redacted: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if SECRET_PARAMS.iter().any(|p| k.eq_ignore_ascii_case(p)) => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{base}{}", redacted.join("&"));
    }
    out
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Sqlite { path } => write!(f, "sqlite://{}", path.display()),
            StoreUrl::Postgres { url, schema } => {
                write!(f, "{}", redact_url(url))?;
                if let Some(schema) = schema {
                    write!(f, "{}schema={schema}", if url.contains('?') { '&' } else { '?' })?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sqlite_forms() {
        for (input, path) in [
            ("sqlite://slprod.sqlite", "slprod.sqlite"),
            ("sqlite:///tmp/x.db", "/tmp/x.db"),
            ("sqlite:rel/x.db", "rel/x.db"),
        ] {
            let got = StoreUrl::parse(input).map_err(|e| e.to_string());
            assert_eq!(got, Ok(StoreUrl::Sqlite { path: PathBuf::from(path) }), "input {input}");
        }
    }

    #[test]
    fn parses_postgres_and_extracts_schema() {
        let got = StoreUrl::parse("postgres://u:pw@h:5432/db?schema=t_1&sslmode=disable").map_err(|e| e.to_string());
        assert_eq!(
            got,
            Ok(StoreUrl::Postgres {
                url: "postgres://u:pw@h:5432/db?sslmode=disable".into(),
                schema: Some("t_1".into())
            })
        );
    }

    #[test]
    fn display_and_errors_never_show_the_password() {
        let url = StoreUrl::parse("postgresql://user:s3cret@db:5432/x?password=other").map_err(|e| e.to_string());
        let shown = format!("{:?} {}", url, url.as_ref().map(ToString::to_string).unwrap_or_default());
        assert!(!shown.contains("s3cret") && !shown.contains("other"), "password leaked: {shown}");
        let err = StoreUrl::parse("postgres://user:s3cret@db/x?schema=Bad-Name").err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("schema") && !err.contains("s3cret"), "got {err}");
    }

    #[test]
    fn passwords_with_at_signs_and_slashes_are_redacted() {
        let cases = [
            ("postgres://app:p@ss@db:5432/x", "postgres://app:***@db:5432/x"),
            ("postgres://app:pa/ss@db:5432/x", "postgres://app:***@db:5432/x"),
            ("postgres://app:a/b@c/d?e@db:5432/x?sslmode=disable", "postgres://app:***@db:5432/x?sslmode=disable"),
            (
                "postgresql://app:s3cret@db/x?password=other&PassWord=x",
                "postgresql://app:***@db/x?password=***&PassWord=***",
            ),
            ("postgres://db/x?sslpassword=k&sslmode=require", "postgres://db/x?sslpassword=***&sslmode=require"),
            ("postgres://app@db/x", "postgres://app@db/x"),
            ("postgres://db:5432/x", "postgres://db:5432/x"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_url(input), expected, "input {input}");
        }
        for (input, secret) in [
            ("postgres://app:Sx9Q@Wz7/Kp3?Rv8@db:5432/x?schema=s_1", "Sx9Q@Wz7/Kp3?Rv8"),
            ("postgres://app:Xq4/Yj6@Zm2@db/x?schema=Bad-Name", "Xq4/Yj6@Zm2"),
        ] {
            let shown = match StoreUrl::parse(input) {
                Ok(url) => format!("{url} {url:?}"),
                Err(error) => error.to_string(),
            };
            for part in secret.split(['@', '/', '?']) {
                assert!(!shown.contains(part), "{part:?} of the password leaked: {shown}");
            }
        }
    }

    #[test]
    fn rejects_unknown_schemes_with_the_expected_forms() {
        for input in ["", "mysql://x", "slprod.sqlite", "sqlite://", "sqlite://:memory:", "sqlite://a?mode=ro"] {
            match StoreUrl::parse(input) {
                Err(StoreError::InvalidUrl { .. }) => {}
                other => panic!("expected InvalidUrl for {input:?}, got {other:?}"),
            }
        }
    }
}
