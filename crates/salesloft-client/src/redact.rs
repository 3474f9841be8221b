//! Secret removal and PII masking for anything the client logs or puts in an error.
//!
//! Use [`Redactor::redact_json`] before a request or response body reaches `tracing` (the pipeline does so
//! for the 422 log — FACTS.md §3: a 422 is the one error whose payload an operator needs to see),
//! [`Redactor::redact_query`] for query pairs (a `GET /v2/people?email_addresses[]=…` carries an email), and
//! [`Redactor::redact_text`] for free text: error bodies that are not JSON, SalesLoft's `error` strings and
//! 422 messages (which may echo the rejected value), request paths, decode messages.
//!
//! Three kinds of value are treated differently:
//! - **secrets** are always replaced by `[REDACTED]`, whatever the configuration: there is no switch that
//!   logs a secret. A key is a secret's when it names a token, secret, password, API key, authorization,
//!   authentication, signature, credential, private key, cookie, session, bearer, callback URL (a webhook's
//!   `callback_url` may carry its own token, FACTS.md §6.1) or is the word `auth`/`oauth`. Keys are compared
//!   case-insensitively with `-`, `_`, `.` and camelCase boundaries ignored, so `X-SalesLoft-Signature`,
//!   `refreshToken` and `CALLBACK_URL` all match. In free text, `key=value` / `"key": "value"` pairs with such
//!   a key, `Bearer …` credentials, SalesLoft API keys (`ak` + 64 hex, FACTS.md §1.2) and JWTs are removed.
//! - **PII** (emails, phone numbers, personal names, LinkedIn/Twitter handles and personal web sites, street
//!   addresses, and every custom field value — SalesLoft person fields, FACTS.md §5.3) is masked by default
//!   (`j***@example.com`, `***67`, `J***`) and can be logged in clear with [`RedactionConfig::mask_pii`]
//!   `= false` for a debugging session on a non-production team. Emails are also recognised by shape in any
//!   string, so an address in a free-text field, a message or a path is still masked.
//! - everything else is kept.

use serde_json::Value;

/// The text that replaces a secret value.
pub const REDACTED: &str = "[REDACTED]";

/// Fragments of a key (lower case, separators removed) that mark its value as a secret.
const SECRET_KEY_FRAGMENTS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "apikey",
    "authorization",
    "authentication",
    "signature",
    "credential",
    "privatekey",
    "cookie",
    "session",
    "bearer",
    "callbackurl",
];

/// Whole words of a key that mark a secret (a substring match would catch `author`).
const SECRET_KEY_WORDS: &[&str] = &["auth", "oauth", "pwd", "jwt", "sig", "otp"];

/// Fragments that mark a phone number (SalesLoft person fields: `phone`, `mobile_phone`, `home_phone`,
/// `phone_extension` — FACTS.md §5.3).
const PHONE_KEY_FRAGMENTS: &[&str] = &["phone", "mobile", "fax"];

/// Fragments that mark other personal data kept in clear text by SalesLoft (FACTS.md §5.3).
const PERSONAL_KEY_FRAGMENTS: &[&str] = &["linkedin", "twitter", "facebook", "personalwebsite", "address", "street"];

/// Words after which the next token is the credential itself (`Authorization: Bearer abc`).
const AUTH_SCHEMES: &[&str] = &["bearer", "basic", "token", "digest", "negotiate"];

/// What to hide.
#[derive(Debug, Clone)]
pub struct RedactionConfig {
    /// Mask emails, phone numbers, names and other personal data (default `true`). Secrets are removed
    /// regardless.
    pub mask_pii: bool,
    /// Extra key fragments to treat as secrets (matched like the built-in ones: case and separators ignored).
    pub extra_secret_keys: Vec<String>,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        Self { mask_pii: true, extra_secret_keys: Vec::new() }
    }
}

/// Applies a [`RedactionConfig`] to JSON values, query pairs and free text.
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
    /// Other personal data (social handles, personal sites, addresses): masked like a name.
    Personal,
    /// A custom field's value: masked whatever it looks like (users put anything there).
    Custom,
    Other,
}

impl KeyKind {
    /// True for the kinds whose nested values inherit the masking.
    fn is_pii(self) -> bool {
        matches!(self, KeyKind::Email | KeyKind::Phone | KeyKind::Name | KeyKind::Personal | KeyKind::Custom)
    }
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

    /// Query pairs with the same rules applied to each value (by its key, and by shape).
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

