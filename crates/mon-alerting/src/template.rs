//! Annotation templates: text with `{{ value }}`, `{{ threshold }}` and
//! `{{ labels.NAME }}` placeholders, checked when the rule is built.

use std::collections::BTreeMap;

/// A parsed annotation template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Value,
    Threshold,
    Label(String),
}

/// What a template is rendered with.
pub(crate) struct Context<'a> {
    pub(crate) value: Option<f64>,
    pub(crate) threshold: Option<f64>,
    pub(crate) labels: &'a BTreeMap<String, String>,
}

impl Template {
    /// Parses `text`; the error says which placeholder is wrong and where (1-based column).
    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut offset = 0; // in characters, for the column in errors
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let column = offset + rest[..open].chars().count() + 1;
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err(format!(
                    "`{{{{` at column {column} is not closed with `}}}}`"
                ));
            };
            let name = after[..close].trim();
            parts.push(match name {
                "value" => Part::Value,
                "threshold" => Part::Threshold,
                _ => match name.strip_prefix("labels.") {
                    Some(label) if !label.is_empty() => Part::Label(label.to_string()),
                    _ => {
                        return Err(format!(
                            "unknown placeholder `{{{{ {name} }}}}` at column {column}; \
                             use {{{{ value }}}}, {{{{ threshold }}}} or {{{{ labels.NAME }}}}"
                        ));
                    }
                },
            });
            let consumed = open + 2 + close + 2;
            offset += rest[..consumed].chars().count();
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// Renders the template. A missing value or threshold reads `n/a`; a missing label is empty.
    pub(crate) fn render(&self, context: &Context<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Value => out.push_str(&format_number(context.value)),
                Part::Threshold => out.push_str(&format_number(context.threshold)),
                Part::Label(name) => {
                    out.push_str(context.labels.get(name).map_or("", String::as_str))
                }
            }
        }
        out
    }
}

/// Formats a number for people: at most two decimals (more for tiny values), no trailing zeros.
pub(crate) fn format_number(value: Option<f64>) -> String {
    match value {
        None => "n/a".to_string(),
        Some(v) if v != 0.0 && v.abs() < 0.01 => format!("{v}"),
        Some(v) => format!("{}", (v * 100.0).round() / 100.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, value: Option<f64>, threshold: Option<f64>) -> String {
        let labels = BTreeMap::from([("service".to_string(), "api".to_string())]);
        Template::parse(text).unwrap().render(&Context {
            value,
            threshold,
            labels: &labels,
        })
    }

    #[test]
    fn renders_placeholders() {
        for (text, value, threshold, want) in [
            ("CPU at {{ value }}%", Some(93.456), None, "CPU at 93.46%"),
            (
                "{{value}} > {{threshold}}",
                Some(5012.0),
                Some(5000.0),
                "5012 > 5000",
            ),
            (
                "rate {{ value }} below {{ threshold }}",
                Some(0.75),
                Some(0.8),
                "rate 0.75 below 0.8",
            ),
            ("tiny {{ value }}", Some(0.0012), None, "tiny 0.0012"),
            ("{{ labels.service }} is slow", None, None, "api is slow"),
            ("[{{ labels.missing }}]", None, None, "[]"),
            ("no value: {{ value }}", None, None, "no value: n/a"),
            (
                "plain text } and { braces }}",
                None,
                None,
                "plain text } and { braces }}",
            ),
            ("", None, None, ""),
        ] {
            assert_eq!(render(text, value, threshold), want, "{text}");
        }
    }

    #[test]
    fn rejects_unknown_and_unclosed_placeholders() {
        for (text, want) in [
            (
                "CPU {{ valeu }}",
                "unknown placeholder `{{ valeu }}` at column 5",
            ),
            (
                "é {{ labels. }}",
                "unknown placeholder `{{ labels. }}` at column 3",
            ),
            (
                "{{ value }} and {{ value",
                "`{{` at column 17 is not closed",
            ),
        ] {
            let err = Template::parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
