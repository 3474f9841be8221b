//! Request bodies: JSON or `application/x-www-form-urlencoded` (FACTS.md §1.1: the OpenAPI declares form,
//! the docs recommend JSON, real clients send both), read into one parameter map so handlers do not care.
//!
//! Form keys follow Rails conventions: `tags[]=a&tags[]=b` is an array, `custom_fields[name]=v` an object.

use serde_json::{Map, Value};

use crate::errors::{ApiError, Validation};
use crate::query::parse_bool;

/// Body parameters of a write.
#[derive(Debug, Default, Clone)]
pub struct Params {
    map: Map<String, Value>,
}

impl Params {
    /// Parses a body by its `Content-Type`. Malformed JSON is a 400 (what Rails answers to a body it cannot
    /// parse; FACTS.md is silent on it). A JSON body that is not an object carries no parameters.
    pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> Result<Self, ApiError> {
        let is_json = content_type.is_some_and(|value| value.to_ascii_lowercase().contains("json"));
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        if is_json || (content_type.is_none() && bytes.first() == Some(&b'{')) {
            return match serde_json::from_slice::<Value>(bytes) {
                Ok(Value::Object(map)) => Ok(Self { map }),
                Ok(_) => Ok(Self::default()),
                Err(_) => Err(ApiError::BadRequest("Unable to parse the request body as JSON".to_owned())),
            };
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).unwrap_or_default();
        Ok(Self::from_pairs(pairs))
    }

    /// Builds parameters from decoded `key=value` pairs (form bodies and query strings).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut map = Map::new();
        for (key, value) in pairs {
            match key.find('[') {
                Some(open) if key.ends_with(']') => {
                    let name = key[..open].to_owned();
                    let inner = key[open + 1..key.len() - 1].to_owned();
                    if inner.is_empty() {
                        let entry = map.entry(name).or_insert_with(|| Value::Array(Vec::new()));
                        if let Value::Array(items) = entry {
                            items.push(Value::String(value));
                        }
                    } else {
                        let entry = map.entry(name).or_insert_with(|| Value::Object(Map::new()));
                        if let Value::Object(object) = entry {
                            object.insert(inner, Value::String(value));
                        }
                    }
                }
                _ => {
                    map.insert(key, Value::String(value));
                }
            }
        }
        Self { map }
    }

    /// Parameters from a JSON object (one record of a bulk job's `job_data`).
    pub fn from_object(map: Map<String, Value>) -> Self {
        Self { map }
    }

    /// A parameter as given, whatever its type.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    /// Whether the parameter is present (even as null).
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Adds a parameter unless present (query values merged under body values).
    pub fn insert_missing(&mut self, name: &str, value: Value) {
        self.map.entry(name.to_owned()).or_insert(value);
    }

    /// A string field: absent → `None`; null or blank → `Some(None)`; numbers and booleans are converted
    /// (Rails casts them); arrays and objects are invalid.
    pub fn string(&self, name: &str, errors: &mut Validation) -> Option<Option<String>> {
        match self.map.get(name)? {
            Value::Null => Some(None),
            Value::String(text) if text.trim().is_empty() => Some(None),
            Value::String(text) => Some(Some(text.clone())),
            Value::Number(number) => Some(Some(number.to_string())),
            Value::Bool(flag) => Some(Some(flag.to_string())),
            Value::Array(_) | Value::Object(_) => {
                errors.add(name, "is invalid");
                None
            }
        }
    }

    /// An integer field (numbers or numeric strings).
    pub fn int(&self, name: &str, errors: &mut Validation) -> Option<Option<i64>> {
        match self.map.get(name)? {
            Value::Null => Some(None),
            Value::String(text) if text.trim().is_empty() => Some(None),
            Value::Number(number) if number.is_i64() => Some(number.as_i64()),
            Value::String(text) => match text.trim().parse::<i64>() {
                Ok(number) => Some(Some(number)),
                Err(_) => {
                    errors.add(name, "must be an integer");
                    None
                }
            },
            _ => {
                errors.add(name, "must be an integer");
                None
            }
        }
    }

    /// A boolean field (`true/false`, `1/0`, strings of those).
    pub fn bool(&self, name: &str, errors: &mut Validation) -> Option<bool> {
        let parsed = match self.map.get(name)? {
            Value::Bool(flag) => Some(*flag),
            Value::String(text) => parse_bool(text),
            Value::Number(number) => number.as_i64().and_then(|n| match n {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            }),
            _ => None,
        };
        if parsed.is_none() {
            errors.add(name, "must be true or false");
        }
        parsed
    }

    /// An array of strings (a single string counts as a one-item array; null as empty).
    pub fn string_list(&self, name: &str, errors: &mut Validation) -> Option<Vec<String>> {
        match self.map.get(name)? {
            Value::Null => Some(Vec::new()),
            Value::String(text) => Some(if text.is_empty() { Vec::new() } else { vec![text.clone()] }),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(text) => out.push(text.clone()),
                        Value::Number(number) => out.push(number.to_string()),
                        _ => {
                            errors.add(name, "is invalid");
                            return None;
                        }
                    }
                }
                Some(out)
            }
            _ => {
                errors.add(name, "is invalid");
                None
            }
        }
    }

    /// An object of string values (custom fields).
    pub fn string_map(&self, name: &str, errors: &mut Validation) -> Option<Vec<(String, String)>> {
        match self.map.get(name)? {
            Value::Null => Some(Vec::new()),
            Value::Object(object) => Some(
                object
                    .iter()
                    .filter(|(_, value)| !value.is_null())
                    .map(|(key, value)| {
                        let text = match value {
                            Value::String(text) => text.clone(),
                            other => other.to_string(),
                        };
                        (key.clone(), text)
                    })
                    .collect(),
            ),
            _ => {
                errors.add(name, "is invalid");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_build_arrays_and_objects() {
        let params = Params::parse(
            Some("application/x-www-form-urlencoded"),
            b"email_address=a%40b.com&tags[]=x&tags[]=y&custom_fields[tier]=gold&account_id=5",
        )
        .expect("form parses");
        let mut errors = Validation::default();
        assert_eq!(params.string("email_address", &mut errors), Some(Some("a@b.com".to_owned())));
        assert_eq!(params.string_list("tags", &mut errors), Some(vec!["x".to_owned(), "y".to_owned()]));
        assert_eq!(params.string_map("custom_fields", &mut errors), Some(vec![("tier".into(), "gold".into())]));
        assert_eq!(params.int("account_id", &mut errors), Some(Some(5)));
        assert!(errors.finish().is_ok());
    }

    #[test]
    fn json_bodies_and_bad_json() {
        let params = Params::parse(Some("application/json"), br#"{"first_name":null,"do_not_contact":"true"}"#)
            .expect("json parses");
        let mut errors = Validation::default();
        assert_eq!(params.string("first_name", &mut errors), Some(None));
        assert_eq!(params.bool("do_not_contact", &mut errors), Some(true));
        assert!(matches!(Params::parse(Some("application/json"), b"{nope"), Err(ApiError::BadRequest(_))));
        assert!(Params::parse(Some("application/json"), b"[1,2]").expect("array body").map.is_empty());
    }
}