    /// Free text with every secret removed and (by default) emails masked: `key=value` and `"key": value`
    /// pairs whose key names a secret, `Bearer …`/`Basic …` credentials, API keys (`ak` + hex) and JWTs.
    /// Use it for anything that did not come from us: error bodies, SalesLoft's messages, paths.
    ///
    /// ```
    /// use salesloft_client::redact::Redactor;
    /// let text = Redactor::default().redact_text("denied for jane@example.com: Authorization: Bearer abc.def");
    /// assert_eq!(text, "denied for j***@example.com: Authorization: [REDACTED]");
    /// ```
    pub fn redact_text(&self, text: &str) -> String {
        let text = self.redact_assignments(text);
        let text = redact_words(&text);
        if self.config.mask_pii { mask_emails_in(&text) } else { text }
    }

    /// Whether `key` names a secret (the rule [`Redactor::redact_json`] applies).
    pub fn is_secret_key(&self, key: &str) -> bool {
        self.kind_of(key) == KeyKind::Secret
    }

    fn kind_of(&self, key: &str) -> KeyKind {
        let key = key.trim_end_matches("[]");
        let words = key_words(key);
        let compact: String = words.concat();
        // Words both at separators only (`aUtH`, `x-AUTH`) and at camelCase boundaries too (`authCode`).
        let plain_words = key.split(|c: char| !c.is_alphanumeric()).map(str::to_lowercase);
        let is_secret = SECRET_KEY_FRAGMENTS.iter().any(|f| compact.contains(f))
            || words.iter().any(|w| SECRET_KEY_WORDS.contains(&w.as_str()))
            || plain_words.into_iter().any(|w| SECRET_KEY_WORDS.contains(&w.as_str()))
            || self
                .config
                .extra_secret_keys
                .iter()
                .map(|f| key_words(f).concat())
                .any(|f| !f.is_empty() && compact.contains(&f));
        if is_secret {
            KeyKind::Secret
        } else if compact.contains("email") {
            KeyKind::Email
        } else if PHONE_KEY_FRAGMENTS.iter().any(|f| compact.contains(f)) {
            KeyKind::Phone
        } else if compact.starts_with("customfield") {
            KeyKind::Custom
        } else if compact.ends_with("name") || compact == "nickname" {
            KeyKind::Name
        } else if PERSONAL_KEY_FRAGMENTS.iter().any(|f| compact.contains(f)) {
            KeyKind::Personal
        } else {
            KeyKind::Other
        }
    }

    fn redact_value(&self, value: &Value, kind: KeyKind) -> Value {
        match value {
            Value::Null => Value::Null,
            // A secret-named key loses its value whatever its type (a nested object may hold the secret).
            _ if kind == KeyKind::Secret => Value::String(REDACTED.to_string()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        // Inside personal data (`custom_fields: {...}`, `name: {first, last}`) a plain key keeps
                        // its parent's masking; a secret key is a secret anywhere.
                        let child = match self.kind_of(k) {
                            KeyKind::Other if kind.is_pii() => kind,
                            child => child,
                        };
                        (k.clone(), self.redact_value(v, child))
                    })
                    .collect(),
            ),
            // Array elements inherit their key's kind (`email_addresses: [..]`).
            Value::Array(items) => Value::Array(items.iter().map(|v| self.redact_value(v, kind)).collect()),
            Value::String(s) => self.value_for_string(s, kind),
            Value::Number(_) if self.config.mask_pii && kind == KeyKind::Phone => {
                Value::String(mask_phone(&value.to_string()))
            }
            Value::Number(_) if self.config.mask_pii && kind == KeyKind::Custom => Value::String("***".to_string()),
            other => other.clone(),
        }
    }

    fn value_for_string(&self, s: &str, kind: KeyKind) -> Value {
        if kind == KeyKind::Secret {
            return Value::String(REDACTED.to_string());
        }
        if !self.config.mask_pii {
            return Value::String(self.redact_text(s));
        }
        Value::String(match kind {
            KeyKind::Email => mask_emails_in(&redact_words(s)),
            KeyKind::Phone => mask_phone(s),
            KeyKind::Name | KeyKind::Personal | KeyKind::Custom => mask_name(s),
            KeyKind::Secret | KeyKind::Other => self.redact_text(s),
        })
    }

    /// Replaces the value of every `key=value`, `key: value` or `"key": "value"` whose key names a secret.
    fn redact_assignments(&self, text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < chars.len() {
            if !is_key_char(chars[i]) {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && is_key_char(chars[i]) {
                i += 1;
            }
            let key: String = chars[start..i].iter().collect();
            out.push_str(&key);
            if !self.is_secret_key(&key) {
                continue;
            }
            // Separator: an optional closing quote (escaped, in JSON inside a string), spaces, `:` or `=`, spaces.
            let mut j = i;
            if j + 1 < chars.len() && chars[j] == '\\' && matches!(chars[j + 1], '"' | '\'') {
                j += 1;
            }
            if j < chars.len() && matches!(chars[j], '"' | '\'') {
                j += 1;
            }
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            if j >= chars.len() || !matches!(chars[j], ':' | '=') {
                continue;
            }
            j += 1;
            while j < chars.len() && matches!(chars[j], ' ' | '\t') {
                j += 1;
            }
            let value_end = value_end(&chars, j);
            if value_end == j {
                continue;
            }
            out.extend(&chars[i..j]);
            // Keep the value's quotes (plain or backslash-escaped) around the replacement.
            let value = &chars[j..value_end];
            let open = match value {
                ['\\', q @ ('"' | '\''), ..] => vec!['\\', *q],
                [q @ ('"' | '\''), ..] => vec![*q],
                _ => Vec::new(),
            };
            let closed = value.len() > open.len() && value.ends_with(&open);
            out.extend(&open);
            out.push_str(REDACTED);
            if closed {
                out.extend(&open);
            }
            i = value_end;
        }
        out
    }
}

