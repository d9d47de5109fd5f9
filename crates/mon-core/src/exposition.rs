//! Prometheus label values: the one escaping every label value mon exposes goes through.
//!
//! The Prometheus text format (0.0.4) and OpenMetrics both write a label value between
//! double quotes with `\` as `\\`, `"` as `\"` and a line feed as `\n`; any other UTF-8
//! character is written as is. prometheus-client writes `String` and `&str` label
//! values raw, so one ingested `"` or newline would break the whole exposition: every
//! label set mon encodes holds [`LabelValue`]s instead (feature `prometheus`).

use std::borrow::Cow;

/// `value` escaped for a Prometheus/OpenMetrics label value (or a PromQL double-quoted
/// string): `\` → `\\`, `"` → `\"`, line feed → `\n`. Borrows when nothing needs escaping.
///
/// ```
/// assert_eq!(mon_core::escape_label_value("/q?x=\"a\"\n"), "/q?x=\\\"a\\\"\\n");
/// assert!(matches!(mon_core::escape_label_value("plain"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn escape_label_value(value: &str) -> Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A label value that encodes escaped ([`escape_label_value`]); `T` is `String` in a
/// `#[derive(EncodeLabelSet)]` struct and `&str` in a label list written at scrape time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelValue<T = String>(pub T);

impl<T: AsRef<str>> LabelValue<T> {
    /// The raw (unescaped) value.
    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }
}

impl From<&str> for LabelValue<String> {
    fn from(value: &str) -> Self {
        LabelValue(value.to_owned())
    }
}

impl From<String> for LabelValue<String> {
    fn from(value: String) -> Self {
        LabelValue(value)
    }
}

#[cfg(feature = "prometheus")]
impl<T: AsRef<str>> prometheus_client::encoding::EncodeLabelValue for LabelValue<T> {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder<'_>,
    ) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        encoder.write_str(&escape_label_value(self.0.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_exactly_backslash_quote_and_newline() {
        for (input, expected) in [
            ("", ""),
            ("/api/rooms", "/api/rooms"),
            ("/api/search?q=\"voice\"", "/api/search?q=\\\"voice\\\""),
            ("a\\b", "a\\\\b"),
            ("line1\nline2", "line1\\nline2"),
            ("\\\"\n", "\\\\\\\"\\n"),
            ("tab\tcr\r", "tab\tcr\r"),
            ("żółć 🎙", "żółć 🎙"),
        ] {
            assert_eq!(escape_label_value(input), expected, "{input:?}");
        }
    }
}
