//! Secret removal and PII masking for anything the client logs about a payload.
//!
//! Use [`Redactor::redact_json`] before a request or response body reaches `tracing` (the pipeline does so
//! for the 422 log — FACTS.md §3: a 422 is the one error whose payload an operator needs to see), and
//! [`Redactor::redact_query`] for query pairs (a `GET /v2/people?email_addresses[]=…` carries an email).
//!
//! Two kinds of value are treated differently:
//! - **secrets** (keys naming a token, secret, password, API key, authorization, signature or credential —
//!   e.g. a webhook subscription's `callback_token`, FACTS.md §6.1) are always replaced by `[REDACTED]`,
//!   whatever the configuration: there is no switch that logs a secret.
//! - **PII** (emails, phone numbers, personal names) is masked by default (`j***@example.com`,
//!   `***67`, `J***`) and can be logged in clear with [`RedactionConfig::mask_pii`] `= false` for a debugging
//!   session on a non-production team. Emails are also recognised by shape in any string value, so an
//!   address in a free-text field or an unexpected key is still masked.

use serde_json::Value;

/// The text that replaces a secret value.
pub const REDACTED: &str = "[REDACTED]";

/// Key fragments that mark a value as a secret (matched case-insensitively on the key with `-` read as `_`).
const SECRET_KEY_FRAGMENTS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "api_key",
    "apikey",
    "authorization",
    "signature",
    "credential",
    "private_key",
    "cookie",
];

/// Key fragments that mark a phone number (SalesLoft person fields: `phone`, `mobile_phone`, `home_phone`,
/// `phone_extension` — FACTS.md §5.3).
const PHONE_KEY_FRAGMENTS: &[&str] = &["phone", "mobile", "fax"];

/// Keys (exact, after normalisation) that hold a personal name.
const NAME_KEYS: &[&str] =
    &["first_name", "last_name", "name", "full_name", "display_name", "preferred_name", "person_name", "nickname"];

/// What to hide.
#[derive(Debug, Clone)]
pub struct RedactionConfig {
    /// Mask emails, phone numbers and names (default `true`). Secrets are removed regardless.
    pub mask_pii: bool,
    /// Extra key fragments to treat as secrets (lower case, `_` for separators).
    pub extra_secret_keys: Vec<String>,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        Self { mask_pii: true, extra_secret_keys: Vec::new() }
    }
}

/// Applies a [`RedactionConfig`] to JSON values and query pairs.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    config: RedactionConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Secret,
    Email,
    Phone,
    Name,
    Other,
}

impl Redactor {
    /// A redactor with `config`.
    pub fn new(config: RedactionConfig) -> Self {
        Self { config }
    }

    /// A copy of `value` with secrets replaced by [`REDACTED`] and (by default) PII masked.
    pub fn redact_json(&self, value: &Value) -> Value {
        self.redact_value(value, KeyKind::Other)
    }

    /// Query pairs with the same rules applied to each value (by its key, and emails by shape).
    pub fn redact_query(&self, query: &[(String, String)]) -> Vec<(String, String)> {
        query
            .iter()
            .map(|(key, value)| {
                let redacted = match self.value_for_string(value, self.kind_of(key)) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (key.clone(), redacted)
            })
            .collect()
    }

    fn kind_of(&self, key: &str) -> KeyKind {
        let key = key.to_ascii_lowercase().replace('-', "_");
        let key = key.trim_end_matches("[]");
        let is_secret = SECRET_KEY_FRAGMENTS.iter().any(|f| key.contains(f))
            || self.config.extra_secret_keys.iter().any(|f| key.contains(f.as_str()));
        if is_secret {
            KeyKind::Secret
        } else if key.contains("email") {
            KeyKind::Email
        } else if PHONE_KEY_FRAGMENTS.iter().any(|f| key.contains(f)) {
            KeyKind::Phone
        } else if NAME_KEYS.contains(&key) {
            KeyKind::Name
        } else {
            KeyKind::Other
        }
    }

    fn redact_value(&self, value: &Value, kind: KeyKind) -> Value {
        match value {
            Value::Null => Value::Null,
            // A secret-named key loses its value whatever its type (a nested object may hold the secret).
            _ if kind == KeyKind::Secret => Value::String(REDACTED.to_string()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.redact_value(v, self.kind_of(k)))).collect())
            }
            // Array elements inherit their key's kind (`email_addresses: [..]`).
            Value::Array(items) => Value::Array(items.iter().map(|v| self.redact_value(v, kind)).collect()),
            Value::String(s) => self.value_for_string(s, kind),
            Value::Number(_) if self.config.mask_pii && kind == KeyKind::Phone => {
                Value::String(mask_phone(&value.to_string()))
            }
            other => other.clone(),
        }
    }

    fn value_for_string(&self, s: &str, kind: KeyKind) -> Value {
        if kind == KeyKind::Secret {
            return Value::String(REDACTED.to_string());
        }
        if !self.config.mask_pii {
            return Value::String(s.to_string());
        }
        Value::String(match kind {
            KeyKind::Email => mask_emails_in(s),
            KeyKind::Phone => mask_phone(s),
            KeyKind::Name => mask_name(s),
            KeyKind::Secret | KeyKind::Other => mask_emails_in(s),
        })
    }
}

