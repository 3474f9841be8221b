//! The PostgreSQL fixture: every test gets a schema of its own on the server named by `SLPROD_TEST_PG_URL`, so
//! tests run in parallel on one database and never see each other's rows. Without that variable the tests
//! fail (they never skip): a green run without PostgreSQL would claim coverage it does not have.

/// The variable naming the test server, e.g. `postgres://postgres@127.0.0.1:55432/slprod_test`.
pub const URL_VAR: &str = "SLPROD_TEST_PG_URL";

/// The test server's URL; panics with how to start one when [`URL_VAR`] is unset or empty.
pub fn url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{URL_VAR} is not set: the PostgreSQL tests need a real server and never skip. Run \
             `eval \"$(scripts/pg-test-server.sh start)\"` (from the repository root) and test again."
        ),
    }
}

/// A schema name no other test uses (`t_` and a random UUID: a plain lowercase identifier).
pub fn fresh_schema() -> String {
    format!("t_{}", uuid::Uuid::new_v4().simple())
}

/// The store URL of `schema` on the test server; the connection's `application_name` is the schema too, so a
/// test can find (and kill) its own connections in `pg_stat_activity`.
pub fn store_url(schema: &str) -> String {
    let base = url();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}schema={schema}&application_name={schema}")
}

/// The store URL of a fresh, empty schema (the store creates it on open).
pub fn fresh_store_url() -> String {
    store_url(&fresh_schema())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_schemas_are_plain_identifiers_and_differ() {
        let (a, b) = (fresh_schema(), fresh_schema());
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'), "{a}");
        assert!(a.len() <= 63, "PostgreSQL identifiers are at most 63 bytes: {a}");
    }
}
