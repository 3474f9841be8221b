//! Reads the Prometheus text exposition format (what `GET /metrics` serves and the in-process recorder
//! renders), so the built-in evaluator measures the very series the Prometheus rules query.
//!
//! Only what the evaluator needs: sample lines `name{label="value",…} value [timestamp]`; comments, `# HELP`
//! and `# TYPE` lines are skipped, and a line that does not parse is ignored rather than failing the scrape.

/// One sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series name (`salesloft_responses_total`, `…_bucket`).
    pub name: String,
    /// Its labels in the order written.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
}

impl Sample {
    /// The value of label `key`, if present.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// True when every `(key, value)` of `matchers` is a label of this sample.
    pub fn matches(&self, matchers: &[(&str, &str)]) -> bool {
        matchers.iter().all(|(k, v)| self.label(k) == Some(*v))
    }
}

/// Every sample of `text`.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, remainder) = parse_labels(after)?;
        labels = parsed;
        rest = remainder;
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    Some(Sample { name, labels, value })
}

/// Parses `k="v",…}`; returns the labels and what follows the closing brace.
fn parse_labels(mut text: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        text = text.trim_start_matches([' ', ',']);
        if let Some(rest) = text.strip_prefix('}') {
            return Some((labels, rest));
        }
        let eq = text.find('=')?;
        let key = text[..eq].trim().to_string();
        let mut chars = text[eq + 1..].trim_start().strip_prefix('"')?.char_indices();
        let mut value = String::new();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                other => value.push(other),
            }
        };
        let quoted = text[eq + 1..].trim_start().strip_prefix('"')?;
        text = &quoted[end + 1..];
        labels.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_labels_and_special_values_are_read() {
        let text = "# HELP x help\n# TYPE x counter\n\
                    salesloft_responses_total{status=\"503\",class=\"5xx\"} 12\n\
                    up 1 1700000000000\n\
                    h_bucket{le=\"+Inf\"} 3\n\
                    weird{msg=\"a \\\"q\\\" b\\\\c\"} 2.5\n\
                    broken{ 1\n";
        let samples = parse(text);
        assert_eq!(samples.len(), 4, "{samples:?}");
        assert_eq!(samples[0].name, "salesloft_responses_total");
        assert!(samples[0].matches(&[("class", "5xx"), ("status", "503")]));
        assert_eq!(samples[0].value, 12.0);
        assert_eq!((samples[1].name.as_str(), samples[1].value), ("up", 1.0));
        assert_eq!(samples[2].label("le"), Some("+Inf"));
        assert_eq!(samples[3].label("msg"), Some("a \"q\" b\\c"));
    }
}