/// Masks one email address: `jane.doe@example.com` → `j***@example.com`. Text without an `@` is masked as a
/// name.
pub fn mask_email(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((local, domain)) if !domain.is_empty() => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        _ => mask_name(email),
    }
}

/// Masks a phone number to its last two digits: `+1 (555) 010-4567` → `***67`.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() <= 4 {
        return "***".to_string();
    }
    let tail: String = digits[digits.len() - 2..].iter().collect();
    format!("***{tail}")
}

/// Masks a name to its first character: `Jane` → `J***`; empty stays empty.
pub fn mask_name(name: &str) -> String {
    match name.chars().next() {
        Some(first) => format!("{first}***"),
        None => String::new(),
    }
}

/// Masks every whitespace- or punctuation-delimited token of `text` that looks like an email address.
fn mask_emails_in(text: &str) -> String {
    if !text.contains('@') {
        return text.to_string();
    }
    let is_delimiter = |c: char| c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '"' | '\'' | '(' | ')');
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if looks_like_email(word) {
            out.push_str(&mask_email(word));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if is_delimiter(c) {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn looks_like_email(word: &str) -> bool {
    match word.rsplit_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !domain.starts_with('.'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_removed_and_pii_masked_by_default() {
        let payload = json!({
            "email_address": "jane.doe@example.com",
            "first_name": "Jane",
            "last_name": "Doe",
            "phone": "+1 (555) 010-4567",
            "title": "VP Sales",
            "callback_token": "cb-secret-123",
            "Authorization": "Bearer abc",
            "nested": {"api_key": "ak123", "client-secret": "s", "notes": "ping jane@example.com today"},
            "secondary_email_addresses": ["a@b.io", "c@d.io"],
            "access_token": {"value": "deep"},
            "count": 3,
        });
        let got = Redactor::default().redact_json(&payload);
        let expected = json!({
            "email_address": "j***@example.com",
            "first_name": "J***",
            "last_name": "D***",
            "phone": "***67",
            "title": "VP Sales",
            "callback_token": REDACTED,
            "Authorization": REDACTED,
            "nested": {"api_key": REDACTED, "client-secret": REDACTED, "notes": "ping j***@example.com today"},
            "secondary_email_addresses": ["a***@b.io", "c***@d.io"],
            "access_token": REDACTED,
            "count": 3,
        });
        assert_eq!(got, expected, "expected {expected:#} got {got:#}");
    }

    #[test]
    fn unmasked_mode_keeps_pii_but_never_secrets() {
        let redactor = Redactor::new(RedactionConfig { mask_pii: false, ..RedactionConfig::default() });
        let got = redactor.redact_json(&json!({"email_address": "jane@example.com", "password": "hunter2"}));
        assert_eq!(got, json!({"email_address": "jane@example.com", "password": REDACTED}));
    }

    #[test]
    fn extra_secret_keys_are_honoured() {
        let redactor =
            Redactor::new(RedactionConfig { extra_secret_keys: vec!["crm_id".into()], ..RedactionConfig::default() });
        assert_eq!(redactor.redact_json(&json!({"crm_id": "x"})), json!({"crm_id": REDACTED}));
    }

    #[test]
    fn masking_table() {
        type Masker = fn(&str) -> String;
        let cases: &[(Masker, &str, &str)] = &[
            (mask_email, "jane@example.com", "j***@example.com"),
            (mask_email, "@example.com", "***@example.com"),
            (mask_email, "not-an-email", "n***"),
            (mask_phone, "555-0100", "***00"),
            (mask_phone, "12", "***"),
            (mask_name, "Élodie", "É***"),
            (mask_name, "", ""),
            (mask_emails_in, "a jane@x.io, b <bob@y.org>", "a j***@x.io, b <b***@y.org>"),
            (mask_emails_in, "twitter @jane", "twitter @jane"),
        ];
        for (f, input, expected) in cases {
            assert_eq!(f(input), *expected, "input {input:?}");
        }
    }

    #[test]
    fn query_values_are_redacted_by_key_and_shape() {
        let query = vec![
            ("email_addresses[]".to_string(), "jane@example.com".to_string()),
            ("page".to_string(), "2".to_string()),
            ("access_token".to_string(), "tok".to_string()),
        ];
        let got = Redactor::default().redact_query(&query);
        assert_eq!(got[0].1, "j***@example.com");
        assert_eq!(got[1].1, "2");
        assert_eq!(got[2].1, REDACTED);
    }
}