/// The words of a key, lower case: split at anything not alphanumeric and at camelCase boundaries
/// (`X-SalesLoft-Signature` → `x salesloft signature`, `refreshToken` → `refresh token`).
fn key_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Where the value starting at `start` ends (exclusive): a quoted string up to its closing quote, a bracketed
/// object or array up to its matching bracket, else a run of non-delimiters — extended over the credential
/// when the run is an auth scheme (`Bearer abc`).
fn value_end(chars: &[char], start: usize) -> usize {
    let Some(&first) = chars.get(start) else { return start };
    if first == '\\' && matches!(chars.get(start + 1), Some('"' | '\'')) {
        // A backslash-escaped quoted value (JSON text inside a JSON string): up to the next escaped quote.
        let quote = chars[start + 1];
        let mut k = start + 2;
        while k < chars.len() {
            if chars[k] == '\\' && chars.get(k + 1) == Some(&quote) {
                return k + 2;
            }
            k += 1;
        }
        return chars.len();
    }
    match first {
        '"' | '\'' => {
            let mut k = start + 1;
            while k < chars.len() {
                match chars[k] {
                    '\\' => k += 2,
                    c if c == first => return k + 1,
                    _ => k += 1,
                }
            }
            chars.len()
        }
        '{' | '[' => {
            let mut depth = 0usize;
            let mut in_string = false;
            let mut k = start;
            while k < chars.len() {
                let c = chars[k];
                if in_string {
                    if c == '\\' {
                        k += 1;
                    } else if c == '"' {
                        in_string = false;
                    }
                } else if c == '"' {
                    in_string = true;
                } else if matches!(c, '{' | '[') {
                    depth += 1;
                } else if matches!(c, '}' | ']') {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return k + 1;
                    }
                }
                k += 1;
            }
            chars.len()
        }
        _ => {
            let word_end = |from: usize| {
                let mut k = from;
                while k < chars.len() && !is_value_delimiter(chars[k]) {
                    k += 1;
                }
                k
            };
            let end = word_end(start);
            let word: String = chars[start..end].iter().collect::<String>().to_lowercase();
            if AUTH_SCHEMES.contains(&word.as_str()) {
                let mut k = end;
                while k < chars.len() && matches!(chars[k], ' ' | '\t') {
                    k += 1;
                }
                if k > end && k < chars.len() && !is_value_delimiter(chars[k]) {
                    return word_end(k);
                }
            }
            end
        }
    }
}

fn is_value_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | ';' | '&' | '"' | '\'' | '<' | '>' | '}' | ']' | ')')
}

/// Removes credentials recognised by shape: the token after `Bearer` (or a base64-looking one after
/// `Basic`), SalesLoft API keys (`ak` followed by at least 32 hex digits, optionally after `-` or `_`) and
/// JWTs (`eyJ…`, three dot-separated parts).
fn redact_words(text: &str) -> String {
    let text = redact_schemes(text);
    let is_delimiter = |c: char| {
        c.is_whitespace()
            || matches!(c, ',' | ';' | '"' | '\'' | '<' | '>' | '(' | ')' | '[' | ']' | '{' | '}' | '=' | '&' | '?')
            || matches!(c, '/' | ':' | '\\')
    };
    let mut out = String::with_capacity(text.len());
    let mut start = 0;
    for (index, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        if !is_delimiter(c) {
            continue;
        }
        let word = &text[start..index];
        // A sentence's full stop is not part of the token.
        let core = word.trim_end_matches('.');
        if is_api_key(core) || is_jwt(core) {
            out.push_str(REDACTED);
            out.push_str(&word[core.len()..]);
        } else {
            out.push_str(word);
        }
        if index < text.len() {
            out.push(c);
        }
        start = index + c.len_utf8();
    }
    out
}

