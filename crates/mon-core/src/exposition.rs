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

/// Series names Prometheus (besides every `scrape_*`) and the Pushgateway write
/// themselves: a custom metric by one of these names would shadow them.
const PROMETHEUS_OWN: &[&str] = &[
    "up",
    "ALERTS",
    "ALERTS_FOR_STATE",
    "push_time_seconds",
    "push_failure_time_seconds",
];

/// Checks a custom metric name: Prometheus syntax, not in mon's own `mon_` namespace
/// (every family mon exports starts with `mon_`), and not a series Prometheus or the
/// Pushgateway writes itself (`up`, `scrape_*`, `ALERTS`, `ALERTS_FOR_STATE`,
/// `push_time_seconds`, `push_failure_time_seconds`).
///
/// # Errors
/// What is wrong with the name and what to send instead.
pub fn check_metric_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        return Err("a metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*".to_owned());
    }
    if name.starts_with("mon_") {
        return Err("names starting with mon_ are reserved for mon's own metrics".to_owned());
    }
    if PROMETHEUS_OWN.contains(&name) || name.starts_with("scrape_") {
        return Err(
            "up, scrape_*, ALERTS, ALERTS_FOR_STATE and push_*_time_seconds are series Prometheus \
             or the Pushgateway write themselves; choose another name"
                .to_owned(),
        );
    }
    Ok(())
}

/// Checks a custom metric's label name: Prometheus syntax, not reserved (`__*`, and `le`,
/// `quantile`, `job`, `instance`, which Prometheus and the Pushgateway set).
///
/// # Errors
/// What is wrong with the label name.
pub fn check_label_name(label: &str) -> Result<(), String> {
    let mut chars = label.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !label.starts_with("__")
        && !matches!(label, "le" | "quantile" | "job" | "instance");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "label name {label:?} must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __ and not be \
             le, quantile, job or instance (Prometheus and the Pushgateway set those)"
        ))
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
