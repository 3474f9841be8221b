//! Random JSON with secrets and personal data planted in it, for the redaction property tests: secrets under
//! secret-named keys in random letter case (strings, objects, arrays), credentials inside free text (bearer
//! tokens, `ak…` API keys, JWTs, `access_token=` pairs, JSON inside a string), emails in free text, names,
//! phones and custom field values — at random depths among harmless values. Every planted value contains a
//! unique marker, so a test can assert that no marker survives.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// A value and the markers planted in it.
#[derive(Debug, Clone, Default)]
pub struct Planted {
    /// The JSON.
    pub value: Value,
    /// Secrets: must never appear, whatever the configuration or path (JSON or free text).
    pub secrets: Vec<String>,
    /// Email local parts: must never appear where PII is masked (JSON or free text).
    pub emails: Vec<String>,
    /// Names, phones, custom field values: must never appear in masked JSON (free text cannot tell them).
    pub personal: Vec<String>,
}

impl Planted {
    fn merge(mut self, other: Planted) -> Planted {
        self.secrets.extend(other.secrets);
        self.emails.extend(other.emails);
        self.personal.extend(other.personal);
        self
    }
}

const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "refreshToken",
    "client_secret",
    "password",
    "api_key",
    "X-Api-Key",
    "authorization",
    "auth",
    "bearer",
    "session",
    "session_id",
    "cookie",
    "set-cookie",
    "callback_url",
    "callback_token",
    "signature",
    "x-salesloft-signature",
    "private_key",
    "credentials",
    "oauth",
];

const NAME_KEYS: &[&str] = &["first_name", "last_name", "display_name", "name", "full_name", "linkedin_url"];
const PHONE_KEYS: &[&str] = &["phone", "mobile_phone", "home_phone"];
const BENIGN_KEYS: &[&str] = &["id", "title", "note", "data", "items", "meta", "status", "count", "description"];

/// A unique-looking marker: `zq` + 14 lowercase letters and digits.
fn marker() -> impl Strategy<Value = String> {
    "[a-z0-9]{14}".prop_map(|s| format!("zq{s}"))
}

/// `key` with each letter's case chosen at random.
fn random_case(key: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), key.len()).prop_map(move |upper| {
        key.chars().zip(upper).map(|(c, up)| if up { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }).collect()
    })
}

fn key_from(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(keys).prop_flat_map(random_case)
}

fn benign() -> impl Strategy<Value = Planted> {
    prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        "[a-z ]{0,12}".prop_map(Value::from),
    ]
    .prop_map(|value| Planted { value, ..Planted::default() })
}

/// A credential inside free text.
fn free_text_secret() -> impl Strategy<Value = Planted> {
    let text = prop_oneof![
        marker().prop_map(|m| (format!("request failed: Authorization: Bearer {m}"), m)),
        marker().prop_map(|m| (format!("<html>401 for bearer {m}</html>"), m)),
        "[0-9a-f]{64}".prop_map(|hex| (format!("invalid key ak{hex} given"), format!("ak{hex}"))),
        marker().prop_map(|m| (format!("see https://hooks.example/cb?access_token={m}&page=2"), m)),
        marker().prop_map(|m| (format!(r#"upstream said {{"refresh_token": "{m}", "ok": false}}"#), m)),
        ("[A-Za-z0-9_-]{12}", "[A-Za-z0-9_-]{16}", "[A-Za-z0-9_-]{20}").prop_map(|(a, b, c)| {
            let jwt = format!("eyJ{a}.eyJ{b}.{c}");
            (format!("jwt {jwt} rejected"), jwt)
        }),
    ];
    text.prop_map(|(text, secret)| Planted { value: Value::from(text), secrets: vec![secret], ..Planted::default() })
}

fn free_text_email() -> impl Strategy<Value = Planted> {
    marker().prop_map(|m| Planted {
        value: Value::from(format!("please write to {m}@example.com soon")),
        emails: vec![m],
        ..Planted::default()
    })
}

/// `(key, value)` pairs that plant something by key.
fn keyed_entry() -> impl Strategy<Value = (String, Planted)> {
    let secret_value = prop_oneof![
        marker().prop_map(|m| (Value::from(m.clone()), vec![m])),
        marker().prop_map(|m| (serde_json::json!({"value": m.clone(), "id": 3}), vec![m])),
        (marker(), marker()).prop_map(|(a, b)| (serde_json::json!([a.clone(), {"x": b.clone()}]), vec![a, b])),
    ];
    prop_oneof![
        (key_from(SECRET_KEYS), secret_value)
            .prop_map(|(k, (value, secrets))| (k, Planted { value, secrets, ..Planted::default() })),
        (key_from(NAME_KEYS), marker())
            .prop_map(|(k, m)| (k, Planted { value: Value::from(m.clone()), personal: vec![m], ..Planted::default() })),
        (key_from(PHONE_KEYS), "[0-9]{10}").prop_map(|(k, digits)| (
            k,
            Planted { value: Value::from(format!("+1 {digits}")), personal: vec![digits], ..Planted::default() }
        )),
        (random_case("email_address"), marker()).prop_map(|(k, m)| (
            k,
            Planted { value: Value::from(format!("{m}@example.com")), emails: vec![m], ..Planted::default() }
        )),
        (random_case("custom_fields"), key_from(BENIGN_KEYS), marker()).prop_map(|(k, field, m)| (
            k,
            Planted { value: serde_json::json!({ field: m.clone() }), personal: vec![m], ..Planted::default() }
        )),
    ]
}

/// Random JSON (objects and arrays up to depth 4) with secrets and PII planted at random places.
pub fn planted_json() -> impl Strategy<Value = Planted> {
    let leaf = prop_oneof![3 => benign(), 2 => free_text_secret(), 1 => free_text_email()];
    leaf.prop_recursive(4, 48, 5, |inner| {
        let entry = prop_oneof![(key_from(BENIGN_KEYS), inner.clone()), keyed_entry()];
        prop_oneof![
            prop::collection::vec(entry, 1..5).prop_map(|entries| {
                let mut map = Map::new();
                let mut planted = Planted::default();
                for (key, child) in entries {
                    map.insert(key, child.value.clone());
                    planted = planted.merge(child);
                }
                Planted { value: Value::Object(map), ..planted }
            }),
            prop::collection::vec(inner, 0..4).prop_map(|items| {
                let mut planted = Planted::default();
                let mut values = Vec::new();
                for item in items {
                    values.push(item.value.clone());
                    planted = planted.merge(item);
                }
                Planted { value: Value::Array(values), ..planted }
            }),
        ]
    })
}

/// The first marker of `markers` found in `text`, if any.
pub fn leaked<'a>(text: &str, markers: impl IntoIterator<Item = &'a String>) -> Option<&'a String> {
    markers.into_iter().find(|m| text.contains(m.as_str()))
}