/// Replaces the credential after an HTTP auth scheme: any token after `Bearer`, and after `Basic` one that
/// looks like base64 (so "the basic idea" stays readable).
fn redact_schemes(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let at_word_start = i == 0 || !chars[i - 1].is_alphanumeric();
        let scheme = ["bearer", "basic"].into_iter().find(|scheme| {
            at_word_start
                && chars.len() >= i + scheme.len()
                && chars[i..i + scheme.len()].iter().collect::<String>().eq_ignore_ascii_case(scheme)
        });
        let Some(scheme) = scheme else {
            out.push(chars[i]);
            i += 1;
            continue;
        };
        let mut j = i + scheme.len();
        while j < chars.len() && matches!(chars[j], ' ' | '\t') {
            j += 1;
        }
        let mut end = j;
        while end < chars.len()
            && !chars[end].is_whitespace()
            && !matches!(chars[end], '"' | '\'' | ',' | ';' | '<' | '>' | ')' | ']' | '}')
        {
            end += 1;
        }
        let token: String = chars[j..end].iter().collect();
        let credential =
            j > i + scheme.len() && !token.is_empty() && (scheme == "bearer" || looks_like_base64_credential(&token));
        out.extend(&chars[i..j]);
        if credential {
            out.push_str(REDACTED);
            i = end;
        } else {
            i = j;
        }
    }
    out
}

/// A `Basic` credential: base64 of `user:password`, at least 8 characters, with a digit, `=` padding or mixed
/// case (an English word after "basic" has none of these).
fn looks_like_base64_credential(token: &str) -> bool {
    token.len() >= 8
        && token.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        && (token.contains(|c: char| c.is_ascii_digit() || c == '=')
            || (token.contains(|c: char| c.is_ascii_uppercase()) && token.contains(|c: char| c.is_ascii_lowercase())))
}

/// `ak` + at least 32 hex digits (SalesLoft's keys are `ak` + 64 hex — FACTS.md §1.2), optionally `ak-`/`ak_`.
fn is_api_key(word: &str) -> bool {
    let Some(rest) = word.strip_prefix("ak").or_else(|| word.strip_prefix("AK")) else { return false };
    let rest = rest.strip_prefix(['-', '_']).unwrap_or(rest);
    rest.len() >= 32 && rest.chars().all(|c| c.is_ascii_hexdigit())
}

