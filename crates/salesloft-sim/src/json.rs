//! A small JSON writer that appends to a `String` in field order.
//!
//! Records are rendered straight to text, in SalesLoft's field order, and only for the records a response
//! returns: building `serde_json::Value` trees for every record would dominate the request cost.

use std::fmt::Write as _;

/// Writes one JSON object; `finish` closes it.
pub struct ObjectWriter<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    /// Opens an object at the end of `out`.
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, first: true }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        push_str(self.out, key);
        self.out.push(':');
        self.out
    }

    /// `"key": "value"` or `null`.
    pub fn str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        let out = self.key(key);
        match value {
            Some(text) => push_str(out, text),
            None => out.push_str("null"),
        }
        self
    }

    /// `"key": 123` or `null`.
    pub fn int(&mut self, key: &str, value: Option<i64>) -> &mut Self {
        let out = self.key(key);
        match value {
            Some(number) => {
                let _ = write!(out, "{number}");
            }
            None => out.push_str("null"),
        }
        self
    }

    /// `"key": true|false` or `null`.
    pub fn bool(&mut self, key: &str, value: Option<bool>) -> &mut Self {
        let out = self.key(key);
        out.push_str(match value {
            Some(true) => "true",
            Some(false) => "false",
            None => "null",
        });
        self
    }

    /// `"key": <raw JSON>`; the caller guarantees `raw` is valid JSON.
    pub fn raw(&mut self, key: &str, raw: &str) -> &mut Self {
        self.key(key).push_str(raw);
        self
    }

    /// `"key": ["a","b"]`.
    pub fn str_array(&mut self, key: &str, values: &[String]) -> &mut Self {
        let out = self.key(key);
        out.push('[');
        for (index, value) in values.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            push_str(out, value);
        }
        out.push(']');
        self
    }

    /// `"key": {"_href": "<base>/<resource>/<id>", "id": id}` or `null` (FACTS.md §5.1 EmbeddedResource).
    pub fn reference(&mut self, key: &str, base_url: &str, resource: &str, id: Option<i64>) -> &mut Self {
        let out = self.key(key);
        match id {
            Some(id) => push_reference(out, base_url, resource, id),
            None => out.push_str("null"),
        }
        self
    }

    /// Writes a nested object under `key`.
    pub fn object(&mut self, key: &str, fill: impl FnOnce(&mut ObjectWriter<'_>)) -> &mut Self {
        let out = self.key(key);
        let mut nested = ObjectWriter::new(out);
        fill(&mut nested);
        nested.finish();
        self
    }

    /// Closes the object.
    pub fn finish(self) {
        self.out.push('}');
    }
}

/// Appends `{"_href":"…","id":N}`.
pub fn push_reference(out: &mut String, base_url: &str, resource: &str, id: i64) {
    let _ = write!(out, "{{\"_href\":\"{base_url}/{resource}/{id}\",\"id\":{id}}}");
}

/// Appends a JSON string literal.
pub fn push_str(out: &mut String, text: &str) {
    out.push('"');
    // Fast path: most values need no escaping and are copied in one go.
    if !text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(text);
        out.push('"');
        return;
    }
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_json_in_order() {
        let mut out = String::new();
        let mut object = ObjectWriter::new(&mut out);
        object
            .int("id", Some(7))
            .str("name", Some("a \"quoted\"\n\u{1}name"))
            .str("missing", None)
            .bool("flag", Some(true))
            .reference("owner", "http://h/v2", "users", Some(3))
            .str_array("tags", &["x".to_owned()])
            .object("counts", |counts| {
                counts.int("calls", Some(0));
            });
        object.finish();
        let parsed: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
        assert_eq!(parsed["name"], "a \"quoted\"\n\u{1}name");
        assert_eq!(parsed["owner"]["_href"], "http://h/v2/users/3");
        assert!(out.starts_with("{\"id\":7,\"name\""), "field order kept: {out}");
    }
}