/// A JSON Web Token: `eyJ` + two more dot-separated base64url parts.
fn is_jwt(word: &str) -> bool {
    word.starts_with("eyJ")
        && word.len() >= 20
        && word.split('.').count() == 3
        && word.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A serde (or similar) error message with every value it quotes hidden, then [`Redactor::redact_text`]:
/// serde prints an unexpected string as `string "…"` and a number or character in backticks
/// (`integer \`42\``), and the value may be a token or PII. Field and variant names, also in backticks, are
/// kept (they name the schema, not the data).
///
/// ```
/// use salesloft_client::redact::hide_quoted_values;
/// let message = r#"invalid type: string "tok-123", expected u64 at line 1 column 9"#;
/// assert_eq!(hide_quoted_values(message), r#"invalid type: string "…", expected u64 at line 1 column 9"#);
/// ```
pub fn hide_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        let closing = match c {
            '"' => '"',
            '`' if ["integer ", "floating point ", "character "].iter().any(|p| out[..out.len() - 1].ends_with(p)) => {
                '`'
            }
            _ => continue,
        };
        // Skip to the closing quote, honouring backslash escapes (serde prints strings with `{:?}`).
        let mut escaped = false;
        for inner in chars.by_ref() {
            if escaped {
                escaped = false;
            } else if inner == '\\' {
                escaped = true;
            } else if inner == closing {
                break;
            }
        }
        out.push('…');
        out.push(closing);
    }
    Redactor::default().redact_text(&out)
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
    let is_delimiter = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ',' | ';'
                    | '<'
                    | '>'
                    | '"'
                    | '\''
                    | '('
                    | ')'
                    | '/'
                    | '?'
                    | '&'
                    | '='
                    | '['
                    | ']'
                    | '{'
                    | '}'
                    | ':'
                    | '\\'
            )
    };
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
    fn secret_keys_table() {
        let redactor = Redactor::default();
        let secret = [
            "auth",
            "AUTH",
            "x-auth",
            "authCode",
            "OAuth",
            "oauth_state",
            "bearer",
            "Bearer-Token",
            "session",
            "SessionId",
            "session_key",
            "cookie",
            "Set-Cookie",
            "callback_url",
            "callbackUrl",
            "CALLBACK-URL",
            "signature",
            "x-salesloft-signature",
            "X-SalesLoft-Signature",
            "refresh_token",
            "refreshToken",
            "access_token",
            "Authorization",
            "proxy-authorization",
            "client_secret",
            "api_key",
            "X-Api-Key",
            "password",
            "private_key",
            "credentials",
        ];
        for key in secret {
            assert!(redactor.is_secret_key(key), "{key} must be a secret key");
        }
        for key in ["author", "authored_by", "title", "id", "updated_at", "signal_id", "design", "callback_count"] {
            assert!(!redactor.is_secret_key(key), "{key} is not a secret key");
        }
    }

    #[test]
    fn pii_beyond_email_is_masked() {
        let payload = json!({
            "phone": "+1 555 010 4567",
            "mobile_phone": "+1 555 010 9911",
            "Home-Phone": 15550104522u64,
            "linkedin_url": "https://www.linkedin.com/in/jane-doe",
            "LinkedInUrl": "https://www.linkedin.com/in/jane-doe",
            "twitter_handle": "@janedoe",
            "first_name": "Jane",
            "LAST_NAME": "Doe",
            "display_name": "Jane Doe",
            "name": {"first": "Jane", "last": "Doe"},
            "custom_fields": {"Favourite colour": "teal", "shoe size": 41, "nested": {"pet": "Rex"}, "ok": true},
            "title": "VP Sales",
        });
        let got = Redactor::default().redact_json(&payload);
        let expected = json!({
            "phone": "***67",
            "mobile_phone": "***11",
            "Home-Phone": "***22",
            "linkedin_url": "h***",
            "LinkedInUrl": "h***",
            "twitter_handle": "@***",
            "first_name": "J***",
            "LAST_NAME": "D***",
            "display_name": "J***",
            "name": {"first": "J***", "last": "D***"},
            "custom_fields": {"Favourite colour": "t***", "shoe size": "***", "nested": {"pet": "R***"}, "ok": true},
            "title": "VP Sales",
        });
        assert_eq!(got, expected, "expected {expected:#} got {got:#}");
    }

    #[test]
    fn free_text_table() {
        let key = "ak0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let cases: Vec<(String, String)> = vec![
            ("Authorization: Bearer abc.def-ghi".into(), "Authorization: [REDACTED]".into()),
            (
                "<html>token expired for bearer abc123/x+y=</html>".into(),
                "<html>token expired for bearer [REDACTED]</html>".into(),
            ),
            (format!("invalid key {key} given"), "invalid key [REDACTED] given".into()),
            (format!("key=ak-{}", &key[2..]), "key=[REDACTED]".into()),
            (format!("jwt {jwt}."), "jwt [REDACTED].".into()),
            ("cb?access_token=s3cr3t&page=2".into(), "cb?access_token=[REDACTED]&page=2".into()),
            (r#"{"refresh_token": "r-1", "note": "x"#.into(), r#"{"refresh_token": "[REDACTED]", "note": "x"#.into()),
            (r#"{"Client_Secret":{"v":"s"},"id":1}"#.into(), r#"{"Client_Secret":[REDACTED],"id":1}"#.into()),
            (r#""{\"api_key\": \"k-1\"}""#.into(), r#""{\"api_key\": \"[REDACTED]\"}""#.into()),
            ("X-SalesLoft-Signature: 9f8e7d".into(), "X-SalesLoft-Signature: [REDACTED]".into()),
            ("Cookie=_session=abc; path=/".into(), "Cookie=[REDACTED]; path=/".into()),
            ("Basic dXNlcjpwYXNzd29yZA==".into(), "Basic [REDACTED]".into()),
            ("the basic idea and the author".into(), "the basic idea and the author".into()),
            ("people/jane@example.com".into(), "people/j***@example.com".into()),
            ("email_address is already taken".into(), "email_address is already taken".into()),
            ("".into(), "".into()),
        ];
        let redactor = Redactor::default();
        for (input, expected) in cases {
            assert_eq!(redactor.redact_text(&input), expected, "input {input:?}");
        }
        let clear = Redactor::new(RedactionConfig { mask_pii: false, ..RedactionConfig::default() });
        assert_eq!(clear.redact_text("jane@example.com Bearer x"), "jane@example.com Bearer [REDACTED]");
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
